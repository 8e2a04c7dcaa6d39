//! The admin HTTP API (`[admin]` in the config): a running crawl's status and metrics, pause/resume/stop,
//! and seeds added on the fly. Every request goes to the scheduler loop through [`Control`].
//!
//! | request          | answer |
//! |------------------|--------|
//! | `GET /status`    | [`crate::control::Status`] as JSON (`{"state":"stopping"}` while it stops) |
//! | `GET /metrics`   | Prometheus / OpenMetrics text |
//! | `POST /pause`    | `{"state":"paused"}`: nothing new is leased, fetches under way finish |
//! | `POST /resume`   | `{"state":"running"}` |
//! | `POST /stop`     | `{"state":"stopping"}`: the graceful stop of SIGTERM |
//! | `POST /seeds`    | body `{"urls":[...]}`; answers `{"seeds":[{"url","added","reason"}]}` |
//!
//! Errors are `{"error": "..."}` with a fitting status; with a token set, a request without
//! `Authorization: Bearer TOKEN` gets 401.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::{AdminSection, HttpUrl};
use crate::control::{Control, RunState, Unavailable};
use crate::metrics;

/// URLs one `POST /seeds` may carry.
const MAX_SEEDS_PER_REQUEST: usize = 10_000;
/// Bytes of a request body read at most.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug)]
struct Api {
    control: Control,
    token: Option<String>,
}

/// A running admin API; [`AdminServer::shut_down`] ends it.
#[derive(Debug)]
pub struct AdminServer {
    pub addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

impl AdminServer {
    /// Bind and serve. Binding fails before the crawl starts, so a taken port stops start-up.
    pub async fn start(section: &AdminSection, control: Control) -> anyhow::Result<Option<AdminServer>> {
        let Some(port) = section.port else { return Ok(None) };
        let want = SocketAddr::new(section.address, port);
        let listener = tokio::net::TcpListener::bind(want)
            .await
            .with_context(|| format!("cannot bind the admin API to {want}"))?;
        let addr = listener.local_addr().context("cannot read the admin API's address")?;
        let api = Arc::new(Api { control, token: section.token.clone() });
        let stop = CancellationToken::new();
        let app = router(api);
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(stopped.cancelled_owned());
            if let Err(e) = serve.await {
                warn!(error = %e, "the admin API stopped");
            }
        });
        info!(addr = %addr, url = format!("http://{addr}/status"), token = section.token.is_some(), "admin API listening");
        Ok(Some(AdminServer { addr, stop, task }))
    }

    pub async fn shut_down(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/pause", post(pause))
        .route("/resume", post(resume))
        .route("/stop", post(stop))
        .route("/seeds", post(seeds))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint: see README.md, \"Admin API\"") })
        .method_not_allowed_fallback(|| async {
            error(StatusCode::METHOD_NOT_ALLOWED, "wrong method: GET /status and /metrics, POST the others")
        })
        .with_state(api)
}

/// A JSON answer.
fn reply(status: StatusCode, value: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], format!("{value}\n")).into_response()
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    reply(status, json!({ "error": message.to_string() }))
}

fn unavailable(why: Unavailable) -> Response {
    let state = match why {
        Unavailable::Stopping => "stopping",
        Unavailable::Ended => "ended",
    };
    reply(StatusCode::SERVICE_UNAVAILABLE, json!({ "error": why.to_string(), "state": state }))
}

/// The 401 answer when the request does not carry the token.
fn refuse(api: &Api, headers: &HeaderMap) -> Option<Response> {
    let token = api.token.as_ref()?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(given) if same(given.as_bytes(), token.as_bytes()) => None,
        Some(_) => Some(error(StatusCode::UNAUTHORIZED, "wrong token")),
        None => Some(error(StatusCode::UNAUTHORIZED, "missing token: send Authorization: Bearer TOKEN")),
    }
}

/// Equality that takes as long wherever the first difference is.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn status(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    if let Some(denied) = refuse(&api, &headers) {
        return denied;
    }
    match api.control.status().await {
        Ok(status) => reply(StatusCode::OK, serde_json::to_value(status).unwrap_or_default()),
        Err(Unavailable::Stopping) => reply(StatusCode::OK, json!({ "state": RunState::Stopping })),
        Err(why) => unavailable(why),
    }
}

async fn metrics(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    if let Some(denied) = refuse(&api, &headers) {
        return denied;
    }
    match api.control.status().await {
        Ok(status) => {
            let text = api.control.metrics().render(&status);
            ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
        }
        Err(why) => unavailable(why),
    }
}

async fn pause(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    if let Some(denied) = refuse(&api, &headers) {
        return denied;
    }
    match api.control.pause().await {
        Ok(state) => reply(StatusCode::OK, json!({ "state": state })),
        Err(why) => unavailable(why),
    }
}

async fn resume(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    if let Some(denied) = refuse(&api, &headers) {
        return denied;
    }
    match api.control.resume().await {
        Ok(state) => reply(StatusCode::OK, json!({ "state": state })),
        Err(why) => unavailable(why),
    }
}

async fn stop(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    if let Some(denied) = refuse(&api, &headers) {
        return denied;
    }
    if !api.control.is_stopping() {
        warn!("stop requested through the admin API: finishing in-flight fetches and flushing output");
    }
    api.control.stop();
    reply(StatusCode::ACCEPTED, json!({ "state": RunState::Stopping }))
}

async fn seeds(State(api): State<Arc<Api>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(denied) = refuse(&api, &headers) {
        return denied;
    }
    if body.len() > MAX_BODY_BYTES {
        return error(StatusCode::PAYLOAD_TOO_LARGE, format!("the body is over {MAX_BODY_BYTES} bytes"));
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Seeds {
        urls: Vec<String>,
    }
    let urls = match serde_json::from_slice::<Seeds>(&body) {
        Ok(seeds) => seeds.urls,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("expected {{\"urls\": [\"http://...\"]}}: {e}")),
    };
    if urls.is_empty() {
        return error(StatusCode::BAD_REQUEST, "no URLs given");
    }
    if urls.len() > MAX_SEEDS_PER_REQUEST {
        return error(StatusCode::PAYLOAD_TOO_LARGE, format!("at most {MAX_SEEDS_PER_REQUEST} URLs per request"));
    }
    let mut parsed = Vec::new();
    for url in &urls {
        match HttpUrl::parse(url) {
            Ok(url) => parsed.push(url.0),
            Err(e) => return error(StatusCode::BAD_REQUEST, e),
        }
    }
    match api.control.add_seeds(parsed).await {
        Ok(answers) => reply(StatusCode::OK, json!({ "seeds": answers })),
        Err(why) => unavailable(why),
    }
}
