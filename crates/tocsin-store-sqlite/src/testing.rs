//! Test helpers for code that needs a real SQLite store (this crate's tests,
//! the core's engine tests). Behind the `testing` feature.

use std::path::PathBuf;

/// A database path inside a new temporary directory. The directory (and the
/// database, its WAL and lock files) is deleted when the returned
/// [`tempfile::TempDir`] is dropped, so keep it alive as long as the store.
///
/// # Panics
///
/// When no temporary directory can be created: a test cannot run then.
#[allow(clippy::panic)]
pub fn fresh_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::Builder::new()
        .prefix("tocsin-test-")
        .tempdir()
        .unwrap_or_else(|e| panic!("cannot create a temporary directory for a test database: {e}"));
    let path = dir.path().join("tocsin.db");
    (dir, path)
}
