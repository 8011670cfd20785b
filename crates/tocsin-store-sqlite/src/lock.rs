//! The single-instance guard: a `tocsin serve` on SQLite holds an exclusive
//! advisory lock on `<database>.lock` for as long as its store lives, so a
//! second server on the same file is refused with a message naming the
//! first one's pid.
//!
//! Why: the engine assumes that on SQLite it is the only instance (no
//! `SKIP LOCKED`, no cluster locks worth the name across hosts); two servers
//! would page twice. CLI commands that run beside a server (`apply`,
//! `token create`) open in client mode and take no lock: SQLite's own
//! locking keeps their writes safe.
//!
//! Invariants: the lock file is never truncated before the lock is ours (it
//! holds the owner's pid) and never deleted (deleting it would let a second
//! process lock a fresh inode while the first still holds the old one). The
//! lock is released by the OS when the file is closed, including on a crash.

use fs4::{FileExt, TryLockError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tocsin_store::StoreError;

/// Holds the lock while alive.
#[derive(Debug)]
pub(crate) struct ServerLock {
    /// Closing the file releases the lock.
    _file: File,
    path: PathBuf,
}

impl ServerLock {
    /// Takes the lock for the database at `db`, writing our pid into the lock
    /// file; [`StoreError::Locked`] if another process holds it.
    pub(crate) fn acquire(db: &Path) -> Result<ServerLock, StoreError> {
        let path = lock_path(db);
        let io_err = |what: &str, e: std::io::Error| {
            StoreError::Unavailable(format!(
                "cannot {what} the lock file {}: {e}",
                path.display()
            ))
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err("open", e))?;
        match FileExt::try_lock(&file) {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let pid = read_pid(&mut file)
                    .map_or_else(|| "pid unknown".to_owned(), |p| format!("pid {p}"));
                return Err(StoreError::Locked(format!(
                    "another tocsin serve ({pid}) is using {}; stop it, or use PostgreSQL to run \
                     several instances",
                    db.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(io_err("lock", e)),
        }
        file.set_len(0).map_err(|e| io_err("write", e))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| io_err("write", e))?;
        writeln!(file, "{}", std::process::id()).map_err(|e| io_err("write", e))?;
        file.sync_all().map_err(|e| io_err("write", e))?;
        tracing::debug!(lock = %path.display(), "took the single-instance lock");
        Ok(ServerLock { _file: file, path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// `/x/tocsin.db` → `/x/tocsin.db.lock`.
fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// The holder's pid, if it has written it yet.
fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_file_sits_next_to_the_database() {
        assert_eq!(
            lock_path(Path::new("/x/tocsin.db")),
            PathBuf::from("/x/tocsin.db.lock")
        );
    }
}
