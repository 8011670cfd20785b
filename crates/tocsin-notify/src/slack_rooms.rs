//! One Slack channel per incident: [`SlackRooms`] implements
//! [`RoomService`] with the Web API ([`WebApi`], the bot token), for the
//! `IncidentRooms` engine module of `tocsin-core` to drive.
//!
//! - `open`: `conversations.create` with the incident's slug
//!   (`inc-8-checkout-returns-502`, a public channel); when Slack says
//!   `name_taken` (an earlier attempt made it, or someone did by hand) the
//!   channel is found with `conversations.list` (public channels, every
//!   page by `response_metadata.next_cursor`) and joined if the bot is not
//!   in it. Then `conversations.setTopic` with the incident's topic.
//! - `invite`: `conversations.invite` with the member ids comma-separated;
//!   when one of them is already in the channel (or is the bot itself)
//!   Slack refuses the whole call, so each is then invited on its own and
//!   `already_in_channel` / `cant_invite_self` are skipped.
//! - `post`: `chat.postMessage` of the line as plain text (no mentions,
//!   no links unfurled).
//!
//! Failures: rate limits (`ratelimited`, HTTP 429 with `Retry-After`),
//! Slack's 5xx and transport failures are [`RoomError::Transient`];
//! every other error code (`invalid_auth`, `missing_scope` with the scope
//! needed, `channel_not_found`, …) is [`RoomError::Permanent`] and names
//! the code and what to fix.

use crate::http;
use crate::slack::escape;
use crate::slack_api::{ApiError, Body, WebApi};
use async_trait::async_trait;
use serde_json::{Value, json};
use tocsin_core::rooms::{RoomError, RoomIncident, RoomService};
use tocsin_domain::catalog::ContactKind;

/// Slack's limit on a channel topic.
const TOPIC_MAX: usize = 250;

/// Channels asked for per `conversations.list` page.
const PAGE_SIZE: &str = "200";

/// At most this many pages are read looking for a channel (200 000
/// channels): a cursor that never ends cannot keep the engine busy.
const MAX_PAGES: usize = 1000;

/// Incident channels on Slack.
#[derive(Debug, Clone)]
pub struct SlackRooms {
    api: WebApi,
}

impl SlackRooms {
    /// Incident channels made through `api` (a bot token with the scopes
    /// `channels:manage`, `channels:read`, `channels:join` and
    /// `chat:write`; `docs/chatops.md`, "Incident channels").
    pub fn new(api: WebApi) -> SlackRooms {
        SlackRooms { api }
    }

    /// The public channel named `name` that is not archived: its id and
    /// whether the bot is in it.
    async fn find(&self, name: &str) -> Result<Option<(String, bool)>, ApiError> {
        let mut cursor = String::new();
        for _ in 0..MAX_PAGES {
            let mut form = vec![
                ("types", "public_channel"),
                ("exclude_archived", "true"),
                ("limit", PAGE_SIZE),
            ];
            if !cursor.is_empty() {
                form.push(("cursor", cursor.as_str()));
            }
            let page = self
                .api
                .call("conversations.list", Body::Form(&form))
                .await?;
            let found = page
                .get("channels")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| c.get("name").and_then(Value::as_str) == Some(name));
            if let Some(channel) = found {
                let id = channel
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let member = channel
                    .get("is_member")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                return Ok(Some((id, member)));
            }
            cursor = page
                .pointer("/response_metadata/next_cursor")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if cursor.is_empty() {
                return Ok(None);
            }
        }
        Ok(None)
    }

    /// Invites one member; someone already in, or the bot itself, is fine.
    async fn invite_one(&self, room: &str, member: &str) -> Result<(), ApiError> {
        let body = json!({ "channel": room, "users": member });
        match self
            .api
            .call("conversations.invite", Body::Json(&body))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if skippable(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Invitation errors that leave the person where they should be.
fn skippable(e: &ApiError) -> bool {
    matches!(e.code(), Some("already_in_channel" | "cant_invite_self"))
}

/// A Web API failure as the rooms port's error.
fn room_error(e: ApiError) -> RoomError {
    if e.is_transient() {
        RoomError::Transient(e.to_string())
    } else {
        RoomError::Permanent(e.to_string())
    }
}

#[async_trait]
impl RoomService for SlackRooms {
    fn platform(&self) -> &'static str {
        "slack"
    }

    fn contact_kind(&self) -> ContactKind {
        ContactKind::Slack
    }

    async fn open(&self, incident: &RoomIncident) -> Result<String, RoomError> {
        let name = incident.slug();
        let create = json!({ "name": name, "is_private": false });
        let room = match self
            .api
            .call("conversations.create", Body::Json(&create))
            .await
        {
            Ok(answer) => answer
                .pointer("/channel/id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| {
                    RoomError::Transient(
                        "slack: conversations.create answered ok without a channel id".into(),
                    )
                })?,
            Err(e) if e.code() == Some("name_taken") => {
                match self.find(&name).await.map_err(room_error)? {
                    Some((id, true)) => id,
                    Some((id, false)) => {
                        let join = json!({ "channel": id });
                        self.api
                            .call("conversations.join", Body::Json(&join))
                            .await
                            .map_err(room_error)?;
                        id
                    }
                    None => {
                        return Err(RoomError::Permanent(format!(
                            "slack: a channel named #{name} exists but is archived or private, \
                             so the incident's channel cannot be made; unarchive it (and invite \
                             the app) or rename it"
                        )));
                    }
                }
            }
            Err(e) => return Err(room_error(e)),
        };
        let topic = json!({
            "channel": room,
            "topic": http::truncate(&incident.topic(), TOPIC_MAX),
        });
        self.api
            .call("conversations.setTopic", Body::Json(&topic))
            .await
            .map_err(room_error)?;
        Ok(room)
    }

    async fn invite(&self, room: &str, addresses: &[String]) -> Result<(), RoomError> {
        let members: Vec<&str> = addresses
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
            .collect();
        if members.is_empty() {
            return Ok(());
        }
        let body = json!({ "channel": room, "users": members.join(",") });
        match self
            .api
            .call("conversations.invite", Body::Json(&body))
            .await
        {
            Ok(_) => Ok(()),
            // One of them made the whole call fail: one at a time.
            Err(e) if skippable(&e) && members.len() > 1 => {
                for member in members {
                    self.invite_one(room, member).await.map_err(room_error)?;
                }
                Ok(())
            }
            Err(e) if skippable(&e) => Ok(()),
            Err(e) => Err(room_error(e)),
        }
    }

    async fn post(&self, room: &str, _key: &str, text: &str) -> Result<(), RoomError> {
        // Slack has no idempotency key for bot posts; the engine module
        // records each line's position right after posting it.
        let message = json!({
            "text": escape(text),
            "unfurl_links": false,
            "unfurl_media": false,
        });
        self.api
            .post_message(room, None, &message)
            .await
            .map(|_| ())
            .map_err(room_error)
    }
}
