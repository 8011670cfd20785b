//! `tocsin chat "ack 8"`: one ChatOps command line, run by a hub through
//! `POST /api/v1/chat` with `X-Tocsin-Interface: cli`. Prints the answer;
//! exits 1 when the command was refused or not understood.
//!
//! A command that asks to be confirmed (`run`) prints what will run, then
//! asks `Run it? [y/N]` on a terminal and posts the confirmation token on
//! `y`; `--yes` confirms without asking (for scripts). Without a terminal
//! and without `--yes` nothing runs and the exit status is 1.

use crate::cmd::incident::Api;
use serde_json::{Value, json};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub api: Api,
    /// Confirm a command that asks for it (`run`) without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// The command line, as typed in chat (quote it): "ack 8",
    /// "incident new \"Checkout returns 502\" sev2 checkout", "help".
    /// Several words are joined with spaces; put words that start with
    /// `-` after `--` or inside the quotes.
    #[arg(required = true, num_args = 1..)]
    pub words: Vec<String>,
}

/// One answer of `POST /api/v1/chat`.
struct Answer {
    text: String,
    ok: bool,
    confirm: Option<String>,
}

async fn post(
    client: &reqwest::Client,
    url: &reqwest::Url,
    base: &str,
    token: &str,
    body: Value,
) -> anyhow::Result<Answer> {
    let res = client
        .post(url.clone())
        .bearer_auth(token)
        .header("X-Tocsin-Interface", "cli")
        .json(&body)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {base}: {e}"))?;
    let status = res.status();
    let text = res.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    if !status.is_success() {
        let detail = body
            .get("detail")
            .and_then(Value::as_str)
            .filter(|d| !d.is_empty())
            .unwrap_or(text.as_str());
        anyhow::bail!("{status}: {detail}");
    }
    let (Some(answer), Some(ok)) = (
        body.get("text").and_then(Value::as_str),
        body.get("ok").and_then(Value::as_bool),
    ) else {
        anyhow::bail!("unexpected answer from {base}: {text}");
    };
    Ok(Answer {
        text: answer.to_owned(),
        ok,
        confirm: body
            .get("confirm")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

/// Asks `Run it? [y/N]` on the terminal; `true` only for y or yes.
fn ask() -> anyhow::Result<bool> {
    eprint!("Run it? [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

pub async fn run(args: ChatArgs) -> anyhow::Result<ExitCode> {
    let Some(token) = args.api.token.as_deref() else {
        anyhow::bail!(
            "an API token is needed: --token or TOCSIN_TOKEN (create one with `tocsin token create --scope write`)"
        );
    };
    let base = args.api.server.trim_end_matches('/');
    let url = reqwest::Url::parse(&format!("{base}/api/v1/chat"))
        .map_err(|e| anyhow::anyhow!("--server {base:?} is not a URL: {e}"))?;
    let client = reqwest::Client::builder().build()?;
    let mut answer = post(
        &client,
        &url,
        base,
        token,
        json!({ "text": args.words.join(" ") }),
    )
    .await?;
    println!("{}", answer.text);
    if let Some(confirmation) = answer.confirm.take() {
        let go = if args.yes {
            true
        } else if std::io::stdin().is_terminal() {
            ask()?
        } else {
            eprintln!(
                "Not run: this command needs confirming, and there is no terminal to ask on. \
                 Run it again with --yes to confirm it."
            );
            return Ok(ExitCode::FAILURE);
        };
        if !go {
            println!("Not run.");
            return Ok(ExitCode::FAILURE);
        }
        answer = post(
            &client,
            &url,
            base,
            token,
            json!({ "confirm": confirmation }),
        )
        .await?;
        println!("{}", answer.text);
    }
    Ok(if answer.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
