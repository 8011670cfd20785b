//! `tocsin get KIND [NAME]`: read the catalog from the database.

use crate::database::Target;
use std::process::ExitCode;
use tocsin_core::catalog;
use tocsin_domain::Name;
use tocsin_domain::catalog::Kind;

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Output {
    Table,
    Json,
}

pub async fn run(
    target: Target,
    kind: &str,
    name: Option<&str>,
    output: Output,
) -> anyhow::Result<ExitCode> {
    let Some(kind) = Kind::parse(kind) else {
        let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.plural()).collect();
        anyhow::bail!(
            "unknown kind {kind:?}; use one of: {}",
            kinds.join(", ").replace('_', "-")
        );
    };
    let store = target.open(false).await?;
    store.migrate().await?;
    let objects = match name {
        Some(n) => {
            let n = Name::parse(n).map_err(|e| anyhow::anyhow!("name {n:?}: {e}"))?;
            match catalog::get(store.as_ref(), kind, &n).await? {
                Some(o) => vec![o],
                None => {
                    store.close().await;
                    eprintln!("error: no {} named {:?}", kind.label(), n.as_str());
                    return Ok(ExitCode::FAILURE);
                }
            }
        }
        None => catalog::list(store.as_ref(), kind).await?,
    };
    store.close().await;
    match output {
        Output::Json if name.is_some() => {
            println!("{}", serde_json::to_string_pretty(&objects[0])?)
        }
        Output::Json => println!("{}", serde_json::to_string_pretty(&objects)?),
        Output::Table => {
            println!("{:<28} {:<10} {:<40} SUMMARY", "NAME", "MANAGED", "SOURCE");
            for o in &objects {
                let managed = if o.managed_by_config { "config" } else { "-" };
                let summary = summary(&o.spec);
                println!(
                    "{:<28} {:<10} {:<40} {summary}",
                    o.name,
                    managed,
                    o.source.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A one-line summary: the description, or the owning team/service.
fn summary(spec: &serde_json::Value) -> String {
    let field = |k: &str| spec.get(k).and_then(|v| v.as_str());
    let text = field("description")
        .or_else(|| field("full_name"))
        .map(str::to_owned)
        .or_else(|| field("team").map(|t| format!("team {t}")))
        .or_else(|| field("service").map(|s| format!("service {s}")))
        .unwrap_or_default();
    let mut text: String = text.chars().take(60).collect();
    if let Some(t) = field("team").filter(|_| field("description").is_some()) {
        text = format!("[{t}] {text}");
    }
    text
}
