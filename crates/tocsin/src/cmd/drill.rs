//! `tocsin drill SERVICE`: a fire drill through a running hub. Starts a
//! `[DRILL]` incident for the service, prints each person escalation
//! reaches as it happens (level, how long after the start), and ends the
//! drill after `--watch` seconds unless `--keep`.

use serde_json::Value;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct DrillArgs {
    /// The service whose escalation to test.
    pub service: String,
    /// The tocsin to drill.
    #[arg(long, env = "TOCSIN_URL", default_value = "http://127.0.0.1:7676")]
    pub server: String,
    /// An API token with the write scope, responder in the service's team.
    #[arg(long, env = "TOCSIN_TOKEN", hide_env_values = true)]
    pub token: String,
    /// How long to watch escalation before ending the drill.
    #[arg(long, default_value_t = 60)]
    pub watch: u64,
    /// Leave the drill incident open (end it later on its incident page or
    /// by acknowledging it).
    #[arg(long)]
    pub keep: bool,
}

fn problem(status: reqwest::StatusCode, body: &Value) -> anyhow::Error {
    let detail = body.get("detail").and_then(Value::as_str).unwrap_or("");
    anyhow::anyhow!("{status}: {detail}")
}

pub async fn run(args: DrillArgs) -> anyhow::Result<ExitCode> {
    let base = args.server.trim_end_matches('/');
    let client = reqwest::Client::builder().build()?;
    let res = client
        .post(format!("{base}/api/v1/services/{}/drills", args.service))
        .bearer_auth(&args.token)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {base}: {e}"))?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(problem(status, &body));
    }
    let Some(incident) = body.get("incident").and_then(Value::as_i64) else {
        anyhow::bail!(
            "the drill opened no incident (is {} silenced or in maintenance?)",
            args.service
        );
    };
    let key = body["dedup_key"].as_str().unwrap_or_default().to_owned();
    println!(
        "drill incident #{incident} started for {}; watching escalation for {} s",
        args.service, args.watch
    );
    let deadline = Instant::now() + Duration::from_secs(args.watch);
    let mut shown = 0;
    loop {
        let res = client
            .get(format!("{base}/api/v1/incidents/{incident}/drill-report"))
            .bearer_auth(&args.token)
            .send()
            .await?;
        let steps: Vec<Value> = res.json().await.unwrap_or_default();
        for s in steps.iter().skip(shown) {
            let who = s["user"].as_str().unwrap_or("nobody");
            let via = s["via"]
                .as_str()
                .map(|v| format!(" via {v}"))
                .unwrap_or_default();
            let after = s["after_seconds"].as_i64().unwrap_or(0);
            match s["what"].as_str().unwrap_or("paged") {
                "delivered" => println!("  +{after:>4} s  delivered to {who}{via}"),
                "failed" => println!("  +{after:>4} s  delivery to {who}{via} failed"),
                "acknowledged" => println!("  +{after:>4} s  acknowledged by {who}"),
                _ => println!(
                    "  +{after:>4} s  level {}: {who}{via}",
                    s["level"].as_i64().unwrap_or(0)
                ),
            }
        }
        shown = shown.max(steps.len());
        if Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1).min(deadline - Instant::now())).await;
    }
    if shown == 0 {
        println!(
            "  nobody was reached in {} s: check the service's escalation policy and schedules",
            args.watch
        );
    }
    if args.keep {
        println!("drill incident #{incident} left open ({base}/incidents/{incident})");
    } else {
        let res = client
            .delete(format!(
                "{base}/api/v1/services/{}/drills/{key}",
                args.service
            ))
            .bearer_auth(&args.token)
            .send()
            .await?;
        if !res.status().is_success() {
            let status = res.status();
            let body: Value = res.json().await.unwrap_or(Value::Null);
            return Err(problem(status, &body));
        }
        println!("drill ended: incident #{incident} resolved");
    }
    Ok(if shown == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
