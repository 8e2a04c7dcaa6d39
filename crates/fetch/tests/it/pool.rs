use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crawld_fetch::FetchPool;

/// Tracks how many tasks run at once and the most ever seen.
#[derive(Default)]
struct Gauge {
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    async fn run(&self, work: Duration) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(work).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_more_than_capacity() {
    let gauge = Arc::new(Gauge::default());
    let mut pool = FetchPool::new(3);
    let mut next = 0usize;
    let mut done = Vec::new();
    // The scheduler loop the crawler runs: spawn while there is room, then wait for the first to finish.
    loop {
        while pool.has_room() && next < 20 {
            let g = Arc::clone(&gauge);
            let n = next;
            pool.spawn(async move {
                g.run(Duration::from_millis(10 + (n as u64 * 7) % 30)).await;
                n
            });
            next += 1;
        }
        assert!(pool.len() <= pool.capacity());
        match pool.join_next().await {
            Some(result) => done.push(result.unwrap()),
            None => break,
        }
    }
    done.sort_unstable();
    assert_eq!(done, (0..20).collect::<Vec<_>>());
    assert_eq!(gauge.peak.load(Ordering::SeqCst), 3, "the pool should fill up, and no further");
    assert!(pool.is_empty());
}

#[tokio::test]
async fn join_next_yields_in_completion_order() {
    let mut pool = FetchPool::new(8);
    for (id, ms) in [(0, 600u64), (1, 50), (2, 300)] {
        pool.spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            id
        });
    }
    let mut order = Vec::new();
    while let Some(r) = pool.join_next().await {
        order.push(r.unwrap());
    }
    assert_eq!(order, vec![1, 2, 0]);
    assert!(pool.join_next().await.is_none());
}

#[tokio::test]
async fn panics_come_back_as_join_errors() {
    let mut pool: FetchPool<u32> = FetchPool::new(2);
    pool.spawn(async { panic!("task blew up") });
    let err = pool.join_next().await.unwrap().unwrap_err();
    assert!(err.is_panic());
    assert!(pool.is_empty());
}

#[tokio::test]
async fn capacity_retunes_without_aborting() {
    let mut pool = FetchPool::new(2);
    assert_eq!(pool.capacity(), 2);
    for i in 0..2 {
        pool.spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            i
        });
    }
    assert!(!pool.has_room());
    pool.set_capacity(4);
    assert!(pool.has_room());
    for i in 2..4 {
        pool.spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            i
        });
    }
    assert_eq!(pool.len(), 4);
    assert!(!pool.has_room());

    // Shrinking leaves the four running tasks alone; room reappears only once enough have finished.
    pool.set_capacity(1);
    assert_eq!(pool.capacity(), 1);
    let mut finished = Vec::new();
    while !pool.is_empty() {
        assert!(!pool.has_room());
        finished.push(pool.join_next().await.unwrap().unwrap());
    }
    finished.sort_unstable();
    assert_eq!(finished, vec![0, 1, 2, 3], "no task was aborted");
    assert!(pool.has_room());

    pool.set_capacity(0);
    assert!(!pool.has_room(), "capacity 0 pauses the pool");
}

#[tokio::test]
async fn drain_waits_for_short_tasks_and_aborts_long_ones() {
    let finished_long = Arc::new(AtomicUsize::new(0));
    let mut pool = FetchPool::new(10);
    for i in 0..3u32 {
        pool.spawn(async move {
            tokio::time::sleep(Duration::from_millis(20 * u64::from(i + 1))).await;
            i
        });
    }
    for i in 10..12u32 {
        let finished = Arc::clone(&finished_long);
        pool.spawn(async move {
            tokio::time::sleep(Duration::from_secs(60)).await;
            finished.fetch_add(1, Ordering::SeqCst);
            i
        });
    }
    let started = Instant::now();
    let mut outputs = pool.drain(Duration::from_millis(500)).await;
    let took = started.elapsed();
    outputs.sort_unstable();
    assert_eq!(outputs, vec![0, 1, 2]);
    assert!(took >= Duration::from_millis(500) && took < Duration::from_secs(5), "{took:?}");
    assert!(pool.is_empty());
    assert_eq!(finished_long.load(Ordering::SeqCst), 0);

    // With nothing long-running, drain returns as soon as the pool is empty.
    pool.spawn(async { 7 });
    let started = Instant::now();
    assert_eq!(pool.drain(Duration::from_secs(30)).await, vec![7]);
    assert!(started.elapsed() < Duration::from_secs(5));
}
