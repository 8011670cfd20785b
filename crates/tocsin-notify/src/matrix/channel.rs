//! The Matrix delivery channel: a message posted as an `m.room.message`
//! (plain body and `org.matrix.custom.html`) by the bot account.
//!
//! An address is a room id (`!opaque:server`, or just `!opaque` from room
//! version 12 on), a room alias (`#ops:server`, resolved through the room
//! directory) or a user id (`@alice:server`: a direct-message room, found
//! in the bot's `m.direct` account data or created once and recorded
//! there, so every page to that person lands in the same room, across
//! restarts too).
//!
//! Invariants:
//! - The transaction id of a send is derived from the message's
//!   idempotency key and the room, so a retried send is deduplicated by
//!   the homeserver: one event, however many attempts.
//! - A resolution or update with the page's reference
//!   (`"<room id>|<event id>"`, what [`Sent::reference`] holds) is posted
//!   as a reply to the page.
//! - Failures are classified by the shared client (`client.rs`).

use super::client::{Client, Failure, string_field};
use super::{Config, ConfigError, render};
use async_trait::async_trait;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;
use tocsin_core::notify::{Channel, Delivery, SendError, Sent};
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::notify::{Message, MessageKind};

/// What an address names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    Room(&'a str),
    Alias(&'a str),
    User(&'a str),
}

fn target(address: &str) -> Result<Target<'_>, SendError> {
    let a = address.trim();
    let clean = a.len() > 1 && !a.contains(|c: char| c == '/' || c.is_whitespace());
    // Room ids carry no server name since room version 12 (`!<hash>`);
    // aliases and user ids always do.
    let well_formed = clean && a.len() > 3 && a.contains(':');
    match a.chars().next() {
        Some('!') if clean => Ok(Target::Room(a)),
        Some('#') if well_formed => Ok(Target::Alias(a)),
        Some('@') if well_formed => Ok(Target::User(a)),
        _ => Err(SendError::permanent(format!(
            "{address:?} is not a Matrix room id (!room), room alias (#room:server) \
             or user id (@user:server)"
        ))),
    }
}

/// Posts to Matrix rooms as one bot account.
pub struct MatrixChannel {
    client: Client,
    /// Aliases and user ids already resolved to a room id.
    rooms: Mutex<HashMap<String, String>>,
    /// Held while finding or creating a direct-message room, so two pages
    /// to one person at once do not create two rooms.
    direct: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for MatrixChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixChannel")
            .field("homeserver", &self.client.homeserver())
            .finish_non_exhaustive()
    }
}

impl MatrixChannel {
    /// The channel for `config`'s bot account; checks the URL and that a
    /// token is given (the token itself is checked by the first send).
    pub fn new(config: &Config) -> Result<MatrixChannel, ConfigError> {
        Ok(MatrixChannel {
            client: Client::new(config)?,
            rooms: Mutex::new(HashMap::new()),
            direct: tokio::sync::Mutex::new(()),
        })
    }

    async fn call(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&Value>,
    ) -> Result<Value, Failure> {
        self.client.call(method, segments, body).await
    }

    /// The room an address stands for, resolving (and caching) aliases and
    /// direct-message rooms.
    async fn room_for(&self, target: Target<'_>) -> Result<String, Failure> {
        let key = match target {
            Target::Room(room) => return Ok(room.to_owned()),
            Target::Alias(a) | Target::User(a) => a,
        };
        if let Some(room) = self.cached(key) {
            return Ok(room);
        }
        let room = match target {
            Target::Alias(alias) => self.client.resolve_alias(alias).await?,
            _ => {
                let _one_at_a_time = self.direct.lock().await;
                if let Some(room) = self.cached(key) {
                    return Ok(room);
                }
                self.direct_room(key).await?
            }
        };
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms.insert(key.to_owned(), room.clone());
        }
        Ok(room)
    }

    fn cached(&self, key: &str) -> Option<String> {
        self.rooms.lock().ok()?.get(key).cloned()
    }

    fn forget(&self, key: &str) {
        if let Ok(mut rooms) = self.rooms.lock() {
            rooms.remove(key);
        }
    }

    /// The bot's `m.direct` account data (user id → room ids); empty when
    /// it was never set.
    async fn direct_map(&self, me: &str) -> Result<Map<String, Value>, Failure> {
        match self
            .call(Method::GET, &["user", me, "account_data", "m.direct"], None)
            .await
        {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Ok(Map::new()),
            Err(f) if f.errcode_is("M_NOT_FOUND") => Ok(Map::new()),
            Err(f) => Err(f),
        }
    }

    /// Whether `user` is still in (or invited to) `room`, as the bot sees it.
    async fn still_direct(&self, room: &str, user: &str) -> Result<bool, Failure> {
        match self
            .call(
                Method::GET,
                &["rooms", room, "state", "m.room.member", user],
                None,
            )
            .await
        {
            Ok(member) => Ok(matches!(
                member.get("membership").and_then(Value::as_str),
                Some("join" | "invite")
            )),
            // The bot left the room or never saw it: not usable.
            Err(f) if matches!(f.error, SendError::Permanent { .. }) => Ok(false),
            Err(f) => Err(f),
        }
    }

    /// The direct-message room with `user`: the newest usable one in
    /// `m.direct`, else a new one, recorded there.
    async fn direct_room(&self, user: &str) -> Result<String, Failure> {
        let me = self.client.whoami().await?;
        let mut direct = self.direct_map(&me).await?;
        let known: Vec<String> = direct
            .get(user)
            .and_then(Value::as_array)
            .map(|rooms| {
                rooms
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        for room in known.iter().rev() {
            if self.still_direct(room, user).await? {
                return Ok(room.clone());
            }
        }
        let created = self
            .call(
                Method::POST,
                &["createRoom"],
                Some(&json!({
                    "is_direct": true,
                    "invite": [user],
                    "preset": "trusted_private_chat",
                    "name": "tocsin pages",
                })),
            )
            .await?;
        let room = string_field(&created, "room_id", "createRoom")?;
        let mut rooms: Vec<Value> = known.into_iter().map(Value::String).collect();
        rooms.push(Value::String(room.clone()));
        direct.insert(user.to_owned(), Value::Array(rooms));
        // The room exists now: a failure to record it costs a second room
        // after a restart, not this page.
        if let Err(f) = self
            .call(
                Method::PUT,
                &["user", &me, "account_data", "m.direct"],
                Some(&Value::Object(direct)),
            )
            .await
        {
            tracing::warn!(room = %room, user, error = %f.error, "matrix: could not record the direct-message room in m.direct");
        }
        Ok(room)
    }
}

#[async_trait]
impl Channel for MatrixChannel {
    fn kind(&self) -> ContactKind {
        ContactKind::Matrix
    }

    async fn send(&self, delivery: Delivery<'_>) -> Result<Sent, SendError> {
        let target = target(delivery.address)?;
        let room = self.room_for(target).await.map_err(|f| f.error)?;
        let content = content(delivery.message, &room, delivery.previous);
        let sent = self
            .client
            .send_message(&room, &delivery.message.key, &content)
            .await;
        let event = match sent {
            Ok(event) => event,
            Err(f) => {
                // A room we resolved may be gone for us (kicked, alias
                // moved): look it up afresh next time.
                if let (Target::Alias(key) | Target::User(key), SendError::Permanent { .. }) =
                    (target, &f.error)
                {
                    self.forget(key);
                }
                return Err(f.error);
            }
        };
        Ok(Sent {
            reference: Some(format!("{room}|{event}")),
        })
    }
}

/// The event content: `m.text` with HTML, a reply to the page for a
/// resolution or update that knows the page's event in this room.
fn content(message: &Message, room: &str, previous: Option<&str>) -> Value {
    let rendered = render(message);
    let mut content = json!({
        "msgtype": "m.text",
        "body": rendered.body,
        "format": "org.matrix.custom.html",
        "formatted_body": rendered.formatted_body,
    });
    if let Some(event) = reply_to(message.kind, room, previous) {
        content["m.relates_to"] = json!({ "m.in_reply_to": { "event_id": event } });
    }
    content
}

/// The event a message replies to: only for a resolution or update, and
/// only when the earlier event is in the same room.
fn reply_to<'a>(kind: MessageKind, room: &str, previous: Option<&'a str>) -> Option<&'a str> {
    if !matches!(kind, MessageKind::Resolved | MessageKind::Update) {
        return None;
    }
    let previous = previous?.trim();
    let event = match previous.split_once('|') {
        Some((in_room, event)) if in_room == room => event,
        Some(_) => return None,
        None => previous,
    };
    event.starts_with('$').then_some(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample;

    #[test]
    fn addresses_are_recognized() {
        assert_eq!(
            target("!abc:example.org").ok(),
            Some(Target::Room("!abc:example.org"))
        );
        assert_eq!(
            target("!GpsMGtOiUi3IU").ok(),
            Some(Target::Room("!GpsMGtOiUi3IU"))
        );
        assert_eq!(
            target(" #ops:example.org ").ok(),
            Some(Target::Alias("#ops:example.org"))
        );
        assert_eq!(
            target("@alice:example.org").ok(),
            Some(Target::User("@alice:example.org"))
        );
        for bad in [
            "alice",
            "@alice",
            "",
            "#a/b:example.org",
            "https://matrix.to/#/@a:b",
        ] {
            assert!(
                matches!(target(bad), Err(SendError::Permanent { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn replies_only_to_an_event_in_the_same_room() {
        let prev = Some("!r:x|$page");
        assert_eq!(reply_to(MessageKind::Resolved, "!r:x", prev), Some("$page"));
        assert_eq!(
            reply_to(MessageKind::Update, "!r:x", Some("$page")),
            Some("$page")
        );
        assert_eq!(reply_to(MessageKind::Resolved, "!other:x", prev), None);
        assert_eq!(reply_to(MessageKind::Page, "!r:x", prev), None);
        let c = content(&sample::resolved(), "!r:x", prev);
        assert_eq!(c["m.relates_to"]["m.in_reply_to"]["event_id"], "$page");
        assert_eq!(c["format"], "org.matrix.custom.html");
        let page = content(&sample::page(), "!r:x", None);
        assert!(page.get("m.relates_to").is_none());
        assert!(
            page["body"]
                .as_str()
                .unwrap()
                .starts_with("Sev1 #42 checkout")
        );
    }
}
