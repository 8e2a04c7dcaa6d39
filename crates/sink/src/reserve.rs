//! Disk space held back for the index: when the disk fills, this file is deleted so that the lines
//! of everything already archived can still be written.
//!
//! Lines wait in memory until the WARC bytes they point at are synced, so a disk that fills up in
//! between would otherwise strand archived records without their pages.jsonl lines. The writer never
//! holds more than [`crate::writer::PENDING_LIMIT`] bytes of lines, and the reserve is larger.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::SinkError;
use crate::atomic::sync_dir;

/// Pending lines are bounded by PENDING_LIMIT plus one line (URLs are capped well below 64 KiB).
pub(crate) const RESERVE_BYTES: usize = crate::writer::PENDING_LIMIT + 64 * 1024;

#[derive(Debug)]
pub(crate) struct Reserve {
    path: PathBuf,
    held: bool,
}

impl Reserve {
    /// Write the reserve file in `dir` with real bytes (a sparse file would free nothing when deleted).
    pub(crate) fn create(dir: &Path) -> Result<Reserve, SinkError> {
        fs::create_dir_all(dir).map_err(|e| SinkError::io("create directory", dir, e))?;
        let path = dir.join("space-reserve");
        let written = write_zeros(&path);
        if written.is_err() {
            // A disk too small for the reserve is refused at start; leave no partial file behind.
            let _ = fs::remove_file(&path);
        }
        written?;
        sync_dir(dir)?;
        Ok(Reserve { path, held: true })
    }

    /// Give the space back to the filesystem. Idempotent; best effort (there is an error being
    /// handled already when this matters).
    pub(crate) fn release(&mut self) {
        if std::mem::take(&mut self.held) {
            let _ = fs::remove_file(&self.path);
        }
    }

    /// Hold the space back again after a [`release`](Reserve::release): fails (leaving no partial
    /// file) while the disk has less free space than the reserve.
    pub(crate) fn restore(&mut self) -> Result<(), SinkError> {
        if self.held {
            return Ok(());
        }
        let written = write_zeros(&self.path);
        if written.is_err() {
            let _ = fs::remove_file(&self.path);
        }
        written?;
        self.held = true;
        Ok(())
    }
}

fn write_zeros(path: &Path) -> Result<(), SinkError> {
    let mut file = File::create(path).map_err(|e| SinkError::io("create", path, e))?;
    let block = [0u8; 64 * 1024];
    for _ in 0..RESERVE_BYTES / block.len() {
        file.write_all(&block).map_err(|e| SinkError::io("write", path, e))?;
    }
    file.sync_all().map_err(|e| SinkError::io("fsync", path, e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_reserve_holds_real_bytes_and_release_removes_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut reserve = Reserve::create(&dir.path().join("state")).unwrap();
        let path = dir.path().join("state/space-reserve");
        assert_eq!(fs::metadata(&path).unwrap().len() as usize, RESERVE_BYTES);
        reserve.release();
        assert!(!path.exists());
        reserve.release();
    }
}
