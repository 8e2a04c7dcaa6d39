//! A link farm for the frontier benchmark (`scripts/bench-frontier.sh`): a loopback server whose page
//! `/p/I` links to K pseudo-random pages out of N, generated on the fly. With N = 100 million nearly
//! every link is new, so a crawl's queue grows by about K URLs for every page fetched.
//!
//! ```text
//! cargo run --release -p crawld --example linkfarm -- PORT [N] [K]
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

fn mix(mut x: u64) -> u64 {
    // splitmix64: a cheap bijection that scatters consecutive inputs.
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn page(i: u64, n: u64, k: u64) -> String {
    let mut html = format!("<!doctype html><html><head><title>Page {i}</title></head><body><h1>Page {i}</h1><ul>\n");
    for j in 0..k {
        let target = mix(i.wrapping_mul(k).wrapping_add(j)) % n;
        html.push_str(&format!("<li><a href=\"/p/{target}\">page {target}</a></li>\n"));
    }
    html.push_str("</ul></body></html>\n");
    html
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize, default: u64| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (port, n, k) = (arg(0, 8700) as u16, arg(1, 100_000_000).max(1), arg(2, 40));
    let app = Router::new().route("/", get(move || async move { html(page(0, n, k)) })).route(
        "/p/{i}",
        get(move |Path(i): Path<u64>| async move {
            if i < n { html(page(i, n, k)).into_response() } else { StatusCode::NOT_FOUND.into_response() }
        }),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("linkfarm: http://{addr}/ ({n} pages, {k} links each)");
    axum::serve(listener, app).await
}

fn html(body: String) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body)
}
