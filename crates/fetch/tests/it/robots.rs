use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crawld_fetch::{FetchConfig, Fetcher, RobotsLoad, RobotsVerdict};

use crate::common::{closed_port, config, fetcher, serve, url};

const ROBOTS: &str = "\
# comments are fine
User-agent: *
Disallow: /private
Allow: /private/open$
Crawl-delay: 1

User-agent: otherbot
Disallow: /

User-agent: crawld
Disallow: /secret
Allow: /secret/public
Disallow: /*.pdf$
Disallow: /tmp/
Crawl-delay: 120
";

/// A server whose /robots.txt answers with `respond` and counts its hits.
async fn robots_server<F>(respond: F) -> (std::net::SocketAddr, Arc<AtomicUsize>)
where
    F: Fn() -> Response + Clone + Send + Sync + 'static,
{
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = Router::new().route(
        "/robots.txt",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let respond = respond.clone();
            async move { respond() }
        }),
    );
    (serve(app).await, hits)
}

fn text(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

async fn allowed(f: &Fetcher, addr: std::net::SocketAddr, path: &str) -> bool {
    f.robots(&url(addr, path)).await.is_allowed()
}

#[tokio::test]
async fn our_group_wins_and_longest_match_decides() {
    let (addr, hits) = robots_server(|| text(ROBOTS)).await;
    let f = fetcher();
    assert_eq!(f.agent_token(), "crawld");

    // Our own group applies, so the `*` group's /private rule does not.
    assert!(allowed(&f, addr, "/private").await);
    assert!(!allowed(&f, addr, "/secret").await);
    assert!(!allowed(&f, addr, "/secret/stuff").await);
    assert!(allowed(&f, addr, "/secret/public").await, "longer Allow beats shorter Disallow");
    assert!(allowed(&f, addr, "/secret/public/deeper?x=1").await);
    assert!(!allowed(&f, addr, "/docs/paper.pdf").await);
    assert!(allowed(&f, addr, "/docs/paper.pdf?download=1").await, "$ anchors at the end");
    assert!(allowed(&f, addr, "/docs/paper.pdfx").await);
    assert!(!allowed(&f, addr, "/tmp/file").await);
    assert!(allowed(&f, addr, "/tmpfile").await);
    assert!(allowed(&f, addr, "/").await);
    assert!(allowed(&f, addr, "/robots.txt").await);

    // Crawl-delay 120 is capped at max_crawl_delay (10 s).
    assert_eq!(f.robots(&url(addr, "/")).await, RobotsVerdict::Allowed { crawl_delay: Some(Duration::from_secs(10)) });
    assert_eq!(hits.load(Ordering::SeqCst), 1, "one fetch per origin");
    assert_eq!(f.robots_fetched(), 1);
    assert_eq!(f.robots_cached(), 1);
}

#[tokio::test]
async fn star_group_applies_to_unnamed_agents() {
    let (addr, _) = robots_server(|| text(ROBOTS)).await;
    let f = Fetcher::new(FetchConfig { user_agent: "Mozilla/5.0 (compatible; somebot)".into(), ..config() }).unwrap();
    assert_eq!(f.agent_token(), "Mozilla");
    assert!(!allowed(&f, addr, "/private").await);
    assert!(!allowed(&f, addr, "/private/x").await);
    assert!(allowed(&f, addr, "/private/open").await);
    assert!(!allowed(&f, addr, "/private/open/more").await, "Allow with $ covers only the exact path");
    assert!(allowed(&f, addr, "/secret").await);
    assert_eq!(f.robots(&url(addr, "/")).await, RobotsVerdict::Allowed { crawl_delay: Some(Duration::from_secs(1)) });

    let f = Fetcher::new(FetchConfig { user_agent: "OtherBot/2".into(), ..config() }).unwrap();
    assert!(!allowed(&f, addr, "/").await, "group names match case-insensitively");
}

#[tokio::test]
async fn missing_robots_allows_everything() {
    let (addr, hits) = robots_server(|| StatusCode::NOT_FOUND.into_response()).await;
    let f = fetcher();
    assert_eq!(f.robots(&url(addr, "/anything")).await, RobotsVerdict::Allowed { crawl_delay: None });
    assert_eq!(f.robots(&url(addr, "/else")).await, RobotsVerdict::Allowed { crawl_delay: None });
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    let (addr, _) = robots_server(|| StatusCode::FORBIDDEN.into_response()).await;
    assert!(allowed(&f, addr, "/x").await, "4xx other than 429 means no robots.txt");
}

fn unavailable(verdict: RobotsVerdict) -> String {
    match verdict {
        RobotsVerdict::Unavailable { reason } => reason,
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn server_errors_and_unreachable_make_robots_unavailable_and_are_asked_again() {
    let (addr, hits) = robots_server(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()).await;
    let f = fetcher();
    assert_eq!(unavailable(f.robots(&url(addr, "/")).await), "500");
    assert_eq!(unavailable(f.robots(&url(addr, "/page")).await), "500");
    assert!(allowed(&f, addr, "/robots.txt").await);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "an unavailable robots.txt is not cached: each of the 3 calls asks again"
    );

    let (addr, _) = robots_server(|| StatusCode::TOO_MANY_REQUESTS.into_response()).await;
    assert_eq!(unavailable(f.robots(&url(addr, "/")).await), "429");

    let addr = closed_port().await;
    let reason = unavailable(f.robots(&url(addr, "/")).await);
    assert!(reason.contains("connect"), "{reason}");
}

#[tokio::test]
async fn stalled_robots_is_unavailable() {
    let (addr, _) = robots_server(|| text("User-agent: *\nDisallow:\n")).await;
    let app = Router::new().route(
        "/robots.txt",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let slow = serve(app).await;
    let f = Fetcher::new(FetchConfig { timeout: Duration::from_millis(300), ..config() }).unwrap();
    assert!(unavailable(f.robots(&url(slow, "/")).await).contains("timed out"));
    assert!(allowed(&f, addr, "/").await);
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = Router::new().route(
        "/robots.txt",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                // Long enough that every caller arrives while the first fetch is in flight.
                tokio::time::sleep(Duration::from_millis(200)).await;
                "User-agent: *\nDisallow: /no\n"
            }
        }),
    );
    let addr = serve(app).await;
    let f = fetcher();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..32 {
        let f = f.clone();
        let path = if i % 2 == 0 { format!("/no/{i}") } else { format!("/yes/{i}") };
        let u = url(addr, &path);
        tasks.spawn(async move { (i, f.robots(&u).await) });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, verdict) = done.unwrap();
        assert_eq!(verdict.is_allowed(), i % 2 == 1, "caller {i}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert_eq!(f.robots_fetched(), 1);
    assert!(allowed(&f, addr, "/later").await);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn origins_are_scheme_host_and_port() {
    let (a, a_hits) = robots_server(|| text("User-agent: *\nDisallow: /\n")).await;
    let (b, b_hits) = robots_server(|| text("User-agent: *\nDisallow:\n")).await;
    let f = fetcher();
    assert!(!allowed(&f, a, "/x").await);
    assert!(allowed(&f, b, "/x").await);
    // Same origin however the URL is spelled.
    let spelled = url::Url::parse(&format!("HTTP://127.0.0.1:{}/other?q#f", a.port())).unwrap();
    assert!(!f.robots(&spelled).await.is_allowed());
    assert_eq!((a_hits.load(Ordering::SeqCst), b_hits.load(Ordering::SeqCst)), (1, 1));
    assert_eq!(f.robots_cached(), 2);
}

/// Regression: the robots.txt cache never let go of an origin, so a long crawl of many hosts held
/// every robots.txt it ever read. Now it keeps `robots_cache_size` origins, the least recently used
/// going first, and one that went is fetched again when needed.
#[tokio::test]
async fn the_robots_cache_is_bounded_and_refetches_an_evicted_origin() {
    let (a, a_hits) = robots_server(|| text("User-agent: *\nDisallow: /a\n")).await;
    let (b, b_hits) = robots_server(|| text("User-agent: *\nDisallow: /b\n")).await;
    let (c, c_hits) = robots_server(|| text("User-agent: *\nDisallow: /c\n")).await;
    let f = Fetcher::new(FetchConfig { robots_cache_size: 2, ..config() }).unwrap();
    let hits = || [&a_hits, &b_hits, &c_hits].map(|h| h.load(Ordering::SeqCst));

    assert!(!allowed(&f, a, "/a").await);
    assert!(!allowed(&f, b, "/b").await);
    // A was used after B: B is the least recently used when C comes in.
    assert!(allowed(&f, a, "/x").await);
    assert!(!allowed(&f, c, "/c").await);
    assert_eq!(f.robots_cached(), 2);
    assert_eq!(hits(), [1, 1, 1]);
    assert!(allowed(&f, a, "/y").await, "A stayed");
    assert_eq!(hits(), [1, 1, 1]);
    assert!(!allowed(&f, b, "/b").await, "B is fetched again, and obeyed");
    assert_eq!(hits(), [1, 2, 1]);
    assert_eq!(f.robots_cached(), 2);
    assert_eq!(f.robots_fetched(), 4);
}

#[tokio::test]
async fn robots_can_be_ignored() {
    let (addr, hits) = robots_server(|| text("User-agent: *\nDisallow: /\n")).await;
    let f = Fetcher::new(FetchConfig { respect_robots: false, ..config() }).unwrap();
    assert_eq!(f.robots(&url(addr, "/")).await, RobotsVerdict::Allowed { crawl_delay: None });
    let r = f.fetch(&url(addr, "/robots.txt")).await;
    assert_eq!(r.status, Some(200));
    assert_eq!(hits.load(Ordering::SeqCst), 1, "only our explicit fetch reached the server");
    assert_eq!(f.robots_fetched(), 0);
}

#[tokio::test]
async fn redirects_are_followed_up_to_five_hops() {
    let app = Router::new()
        .route(
            "/robots.txt",
            get(|| async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/moved/robots.txt")], "") }),
        )
        .route("/moved/robots.txt", get(|| async { "User-agent: *\nDisallow: /hidden\n" }));
    let addr = serve(app).await;
    let f = fetcher();
    assert!(!allowed(&f, addr, "/hidden/x").await);
    assert!(allowed(&f, addr, "/shown").await);
    assert_eq!(f.robots_fetched(), 2);

    let loops = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&loops);
    let app = Router::new().route(
        "/{*path}",
        get(move |axum::extract::Path(path): axum::extract::Path<String>| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { (StatusCode::FOUND, [(header::LOCATION, format!("/{path}/again"))], "") }
        }),
    );
    let addr = serve(app).await;
    let f = fetcher();
    assert!(allowed(&f, addr, "/x").await, "an endless redirect chain counts as no robots.txt");
    assert_eq!(loops.load(Ordering::SeqCst), 6, "the first request plus five redirects");
}

/// Regression (defect 4): a robots.txt redirect was followed to any host, unpaced. Now only redirects
/// within the site are followed, each after the host's delay; one to another server (another port of
/// the same address here) is not requested, and robots.txt counts as missing.
#[tokio::test]
async fn robots_redirects_stay_on_the_site_and_are_paced() {
    let (elsewhere, elsewhere_hits) = robots_server(|| text("User-agent: *\nDisallow: /\n")).await;
    let target = format!("http://127.0.0.1:{}/robots.txt", elsewhere.port());
    let app = Router::new().route(
        "/robots.txt",
        get(move || {
            let target = target.clone();
            async move { (StatusCode::FOUND, [(header::LOCATION, target)], "") }
        }),
    );
    let addr = serve(app).await;
    let f = fetcher();
    assert!(allowed(&f, addr, "/x").await, "a redirect off the site counts as no robots.txt");
    assert_eq!(elsewhere_hits.load(Ordering::SeqCst), 0, "the other server saw nothing");
    assert_eq!(f.robots_fetched(), 1);

    let times = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (t1, t2) = (Arc::clone(&times), Arc::clone(&times));
    let app = Router::new()
        .route(
            "/robots.txt",
            get(move || {
                t1.lock().unwrap().push(std::time::Instant::now());
                async { (StatusCode::MOVED_PERMANENTLY, [(header::LOCATION, "/a/robots.txt")], "") }
            }),
        )
        .route(
            "/a/robots.txt",
            get(move || {
                t2.lock().unwrap().push(std::time::Instant::now());
                async { "User-agent: *\nDisallow: /hidden\n" }
            }),
        );
    let addr = serve(app).await;
    let delay = Duration::from_millis(300);
    let f = Fetcher::new(FetchConfig { robots_redirect_delay: delay, ..config() }).unwrap();
    assert!(!allowed(&f, addr, "/hidden/x").await, "a redirect within the site is followed");
    let times = times.lock().unwrap().clone();
    assert_eq!(times.len(), 2);
    assert!(times[1] - times[0] >= delay, "the hop waited the host's delay: {:?}", times[1] - times[0]);
}

#[tokio::test]
async fn garbage_robots_does_not_hurt() {
    let (addr, _) = robots_server(|| {
        let mut junk: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
        junk.extend_from_slice(b"\nUser-agent: crawld\nDisallow: /*$*$**\nCrawl-delay: NaN\n");
        ([(header::CONTENT_TYPE, "text/plain")], junk).into_response()
    })
    .await;
    let f = fetcher();
    let _ = f.robots(&url(addr, "/any/path")).await;
    let _ = f.robots(&url(addr, "/")).await;

    // Over the 512 KiB read limit: the tail is never read, and nothing breaks.
    let (addr, _) = robots_server(|| {
        let mut big = "User-agent: *\nDisallow: /early\n".to_owned();
        big.push_str(&"# filler line\n".repeat(100_000));
        big.push_str("Disallow: /late\n");
        ([(header::CONTENT_TYPE, "text/plain")], big).into_response()
    })
    .await;
    assert!(!allowed(&f, addr, "/early").await);
    assert!(allowed(&f, addr, "/late").await, "rules past 512 KiB are ignored");

    // gzip-encoded robots.txt is decoded like any body.
    let (addr, _) = robots_server(|| {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"User-agent: *\nDisallow: /zipped\n").unwrap();
        ([(header::CONTENT_ENCODING, "gzip")], enc.finish().unwrap()).into_response()
    })
    .await;
    assert!(!allowed(&f, addr, "/zipped").await);
}

#[tokio::test]
async fn robots_responses_are_handed_out_once_for_the_archive() {
    let (addr, hits) = robots_server(|| text("User-agent: *\nDisallow: /private\n")).await;
    let f = fetcher();
    let found = f.robots_lookup(&url(addr, "/private/x"), RobotsLoad::IfMissing).await.unwrap();
    assert_eq!(found.verdict, RobotsVerdict::Disallowed { crawl_delay: None });
    assert!(found.requested());
    assert_eq!(found.responses.len(), 1);
    let exchange = found.responses[0].exchange.as_ref().unwrap();
    assert!(exchange.request_head.starts_with(b"GET /robots.txt HTTP/1.1\r\n"));
    assert_eq!(&exchange.raw_body[..], b"User-agent: *\nDisallow: /private\n");
    // Later callers share the cached verdict, not the responses.
    let again = f.robots_lookup(&url(addr, "/"), RobotsLoad::IfMissing).await.unwrap();
    assert!(again.responses.is_empty() && !again.requested());
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_cache_of_one_origin_alternates() {
    let (a, a_hits) = robots_server(|| text("User-agent: *\nDisallow: /a\n")).await;
    let (b, b_hits) = robots_server(|| text("User-agent: *\nDisallow: /b\n")).await;
    let f = Fetcher::new(FetchConfig { robots_cache_size: 1, ..config() }).unwrap();
    assert!(allowed(&f, a, "/x").await);
    assert!(allowed(&f, a, "/y").await);
    assert!(allowed(&f, b, "/x").await);
    assert!(allowed(&f, a, "/x").await);
    assert_eq!((a_hits.load(Ordering::SeqCst), b_hits.load(Ordering::SeqCst)), (2, 1));
}

/// A lookup that may not load answers from the cache only, and says how long its copy stays fresh;
/// once the copy expires (`robots_ttl`) it finds nothing, and only a lookup that may load reads it again.
#[tokio::test]
async fn a_lookup_that_may_not_load_answers_from_the_cache_only() {
    let (addr, hits) = robots_server(|| text("User-agent: *\nDisallow: /a\n")).await;
    let ttl = Duration::from_millis(300);
    let f = Fetcher::new(FetchConfig { robots_ttl: ttl, ..config() }).unwrap();
    assert!(f.robots_lookup(&url(addr, "/a"), RobotsLoad::Never).await.is_none());
    assert_eq!(hits.load(Ordering::SeqCst), 0);
    let loaded = f.robots_lookup(&url(addr, "/a"), RobotsLoad::IfMissing).await.unwrap();
    assert!(loaded.fresh_for <= ttl && loaded.fresh_for > ttl / 2, "{:?}", loaded.fresh_for);
    let cached = f.robots_lookup(&url(addr, "/a"), RobotsLoad::Never).await.unwrap();
    assert_eq!(cached.verdict, RobotsVerdict::Disallowed { crawl_delay: None });
    tokio::time::sleep(ttl).await;
    assert!(f.robots_lookup(&url(addr, "/a"), RobotsLoad::Never).await.is_none(), "expired");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    assert!(f.robots_lookup(&url(addr, "/a"), RobotsLoad::IfMissing).await.unwrap().requested());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(Fetcher::new(FetchConfig { robots_ttl: Duration::ZERO, ..config() }).is_err());
}

/// Issue 6: the cache was bounded by origins only, and a parsed robots.txt can be large: 10,000 origins
/// of them could take gigabytes. Now it also keeps about `robots_cache_bytes`, each origin counted by
/// what the parser keeps (here a rule with `$`, compiled to a regex).
#[tokio::test]
async fn the_robots_cache_is_bounded_by_bytes_too() {
    let anchored = || text("User-agent: *\nDisallow: /*.pdf$\n");
    let (a, a_hits) = robots_server(anchored).await;
    let (b, _) = robots_server(anchored).await;
    let (c, _) = robots_server(anchored).await;
    let f = Fetcher::new(FetchConfig { robots_cache_bytes: 40 * 1024, ..config() }).unwrap();
    assert!(!allowed(&f, a, "/x.pdf").await);
    let one = f.robots_cached_bytes();
    assert!(one > 24 * 1024 && one < 40 * 1024, "{one} bytes for a rule compiled to a regex");
    assert!(!allowed(&f, b, "/x.pdf").await);
    assert!(!allowed(&f, c, "/x.pdf").await);
    assert_eq!(f.robots_cached(), 1, "room for one of them only");
    assert!(f.robots_cached_bytes() <= 40 * 1024);
    assert!(!allowed(&f, a, "/x.pdf").await, "A was let go, and is read again");
    assert_eq!(a_hits.load(Ordering::SeqCst), 2);
    // Groups for other crawlers are dropped by the parser, and cost nothing.
    let (d, _) = robots_server(|| text("User-agent: otherbot\nDisallow: /*.pdf$\nDisallow: /*.doc$\n")).await;
    let before = f.robots_cached_bytes();
    assert!(allowed(&f, d, "/x.pdf").await);
    assert_eq!(f.robots_cached(), 2);
    assert!(f.robots_cached_bytes() - before < 1024, "{} bytes", f.robots_cached_bytes() - before);
}
