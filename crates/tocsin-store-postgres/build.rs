//! Rebuild when a migration is added: `sqlx::migrate!` embeds the files at
//! compile time and would not notice a new one otherwise.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
