//! The delivery channels `tocsin serve` sends through, from flags and
//! environment variables. Channels that need nothing (webhooks, Slack and
//! Mattermost incoming webhooks, Teams, ntfy.sh, the console) are always
//! on; email and Matrix when configured; the Slack Web API with a bot
//! token.

use std::sync::Arc;
use tocsin_core::clock::Clock;
use tocsin_core::notify::{Channels, DeliveryPolicy};
use tocsin_core::rooms::RoomService;
use tocsin_domain::Severity;
use tocsin_notify::{
    console, email, matrix, mattermost, ntfy, slack, slack_api, slack_rooms, teams, webhook,
};

#[derive(Debug, Clone, clap::Args)]
pub struct ChannelArgs {
    /// Signs generic webhooks (`X-Tocsin-Signature`, HMAC-SHA256).
    #[arg(long, env = "TOCSIN_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// A Slack bot token (`xoxb-…`) for channel and member ids; incoming
    /// webhook URLs work without one.
    #[arg(long, env = "TOCSIN_SLACK_BOT_TOKEN", hide_env_values = true)]
    pub slack_bot_token: Option<String>,
    /// The Slack Web API's base URL.
    #[arg(
        long,
        env = "TOCSIN_SLACK_API_URL",
        default_value = "https://slack.com/api"
    )]
    pub slack_api_url: String,
    /// The Slack app's signing secret: enables slash commands and buttons
    /// at /chat/slack/commands and /chat/slack/interactions, and the Events
    /// API (mentions, DMs) at /chat/slack/events, which also needs
    /// --slack-bot-token to answer.
    #[arg(long, env = "TOCSIN_SLACK_SIGNING_SECRET", hide_env_values = true)]
    pub slack_signing_secret: Option<String>,
    /// A Mattermost slash command's token: enables the command at
    /// /chat/mattermost/commands and tocsin's buttons at
    /// /chat/mattermost/actions. Repeat it or separate tokens with commas
    /// to accept several (one per command, or while rotating).
    #[arg(
        long = "mattermost-token",
        env = "TOCSIN_MATTERMOST_TOKENS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub mattermost_tokens: Vec<String>,
    /// The ntfy server for topics given without one.
    #[arg(long, env = "TOCSIN_NTFY_SERVER", default_value = ntfy::DEFAULT_SERVER)]
    pub ntfy_server: String,
    #[arg(long, env = "TOCSIN_NTFY_TOKEN", hide_env_values = true)]
    pub ntfy_token: Option<String>,
    /// The SMTP relay for email; without it email is not sent.
    #[arg(long, env = "TOCSIN_SMTP_HOST")]
    pub smtp_host: Option<String>,
    #[arg(long, env = "TOCSIN_SMTP_PORT", default_value_t = 587)]
    pub smtp_port: u16,
    /// `starttls`, `tls` (implicit, usually port 465) or `none`.
    #[arg(long, env = "TOCSIN_SMTP_SECURITY", default_value = "starttls")]
    pub smtp_security: String,
    #[arg(long, env = "TOCSIN_SMTP_USERNAME")]
    pub smtp_username: Option<String>,
    #[arg(long, env = "TOCSIN_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// The sender: `tocsin <tocsin@example.com>`.
    #[arg(
        long,
        env = "TOCSIN_SMTP_FROM",
        default_value = "tocsin <tocsin@localhost>"
    )]
    pub smtp_from: String,
    /// The Matrix homeserver the bot account lives on.
    #[arg(long, env = "TOCSIN_MATRIX_HOMESERVER")]
    pub matrix_homeserver: Option<String>,
    /// The bot account's access token.
    #[arg(long, env = "TOCSIN_MATRIX_TOKEN", hide_env_values = true)]
    pub matrix_token: Option<String>,
    /// Listen for commands as the Matrix bot account (in the rooms it is
    /// invited to); needs --matrix-homeserver and --matrix-token.
    #[arg(long, env = "TOCSIN_MATRIX_BOT")]
    pub matrix_bot: bool,
    /// Open a Matrix room per incident at --incident-room-severity or
    /// worse, invite its responders and mirror its timeline.
    #[arg(long, env = "TOCSIN_MATRIX_ROOMS")]
    pub matrix_rooms: bool,
    /// Open a Slack channel per incident at --incident-room-severity or
    /// worse, invite its responders and mirror its timeline; needs
    /// --slack-bot-token.
    #[arg(long, env = "TOCSIN_SLACK_INCIDENT_CHANNELS")]
    pub slack_incident_channels: bool,
    /// Incidents of this severity or worse get a room (Slack channel,
    /// Matrix room) when rooms are on.
    #[arg(long, env = "TOCSIN_INCIDENT_ROOM_SEVERITY", default_value = "sev2")]
    pub incident_room_severity: String,
    /// Messages one destination (a person's contact, a channel) may get at
    /// once; beyond it, one per --notify-interval, and what waits goes out
    /// as one bundle.
    #[arg(long, env = "TOCSIN_NOTIFY_BURST", default_value_t = 3)]
    pub notify_burst: u32,
    /// Seconds between messages to one destination after the burst.
    #[arg(long, env = "TOCSIN_NOTIFY_INTERVAL", default_value_t = 20)]
    pub notify_interval: u32,
}

/// How delivery behaves, from the flags.
pub fn policy(args: &ChannelArgs) -> anyhow::Result<DeliveryPolicy> {
    if args.notify_burst == 0 {
        anyhow::bail!("--notify-burst must be at least 1");
    }
    Ok(DeliveryPolicy {
        limit: tocsin_store::notify::RateLimit {
            interval: jiff::SignedDuration::from_secs(i64::from(args.notify_interval)),
            burst: args.notify_burst,
        },
        ..DeliveryPolicy::default()
    })
}

/// Where Mattermost buttons post, and the token they carry: only with a
/// public URL (Mattermost must reach the hub; the listen address is
/// usually not reachable from it) and a `--mattermost-token` (the hub
/// refuses a button request without one, as Mattermost does not sign
/// them). The first token is used.
fn mattermost_actions(args: &ChannelArgs, public_url: Option<&str>) -> Option<mattermost::Actions> {
    let base = public_url
        .map(|u| u.trim().trim_end_matches('/'))
        .filter(|u| !u.is_empty())?;
    let token = args
        .mattermost_tokens
        .iter()
        .map(|t| t.trim())
        .find(|t| !t.is_empty())?;
    Some(mattermost::Actions {
        url: format!("{base}{}", tocsin_web::chat::mattermost::ACTIONS_PATH),
        token: token.to_owned(),
    })
}

/// Slack's Web API with the bot token, when one is set: the web server
/// answers Events API mentions and DMs with it, looks unknown members up
/// by email, and (wired by the caller) incident channels use it
/// (`tocsin_notify::slack_rooms::SlackRooms::new`).
pub fn slack_web_api(args: &ChannelArgs) -> anyhow::Result<Option<slack_api::WebApi>> {
    let Some(token) = args
        .slack_bot_token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Ok(None);
    };
    Ok(Some(slack_api::WebApi::new(
        token,
        &args.slack_api_url,
        tocsin_core::notify::SEND_TIMEOUT,
    )?))
}

/// The Matrix bot account's configuration, when both flags are set (and
/// an error when only one is).
pub fn matrix_config(args: &ChannelArgs) -> anyhow::Result<Option<matrix::Config>> {
    match (&args.matrix_homeserver, &args.matrix_token) {
        (Some(homeserver), Some(token)) => Ok(Some(matrix::Config {
            homeserver: homeserver.clone(),
            access_token: token.clone(),
        })),
        (None, None) => Ok(None),
        _ => anyhow::bail!(
            "Matrix needs both --matrix-homeserver and --matrix-token (TOCSIN_MATRIX_HOMESERVER, TOCSIN_MATRIX_TOKEN)"
        ),
    }
}

/// The platforms that hold a room per incident, from the flags: each with
/// what it needs, or an error naming the missing flag.
pub fn room_services(args: &ChannelArgs) -> anyhow::Result<Vec<Arc<dyn RoomService>>> {
    let mut services: Vec<Arc<dyn RoomService>> = Vec::new();
    if args.slack_incident_channels {
        let Some(api) = slack_web_api(args)? else {
            anyhow::bail!(
                "--slack-incident-channels needs --slack-bot-token (TOCSIN_SLACK_BOT_TOKEN): channels are made with the Web API"
            );
        };
        services.push(Arc::new(slack_rooms::SlackRooms::new(api)));
    }
    if args.matrix_rooms {
        let Some(config) = matrix_config(args)? else {
            anyhow::bail!(
                "--matrix-rooms needs --matrix-homeserver and --matrix-token: rooms are made by the bot account"
            );
        };
        services.push(Arc::new(matrix::MatrixRooms::new(&config)?));
    }
    Ok(services)
}

/// `--incident-room-severity`: the least serious severity that gets a room.
pub fn room_severity(args: &ChannelArgs) -> anyhow::Result<Severity> {
    let v = args.incident_room_severity.trim();
    Severity::parse(v).ok_or_else(|| {
        anyhow::anyhow!("--incident-room-severity {v:?} is not a severity; use sev1 … sev5")
    })
}

/// The channels; `public_url` is where people (and Mattermost) reach the
/// hub, if set.
pub fn build(
    args: &ChannelArgs,
    public_url: Option<&str>,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Channels> {
    let mut channels = Channels::default()
        .with(Arc::new(console::ConsoleChannel::new()))
        .with(Arc::new(webhook::WebhookChannel::new(
            webhook::Config {
                secret: args.webhook_secret.clone(),
                ..webhook::Config::default()
            },
            clock,
        )?))
        .with(Arc::new(slack::SlackChannel::new(slack::Config {
            bot_token: args.slack_bot_token.clone(),
            api_base: args.slack_api_url.clone(),
            ..slack::Config::default()
        })?))
        .with(Arc::new(
            mattermost::MattermostChannel::new(mattermost::Config::default())?
                .with_actions(mattermost_actions(args, public_url)),
        ))
        .with(Arc::new(
            teams::TeamsChannel::new(teams::Config::default())?,
        ))
        .with(Arc::new(ntfy::NtfyChannel::new(ntfy::Config {
            server: args.ntfy_server.clone(),
            token: args.ntfy_token.clone(),
            ..ntfy::Config::default()
        })?));
    if let Some(host) = &args.smtp_host {
        let security = match args.smtp_security.as_str() {
            "starttls" => email::Security::StartTls,
            "tls" => email::Security::Tls,
            "none" => email::Security::None,
            other => anyhow::bail!("--smtp-security {other:?}: use starttls, tls or none"),
        };
        channels = channels.with(Arc::new(email::EmailChannel::new(&email::Config {
            host: host.clone(),
            port: args.smtp_port,
            security,
            username: args.smtp_username.clone(),
            password: args.smtp_password.clone(),
            from: args.smtp_from.clone(),
            timeout: tocsin_core::notify::SEND_TIMEOUT,
            extra_root_ca_pem: None,
        })?));
    }
    if let Some(config) = matrix_config(args)? {
        channels = channels.with(Arc::new(matrix::MatrixChannel::new(&config)?));
    }
    Ok(channels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        channels: ChannelArgs,
    }

    fn args(extra: &[&str]) -> ChannelArgs {
        let mut argv = vec!["tocsin"];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).channels
    }

    #[test]
    fn the_slack_web_api_needs_a_bot_token() {
        assert!(slack_web_api(&args(&[])).unwrap().is_none());
        assert!(
            slack_web_api(&args(&["--slack-bot-token", "  "]))
                .unwrap()
                .is_none()
        );
        let api = slack_web_api(&args(&[
            "--slack-bot-token",
            "xoxb-1",
            "--slack-api-url",
            "http://127.0.0.1:9/api/",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(api.base(), "http://127.0.0.1:9/api");
    }

    #[test]
    fn mattermost_buttons_need_a_public_url_and_a_token() {
        let with_token = args(&["--mattermost-token", " first ,second"]);
        assert_eq!(
            mattermost_actions(&with_token, Some("https://tocsin.example.com/")),
            Some(mattermost::Actions {
                url: "https://tocsin.example.com/chat/mattermost/actions".to_owned(),
                token: "first".to_owned(),
            })
        );
        assert_eq!(mattermost_actions(&with_token, None), None);
        assert_eq!(
            mattermost_actions(&args(&[]), Some("https://tocsin.example.com")),
            None
        );
    }
}
