//! Randomized model check of the frontier's promises, driven only through its public API: on random link
//! graphs over a few hosts, with redirects and retries, completed in random order, every reachable URL is
//! leased (and recorded) exactly once, at its true shortest depth, and the crawl ends with nothing left;
//! and a lease that (re)loads a host's robots.txt never runs beside another lease of that host.

#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawld_frontier::{Candidate, Frontier, FrontierConfig, Lease, Next};
use url::Url;

/// xorshift64: deterministic, so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn url_of(page: usize, hosts: usize) -> String {
    format!("http://h{}/{}", page % hosts, page)
}

fn candidate(page: usize, hosts: usize, depth: u32, parent: &Lease, redirects: u8) -> Candidate {
    let url = url_of(page, hosts);
    Candidate {
        fingerprint: xxhash_rust::xxh3::xxh3_128(url.as_bytes()),
        url: Url::parse(&url).unwrap(),
        depth,
        parent: Some(Arc::from(parent.url.as_str())),
        redirects,
        via: crawld_frontier::Via::Link,
    }
}

/// Shortest depth of every page from page 0: a link or a redirect is one hop; a redirect is the only
/// way out of a page that redirects.
fn true_depths(links: &[Vec<usize>], redirect: &[Option<usize>]) -> Vec<Option<u32>> {
    let mut depth = vec![None; links.len()];
    depth[0] = Some(0);
    let mut queue = VecDeque::from([0]);
    while let Some(page) = queue.pop_front() {
        let next = depth[page].unwrap() + 1;
        let outs: Vec<usize> = redirect[page].map_or_else(|| links[page].clone(), |t| vec![t]);
        for out in outs {
            if depth[out].is_none() {
                depth[out] = Some(next);
                queue.push_back(out);
            }
        }
    }
    depth
}

fn run(seed: u64, redirects: bool, retries: bool) -> Result<(), String> {
    let mut rng = Rng(seed | 1);
    let n = 30 + rng.below(40) as usize;
    let hosts = 1 + rng.below(3) as usize;
    let links: Vec<Vec<usize>> =
        (0..n).map(|_| (0..rng.below(4)).map(|_| rng.below(n as u64) as usize).collect()).collect();
    let redirect: Vec<Option<usize>> =
        (0..n).map(|i| (redirects && i > 0 && rng.below(6) == 0).then(|| rng.below(n as u64) as usize)).collect();
    let truth = true_depths(&links, &redirect);
    let page_of: HashMap<String, usize> = (0..n).map(|i| (url_of(i, hosts), i)).collect();
    let per_host = 1 + rng.below(3) as usize;
    let expiring = rng.below(2) == 0;
    let mut f = Frontier::new(FrontierConfig {
        per_host_concurrency: per_host,
        delay: Duration::ZERO,
        max_depth: None,
        max_pages: None,
    });
    let now = Instant::now();
    let seed_url = url_of(0, hosts);
    f.add(Candidate::seed(Url::parse(&seed_url).unwrap(), xxhash_rust::xxh3::xxh3_128(seed_url.as_bytes())));

    let mut in_flight: Vec<Lease> = Vec::new();
    let mut leased_now: HashSet<u128> = HashSet::new();
    let mut recorded: HashMap<usize, u32> = HashMap::new();
    let mut tries: HashMap<usize, u32> = HashMap::new();
    for _ in 0..100_000 {
        if rng.below(3) == 0 || in_flight.is_empty() {
            match f.next(now) {
                Next::Ready(lease) => {
                    if !leased_now.insert(lease.fingerprint) {
                        return Err(format!("{} leased twice at once", lease.url));
                    }
                    // (This model reports a verdict as soon as its lease is out, so only the start is checked.)
                    let beside = in_flight.iter().find(|l| l.host == lease.host && lease.first_of_host);
                    if let Some(other) = beside {
                        return Err(format!(
                            "{} leased beside {} while robots.txt was (re)loaded",
                            lease.url, other.url
                        ));
                    }
                    if lease.first_of_host {
                        // Verdicts that expire at once gate the host for every lease; see that it still ends.
                        f.set_host_delay(lease.host, None, expiring.then_some(now));
                    } else if rng.below(8) == 0 {
                        // The robots.txt cache let the host's copy go.
                        f.expire_host_verdict(lease.host);
                    }
                    in_flight.push(lease);
                }
                Next::Done => break,
                Next::Busy | Next::Wait(_) if in_flight.is_empty() => {
                    return Err(format!("stuck with nothing in flight: {:?}", f.stats()));
                }
                Next::Busy | Next::Wait(_) => {}
                Next::Broken(error) => return Err(error),
            }
            continue;
        }
        let lease = in_flight.swap_remove(rng.below(in_flight.len() as u64) as usize);
        leased_now.remove(&lease.fingerprint);
        let page = page_of[lease.url.as_str()];
        if retries && rng.below(2) == 0 && tries.get(&page).copied().unwrap_or(0) < 3 {
            *tries.entry(page).or_default() += 1;
            f.retry(&lease, now, now);
            continue;
        }
        if recorded.insert(page, lease.depth).is_some() {
            return Err(format!("{} recorded twice", lease.url));
        }
        match redirect[page] {
            Some(target) => {
                f.add(candidate(target, hosts, lease.depth + 1, &lease, lease.redirects + 1));
            }
            None => {
                for &out in &links[page] {
                    f.add(candidate(out, hosts, lease.depth + 1, &lease, 0));
                }
            }
        }
        f.complete(&lease, now);
    }
    let stats = f.stats();
    if stats.queued != 0 || stats.in_flight != 0 {
        return Err(format!("ended with work left: {stats:?}"));
    }
    for (page, truth) in truth.iter().enumerate() {
        match (truth, recorded.get(&page)) {
            (Some(t), Some(r)) if t != r => return Err(format!("{} at depth {r}, shortest {t}", url_of(page, hosts))),
            (Some(_), None) => return Err(format!("{} reachable but never leased", url_of(page, hosts))),
            _ => {}
        }
    }
    Ok(())
}

fn check(redirects: bool, retries: bool) {
    let failures: Vec<(u64, String)> =
        (1..2000u64).filter_map(|s| run(s * 7919, redirects, retries).err().map(|e| (s * 7919, e))).take(5).collect();
    assert!(failures.is_empty(), "failing seeds: {failures:#?}");
}

#[test]
fn links_only() {
    check(false, false);
}

#[test]
fn links_and_retries() {
    check(false, true);
}

#[test]
fn links_and_redirects() {
    check(true, false);
}

#[test]
fn links_redirects_and_retries() {
    check(true, true);
}
