//! The fast path of link extraction: html5ever's tokenizer without its tree builder.
//!
//! Building a DOM and matching selectors on it (the `scraper` path, kept in [`crate::links`] as the
//! reference) cost most of a crawl's CPU on real documentation sites. Links only need the start tags
//! that the tree builder would turn into elements, so this module runs the same tokenizer and mirrors
//! just the parts of tree construction that change which tags those are, or how the tokenizer reads on:
//!
//! - raw text: after `<script>`, `<style>`, `<title>`, `<textarea>`, `<iframe>`, `<noscript>` (scripting
//!   is on, as in `scraper`), `<noembed>`, `<noframes>`, `<xmp>` and `<plaintext>` the tokenizer reads
//!   text up to the matching end tag, so a `<a href>` in a script is no link;
//! - foreign content: inside `<svg>` and `<math>` none of that applies and `<![CDATA[` opens a CDATA
//!   section, until an HTML integration point or a tag that breaks out of foreign content;
//! - framesets: `<frame>` is an element only in a frameset document, and once a `<frameset>` has been
//!   accepted every other start tag is dropped.
//!
//! Everything else (implied tags, foster parenting, `<template>` contents, formatting-element clones)
//! creates elements for the same start tags in the same order, or clones of ones already seen, so it
//! needs no mirroring. `tests/corpus.rs` checks both paths agree on real pages and tricky markup.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts, states::RawKind,
};
use html5ever::{LocalName, local_name};

/// Where a link-bearing element keeps its URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// `href` of `a`, `area`, `link`; `src` of `iframe`, `frame`.
    Attribute,
    /// The `content` of `<meta http-equiv=refresh>`.
    Refresh,
}

/// The raw URL values of a document, in the order the elements were created.
#[derive(Debug, Default)]
pub(crate) struct RawLinks {
    /// The `href` of the first `<base href>`, if any.
    pub base: Option<StrTendril>,
    pub values: Vec<(Source, StrTendril)>,
}

/// Scan `html` for link-bearing start tags.
pub(crate) fn scan(html: &str) -> RawLinks {
    let tokenizer = Tokenizer::new(Scanner::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The sink never asks the tokenizer to pause for a script, so one feed reads everything.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.state.into_inner().links
}

#[derive(Debug, Default)]
struct Scanner {
    state: RefCell<State>,
}

#[derive(Debug)]
struct State {
    links: RawLinks,
    /// The open elements that matter for foreign content: from the outermost `<svg>`/`<math>` down
    /// (empty outside foreign content). HTML elements opened at an integration point are kept too, so
    /// that their end tags find their place.
    foreign: Vec<Open>,
    /// The tokenizer was put in a raw text state; the next end tag ends it.
    in_raw_text: bool,
    /// The tree builder's "frameset-ok" flag: a `<frameset>` can still replace the body.
    frameset_ok: bool,
    /// A `<frameset>` was accepted: from now on only frameset tags make elements.
    frameset: bool,
}

impl Default for State {
    fn default() -> Self {
        State {
            links: RawLinks::default(),
            foreign: Vec::new(),
            in_raw_text: false,
            frameset_ok: true,
            frameset: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Open {
    name: LocalName,
    ns: Ns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Html,
    Svg,
    MathMl,
}

impl TokenSink for Scanner {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut state = self.state.borrow_mut();
        match token {
            Token::TagToken(tag) => state.tag(tag),
            Token::CharacterTokens(text) => {
                if state.frameset_ok && !state.in_raw_text && !text.chars().all(is_html_whitespace) {
                    state.frameset_ok = false;
                }
                TokenSinkResult::Continue
            }
            _ => TokenSinkResult::Continue,
        }
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.state.borrow().foreign.last().is_some_and(|open| open.ns != Ns::Html)
    }
}

impl State {
    fn tag(&mut self, tag: Tag) -> TokenSinkResult<()> {
        match tag.kind {
            TagKind::EndTag => {
                self.in_raw_text = false;
                if let Some(at) = self.foreign.iter().rposition(|open| open.name == tag.name) {
                    self.foreign.truncate(at);
                }
                TokenSinkResult::Continue
            }
            TagKind::StartTag if self.frameset => self.frameset_tag(tag),
            TagKind::StartTag => match self.foreign.last().map(|open| open.ns) {
                Some(Ns::Svg | Ns::MathMl) if !self.at_integration_point(&tag) => self.foreign_tag(tag),
                _ => self.html_tag(tag),
            },
        }
    }

    /// A start tag after an accepted `<frameset>`: only `frame` elements (and `noframes` text) remain.
    fn frameset_tag(&mut self, tag: Tag) -> TokenSinkResult<()> {
        match tag.name {
            local_name!("frame") => {
                self.take(&tag, local_name!("src"), Source::Attribute);
                TokenSinkResult::Continue
            }
            local_name!("noframes") => self.raw(RawKind::Rawtext),
            _ => TokenSinkResult::Continue,
        }
    }

    /// A start tag that the tree builder handles by the HTML insertion modes.
    fn html_tag(&mut self, tag: Tag) -> TokenSinkResult<()> {
        let inside_foreign = !self.foreign.is_empty();
        match tag.name {
            local_name!("a") | local_name!("area") | local_name!("link") => {
                self.take(&tag, local_name!("href"), Source::Attribute);
            }
            local_name!("base") => self.take_base(&tag),
            local_name!("meta") => self.take_refresh(&tag),
            local_name!("iframe") => self.take(&tag, local_name!("src"), Source::Attribute),
            local_name!("frameset") if self.frameset_ok && !inside_foreign => {
                self.frameset = true;
                return TokenSinkResult::Continue;
            }
            local_name!("svg") | local_name!("math") if !tag.self_closing => {
                let ns = if tag.name == local_name!("svg") { Ns::Svg } else { Ns::MathMl };
                self.foreign.push(Open { name: tag.name.clone(), ns });
                return TokenSinkResult::Continue;
            }
            _ => {}
        }
        if clears_frameset_ok(&tag) {
            self.frameset_ok = false;
        }
        let result = match tag.name {
            local_name!("title") | local_name!("textarea") => self.raw(RawKind::Rcdata),
            local_name!("style")
            | local_name!("xmp")
            | local_name!("iframe")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("noscript") => self.raw(RawKind::Rawtext),
            local_name!("script") => self.raw(RawKind::ScriptData),
            local_name!("plaintext") => TokenSinkResult::Plaintext,
            _ => TokenSinkResult::Continue,
        };
        // Inside an integration point, HTML elements are remembered so that their end tags do not
        // close the foreign element around them.
        if inside_foreign && !tag.self_closing && !is_void(&tag.name) {
            self.foreign.push(Open { name: tag.name, ns: Ns::Html });
        }
        result
    }

    /// A start tag in foreign content: an element of the same namespace, unless it breaks out.
    fn foreign_tag(&mut self, tag: Tag) -> TokenSinkResult<()> {
        if breaks_out_of_foreign_content(&tag) {
            // Pop back to HTML content and handle the tag there.
            while self.foreign.last().is_some_and(|open| open.ns != Ns::Html) {
                self.foreign.pop();
            }
            return self.html_tag(tag);
        }
        match tag.name {
            local_name!("a") | local_name!("area") | local_name!("link") => {
                self.take(&tag, local_name!("href"), Source::Attribute);
            }
            local_name!("iframe") | local_name!("frame") => self.take(&tag, local_name!("src"), Source::Attribute),
            local_name!("base") => self.take_base(&tag),
            _ => {}
        }
        if !tag.self_closing {
            // A foreign element takes the namespace of the element it is in, whatever its name.
            let ns = self.foreign.last().map_or(Ns::Svg, |open| open.ns);
            self.foreign.push(Open { name: tag.name, ns });
        }
        TokenSinkResult::Continue
    }

    /// Whether the current foreign element lets `tag` be handled as HTML.
    fn at_integration_point(&self, tag: &Tag) -> bool {
        let Some(current) = self.foreign.last() else { return false };
        match (current.ns, &current.name) {
            // HTML integration points. The tokenizer lower-cases names (the tree builder would write
            // `foreignObject`), and there is no atom for the lower-case form.
            (Ns::Svg, name) if &**name == "foreignobject" => true,
            (Ns::Svg, &local_name!("desc") | &local_name!("title")) => true,
            // MathML text integration points take start tags other than mglyph and malignmark as HTML.
            (
                Ns::MathMl,
                &local_name!("mi")
                | &local_name!("mo")
                | &local_name!("mn")
                | &local_name!("ms")
                | &local_name!("mtext"),
            ) => !matches!(tag.name, local_name!("mglyph") | local_name!("malignmark")),
            (Ns::MathMl, &local_name!("annotation-xml")) => tag.name == local_name!("svg"),
            _ => false,
        }
    }

    fn raw(&mut self, kind: RawKind) -> TokenSinkResult<()> {
        self.in_raw_text = true;
        TokenSinkResult::RawData(kind)
    }

    fn take(&mut self, tag: &Tag, attr: LocalName, source: Source) {
        if let Some(value) = attribute(tag, &attr) {
            self.links.values.push((source, value.clone()));
        }
    }

    fn take_base(&mut self, tag: &Tag) {
        if self.links.base.is_none()
            && let Some(href) = attribute(tag, &local_name!("href"))
        {
            self.links.base = Some(href.clone());
        }
    }

    /// `<meta http-equiv=refresh content=...>`.
    fn take_refresh(&mut self, tag: &Tag) {
        let refresh = attribute(tag, &local_name!("http-equiv"))
            .is_some_and(|v| v.trim_matches(is_html_whitespace).eq_ignore_ascii_case("refresh"));
        if refresh {
            self.take(tag, local_name!("content"), Source::Refresh);
        }
    }
}

fn attribute<'t>(tag: &'t Tag, name: &LocalName) -> Option<&'t StrTendril> {
    // Attributes the tokenizer produces have no namespace; `xlink:href` keeps its prefix in the name.
    tag.attrs.iter().find(|a| a.name.local == *name).map(|a| &a.value)
}

fn is_html_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\x0C' | '\r' | ' ')
}

/// Start tags after which a `<frameset>` can no longer replace the body ("frameset-ok" set to "not ok").
fn clears_frameset_ok(tag: &Tag) -> bool {
    match tag.name {
        local_name!("input") => !attribute(tag, &local_name!("type")).is_some_and(|t| t.eq_ignore_ascii_case("hidden")),
        local_name!("body")
        | local_name!("pre")
        | local_name!("listing")
        | local_name!("li")
        | local_name!("dd")
        | local_name!("dt")
        | local_name!("button")
        | local_name!("applet")
        | local_name!("marquee")
        | local_name!("object")
        | local_name!("table")
        | local_name!("area")
        | local_name!("br")
        | local_name!("embed")
        | local_name!("img")
        | local_name!("keygen")
        | local_name!("wbr")
        | local_name!("hr")
        | local_name!("textarea")
        | local_name!("xmp")
        | local_name!("iframe")
        | local_name!("select") => true,
        _ => false,
    }
}

/// HTML start tags that end foreign content (the tree builder's list in "in foreign content").
fn breaks_out_of_foreign_content(tag: &Tag) -> bool {
    match tag.name {
        local_name!("font") => tag
            .attrs
            .iter()
            .any(|a| matches!(a.name.local, local_name!("color") | local_name!("face") | local_name!("size"))),
        local_name!("b")
        | local_name!("big")
        | local_name!("blockquote")
        | local_name!("body")
        | local_name!("br")
        | local_name!("center")
        | local_name!("code")
        | local_name!("dd")
        | local_name!("div")
        | local_name!("dl")
        | local_name!("dt")
        | local_name!("em")
        | local_name!("embed")
        | local_name!("h1")
        | local_name!("h2")
        | local_name!("h3")
        | local_name!("h4")
        | local_name!("h5")
        | local_name!("h6")
        | local_name!("head")
        | local_name!("hr")
        | local_name!("i")
        | local_name!("img")
        | local_name!("li")
        | local_name!("listing")
        | local_name!("menu")
        | local_name!("meta")
        | local_name!("nobr")
        | local_name!("ol")
        | local_name!("p")
        | local_name!("pre")
        | local_name!("ruby")
        | local_name!("s")
        | local_name!("small")
        | local_name!("span")
        | local_name!("strong")
        | local_name!("strike")
        | local_name!("sub")
        | local_name!("sup")
        | local_name!("table")
        | local_name!("tt")
        | local_name!("u")
        | local_name!("ul")
        | local_name!("var") => true,
        _ => false,
    }
}

/// Elements without an end tag (and so never on the stack).
fn is_void(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
    )
}
