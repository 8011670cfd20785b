//! `tocsin chat "ack 8"`: one ChatOps command line, run by a hub through
//! `POST /api/v1/chat` with `X-Tocsin-Interface: cli`. Prints the answer;
//! exits 1 when the command was refused or not understood.

use crate::cmd::incident::Api;
use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct ChatArgs {
    #[command(flatten)]
    pub api: Api,
    /// The command line, as typed in chat (quote it): "ack 8",
    /// "incident new \"Checkout returns 502\" sev2 checkout", "help".
    /// Several words are joined with spaces; put words that start with
    /// `-` after `--` or inside the quotes.
    #[arg(required = true, num_args = 1..)]
    pub words: Vec<String>,
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
    let res = reqwest::Client::builder()
        .build()?
        .post(url)
        .bearer_auth(token)
        .header("X-Tocsin-Interface", "cli")
        .json(&json!({ "text": args.words.join(" ") }))
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
    println!("{answer}");
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
