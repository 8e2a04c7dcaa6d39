//! Turns fetched pages into the next URLs to crawl: decoding, link extraction, URL normalization
//! and scope/trap rules for crawld.
//!
//! Data moves through the crate in this order:
//!
//! 1. [`is_html`] decides from the Content-Type (or by sniffing) whether a body is worth parsing,
//!    and [`decode_html`] turns its bytes into text, honouring BOM, header and `<meta>` charsets.
//! 2. [`extract_links`] parses the text and returns an [`ExtractedLinks`]: absolute http(s)
//!    URLs, resolved against the page (or its `<base href>`), fragment-free, deduplicated and capped
//!    (what the cap cut is counted).
//! 3. [`Scope::check`], built once from [`ScopeRules`], says whether each link may be followed,
//!    or which [`OutOfScope`] rule rejects it (host, patterns, trap guards).
//! 4. [`normalize`] gives the canonical string of a URL and [`fingerprint`] its 128-bit hash,
//!    which the frontier keeps in its seen-set so equivalent URLs are fetched once.
//!
//! Nothing here panics or errors on hostile input: malformed HTML, bad encodings and unparsable
//! URLs simply yield fewer links.
//!
//! ```
//! use crawld_extract::{
//!     decode_html, extract_links, fingerprint, is_html, normalize, OutOfScope, Scope, ScopeRules,
//! };
//! use url::Url;
//!
//! let body = br#"<html><body>
//!     <a href="/Docs/./%7Eintro#top">intro</a>
//!     <a href="https://elsewhere.org/">away</a>
//!     <a href="mailto:me@example.com">mail</a>
//! </body></html>"#;
//! let content_type = Some("text/html; charset=utf-8");
//! assert!(is_html(content_type, body));
//!
//! let page = Url::parse("http://www.example.com/index.html")?;
//! let found = extract_links(&page, &decode_html(body, content_type), 100);
//! assert_eq!(found.over_cap, 0);
//! assert_eq!(found.links.len(), 2);
//!
//! // Links are kept as written; the normalized form is the dedup key.
//! let intro = &found.links[0].url;
//! assert_eq!(intro.as_str(), "http://www.example.com/Docs/%7Eintro");
//! assert_eq!(normalize(intro), "http://www.example.com/Docs/~intro");
//! assert_eq!(fingerprint(intro), fingerprint(&Url::parse("HTTP://WWW.example.com:80/Docs/~intro")?));
//!
//! let scope = Scope::new(ScopeRules {
//!     allowed_domains: vec!["example.com".into()],
//!     ..ScopeRules::default()
//! });
//! assert_eq!(scope.check(intro), Ok(()));
//! assert_eq!(scope.check(&found.links[1].url), Err(OutOfScope::Host));
//! # Ok::<(), url::ParseError>(())
//! ```

mod decode;
mod links;
mod normalize;
mod scan;
mod scope;
mod sitemap;
mod tokens;

pub use decode::{decode_html, is_html};
pub use links::{ExtractedLinks, Link, extract_links, extract_links_dom};
pub use normalize::{fingerprint, normalize};
pub use scope::{OutOfScope, Scope, ScopeRules};
pub use sitemap::{Sitemap, SitemapKind, SitemapLimits, looks_like_sitemap, parse_sitemap};
