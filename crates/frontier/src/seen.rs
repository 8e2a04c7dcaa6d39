//! The seen-set: every URL fingerprint the crawl has met, with its depth and where it stands.

use std::sync::Arc;

use dashmap::DashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Queued,
    Leased,
    /// Leased once, queued again for another attempt. Unlike `Queued` it is never lowered: a URL is
    /// only leased at its shortest depth, and its retry entry must keep the depth its count is under.
    Retrying,
    Done,
}

#[derive(Debug, Clone, Copy)]
struct Mark {
    depth: u32,
    state: State,
}

pub(crate) enum Offer {
    New,
    Lowered { from: u32 },
    Known,
}

/// Fingerprints of every URL met so far. Cloning shares the set: fetch tasks hold a clone to drop
/// links that cannot change anything before sending them to the scheduler.
#[derive(Debug, Clone, Default)]
pub struct SeenSet {
    // Fingerprints (128-bit hashes of normalized URLs), not strings: about 40 bytes a URL.
    marks: Arc<DashMap<u128, Mark>>,
}

impl SeenSet {
    pub fn len(&self) -> usize {
        self.marks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// False when offering this URL at `depth` would change nothing: it is known at that depth or
    /// shallower, or is already leased. A cheap, lock-striped read for fetch tasks.
    pub fn may_improve(&self, fingerprint: u128, depth: u32) -> bool {
        match self.marks.get(&fingerprint) {
            None => true,
            Some(mark) => mark.state == State::Queued && depth < mark.depth,
        }
    }

    pub(crate) fn offer(&self, fingerprint: u128, depth: u32) -> Offer {
        let mut mark = self.marks.entry(fingerprint).or_insert(Mark { depth: u32::MAX, state: State::Queued });
        if mark.depth == u32::MAX {
            mark.depth = depth;
            return Offer::New;
        }
        if mark.state == State::Queued && depth < mark.depth {
            let from = mark.depth;
            mark.depth = depth;
            return Offer::Lowered { from };
        }
        Offer::Known
    }

    /// A URL found done on resume: known, never queued. True when it was not known yet.
    pub(crate) fn restore_done(&self, fingerprint: u128, depth: u32) -> bool {
        let new = matches!(self.offer(fingerprint, depth), Offer::New);
        if new {
            self.mark_done(fingerprint);
        }
        new
    }

    pub(crate) fn is_queued_at(&self, fingerprint: u128, depth: u32) -> bool {
        self.marks.get(&fingerprint).is_some_and(|m| m.state == State::Queued && m.depth == depth)
    }

    pub(crate) fn mark_leased(&self, fingerprint: u128) {
        self.set_state(fingerprint, State::Leased);
    }

    pub(crate) fn mark_retrying(&self, fingerprint: u128) {
        self.set_state(fingerprint, State::Retrying);
    }

    pub(crate) fn mark_done(&self, fingerprint: u128) {
        self.set_state(fingerprint, State::Done);
    }

    fn set_state(&self, fingerprint: u128, state: State) {
        if let Some(mut mark) = self.marks.get_mut(&fingerprint) {
            mark.state = state;
        }
    }
}
