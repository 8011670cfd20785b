//! One Matrix room per serious incident: [`MatrixRooms`] is the Matrix
//! side of [`tocsin_core::rooms::RoomService`]; what to open, whom to
//! invite and what to post is decided by the core's `IncidentRooms`.
//!
//! Invariants:
//! - Opening is idempotent: the room gets the alias
//!   `#<RoomIncident::slug>:<server>`, so a second open (after a crash, or
//!   by another instance) finds the first room through the alias instead
//!   of making another.
//! - A line's transaction id derives from its key and the room, so a line
//!   posted again after a crash is one event.
//! - One person who cannot be invited (no such account) is logged and
//!   skipped; it does not hold up the others or the mirror.

use super::client::{Client, Failure, is_user_id, server_name, string_field};
use super::{Config, ConfigError};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Value, json};
use tocsin_core::notify::SendError;
use tocsin_core::rooms::{RoomError, RoomIncident, RoomService};
use tocsin_domain::catalog::ContactKind;

/// The longest room name, in characters (titles are cut to fit).
const NAME_MAX: usize = 120;

/// Incident rooms on a Matrix homeserver, made by the bot account.
#[derive(Debug)]
pub struct MatrixRooms {
    client: Client,
}

impl MatrixRooms {
    /// Rooms made by `config`'s bot account.
    pub fn new(config: &Config) -> Result<MatrixRooms, ConfigError> {
        Ok(MatrixRooms {
            client: Client::new(config)?,
        })
    }

    /// The room the alias names, joined by the bot if it is not in it.
    async fn existing(&self, slug: &str) -> Result<String, Failure> {
        let me = self.client.whoami().await?;
        let server = server_name(&me).ok_or_else(|| {
            Failure::from(SendError::permanent(format!(
                "the bot's user id {me:?} has no server name"
            )))
        })?;
        let alias = format!("#{slug}:{server}");
        let room = self.client.resolve_alias(&alias).await?;
        // A no-op when the bot is in the room already.
        self.client
            .call(Method::POST, &["join", &room], Some(&json!({})))
            .await
            .map_err(|f| Failure {
                error: match f.error {
                    SendError::Permanent { reason } => SendError::permanent(format!(
                        "the alias {alias} names room {room}, which the bot cannot join ({reason}); \
                         invite the bot to it or remove the alias"
                    )),
                    e => e,
                },
                ..f
            })?;
        Ok(room)
    }

    /// Whether `user` has joined or been invited to `room`.
    async fn member(&self, room: &str, user: &str) -> Result<bool, Failure> {
        match self
            .client
            .call(
                Method::GET,
                &["rooms", room, "state", "m.room.member", user],
                None,
            )
            .await
        {
            Ok(m) => Ok(matches!(
                m.get("membership").and_then(Value::as_str),
                Some("join" | "invite")
            )),
            Err(f) if f.transient() || f.bad_token() => Err(f),
            Err(_) => Ok(false),
        }
    }
}

fn room_error(f: Failure) -> RoomError {
    match f.error {
        SendError::Transient { reason, .. } => RoomError::Transient(reason),
        SendError::Permanent { reason } => RoomError::Permanent(reason),
    }
}

/// The room's name: the incident's number and title, cut to fit.
fn room_name(incident: &RoomIncident) -> String {
    let mut name = format!("#{} {}", incident.number, incident.title.trim());
    if name.chars().count() > NAME_MAX {
        name = name.chars().take(NAME_MAX - 1).collect::<String>();
        name.push('…');
    }
    name
}

#[async_trait]
impl RoomService for MatrixRooms {
    fn platform(&self) -> &'static str {
        "matrix"
    }

    fn contact_kind(&self) -> ContactKind {
        ContactKind::Matrix
    }

    async fn open(&self, incident: &RoomIncident) -> Result<String, RoomError> {
        let slug = incident.slug();
        let created = self
            .client
            .call(
                Method::POST,
                &["createRoom"],
                Some(&json!({
                    "room_alias_name": slug,
                    "name": room_name(incident),
                    "topic": incident.topic(),
                    "preset": "private_chat",
                    "visibility": "private",
                })),
            )
            .await;
        match created {
            Ok(answer) => string_field(&answer, "room_id", "createRoom").map_err(room_error),
            Err(f) if f.errcode_is("M_ROOM_IN_USE") => {
                self.existing(&slug).await.map_err(room_error)
            }
            Err(f) => Err(room_error(f)),
        }
    }

    async fn invite(&self, room: &str, addresses: &[String]) -> Result<(), RoomError> {
        for user in addresses {
            let user = user.trim();
            if !is_user_id(user) {
                tracing::warn!(
                    room,
                    address = user,
                    "incident room: a matrix contact method is not a Matrix user id (@name:server); not invited"
                );
                continue;
            }
            let invited = self
                .client
                .call(
                    Method::POST,
                    &["rooms", room, "invite"],
                    Some(&json!({ "user_id": user })),
                )
                .await;
            let Err(f) = invited else {
                continue;
            };
            if f.transient() || f.bad_token() {
                return Err(room_error(f));
            }
            // Already in the room (joined or invited): nothing to do.
            if self.member(room, user).await.map_err(room_error)? {
                continue;
            }
            if f.errcode_is("M_FORBIDDEN") {
                // The bot may not invite in this room at all.
                return Err(room_error(f));
            }
            tracing::warn!(room, user, error = %f, "incident room: could not invite a responder");
        }
        Ok(())
    }

    async fn post(&self, room: &str, key: &str, text: &str) -> Result<(), RoomError> {
        self.client
            .send_message(room, key, &json!({ "msgtype": "m.notice", "body": text }))
            .await
            .map(|_| ())
            .map_err(room_error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tocsin_domain::{Name, Severity};

    #[test]
    fn names_are_cut_to_fit() {
        let mut incident = RoomIncident {
            number: 8,
            title: "Checkout returns 502".into(),
            severity: Severity::Sev1,
            service: Name::parse("checkout").unwrap(),
            link: None,
        };
        assert_eq!(room_name(&incident), "#8 Checkout returns 502");
        incident.title = "x".repeat(500);
        let long = room_name(&incident);
        assert_eq!(long.chars().count(), NAME_MAX);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn failures_keep_their_class() {
        assert_eq!(
            room_error(Failure::from(SendError::transient("down"))),
            RoomError::Transient("down".into())
        );
        assert_eq!(
            room_error(Failure::from(SendError::permanent("no"))),
            RoomError::Permanent("no".into())
        );
    }
}
