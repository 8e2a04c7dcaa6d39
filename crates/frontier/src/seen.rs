//! The seen-set: every URL fingerprint the crawl has met, with its depth and where it stands.
//!
//! 16 bytes a URL in its table (a 96-bit fingerprint and 32 bits of depth and state), about 26 with the
//! table's slack: a crawl that has met 10 million URLs holds about 260 MB here. Two URLs whose
//! fingerprints agree in those 96 bits are taken for one, and the second is never crawled: among n URLs
//! that happens with probability about n² / 2⁹⁷, 6·10⁻¹² for a billion URLs.

use std::hash::{BuildHasherDefault, Hash, Hasher};
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

/// Depth (30 bits, deeper clamps) and state (2 bits) in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Packed(u32);

const DEPTH_BITS: u32 = 30;
const MAX_DEPTH: u32 = (1 << DEPTH_BITS) - 1;
/// Not known yet: inserted, its depth about to be set.
const FRESH: u32 = MAX_DEPTH;

impl Packed {
    fn new(mark: Mark) -> Packed {
        let state = match mark.state {
            State::Queued => 0,
            State::Leased => 1,
            State::Retrying => 2,
            State::Done => 3,
        };
        Packed(mark.depth.min(MAX_DEPTH) | (state << DEPTH_BITS))
    }

    fn get(self) -> Mark {
        let state = match self.0 >> DEPTH_BITS {
            0 => State::Queued,
            1 => State::Leased,
            2 => State::Retrying,
            _ => State::Done,
        };
        Mark { depth: self.0 & MAX_DEPTH, state }
    }
}

/// The 96 low bits of a URL's fingerprint: the table's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key([u32; 3]);

impl Key {
    fn of(fingerprint: u128) -> Key {
        Key([fingerprint as u32, (fingerprint >> 32) as u32, (fingerprint >> 64) as u32])
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // The fingerprint is a hash already: its bits are the hash.
        state.write_u64(u64::from(self.0[0]) | (u64::from(self.0[1]) << 32));
    }
}

/// Passes a fingerprint's bits through: hashing a hash again buys nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct FingerprintHasher(u64);

/// A set of URL fingerprints, hashed by their own bits.
pub type FingerprintSet = std::collections::HashSet<u128, BuildHasherDefault<FingerprintHasher>>;

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }

    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64 ^ (n >> 64) as u64;
    }
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
    // Fingerprints of normalized URLs, not strings: see the module docs for the cost.
    marks: Arc<DashMap<Key, Packed, BuildHasherDefault<FingerprintHasher>>>,
}

impl SeenSet {
    /// A set with room for about `urls` URLs before it grows (growing a large table rehashes it all).
    pub fn with_capacity(urls: usize) -> SeenSet {
        SeenSet { marks: Arc::new(DashMap::with_capacity_and_hasher(urls, BuildHasherDefault::default())) }
    }

    pub fn len(&self) -> usize {
        self.marks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// False when offering this URL at `depth` would change nothing: it is known at that depth or
    /// shallower, or is already leased. A cheap, lock-striped read for fetch tasks.
    pub fn may_improve(&self, fingerprint: u128, depth: u32) -> bool {
        match self.marks.get(&Key::of(fingerprint)).map(|m| m.get()) {
            None => true,
            Some(mark) => mark.state == State::Queued && depth < mark.depth,
        }
    }

    pub(crate) fn offer(&self, fingerprint: u128, depth: u32) -> Offer {
        let depth = depth.min(MAX_DEPTH - 1);
        let mut slot = self.marks.entry(Key::of(fingerprint)).or_insert(Packed(FRESH));
        let mark = slot.get();
        if *slot == Packed(FRESH) {
            *slot = Packed::new(Mark { depth, state: State::Queued });
            return Offer::New;
        }
        if mark.state == State::Queued && depth < mark.depth {
            *slot = Packed::new(Mark { depth, state: State::Queued });
            return Offer::Lowered { from: mark.depth };
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
        let depth = depth.min(MAX_DEPTH - 1);
        self.marks.get(&Key::of(fingerprint)).is_some_and(|m| {
            let m = m.get();
            m.state == State::Queued && m.depth == depth
        })
    }

    /// Every URL met, as its 96-bit key (in a u128) and its packed depth and state, in the table's own
    /// order: for a snapshot, which [`SeenSet::restore`] reads back in that order, so that the table is
    /// filled nearly in memory order instead of at random.
    /// Stops at the first error `visit` returns.
    pub(crate) fn each_mark(&self, mut visit: impl FnMut(u128, u32) -> std::io::Result<()>) -> std::io::Result<()> {
        self.marks.iter().try_for_each(|slot| {
            let [a, b, c] = slot.key().0;
            visit(u128::from(a) | (u128::from(b) << 32) | (u128::from(c) << 64), slot.value().0)
        })
    }

    /// A URL read back from a snapshot (its key and packed mark, [`SeenSet::each_mark`]): done when
    /// it was, or when `done` says so (a line after the snapshot); else queued at its depth, whether
    /// it was queued, leased or waiting for a retry then. True when it is done.
    pub(crate) fn restore(&self, key: u128, packed: u32, done: bool) -> bool {
        let mark = Packed(packed).get();
        let done = done || mark.state == State::Done;
        let state = if done { State::Done } else { State::Queued };
        self.marks.insert(Key::of(key), Packed::new(Mark { depth: mark.depth, state }));
        done
    }

    /// The bits of a fingerprint the set keys on.
    pub(crate) fn key_bits(fingerprint: u128) -> u128 {
        fingerprint & ((1 << 96) - 1)
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
        if let Some(mut slot) = self.marks.get_mut(&Key::of(fingerprint)) {
            *slot = Packed::new(Mark { state, ..slot.get() });
        }
    }
}
