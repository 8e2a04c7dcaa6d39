#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn fp(s: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(s.as_bytes())
}

fn candidate(s: &str, depth: u32) -> Candidate {
    Candidate {
        url: url(s),
        fingerprint: fp(s),
        depth,
        parent: Some(Arc::from("http://parent/")),
        redirects: 0,
        via: Via::Link,
    }
}

#[test]
fn how_a_url_was_found_reaches_its_lease() {
    let mut f = Frontier::new(FrontierConfig::default());
    f.add(Candidate { via: Via::Sitemap, ..candidate("http://a/x", 0) });
    let Next::Ready(lease) = f.next(Instant::now()) else { panic!("ready") };
    assert_eq!(lease.via, Via::Sitemap);
    f.give_back(&lease, None);
    let Next::Ready(lease) = f.next(Instant::now()) else { panic!("ready again") };
    assert_eq!(lease.via, Via::Sitemap, "kept when given back");
}

fn unlimited() -> FrontierConfig {
    FrontierConfig { per_host_concurrency: 4, delay: Duration::ZERO, max_depth: None, max_pages: None }
}

fn lease(f: &mut Frontier, now: Instant) -> Lease {
    match f.next(now) {
        Next::Ready(lease) => lease,
        other => panic!("expected a lease, got {other:?}"),
    }
}

/// Lease a URL and report its robots verdict so that the host's concurrency opens up.
fn lease_known(f: &mut Frontier, now: Instant) -> Lease {
    let l = lease(f, now);
    f.set_host_delay(l.host, None, None);
    l
}

#[test]
fn duplicates_are_known_and_a_shallower_copy_lowers_the_depth() {
    let mut f = Frontier::new(unlimited());
    assert_eq!(f.add(candidate("http://a/x", 5)), Added::New);
    assert_eq!(f.add(candidate("http://a/x", 5)), Added::Known);
    assert_eq!(f.add(candidate("http://a/x", 7)), Added::Known);
    assert_eq!(f.add(candidate("http://a/x", 2)), Added::Lowered);
    assert_eq!(f.stats().queued, 1);
    let now = Instant::now();
    let l = lease(&mut f, now);
    assert_eq!((l.url.as_str(), l.depth), ("http://a/x", 2));
    f.complete(&l, now);
    // The stale depth-5 copy is skipped, and a leased URL is never re-queued.
    assert!(matches!(f.next(now), Next::Done));
    assert_eq!(f.add(candidate("http://a/x", 0)), Added::Known);
}

#[test]
fn a_level_opens_only_when_nothing_two_levels_shallower_is_pending() {
    let mut f = Frontier::new(unlimited());
    let now = Instant::now();
    f.add(candidate("http://a/seed", 0));
    let seed = lease_known(&mut f, now);
    // While the depth-0 seed is in flight, depth 1 may go but depth 2 may not.
    f.add(candidate("http://b/one", 1));
    f.add(candidate("http://c/two", 2));
    let one = lease(&mut f, now);
    assert_eq!(one.depth, 1);
    assert!(matches!(f.next(now), Next::Busy));
    // The seed completes: depth 0 has drained, so depth 2 opens.
    f.complete(&seed, now);
    let two = lease(&mut f, now);
    assert_eq!(two.depth, 2);
}

#[test]
fn a_url_found_deep_then_shallow_is_leased_at_the_shallow_depth() {
    // seed -> a -> b -> c -> d -> x (depth 5), and seed -> short -> x (depth 2), with "short" slow.
    let mut f = Frontier::new(unlimited());
    let now = Instant::now();
    f.add(candidate("http://h/seed", 0));
    let seed = lease_known(&mut f, now);
    f.add(candidate("http://h/short", 1));
    f.add(candidate("http://h/a", 1));
    f.complete(&seed, now);
    let short = lease(&mut f, now);
    let a = lease(&mut f, now);
    f.add(candidate("http://h/b", 2));
    f.complete(&a, now);
    // "short" (depth 1) is still in flight, so depth 3 may not start: b (depth 2) may.
    let b = lease(&mut f, now);
    assert_eq!(b.depth, 2);
    f.add(candidate("http://h/c", 3));
    f.complete(&b, now);
    assert!(matches!(f.next(now), Next::Busy), "depth 3 waits for depth 1 to drain");
    // The slow page finally yields x at depth 2.
    f.add(candidate("http://h/x", 2));
    f.complete(&short, now);
    let mut leased = Vec::new();
    while let Next::Ready(l) = f.next(now) {
        leased.push((l.url.path().to_owned(), l.depth));
        f.complete(&l, now);
    }
    assert_eq!(leased, [("/x".to_owned(), 2), ("/c".to_owned(), 3)]);
}

#[test]
fn one_lease_per_host_until_robots_is_known_then_per_host_concurrency() {
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 2, ..unlimited() });
    let now = Instant::now();
    for i in 0..5 {
        f.add(candidate(&format!("http://a/{i}"), 0));
    }
    let first = lease(&mut f, now);
    assert!(first.first_of_host);
    assert!(matches!(f.next(now), Next::Busy));
    f.set_host_delay(first.host, None, None);
    let second = lease(&mut f, now);
    assert!(!second.first_of_host);
    assert!(matches!(f.next(now), Next::Busy), "two in flight is the limit");
    f.complete(&first, now);
    let _third = lease(&mut f, now);
    assert_eq!(f.stats().in_flight, 2);
}

#[test]
fn the_delay_runs_from_the_end_of_a_fetch_and_crawl_delay_raises_it() {
    let delay = Duration::from_millis(250);
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 1, delay, ..unlimited() });
    let t0 = Instant::now();
    for i in 0..3 {
        f.add(candidate(&format!("http://a/{i}"), 0));
    }
    let l = lease(&mut f, t0);
    let t1 = t0 + Duration::from_millis(40);
    f.set_host_delay(l.host, None, None);
    f.complete(&l, t1);
    match f.next(t1) {
        Next::Wait(at) => assert_eq!(at, t1 + delay),
        other => panic!("expected a wait, got {other:?}"),
    }
    let l = lease(&mut f, t1 + delay);
    f.set_host_delay(l.host, Some(Duration::from_secs(2)), None);
    let t2 = t1 + delay + Duration::from_millis(10);
    f.complete(&l, t2);
    match f.next(t2) {
        Next::Wait(at) => assert_eq!(at, t2 + Duration::from_secs(2)),
        other => panic!("expected a wait, got {other:?}"),
    }
}

#[test]
fn a_crawl_delay_means_one_request_at_a_time() {
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 4, ..unlimited() });
    let now = Instant::now();
    for i in 0..3 {
        f.add(candidate(&format!("http://a/{i}"), 0));
    }
    let first = lease(&mut f, now);
    f.set_host_delay(first.host, Some(Duration::from_secs(1)), None);
    assert!(matches!(f.next(now), Next::Busy));
}

#[test]
fn a_lease_that_made_no_request_leaves_the_politeness_clock_alone() {
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 1, delay: Duration::from_secs(5), ..unlimited() });
    let now = Instant::now();
    f.add(candidate("http://a/blocked", 0));
    f.add(candidate("http://a/next", 0));
    let l = lease_known(&mut f, now);
    f.complete_unrequested(&l);
    assert_eq!(lease(&mut f, now).url.path(), "/next");
}

#[test]
fn a_waiting_host_does_not_hold_up_another() {
    let mut f =
        Frontier::new(FrontierConfig { per_host_concurrency: 1, delay: Duration::from_secs(10), ..unlimited() });
    let now = Instant::now();
    f.add(candidate("http://slow/1", 0));
    f.add(candidate("http://slow/2", 0));
    f.add(candidate("http://fast/1", 0));
    let a = lease(&mut f, now);
    f.set_host_delay(a.host, None, None);
    f.complete(&a, now);
    let b = lease(&mut f, now);
    assert_ne!(a.host, b.host);
}

#[test]
fn max_depth_refuses_and_max_pages_stops_leasing() {
    let mut f = Frontier::new(FrontierConfig { max_depth: Some(1), max_pages: Some(2), ..unlimited() });
    assert_eq!(f.add(candidate("http://a/deep", 2)), Added::TooDeep);
    let now = Instant::now();
    for i in 0..4 {
        f.add(candidate(&format!("http://h{i}/"), 0));
    }
    let a = lease(&mut f, now);
    let b = lease(&mut f, now);
    assert!(matches!(f.next(now), Next::Busy));
    // Still queued after the limit, never leased: what was left is counted.
    assert_eq!(f.add(candidate("http://a/more", 1)), Added::New);
    f.complete(&a, now);
    f.complete(&b, now);
    assert!(matches!(f.next(now), Next::Done));
    assert_eq!(f.stats().leased, 2);
    assert_eq!(f.stats().queued, 3);
    assert!(f.cut_by_max_pages());
}

#[test]
fn a_crawl_of_exactly_max_pages_is_not_cut_by_it() {
    let mut f = Frontier::new(FrontierConfig { max_pages: Some(2), ..unlimited() });
    let now = Instant::now();
    f.add(candidate("http://a/", 0));
    let home = lease_known(&mut f, now);
    assert!(!f.cut_by_max_pages());
    f.add(candidate("http://a/x", 1));
    f.complete(&home, now);
    let x = lease(&mut f, now);
    // Links back to pages already met, after the limit was reached.
    assert_eq!(f.add(candidate("http://a/", 2)), Added::Known);
    assert_eq!(f.add(candidate("http://a/x", 2)), Added::Known);
    f.complete(&x, now);
    assert!(matches!(f.next(now), Next::Done));
    assert!(!f.cut_by_max_pages());
}

#[test]
fn a_retry_pauses_its_host_goes_first_and_does_not_count_as_a_new_page() {
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 1, max_pages: Some(1), ..unlimited() });
    let now = Instant::now();
    f.add(candidate("http://a/1", 0));
    f.add(candidate("http://a/2", 0));
    let l = lease(&mut f, now);
    let later = now + Duration::from_secs(5);
    f.retry(&l, now, later);
    match f.next(now) {
        Next::Wait(at) => assert_eq!(at, later),
        other => panic!("expected a wait, got {other:?}"),
    }
    let again = lease(&mut f, later);
    assert_eq!((again.url.as_str(), again.retries), ("http://a/1", 1));
    f.complete(&again, later);
    // max_pages = 1 counted the first lease only; /2 is never leased.
    assert!(matches!(f.next(later + Duration::from_secs(1)), Next::Done));
}

/// Regression (issue 6, defect 5): a retry held its whole host until its backoff ended.
#[test]
fn a_url_waiting_for_a_retry_does_not_hold_its_host() {
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 1, ..unlimited() });
    let now = Instant::now();
    for path in ["1", "2", "3"] {
        f.add(candidate(&format!("http://a/{path}"), 0));
    }
    let one = lease_known(&mut f, now);
    let later = now + Duration::from_secs(5);
    f.retry(&one, now, later);
    for expected in ["/2", "/3"] {
        let l = lease(&mut f, now);
        assert_eq!(l.url.path(), expected, "the host's other URLs go on");
        f.complete(&l, now);
    }
    match f.next(now) {
        Next::Wait(at) => assert_eq!(at, later),
        other => panic!("expected a wait for the retry, got {other:?}"),
    }
    let again = lease(&mut f, later);
    assert_eq!((again.url.path(), again.retries), ("/1", 1));
    f.complete(&again, later);
    assert!(matches!(f.next(later), Next::Done));
}

/// Regression: a URL waiting for a retry was lowered by a shallower offer; its retry entry then
/// completed under the old depth, a level count leaked, and the crawl ended with work queued.
#[test]
fn a_url_waiting_for_a_retry_is_never_lowered() {
    let mut f = Frontier::new(unlimited());
    let now = Instant::now();
    f.add(candidate("http://h/s", 0));
    let s = lease_known(&mut f, now);
    f.add(candidate("http://h/p", 1));
    f.add(candidate("http://h/q", 1));
    f.complete(&s, now);
    let p = lease(&mut f, now);
    let q = lease(&mut f, now);
    f.add(candidate("http://h/x", 2));
    f.complete(&q, now);
    let x = lease(&mut f, now);
    f.retry(&x, now, now);
    assert_eq!(f.add(candidate("http://h/x", 1)), Added::Known);
    f.complete(&p, now);
    let x = lease(&mut f, now);
    assert_eq!((x.url.path(), x.depth, x.retries), ("/x", 2, 1));
    f.add(candidate("http://h/z", 3));
    f.complete(&x, now);
    let z = lease(&mut f, now);
    assert_eq!(z.url.path(), "/z");
    f.complete(&z, now);
    assert!(matches!(f.next(now), Next::Done));
    assert_eq!(f.stats().queued, 0);
}

#[test]
fn the_seen_set_tells_fetch_tasks_which_links_can_matter() {
    let mut f = Frontier::new(unlimited());
    let seen = f.seen_set();
    f.add(candidate("http://a/x", 3));
    assert!(seen.may_improve(fp("http://a/new"), 9));
    assert!(seen.may_improve(fp("http://a/x"), 2));
    assert!(!seen.may_improve(fp("http://a/x"), 3));
    let l = lease(&mut f, Instant::now());
    assert!(!seen.may_improve(l.fingerprint, 0), "a leased URL is never fetched again");
}

#[test]
fn ports_are_separate_hosts() {
    assert_eq!(Frontier::host_key_of(&url("http://Example.com/")).unwrap(), "example.com:80");
    assert_eq!(Frontier::host_key_of(&url("http://127.0.0.1:8080/")).unwrap(), "127.0.0.1:8080");
}

/// The first lease of a host may only fetch robots.txt: given back, the URL goes out again first, the
/// host opens up to its concurrency at once, and its delay runs from the robots.txt request.
#[test]
fn a_lease_given_back_after_robots_txt_goes_first_and_opens_the_host() {
    let delay = Duration::from_millis(100);
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 2, delay, max_pages: Some(2), ..unlimited() });
    let now = Instant::now();
    for i in 0..3 {
        f.add(candidate(&format!("http://a/{i}"), 0));
    }
    let first = lease(&mut f, now);
    assert!(first.first_of_host);
    assert!(matches!(f.next(now), Next::Busy), "one at a time until robots.txt is known");
    f.set_host_delay(first.host, None, None);
    f.give_back(&first, Some(now));
    assert_eq!(f.stats().in_flight, 0);
    match f.next(now) {
        Next::Wait(at) => assert_eq!(at, now + delay),
        other => panic!("expected a wait, got {other:?}"),
    }
    let later = now + delay;
    let again = lease(&mut f, later);
    assert_eq!((again.url.as_str(), again.retries, again.first_of_host), ("http://a/0", 0, false));
    let second = lease(&mut f, later);
    assert_eq!(second.url.as_str(), "http://a/1");
    // max_pages = 2 counted /0 once.
    f.complete(&again, later);
    f.complete(&second, later);
    assert!(matches!(f.next(later + delay), Next::Done));
    assert_eq!(f.stats().leased, 2);
}

#[test]
fn longest_queues_lists_the_busiest_hosts_first() {
    let mut f = Frontier::new(unlimited());
    for s in ["http://a/1", "http://b/1", "http://b/2", "http://c/1", "http://c/2", "http://c/3"] {
        f.add(candidate(s, 0));
    }
    assert_eq!(f.longest_queues(2), [("c:80", 3), ("b:80", 2)]);
    assert_eq!(f.longest_queues(10).len(), 3);
}

#[test]
fn a_resumed_frontier_queues_what_was_not_done_in_order_at_its_shallowest_depth() {
    let state = tempfile::tempdir().unwrap();
    let now = Instant::now();
    let done: std::collections::HashSet<u128>;
    {
        let mut f = Frontier::create_durable(unlimited(), state.path()).unwrap();
        f.add(candidate("http://a/seed", 0));
        let seed = lease_known(&mut f, now);
        for (u, d) in [("http://a/1", 1), ("http://a/2", 1), ("http://b/3", 2), ("http://a/4", 3), ("http://a/5", 1)] {
            f.add(candidate(u, d));
        }
        f.add(candidate("http://a/4", 1)); // found again more shallowly
        f.complete(&seed, now);
        let one = lease(&mut f, now); // in flight when the process dies: queued again
        assert_eq!(one.url.as_str(), "http://a/1");
        f.journal_sync().unwrap().sync().unwrap();
        done = [fp("http://a/seed"), fp("http://a/2")].into();
    }
    let done: FingerprintSet = done.into_iter().collect();
    let (mut f, resumed) = Frontier::resume(unlimited(), state.path(), None, &done, |_| {}).unwrap();
    assert_eq!((resumed.replayed.frames, resumed.done, resumed.queued), (7, 2, 4));
    assert_eq!(f.stats().leased, 2, "pages done count toward max_pages");
    let mut order = Vec::new();
    while let Next::Ready(l) = f.next(now) {
        f.set_host_delay(l.host, None, None);
        order.push((l.url.to_string(), l.depth));
        f.complete(&l, now);
    }
    // Host a in the order its URLs were queued (a/4 joined depth 1 last), each at its shallowest depth.
    let of_a: Vec<_> = order.iter().filter(|(u, _)| u.starts_with("http://a/")).cloned().collect();
    let expected = [("http://a/1", 1), ("http://a/5", 1), ("http://a/4", 1)];
    assert_eq!(of_a, expected.map(|(u, d)| (u.to_owned(), d)));
    assert!(order.contains(&("http://b/3".to_owned(), 2)) && order.len() == 4, "{order:?}");
    // A URL done before the crash stays known: offered again, it is not queued.
    assert_eq!(f.add(candidate("http://a/2", 0)), Added::Known);
}

#[test]
fn the_seen_set_keys_on_96_bits_and_keeps_depth_and_state_in_32() {
    let seen = SeenSet::default();
    let fp = 0x0123_4567_89ab_cdef_0011_2233_4455_6677_u128;
    assert!(matches!(seen.offer(fp, 7), seen::Offer::New));
    assert!(seen.is_queued_at(fp, 7));
    assert!(matches!(seen.offer(fp, 3), seen::Offer::Lowered { from: 7 }));
    seen.mark_leased(fp);
    assert!(!seen.may_improve(fp, 0), "a leased URL is never offered again");
    // Fingerprints that agree in their 96 low bits are one URL to the set (documented odds: n²/2⁹⁷).
    assert!(matches!(seen.offer(fp ^ (1 << 100), 1), seen::Offer::Known));
    let other = fp ^ 1;
    assert!(matches!(seen.offer(other, 1_000_000), seen::Offer::New));
    assert!(seen.is_queued_at(other, 1_000_000));
    seen.mark_done(other);
    assert!(matches!(seen.offer(other, 0), seen::Offer::Known));
    assert_eq!(seen.len(), 2);
}

#[test]
fn the_host_key_of_a_serialized_url_is_that_of_the_parsed_one() {
    for raw in [
        "http://a.test/",
        "https://a.test/x?y#z",
        "http://a.test:8080/p",
        "https://a.test:443/",
        "http://user:pw@a.test:81/",
        "http://[::1]/",
        "http://[::1]:8080/x",
        "https://[2001:db8::1]:8443?q",
        "http://127.0.0.1:9/",
        "http://xn--bcher-kva.test/b%C3%BC",
        "ftp://files.test/f",
        "ws://a.test/s",
    ] {
        let url = Url::parse(raw).unwrap();
        assert_eq!(host_key_str(url.as_str()), host_key(&url), "{raw}");
    }
}

/// Lease and complete everything `f` hands out; the (url, depth) of each lease in order.
fn drain(f: &mut Frontier, now: Instant) -> Vec<(String, u32)> {
    let mut order = Vec::new();
    while let Next::Ready(l) = f.next(now) {
        f.set_host_delay(l.host, None, None);
        order.push((l.url.to_string(), l.depth));
        f.complete(&l, now);
    }
    order
}

#[test]
fn a_resume_from_a_snapshot_rebuilds_what_a_full_replay_does() {
    let state = tempfile::tempdir().unwrap();
    let now = Instant::now();
    let mut before = FingerprintSet::default();
    let mut after = FingerprintSet::default();
    {
        let mut f = Frontier::create_durable(unlimited(), state.path()).unwrap();
        f.set_snapshot_after(Some(1));
        f.add(candidate("http://a/seed", 0));
        let seed = lease_known(&mut f, now);
        for (u, d) in [("http://a/1", 1), ("http://a/2", 1), ("http://b/3", 1), ("http://a/4", 3), ("http://b/5", 2)] {
            f.add(candidate(u, d));
        }
        f.complete(&seed, now);
        before.insert(fp("http://a/seed"));
        let in_flight = lease(&mut f, now);
        assert_eq!(in_flight.url.as_str(), "http://a/1");
        let retried = lease(&mut f, now);
        f.retry(&retried, now, now);
        // Lowered before the snapshot: its deeper entry is stale and must not come back.
        assert_eq!(f.add(candidate("http://b/5", 1)), Added::Lowered);
        assert!(f.snapshot_due());
        let pending = f.write_snapshot(b"the caller's own").unwrap().unwrap();
        assert!(!f.snapshot_due(), "nothing happened since");
        pending.commit(1234).unwrap();
        // After the snapshot: a new host, a URL the snapshot holds queued found more shallowly, a URL
        // the snapshot holds queued done, and one leased and lost with the process.
        f.add(candidate("http://c/6", 1));
        f.add(candidate("http://a/4", 1));
        let done = lease(&mut f, now);
        f.complete(&done, now);
        after.insert(done.fingerprint);
        let _lost = lease(&mut f, now);
        f.journal_sync().unwrap().sync().unwrap();
    }
    let snapshot = Snapshot::open(state.path()).unwrap().unwrap();
    assert_eq!((snapshot.pages_bytes(), snapshot.extra()), (1234, &b"the caller's own"[..]));
    let (mut from_snapshot, resumed) =
        Frontier::resume(unlimited(), state.path(), Some(&snapshot), &after, |_| {}).unwrap();
    assert!(resumed.from_snapshot);
    assert_eq!(resumed.replayed.frames, 2, "only the frames after the snapshot are replayed");
    let all: FingerprintSet = before.union(&after).copied().collect();
    let (mut replayed, full) = Frontier::resume(unlimited(), state.path(), None, &all, |_| {}).unwrap();
    assert_eq!((resumed.done, resumed.queued), (full.done, full.queued));
    assert_eq!((resumed.done, resumed.queued), (2, 5));
    assert_eq!(from_snapshot.stats().leased, replayed.stats().leased);
    let (a, b) = (drain(&mut from_snapshot, now), drain(&mut replayed, now));
    let of = |order: &[(String, u32)], host: &str| -> Vec<(String, u32)> {
        order.iter().filter(|(u, _)| u.starts_with(host)).cloned().collect()
    };
    for host in ["http://a/", "http://b/", "http://c/"] {
        assert_eq!(of(&a, host), of(&b, host), "{host}");
    }
    assert_eq!(a.len(), 5);
    assert!(a.contains(&("http://a/4".to_owned(), 1)), "at the depth it was lowered to after the snapshot");
    assert_eq!(from_snapshot.add(candidate("http://a/seed", 0)), Added::Known, "done before the snapshot");
    assert!(after.iter().all(|&fingerprint| !from_snapshot.seen_set().may_improve(fingerprint, 0)), "done after it");
}

#[test]
fn a_damaged_snapshot_is_refused_by_its_checksum() {
    let state = tempfile::tempdir().unwrap();
    let mut f = Frontier::create_durable(unlimited(), state.path()).unwrap();
    f.add(candidate("http://a/1", 0));
    f.write_snapshot(&[]).unwrap().unwrap().commit(0).unwrap();
    let path = state.path().join(SNAPSHOT_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let error = Snapshot::open(state.path()).unwrap_err();
    assert!(error.to_string().contains("checksum"), "{error}");
    std::fs::write(&path, &bytes[..10]).unwrap();
    assert!(Snapshot::open(state.path()).unwrap_err().to_string().contains("cut short"));
    // An uncommitted snapshot is never read.
    std::fs::remove_file(&path).unwrap();
    drop(f.write_snapshot(&[]).unwrap());
    assert!(Snapshot::open(state.path()).unwrap().is_none());
}

/// Issue 6: a robots.txt refetch ran beside the host's other fetches. Now the frontier owns the
/// verdict's expiry: once it passes, no lease of the host starts until those in flight are done, and the
/// next one is marked to reload robots.txt.
#[test]
fn an_expired_verdict_gates_the_host_until_its_leases_are_done() {
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 3, ..unlimited() });
    let t0 = Instant::now();
    for i in 0..6 {
        f.add(candidate(&format!("http://a/{i}"), 0));
    }
    let first = lease(&mut f, t0);
    assert!(first.first_of_host && !first.verdict_expired, "a first contact");
    f.set_host_delay(first.host, None, Some(t0 + Duration::from_secs(10)));
    f.give_back(&first, Some(t0));
    let open: Vec<Lease> = (0..3).map(|_| lease(&mut f, t0)).collect();
    assert!(open.iter().all(|l| !l.first_of_host));
    let t1 = t0 + Duration::from_secs(10);
    f.complete(&open[0], t1);
    assert!(matches!(f.next(t1), Next::Busy), "expired: nothing new beside the two in flight");
    f.complete(&open[1], t1);
    assert!(matches!(f.next(t1), Next::Busy), "nor beside the one left");
    f.complete(&open[2], t1);
    let reload = lease(&mut f, t1);
    assert!(reload.first_of_host && reload.verdict_expired, "the next lease reloads robots.txt");
    assert!(matches!(f.next(t1), Next::Busy), "alone while it does");
    f.set_host_delay(reload.host, None, Some(t1 + Duration::from_secs(10)));
    assert!(!lease(&mut f, t1).first_of_host, "the reloaded verdict opens the host again");
}

/// A verdict that expires at once (robots.txt could not be kept) must not livelock: the host stays
/// gated, one lease at a time, each of them reloading, and every URL is still handed out.
#[test]
fn a_verdict_that_expires_at_once_keeps_the_host_gated_and_leasing() {
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 4, ..unlimited() });
    let now = Instant::now();
    for i in 0..3 {
        f.add(candidate(&format!("http://a/{i}"), 0));
    }
    for _ in 0..3 {
        let l = lease(&mut f, now);
        assert!(l.first_of_host);
        f.set_host_delay(l.host, None, Some(now));
        assert!(matches!(f.next(now), Next::Busy), "one at a time");
        f.complete(&l, now);
    }
    assert!(matches!(f.next(now), Next::Done));
}

#[test]
fn a_verdict_expired_early_gates_the_host() {
    let mut f = Frontier::new(FrontierConfig { per_host_concurrency: 2, ..unlimited() });
    let now = Instant::now();
    for i in 0..4 {
        f.add(candidate(&format!("http://a/{i}"), 0));
    }
    let a = lease_known(&mut f, now);
    let b = lease(&mut f, now);
    f.expire_host_verdict(b.host);
    f.complete(&a, now);
    assert!(matches!(f.next(now), Next::Busy), "gated while b is in flight");
    f.complete(&b, now);
    let reload = lease(&mut f, now);
    assert!(reload.first_of_host && reload.verdict_expired);
}
