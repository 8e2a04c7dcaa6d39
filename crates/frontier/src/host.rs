//! One host's queues and politeness clock.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::{Candidate, SeenSet};

/// A URL queued for a retry: kept whole in memory (there are few).
#[derive(Debug)]
pub(crate) struct Entry {
    pub(crate) candidate: Candidate,
    pub(crate) retries: u32,
    /// Where its record is in the journal.
    pub(crate) offset: u64,
}

/// A lease in flight, as a snapshot lists it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InFlight {
    pub(crate) host: crate::HostId,
    pub(crate) fingerprint: u128,
    pub(crate) depth: u32,
    pub(crate) offset: u64,
}

/// A URL queued for its first attempt: its fingerprint (for the stale check) and where its record is
/// in the journal, which holds the rest. 24 bytes, so that millions of queued URLs fit in little memory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Queued {
    fingerprint: [u64; 2],
    pub(crate) offset: u64,
}

impl Queued {
    pub(crate) fn new(fingerprint: u128, offset: u64) -> Queued {
        Queued { fingerprint: [fingerprint as u64, (fingerprint >> 64) as u64], offset }
    }

    pub(crate) fn fingerprint(&self) -> u128 {
        u128::from(self.fingerprint[0]) | (u128::from(self.fingerprint[1]) << 64)
    }
}

/// What [`HostState::pop`] hands out.
#[derive(Debug)]
pub(crate) enum Popped {
    Queued { queued: Queued, depth: u32 },
    Retry(Entry),
}

#[derive(Debug)]
pub(crate) struct HostState {
    pub(crate) key: String,
    /// URLs waiting for another attempt, each not before its instant. Once due they go out before
    /// anything else of the host: they were leased once already, so their depth is never deeper than
    /// what the BFS level allows. Until then the host's other URLs go on.
    retry_queue: VecDeque<(Entry, Option<Instant>)>,
    /// Queued URLs by depth, FIFO within a depth. May hold stale entries (lowered since).
    queues: BTreeMap<u32, VecDeque<Queued>>,
    /// Queued URLs that are not stale.
    pub(crate) live: usize,
    pub(crate) in_flight: usize,
    /// No fetch of this host may start before this instant (`None`: any time).
    pub(crate) next_allowed: Option<Instant>,
    pub(crate) crawl_delay: Option<Duration>,
    /// The robots.txt verdict is known and in force: the host may have up to its concurrency.
    pub(crate) robots_known: bool,
    /// When the verdict in force stops holding (`None`: never). The frontier, not the robots.txt
    /// cache, decides when the host is gated again, so that a refetch never runs beside the host's
    /// other fetches.
    pub(crate) verdict_until: Option<Instant>,
    /// A verdict was reported once: a lease gated since then reloads robots.txt, it is no first contact.
    pub(crate) had_verdict: bool,
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
            verdict_until: None,
            had_verdict: false,
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

    /// Gate the host again when its verdict has expired at `now`: one lease at a time, and the next one
    /// (once those in flight are done) reloads robots.txt.
    pub(crate) fn expire_verdict(&mut self, now: Instant) {
        if self.robots_known && self.verdict_until.is_some_and(|until| until <= now) {
            self.robots_known = false;
        }
    }

    pub(crate) fn push(&mut self, depth: u32, queued: Queued) {
        self.queues.entry(depth).or_default().push_back(queued);
        self.live += 1;
    }

    /// Queue `entry` for another attempt at `not_before` or later (None: at once).
    pub(crate) fn push_retry(&mut self, entry: Entry, not_before: Option<Instant>) {
        self.retry_queue.push_back((entry, not_before));
        self.live += 1;
    }

    /// Keep the host idle until at least `until`.
    pub(crate) fn hold_until(&mut self, until: Instant) {
        self.next_allowed = Some(self.next_allowed.map_or(until, |at| at.max(until)));
    }

    /// The earliest instant something of this host may start: its politeness clock, and when all it
    /// has queued is retries (or only retries may go, `retries_only`), the first retry's time.
    pub(crate) fn start_at(&self, retries_only: bool) -> Option<Instant> {
        let waiting_for_retries = retries_only || self.live == self.retry_queue.len();
        // The first retry due; None when one is due at once (or there is none).
        let retry_at = if self.retry_queue.iter().any(|(_, at)| at.is_none()) {
            None
        } else {
            self.retry_queue.iter().filter_map(|(_, at)| *at).min()
        };
        match (self.next_allowed, retry_at.filter(|_| waiting_for_retries)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    pub(crate) fn may_start(&self, now: Instant, retries_only: bool) -> bool {
        self.start_at(retries_only).is_none_or(|at| at <= now)
    }

    /// The first retry that is due at `now`.
    fn due_retry(&self, now: Instant) -> Option<usize> {
        self.retry_queue.iter().position(|(_, at)| at.is_none_or(|at| at <= now))
    }

    /// Whether what `pop` would return at `now` is a retry.
    pub(crate) fn front_is_retry(&self, now: Instant) -> bool {
        self.due_retry(now).is_some()
    }

    /// Depth of the entry `pop` would return at `now`, dropping stale entries on the way.
    pub(crate) fn front_depth(&mut self, seen: &SeenSet, now: Instant) -> Option<u32> {
        if let Some(i) = self.due_retry(now) {
            return Some(self.retry_queue[i].0.candidate.depth);
        }
        loop {
            let mut first = self.queues.first_entry()?;
            let depth = *first.key();
            let queue = first.get_mut();
            match queue.front() {
                None => {
                    first.remove();
                }
                Some(queued) if seen.is_queued_at(queued.fingerprint(), depth) => return Some(depth),
                Some(_) => {
                    queue.pop_front();
                    if queue.is_empty() {
                        // Give the memory of a drained level back.
                        first.remove();
                    }
                }
            }
        }
    }

    /// Every URL this host has queued and not stale (retries first, then by depth, FIFO): its
    /// fingerprint, depth and journal offset, for a snapshot.
    /// Stops at the first error `visit` returns.
    pub(crate) fn each_queued(
        &self,
        seen: &SeenSet,
        mut visit: impl FnMut(u128, u32, u64) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        for (entry, _) in &self.retry_queue {
            visit(entry.candidate.fingerprint, entry.candidate.depth, entry.offset)?;
        }
        // Stale entries (lowered since) are what the queues hold beyond the live count; without any,
        // no entry needs the seen-set lookup (a cache miss each, at millions of URLs).
        let held: usize = self.queues.values().map(VecDeque::len).sum();
        let stale = held > self.live.saturating_sub(self.retry_queue.len());
        for (&depth, queue) in &self.queues {
            for queued in queue.iter().filter(|q| !stale || seen.is_queued_at(q.fingerprint(), depth)) {
                visit(queued.fingerprint(), depth, queued.offset)?;
            }
        }
        Ok(())
    }

    pub(crate) fn pop(&mut self, seen: &SeenSet, now: Instant) -> Option<Popped> {
        self.front_depth(seen, now)?;
        let popped = match self.due_retry(now).and_then(|i| self.retry_queue.remove(i)) {
            Some((entry, _)) => Popped::Retry(entry),
            None => {
                let mut first = self.queues.first_entry()?;
                let depth = *first.key();
                let queued = first.get_mut().pop_front()?;
                if first.get().is_empty() {
                    first.remove();
                }
                Popped::Queued { queued, depth }
            }
        };
        self.live -= 1;
        Some(popped)
    }
}
