//! The report as one self-contained HTML file: tables, and charts drawn as inline SVG. No script, no
//! font, no style sheet, nothing fetched from anywhere: it works opened from disk, and prints.
//!
//! Every figure comes from the [`Report`], as `--json` gives it. Each chart is an
//! `<svg data-chart="NAME">` whose bars carry the figure they draw as `data-label` and `data-value`,
//! so the charts can be checked against the JSON.

use std::fmt::Write;

use crate::report::Report;
use crate::text::human_bytes;

const STYLE: &str = r#"
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: .2em; } h2 { font-size: 1.1em; margin: 1.4em 0 .4em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .3em 0; } td, th { padding: .15em .6em; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; } tr:nth-child(even) td { background: #f4f4f4; }
.url { word-break: break-all; font-family: ui-monospace, monospace; font-size: .9em; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(30em, 1fr)); gap: 1em 2em; }
figure { margin: 0; } figcaption { font-weight: 600; margin-bottom: .3em; }
svg text { font: 11px system-ui, sans-serif; fill: #333; } svg rect.bar { fill: #3b73b9; }
.muted { color: #666; }
@media print { body { max-width: none; margin: 0; font-size: 11px; } h2 { break-after: avoid; }
  figure, table { break-inside: avoid; } svg rect.bar { fill: #555; } tr:nth-child(even) td { background: none; } }
"#;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// A number as the charts' `data-value` gives it: integers plainly, others to three decimals.
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v:.3}") }
}

/// Horizontal bars, one row per (label, value).
fn bars(o: &mut String, name: &str, title: &str, rows: &[(String, f64)]) {
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let (label_w, bar_w, row_h) = (180.0, 300.0, 18.0);
    let height = row_h * rows.len().max(1) as f64 + 4.0;
    let _ = write!(
        o,
        r#"<figure><figcaption>{}</figcaption><svg data-chart="{name}" width="{w}" height="{height}" viewBox="0 0 {w} {height}" role="img">"#,
        esc(title),
        w = label_w + bar_w + 80.0
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 2.0;
        let width = (value / max * bar_w).max(if *value > 0.0 { 1.0 } else { 0.0 });
        let short: String = label.chars().take(28).collect();
        let _ = write!(
            o,
            r#"<text x="{tx}" y="{ty}" text-anchor="end">{}</text><rect class="bar" x="{label_w}" y="{y}" width="{width:.1}" height="{h}" data-label="{}" data-value="{}"><title>{}: {}</title></rect><text x="{vx:.1}" y="{ty}">{}</text>"#,
            esc(&short),
            esc(label),
            num(*value),
            esc(label),
            num(*value),
            num(*value),
            tx = label_w - 6.0,
            ty = y + 12.0,
            h = row_h - 4.0,
            vx = label_w + width + 4.0,
        );
    }
    o.push_str("</svg></figure>\n");
}

/// Vertical columns over an axis (time, latency buckets), labelled at both ends.
fn columns(o: &mut String, name: &str, title: &str, rows: &[(String, f64)], unit: &str) {
    let max = rows.iter().map(|r| r.1).fold(0.0, f64::max).max(f64::MIN_POSITIVE);
    let (w, h, left) = (560.0, 160.0, 50.0);
    let col = (w - left) / rows.len().max(1) as f64;
    let _ = write!(
        o,
        r#"<figure><figcaption>{}</figcaption><svg data-chart="{name}" width="{w}" height="{hh}" viewBox="0 0 {w} {hh}" role="img"><text x="{lx}" y="12" text-anchor="end">{}</text><text x="{lx}" y="{h}" text-anchor="end">0</text>"#,
        esc(title),
        num(max),
        hh = h + 20.0,
        lx = left - 4.0,
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let bh = value / max * (h - 6.0);
        let x = left + i as f64 * col;
        let _ = write!(
            o,
            r#"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{cw:.1}" height="{bh:.1}" data-label="{}" data-value="{}"><title>{}: {} {}</title></rect>"#,
            esc(label),
            num(*value),
            esc(label),
            num(*value),
            esc(unit),
            y = h - bh,
            cw = (col - 1.0).max(0.5),
        );
    }
    if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
        let _ = write!(
            o,
            r#"<text x="{left}" y="{ty}">{}</text><text x="{w}" y="{ty}" text-anchor="end">{}</text>"#,
            esc(&first.0),
            esc(&last.0),
            ty = h + 14.0
        );
    }
    o.push_str("</svg></figure>\n");
}

fn table(o: &mut String, head: &[&str], rows: Vec<Vec<String>>, numeric: &[bool]) {
    o.push_str("<table><tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if numeric.get(i) == Some(&true) { " class=\"n\"" } else { "" };
        let _ = write!(o, "<th{class}>{}</th>", esc(h));
    }
    o.push_str("</tr>\n");
    for row in rows {
        o.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            let class = match (numeric.get(i), cell.contains("://")) {
                (Some(true), _) => " class=\"n\"",
                (_, true) => " class=\"url\"",
                _ => "",
            };
            let _ = write!(o, "<td{class}>{}</td>", esc(cell));
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</table>\n");
}

/// The whole report as an HTML document.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(64 * 1024);
    o.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    o.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = writeln!(o, "<title>crawld report: {}</title><style>{STYLE}</style></head><body>", r.pages);
    let dirs: Vec<String> = r.crawls.iter().map(|c| c.dir.display().to_string()).collect();
    let _ = writeln!(o, "<h1>crawld report</h1><p class=\"muted\">{}</p>", esc(&dirs.join(", ")));

    o.push_str("<h2>Summary</h2>\n");
    let crawl_rows = r
        .crawls
        .iter()
        .map(|c| {
            vec![
                c.dir.display().to_string(),
                c.state.clone(),
                c.seeds.join(" "),
                c.started_at.clone().unwrap_or_default(),
                c.elapsed_secs.map(|s| format!("{s:.1} s")).unwrap_or_default(),
            ]
        })
        .collect();
    table(&mut o, &["directory", "state", "seeds", "started", "ran"], crawl_rows, &[]);
    let mut facts = vec![
        vec!["pages".to_owned(), r.pages.to_string()],
        vec!["bytes on the wire".to_owned(), format!("{} ({})", r.bytes, human_bytes(r.bytes))],
        vec!["bytes stored".to_owned(), format!("{} ({})", r.stored_bytes, human_bytes(r.stored_bytes))],
        vec!["hosts".to_owned(), r.hosts_total.to_string()],
        vec!["retries".to_owned(), format!("{} (on {} pages)", r.retries, r.pages_retried)],
        vec!["redirects".to_owned(), r.redirects.to_string()],
        vec!["truncated".to_owned(), r.truncated.to_string()],
        vec!["mean latency".to_owned(), format!("{:.3} ms (max {:.3} ms)", r.latency.mean_ms, r.latency.max_ms)],
    ];
    if !r.filter.is_empty() {
        facts.insert(0, vec!["filter".to_owned(), r.filter.clone()]);
    }
    if r.duplicates.count > 0 {
        facts.push(vec![
            "duplicates".to_owned(),
            format!("{} URLs in more than one directory, counted once", r.duplicates.count),
        ]);
    }
    table(&mut o, &["", ""], facts, &[]);

    o.push_str("<h2>Charts</h2><div class=\"grid\">\n");
    let t = &r.throughput;
    let per_sec: Vec<(String, f64)> = t
        .pages
        .iter()
        .enumerate()
        .map(|(i, &p)| (format!("+{} s", num(i as f64 * t.bucket_secs)), p as f64 / t.bucket_secs))
        .collect();
    columns(
        &mut o,
        "throughput",
        &format!("Pages/s over time ({} s per column)", num(t.bucket_secs)),
        &per_sec,
        "pages/s",
    );
    let depths: Vec<(String, f64)> = r.depths.iter().map(|d| (format!("depth {}", d.key), d.pages as f64)).collect();
    bars(&mut o, "depths", "Pages per depth", &depths);
    let outcomes: Vec<(String, f64)> =
        r.outcomes.named().iter().filter(|(_, n)| *n > 0).map(|(k, n)| ((*k).to_owned(), *n as f64)).collect();
    bars(&mut o, "outcomes", "Status mix", &outcomes);
    let types: Vec<(String, f64)> =
        r.content_types.iter().take(12).map(|c| (c.content_type.clone(), c.pages as f64)).collect();
    bars(&mut o, "content_types", "Content types (pages)", &types);
    let hosts: Vec<(String, f64)> = r.hosts.iter().map(|h| (h.host.clone(), h.pages as f64)).collect();
    bars(&mut o, "hosts", "Top hosts (pages)", &hosts);
    let latency: Vec<(String, f64)> = r
        .latency
        .histogram
        .iter()
        .map(|b| (b.le_ms.map_or("slower".to_owned(), |le| format!("≤ {} ms", num(le))), b.pages as f64))
        .collect();
    columns(&mut o, "latency", "Latency distribution (pages)", &latency, "pages");
    o.push_str("</div>\n");

    o.push_str("<h2>Status codes</h2>\n");
    let codes = r.status_codes.iter().map(|c| vec![c.key.to_string(), c.pages.to_string()]).collect();
    table(&mut o, &["status", "pages"], codes, &[false, true]);
    o.push_str("<h2>Hosts</h2>\n");
    let hosts = r
        .hosts
        .iter()
        .map(|h| {
            vec![
                h.host.clone(),
                h.pages.to_string(),
                h.errors.to_string(),
                human_bytes(h.bytes),
                format!("{:.3}", h.mean_latency_ms),
            ]
        })
        .collect();
    table(&mut o, &["host", "pages", "errors", "bytes", "mean latency (ms)"], hosts, &[false, true, true, true, true]);
    if !r.errors.is_empty() {
        o.push_str("<h2>Errors</h2>\n");
        let errors = r.errors.iter().map(|e| vec![e.key.clone(), e.pages.to_string()]).collect();
        table(&mut o, &["kind", "pages"], errors, &[false, true]);
    }
    o.push_str("<h2>Largest pages</h2>\n");
    let largest = r
        .largest
        .iter()
        .map(|p| vec![p.url.clone(), p.bytes.to_string(), p.status.map(|s| s.to_string()).unwrap_or_default()])
        .collect();
    table(&mut o, &["URL", "bytes", "status"], largest, &[false, true, true]);
    o.push_str("<h2>Slowest pages</h2>\n");
    let slowest = r
        .slowest
        .iter()
        .map(|p| {
            vec![p.url.clone(), format!("{:.3}", p.elapsed_ms), p.status.map(|s| s.to_string()).unwrap_or_default()]
        })
        .collect();
    table(&mut o, &["URL", "ms", "status"], slowest, &[false, true, true]);
    if r.failed_total > 0 {
        let _ = writeln!(o, "<h2>Failed pages ({}; the first {})</h2>", r.failed_total, r.failed.len());
        let failed = r
            .failed
            .iter()
            .map(|f| {
                vec![
                    f.url.clone(),
                    f.status.map(|s| s.to_string()).unwrap_or_default(),
                    f.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        table(&mut o, &["URL", "status", "error"], failed, &[false, true, false]);
    }
    o.push_str("</body></html>\n");
    o
}
