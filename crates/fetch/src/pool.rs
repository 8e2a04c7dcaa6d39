//! A bounded set of concurrent fetch tasks, refilled by the scheduler as tasks complete.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::task::{JoinError, JoinSet};
use tracing::warn;

/// A pool of at most `capacity` concurrent tasks on a [`JoinSet`]: the crawler's scheduler loop spawns
/// while [`has_room`](Self::has_room), and waits on [`join_next`](Self::join_next) (first completed) to refill.
///
/// The bound is cooperative: `spawn` always spawns, so callers gate it on `has_room`. That keeps `spawn`
/// synchronous and lets a lowered capacity drain naturally instead of aborting work.
pub struct FetchPool<T> {
    tasks: JoinSet<T>,
    capacity: usize,
}

impl<T> fmt::Debug for FetchPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchPool").field("capacity", &self.capacity).field("running", &self.tasks.len()).finish()
    }
}

impl<T: Send + 'static> FetchPool<T> {
    /// A capacity of 0 pauses the pool: `has_room` stays false until it is raised.
    pub fn new(capacity: usize) -> Self {
        FetchPool { tasks: JoinSet::new(), capacity }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Live retuning: takes effect as tasks complete (never aborts running ones).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    /// Tasks spawned and not yet returned by `join_next`/`drain` (finished ones waiting to be joined count).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    pub fn has_room(&self) -> bool {
        self.tasks.len() < self.capacity
    }

    /// Starts `task` now, on the current tokio runtime (panics outside one, like `tokio::spawn`).
    pub fn spawn<F: Future<Output = T> + Send + 'static>(&mut self, task: F) {
        self.tasks.spawn(task);
    }

    /// Next finished task; `None` when the pool is empty. A task that panicked is returned as `Err(JoinError)`.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.tasks.join_next().await
    }

    /// Shutdown: wait up to `grace` for running tasks, collecting their outputs, then abort the rest.
    /// Returns the outputs that finished; panicked and aborted tasks leave nothing.
    pub async fn drain(&mut self, grace: Duration) -> Vec<T> {
        let mut done = Vec::new();
        let deadline = tokio::time::Instant::now() + grace;
        loop {
            match tokio::time::timeout_at(deadline, self.tasks.join_next()).await {
                Ok(Some(joined)) => keep(joined, &mut done),
                Ok(None) => return done,
                Err(_grace_over) => break,
            }
        }
        self.tasks.abort_all();
        // Wait for the aborts to land, so nothing outlives the pool; a task that finished in the meantime
        // still hands over its output.
        while let Some(joined) = self.tasks.join_next().await {
            keep(joined, &mut done);
        }
        done
    }
}

fn keep<T>(joined: Result<T, JoinError>, done: &mut Vec<T>) {
    match joined {
        Ok(output) => done.push(output),
        Err(e) if e.is_panic() => warn!(error = %e, "fetch task panicked during drain"),
        Err(_cancelled) => {}
    }
}
