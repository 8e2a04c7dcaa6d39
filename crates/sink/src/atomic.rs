//! Replace a small file so that readers (and a crash) see either the old or the new content, never a mix.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::SinkError;

/// Write `bytes` to `path` via a temporary sibling: write, fsync, rename over `path`, fsync the directory.
///
/// The temporary file lives in the same directory so the rename never crosses filesystems (where it would
/// stop being atomic). On failure it is removed, so a full disk does not leave debris beside the real file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    let tmp = temp_path(path);
    let result = write_then_rename(&tmp, path, bytes);
    if result.is_err() {
        // Best effort: the error being returned matters more than one failing to clean up.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_then_rename(tmp: &Path, path: &Path, bytes: &[u8]) -> Result<(), SinkError> {
    // `truncate`, not `create_new`: a temp file left by a crash is ours to overwrite.
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(|e| SinkError::io("create", tmp, e))?;
    file.write_all(bytes).map_err(|e| SinkError::io("write", tmp, e))?;
    // Without this fsync a crash after the rename could leave an empty or partial file under the real name.
    file.sync_all().map_err(|e| SinkError::io("fsync", tmp, e))?;
    drop(file);
    fs::rename(tmp, path).map_err(|e| SinkError::io("replace", path, e))?;
    sync_dir(parent_dir(path))
}

/// Make a directory's entries (files created or renamed in it) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), SinkError> {
    #[cfg(unix)]
    {
        File::open(dir).and_then(|d| d.sync_all()).map_err(|e| SinkError::io("fsync directory", dir, e))
    }
    #[cfg(not(unix))]
    {
        // Directories cannot be opened as files elsewhere; their entries are made durable by the OS.
        let _ = dir;
        Ok(())
    }
}

/// The directory holding `path`; `.` for a bare file name, where `Path::parent` gives "".
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.json");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second, longer").unwrap();
        write_atomic(&path, b"3").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"3");
        assert_eq!(names(dir.path()), vec!["stats.json"]);
    }

    #[test]
    fn failure_names_the_path_and_removes_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stats.json");
        // A non-empty directory in the way: rename cannot replace it.
        fs::create_dir(&path).unwrap();
        fs::write(path.join("keep"), b"x").unwrap();
        let err = write_atomic(&path, b"{}").unwrap_err();
        assert!(matches!(&err, SinkError::Io { path: p, .. } if p == &path), "{err:?}");
        assert!(err.to_string().contains("stats.json"), "{err}");
        assert_eq!(names(dir.path()), vec!["stats.json"]);
        assert_eq!(fs::read(path.join("keep")).unwrap(), b"x");
    }

    #[test]
    fn temp_file_is_a_hidden_sibling() {
        assert_eq!(temp_path(Path::new("/o/stats.json")), Path::new("/o/.stats.json.tmp"));
        assert_eq!(parent_dir(Path::new("stats.json")), Path::new("."));
        assert_eq!(parent_dir(Path::new("o/stats.json")), Path::new("o"));
    }
}
