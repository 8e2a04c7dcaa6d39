//! The scheduler loop's side of [`crate::control`]: commands answered, a new config put in force,
//! status snapshots. Kept apart from the loop itself, which only calls in here.

use std::sync::{Arc, PoisonError};

use crawld_extract::fingerprint;
use crawld_frontier::{Added, Candidate};
use tracing::info;
use url::Url;

use super::Crawl;
use crate::config::Config;
use crate::control::{self, Command, HostCount, RunState, SeedAnswer, Status};

/// Hosts listed in a status, by pages and by queue.
const TOP_HOSTS: usize = 10;

impl Crawl {
    pub(super) fn command(&mut self, command: Command) {
        // A caller that gave up waiting is no reason to stop.
        match command {
            Command::Status(answer) => {
                let _ = answer.send(self.status());
            }
            Command::Pause(answer) => {
                if !self.control.paused {
                    info!(in_flight = self.pool.len(), "paused: no new fetches; those under way finish");
                }
                self.control.paused = true;
                let _ = answer.send(RunState::Paused);
            }
            Command::Resume(answer) => {
                if self.control.paused {
                    info!("resumed");
                }
                self.control.paused = false;
                let _ = answer.send(RunState::Running);
            }
            Command::AddSeeds(urls, answer) => {
                let answers = urls.into_iter().map(|url| self.add_seed(url)).collect();
                let _ = answer.send(answers);
            }
        }
    }

    fn add_seed(&mut self, url: Url) -> SeedAnswer {
        let refused =
            |url: &Url, reason: String| SeedAnswer { url: url.to_string(), added: false, reason: Some(reason) };
        if let Err(reason) = self.ctx.scope().check(&url) {
            return refused(&url, format!("out of scope: {reason}"));
        }
        let fp = fingerprint(&url);
        match self.frontier.add(Candidate::seed(url.clone(), fp)) {
            Added::New | Added::Lowered => {
                info!(url = %url, "seed added through the admin API");
                SeedAnswer { url: url.to_string(), added: true, reason: None }
            }
            Added::Known => refused(&url, "already known to this crawl".to_owned()),
            Added::TooDeep => refused(&url, "deeper than crawl.max_depth".to_owned()),
        }
    }

    /// Put a new config in force; the reloader sends only configs whose restart-only keys are unchanged.
    pub(super) fn retune(&mut self, next: Arc<Config>) {
        let c = &next;
        self.pool.set_capacity(c.crawl.concurrency.get());
        self.frontier.set_politeness(c.politeness.per_host_concurrency.get(), c.politeness.delay);
        self.frontier.set_limits(c.crawl.max_depth, c.crawl.max_pages.map(|n| n.get()));
        // Validated by the reloader: never zero.
        let _ = self.ctx.fetcher.set_timeout(c.fetch.timeout);
        self.ctx.fetcher.set_max_crawl_delay(c.politeness.max_crawl_delay);
        self.ctx.set_max_depth(c.crawl.max_depth);
        let exclude = c.scope.exclude.iter().map(|p| p.0.clone()).collect();
        self.ctx.scope.write().unwrap_or_else(PoisonError::into_inner).set_exclude(exclude);
        self.config = (*next).clone();
        self.stats.tunables = control::tunables(&self.config);
        // The per-host hint may apply again to the new numbers.
        self.hinted = false;
    }

    pub(super) fn status(&self) -> Status {
        let f = self.frontier.stats();
        let tracker = &self.control.tracker;
        let mut stats = self.stats.clone();
        stats.absorb_frontier(f);
        let uptime = tracker.started.elapsed();
        stats.elapsed_secs = uptime.as_secs_f64();
        let s = &stats;
        let mut per_host: Vec<HostCount> = tracker
            .per_host
            .iter()
            .map(|(&host, &count)| HostCount { host: self.frontier.host_name(host).to_owned(), count })
            .collect();
        per_host.sort_unstable_by(|a, b| b.count.cmp(&a.count).then_with(|| a.host.cmp(&b.host)));
        per_host.truncate(TOP_HOSTS);
        let by_queue = self
            .frontier
            .longest_queues(TOP_HOSTS)
            .into_iter()
            .map(|(host, count)| HostCount { host: host.to_owned(), count })
            .collect();
        let status_classes = [
            ("2xx", s.status_2xx),
            ("3xx", s.status_3xx),
            ("4xx", s.status_4xx),
            ("5xx", s.status_5xx),
            ("other", s.status_other),
        ]
        .into_iter()
        .collect();
        let errors = [
            ("no_response", s.no_response),
            ("robots_unavailable", s.robots_unavailable),
            ("host_down_skipped", s.host_down_skipped),
            ("internal_errors", s.internal_errors),
            ("abandoned", s.abandoned),
        ]
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .collect();
        Status {
            state: if self.control.paused { RunState::Paused } else { RunState::Running },
            uptime_secs: uptime.as_secs_f64(),
            pages: s.pages,
            queued: f.queued,
            in_flight: self.pool.len() as u64,
            hosts: f.hosts,
            concurrency: self.pool.capacity(),
            pages_per_sec_last_minute: tracker.recent_rate(),
            pages_per_sec: tracker.pages as f64 / uptime.as_secs_f64().max(1e-3),
            bytes: s.bytes,
            status_classes,
            errors,
            pages_per_depth: tracker.per_depth.clone(),
            top_hosts_by_pages: per_host,
            top_hosts_by_queue: by_queue,
            config: control::tunables(&self.config),
            stats,
        }
    }
}
