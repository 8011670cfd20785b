//! `tocsin send` and `tocsin log`: fire an event at a running tocsin through
//! an integration's generic endpoint — a test alert, or a change ("Upgraded
//! redis to 2.8.19") from a deploy script.

use serde_json::{Value, json};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Target {
    /// The tocsin to send to.
    #[arg(long, env = "TOCSIN_URL", default_value = "http://127.0.0.1:7676")]
    pub server: String,
    /// The key of an integration of format `generic`.
    #[arg(long, env = "TOCSIN_INTEGRATION_KEY", hide_env_values = true)]
    pub key: Option<String>,
}

/// `tocsin log --service X`: the service, and the API token to say it with.
#[derive(Debug, clap::Args)]
pub struct ServiceTarget {
    /// Record the change for this service through the API (needs --token)
    /// instead of through an integration key.
    #[arg(long, conflicts_with = "key")]
    pub service: Option<String>,
    /// An API token with the write scope, responder in the service's team.
    #[arg(long, env = "TOCSIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum EventAction {
    Trigger,
    Acknowledge,
    Resolve,
}

/// Posts one generic event; prints the answer.
pub async fn send(target: &Target, event: Value) -> anyhow::Result<ExitCode> {
    let Some(key) = &target.key else {
        anyhow::bail!(
            "say which integration with --key KEY (or TOCSIN_INTEGRATION_KEY); \
             `tocsin get integrations` lists them, the web UI shows their keys to admins"
        );
    };
    let url = format!(
        "{}/integrations/{key}/events",
        target.server.trim_end_matches('/')
    );
    post(&target.server, &url, None, &event).await
}

/// Records a change for a service through the API.
pub async fn log_for_service(
    server: &str,
    service: &ServiceTarget,
    change: Value,
) -> anyhow::Result<ExitCode> {
    let (Some(name), Some(token)) = (&service.service, &service.token) else {
        anyhow::bail!(
            "--service needs an API token: --token or TOCSIN_TOKEN (create one with `tocsin token create --scope write`)"
        );
    };
    let url = format!(
        "{}/api/v1/services/{name}/changes",
        server.trim_end_matches('/')
    );
    let mut body = change;
    if let Some(obj) = body.as_object_mut() {
        obj.remove("action");
    }
    post(server, &url, Some(token), &body).await
}

async fn post(
    server: &str,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> anyhow::Result<ExitCode> {
    let client = reqwest::Client::builder().build()?;
    let mut req = client.post(url).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {server}: {e}"))?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        println!("{status}: {body}");
        Ok(ExitCode::SUCCESS)
    } else {
        let detail = body.get("detail").and_then(Value::as_str).unwrap_or("");
        eprintln!("error: {status}: {detail}");
        if let Some(errors) = body.get("errors").and_then(Value::as_array) {
            for e in errors {
                eprintln!(
                    "  {}: {}",
                    e["field"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("?")
                );
            }
        }
        Ok(ExitCode::FAILURE)
    }
}

pub fn alert(
    action: EventAction,
    summary: &str,
    dedup_key: Option<&str>,
    severity: &str,
    source: Option<&str>,
) -> Value {
    let action = match action {
        EventAction::Trigger => "trigger",
        EventAction::Acknowledge => "acknowledge",
        EventAction::Resolve => "resolve",
    };
    let mut e = json!({ "action": action, "summary": summary, "severity": severity });
    if let Some(k) = dedup_key {
        e["dedup_key"] = json!(k);
    }
    if let Some(s) = source {
        e["source"] = json!(s);
    }
    e
}

pub fn change(summary: &str, source: Option<&str>) -> Value {
    let mut e = json!({ "action": "change", "summary": summary });
    if let Some(s) = source {
        e["source"] = json!(s);
    }
    e
}
