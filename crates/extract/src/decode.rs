//! Deciding whether a body is HTML, and decoding it to text.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE, WINDOWS_1252, X_USER_DEFINED};

/// How much of the body [`is_html`] sniffs (the WHATWG "resource header" size).
const SNIFF_LEN: usize = 512;
/// How much of the body [`decode_html`] scans for a `<meta>` charset (the WHATWG prescan size).
const PRESCAN_LEN: usize = 1024;

/// Is this body HTML? The Content-Type decides: text/html and application/xhtml+xml are, every other
/// type is not (application/octet-stream and text/plain included: the server said what the body is).
/// Only when the type is missing or unknown, as the WHATWG MIME Sniffing standard defines it (no header,
/// one that is not a valid MIME type, `unknown/unknown`, `application/unknown`, `*/*`), are the first 512
/// bytes sniffed (skip BOM/whitespace; `<!doctype html`, `<html`, `<head`, `<body`, `<script`, `<title`,
/// `<a `, `<p>`, `<!--` … case-insensitive, roughly as its "HTML" patterns).
pub fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    let essence = content_type.map(mime_essence).unwrap_or_default();
    match essence.as_str() {
        "text/html" | "application/xhtml+xml" => true,
        "unknown/unknown" | "application/unknown" | "*/*" => sniff_html(body),
        essence if !is_mime_type(essence) => sniff_html(body),
        _ => false,
    }
}

/// Decode an HTML body to text. Charset precedence: BOM, the Content-Type header's charset parameter,
/// a `<meta charset=..>` or `<meta http-equiv="content-type" content="..; charset=..">` found in the first
/// 1024 bytes, else UTF-8. Malformed sequences are replaced, never an error (encoding_rs).
///
/// Borrows `body` when it is valid UTF-8 in a UTF-8 page. Unknown labels fall through to the next
/// source; a `<meta>` claiming UTF-16 means UTF-8 (the page could not have been prescanned as ASCII
/// otherwise), as the WHATWG encoding sniffing algorithm says.
pub fn decode_html<'a>(body: &'a [u8], content_type: Option<&str>) -> Cow<'a, str> {
    let encoding = content_type.and_then(header_charset).or_else(|| meta_charset(body)).unwrap_or(UTF_8);
    // `decode` sniffs the BOM itself and lets it override `encoding`.
    let (text, _, _) = encoding.decode(body);
    text
}

/// `type/subtype`, lower-cased, without parameters.
fn mime_essence(content_type: &str) -> String {
    let essence = content_type.split(';').next().unwrap_or_default();
    essence.trim().to_ascii_lowercase()
}

/// `type/subtype`, each a non-empty HTTP token: what a header must hold to name a type at all.
fn is_mime_type(essence: &str) -> bool {
    let token =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    essence.split_once('/').is_some_and(|(kind, subtype)| token(kind) && token(subtype))
}

fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | b'\x0C' | b'\r' | b' ')
}

fn starts_with_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.get(..needle.len()).is_some_and(|h| h.eq_ignore_ascii_case(needle))
}

/// WHATWG's "HTML" sniffing patterns, widened to accept any whitespace or `/` after the tag name.
fn sniff_html(body: &[u8]) -> bool {
    const TAGS: [&[u8]; 17] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<meta",
    ];
    let head = &body[..body.len().min(SNIFF_LEN)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = head.iter().position(|&b| !is_ws(b)).unwrap_or(head.len());
    let head = &head[start..];
    if head.starts_with(b"<!--") {
        return true;
    }
    TAGS.iter().any(|tag| {
        starts_with_ignore_case(head, tag) && head.get(tag.len()).is_some_and(|&b| b == b'>' || b == b'/' || is_ws(b))
    })
}

/// The encoding named by a Content-Type header's `charset` parameter.
fn header_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
        Encoding::for_label(value.as_bytes())
    })
}

/// A simplified WHATWG "prescan a byte stream to determine its encoding" over the first 1024 bytes:
/// comments are skipped, `<meta>` attributes are parsed with quoting, first usable declaration wins.
fn meta_charset(body: &[u8]) -> Option<&'static Encoding> {
    let bytes = &body[..body.len().min(PRESCAN_LEN)];
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"<!--") {
            // An unterminated comment hides everything after it.
            let end = find(&rest[4..], b"-->")?;
            i += 4 + end + 3;
        } else if starts_with_ignore_case(rest, b"<meta") && rest.get(5).is_some_and(|&b| b == b'/' || is_ws(b)) {
            let (attrs, len) = parse_attributes(&rest[5..]);
            if let Some(encoding) = charset_from_meta(&attrs) {
                return Some(match encoding {
                    e if e == UTF_16BE || e == UTF_16LE => UTF_8,
                    e if e == X_USER_DEFINED => WINDOWS_1252,
                    e => e,
                });
            }
            i += 5 + len;
        } else {
            i += 1;
        }
    }
    None
}

fn charset_from_meta(attrs: &[Attribute<'_>]) -> Option<&'static Encoding> {
    let get = |name: &[u8]| attrs.iter().find(|(n, _)| n.as_slice() == name).map(|(_, v)| *v);
    if let Some(label) = get(b"charset") {
        return Encoding::for_label(label);
    }
    let is_content_type = get(b"http-equiv").is_some_and(|v| v.eq_ignore_ascii_case(b"content-type"));
    if is_content_type {
        return get(b"content").and_then(charset_in_content);
    }
    None
}

/// The charset inside a `content="text/html; charset=..."` value.
fn charset_in_content(content: &[u8]) -> Option<&'static Encoding> {
    let pos = content.windows(7).position(|w| w.eq_ignore_ascii_case(b"charset"))?;
    let rest = &content[pos + 7..];
    let rest = trim_start_ws(rest).strip_prefix(b"=")?;
    let rest = trim_start_ws(rest);
    let value = match rest.first() {
        Some(&q @ (b'"' | b'\'')) => {
            let inner = &rest[1..];
            &inner[..inner.iter().position(|&b| b == q)?]
        }
        _ => {
            let end = rest.iter().position(|&b| b == b';' || is_ws(b)).unwrap_or(rest.len());
            &rest[..end]
        }
    };
    Encoding::for_label(value)
}

fn trim_start_ws(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_ws(b)).unwrap_or(s.len());
    &s[start..]
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A tag attribute as `(lower-cased name, raw value)`.
type Attribute<'a> = (Vec<u8>, &'a [u8]);

/// Attributes of a tag starting just after its name, up to the closing `>` (or the end of input).
/// Also returns how many bytes were consumed.
fn parse_attributes(s: &[u8]) -> (Vec<Attribute<'_>>, usize) {
    let mut attrs = Vec::new();
    let mut i = 0;
    loop {
        while s.get(i).is_some_and(|&b| is_ws(b) || b == b'/') {
            i += 1;
        }
        match s.get(i) {
            None => return (attrs, i),
            Some(b'>') => return (attrs, i + 1),
            Some(_) => {}
        }
        // The first byte always belongs to the name (even `=`), so each pass makes progress.
        let name_start = i;
        i += 1;
        while s.get(i).is_some_and(|&b| !(is_ws(b) || matches!(b, b'=' | b'>' | b'/'))) {
            i += 1;
        }
        let name = s[name_start..i].to_ascii_lowercase();
        while s.get(i).is_some_and(|&b| is_ws(b)) {
            i += 1;
        }
        let mut value: &[u8] = &[];
        if s.get(i) == Some(&b'=') {
            i += 1;
            while s.get(i).is_some_and(|&b| is_ws(b)) {
                i += 1;
            }
            match s.get(i) {
                Some(&q @ (b'"' | b'\'')) => {
                    let start = i + 1;
                    let len = s[start..].iter().position(|&b| b == q);
                    let end = len.map_or(s.len(), |len| start + len);
                    value = &s[start..end];
                    i = (end + 1).min(s.len());
                }
                _ => {
                    let start = i;
                    while s.get(i).is_some_and(|&b| !(is_ws(b) || b == b'>')) {
                        i += 1;
                    }
                    value = &s[start..i];
                }
            }
        }
        attrs.push((name, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use encoding_rs::SHIFT_JIS;

    #[test]
    fn is_html_by_header() {
        let cases = [
            (Some("text/html"), &b""[..], true),
            (Some("Text/HTML; charset=utf-8"), b"plain words", true),
            (Some(" application/xhtml+xml "), b"", true),
            (Some("image/png"), b"<html>", false),
            (Some("text/plain"), b"<!doctype html>", false),
            (Some("text/plain; charset=utf-8"), b"<a href=\"/x\">x</a>", false),
            (Some("text/csv"), b"<p>", false),
            (Some("application/json"), b"<html>", false),
            // Declared binary: recorded, never parsed, whatever it looks like.
            (Some("application/octet-stream"), b"<html><body>", false),
            (Some("application/octet-stream"), b"\x89PNG\r\n", false),
            // Missing or unknown: sniffed.
            (Some(""), b"<html>", true),
            (Some("unknown/unknown"), b"<p>hi", true),
            (Some("application/unknown"), b"<p>hi", true),
            (Some("Application/Unknown; x=y"), b"\x89PNG\r\n", false),
            (Some("*/*"), b"<!-- c -->", true),
            (Some("html"), b"<html>", true),
            (Some("text/"), b"<html>", true),
            (Some("text/ht ml"), b"<html>", true),
            (None, b"<!DOCTYPE HTML PUBLIC>", true),
            (None, b"{\"a\": 1}", false),
            (None, b"", false),
        ];
        for (ct, body, want) in cases {
            assert_eq!(is_html(ct, body), want, "{ct:?} {:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn sniff_patterns() {
        let yes: [&[u8]; 14] = [
            b"<!doctype html>",
            b"\xEF\xBB\xBF<!DOCTYPE html>",
            b"  \r\n\t<html lang=en>",
            b"<HEAD>",
            b"<body\n>",
            b"<script>",
            b"<title>x",
            b"<a href=x>",
            b"<p>",
            b"<br/>",
            b"<!-- comment",
            b"<TABLE>",
            b"<meta charset=utf-8>",
            b"<b>bold",
        ];
        for body in yes {
            assert!(is_html(None, body), "{:?}", String::from_utf8_lossy(body));
        }
        let no: [&[u8]; 8] = [
            b"<?xml version=\"1.0\"?>",
            b"<abbr>",
            b"<pre>",
            b"<html",
            b"hello <html>",
            b"%PDF-1.4",
            b"<htmlx>",
            b"GIF89a",
        ];
        for body in no {
            assert!(!is_html(None, body), "{:?}", String::from_utf8_lossy(body));
        }
        // Only the first 512 bytes are looked at.
        let mut late = vec![b' '; 600];
        late.extend_from_slice(b"<html>");
        assert!(!is_html(None, &late));
    }

    #[test]
    fn decode_charset_sources() {
        let latin = b"<html><body>caf\xE9</body></html>";
        assert!(decode_html(latin, Some("text/html; charset=ISO-8859-1")).contains("café"));
        assert!(decode_html(latin, Some("text/html; charset=\"windows-1252\"")).contains("café"));
        // No declaration: UTF-8 with replacement, never an error.
        assert!(decode_html(latin, None).contains("caf\u{FFFD}"));

        let meta = b"<html><head><meta charset=\"iso-8859-1\"></head><body>caf\xE9</body>";
        assert!(decode_html(meta, Some("text/html")).contains("café"));
        let meta = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\">caf\xE9";
        assert!(decode_html(meta, None).contains("café"));
        let meta = b"<META HTTP-EQUIV='content-type' CONTENT='text/html;charset = \"latin1\"'>caf\xE9";
        assert!(decode_html(meta, None).contains("café"));
        let meta = b"<meta charset=latin1 />caf\xE9";
        assert!(decode_html(meta, None).contains("café"));
    }

    #[test]
    fn decode_shift_jis() {
        let (body, _, had_errors) = SHIFT_JIS.encode("<title>日本語のページ</title>");
        assert!(!had_errors);
        assert!(decode_html(&body, Some("text/html; charset=Shift_JIS")).contains("日本語のページ"));

        let mut page = b"<head><meta charset=\"shift_jis\"></head>".to_vec();
        page.extend_from_slice(&body);
        assert!(decode_html(&page, None).contains("日本語のページ"));
    }

    #[test]
    fn charset_precedence() {
        // BOM beats the header; header beats meta; unknown header label falls through to meta.
        let bom = b"\xEF\xBB\xBFcaf\xC3\xA9";
        assert_eq!(decode_html(bom, Some("text/html; charset=windows-1252")), "café");
        let both = b"<meta charset=shift_jis>caf\xE9";
        assert!(decode_html(both, Some("text/html; charset=windows-1252")).contains("café"));
        assert!(decode_html(both, Some("text/html; charset=bogus")).contains("caf\u{FFFD}"));
        let latin = b"<meta charset=windows-1252>caf\xE9";
        assert!(decode_html(latin, Some("text/html; charset=bogus")).contains("café"));
        // UTF-16 from a meta tag means UTF-8.
        let utf16 = "<meta charset=utf-16le>café".as_bytes();
        assert!(decode_html(utf16, None).contains("café"));
    }

    #[test]
    fn meta_prescan_limits() {
        // A meta inside a comment or past 1024 bytes is ignored.
        let commented = b"<!-- <meta charset=windows-1252> -->caf\xE9";
        assert!(decode_html(commented, None).contains('\u{FFFD}'));
        let mut late = vec![b' '; 1100];
        late.extend_from_slice(b"<meta charset=windows-1252>caf\xE9");
        assert!(decode_html(&late, None).contains('\u{FFFD}'));
        // A non-charset meta with "charset" in its content is not a declaration.
        let desc = b"<meta name=description content=\"charset=windows-1252\">caf\xE9";
        assert!(decode_html(desc, None).contains('\u{FFFD}'));
        // `>` inside a quoted value does not end the tag.
        let quoted = b"<meta name=\"a>b\" charset=windows-1252>caf\xE9";
        assert!(decode_html(quoted, None).contains("café"));
    }

    #[test]
    fn valid_utf8_is_borrowed() {
        let body = "<p>héllo</p>".as_bytes();
        assert!(matches!(decode_html(body, Some("text/html; charset=utf-8")), Cow::Borrowed(_)));
    }

    #[test]
    fn hostile_bytes_do_not_panic() {
        let inputs: [&[u8]; 12] = [
            b"",
            b"<meta",
            b"<meta ",
            b"<meta charset",
            b"<meta charset=",
            b"<meta charset=\"",
            b"<meta =====>",
            b"<meta http-equiv=content-type content=\"charset",
            b"<meta http-equiv=content-type content='charset=\"x",
            b"<!--",
            b"\xFF\xFE\x00<\x00m",
            b"\xFE\xFF",
        ];
        for body in inputs {
            let _ = decode_html(body, None);
            let _ = decode_html(body, Some(";;;charset=;=;"));
            let _ = is_html(None, body);
            let _ = is_html(Some(";"), body);
        }
        let mut big = b"<meta ".to_vec();
        big.extend(std::iter::repeat_n(b'a', 1 << 20));
        let _ = decode_html(&big, None);
        let _ = is_html(None, &big);
    }
}
