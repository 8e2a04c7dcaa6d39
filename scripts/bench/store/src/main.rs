//! Measures the frontier's store candidates on the frontier's own workload: many small appends (the
//! links of each page fetched), pops in FIFO order per host (one per 40 appends: a page leased per 40
//! links found), one sync per batch (the sink's `output.sync_interval`), then a drain; and the time to
//! reopen what is queued after a stop.
//!
//! * `journal`: crawld's own approach (crates/frontier/src/journal.rs, same frame format): CRC-framed
//!   records appended through a buffer to one file, fdatasync per batch, the queue in memory as
//!   (fingerprint, offset) per host, each leased record read back with pread. A pop writes nothing to
//!   the journal: what is done is what pages.jsonl holds; a 16-byte done log (fdatasynced with the
//!   journal) stands in for it here, so the journal pays for that file and its fsync too.
//! * `fjall`: one keyspace keyed by (host id u32, sequence u64) big-endian, so a range is FIFO per
//!   host; a page's links in one write batch; a pop is a range read from the host's head and a remove;
//!   `Database::persist(SyncData)` per batch.
//! * `fjall-get`: the same, but a pop reads the host's head key with a point read (bloom filters
//!   skip most tables), falling back to a range when the sequence has a gap.
//! * `redb`: one table keyed by (host id, sequence); one write transaction per batch (it fsyncs on
//!   commit); a pop is a range read from the host's head and a remove in that transaction.
//!
//! Each store keeps a parent record per page (the journal's Parent frame; a `parents` keyspace or
//! table in the others) and reads it back with each pop, as the frontier does.
//!
//! `store-bench run` runs each store in its own process (`store-bench one STORE`), interleaved over
//! rounds, and prints the medians. `store-bench crash STORE` kills a filling process with SIGKILL and
//! reopens what it left.

use std::collections::{HashMap, HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const LINKS_PER_PAGE: usize = 40;

// ---------------------------------------------------------------------------------------------
// Workload

#[derive(Clone, Copy)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One link found: what is queued.
struct Link {
    host: u32,
    seq: u64,
    fp: u128,
    depth: u32,
    url: String,
}

/// The links of pages, deterministic for a seed: hosts Zipf(1)-distributed over `hosts`; a page's
/// links go to its own host 70% of the time.
struct Gen {
    rng: Rng,
    cdf: Vec<f64>,
    names: Vec<String>,
    next_seq: Vec<u64>,
    pages: u64,
}

const DIRS: [&str; 8] = ["news", "product", "blog/2026", "category/shoes", "a", "wiki", "docs/v2/api", "tag"];

impl Gen {
    fn new(hosts: u32, seed: u64) -> Gen {
        let mut cdf = Vec::with_capacity(hosts as usize);
        let mut sum = 0.0;
        for rank in 1..=hosts {
            sum += 1.0 / f64::from(rank);
            cdf.push(sum);
        }
        cdf.iter_mut().for_each(|c| *c /= sum);
        Gen { rng: Rng(seed), cdf, names: host_names(hosts), next_seq: vec![0; hosts as usize], pages: 0 }
    }

    fn zipf_host(&mut self) -> u32 {
        let u = self.rng.unit();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1) as u32
    }

    /// A page's URL (the parent) and up to `n` of its links.
    fn page(&mut self, n: usize, links: &mut Vec<Link>) -> (u64, String) {
        let page = self.pages;
        self.pages += 1;
        let page_host = self.zipf_host();
        let parent = format!("https://{}/p/{page}.html", self.names[page_host as usize]);
        links.clear();
        for _ in 0..n {
            let host = if self.rng.below(10) < 7 { page_host } else { self.zipf_host() };
            let seq = self.next_seq[host as usize];
            self.next_seq[host as usize] += 1;
            let slug_len = 15 + self.rng.below(30) as usize;
            let mut url = String::with_capacity(64 + slug_len);
            url.push_str("https://");
            url.push_str(&self.names[host as usize]);
            url.push('/');
            url.push_str(DIRS[self.rng.below(DIRS.len() as u64) as usize]);
            url.push('/');
            for _ in 0..slug_len {
                url.push((b'a' + self.rng.below(26) as u8) as char);
            }
            url.push_str(&format!("-{seq}.html"));
            let fp = (u128::from(self.rng.next()) << 64) | u128::from(self.rng.next());
            let depth = self.rng.below(16) as u32;
            links.push(Link { host, seq, fp, depth, url });
        }
        (page, parent)
    }
}

fn host_names(hosts: u32) -> Vec<String> {
    (0..hosts).map(|h| format!("www.site{h:05}.example")).collect()
}

/// The record every store keeps per URL, as the journal's Url payload: kind, fingerprint, depth,
/// redirects, via, parent reference, URL.
fn encode_url(out: &mut Vec<u8>, link: &Link, parent: u64) {
    out.clear();
    out.push(2);
    out.extend_from_slice(&link.fp.to_le_bytes());
    out.extend_from_slice(&link.depth.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&parent.to_le_bytes());
    out.extend_from_slice(link.url.as_bytes());
}

const URL_FIXED: usize = 1 + 16 + 4 + 1 + 1 + 8;

fn decode_fp_parent(payload: &[u8]) -> (u128, u64) {
    assert!(payload.len() >= URL_FIXED && payload[0] == 2, "not a URL record");
    let fp = u128::from_le_bytes(payload[1..17].try_into().unwrap());
    let parent = u64::from_le_bytes(payload[23..31].try_into().unwrap());
    (fp, parent)
}

fn url_of(payload: &[u8]) -> &str {
    std::str::from_utf8(&payload[URL_FIXED..]).expect("a URL that is not UTF-8")
}

// ---------------------------------------------------------------------------------------------
// The stores

/// What a store does within one batch (between two syncs).
trait Ops {
    /// Queue a page's links, with the page as their parent.
    fn append_page(&mut self, page: u64, parent: &str, links: &[Link]);
    /// Take the oldest URL queued for `host` (one is queued): its fingerprint and parent URL length.
    fn pop(&mut self, host: u32) -> (u128, usize);
}

trait Store {
    /// Run `f`, then make everything it did durable.
    fn batch(&mut self, f: &mut dyn FnMut(&mut dyn Ops));
    fn close(self: Box<Self>);
}

/// Open a store left in `dir`: (the store, URLs queued per host).
type Reopened = (Box<dyn Store>, Vec<u64>);

fn create(kind: &str, dir: &Path, hosts: u32) -> Box<dyn Store> {
    match kind {
        "journal" => Box::new(JournalStore::create(dir, hosts)),
        "fjall" | "fjall-get" => Box::new(FjallStore::open(dir, hosts, kind == "fjall-get").0),
        "redb" => Box::new(RedbStore::open(dir, hosts).0),
        other => panic!("unknown store {other} (journal, fjall, redb)"),
    }
}

fn reopen(kind: &str, dir: &Path, hosts: u32) -> Reopened {
    match kind {
        "journal" => {
            let (s, q) = JournalStore::reopen(dir, hosts);
            (Box::new(s), q)
        }
        "fjall" | "fjall-get" => {
            let (s, q) = FjallStore::open(dir, hosts, kind == "fjall-get");
            (Box::new(s), q)
        }
        "redb" => {
            let (s, q) = RedbStore::open(dir, hosts);
            (Box::new(s), q)
        }
        other => panic!("unknown store {other}"),
    }
}

// --- journal --------------------------------------------------------------------------------

const MAGIC: &[u8] = b"crawld frontier journal 3\n";
const HEADER: usize = 8;
const FLUSH_AT: usize = 256 * 1024;

struct JournalStore {
    file: File,
    written: u64,
    buf: Vec<u8>,
    /// Stand-in for pages.jsonl: the fingerprints of the URLs leased.
    done: File,
    done_buf: Vec<u8>,
    queues: Vec<VecDeque<(u128, u64)>>,
    hosts: HashMap<String, u32>,
    frame: Vec<u8>,
    read: Vec<u8>,
}

fn frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

impl JournalStore {
    fn create(dir: &Path, hosts: u32) -> JournalStore {
        let path = dir.join("frontier.journal");
        let mut file =
            OpenOptions::new().create(true).read(true).write(true).truncate(true).open(&path).expect("create journal");
        file.write_all(MAGIC).unwrap();
        file.sync_data().unwrap();
        let done = OpenOptions::new().create(true).append(true).open(dir.join("done")).expect("create done log");
        File::open(dir).unwrap().sync_all().unwrap();
        JournalStore::with(file, MAGIC.len() as u64, done, vec![VecDeque::new(); hosts as usize], hosts)
    }

    fn with(file: File, written: u64, done: File, queues: Vec<VecDeque<(u128, u64)>>, hosts: u32) -> JournalStore {
        let hosts = host_names(hosts).into_iter().enumerate().map(|(i, n)| (n, i as u32)).collect();
        JournalStore {
            file,
            written,
            buf: Vec::with_capacity(FLUSH_AT + 4096),
            done,
            done_buf: Vec::new(),
            queues,
            hosts,
            frame: Vec::with_capacity(256),
            read: Vec::with_capacity(512),
        }
    }

    /// Replay: the done log into a set, then every frame (CRC checked), queueing what is not done.
    fn reopen(dir: &Path, hosts: u32) -> (JournalStore, Vec<u64>) {
        let names: HashMap<String, u32> =
            host_names(hosts).into_iter().enumerate().map(|(i, n)| (n, i as u32)).collect();
        let done_bytes = std::fs::read(dir.join("done")).expect("read done log");
        let done: HashSet<u128> =
            done_bytes.chunks_exact(16).map(|c| u128::from_le_bytes(c.try_into().unwrap())).collect();
        let path = dir.join("frontier.journal");
        let mut reader = BufReader::with_capacity(1 << 16, File::open(&path).expect("open journal"));
        let mut magic = vec![0; MAGIC.len()];
        reader.read_exact(&mut magic).unwrap();
        assert_eq!(magic, MAGIC);
        let mut queues = vec![VecDeque::new(); hosts as usize];
        let mut offset = MAGIC.len() as u64;
        let mut payload = Vec::new();
        let mut header = [0u8; HEADER];
        loop {
            match read_full(&mut reader, &mut header) {
                0 => break,
                HEADER => {}
                _ => break, // a torn tail
            }
            let len = u32::from_le_bytes(header[..4].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(header[4..].try_into().unwrap());
            if len > 1 << 20 {
                break;
            }
            payload.resize(len, 0);
            if read_full(&mut reader, &mut payload) < len || crc32fast::hash(&payload) != crc {
                break; // a torn tail (the real journal cuts it off, or refuses damage)
            }
            if payload[0] == 2 {
                let (fp, _) = decode_fp_parent(&payload);
                if !done.contains(&fp) {
                    let url = url_of(&payload);
                    let host = url["https://".len()..].split('/').next().unwrap();
                    queues[names[host] as usize].push_back((fp, offset));
                }
            }
            offset += (HEADER + len) as u64;
        }
        let file = OpenOptions::new().read(true).append(true).open(&path).unwrap();
        file.set_len(offset).unwrap();
        let done = OpenOptions::new().append(true).open(dir.join("done")).unwrap();
        let counts = queues.iter().map(|q| q.len() as u64).collect();
        (JournalStore::with(file, offset, done, queues, hosts), counts)
    }

    fn write_out(&mut self) {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf).expect("write journal");
            self.written += self.buf.len() as u64;
            self.buf.clear();
        }
    }

    /// The payload of the frame at `offset`, into `self.read`, its CRC checked.
    fn read_frame(&mut self, offset: u64) {
        let out = &mut self.read;
        if offset >= self.written {
            let at = (offset - self.written) as usize;
            let len = u32::from_le_bytes(self.buf[at..at + 4].try_into().unwrap()) as usize;
            let crc = u32::from_le_bytes(self.buf[at + 4..at + 8].try_into().unwrap());
            out.clear();
            out.extend_from_slice(&self.buf[at + HEADER..at + HEADER + len]);
            assert_eq!(crc32fast::hash(out), crc);
            return;
        }
        out.resize(512, 0);
        let mut got = 0;
        while got < out.len() {
            match self.file.read_at(&mut out[got..], offset + got as u64).unwrap() {
                0 => break,
                n => got += n,
            }
        }
        let len = u32::from_le_bytes(out[..4].try_into().unwrap()) as usize;
        let crc = u32::from_le_bytes(out[4..8].try_into().unwrap());
        if HEADER + len > got {
            out.resize(HEADER + len, 0);
            self.file.read_exact_at(&mut out[got..], offset + got as u64).unwrap();
        }
        out.truncate(HEADER + len);
        out.drain(..HEADER);
        assert_eq!(crc32fast::hash(out), crc, "a record failing its checksum");
    }
}

impl Ops for JournalStore {
    fn append_page(&mut self, _page: u64, parent: &str, links: &[Link]) {
        let parent_offset = self.written + self.buf.len() as u64;
        self.frame.clear();
        self.frame.push(1);
        self.frame.extend_from_slice(parent.as_bytes());
        let payload = std::mem::take(&mut self.frame);
        frame(&mut self.buf, &payload);
        let mut payload = payload;
        for link in links {
            let offset = self.written + self.buf.len() as u64;
            encode_url(&mut payload, link, parent_offset);
            frame(&mut self.buf, &payload);
            self.queues[link.host as usize].push_back((link.fp, offset));
        }
        self.frame = payload;
        if self.buf.len() >= FLUSH_AT {
            self.write_out();
        }
    }

    fn pop(&mut self, host: u32) -> (u128, usize) {
        let (fp, offset) = self.queues[host as usize].pop_front().expect("a URL queued for the host");
        self.read_frame(offset);
        let (got, parent) = decode_fp_parent(&self.read);
        assert_eq!(got, fp, "the record read back is another URL");
        assert!(self.hosts.contains_key(url_of(&self.read)["https://".len()..].split('/').next().unwrap()));
        self.read_frame(parent);
        assert_eq!(self.read[0], 1, "not a parent record");
        self.done_buf.extend_from_slice(&fp.to_le_bytes());
        (fp, self.read.len() - 1)
    }
}

impl Store for JournalStore {
    fn batch(&mut self, f: &mut dyn FnMut(&mut dyn Ops)) {
        f(self);
        self.write_out();
        self.file.sync_data().expect("fsync journal");
        self.done.write_all(&self.done_buf).expect("write done log");
        self.done_buf.clear();
        self.done.sync_data().expect("fsync done log");
    }
    fn close(self: Box<Self>) {}
}

fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..]).unwrap() {
            0 => break,
            n => got += n,
        }
    }
    got
}

// --- fjall ----------------------------------------------------------------------------------

struct FjallStore {
    db: fjall::Database,
    queue: fjall::Keyspace,
    parents: fjall::Keyspace,
    head: Vec<u64>,
    value: Vec<u8>,
    /// fjall-get: pop by a point read of the host's head key (bloom filters) rather than a range.
    point: bool,
}

fn key(host: u32, seq: u64) -> [u8; 12] {
    let mut k = [0; 12];
    k[..4].copy_from_slice(&host.to_be_bytes());
    k[4..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn unkey(k: &[u8]) -> (u32, u64) {
    (u32::from_be_bytes(k[..4].try_into().unwrap()), u64::from_be_bytes(k[4..12].try_into().unwrap()))
}

impl FjallStore {
    /// Open (or create) the database and iterate everything queued to find each host's head.
    fn open(dir: &Path, hosts: u32, point: bool) -> (FjallStore, Vec<u64>) {
        let db = fjall::Database::builder(dir.join("fjall")).open().expect("open fjall");
        let queue = db.keyspace("queue", fjall::KeyspaceCreateOptions::default).expect("queue keyspace");
        let parents = db.keyspace("parents", fjall::KeyspaceCreateOptions::default).expect("parents keyspace");
        let mut head = vec![u64::MAX; hosts as usize];
        let mut counts = vec![0u64; hosts as usize];
        for item in queue.iter() {
            let (k, v) = item.into_inner().expect("read fjall");
            let (host, seq) = unkey(&k);
            let (_fp, _parent) = decode_fp_parent(&v);
            counts[host as usize] += 1;
            head[host as usize] = head[host as usize].min(seq);
        }
        head.iter_mut().for_each(|h| *h = if *h == u64::MAX { 0 } else { *h });
        (FjallStore { db, queue, parents, head, value: Vec::with_capacity(256), point }, counts)
    }
}

impl Ops for FjallStore {
    fn append_page(&mut self, page: u64, parent: &str, links: &[Link]) {
        let mut batch = self.db.batch();
        batch.insert(&self.parents, page.to_be_bytes(), parent.as_bytes());
        for link in links {
            encode_url(&mut self.value, link, page);
            batch.insert(&self.queue, key(link.host, link.seq), self.value.as_slice());
        }
        batch.commit().expect("fjall batch");
    }

    fn pop(&mut self, host: u32) -> (u128, usize) {
        let from = key(host, self.head[host as usize]);
        let to = key(host, u64::MAX);
        let hit =
            if self.point { self.queue.get(from).unwrap().map(|v| (fjall::Slice::from(&from[..]), v)) } else { None };
        let (k, v) = match hit {
            Some(kv) => kv,
            None => self.queue.range(from..=to).next().expect("a URL queued for the host").into_inner().unwrap(),
        };
        let (_, seq) = unkey(&k);
        self.head[host as usize] = seq + 1;
        let (fp, parent) = decode_fp_parent(&v);
        let parent = self.parents.get(parent.to_be_bytes()).unwrap().expect("the parent record");
        self.queue.remove(k).expect("fjall remove");
        (fp, parent.len())
    }
}

impl Store for FjallStore {
    fn batch(&mut self, f: &mut dyn FnMut(&mut dyn Ops)) {
        f(self);
        self.db.persist(fjall::PersistMode::SyncData).expect("fjall persist");
    }
    fn close(self: Box<Self>) {}
}

// --- redb -----------------------------------------------------------------------------------

use redb::{ReadableDatabase, ReadableTable};

const QUEUE: redb::TableDefinition<(u32, u64), &[u8]> = redb::TableDefinition::new("queue");
const PARENTS: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("parents");

struct RedbStore {
    db: redb::Database,
    head: Vec<u64>,
}

struct RedbOps<'a, 't> {
    queue: &'a mut redb::Table<'t, (u32, u64), &'static [u8]>,
    parents: &'a mut redb::Table<'t, u64, &'static [u8]>,
    head: &'a mut Vec<u64>,
    value: Vec<u8>,
}

impl RedbStore {
    fn open(dir: &Path, hosts: u32) -> (RedbStore, Vec<u64>) {
        let db = redb::Database::create(dir.join("frontier.redb")).expect("open redb");
        {
            let txn = db.begin_write().unwrap();
            txn.open_table(QUEUE).unwrap();
            txn.open_table(PARENTS).unwrap();
            txn.commit().unwrap();
        }
        let mut head = vec![u64::MAX; hosts as usize];
        let mut counts = vec![0u64; hosts as usize];
        {
            let txn = db.begin_read().unwrap();
            let table = txn.open_table(QUEUE).unwrap();
            for item in table.iter().unwrap() {
                let (k, v) = item.unwrap();
                let (host, seq) = k.value();
                let (_fp, _parent) = decode_fp_parent(v.value());
                counts[host as usize] += 1;
                head[host as usize] = head[host as usize].min(seq);
            }
        }
        head.iter_mut().for_each(|h| *h = if *h == u64::MAX { 0 } else { *h });
        (RedbStore { db, head }, counts)
    }
}

impl Ops for RedbOps<'_, '_> {
    fn append_page(&mut self, page: u64, parent: &str, links: &[Link]) {
        self.parents.insert(page, parent.as_bytes()).unwrap();
        for link in links {
            encode_url(&mut self.value, link, page);
            self.queue.insert((link.host, link.seq), self.value.as_slice()).unwrap();
        }
    }

    fn pop(&mut self, host: u32) -> (u128, usize) {
        let (seq, fp, parent) = {
            let mut range = self.queue.range((host, self.head[host as usize])..=(host, u64::MAX)).unwrap();
            let (k, v) = range.next().expect("a URL queued for the host").unwrap();
            let (fp, parent) = decode_fp_parent(v.value());
            (k.value().1, fp, parent)
        };
        self.head[host as usize] = seq + 1;
        let parent_len = self.parents.get(parent).unwrap().expect("the parent record").value().len();
        self.queue.remove((host, seq)).unwrap();
        (fp, parent_len)
    }
}

impl Store for RedbStore {
    fn batch(&mut self, f: &mut dyn FnMut(&mut dyn Ops)) {
        let txn = self.db.begin_write().unwrap(); // Durability::Immediate: fsync on commit
        {
            let mut queue = txn.open_table(QUEUE).unwrap();
            let mut parents = txn.open_table(PARENTS).unwrap();
            let mut ops = RedbOps { queue: &mut queue, parents: &mut parents, head: &mut self.head, value: Vec::new() };
            f(&mut ops);
        }
        txn.commit().expect("redb commit");
    }
    fn close(self: Box<Self>) {}
}

// ---------------------------------------------------------------------------------------------
// The driver: the same operations, in the same order, for every store.

#[derive(Clone)]
struct Params {
    n: u64,
    hosts: u32,
    batch: u64,
    seed: u64,
}

/// Which host is leased next: round robin over the hosts with URLs queued.
struct Scheduler {
    queued: Vec<u64>,
    ready: VecDeque<u32>,
}

impl Scheduler {
    fn queued(&mut self, host: u32) {
        if self.queued[host as usize] == 0 {
            self.ready.push_back(host);
        }
        self.queued[host as usize] += 1;
    }
    fn next(&mut self) -> Option<u32> {
        let host = self.ready.pop_front()?;
        self.queued[host as usize] -= 1;
        if self.queued[host as usize] > 0 {
            self.ready.push_back(host);
        }
        Some(host)
    }
}

struct FillState {
    gen: Gen,
    sched: Scheduler,
    appended: u64,
    popped: u64,
    links: Vec<Link>,
    checksum: u128,
}

/// Append `n` URLs, a page (one pop, then its links) at a time, a sync every `batch` appends.
/// `progress` is called after each sync with (appended, popped).
fn fill(store: &mut dyn Store, p: &Params, st: &mut FillState, mut progress: impl FnMut(u64, u64)) {
    while st.appended < p.n {
        let target = (st.appended + p.batch).min(p.n);
        store.batch(&mut |ops| {
            while st.appended < target {
                if let Some(host) = st.sched.next() {
                    let (fp, parent_len) = ops.pop(host);
                    st.checksum = st.checksum.wrapping_add(fp) ^ parent_len as u128;
                    st.popped += 1;
                }
                let take = LINKS_PER_PAGE.min((target - st.appended) as usize);
                let mut links = std::mem::take(&mut st.links);
                let (page, parent) = st.gen.page(take, &mut links);
                ops.append_page(page, &parent, &links);
                for l in &links {
                    st.sched.queued(l.host);
                }
                st.links = links;
                st.appended += take as u64;
            }
        });
        progress(st.appended, st.popped);
    }
}

/// Pop everything queued, a sync every `batch` pops; returns the number popped.
fn drain(store: &mut dyn Store, p: &Params, st: &mut FillState) -> u64 {
    let mut drained = 0;
    while !st.sched.ready.is_empty() {
        store.batch(&mut |ops| {
            for _ in 0..p.batch {
                let Some(host) = st.sched.next() else { break };
                let (fp, parent_len) = ops.pop(host);
                st.checksum = st.checksum.wrapping_add(fp) ^ parent_len as u128;
                drained += 1;
            }
        });
    }
    drained
}

fn disk_bytes(dir: &Path) -> (u64, u64) {
    let mut apparent = 0;
    let mut allocated = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let Ok(m) = entry.metadata() else { continue };
            if m.is_dir() {
                stack.push(entry.path());
            } else {
                apparent += m.len();
                allocated += m.blocks() * 512;
            }
        }
    }
    (apparent, allocated)
}

fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One store, one process: fill, close, reopen (open + iterate all queued), drain. Prints a RESULT line.
fn one(kind: &str, dir: &Path, p: &Params) {
    std::fs::create_dir_all(dir).unwrap();
    let mut st = FillState {
        gen: Gen::new(p.hosts, p.seed),
        sched: Scheduler { queued: vec![0; p.hosts as usize], ready: VecDeque::new() },
        appended: 0,
        popped: 0,
        links: Vec::new(),
        checksum: 0,
    };
    let start = Instant::now();
    let mut store = create(kind, dir, p.hosts);
    fill(store.as_mut(), p, &mut st, |_, _| {});
    let fill_s = start.elapsed().as_secs_f64();
    store.close();
    let (disk_fill, alloc_fill) = disk_bytes(dir);

    let t = Instant::now();
    let (mut store, counts) = reopen(kind, dir, p.hosts);
    let reopen_s = t.elapsed().as_secs_f64();
    assert_eq!(counts, st.sched.queued, "{kind}: what was reopened is not what was queued");
    let queued_at_reopen: u64 = counts.iter().sum();

    let t = Instant::now();
    let drained = drain(store.as_mut(), p, &mut st);
    let drain_s = t.elapsed().as_secs_f64();
    store.close();
    let wall_s = start.elapsed().as_secs_f64();
    let (disk_end, alloc_end) = disk_bytes(dir);
    assert_eq!(st.popped + drained, p.n);
    println!(
        "RESULT store={kind} n={} hosts={} batch={} fill_s={fill_s:.3} appends_per_s={:.0} pops_in_fill={} \
         reopen_s={reopen_s:.3} queued_at_reopen={queued_at_reopen} drain_s={drain_s:.3} pops_per_s={:.0} \
         wall_s={wall_s:.3} disk_fill={disk_fill} alloc_fill={alloc_fill} disk_end={disk_end} alloc_end={alloc_end} \
         hwm_kib={} checksum={:x}",
        p.n,
        p.hosts,
        p.batch,
        p.n as f64 / fill_s,
        st.popped,
        drained as f64 / drain_s,
        vm_hwm_kib(),
        st.checksum & 0xffff_ffff,
    );
}

// ---------------------------------------------------------------------------------------------
// Orchestration

fn parse_result(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn bench_dir() -> PathBuf {
    let base = std::env::var_os("BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    base.join(format!("store-bench-{}", std::process::id()))
}

fn child_args(p: &Params) -> Vec<String> {
    vec![
        "--n".into(),
        p.n.to_string(),
        "--hosts".into(),
        p.hosts.to_string(),
        "--batch".into(),
        p.batch.to_string(),
        "--seed".into(),
        p.seed.to_string(),
    ]
}

fn run(p: &Params, stores: &[String], rounds: u32) {
    let base = bench_dir();
    let exe = std::env::current_exe().unwrap();
    let mut results: HashMap<String, Vec<HashMap<String, String>>> = HashMap::new();
    eprintln!(
        "n={} hosts={} batch={} rounds={rounds} stores={} dir={} (fjall {}, redb {})",
        p.n,
        p.hosts,
        p.batch,
        stores.join(","),
        base.display(),
        FJALL_VERSION,
        REDB_VERSION
    );
    for round in 1..=rounds {
        for kind in stores {
            let dir = base.join(format!("{kind}-{round}"));
            let out = Command::new(&exe)
                .arg("one")
                .arg(kind)
                .args(child_args(p))
                .arg("--dir")
                .arg(&dir)
                .stderr(Stdio::inherit())
                .output()
                .expect("run a store");
            let _ = std::fs::remove_dir_all(&dir);
            let text = String::from_utf8_lossy(&out.stdout);
            let Some(line) = text.lines().find(|l| l.starts_with("RESULT ")) else {
                eprintln!("round {round} {kind}: failed ({})", out.status);
                continue;
            };
            eprintln!("round {round} {line}");
            results.entry(kind.clone()).or_default().push(parse_result(line));
        }
    }
    let _ = std::fs::remove_dir_all(&base);
    println!(
        "\nmedians of {rounds} rounds: n={} hosts={} batch={} (1 pop per {LINKS_PER_PAGE} appends while filling, \
         then a drain)",
        p.n, p.hosts, p.batch
    );
    println!(
        "{:<9} {:>5} {:>11} {:>10} {:>9} {:>9} {:>12} {:>12} {:>10}",
        "store", "runs", "appends/s", "pops/s", "wall s", "reopen s", "disk full MB", "disk end MB", "RSS MB"
    );
    for kind in stores {
        let runs = results.get(kind).cloned().unwrap_or_default();
        let m = |k: &str| median(runs.iter().filter_map(|r| r.get(k)?.parse::<f64>().ok()).collect());
        println!(
            "{:<9} {:>5} {:>11.0} {:>10.0} {:>9.2} {:>9.3} {:>12.1} {:>12.1} {:>10.1}",
            kind,
            runs.len(),
            m("appends_per_s"),
            m("pops_per_s"),
            m("wall_s"),
            m("reopen_s"),
            m("alloc_fill") / 1e6,
            m("alloc_end") / 1e6,
            m("hwm_kib") / 1024.0,
        );
    }
}

const FJALL_VERSION: &str = "3.1.13";
const REDB_VERSION: &str = "5.0.0";

/// Fill in a child process, SIGKILL it in the middle of a batch, reopen what it left and compare with
/// what its last sync had made durable.
fn crash(kind: &str, p: &Params, kill_after_syncs: u64) {
    let base = bench_dir();
    let dir = base.join(format!("crash-{kind}"));
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(&exe)
        .arg("fill-only")
        .arg(kind)
        .args(child_args(p))
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start a filling process");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut synced = (0u64, 0u64);
    let mut syncs = 0;
    while syncs < kill_after_syncs {
        let Some(Ok(line)) = lines.next() else { break };
        if let Some(rest) = line.strip_prefix("synced ") {
            let mut it = rest.split(' ').map(|x| x.parse::<u64>().unwrap());
            synced = (it.next().unwrap(), it.next().unwrap());
            syncs += 1;
        }
    }
    // Into the next batch: some of it written, none of it synced.
    std::thread::sleep(Duration::from_millis(150));
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.wait().unwrap();
    let t = Instant::now();
    let result = std::panic::catch_unwind(|| reopen(kind, &dir, p.hosts).1);
    let reopen_s = t.elapsed().as_secs_f64();
    match result {
        Ok(counts) => {
            let queued: u64 = counts.iter().sum();
            let at_sync = synced.0 - synced.1;
            println!(
                "CRASH store={kind} killed 150 ms after sync {syncs} (appended {} popped {} then: {at_sync} queued); \
                 reopened in {reopen_s:.3} s with {queued} queued: {}",
                synced.0,
                synced.1,
                if queued >= at_sync.saturating_sub(p.batch / LINKS_PER_PAGE as u64 + 1) {
                    "nothing synced was lost"
                } else {
                    "URLS SYNCED WERE LOST"
                }
            );
        }
        Err(_) => println!("CRASH store={kind}: reopen FAILED after {reopen_s:.3} s"),
    }
    let _ = std::fs::remove_dir_all(&base);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut p = Params { n: 2_000_000, hosts: 1_000, batch: 120_000, seed: 1 };
    let mut stores: Vec<String> = vec!["journal".into(), "fjall".into(), "redb".into()];
    let mut rounds = 3;
    let mut dir = None;
    let mut kill_after = 5;
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().unwrap_or_else(|| panic!("{a} needs a value")).clone();
        match a.as_str() {
            "--n" => p.n = val().replace('_', "").parse().unwrap(),
            "--hosts" => p.hosts = val().parse().unwrap(),
            "--batch" => p.batch = val().replace('_', "").parse().unwrap(),
            "--seed" => p.seed = val().parse().unwrap(),
            "--rounds" => rounds = val().parse().unwrap(),
            "--stores" => stores = val().split(',').map(str::to_owned).collect(),
            "--dir" => dir = Some(PathBuf::from(val())),
            "--kill-after-syncs" => kill_after = val().parse().unwrap(),
            "-h" | "--help" => {
                println!(
                    "store-bench run [--n N] [--hosts H] [--batch B] [--rounds R] [--stores journal,fjall,redb]\n\
                     store-bench crash STORE [--n N] [--batch B] [--kill-after-syncs K]\n\
                     store-bench one STORE --dir DIR [--n N] [--hosts H] [--batch B]   (one run, one process)"
                );
                return;
            }
            _ => positional.push(a.clone()),
        }
    }
    match positional.first().map(String::as_str) {
        Some("run") | None => run(&p, &stores, rounds),
        Some("one") => one(&positional[1], &dir.expect("--dir"), &p),
        Some("fill-only") => {
            let dir = dir.expect("--dir");
            std::fs::create_dir_all(&dir).unwrap();
            let mut st = FillState {
                gen: Gen::new(p.hosts, p.seed),
                sched: Scheduler { queued: vec![0; p.hosts as usize], ready: VecDeque::new() },
                appended: 0,
                popped: 0,
                links: Vec::new(),
                checksum: 0,
            };
            let mut store = create(&positional[1], &dir, p.hosts);
            let stdout = std::io::stdout();
            fill(store.as_mut(), &p, &mut st, |a, q| {
                let mut out = stdout.lock();
                writeln!(out, "synced {a} {q}").unwrap();
                out.flush().unwrap();
            });
        }
        Some("crash") => {
            let kinds: Vec<String> = positional.get(1).map_or(stores.clone(), |k| vec![k.clone()]);
            for k in kinds {
                crash(&k, &p, kill_after);
            }
        }
        Some(other) => panic!("unknown command {other} (run, one, crash)"),
    }
}
