//! `tocsin token create|list|revoke`

use crate::database::Target;
use std::process::ExitCode;
use tocsin_core::audit::Actor;
use tocsin_domain::token::TokenScope;

#[derive(Debug, clap::Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once; only its digest is stored.
    Create {
        /// What the token is for, e.g. ci-apply.
        #[arg(long)]
        name: String,
        /// read, write or admin.
        #[arg(long, default_value = "read", value_parser = parse_scope)]
        scope: TokenScope,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by name.
    Revoke { name: String },
}

fn parse_scope(s: &str) -> Result<TokenScope, String> {
    TokenScope::parse(s).ok_or_else(|| format!("{s:?} is not a scope; use read, write or admin"))
}

pub async fn run(target: Target, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = target.open(false).await?;
    store.migrate().await?;
    let now = super::now();
    let code = match command {
        TokenCommand::Create { name, scope } => {
            let t =
                tocsin_core::token::create(store.as_ref(), &name, scope, None, &Actor::cli(), now)
                    .await?;
            eprintln!(
                "token {:?} ({} scope) created; it is shown only this once:",
                t.name, t.scope
            );
            println!("{}", t.secret);
            ExitCode::SUCCESS
        }
        TokenCommand::List => {
            println!(
                "{:<24} {:<6} {:<25} {:<25} STATUS",
                "NAME", "SCOPE", "CREATED", "LAST USED"
            );
            for t in store.list_tokens().await? {
                let last = t
                    .last_used_at
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "never".into());
                let status = if t.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!(
                    "{:<24} {:<6} {:<25} {:<25} {status}",
                    t.name,
                    t.scope.as_str(),
                    t.created_at.to_string(),
                    last
                );
            }
            ExitCode::SUCCESS
        }
        TokenCommand::Revoke { name } => {
            if tocsin_core::token::revoke(store.as_ref(), &name, &Actor::cli(), now).await? {
                println!("token {name:?} revoked");
                ExitCode::SUCCESS
            } else {
                eprintln!("error: no live token named {name:?}");
                ExitCode::FAILURE
            }
        }
    };
    store.close().await;
    Ok(code)
}
