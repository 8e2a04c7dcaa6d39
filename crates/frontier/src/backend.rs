//! The seam between the scheduler and where a crawl's queue lives.
//!
//! The scheduler (crawld's crawl loop) reaches its frontier only through [`FrontierBackend`]. The
//! embedded [`Frontier`] (in-process queues, the journal on local disk) is the one backend today; a shared
//! one for a fleet of crawlers (Redis: hosts leased by workers, leases that expire when a worker dies) is
//! to implement the same methods. How a backend is opened or resumed is its own business, not the seam's.

use std::time::{Duration, Instant};

use crate::{Added, Candidate, Frontier, FrontierStats, HostId, JournalError, Lease, Next, PendingSnapshot, SeenSet};

/// What a crawl loop asks of its frontier. Every method is the [`Frontier`] method of the same name.
pub trait FrontierBackend: Send + std::fmt::Debug {
    /// Offer a URL: deduplicated, kept at its shallowest depth.
    fn add(&mut self, candidate: Candidate) -> Added;
    /// The next URL to fetch at `now`, or why there is none.
    fn next(&mut self, now: Instant) -> Next;
    /// A lease finished for good after a request to its host.
    fn complete(&mut self, lease: &Lease, now: Instant);
    /// A lease finished without a request to its host.
    fn complete_unrequested(&mut self, lease: &Lease);
    /// A lease to try again, not before `not_before`.
    fn retry(&mut self, lease: &Lease, now: Instant, not_before: Instant);
    /// A lease given back unfetched.
    fn give_back(&mut self, lease: &Lease, requested_at: Option<Instant>);
    /// The host's robots.txt verdict is known (and its Crawl-delay, if any), until `expires`.
    fn set_host_delay(&mut self, host: HostId, crawl_delay: Option<Duration>, expires: Option<Instant>);
    /// The host's robots.txt verdict is gone early: gate the host until a lease reloads it.
    fn expire_host_verdict(&mut self, host: HostId);
    /// Keep a host idle until `until`.
    fn pause_host(&mut self, host: HostId, until: Instant);
    /// Change per-host concurrency and delay while the crawl runs.
    fn set_politeness(&mut self, per_host_concurrency: usize, delay: Duration);
    /// Change `max_depth` and `max_pages` while the crawl runs.
    fn set_limits(&mut self, max_depth: Option<u32>, max_pages: Option<u64>);
    /// A host's name, for logs.
    fn host_name(&self, host: HostId) -> &str;
    fn stats(&self) -> FrontierStats;
    /// Whether `max_pages` ended the crawl with URLs left.
    fn cut_by_max_pages(&self) -> bool;
    /// Hosts with URLs queued or in flight.
    fn busy_hosts(&self) -> u64;
    /// The seen-set, for fetch tasks to drop links that cannot matter.
    fn seen_set(&self) -> SeenSet;
    /// The `n` hosts with the most URLs queued, most first, as (`host:port`, queued): for status requests.
    fn longest_queues(&self, n: usize) -> Vec<(&str, u64)>;
    /// Whether a snapshot would now shorten a resume enough to be worth writing.
    fn snapshot_due(&self) -> bool;
    /// Write a snapshot of the queue and the seen-set, with the caller's `extra` state; it is in force
    /// once committed, after the page lines it counts are durable.
    fn write_snapshot(&mut self, extra: &[u8]) -> Result<Option<PendingSnapshot>, JournalError>;
}

impl FrontierBackend for Frontier {
    fn add(&mut self, candidate: Candidate) -> Added {
        Frontier::add(self, candidate)
    }

    fn next(&mut self, now: Instant) -> Next {
        Frontier::next(self, now)
    }

    fn complete(&mut self, lease: &Lease, now: Instant) {
        Frontier::complete(self, lease, now);
    }

    fn complete_unrequested(&mut self, lease: &Lease) {
        Frontier::complete_unrequested(self, lease);
    }

    fn retry(&mut self, lease: &Lease, now: Instant, not_before: Instant) {
        Frontier::retry(self, lease, now, not_before);
    }

    fn give_back(&mut self, lease: &Lease, requested_at: Option<Instant>) {
        Frontier::give_back(self, lease, requested_at);
    }

    fn set_host_delay(&mut self, host: HostId, crawl_delay: Option<Duration>, expires: Option<Instant>) {
        Frontier::set_host_delay(self, host, crawl_delay, expires);
    }

    fn expire_host_verdict(&mut self, host: HostId) {
        Frontier::expire_host_verdict(self, host);
    }

    fn pause_host(&mut self, host: HostId, until: Instant) {
        Frontier::pause_host(self, host, until);
    }

    fn set_politeness(&mut self, per_host_concurrency: usize, delay: Duration) {
        Frontier::set_politeness(self, per_host_concurrency, delay);
    }

    fn set_limits(&mut self, max_depth: Option<u32>, max_pages: Option<u64>) {
        Frontier::set_limits(self, max_depth, max_pages);
    }

    fn host_name(&self, host: HostId) -> &str {
        Frontier::host_name(self, host)
    }

    fn stats(&self) -> FrontierStats {
        Frontier::stats(self)
    }

    fn cut_by_max_pages(&self) -> bool {
        Frontier::cut_by_max_pages(self)
    }

    fn busy_hosts(&self) -> u64 {
        Frontier::busy_hosts(self)
    }

    fn seen_set(&self) -> SeenSet {
        Frontier::seen_set(self)
    }

    fn longest_queues(&self, n: usize) -> Vec<(&str, u64)> {
        Frontier::longest_queues(self, n)
    }

    fn snapshot_due(&self) -> bool {
        Frontier::snapshot_due(self)
    }

    fn write_snapshot(&mut self, extra: &[u8]) -> Result<Option<PendingSnapshot>, JournalError> {
        Frontier::write_snapshot(self, extra)
    }
}
