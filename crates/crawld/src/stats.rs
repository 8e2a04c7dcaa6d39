//! Crawl counters: the progress line, `stats.json` and the final summary.

use crawld_frontier::{Added, FrontierStats};
use crawld_sink::PageRecord;
use serde::Serialize;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Lines written to pages.jsonl.
    pub pages: u64,
    pub status_2xx: u64,
    pub status_3xx: u64,
    pub status_4xx: u64,
    pub status_5xx: u64,
    /// URLs for which no response came (connection errors, timeouts, robots.txt disallowed).
    pub errors: u64,
    pub robots_blocked: u64,
    /// robots.txt responses archived in WARC (they have no pages.jsonl line).
    pub robots_txt_archived: u64,
    /// URLs recorded without a request because their host was held as unreachable.
    pub host_down_skipped: u64,
    pub truncated: u64,
    pub bytes: u64,
    pub retries: u64,
    pub links_queued: u64,
    pub links_lowered: u64,
    pub links_too_deep: u64,
    pub redirects_dropped: u64,
    pub queued: u64,
    pub in_flight: u64,
    pub hosts: u64,
    pub seen: u64,
    pub elapsed_secs: f64,
}

impl Stats {
    pub fn count(&mut self, page: &PageRecord) {
        self.pages += 1;
        self.bytes += page.bytes;
        self.truncated += u64::from(page.truncated);
        match page.status {
            Some(200..=299) => self.status_2xx += 1,
            Some(300..=399) => self.status_3xx += 1,
            Some(400..=499) => self.status_4xx += 1,
            Some(500..=599) => self.status_5xx += 1,
            Some(_) => {}
            None => self.errors += 1,
        }
    }

    pub fn count_added(&mut self, added: Added) {
        match added {
            Added::New => self.links_queued += 1,
            Added::Lowered => self.links_lowered += 1,
            Added::TooDeep => self.links_too_deep += 1,
            Added::Known | Added::Full => {}
        }
    }

    pub fn absorb_frontier(&mut self, f: FrontierStats) {
        self.queued = f.queued;
        self.in_flight = f.in_flight;
        self.hosts = f.hosts;
        self.seen = f.seen;
    }

    /// stats.json: the counters plus the crawl's state ("running", "complete", "stopped", "failed").
    pub fn to_json(&self, state: &str) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            map.insert("state".into(), state.into());
            map.insert("updated_at".into(), rfc3339_now().into());
        }
        value
    }
}

pub fn rfc3339_now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "unknown".to_owned())
}
