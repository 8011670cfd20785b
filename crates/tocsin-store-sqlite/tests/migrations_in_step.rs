//! The two backends' migration sets must stay in step: same versions, same
//! file names (ADR 0001). A migration added to one and not the other fails here.

#![allow(clippy::panic)] // a test helper: failing loudly is its job
use std::collections::BTreeSet;
use std::path::Path;

fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
}

#[test]
fn sqlite_and_postgres_migrations_have_the_same_files() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sqlite = names(&here.join("migrations"));
    let postgres = names(&here.join("../tocsin-store-postgres/migrations"));
    assert!(!sqlite.is_empty(), "no migrations found");
    assert_eq!(
        sqlite, postgres,
        "migration sets differ between the backends"
    );
}
