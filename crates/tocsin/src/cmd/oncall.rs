//! `tocsin oncall [--team T] [--schedule S] [--at INSTANT]`: who is on call,
//! per schedule, read from the database like `tocsin get`.

use crate::cmd::get::Output;
use crate::database::Target;
use jiff::Timestamp;
use std::process::ExitCode;
use tocsin_core::oncall::{self, OnCallError};
use tocsin_domain::Name;

pub async fn run(
    target: Target,
    team: Option<&str>,
    schedule: Option<&str>,
    at: Option<&str>,
    output: Output,
) -> anyhow::Result<ExitCode> {
    let parse = |what: &str, v: Option<&str>| -> anyhow::Result<Option<Name>> {
        v.map(|s| Name::parse(s).map_err(|e| anyhow::anyhow!("--{what} {s:?}: {e}")))
            .transpose()
    };
    let team = parse("team", team)?;
    let schedule = parse("schedule", schedule)?;
    let at = match at {
        None => tocsin_core::clock::Clock::now(&tocsin_core::clock::SystemClock),
        Some(s) => s.parse::<Timestamp>().map_err(|_| {
            anyhow::anyhow!("--at {s:?} is not an RFC 3339 instant (2026-03-29T09:00:00Z)")
        })?,
    };
    let store = target.open(false).await?;
    store.migrate().await?;
    let result = oncall::on_call(store.as_ref(), team.as_ref(), schedule.as_ref(), at).await;
    store.close().await;
    let rows = match result {
        Ok(rows) => rows,
        Err(OnCallError::NotFound(m) | OnCallError::Invalid(m)) => {
            eprintln!("error: {m}");
            return Ok(ExitCode::FAILURE);
        }
        Err(OnCallError::Store(e)) => return Err(e.into()),
    };
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        Output::Table => {
            println!("{:<28} {:<16} {:<24} UNTIL", "SCHEDULE", "TEAM", "ON CALL");
            for r in &rows {
                let who = if r.users.is_empty() {
                    "(nobody)".to_owned()
                } else {
                    r.users.join(", ")
                };
                println!(
                    "{:<28} {:<16} {:<24} {}",
                    r.schedule,
                    r.team.as_deref().unwrap_or("-"),
                    who,
                    r.until.as_deref().unwrap_or("-")
                );
            }
            if rows.is_empty() {
                eprintln!("no schedule matches");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
