//! Matrix, over the client-server API with plain HTTP requests, as one bot
//! account:
//!
//! - [`MatrixChannel`] (`channel`): the delivery channel, posting pages,
//!   resolutions and updates to rooms, aliases and people;
//! - [`MatrixBot`] (`bot`): the ChatOps front end, answering commands
//!   typed in the rooms the bot is in;
//! - [`MatrixRooms`] (`rooms`): one room per serious incident, behind
//!   [`tocsin_core::rooms::RoomService`];
//!
//! all three on the shared `client` (URLs, the access token, errors
//! classified as transient or permanent the same way everywhere).

mod bot;
mod channel;
mod client;
mod rooms;

pub use bot::{
    BotError, CONFIRM_FIELD, CURSOR, MatrixBot, POLL, PREFIX, STALE_AFTER, SyncReport,
    TIMELINE_LIMIT,
};
pub use channel::MatrixChannel;
pub use rooms::MatrixRooms;

use crate::email::{html_body, text_body};
use tocsin_domain::notify::Message;

/// The bot's homeserver and its access token.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The homeserver's client-server API base, `https://matrix.example.com`.
    pub homeserver: String,
    /// The bot account's access token.
    pub access_token: String,
}

impl std::fmt::Debug for Config {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("homeserver", &self.homeserver)
            .field("access_token", &"<redacted>")
            .finish()
    }
}

/// Why a Matrix client (channel, bot, rooms) cannot be built from its
/// [`Config`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("matrix: homeserver {url:?} is not an http(s) URL: {reason}")]
    Homeserver { url: String, reason: String },
    #[error("matrix: the access token is empty")]
    NoToken,
    #[error("matrix: cannot build the HTTP client: {0}")]
    Client(String),
}

/// A message as Matrix event content: the plain body and its HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub body: String,
    pub formatted_body: String,
}

/// Renders a message for Matrix. Pure.
pub fn render(message: &Message) -> Rendered {
    Rendered {
        body: text_body(message).trim_end().to_owned(),
        formatted_body: html_body(message).trim_end().to_owned(),
    }
}
