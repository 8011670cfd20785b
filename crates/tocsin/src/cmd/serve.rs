//! `tocsin serve`: open (and migrate) the store, start the engine and the
//! HTTP server, and stop both cleanly on SIGINT/SIGTERM.

use crate::database::Target;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use tocsin_core::audit::Actor;
use tocsin_core::clock::{Clock, SystemClock};
use tocsin_core::engine::{Engine, Housekeeping};
use tocsin_core::escalation::Escalator;
use tocsin_core::ingest::{IngestorConfig, RateLimit, RateLimiter};
use tocsin_core::notify::{AckSigner, Deliverer, Links, Resolutions};
use tocsin_core::reminders::{ActionItemReminders, UpdateReminders};
use tocsin_core::rooms::IncidentRooms;
use tocsin_core::runbook::Runbooks;
use tocsin_domain::token::TokenScope;
use tocsin_web::{AppState, Server, ServerConfig};

#[expect(
    clippy::too_many_arguments,
    reason = "one value per `tocsin serve` flag group, passed through from main"
)]
pub async fn run(
    target: Target,
    listen: SocketAddr,
    demo: bool,
    public_url: Option<String>,
    ingest_rate_limit: u32,
    review_required: &[String],
    runbook_commands: Vec<std::path::PathBuf>,
    channel_args: crate::channels::ChannelArgs,
) -> anyhow::Result<ExitCode> {
    let runbooks = runbooks(runbook_commands)?;
    if ingest_rate_limit == 0 {
        anyhow::bail!("--ingest-rate-limit must be at least 1 event per second");
    }
    let review_required = review_severities(review_required)?;
    let secure_cookies = match public_url.as_deref() {
        None => false,
        Some(u) if u.starts_with("https://") => true,
        Some(u) if u.starts_with("http://") => false,
        Some(u) => anyhow::bail!("--public-url {u:?} must start with https:// or http://"),
    };
    let store = target.open(true).await?;
    let applied = store.migrate().await?;
    tracing::info!(database = %target.describe(), migrations_applied = applied.len(), "store ready");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let mut demo_token = None;
    let mut demo_login = None;
    if demo {
        let loaded = tocsin_core::demo::load_if_empty(store.as_ref(), clock.now()).await?;
        if loaded {
            tracing::info!("demo organisation loaded from examples/");
        }
        // A fresh token each start: the previous one was shown once and is gone.
        tocsin_core::token::revoke(store.as_ref(), "demo", &Actor::system(), clock.now()).await?;
        let token = tocsin_core::token::create(
            store.as_ref(),
            "demo",
            TokenScope::Admin,
            None,
            &Actor::system(),
            clock.now(),
        )
        .await?;
        eprintln!("demo API token (admin scope, shown once): {}", token.secret);
        demo_token = Some(token.secret);
        let (user, password) = tocsin_core::demo::accounts(store.as_ref(), clock.now()).await?;
        demo_login = Some((user, password));
    }

    let worker = format!(
        "{}-{}",
        std::process::id(),
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let channels = crate::channels::build(&channel_args, public_url.as_deref(), clock.clone())?;
    if public_url.is_none() {
        tracing::warn!(
            "links in notifications point at http://{listen}; set --public-url (TOCSIN_PUBLIC_URL) to where people reach tocsin"
        );
    }
    let links = Links {
        base_url: public_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned(),
        signer: AckSigner::from_store(store.as_ref()).await?,
    };
    let rooms = crate::channels::room_services(&channel_args)?;
    let room_severity = crate::channels::room_severity(&channel_args)?;
    let matrix_bot = match (
        channel_args.matrix_bot,
        crate::channels::matrix_config(&channel_args)?,
    ) {
        (false, _) => None,
        (true, Some(config)) => Some(tocsin_notify::matrix::MatrixBot::new(
            &config,
            store.clone(),
            clock.clone(),
            runbooks.clone(),
        )?),
        (true, None) => anyhow::bail!(
            "--matrix-bot needs --matrix-homeserver and --matrix-token (the bot account)"
        ),
    };
    let mut engine = Engine::new(store.clone(), clock.clone(), worker);
    for service in rooms {
        tracing::info!(
            platform = service.platform(),
            severity = room_severity.label(),
            "a chat room per incident"
        );
        engine = engine.with_module(Arc::new(IncidentRooms::new(
            store.clone(),
            service,
            room_severity,
            public_url.clone(),
        )));
    }
    let engine = Arc::new(
        engine
            .with_module(Arc::new(Housekeeping::new(store.clone())))
            .with_handler(Arc::new(Escalator::pages(store.clone(), clock.clone())))
            .with_handler(Arc::new(Escalator::steps(store.clone(), clock.clone())))
            .with_handler(Arc::new(Resolutions::new(store.clone(), clock.clone())))
            .with_handler(Arc::new(UpdateReminders::new(store.clone(), clock.clone())))
            .with_module(Arc::new(ActionItemReminders::new(store.clone())))
            .with_module(Arc::new(tocsin_core::heartbeat::HeartbeatMonitor::new(
                store.clone(),
            )))
            .with_handler(Arc::new(Deliverer::new(
                store.clone(),
                clock.clone(),
                channels,
                links,
                crate::channels::policy(&channel_args)?,
            ))),
    );
    let wake = engine.waker();
    let (stop_engine, stopped) = tokio::sync::watch::channel(false);
    let bot_task = matrix_bot.map(|bot| {
        tracing::info!("matrix bot listening for commands");
        tokio::spawn(bot.run(stopped.clone()))
    });
    let engine_task = tokio::spawn(engine.run(stopped));

    let server = Server::build(
        &ServerConfig { listen },
        AppState {
            secure_cookies,
            review_required: Arc::new(review_required),
            slack_signing_secret: channel_args
                .slack_signing_secret
                .clone()
                .filter(|s| !s.is_empty())
                .map(Arc::new),
            mattermost_tokens: Arc::new(
                channel_args
                    .mattermost_tokens
                    .iter()
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect(),
            ),
            ingest_limit: Arc::new(RateLimiter::new(RateLimit::per_second(f64::from(
                ingest_rate_limit,
            )))),
            runbooks,
            slack_api: crate::channels::slack_web_api(&channel_args)?,
            public_url: public_url.clone().map(Arc::new),
            ..AppState::with_ingest(
                store.clone(),
                clock,
                IngestorConfig {
                    wake: Some(wake),
                    ..IngestorConfig::default()
                },
            )
        },
    )
    .await?;
    let addr = server.local_addr()?;
    tracing::info!(%addr, "tocsin listening on http://{addr}");
    if let Some(secret) = demo_token {
        // The bound address, not the requested one (port 0 becomes a real port).
        eprintln!("try: curl -H 'Authorization: Bearer {secret}' http://{addr}/api/v1/services");
    }
    if let Some((user, password)) = demo_login {
        eprintln!(
            "demo sign-in at http://{addr}/login as {user} (admin), password (shown once): {password}"
        );
    }
    server.run(shutdown_signal()).await?;

    tracing::info!("shutting down: in-flight requests done, stopping the engine");
    let _ = stop_engine.send(true);
    let _ = engine_task.await;
    if let Some(bot) = bot_task {
        let _ = bot.await;
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}

/// `--review-required`: severities (`sev1,sev2`), or `none`.
fn review_severities(values: &[String]) -> anyhow::Result<Vec<tocsin_domain::Severity>> {
    let mut out = Vec::new();
    for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        if v.eq_ignore_ascii_case("none") {
            continue;
        }
        match tocsin_domain::Severity::parse(v) {
            Some(s) if !out.contains(&s) => out.push(s),
            Some(_) => {}
            None => anyhow::bail!(
                "--review-required: {v:?} is not a severity; use sev1 … sev5, comma-separated, or none"
            ),
        }
    }
    Ok(out)
}

/// The programs runbook actions may run (`--runbook-command`): absolute
/// paths only; one that does not exist (yet) is allowed with a warning.
fn runbooks(commands: Vec<std::path::PathBuf>) -> anyhow::Result<Runbooks> {
    let commands: Vec<std::path::PathBuf> = commands
        .into_iter()
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    for c in &commands {
        if !c.is_absolute() {
            anyhow::bail!(
                "--runbook-command {}: write the program's absolute path (e.g. /usr/bin/systemctl)",
                c.display()
            );
        }
        if !c.is_file() {
            tracing::warn!(program = %c.display(), "--runbook-command: no such file; actions that run it will fail to start");
        }
    }
    if !commands.is_empty() {
        let list: Vec<String> = commands.iter().map(|c| c.display().to_string()).collect();
        tracing::info!(programs = %list.join(", "), "runbook actions may run these programs");
    }
    Ok(Runbooks::new(commands))
}

#[cfg(test)]
mod tests {
    use super::review_severities;
    use tocsin_domain::Severity;

    #[test]
    fn review_required_reads_severities_or_none() {
        let s =
            |v: &[&str]| review_severities(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        assert_eq!(
            s(&["sev1", "Sev2"]).unwrap(),
            [Severity::Sev1, Severity::Sev2]
        );
        assert!(s(&["none"]).unwrap().is_empty());
        assert!(s(&["sev9"]).unwrap_err().to_string().contains("sev9"));
    }
}
