//! The fast path of link extraction: a tokenizer ([`crate::tokens`]) and no tree.
//!
//! Building a DOM and matching selectors on it (the `scraper` path, kept in [`crate::links`] as the
//! reference) cost most of a crawl's CPU on real documentation sites. Links only need the start tags
//! that the tree builder would turn into elements, so this module mirrors just the parts of tree
//! construction that change which tags those are, or how the tokenizer reads on:
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
//! needs no mirroring. Without the tree builder's stack of open elements, whether an end tag inside
//! foreign content closes an HTML element around it is judged from a stack of names that implied end
//! tags do not pop: deeply misnested `<svg>`/`<math>` markup can be read differently (about 1 random
//! tricky document in 6,000; no real page seen). `tests/corpus.rs` checks both paths agree on real
//! pages and tricky markup.

use std::borrow::Cow;

use crate::tokens::{self, Attr, Mode, StartTag};

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
pub(crate) struct RawLinks<'a> {
    /// The `href` of the first `<base href>`, if any.
    pub base: Option<Cow<'a, str>>,
    /// Borrowed from the document unless a character reference was decoded.
    pub values: Vec<(Source, Cow<'a, str>)>,
}

/// Scan `html` for link-bearing start tags.
pub(crate) fn scan(html: &str) -> RawLinks<'_> {
    let mut state = State::default();
    tokens::tokenize(html.as_bytes(), &mut state);
    state.links
}

#[derive(Debug)]
struct State<'a> {
    links: RawLinks<'a>,
    /// The open elements that matter for foreign content: from the outermost `<svg>`/`<math>` down
    /// (empty outside foreign content). HTML elements opened at an integration point are kept too, so
    /// that their end tags find their place.
    foreign: Names<Ns>,
    /// The tree builder's "frameset-ok" flag: a `<frameset>` can still replace the body.
    frameset_ok: bool,
    /// A `<frameset>` was accepted: from now on only frameset tags make elements.
    frameset: bool,
    /// Framesets open; `<frame>` is an element only while one is (not after the outermost one closed).
    framesets_open: u32,
    /// `<template>` elements open: a `<frameset>` inside one is ignored.
    templates_open: u32,
    /// Names of the HTML elements opened outside foreign content and not yet closed by an end tag of
    /// the same name (elements closed implicitly stay: an approximation of the tree builder's stack,
    /// used only to tell whether an end tag inside `<svg>`/`<math>` closes an element around it).
    html_open: Names<()>,
}

/// Bound on `html_open`, so that a page of unclosed tags costs no more than this.
const MAX_HTML_OPEN: usize = 256;

impl Default for State<'_> {
    fn default() -> Self {
        State {
            links: RawLinks::default(),
            foreign: Names::default(),
            frameset_ok: true,
            frameset: false,
            framesets_open: 0,
            templates_open: 0,
            html_open: Names::default(),
        }
    }
}

/// A stack of element names, each with a `T`, kept end to end in one buffer: opening an element costs
/// no allocation of its own (a page opens thousands).
#[derive(Debug)]
struct Names<T> {
    bytes: Vec<u8>,
    /// Where each name starts in `bytes`, and its `T`.
    open: Vec<(usize, T)>,
}

impl<T> Default for Names<T> {
    fn default() -> Self {
        Names { bytes: Vec::new(), open: Vec::new() }
    }
}

impl<T: Copy> Names<T> {
    fn push(&mut self, name: &[u8], with: T) {
        self.open.push((self.bytes.len(), with));
        self.bytes.extend_from_slice(name);
    }

    fn len(&self) -> usize {
        self.open.len()
    }

    fn is_empty(&self) -> bool {
        self.open.is_empty()
    }

    fn name(&self, i: usize) -> &[u8] {
        let end = self.open.get(i + 1).map_or(self.bytes.len(), |&(start, _)| start);
        &self.bytes[self.open[i].0..end]
    }

    /// The innermost name and its `T`.
    fn last(&self) -> Option<(&[u8], T)> {
        let i = self.open.len().checked_sub(1)?;
        Some((self.name(i), self.open[i].1))
    }

    /// Keep the outermost `len` entries.
    fn truncate(&mut self, len: usize) {
        if let Some(&(start, _)) = self.open.get(len) {
            self.bytes.truncate(start);
            self.open.truncate(len);
        }
    }

    fn pop(&mut self) {
        self.truncate(self.open.len().saturating_sub(1));
    }

    fn clear(&mut self) {
        self.truncate(0);
    }

    /// The position of the innermost entry named `name`.
    fn rposition(&self, name: &[u8]) -> Option<usize> {
        (0..self.open.len()).rev().find(|&i| self.name(i) == name)
    }

    /// Names and `T`s, innermost first.
    fn iter_rev(&self) -> impl Iterator<Item = (&[u8], T)> {
        (0..self.open.len()).rev().map(|i| (self.name(i), self.open[i].1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    Html,
    Svg,
    MathMl,
}

impl<'a> tokens::Sink<'a> for State<'a> {
    fn wants_attrs(&self, name: &[u8]) -> bool {
        matches!(name, b"a" | b"area" | b"link" | b"iframe" | b"frame" | b"base" | b"meta" | b"input" | b"font")
    }

    fn start_tag(&mut self, tag: &StartTag<'_, 'a>) -> Mode {
        if self.frameset {
            return self.frameset_tag(tag);
        }
        match self.foreign.last().map(|(_, ns)| ns) {
            Some(Ns::Svg | Ns::MathMl) if !self.at_integration_point(tag) => self.foreign_tag(tag),
            _ => self.html_tag(tag),
        }
    }

    fn end_tag(&mut self, name: &[u8]) {
        if self.frameset {
            if name == b"frameset" {
                self.framesets_open = self.framesets_open.saturating_sub(1);
            }
        } else if matches!(name, b"br" | b"p") && self.cdata_allowed() {
            // These end tags break out of foreign content like the start tags do.
            while self.foreign.last().is_some_and(|(_, ns)| ns != Ns::Html) {
                self.foreign.pop();
            }
        } else if let Some(at) = self.foreign.rposition(name) {
            self.foreign.truncate(at);
        } else if !self.foreign.is_empty() {
            // An end tag in foreign content that names no foreign element goes to the HTML rules, which
            // end the foreign content when the tag closes an element around it.
            let in_scope = self
                .html_open
                .iter_rev()
                .take_while(|(open, ())| !is_scope_boundary(open))
                .any(|(open, ())| open == name);
            if in_scope {
                self.foreign.clear();
                self.close_html(name);
            }
        } else {
            if name == b"template" {
                self.templates_open = self.templates_open.saturating_sub(1);
            }
            self.close_html(name);
        }
    }

    fn wants_text(&self) -> bool {
        self.frameset_ok
    }

    fn text(&mut self, whitespace: bool) {
        if !whitespace {
            self.frameset_ok = false;
        }
    }

    fn cdata_allowed(&self) -> bool {
        self.foreign.last().is_some_and(|(_, ns)| ns != Ns::Html)
    }
}

impl<'a> State<'a> {
    /// A start tag after an accepted `<frameset>`: only `frame` elements (and `noframes` text) remain.
    fn frameset_tag(&mut self, tag: &StartTag<'_, 'a>) -> Mode {
        match tag.name {
            b"frame" if self.framesets_open > 0 => self.take(tag, Attr::Src, Source::Attribute),
            b"frameset" if self.framesets_open > 0 => self.framesets_open += 1,
            b"noframes" => return Mode::RawText,
            _ => {}
        }
        Mode::Data
    }

    /// A start tag that the tree builder handles by the HTML insertion modes.
    fn html_tag(&mut self, tag: &StartTag<'_, 'a>) -> Mode {
        let inside_foreign = !self.foreign.is_empty();
        match tag.name {
            b"a" | b"area" | b"link" => self.take(tag, Attr::Href, Source::Attribute),
            b"iframe" => self.take(tag, Attr::Src, Source::Attribute),
            b"base" => self.take_base(tag),
            b"meta" => self.take_refresh(tag),
            b"template" if !inside_foreign => self.templates_open += 1,
            b"frameset" if self.frameset_ok && !inside_foreign && self.templates_open == 0 => {
                self.frameset = true;
                self.framesets_open = 1;
                return Mode::Data;
            }
            b"svg" | b"math" if !tag.self_closing => {
                let ns = if tag.name == b"svg" { Ns::Svg } else { Ns::MathMl };
                self.foreign.push(tag.name, ns);
                return Mode::Data;
            }
            _ => {}
        }
        if clears_frameset_ok(tag) {
            self.frameset_ok = false;
        }
        let mode = match tag.name {
            b"title" | b"textarea" | b"style" | b"xmp" | b"iframe" | b"noembed" | b"noframes" | b"noscript" => {
                Mode::RawText
            }
            b"script" => Mode::Script,
            b"plaintext" => Mode::Plaintext,
            _ => Mode::Data,
        };
        if !tag.self_closing && !is_void(tag.name) {
            if inside_foreign {
                // Inside an integration point, HTML elements are remembered so that their end tags do
                // not close the foreign element around them.
                self.foreign.push(tag.name, Ns::Html);
            } else if self.html_open.len() < MAX_HTML_OPEN {
                self.html_open.push(tag.name, ());
            }
        }
        mode
    }

    /// A start tag in foreign content: an element of the same namespace, unless it breaks out.
    fn foreign_tag(&mut self, tag: &StartTag<'_, 'a>) -> Mode {
        if breaks_out_of_foreign_content(tag) {
            // Pop back to HTML content and handle the tag there.
            while self.foreign.last().is_some_and(|(_, ns)| ns != Ns::Html) {
                self.foreign.pop();
            }
            return self.html_tag(tag);
        }
        match tag.name {
            b"a" | b"area" | b"link" => self.take(tag, Attr::Href, Source::Attribute),
            b"iframe" | b"frame" => self.take(tag, Attr::Src, Source::Attribute),
            b"base" => self.take_base(tag),
            _ => {}
        }
        if !tag.self_closing {
            // A foreign element takes the namespace of the element it is in, whatever its name.
            let ns = self.foreign.last().map_or(Ns::Svg, |(_, ns)| ns);
            self.foreign.push(tag.name, ns);
        }
        Mode::Data
    }

    /// Whether the current foreign element lets `tag` be handled as HTML.
    fn at_integration_point(&self, tag: &StartTag<'_, 'a>) -> bool {
        let Some((name, ns)) = self.foreign.last() else { return false };
        match (ns, name) {
            // HTML integration points (names are lower-cased: the tree builder writes `foreignObject`).
            (Ns::Svg, b"foreignobject" | b"desc" | b"title") => true,
            // MathML text integration points take start tags other than mglyph and malignmark as HTML.
            (Ns::MathMl, b"mi" | b"mo" | b"mn" | b"ms" | b"mtext") => !matches!(tag.name, b"mglyph" | b"malignmark"),
            (Ns::MathMl, b"annotation-xml") => tag.name == b"svg",
            _ => false,
        }
    }

    fn take(&mut self, tag: &StartTag<'_, 'a>, attr: Attr, source: Source) {
        if let Some(value) = tag.attr_value(attr) {
            self.links.values.push((source, value));
        }
    }

    fn take_base(&mut self, tag: &StartTag<'_, 'a>) {
        if self.links.base.is_none()
            && let Some(href) = tag.attr_value(Attr::Href)
        {
            self.links.base = Some(href);
        }
    }

    /// `<meta http-equiv=refresh content=...>`.
    fn take_refresh(&mut self, tag: &StartTag<'_, 'a>) {
        let refresh = tag
            .attr(Attr::HttpEquiv)
            .is_some_and(|v| v.trim_matches(|c: char| c.is_ascii_whitespace()).eq_ignore_ascii_case("refresh"));
        if refresh {
            self.take(tag, Attr::Content, Source::Refresh);
        }
    }
}

impl State<'_> {
    /// An end tag outside foreign content closes the innermost open element of its name.
    fn close_html(&mut self, name: &[u8]) {
        if let Some(at) = self.html_open.rposition(name) {
            self.html_open.truncate(at);
        }
    }
}

/// Start tags after which a `<frameset>` can no longer replace the body ("frameset-ok" set to "not ok").
fn clears_frameset_ok(tag: &StartTag<'_, '_>) -> bool {
    match tag.name {
        b"input" => !tag.attr(Attr::Type).is_some_and(|t| t.eq_ignore_ascii_case("hidden")),
        b"body" | b"pre" | b"listing" | b"li" | b"dd" | b"dt" | b"button" | b"applet" | b"marquee" | b"object"
        | b"table" | b"area" | b"br" | b"embed" | b"img" | b"keygen" | b"wbr" | b"hr" | b"textarea" | b"xmp"
        | b"iframe" | b"select" => true,
        _ => false,
    }
}

/// HTML start tags that end foreign content (the tree builder's list in "in foreign content").
fn breaks_out_of_foreign_content(tag: &StartTag<'_, '_>) -> bool {
    match tag.name {
        b"font" => tag.attr(Attr::FontStyle).is_some(),
        b"b" | b"big" | b"blockquote" | b"body" | b"br" | b"center" | b"code" | b"dd" | b"div" | b"dl" | b"dt"
        | b"em" | b"embed" | b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"head" | b"hr" | b"i" | b"img"
        | b"li" | b"listing" | b"menu" | b"meta" | b"nobr" | b"ol" | b"p" | b"pre" | b"ruby" | b"s" | b"small"
        | b"span" | b"strong" | b"strike" | b"sub" | b"sup" | b"table" | b"tt" | b"u" | b"ul" | b"var" => true,
        _ => false,
    }
}

/// Elements that end the "in scope" search of the tree builder.
fn is_scope_boundary(name: &[u8]) -> bool {
    matches!(name, b"applet" | b"caption" | b"html" | b"table" | b"td" | b"th" | b"marquee" | b"object" | b"template")
}

/// Elements without an end tag (and so never on the stack).
fn is_void(name: &[u8]) -> bool {
    matches!(
        name,
        b"area"
            | b"base"
            | b"br"
            | b"col"
            | b"embed"
            | b"hr"
            | b"img"
            | b"input"
            | b"link"
            | b"meta"
            | b"source"
            | b"track"
            | b"wbr"
    )
}
