//! One host's queues and politeness clock.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::{Candidate, SeenSet};

#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) candidate: Candidate,
    pub(crate) retries: u32,
}

#[derive(Debug)]
pub(crate) struct HostState {
    pub(crate) key: String,
    /// Retried URLs go out before anything else of the host: they were leased once already, so their
    /// depth is never deeper than what the BFS level allows.
    retry_queue: VecDeque<Entry>,
    /// Queued URLs by depth, FIFO within a depth. May hold stale entries (lowered since).
    queues: BTreeMap<u32, VecDeque<Entry>>,
    /// Queued URLs that are not stale.
    pub(crate) live: usize,
    pub(crate) in_flight: usize,
    /// No fetch of this host may start before this instant (`None`: any time).
    pub(crate) next_allowed: Option<Instant>,
    pub(crate) crawl_delay: Option<Duration>,
    pub(crate) robots_known: bool,
    /// Has an entry on the frontier's ready heap.
    pub(crate) scheduled: bool,
    /// Listed in the frontier's `level_blocked`.
    pub(crate) level_blocked: bool,
}

impl HostState {
    pub(crate) fn new(key: String) -> HostState {
        HostState {
            key,
            retry_queue: VecDeque::new(),
            queues: BTreeMap::new(),
            live: 0,
            in_flight: 0,
            next_allowed: None,
            crawl_delay: None,
            robots_known: false,
            scheduled: false,
            level_blocked: false,
        }
    }

    /// How many leases this host may have at once: one until its robots.txt verdict is known, so that
    /// robots.txt is fetched (and its Crawl-delay learnt) before anything else goes out; and one when
    /// robots.txt sets a Crawl-delay, which asks for one request per interval.
    pub(crate) fn limit(&self, per_host: usize) -> usize {
        if self.robots_known && self.crawl_delay.is_none() { per_host.max(1) } else { 1 }
    }

    pub(crate) fn push(&mut self, candidate: Candidate) {
        self.queues.entry(candidate.depth).or_default().push_back(Entry { candidate, retries: 0 });
        self.live += 1;
    }

    pub(crate) fn push_retry(&mut self, entry: Entry) {
        self.retry_queue.push_back(entry);
        self.live += 1;
    }

    /// Keep the host idle until at least `until`.
    pub(crate) fn hold_until(&mut self, until: Instant) {
        self.next_allowed = Some(self.next_allowed.map_or(until, |at| at.max(until)));
    }

    pub(crate) fn may_start(&self, now: Instant) -> bool {
        self.next_allowed.is_none_or(|at| at <= now)
    }

    pub(crate) fn has_retry(&self) -> bool {
        !self.retry_queue.is_empty()
    }

    /// Depth of the entry `pop` would return, dropping stale entries on the way.
    pub(crate) fn front_depth(&mut self, seen: &SeenSet) -> Option<u32> {
        if let Some(entry) = self.retry_queue.front() {
            return Some(entry.candidate.depth);
        }
        loop {
            let mut first = self.queues.first_entry()?;
            let queue = first.get_mut();
            match queue.front() {
                None => {
                    first.remove();
                }
                Some(entry) if seen.is_queued_at(entry.candidate.fingerprint, entry.candidate.depth) => {
                    return Some(entry.candidate.depth);
                }
                Some(_) => {
                    queue.pop_front();
                }
            }
        }
    }

    pub(crate) fn pop(&mut self, seen: &SeenSet) -> Option<Entry> {
        self.front_depth(seen)?;
        let entry = match self.retry_queue.pop_front() {
            Some(entry) => entry,
            None => self.queues.first_entry()?.get_mut().pop_front()?,
        };
        self.live -= 1;
        Some(entry)
    }
}
