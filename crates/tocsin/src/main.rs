//! `tocsin`: the incident hub's one binary — the server, and the CLI that
//! manages it (migrations, config as code, tokens, reading the catalog).

mod channels;
mod cmd;
mod database;
mod logging;

use clap::{CommandFactory, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// The default port: free of PostgreSQL (5432), Redis (6379), RabbitMQ
/// (5672, 15672), MQTT (1883, 8883), NATS (4222, 8222) and Prometheus,
/// Alertmanager and exporters (9090-9115).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7676";

#[derive(Debug, Parser)]
#[command(name = "tocsin", version, about = "tocsin — the self-hosted incident hub", long_about = None)]
struct Cli {
    /// Database URL: postgres://user@host/db, or sqlite://path/to/file.db.
    /// Without it, an embedded SQLite file in the data directory.
    #[arg(
        long,
        global = true,
        env = "TOCSIN_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,

    /// Where the embedded SQLite database lives.
    #[arg(long, global = true, env = "TOCSIN_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,

    /// Log format.
    #[arg(long, global = true, env = "TOCSIN_LOG_FORMAT", value_enum, default_value_t = logging::Format::Human)]
    log_format: logging::Format,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the hub: API, engine, and (with --demo) a sample organisation.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "TOCSIN_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: SocketAddr,
        /// Load the demo organisation (examples/) if the catalog is empty,
        /// and print a sign-in password and an admin API token for it.
        #[arg(long)]
        demo: bool,
        /// The URL people reach tocsin at (behind a reverse proxy). With
        /// https://, session cookies are Secure and __Host- prefixed.
        #[arg(long, env = "TOCSIN_PUBLIC_URL")]
        public_url: Option<String>,
        /// Events per second one integration may send on average (bursts
        /// of 2.5 times that); beyond it senders get 429 with Retry-After.
        #[arg(long, env = "TOCSIN_INGEST_RATE_LIMIT", default_value_t = 20_000)]
        ingest_rate_limit: u32,
        /// Severities whose incidents close only once their review is
        /// marked done (comma-separated; `none` for no such rule).
        #[arg(
            long,
            env = "TOCSIN_REVIEW_REQUIRED",
            value_delimiter = ',',
            default_value = "sev1,sev2"
        )]
        review_required: Vec<String>,
        /// A program runbook actions may run (`command:` in a
        /// `runbook_actions` manifest), by its absolute path. Repeat the
        /// flag, or separate paths with commas in the environment
        /// variable. Without any, only HTTP actions run.
        #[arg(
            long = "runbook-command",
            env = "TOCSIN_RUNBOOK_COMMANDS",
            value_delimiter = ','
        )]
        runbook_commands: Vec<PathBuf>,
        #[command(flatten)]
        channels: Box<channels::ChannelArgs>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Check manifests offline: every problem, with file, line and column.
    Validate {
        /// Directories or files of YAML manifests.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Show what `apply` would change in the database.
    Plan {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Also plan deleting objects managed by config that no manifest declares.
        #[arg(long)]
        prune: bool,
        /// Exit 0 when there is nothing to change, 2 when there is (1 on
        /// errors), for drift checks in CI, like `terraform plan -detailed-exitcode`.
        #[arg(long)]
        detailed_exitcode: bool,
    },
    /// Apply manifests to the database in one transaction.
    Apply {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Delete objects managed by config that no manifest declares.
        #[arg(long)]
        prune: bool,
        /// Do not ask for confirmation (required when not on a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Manage sign-in accounts and roles.
    User {
        #[command(subcommand)]
        command: cmd::user::UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: cmd::token::TokenCommand,
    },
    /// List declared objects, or show one.
    Get {
        /// users, teams, schedules, escalation-policies, services, integrations
        kind: String,
        /// Show only this object.
        name: Option<String>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = cmd::get::Output::Table)]
        output: cmd::get::Output,
    },
    /// Fire drill: send a [DRILL] incident through a service's escalation
    /// on a running hub and report who was reached, at which level, when.
    Drill(cmd::drill::DrillArgs),
    /// Run an incident on a running hub: list, show, declare, ack, resolve,
    /// note, sev, role, update, merge, close, review.
    Incident(cmd::incident::IncidentArgs),
    /// Run one ChatOps command on a running hub, as in chat:
    /// `tocsin chat "ack 8"`, `tocsin chat help`.
    Chat(cmd::chat::ChatArgs),
    /// Who is on call now (or --at an instant), per schedule.
    Oncall {
        /// Only this team's schedules.
        #[arg(long)]
        team: Option<String>,
        /// Only this schedule.
        #[arg(long)]
        schedule: Option<String>,
        /// An RFC 3339 instant; default now.
        #[arg(long)]
        at: Option<String>,
        /// Output format.
        #[arg(long, short = 'o', value_enum, default_value_t = cmd::get::Output::Table)]
        output: cmd::get::Output,
    },
    /// Send an alert event to a running tocsin (e.g. a test alert).
    Send {
        #[command(flatten)]
        target: cmd::send::Target,
        /// What the alert says.
        summary: String,
        #[arg(long, value_enum, default_value_t = cmd::send::EventAction::Trigger)]
        action: cmd::send::EventAction,
        /// The alert's identity; repeats with the same key are counted.
        #[arg(long)]
        dedup_key: Option<String>,
        /// sev1..sev5, or critical, error, warning, info.
        #[arg(long, default_value = "sev3")]
        severity: String,
        /// Where it happened (host, job).
        #[arg(long)]
        source: Option<String>,
    },
    /// Record a change (deploy, config change) for a service:
    /// `tocsin log "Upgraded redis to 2.8.19" --service redis` (with an API
    /// token), or for the service of the integration whose --key is given.
    Log {
        #[command(flatten)]
        target: cmd::send::Target,
        #[command(flatten)]
        service: cmd::send::ServiceTarget,
        summary: String,
        #[arg(long)]
        source: Option<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let target =
        || database::parse(cli.database_url.as_deref(), &cli.data_dir).map_err(anyhow::Error::msg);
    match cli.command {
        Command::Serve {
            listen,
            demo,
            public_url,
            ingest_rate_limit,
            review_required,
            runbook_commands,
            channels,
        } => {
            cmd::serve::run(
                target()?,
                listen,
                demo,
                public_url,
                ingest_rate_limit,
                &review_required,
                runbook_commands,
                *channels,
            )
            .await
        }
        Command::Migrate => cmd::migrate::run(target()?).await,
        Command::Validate { paths } => Ok(cmd::config::validate(&paths)),
        Command::Plan {
            paths,
            prune,
            detailed_exitcode,
        } => cmd::config::plan(target()?, &paths, prune, detailed_exitcode).await,
        Command::Apply { paths, prune, yes } => {
            cmd::config::apply(target()?, &paths, prune, yes).await
        }
        Command::Token { command } => cmd::token::run(target()?, command).await,
        Command::User { command } => cmd::user::run(target()?, command).await,
        Command::Drill(args) => cmd::drill::run(args).await,
        Command::Incident(args) => cmd::incident::run(args).await,
        Command::Chat(args) => cmd::chat::run(args).await,
        Command::Oncall {
            team,
            schedule,
            at,
            output,
        } => {
            cmd::oncall::run(
                target()?,
                team.as_deref(),
                schedule.as_deref(),
                at.as_deref(),
                output,
            )
            .await
        }
        Command::Get { kind, name, output } => {
            cmd::get::run(target()?, &kind, name.as_deref(), output).await
        }
        Command::Send {
            target,
            summary,
            action,
            dedup_key,
            severity,
            source,
        } => {
            let event = cmd::send::alert(
                action,
                &summary,
                dedup_key.as_deref(),
                &severity,
                source.as_deref(),
            );
            cmd::send::send(&target, event).await
        }
        Command::Log {
            target,
            service,
            summary,
            source,
        } => {
            let change = cmd::send::change(&summary, source.as_deref());
            if service.service.is_some() {
                cmd::send::log_for_service(&target.server, &service, change).await
            } else {
                cmd::send::send(&target, change).await
            }
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "tocsin", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}
