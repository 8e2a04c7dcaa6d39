//! CDXJ index lines, as `cdxj-indexer --sort` (and pywb) write them:
//!
//! ```text
//! 1,0,0,127:41959)/page/2 20261121113433 {"url": "http://127.0.0.1:41959/page/2", "mime": "text/html", "status": "200", "digest": "sha1:...", "length": "557", "offset": "1416", "filename": "crawld-20261121113433-00000.warc.gz"}
//! ```
//!
//! A SURT key, the record's WARC-Date as 14 digits, and a JSON object in Python's `json.dumps` form.
//! A line is made in two steps: its [`Head`] where the record is encoded (everything but where the record
//! lands), then [`Head::line`] once the writer knows the file, offset and length. `crawld-inspect` makes
//! the lines of WARC files read back with the same two steps, so both agree byte for byte.

pub(crate) mod sorter;
pub mod surt;

/// An index line up to where its record lands: key, timestamp, and the JSON object's first fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head(String);

impl Head {
    /// The line's beginning for the record of `url` dated `warc_date` (a WARC-Date), with the fields
    /// that are known: `mime`, `status`, `digest`.
    pub fn new(url: &str, warc_date: &str, mime: Option<&str>, status: Option<&str>, digest: Option<&str>) -> Head {
        let timestamp: String = warc_date.chars().filter(char::is_ascii_digit).take(14).collect();
        let mut out = surt::surt(url);
        out.push(' ');
        out.push_str(&timestamp);
        out.push_str(" {");
        field(&mut out, "url", url, false);
        for (name, value) in [("mime", mime), ("status", status), ("digest", digest)] {
            if let Some(value) = value {
                field(&mut out, name, value, true);
            }
        }
        Head(out)
    }

    /// The index line of a response record's `http` head (the HTTP head as archived: status line and
    /// headers, up to and with the blank line that ends them). None when the head cannot be read as the
    /// index reader reads it: then only reading the WARC file back can tell what its line is.
    pub fn of_response(url: &str, warc_date: &str, http: &[u8], digest: &str) -> Option<Head> {
        let head = HttpHead::parse(http)?;
        let mime = head.header("Content-Type").map(mime_of);
        Some(Head::new(url, warc_date, mime, head.status(), Some(digest)))
    }

    /// The whole line, newline included, for the record `length` bytes long at `offset` of `filename`.
    pub fn line(&self, length: u64, offset: u64, filename: &str) -> String {
        let mut out = String::with_capacity(self.0.len() + filename.len() + 64);
        out.push_str(&self.0);
        field(&mut out, "length", &length.to_string(), true);
        field(&mut out, "offset", &offset.to_string(), true);
        field(&mut out, "filename", filename, true);
        out.push_str("}\n");
        out
    }
}

fn field(out: &mut String, name: &str, value: &str, comma: bool) {
    if comma {
        out.push_str(", ");
    }
    py_json_string(out, name);
    out.push_str(": ");
    py_json_string(out, value);
}

/// The head of an HTTP message inside a record's block: start line and headers, read as the index
/// reader reads them (UTF-8, up to the first blank line, `name: value` with both trimmed).
#[derive(Debug)]
pub struct HttpHead<'a> {
    pub start_line: &'a str,
    pub headers: Vec<(&'a str, &'a str)>,
    /// Where the payload begins in the block that was parsed (after the blank line).
    pub end: usize,
}

impl<'a> HttpHead<'a> {
    /// The head at the start of `block`, or None without a blank line or when it is not UTF-8.
    pub fn parse(block: &'a [u8]) -> Option<HttpHead<'a>> {
        let end = memfind(block, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&block[..end]).ok()?;
        let mut lines = head.split("\r\n");
        let start_line = lines.next()?;
        let headers = lines.filter_map(|l| l.split_once(':').map(|(k, v)| (k.trim(), v.trim()))).collect();
        Some(HttpHead { start_line, headers, end: end + 4 })
    }

    /// The first header of this name (ASCII case ignored).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|&(_, v)| v)
    }

    /// The status code of a response, as its status line gives it.
    pub fn status(&self) -> Option<&'a str> {
        self.start_line.split(' ').nth(1).filter(|s| !s.is_empty())
    }
}

fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The media type alone: what comes before the first `;` or space, as `cdxj-indexer` takes it.
pub fn mime_of(content_type: &str) -> &str {
    content_type.split([';', ' ', '\t']).next().unwrap_or_default().trim()
}

/// A JSON string as Python's `json.dumps` writes it (`ensure_ascii`): anything outside printable ASCII
/// escaped, as `\uXXXX` (surrogate pairs beyond the BMP).
fn py_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_as_python_json_dumps_does() {
        let mut out = String::new();
        py_json_string(&mut out, "a\"b\\c\nd\u{7f}é😀/");
        assert_eq!(out, r#""a\"b\\c\nd\u007f\u00e9\ud83d\ude00/""#);
    }

    #[test]
    fn mime_drops_parameters() {
        assert_eq!(mime_of("text/html; charset=utf-8"), "text/html");
        assert_eq!(mime_of("text/plain"), "text/plain");
    }

    #[test]
    fn a_line_is_its_head_and_where_the_record_landed() {
        let http = b"HTTP/1.1 404 Not Found\r\ncontent-type: text/html; charset=utf-8\r\nX: y\r\n\r\n";
        let head = Head::of_response("http://Example.com/a?b=1", "2026-12-04T13:00:01Z", http, "sha1:AB")
            .unwrap_or_else(|| panic!("the head parses"));
        assert_eq!(
            head.line(557, 1416, "f.warc.gz"),
            "com,example)/a?b=1 20261204130001 {\"url\": \"http://Example.com/a?b=1\", \"mime\": \"text/html\", \
             \"status\": \"404\", \"digest\": \"sha1:AB\", \"length\": \"557\", \"offset\": \"1416\", \
             \"filename\": \"f.warc.gz\"}\n"
        );
        // No blank line, or not UTF-8: not the reader's reading, so no head.
        assert!(Head::of_response("http://a/", "2026", b"HTTP/1.1 200 OK\r\n", "d").is_none());
        assert!(Head::of_response("http://a/", "2026", b"HTTP/1.1 200 OK\r\nX: \xff\r\n\r\n", "d").is_none());
    }
}
