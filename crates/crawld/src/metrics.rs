//! `GET /metrics`: the crawl's counters in the Prometheus (OpenMetrics) text format.
//!
//! Counters and gauges are set from a [`Status`] snapshot at each scrape, so that they say exactly what
//! stats.json says; only the two histograms are fed as pages finish.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::control::{RunState, Status};

type Labels = Vec<(&'static str, &'static str)>;

/// The registry and a handle on each metric in it.
#[derive(Debug)]
pub struct Metrics {
    /// Behind a lock: a scrape brings the counters up to the snapshot, then encodes, as one step.
    registry: Mutex<Registry>,
    pages: Family<Labels, Counter>,
    errors: Family<Labels, Counter>,
    bytes: Counter,
    retries: Counter,
    robots_blocked: Counter,
    queued: Gauge,
    in_flight: Gauge,
    hosts: Gauge,
    concurrency: Gauge,
    paused: Gauge,
    fetch_duration: Histogram,
    page_size: Histogram,
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut root = Registry::with_prefix("crawld");
        let m = Metrics {
            registry: Mutex::new(Registry::default()),
            pages: Family::default(),
            errors: Family::default(),
            bytes: Counter::default(),
            retries: Counter::default(),
            robots_blocked: Counter::default(),
            queued: Gauge::default(),
            in_flight: Gauge::default(),
            hosts: Gauge::default(),
            concurrency: Gauge::default(),
            paused: Gauge::default(),
            // 10 ms to about 82 s.
            fetch_duration: Histogram::new(exponential_buckets(0.01, 2.0, 14)),
            // 1 KiB to 64 MiB.
            page_size: Histogram::new(exponential_buckets(1024.0, 4.0, 9)),
        };
        let r = &mut root;
        r.register("pages", "Pages answered, by status class (2xx, 3xx, 4xx, 5xx, other)", m.pages.clone());
        r.register("errors", "Pages that ended without an answer or were not requested, by kind", m.errors.clone());
        r.register_with_unit("received", "Body bytes received on the wire", Unit::Bytes, m.bytes.clone());
        r.register("retries", "Attempts after the first, of any URL", m.retries.clone());
        r.register("robots_blocked", "URLs not requested because robots.txt disallows them", m.robots_blocked.clone());
        r.register("queued_urls", "URLs waiting in the frontier", m.queued.clone());
        r.register("in_flight_fetches", "Fetches under way", m.in_flight.clone());
        r.register("hosts", "Hosts met so far", m.hosts.clone());
        r.register("concurrency", "Fetches allowed in flight (crawl.concurrency in force)", m.concurrency.clone());
        r.register("paused", "1 while the crawl is paused", m.paused.clone());
        r.register_with_unit(
            "fetch_duration",
            "Time from the start of a request to the end of its body",
            Unit::Seconds,
            m.fetch_duration.clone(),
        );
        r.register_with_unit("page_size", "Body bytes received per page", Unit::Bytes, m.page_size.clone());
        *m.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = root;
        m
    }

    /// A page got an answer (of any status).
    pub fn observe_fetch(&self, elapsed: Duration, bytes: u64) {
        self.fetch_duration.observe(elapsed.as_secs_f64());
        self.page_size.observe(bytes as f64);
    }

    /// The exposition text, with counters and gauges as of `status`.
    pub fn render(&self, status: &Status) -> String {
        let registry = self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let s = &status.stats;
        for (class, n) in [
            ("2xx", s.status_2xx),
            ("3xx", s.status_3xx),
            ("4xx", s.status_4xx),
            ("5xx", s.status_5xx),
            ("other", s.status_other),
        ] {
            catch_up(&self.pages.get_or_create(&vec![("class", class)]), n);
        }
        for (kind, n) in [
            ("no_response", s.no_response),
            ("robots_unavailable", s.robots_unavailable),
            ("host_down_skipped", s.host_down_skipped),
            ("internal_errors", s.internal_errors),
            ("abandoned", s.abandoned),
        ] {
            catch_up(&self.errors.get_or_create(&vec![("kind", kind)]), n);
        }
        catch_up(&self.bytes, s.bytes);
        catch_up(&self.retries, s.retries);
        catch_up(&self.robots_blocked, s.robots_blocked);
        self.queued.set(gauge(status.queued));
        self.in_flight.set(gauge(status.in_flight));
        self.hosts.set(gauge(status.hosts));
        self.concurrency.set(gauge(status.concurrency as u64));
        self.paused.set(i64::from(status.state == RunState::Paused));
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = encode(&mut text, &registry);
        text
    }
}

/// Counters only go up: bring one up to the loop's count.
fn catch_up(counter: &Counter, value: u64) {
    let now = counter.get();
    if value > now {
        counter.inc_by(value - now);
    }
}

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
