//! Crawl scope: which discovered URLs the crawl may follow, including crawler-trap guards.

use std::collections::HashSet;

use regex::Regex;
use url::Url;

/// Configuration for a [`Scope`]; see [`Scope::new`].
#[derive(Debug, Clone, Default)]
pub struct ScopeRules {
    /// Exact host names that may be crawled (case-insensitive, port ignored). Empty with empty `allowed_domains` = any host.
    pub allowed_hosts: Vec<String>,
    /// A host is in scope when it equals one of these or is a subdomain of it ("example.com" admits "www.example.com").
    pub allowed_domains: Vec<String>,
    /// When non-empty, the full URL must match at least one.
    pub include: Vec<Regex>,
    /// The full URL must match none.
    pub exclude: Vec<Regex>,
    /// Trap guard: longer URLs (bytes of the serialized URL) are out of scope. 0 = no limit.
    pub max_url_length: usize,
    /// Trap guard: a URL whose path repeats a block of segments back to back so that the block's first
    /// segment occurs more than this many times in the run is out of scope (`/a/b/a/b/a/b/a` has "a" 4
    /// times in a row of `a/b`); segments that recur apart do not count. 0 = no limit.
    pub max_repeated_segments: usize,
}

/// Why [`Scope::check`] rejected a URL.
///
/// Exhaustive on purpose: callers count what was left out by reason, and a new rule must get a count
/// of its own rather than vanish into a catch-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutOfScope {
    /// The scheme is not http or https.
    #[error("scheme not http(s)")]
    Scheme,
    /// The host is neither an allowed host nor inside an allowed domain.
    #[error("host not in scope")]
    Host,
    /// Include patterns are configured and the URL matches none of them.
    #[error("matches no include pattern")]
    NotIncluded,
    /// The URL matches an exclude pattern.
    #[error("matches an exclude pattern")]
    Excluded,
    /// The serialized URL is longer than `max_url_length`.
    #[error("url too long")]
    TooLong,
    /// A block of path segments repeats back to back more than `max_repeated_segments` times.
    #[error("too many repeated path segments")]
    RepeatedSegments,
}

/// [`ScopeRules`] preprocessed for cheap per-link checks.
#[derive(Debug, Clone)]
pub struct Scope {
    any_host: bool,
    hosts: HashSet<String>,
    domains: HashSet<String>,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    max_url_length: usize,
    max_repeated_segments: usize,
}

impl Scope {
    /// Precompute the rules. Host and domain entries are canonicalized the way the `url` crate
    /// serializes hosts (lower case, punycode for IDNs, `[..]` around IPv6), and a `:port` suffix or
    /// trailing dot on an entry is ignored, so `"Bücher.DE:8080"` admits `http://xn--bcher-kva.de/`.
    pub fn new(rules: ScopeRules) -> Scope {
        let canon = |list: Vec<String>| -> HashSet<String> {
            list.iter().map(|h| canonical_host(h)).filter(|h| !h.is_empty()).collect()
        };
        // Decided on the raw lists: a list of only blank entries admits nothing, not everything.
        let any_host = rules.allowed_hosts.is_empty() && rules.allowed_domains.is_empty();
        let hosts = canon(rules.allowed_hosts);
        let domains = canon(rules.allowed_domains);
        Scope {
            any_host,
            hosts,
            domains,
            include: rules.include,
            exclude: rules.exclude,
            max_url_length: rules.max_url_length,
            max_repeated_segments: rules.max_repeated_segments,
        }
    }

    /// Admit one more host, as if it were listed in `allowed_hosts` (for a seed that redirects to
    /// another host: its target's site joins the crawl). Nothing changes when every host is admitted.
    pub fn admit_host(&mut self, host: &str) {
        let host = canonical_host(host);
        if !self.any_host && !host.is_empty() {
            self.hosts.insert(host);
        }
    }

    /// Ok when the crawl may follow this URL. Only http and https are ever in scope.
    ///
    /// Checks run cheapest-first and the first failure is reported: scheme, length, repeated
    /// segments, host, exclude, include. Patterns see the URL as serialized, fragment included.
    pub fn check(&self, url: &Url) -> Result<(), OutOfScope> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutOfScope::Scheme);
        }
        if self.max_url_length > 0 && url.as_str().len() > self.max_url_length {
            return Err(OutOfScope::TooLong);
        }
        if self.max_repeated_segments > 0 && has_repeated_segments(url.path(), self.max_repeated_segments) {
            return Err(OutOfScope::RepeatedSegments);
        }
        if !self.host_allowed(url) {
            return Err(OutOfScope::Host);
        }
        let text = url.as_str();
        if self.exclude.iter().any(|re| re.is_match(text)) {
            return Err(OutOfScope::Excluded);
        }
        if !self.include.is_empty() && !self.include.iter().any(|re| re.is_match(text)) {
            return Err(OutOfScope::NotIncluded);
        }
        Ok(())
    }

    fn host_allowed(&self, url: &Url) -> bool {
        if self.any_host {
            return true;
        }
        let Some(host) = url.host_str() else {
            return false;
        };
        // http(s) hosts are already lower-cased by the url crate; only a trailing root dot differs.
        let host = host.strip_suffix('.').unwrap_or(host);
        if self.hosts.contains(host) || self.domains.contains(host) {
            return true;
        }
        if self.domains.is_empty() || !matches!(url.host(), Some(url::Host::Domain(_))) {
            return false;
        }
        // Walk the parent domains (a.b.c -> b.c -> c): one hash lookup per label, however many
        // domains are configured.
        let mut rest = host;
        while let Some((_, parent)) = rest.split_once('.') {
            if self.domains.contains(parent) {
                return true;
            }
            rest = parent;
        }
        false
    }
}

/// Canonical form of a configured host or domain entry; see [`Scope::new`].
fn canonical_host(entry: &str) -> String {
    let mut h = entry.trim();
    // Drop a port, but not the tail of a bare IPv6 address such as "::1".
    if let Some((head, port)) = h.rsplit_once(':') {
        let is_port = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
        if is_port && (head.ends_with(']') || !head.contains(':')) {
            h = head;
        }
    }
    let h = h.strip_suffix('.').unwrap_or(h);
    let bracketed;
    let h = if h.contains(':') && !h.starts_with('[') {
        bracketed = format!("[{h}]");
        bracketed.as_str()
    } else {
        h
    };
    match url::Host::parse(h) {
        Ok(host) => host.to_string(),
        Err(_) => h.to_ascii_lowercase(),
    }
}

/// Longest block of segments the repeated-segments guard looks for: enough for any trap seen in the
/// wild, and it keeps the check linear in the path length when `max_url_length` is off.
const MAX_REPEAT_PERIOD: usize = 32;

/// True when a block of segments repeats back to back so that its first segment occurs more than `max`
/// times in the run: `/x/x/x/x` (block `x`) or `/a/b/a/b/a/b/a` (block `a/b`) with `max` 3.
///
/// The traps this guards against (relative links resolved again and again, a path echoed into itself)
/// repeat a block in a row. Segments that merely recur apart are left alone: real sites are full of
/// them (`/api/java.base/java/util/...`, `/w/cpp/container/vector/vector`, `/2024/01/01/`).
fn has_repeated_segments(path: &str, max: usize) -> bool {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let n = segments.len();
    // A run of period p holding its first segment more than `max` times spans max * p + 1 segments,
    // that is (max - 1) * p + 1 positions i in a row with segments[i] == segments[i + p].
    let longest_period = (n.saturating_sub(1) / max).min(MAX_REPEAT_PERIOD);
    (1..=longest_period).any(|p| {
        let needed = (max - 1) * p + 1;
        let mut run = 0;
        (0..n - p).any(|i| {
            run = if segments[i] == segments[i + p] { run + 1 } else { 0 };
            run >= needed
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_rules_admit_any_http_url() {
        let scope = Scope::new(ScopeRules::default());
        assert_eq!(scope.check(&url("http://anything.example/x")), Ok(()));
        assert_eq!(scope.check(&url("https://[::1]:8443/")), Ok(()));
        for bad in ["ftp://e.com/", "mailto:a@e.com", "file:///etc/passwd", "data:,x"] {
            assert_eq!(scope.check(&url(bad)), Err(OutOfScope::Scheme), "{bad}");
        }
    }

    #[test]
    fn hosts_and_domains() {
        let scope = Scope::new(ScopeRules {
            allowed_hosts: strings(&["Exact.Example.ORG", "10.0.0.1", "::1", "Bücher.de:8080"]),
            allowed_domains: strings(&["Example.COM.", " corp.test "]),
            ..ScopeRules::default()
        });
        let cases = [
            ("http://exact.example.org/", true),
            ("http://EXACT.example.org:9999/", true),
            ("http://sub.exact.example.org/", false),
            ("http://example.org/", false),
            ("http://example.com/", true),
            ("http://example.com./", true),
            ("https://www.example.com/a", true),
            ("http://a.b.c.example.com/", true),
            ("http://notexample.com/", false),
            ("http://example.com.evil.net/", false),
            ("http://corp.test/", true),
            ("http://x.corp.test/", true),
            ("http://10.0.0.1:8080/", true),
            ("http://10.0.0.2/", false),
            ("http://[::1]/", true),
            ("http://xn--bcher-kva.de/", true),
            ("http://com/", false),
        ];
        for (u, ok) in cases {
            let got = scope.check(&url(u));
            assert_eq!(got.is_ok(), ok, "{u}: {got:?}");
            if !ok {
                assert_eq!(got, Err(OutOfScope::Host));
            }
        }
    }

    #[test]
    fn include_and_exclude() {
        let scope = Scope::new(ScopeRules {
            include: vec![Regex::new(r"^https?://e\.com/(docs|blog)/").unwrap()],
            exclude: vec![Regex::new(r"\.(pdf|zip)$").unwrap(), Regex::new(r"[?&]session=").unwrap()],
            ..ScopeRules::default()
        });
        let cases = [
            ("http://e.com/docs/a", Ok(())),
            ("https://e.com/blog/", Ok(())),
            ("http://e.com/shop/", Err(OutOfScope::NotIncluded)),
            ("http://e.com/docs/a.pdf", Err(OutOfScope::Excluded)),
            // Exclude is checked before include.
            ("http://e.com/shop/a.zip", Err(OutOfScope::Excluded)),
            ("http://e.com/docs/?session=1", Err(OutOfScope::Excluded)),
        ];
        for (u, want) in cases {
            assert_eq!(scope.check(&url(u)), want, "{u}");
        }
    }

    #[test]
    fn trap_guards() {
        let scope = Scope::new(ScopeRules { max_url_length: 30, max_repeated_segments: 3, ..ScopeRules::default() });
        let cases = [
            ("http://e.com/a/b/a/b/a/b", Ok(())),
            ("http://e.com/a/b/a/b/a/b/a", Err(OutOfScope::RepeatedSegments)),
            ("http://e.com/a//a//a///", Ok(())),
            ("http://e.com/x/x/x/x", Err(OutOfScope::RepeatedSegments)),
            ("http://e.com/x/x/x", Ok(())),
            ("http://e.com/01234567890123456", Ok(())),
            ("http://e.com/012345678901234567", Err(OutOfScope::TooLong)),
        ];
        for (u, want) in cases {
            assert_eq!(scope.check(&url(u)), want, "{u}");
        }
        // Segments that recur apart are no trap, however often: real documentation paths.
        let docs = Scope::new(ScopeRules { max_repeated_segments: 3, ..ScopeRules::default() });
        let cases = [
            ("https://docs.oracle.com/en/java/javase/21/docs/api/java.base/java/util/List.html", Ok(())),
            ("https://en.cppreference.com/w/cpp/container/vector/vector", Ok(())),
            ("https://e.org/java/a/java/b/java/c/java/d/java/e.html", Ok(())),
            ("https://e.org/2024/01/01/01/", Ok(())),
            ("https://e.org/2024/01/01/01/01/", Err(OutOfScope::RepeatedSegments)),
            ("http://e.com/a/b/c/a/b/c/a/b/c", Ok(())),
            ("http://e.com/a/b/c/a/b/c/a/b/c/a", Err(OutOfScope::RepeatedSegments)),
            ("http://e.com/top/x/y/x/y/x/y/x/tail", Err(OutOfScope::RepeatedSegments)),
        ];
        for (u, want) in cases {
            assert_eq!(docs.check(&url(u)), want, "{u}");
        }
        // A huge path without a length limit is checked in bounded time, and still caught.
        let huge = format!("http://e.com/{}", (0..200_000).map(|i| format!("s{i}/")).collect::<String>());
        assert_eq!(docs.check(&url(&huge)), Ok(()));
        let looped = format!("{huge}{}", "a/b/".repeat(4));
        assert_eq!(docs.check(&url(&looped)), Err(OutOfScope::RepeatedSegments));

        // Zero disables both guards.
        let open = Scope::new(ScopeRules::default());
        let long = format!("http://e.com/{}", "a/".repeat(5000));
        assert_eq!(open.check(&url(&long)), Ok(()));
    }

    #[test]
    fn check_order() {
        let scope = Scope::new(ScopeRules {
            allowed_hosts: strings(&["e.com"]),
            allowed_domains: Vec::new(),
            include: vec![Regex::new("never-matches").unwrap()],
            exclude: vec![Regex::new("x").unwrap()],
            max_url_length: 25,
            max_repeated_segments: 1,
        });
        let cases = [
            ("ftp://other.com/x/x/xxxxxxxxxxxxxx", OutOfScope::Scheme),
            ("http://other.com/x/x/xxxxxxxxxxxxxx", OutOfScope::TooLong),
            ("http://other.com/x/x", OutOfScope::RepeatedSegments),
            ("http://other.com/x", OutOfScope::Host),
            ("http://e.com/x", OutOfScope::Excluded),
            ("http://e.com/y", OutOfScope::NotIncluded),
        ];
        for (u, want) in cases {
            assert_eq!(scope.check(&url(u)), Err(want), "{u}");
        }
    }

    #[test]
    fn canonical_host_entries() {
        let cases = [
            ("Example.COM", "example.com"),
            ("example.com:8080", "example.com"),
            ("example.com.", "example.com"),
            ("[::1]:80", "[::1]"),
            ("::1", "[::1]"),
            ("[::1]", "[::1]"),
            ("Bücher.de", "xn--bcher-kva.de"),
            ("", ""),
            ("not a host!", "not a host!"),
        ];
        for (entry, want) in cases {
            assert_eq!(canonical_host(entry), want, "{entry}");
        }
    }

    #[test]
    fn an_admitted_host_joins_the_scope() {
        let mut scope = Scope::new(ScopeRules { allowed_hosts: strings(&["example.org"]), ..ScopeRules::default() });
        assert_eq!(scope.check(&url("https://www.example.org/")), Err(OutOfScope::Host));
        scope.admit_host("WWW.example.org");
        assert_eq!(scope.check(&url("https://www.example.org/a")), Ok(()));
        assert_eq!(scope.check(&url("https://other.example.org/")), Err(OutOfScope::Host));
    }

    #[test]
    fn blank_host_entries_admit_nothing() {
        let scope = Scope::new(ScopeRules { allowed_hosts: strings(&["", "  "]), ..ScopeRules::default() });
        assert_eq!(scope.check(&url("http://e.com/")), Err(OutOfScope::Host));
    }

    #[test]
    fn display_reasons() {
        assert_eq!(OutOfScope::Host.to_string(), "host not in scope");
        assert_eq!(OutOfScope::Scheme.to_string(), "scheme not http(s)");
    }
}
