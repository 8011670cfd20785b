//! `tocsin validate`, `plan` and `apply`: config as code.

use crate::database::Target;
use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use tocsin_core::catalog::{self, ConfigError};
use tocsin_core::manifest::{self, ManifestError, Manifests};

fn load(paths: &[PathBuf]) -> Manifests {
    let (sources, read_errors) = manifest::read_dirs(paths);
    let mut m = manifest::parse(sources);
    m.errors.splice(0..0, read_errors);
    m
}

fn report(errors: &[ManifestError], changes_nothing: bool) -> ExitCode {
    for e in errors {
        eprintln!("{e}");
    }
    let n = errors.len();
    if changes_nothing {
        eprintln!("{n} problem(s) found; nothing was changed.");
    } else {
        eprintln!("{n} problem(s) found.");
    }
    ExitCode::FAILURE
}

/// Offline: references must resolve within the manifests themselves.
pub fn validate(paths: &[PathBuf]) -> ExitCode {
    let m = load(paths);
    let errors = m.check(&BTreeSet::new());
    if !errors.is_empty() {
        return report(&errors, false);
    }
    let now = tocsin_core::clock::Clock::now(&tocsin_core::clock::SystemClock);
    for w in tocsin_core::oncall::coverage_warnings(&m, now) {
        eprintln!("{w}");
    }
    println!(
        "{} file(s), {} object(s): valid.",
        m.sources.len(),
        m.declared.len()
    );
    ExitCode::SUCCESS
}

pub async fn plan(
    target: Target,
    paths: &[PathBuf],
    prune: bool,
    detailed_exitcode: bool,
) -> anyhow::Result<ExitCode> {
    let m = load(paths);
    let store = target.open(false).await?;
    store.migrate().await?;
    let result = catalog::plan(store.as_ref(), &m, prune, &catalog::process_env).await;
    store.close().await;
    match result {
        Ok(p) => {
            let now = tocsin_core::clock::Clock::now(&tocsin_core::clock::SystemClock);
            for w in tocsin_core::oncall::coverage_warnings(&m, now) {
                eprintln!("{w}");
            }
            print!("{}", catalog::render(&p));
            if detailed_exitcode && !p.is_empty() {
                return Ok(ExitCode::from(2));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(ConfigError::Invalid(errors)) => Ok(report(&errors, true)),
        Err(ConfigError::Store(e)) => Err(e.into()),
    }
}

pub async fn apply(
    target: Target,
    paths: &[PathBuf],
    prune: bool,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    let m = load(paths);
    let store = target.open(false).await?;
    store.migrate().await?;
    let plan = match catalog::plan(store.as_ref(), &m, prune, &catalog::process_env).await {
        Ok(p) => p,
        Err(ConfigError::Invalid(errors)) => {
            store.close().await;
            return Ok(report(&errors, true));
        }
        Err(ConfigError::Store(e)) => return Err(e.into()),
    };
    print!("{}", catalog::render(&plan));
    if plan.is_empty() {
        store.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    if !yes && !confirm()? {
        store.close().await;
        return Ok(ExitCode::FAILURE);
    }
    let result = catalog::apply(
        store.as_ref(),
        &plan,
        &tocsin_core::audit::Actor::cli(),
        super::now(),
    )
    .await;
    store.close().await;
    result?;
    println!("Applied.");
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal, like `terraform apply`; off a terminal, refuses
/// unless `--yes` was given, so a script never applies by accident.
fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        eprintln!("refusing to apply without confirmation: stdin is not a terminal; pass --yes");
        return Ok(false);
    }
    print!("Apply these changes? Only 'yes' is accepted: ");
    std::io::stdout().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(true)
    } else {
        eprintln!("Apply cancelled; nothing was changed.");
        Ok(false)
    }
}
