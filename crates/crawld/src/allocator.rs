//! Has glibc's malloc give large blocks back to the system as soon as they are freed, and keep one heap
//! per runtime worker thread.
//!
//! A crawl allocates many large short-lived buffers: response bodies of a few MB, their WARC records
//! and compression buffers. glibc maps blocks of 128 KiB or more on their own, but only until one is
//! freed: then it raises that threshold to the size of the freed block (up to 32 MiB), and from there on
//! such buffers come from the heap of the thread that freed them, where their memory stays resident and
//! fragments. Measured on the OpenJDK API docs (10,252 pages, the largest 6 MB, concurrency 16), that doubled
//! crawld's peak RSS: 75 MB, against 40 MB with the threshold fixed at 128 KiB, at the same CPU time.
//!
//! Setting these takes `mallopt`, which this workspace cannot call (it forbids unsafe code), or glibc's
//! tunables, which it reads only at start-up. So a crawl that starts without them sets `GLIBC_TUNABLES`
//! and replaces itself (`exec`: same process id, arguments and environment otherwise) once, before any
//! thread exists. A user's own malloc tuning is kept: a tunable that `GLIBC_TUNABLES` already names, or
//! that its older variable (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_ARENA_MAX`) sets, is left alone.

use std::ffi::{OsStr, OsString};

/// Blocks from this size on are mapped on their own and unmapped when freed (glibc's initial value).
pub const MMAP_THRESHOLD: usize = 128 * 1024;

const TUNABLES: &str = "GLIBC_TUNABLES";

/// Set on the restarted process, which never restarts again, whatever a C library does with its
/// environment.
const RESTARTED: &str = "CRAWLD_MALLOC_TUNED";

/// A glibc malloc tunable crawld sets, and the older environment variable that sets it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tunable {
    pub key: &'static str,
    pub legacy: &'static str,
    pub value: usize,
}

/// What crawld sets: the mmap threshold, and one heap per runtime worker thread (`workers`). glibc
/// would give each thread its own heap, up to eight per core, each holding on to what its thread freed:
/// the sink's writer, the blocking pool's threads and the main thread share the workers' heaps instead.
/// On four of the Debian documentation sites that took 1-2 MB off the peak RSS, at the same CPU time.
pub fn tunables(workers: usize) -> [Tunable; 2] {
    [
        Tunable { key: "glibc.malloc.mmap_threshold", legacy: "MALLOC_MMAP_THRESHOLD_", value: MMAP_THRESHOLD },
        Tunable { key: "glibc.malloc.arena_max", legacy: "MALLOC_ARENA_MAX", value: workers.max(1) },
    ]
}

/// The `GLIBC_TUNABLES` value to start again with, or `None` when every one of `wanted` is set already,
/// in `current` (`GLIBC_TUNABLES`) or by its legacy variable (`legacy_set`).
pub fn tunables_to_add(
    current: Option<&OsStr>,
    wanted: &[Tunable],
    legacy_set: impl Fn(&str) -> bool,
) -> Option<OsString> {
    // Not UTF-8: not ours to rewrite.
    let text = current.map_or(Some(""), OsStr::to_str)?;
    let named = |key: &str| text.split(':').any(|item| item.split('=').next() == Some(key));
    let added: Vec<String> = wanted
        .iter()
        .filter(|t| !named(t.key) && !legacy_set(t.legacy))
        .map(|t| format!("{}={}", t.key, t.value))
        .collect();
    if added.is_empty() {
        return None;
    }
    let added = added.join(":");
    Some(if text.is_empty() { added } else { format!("{text}:{added}") }.into())
}

/// Start this program again with [`tunables`] set, unless they are set already. Call first thing in
/// `main`, before any thread is started. Returns only when there is nothing to do or the exec failed
/// (then the crawl runs as it is, with glibc's defaults).
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;

        if std::env::var_os(RESTARTED).is_some() {
            return;
        }
        // What tokio's multi-threaded runtime starts by default.
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let current = std::env::var_os(TUNABLES);
        let legacy_set = |name: &str| std::env::var_os(name).is_some();
        let Some(value) = tunables_to_add(current.as_deref(), &tunables(workers), legacy_set) else {
            return;
        };
        let Ok(exe) = std::env::current_exe() else { return };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        // exec returns only on failure.
        let _failed = command.args(args).env(TUNABLES, value).env(RESTARTED, "1").exec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunables_are_added_unless_set() {
        let wanted = tunables(2);
        let all = "glibc.malloc.mmap_threshold=131072:glibc.malloc.arena_max=2";
        let none = |_: &str| false;
        let cases: [(Option<&str>, Option<String>); 6] = [
            (None, Some(all.to_owned())),
            (Some(""), Some(all.to_owned())),
            (Some("glibc.malloc.tcache_count=0"), Some(format!("glibc.malloc.tcache_count=0:{all}"))),
            (
                Some("glibc.malloc.mmap_threshold=65536"),
                Some("glibc.malloc.mmap_threshold=65536:glibc.malloc.arena_max=2".to_owned()),
            ),
            (Some("glibc.malloc.arena_max=8:glibc.malloc.mmap_threshold=1"), None),
            (Some(all), None),
        ];
        for (current, want) in cases {
            let got = tunables_to_add(current.map(OsStr::new), &wanted, none);
            assert_eq!(got, want.map(OsString::from), "{current:?}");
        }
        let arena_by_env = |name: &str| name == "MALLOC_ARENA_MAX";
        assert_eq!(tunables_to_add(None, &wanted, arena_by_env), Some("glibc.malloc.mmap_threshold=131072".into()));
        assert_eq!(tunables_to_add(None, &wanted, |_| true), None);
    }
}
