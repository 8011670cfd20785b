//! `tocsin migrate`

use crate::database::Target;
use std::process::ExitCode;

pub async fn run(target: Target) -> anyhow::Result<ExitCode> {
    let store = target.open(false).await?;
    let applied = store.migrate().await?;
    let status = store.migration_status().await?;
    if applied.is_empty() {
        println!(
            "{}: schema is current ({} migrations).",
            target.describe(),
            status.applied.len()
        );
    } else {
        println!(
            "{}: applied {} migration(s): {:?}.",
            target.describe(),
            applied.len(),
            applied
        );
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
