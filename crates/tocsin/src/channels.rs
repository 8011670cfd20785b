//! The delivery channels `tocsin serve` sends through, from flags and
//! environment variables. Channels that need nothing (webhooks, Slack and
//! Mattermost incoming webhooks, Teams, ntfy.sh, the console) are always
//! on; email and Matrix when configured; the Slack Web API with a bot
//! token.

use std::sync::Arc;
use tocsin_core::clock::Clock;
use tocsin_core::notify::{Channels, DeliveryPolicy};
use tocsin_notify::{console, email, matrix, mattermost, ntfy, slack, teams, webhook};

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
    /// at /chat/slack/commands and /chat/slack/interactions.
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
    match (&args.matrix_homeserver, &args.matrix_token) {
        (Some(homeserver), Some(token)) => {
            channels = channels.with(Arc::new(matrix::MatrixChannel::new(&matrix::Config {
                homeserver: homeserver.clone(),
                access_token: token.clone(),
            })?));
        }
        (None, None) => {}
        _ => anyhow::bail!(
            "Matrix needs both --matrix-homeserver and --matrix-token (TOCSIN_MATRIX_HOMESERVER, TOCSIN_MATRIX_TOKEN)"
        ),
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
