//! `crawld demo`: a generated site served on 127.0.0.1, so that crawld can be tried with no internet.
//!
//! The site has the things a crawl meets in the wild: several depths, a robots.txt that disallows a
//! folder, a permanent redirect, a redirect loop, a missing page, and a file that is not HTML.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, HttpUrl};

/// The demo site, running until [`DemoSite::stop`].
#[derive(Debug)]
pub struct DemoSite {
    addr: SocketAddr,
    stop: CancellationToken,
    server: JoinHandle<()>,
}

impl DemoSite {
    /// Serve `pages` generated pages on 127.0.0.1 (a free port).
    pub async fn start(pages: usize) -> std::io::Result<DemoSite> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let pages = pages.max(1);
        let app = Router::new().fallback(move |uri: Uri| async move { respond(uri.path(), pages) });
        let shutdown = stop.clone().cancelled_owned();
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::warn!(error = %e, "demo site stopped");
            }
        });
        Ok(DemoSite { addr, stop, server })
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.server.await;
    }
}

/// The config `crawld demo` uses: the demo site as the only seed, gentle but quick on loopback.
pub fn config(site: &DemoSite, out: PathBuf) -> Config {
    let mut config = Config::default();
    if let Ok(seed) = HttpUrl::parse(&site.url()) {
        config.seeds = vec![seed];
    }
    config.out = out;
    // The demo site is on loopback, which a crawl refuses by default.
    config.fetch.allow_private_networks = true;
    config.politeness.per_host_concurrency = std::num::NonZeroUsize::new(4).unwrap_or(std::num::NonZeroUsize::MIN);
    config.politeness.delay = Duration::from_millis(2);
    config.output.progress_interval = Duration::from_secs(2);
    config.crawl.retry_backoff = Duration::from_millis(100);
    config
}

/// `YYYYmmdd-HHMMSS` in UTC, for default output directory names.
pub fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

fn respond(path: &str, pages: usize) -> Response {
    match path {
        "/" => html(page_body("Home", &home_links(pages))),
        "/robots.txt" => {
            ([(header::CONTENT_TYPE, "text/plain")], "User-agent: *\nDisallow: /private/\n").into_response()
        }
        "/data.csv" => ([(header::CONTENT_TYPE, "text/csv")], "id,name\n1,alpha\n2,beta\n").into_response(),
        "/loop/a" => redirect(StatusCode::FOUND, "/loop/b"),
        "/loop/b" => redirect(StatusCode::FOUND, "/loop/a"),
        "/private/secret" => html(page_body("Private", &[])),
        _ => {
            if let Some(n) = path.strip_prefix("/old/").and_then(|n| n.parse::<usize>().ok()) {
                return redirect(StatusCode::MOVED_PERMANENTLY, &format!("/page/{n}"));
            }
            match path.strip_prefix("/page/").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if (1..=pages).contains(&n) => html(page_body(&format!("Page {n}"), &page_links(n, pages))),
                _ => (StatusCode::NOT_FOUND, "not found").into_response(),
            }
        }
    }
}

fn home_links(pages: usize) -> Vec<String> {
    let mut links: Vec<String> = (1..=pages.min(4)).map(|n| format!("/page/{n}")).collect();
    links.extend(
        ["/old/5", "/missing", "/private/secret", "/data.csv", "/loop/a", "mailto:webmaster@example.invalid"]
            .map(str::to_owned),
    );
    links
}

/// Page n has four children (a 4-ary tree), a cross-link that is sometimes a shortcut, and a link home.
fn page_links(n: usize, pages: usize) -> Vec<String> {
    let mut links: Vec<String> =
        (4 * n + 1..=4 * n + 4).filter(|&c| c <= pages).map(|c| format!("/page/{c}")).collect();
    links.push(format!("/page/{}", (n * 7 + 3) % pages + 1));
    links.push("/".to_owned());
    links
}

fn page_body(title: &str, links: &[String]) -> String {
    let items: String = links.iter().map(|l| format!("<li><a href=\"{l}\">{l}</a></li>\n")).collect();
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><h1>{title}</h1>\n<p>A page of the crawld demo site.</p>\n<ul>\n{items}</ul></body></html>\n"
    )
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

fn redirect(status: StatusCode, to: &str) -> Response {
    (status, [(header::LOCATION, to.to_owned())], "").into_response()
}
