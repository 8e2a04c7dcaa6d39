//! `crawld status|pause|resume|stop|seed`: calls to a running crawl's admin API, over plain HTTP/1.1 on
//! the (usually loopback) admin address.

use std::fmt::Write as _;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The admin address `crawld status` and friends use when not told.
pub const DEFAULT_ADDR: &str = "127.0.0.1:7676";
/// Bytes of an answer read at most.
const MAX_ANSWER: u64 = 16 * 1024 * 1024;

/// One request; returns the answer's body as JSON (or text, for /metrics) when its status is 2xx.
pub async fn call(
    addr: &str,
    token: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<String> {
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.with_context(|| {
            format!("cannot reach the admin API at {addr} (is a crawl running with [admin] port set?)")
        })?;
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
        if let Some(token) = token {
            let _ = write!(request, "Authorization: Bearer {token}\r\n");
        }
        if method == "POST" {
            let _ = write!(request, "Content-Type: application/json\r\nContent-Length: {}\r\n", body.len());
        }
        request.push_str("\r\n");
        request.push_str(&body);
        stream.write_all(request.as_bytes()).await.context("cannot send the request")?;
        let mut answer = Vec::new();
        stream.take(MAX_ANSWER).read_to_end(&mut answer).await.context("cannot read the answer")?;
        anyhow::Ok(answer)
    };
    let answer = tokio::time::timeout(Duration::from_secs(15), work)
        .await
        .with_context(|| format!("the admin API at {addr} did not answer within 15 s"))??;
    let (status, body) = parse_answer(&answer)?;
    if !(200..300).contains(&status) {
        let message = serde_json::from_str::<Value>(&body)
            .ok()
            .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or(body);
        bail!("the admin API answered {status}: {}", message.trim());
    }
    Ok(body)
}

/// The status code and body (chunked or not) of an HTTP/1.1 answer read to its end.
fn parse_answer(answer: &[u8]) -> anyhow::Result<(u16, String)> {
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n").context("the answer is not HTTP")?;
    let head = String::from_utf8_lossy(&answer[..end]);
    let status =
        head.split_whitespace().nth(1).and_then(|s| s.parse::<u16>().ok()).context("the answer has no HTTP status")?;
    let mut body = &answer[end + 4..];
    let chunked = head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    });
    if !chunked {
        return Ok((status, String::from_utf8_lossy(body).into_owned()));
    }
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").context("a broken chunked body")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .context("a broken chunk size")?;
        body = &body[line_end + 2..];
        if size == 0 || body.len() < size {
            break;
        }
        out.extend_from_slice(&body[..size]);
        body = body.get(size + 2..).unwrap_or_default();
    }
    Ok((status, String::from_utf8_lossy(&out).into_owned()))
}

/// `GET /status` as a table for people.
pub fn status_table(status: &Value) -> String {
    let num = |key: &str| status.get(key).and_then(Value::as_f64).unwrap_or(0.0);
    let int = |key: &str| status.get(key).and_then(Value::as_u64).unwrap_or(0);
    let state = status.get("state").and_then(Value::as_str).unwrap_or("unknown");
    let mut t = String::new();
    if !status.get("pages").is_some_and(Value::is_u64) {
        let _ = writeln!(t, "state      {state}");
        return t;
    }
    let uptime = humantime::format_duration(Duration::from_secs(num("uptime_secs") as u64));
    let _ = writeln!(t, "state      {state}, up {uptime}");
    let _ = writeln!(
        t,
        "pages      {}  ({:.1}/s over the last minute, {:.1}/s overall)",
        int("pages"),
        num("pages_per_sec_last_minute"),
        num("pages_per_sec")
    );
    let _ = writeln!(t, "queued     {}", int("queued"));
    let _ = writeln!(t, "in flight  {} (concurrency {})", int("in_flight"), int("concurrency"));
    let _ = writeln!(t, "hosts      {}", int("hosts"));
    let _ = writeln!(t, "bytes      {}", int("bytes"));
    let pairs = |key: &str| -> String {
        let Some(map) = status.get(key).and_then(Value::as_object) else { return String::new() };
        let items: Vec<String> = map.iter().map(|(k, v)| format!("{k} {v}")).collect();
        if items.is_empty() { "none".to_owned() } else { items.join(", ") }
    };
    let _ = writeln!(t, "status     {}", pairs("status_classes"));
    let _ = writeln!(t, "errors     {}", pairs("errors"));
    if let Some(depths) = status.get("pages_per_depth").and_then(Value::as_array) {
        let items: Vec<String> = depths.iter().enumerate().map(|(d, n)| format!("{d}: {n}")).collect();
        let _ = writeln!(t, "per depth  {}", items.join(", "));
    }
    for (key, title) in [("top_hosts_by_pages", "top hosts by pages"), ("top_hosts_by_queue", "top hosts by queue")] {
        let hosts = status.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        let _ = writeln!(t, "{title}:");
        if hosts.is_empty() {
            let _ = writeln!(t, "  none");
        }
        for host in hosts {
            let name = host.get("host").and_then(Value::as_str).unwrap_or("?");
            let count = host.get("count").and_then(Value::as_u64).unwrap_or(0);
            let _ = writeln!(t, "  {count:>8}  {name}");
        }
    }
    if let Some(config) = status.get("config").and_then(Value::as_object) {
        let _ = writeln!(t, "config in force:");
        for (key, value) in config {
            let _ = writeln!(t, "  {key} = {value}");
        }
    }
    t
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn answers_plain_and_chunked_are_read() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_answer(plain).unwrap(), (200, "{}".to_owned()));
        let chunked =
            b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_answer(chunked).unwrap(), (401, "abcde".to_owned()));
        assert!(parse_answer(b"garbage").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err());
    }
}
