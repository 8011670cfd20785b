//! `tocsin user create|list|set-role|set-password`: sign-in accounts from the
//! terminal — the first admin on a new install, or a locked-out admin.

use crate::database::Target;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use tocsin_core::account::{self, AccountError, NewUserAccount};
use tocsin_core::audit::Actor;
use tocsin_domain::Name;
use tocsin_domain::access::Role;

#[derive(Debug, clap::Subcommand)]
pub enum UserCommand {
    /// Create a sign-in account (and the user, if no manifest declares it).
    Create {
        /// The user name (declared in a manifest, or new).
        name: String,
        /// viewer, responder, manager or admin.
        #[arg(long, default_value = "responder", value_parser = parse_role, conflicts_with = "admin")]
        role: Role,
        /// Shorthand for --role admin.
        #[arg(long)]
        admin: bool,
        /// For a new user.
        #[arg(long)]
        email: Option<String>,
        /// For a new user.
        #[arg(long)]
        full_name: Option<String>,
        /// Read the password from the first line of stdin; otherwise one is
        /// generated and printed once.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts and their roles.
    List,
    /// Change an account's role.
    SetRole {
        name: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Set a new password (ends the user's sessions); generated unless
    /// --password-stdin.
    SetPassword {
        name: String,
        #[arg(long)]
        password_stdin: bool,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s)
        .ok_or_else(|| format!("{s:?} is not a role; use viewer, responder, manager or admin"))
}

/// The password to set, and whether it was generated (then it is printed).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((tocsin_core::token::random_secret(20), true));
    }
    if std::io::stdin().is_terminal() {
        eprintln!("reading the password from stdin (the line is not hidden; prefer a pipe)");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
}

fn name(s: &str) -> anyhow::Result<Name> {
    Name::parse(s).map_err(|e| anyhow::anyhow!("user name {s:?}: {e}"))
}

pub async fn run(target: Target, command: UserCommand) -> anyhow::Result<ExitCode> {
    let store = target.open(false).await?;
    store.migrate().await?;
    let now = super::now();
    let actor = Actor::cli();
    let result = match command {
        UserCommand::Create {
            name: n,
            role,
            admin,
            email,
            full_name,
            password_stdin,
        } => {
            let (password, generated) = password(password_stdin)?;
            let role = if admin { Role::Admin } else { role };
            let new = NewUserAccount {
                name: n,
                role,
                password: password.clone(),
                full_name,
                email,
                time_zone: None,
            };
            match account::create(store.as_ref(), new, &actor, now).await {
                Ok(user) => {
                    eprintln!("account {user} created with role {role}");
                    if generated {
                        eprintln!(
                            "its password, shown only this once (change it on the profile page):"
                        );
                        println!("{password}");
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => Err(anyhow::anyhow!(e)),
            }
        }
        UserCommand::List => {
            println!("{:<28} {:<10} CREATED", "USER", "ROLE");
            for a in store.list_accounts().await? {
                println!("{:<28} {:<10} {}", a.user, a.role.as_str(), a.created_at);
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::SetRole { name: n, role } => {
            let user = name(&n)?;
            match account::set_role(store.as_ref(), &user, role, &actor, now).await {
                Ok(true) => {
                    println!("{user} now has role {role}");
                    Ok(ExitCode::SUCCESS)
                }
                Ok(false) => {
                    eprintln!(
                        "error: {user} has no account (create one with `tocsin user create {user}`)"
                    );
                    Ok(ExitCode::FAILURE)
                }
                Err(e @ AccountError::LastAdmin(_)) => {
                    eprintln!(
                        "error: {e} (for example `tocsin user set-role OTHER admin`, or `tocsin user create NAME --admin`)"
                    );
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            }
        }
        UserCommand::SetPassword {
            name: n,
            password_stdin,
        } => {
            let user = name(&n)?;
            let (password, generated) = password(password_stdin)?;
            if account::set_password(store.as_ref(), &user, &password, &actor, now).await? {
                eprintln!("password of {user} changed; their sessions are ended");
                if generated {
                    println!("{password}");
                }
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("error: {user} has no account");
                Ok(ExitCode::FAILURE)
            }
        }
    };
    store.close().await;
    result
}
