//! Safe by default: a fetcher left at its defaults refuses non-public addresses, whatever leads there.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use crawld_fetch::{FetchConfig, FetchFailure, Fetcher, Retry, RobotsVerdict};
use url::Url;

use crate::common::{config, serve};

/// A loopback server that counts the requests it gets (robots.txt included) and redirects `/away`
/// to the address given.
async fn counting_site(redirect_to: &'static str) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new()
        .route("/away", get(move || async move { (axum::http::StatusCode::FOUND, [("location", redirect_to)]) }))
        .fallback(get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { "<a href=/x>x</a>" }
        }));
    (serve(app).await, hits)
}

fn safe_fetcher() -> Fetcher {
    Fetcher::new(FetchConfig { allow_private_networks: false, ..config() }).unwrap()
}

#[tokio::test]
async fn the_default_refuses_loopback_by_ip_and_by_name_and_sends_nothing() {
    assert!(!FetchConfig::default().allow_private_networks, "safe by default");
    let (addr, hits) = counting_site("/").await;
    let f = safe_fetcher();
    let port = addr.port();
    for (target, says) in [
        (format!("http://127.0.0.1:{port}/"), "127.0.0.1 is a loopback address"),
        // Another spelling of the same address.
        (format!("http://2130706433:{port}/"), "127.0.0.1 is a loopback address"),
        (format!("http://[::ffff:127.0.0.1]:{port}/"), "[::ffff:7f00:1] is a loopback address"),
        // A name goes through the resolver, which drops every loopback address it gives.
        (format!("http://localhost:{port}/"), "localhost resolves only to non-public addresses"),
    ] {
        let resp = f.fetch(&Url::parse(&target).unwrap()).await;
        let Some(FetchFailure::Refused(why)) = &resp.failure else { panic!("{target}: {:?}", resp.failure) };
        assert!(why.starts_with(says), "{target}: {why}");
        let text = resp.failure.as_ref().unwrap().to_string();
        assert!(text.contains("fetch.allow_private_networks = true"), "{text}");
        assert_eq!(resp.status, None);
        assert!(resp.exchange.is_none());
        assert_eq!(resp.retry(), Retry::No, "a refusal is not worth another attempt");
    }
    // robots.txt is not fetched either, and the pages' own refusal says why.
    let verdict = f.robots(&Url::parse(&format!("http://localhost:{port}/")).unwrap()).await;
    assert_eq!(verdict, RobotsVerdict::Allowed { crawl_delay: None });
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the server saw nothing");

    // Allowed explicitly, the same fetches go through.
    let open = Fetcher::new(config()).unwrap();
    let resp = open.fetch(&Url::parse(&format!("http://localhost:{port}/")).unwrap()).await;
    assert_eq!(resp.status, Some(200), "{:?}", resp.failure);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused_at_its_hop() {
    // A fetcher that allows loopback follows nothing itself: a redirect's target is a fetch of its
    // own, checked again. Here the first hop is made with private networks allowed (it stands for a
    // public host) and the target, link-local, is refused without a request.
    let (addr, _hits) = counting_site("http://169.254.169.254/latest/meta-data/").await;
    let open = Fetcher::new(config()).unwrap();
    let resp = open.fetch(&Url::parse(&format!("http://{addr}/away")).unwrap()).await;
    assert_eq!(resp.status, Some(302));
    let target = resp.location.unwrap();
    let resp = safe_fetcher().fetch(&target).await;
    assert!(
        matches!(&resp.failure, Some(FetchFailure::Refused(why)) if why == "169.254.169.254 is a link-local address"),
        "{:?}",
        resp.failure
    );
}
