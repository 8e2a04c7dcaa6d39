//! Index lines gathered as records are written, sorted into the index file when the crawl ends.
//!
//! Lines wait in memory up to a budget; a full budget is sorted and written out as a run (a temporary
//! file), and at the end the runs and what is left in memory are merged. Runs are merged in tiers, as a
//! counter in base [`FAN_IN`] counts: [`FAN_IN`] runs of one size make one of the next as soon as they
//! exist. So the index of any crawl costs at most the budget in memory, fewer than [`FAN_IN`] open runs
//! per tier at the end, and reading each line back once per tier (three tiers hold 4,096 budgets).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Runs merged into one at a time.
const FAN_IN: usize = 16;

/// Read buffer of each run being merged.
const RUN_READ_BUFFER: usize = 16 * 1024;

/// Lines to sort, a budget's worth at a time.
#[derive(Debug)]
pub(crate) struct Sorter {
    runs_dir: PathBuf,
    budget: usize,
    /// The lines in memory, one after another, and where each is in it.
    text: Vec<u8>,
    spans: Vec<(usize, usize)>,
    /// Runs on disk, oldest first, each with its tier (0: one budget; n: FAN_IN^n budgets). Tiers never
    /// rise along the list.
    runs: Vec<(u32, PathBuf)>,
    /// Run files made so far, for their names.
    made: u64,
    lines: u64,
}

impl Sorter {
    /// A sorter spilling into `runs_dir` (made when first needed; whatever an earlier run left there is
    /// removed) once `budget` bytes of lines wait in memory.
    pub(crate) fn new(runs_dir: PathBuf, budget: usize) -> Sorter {
        let _ = fs::remove_dir_all(&runs_dir);
        Sorter {
            runs_dir,
            budget: budget.max(1),
            text: Vec::new(),
            spans: Vec::new(),
            runs: Vec::new(),
            made: 0,
            lines: 0,
        }
    }

    /// Add one line (with its newline).
    pub(crate) fn push(&mut self, line: &str) -> io::Result<()> {
        self.spans.push((self.text.len(), line.len()));
        self.text.extend_from_slice(line.as_bytes());
        self.lines += 1;
        if self.text.len() >= self.budget { self.spill() } else { Ok(()) }
    }

    fn sort(&mut self) {
        let text = &self.text;
        self.spans.sort_unstable_by(|a, b| text[a.0..a.0 + a.1].cmp(&text[b.0..b.0 + b.1]));
    }

    fn write_sorted(&self, out: &mut impl Write) -> io::Result<()> {
        for &(start, len) in &self.spans {
            out.write_all(&self.text[start..start + len])?;
        }
        Ok(())
    }

    fn new_run(&mut self) -> io::Result<(PathBuf, BufWriter<File>)> {
        fs::create_dir_all(&self.runs_dir)?;
        let path = self.runs_dir.join(format!("run-{:06}", self.made));
        self.made += 1;
        let out = BufWriter::with_capacity(1 << 16, File::create(&path)?);
        Ok((path, out))
    }

    /// The lines in memory, sorted, to a new run file; then the merges that completes.
    fn spill(&mut self) -> io::Result<()> {
        self.sort();
        let (path, mut out) = self.new_run()?;
        self.write_sorted(&mut out)?;
        out.flush()?;
        self.runs.push((0, path));
        self.text.clear();
        self.spans.clear();
        while let Some(tier) = self.full_tier() {
            let (path, mut out) = self.new_run()?;
            let merged = self.runs.split_off(self.runs.len() - FAN_IN);
            let paths: Vec<PathBuf> = merged.into_iter().map(|(_, p)| p).collect();
            merge(&paths, &mut out)?;
            out.flush()?;
            for p in &paths {
                fs::remove_file(p)?;
            }
            self.runs.push((tier + 1, path));
        }
        Ok(())
    }

    /// The tier of the last FAN_IN runs, when they are all of one.
    fn full_tier(&self) -> Option<u32> {
        let last = self.runs.len().checked_sub(FAN_IN).map(|from| &self.runs[from..])?;
        let tier = last[0].0;
        last.iter().all(|(t, _)| *t == tier).then_some(tier)
    }

    /// Write every line, sorted bytewise, to `path` (through a temporary file and an fsync, so a reader
    /// never sees half of one); returns how many. The runs are removed, whatever the outcome.
    pub(crate) fn finish(mut self, path: &Path) -> io::Result<u64> {
        let written = self.write_index(path);
        self.discard();
        written
    }

    fn write_index(&mut self, path: &Path) -> io::Result<u64> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("cdxj.tmp");
        let mut out = BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
        if self.runs.is_empty() {
            self.sort();
            self.write_sorted(&mut out)?;
        } else {
            if !self.spans.is_empty() {
                self.spill()?;
            }
            let paths: Vec<PathBuf> = self.runs.iter().map(|(_, p)| p.clone()).collect();
            merge(&paths, &mut out)?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        fs::rename(&tmp, path)?;
        Ok(self.lines)
    }

    /// Forget every line, and remove the runs.
    pub(crate) fn discard(&mut self) {
        self.text = Vec::new();
        self.spans = Vec::new();
        if !self.runs.is_empty() {
            let _ = fs::remove_dir_all(&self.runs_dir);
            self.runs.clear();
        }
    }
}

/// Merge sorted run files into `out`.
fn merge(runs: &[PathBuf], out: &mut impl Write) -> io::Result<()> {
    let mut readers = Vec::with_capacity(runs.len());
    let mut heap = BinaryHeap::with_capacity(runs.len());
    for path in runs {
        let mut reader = BufReader::with_capacity(RUN_READ_BUFFER, File::open(path)?);
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? > 0 {
            heap.push(Reverse((line, readers.len())));
        }
        readers.push(reader);
    }
    while let Some(Reverse((mut line, i))) = heap.pop() {
        out.write_all(&line)?;
        line.clear();
        if readers[i].read_until(b'\n', &mut line)? > 0 {
            heap.push(Reverse((line, i)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index made of `lines`, whether runs were spilled, and the highest tier of a run at the end.
    fn sorted_through(budget: usize, lines: &[String]) -> (String, bool, u32) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let runs = dir.path().join("runs");
        let mut sorter = Sorter::new(runs.clone(), budget);
        for line in lines {
            sorter.push(line).unwrap_or_else(|e| panic!("{e}"));
        }
        let spilled = runs.exists();
        let top = sorter.runs.iter().map(|(tier, _)| *tier).max().unwrap_or(0);
        assert!(sorter.runs.len() < (top as usize + 1) * FAN_IN, "fewer than FAN_IN runs per tier");
        let path = dir.path().join("indexes/index.cdxj");
        let n = sorter.finish(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, lines.len() as u64);
        assert!(!runs.exists(), "the runs are removed");
        (fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}")), spilled, top)
    }

    #[test]
    fn lines_come_out_sorted_bytewise_whether_or_not_they_spilled() {
        // A fixed shuffle of lines of different lengths, some sharing prefixes.
        let lines: Vec<String> =
            (0..500u32).map(|i| format!("k{} {}\n", (i * 7919) % 500, "x".repeat((i % 13) as usize))).collect();
        let mut expected = lines.clone();
        expected.sort();
        let expected = expected.concat();
        assert_eq!(sorted_through(1 << 20, &lines), (expected.clone(), false, 0));
        assert_eq!(sorted_through(1000, &lines), (expected.clone(), true, 0));
        // A line a run: 500 runs, merged 16 at a time, and those 16 at a time again.
        assert_eq!(sorted_through(1, &lines), (expected, true, 2));
    }

    #[test]
    fn no_lines_make_an_empty_index() {
        assert_eq!(sorted_through(10, &[]), (String::new(), false, 0));
    }
}
