//! A test site on loopback: routes set by the test, and a log of every request it served.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use bytes::Bytes;
use futures_util::StreamExt;

/// What the site answers for one path.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Content,
    /// Time the handler waits before answering (the request counts as in flight meanwhile).
    pub delay: Duration,
}

#[derive(Debug, Clone)]
pub enum Content {
    Bytes(Bytes),
    /// A body of this many bytes, streamed in 64 KiB chunks.
    Stream(usize),
    /// No answer at all: the connection is dropped once the request has been read.
    Drop,
    /// The head and these bytes, then nothing more: the body never ends.
    Stall(Bytes),
    /// The head and these bytes, then the connection breaks (the chunked body is never finished).
    Cut(Bytes),
}

impl Page {
    pub fn html(body: impl Into<String>) -> Page {
        Page::typed("text/html; charset=utf-8", body.into().into_bytes())
    }

    /// An HTML page whose body is just these links.
    pub fn links(links: &[&str]) -> Page {
        let items: String = links.iter().map(|l| format!("<a href=\"{l}\">{l}</a>\n")).collect();
        Page::html(format!("<!doctype html><html><body>\n{items}</body></html>"))
    }

    pub fn typed(content_type: &str, body: impl Into<Bytes>) -> Page {
        Page {
            status: 200,
            headers: vec![("content-type".into(), content_type.into())],
            body: Content::Bytes(body.into()),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16) -> Page {
        Page { status, ..Page::typed("text/plain", "status page") }
    }

    pub fn redirect(status: u16, to: &str) -> Page {
        Page::status(status).header("location", to)
    }

    /// A path whose connection is closed before any response head is sent.
    pub fn drop_connection() -> Page {
        Page { body: Content::Drop, ..Page::status(200) }
    }

    pub fn header(mut self, name: &str, value: &str) -> Page {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Page {
        self.delay = delay;
        self
    }
}

/// Time from the end of each request to the start of the next, with the path of the next.
pub fn gaps(hits: &[Hit]) -> Vec<(Duration, &str)> {
    hits.windows(2).map(|w| (w[1].started.duration_since(w[0].finished), w[1].path.as_str())).collect()
}

/// One request the site served.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub user_agent: String,
    pub started: Instant,
    pub finished: Instant,
}

/// Makes the page of a path (with its query).
type Generator = Arc<dyn Fn(&str) -> Page + Send + Sync>;

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Page>>,
    /// Pages served for every path under a prefix that has no route of its own.
    prefixes: Mutex<Vec<(String, Page)>>,
    /// Answers given in turn; the last one repeats.
    sequences: Mutex<HashMap<String, std::collections::VecDeque<Page>>>,
    /// Pages made for each path (and query) under a prefix: sites without end.
    generated: Mutex<Vec<(String, Generator)>>,
    hits: Mutex<Vec<Hit>>,
    /// Paths whose request has reached the handler, in order (a hit is logged only when answered).
    started: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("routes", &self.routes).finish_non_exhaustive()
    }
}

/// A running test site. Stops when dropped.
#[derive(Debug)]
pub struct Site {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Site {
    /// Serve `routes` on `ip` (any 127.0.0.x), on a free port. Unknown paths answer 404.
    pub async fn start(ip: &str, routes: impl IntoIterator<Item = (&'static str, Page)>) -> Site {
        let ip: IpAddr = ip.parse().unwrap();
        Site::start_at(SocketAddr::new(ip, 0), routes).await
    }

    /// Serve `routes` on this very address: a site that comes up where nothing listened before.
    pub async fn start_at(addr: SocketAddr, routes: impl IntoIterator<Item = (&'static str, Page)>) -> Site {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        shared.routes.lock().unwrap().extend(routes.into_iter().map(|(p, page)| (p.to_owned(), page)));
        let app = Router::new().fallback(serve).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Site { addr, shared, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn route(&self, path: &str, page: Page) {
        self.shared.routes.lock().unwrap().insert(path.to_owned(), page);
    }

    /// Answer every path that starts with `prefix` (and has no route of its own) with `page`: a site of
    /// any size for the cost of one route.
    pub fn route_prefix(&self, prefix: &str, page: Page) {
        self.shared.prefixes.lock().unwrap().push((prefix.to_owned(), page));
    }

    /// Answer every path (and query) under `prefix` with the page `make` makes of it.
    pub fn route_generated(&self, prefix: &str, make: impl Fn(&str) -> Page + Send + Sync + 'static) {
        self.shared.generated.lock().unwrap().push((prefix.to_owned(), Arc::new(make)));
    }

    /// Answer `path` with each of `pages` in turn, then keep giving the last one.
    pub fn route_sequence(&self, path: &str, pages: Vec<Page>) {
        self.shared.sequences.lock().unwrap().insert(path.to_owned(), pages.into());
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().unwrap().clone()
    }

    pub fn paths(&self) -> Vec<String> {
        self.hits().into_iter().map(|h| h.path).collect()
    }

    pub fn count(&self, path: &str) -> usize {
        self.hits().iter().filter(|h| h.path == path).count()
    }

    /// Whether a request for `path` has reached the site (answered or not).
    pub fn started(&self, path: &str) -> bool {
        self.shared.started.lock().unwrap().iter().any(|p| p == path)
    }

    /// Most requests this site ever had in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

async fn serve(State(shared): State<Arc<Shared>>, uri: Uri, headers: axum::http::HeaderMap) -> Response {
    let started = Instant::now();
    let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let path = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str()).to_owned();
    shared.started.lock().unwrap().push(path.clone());
    let next_in_sequence = shared
        .sequences
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(|pages| if pages.len() > 1 { pages.pop_front() } else { pages.front().cloned() });
    let page = next_in_sequence.or_else(|| shared.routes.lock().unwrap().get(&path).cloned()).or_else(|| {
        shared.prefixes.lock().unwrap().iter().find(|(p, _)| path.starts_with(p)).map(|(_, page)| page.clone())
    });
    let page = page.or_else(|| {
        let generated = shared.generated.lock().unwrap();
        generated.iter().find(|(p, _)| path.starts_with(p)).map(|(_, make)| make(&path))
    });
    let page = page.unwrap_or_else(|| Page::status(404));
    if !page.delay.is_zero() {
        tokio::time::sleep(page.delay).await;
    }
    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
    if matches!(page.body, Content::Drop) {
        // Unwinding out of the handler ends hyper's connection task, which drops the socket unanswered.
        // resume_unwind skips the panic hook, so nothing is printed.
        std::panic::resume_unwind(Box::new("connection dropped on purpose"));
    }
    let user_agent = headers.get("user-agent").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    shared.hits.lock().unwrap().push(Hit { path, user_agent, started, finished: Instant::now() });

    let body = match page.body {
        Content::Bytes(bytes) => Body::from(bytes),
        Content::Drop => Body::empty(),
        Content::Stall(first) => Body::from_stream(
            futures_util::stream::once(async move { Ok::<_, std::io::Error>(first) })
                .chain(futures_util::stream::pending()),
        ),
        // The break comes a moment later, once the head and the first bytes are out.
        Content::Cut(first) => {
            Body::from_stream(futures_util::stream::iter([Ok(first)]).chain(futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(std::io::Error::other("connection cut on purpose"))
            })))
        }
        Content::Stream(size) => {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let chunks = size.div_ceil(chunk.len());
            Body::from_stream(futures_util::stream::iter(
                (0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            ))
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(page.status).unwrap();
    for (name, value) in page.headers {
        response.headers_mut().append(HeaderName::try_from(name).unwrap(), HeaderValue::try_from(value).unwrap());
    }
    response
}
