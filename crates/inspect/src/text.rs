//! The report for a terminal: about a screen of aligned text.

use std::fmt::Write;

use crate::report::Report;

/// Bytes as B, KB, MB, GB (powers of 1000, one decimal).
pub fn human_bytes(n: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", units[unit]) }
}

fn percent(part: u64, whole: u64) -> String {
    format!("{:.1}%", part as f64 * 100.0 / whole.max(1) as f64)
}

/// One character per value, from ▁ to █, scaled to the largest.
pub fn sparkline(values: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    values.iter().map(|&v| if v == 0 { ' ' } else { BARS[(((v - 1) * 8 / max) as usize).min(7)] }).collect()
}

/// At most `width` values: neighbours summed.
fn squeeze(values: &[u64], width: usize) -> Vec<u64> {
    let per = values.len().div_ceil(width.max(1)).max(1);
    values.chunks(per).map(|c| c.iter().sum()).collect()
}

pub fn render(r: &Report) -> String {
    let mut o = String::new();
    // Writing to a String cannot fail.
    let _ = write_report(&mut o, r);
    o
}

fn write_report(o: &mut String, r: &Report) -> std::fmt::Result {
    for c in &r.crawls {
        writeln!(o, "crawl    {}  [{}]", c.dir.display(), c.state)?;
        if !c.seeds.is_empty() {
            let more = if c.seeds.len() > 3 { format!(" (+{} more)", c.seeds.len() - 3) } else { String::new() };
            writeln!(o, "seeds    {}{more}", c.seeds.iter().take(3).cloned().collect::<Vec<_>>().join(" "))?;
        }
        let started = c.started_at.as_deref().unwrap_or("?");
        let elapsed = c.elapsed_secs.map_or("?".to_owned(), |s| format!("{s:.1} s"));
        let queued = c.queued.filter(|&q| q > 0).map_or(String::new(), |q| format!(", {q} URLs left queued"));
        writeln!(o, "started  {started}, ran {elapsed}{queued}")?;
        if c.partial_last_line {
            writeln!(o, "         (pages.jsonl ends in half a line, being written: skipped)")?;
        }
    }
    if !r.filter.is_empty() {
        writeln!(o, "filter   {}", r.filter)?;
    }
    writeln!(
        o,
        "pages    {}   bytes {} on the wire, {} stored",
        r.pages,
        human_bytes(r.bytes),
        human_bytes(r.stored_bytes)
    )?;
    if r.duplicates.count > 0 {
        writeln!(
            o,
            "         {} URLs were in more than one directory, counted once (e.g. {})",
            r.duplicates.count,
            r.duplicates.sample.first().map_or("", String::as_str)
        )?;
    }
    writeln!(o)?;
    writeln!(o, "outcome")?;
    for (name, n) in r.outcomes.named() {
        if n > 0 {
            writeln!(o, "  {name:<20}{n:>10}  {:>6}", percent(n, r.pages))?;
        }
    }
    let codes: Vec<String> = r.status_codes.iter().take(8).map(|c| format!("{} {}", c.key, c.pages)).collect();
    if !codes.is_empty() {
        writeln!(o, "  top status codes: {}", codes.join(", "))?;
    }
    writeln!(
        o,
        "  retries {} (on {} pages), redirects {}, truncated {}",
        r.retries, r.pages_retried, r.redirects, r.truncated
    )?;
    writeln!(o)?;
    let depths: Vec<String> = r.depths.iter().map(|d| format!("{}: {}", d.key, d.pages)).collect();
    writeln!(o, "by depth      {}", depths.join("  "))?;
    writeln!(o, "content types")?;
    for t in r.content_types.iter().take(8) {
        writeln!(o, "  {:<32}{:>10}  {:>10}", t.content_type, t.pages, human_bytes(t.bytes))?;
    }
    let title = format!("hosts ({} in all)", r.hosts_total);
    writeln!(o, "{title:<32}{:>8}  {:>8}  {:>12}", "pages", "errors", "mean latency")?;
    for h in r.hosts.iter().take(10) {
        writeln!(o, "  {:<30}{:>8}  {:>8}  {:>9.1} ms", h.host, h.pages, h.errors, h.mean_latency_ms)?;
    }
    if !r.errors.is_empty() {
        writeln!(o, "errors")?;
        for e in r.errors.iter().take(10) {
            writeln!(o, "  {:<40}{:>8}", e.key, e.pages)?;
        }
    }
    writeln!(o)?;
    let t = &r.throughput;
    if !t.pages.is_empty() {
        let squeezed = squeeze(&t.pages, 60);
        let per = t.bucket_secs * (t.pages.len() as f64 / squeezed.len() as f64).ceil();
        let peak = t.pages.iter().copied().max().unwrap_or(0) as f64 / t.bucket_secs;
        let span = t.pages.len() as f64 * t.bucket_secs;
        writeln!(
            o,
            "throughput    peak {peak:.1} pages/s, mean {:.1} pages/s over {span} s (one mark per {per} s)",
            r.pages as f64 / span.max(1e-3)
        )?;
        writeln!(o, "  {}", sparkline(&squeezed))?;
    }
    writeln!(o, "latency       mean {:.1} ms, max {:.1} ms", r.latency.mean_ms, r.latency.max_ms)?;
    writeln!(o, "largest")?;
    for p in r.largest.iter().take(5) {
        writeln!(o, "  {:>10}  {}", human_bytes(p.bytes), p.url)?;
    }
    writeln!(o, "slowest")?;
    for p in r.slowest.iter().take(5) {
        writeln!(o, "  {:>8.1} ms  {}", p.elapsed_ms, p.url)?;
    }
    if r.failed_total > 0 {
        writeln!(o, "failed ({}; the first {})", r.failed_total, r.failed.len())?;
        for f in &r.failed {
            let why = match (&f.error, f.status) {
                (Some(e), _) => e.clone(),
                (None, Some(s)) => format!("status {s}"),
                (None, None) => "no response".to_owned(),
            };
            writeln!(o, "  {}  {why}", f.url)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_sparklines() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500_000), "1.5 MB");
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(squeeze(&[1, 2, 3, 4, 5], 2), [6, 9]);
    }
}
