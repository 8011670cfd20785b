//! Test peers for this crate's and other crates' tests (feature
//! `testing`): [`SlackPeer`], a local Slack-shaped Web API.
//!
//! [`SlackPeer`] is an axum server on `127.0.0.1:0` that implements the
//! documented request and answer shapes of the Web API methods tocsin
//! calls — `auth.test`, `users.info`, `chat.postMessage`,
//! `chat.postEphemeral`, `conversations.create`, `conversations.list`,
//! `conversations.join`, `conversations.invite`, `conversations.setTopic`,
//! `chat.update` — with Slack's rules that a client can get wrong: the Bearer token
//! (`not_authed`, `invalid_auth`), content types (read methods take only
//! form bodies: JSON is `invalid_form_data`; write methods take either),
//! HTTP 200 with `ok`/`error`, `missing_scope` with `needed`, channel
//! names, membership (`not_in_channel`, `already_in_channel`,
//! `cant_invite_self`), cursor paging. It keeps channels, members and
//! messages, records every call, and can be told to fail a method once
//! (an error code, or an HTTP status with `Retry-After`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Map, Value, json};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The bot's own member id in the peer's workspace.
pub const BOT_USER: &str = "U0TOCSINBOT";
/// The bot's id (messages it posts carry it as `bot_id`).
pub const BOT_ID: &str = "B0TOCSIN";
/// The workspace's id.
pub const TEAM: &str = "T0TOCSIN";

/// Methods that take only form bodies (Slack documents
/// `application/x-www-form-urlencoded` as their one content type).
const FORM_ONLY: &[&str] = &["auth.test", "users.info", "conversations.list"];

/// One call as the peer received it.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    /// Whether the body was JSON (else a form).
    pub json: bool,
    /// The arguments: the JSON object, or the form's fields as strings.
    pub args: Value,
}

/// A message posted with `chat.postMessage` or `chat.postEphemeral`.
#[derive(Debug, Clone)]
pub struct Posted {
    /// `chat.postMessage` or `chat.postEphemeral`.
    pub method: String,
    pub channel: String,
    /// For ephemeral messages: who sees it.
    pub user: Option<String>,
    pub thread_ts: Option<String>,
    pub ts: String,
    pub text: String,
    /// The message's blocks (`null` without); for `response_url` the
    /// whole body posted (`replace_original`, `response_type`, …).
    pub blocks: Value,
}

/// A channel in the peer's workspace.
#[derive(Debug, Clone)]
pub struct PeerChannel {
    pub id: String,
    pub name: String,
    pub topic: String,
    pub archived: bool,
    pub members: BTreeSet<String>,
}

/// How a method fails once.
#[derive(Debug, Clone)]
pub enum Failure {
    /// HTTP 200 `{"ok": false, "error": code}`.
    Code(&'static str),
    /// An HTTP status (`429`, `503`) with an optional `Retry-After`.
    Http(u16, Option<u64>),
    /// No answer at all (the client's timeout must end the call).
    Hang,
}

#[derive(Debug, Default)]
struct World {
    calls: Vec<Call>,
    posted: Vec<Posted>,
    channels: Vec<PeerChannel>,
    /// Member id → profile email (None: no email on the profile).
    users: HashMap<String, Option<String>>,
    failures: HashMap<String, VecDeque<Failure>>,
    revoked_scopes: BTreeSet<String>,
    next_id: u64,
}

impl World {
    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn channel(&mut self, id: &str) -> Option<&mut PeerChannel> {
        self.channels.iter_mut().find(|c| c.id == id)
    }
}

/// A local Slack Web API (see the module's documentation).
#[derive(Debug, Clone)]
pub struct SlackPeer {
    /// The API's base URL (`http://127.0.0.1:…/api`), for `--slack-api-url`.
    pub base: String,
    /// The one bot token it accepts.
    pub token: String,
    world: Arc<Mutex<World>>,
}

#[derive(Clone)]
struct Peer {
    token: String,
    world: Arc<Mutex<World>>,
}

impl SlackPeer {
    /// Starts the peer accepting the bot token `token`. The workspace has
    /// the bot and no one else yet.
    pub async fn start(token: &str) -> SlackPeer {
        let world = Arc::new(Mutex::new(World::default()));
        world
            .lock()
            .unwrap()
            .users
            .insert(BOT_USER.to_owned(), None);
        let peer = Peer {
            token: token.to_owned(),
            world: world.clone(),
        };
        let app = Router::new()
            .route("/api/{method}", post(handle))
            .route("/response/{id}", post(response_url))
            .with_state(peer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        SlackPeer {
            base,
            token: token.to_owned(),
            world,
        }
    }

    /// Adds a member, with a profile email or none.
    pub fn add_user(&self, id: &str, email: Option<&str>) {
        self.world
            .lock()
            .unwrap()
            .users
            .insert(id.to_owned(), email.map(str::to_owned));
    }

    /// Adds a public channel with these members (the bot only if listed).
    pub fn add_channel(&self, id: &str, name: &str, members: &[&str]) {
        self.world.lock().unwrap().channels.push(PeerChannel {
            id: id.to_owned(),
            name: name.to_owned(),
            topic: String::new(),
            archived: false,
            members: members.iter().map(|m| (*m).to_owned()).collect(),
        });
    }

    /// Archives a channel.
    pub fn archive(&self, id: &str) {
        if let Some(c) = self.world.lock().unwrap().channel(id) {
            c.archived = true;
        }
    }

    /// Makes the next call of `method` fail this way (queued: call again
    /// to fail it several times).
    pub fn fail_next(&self, method: &str, failure: Failure) {
        self.world
            .lock()
            .unwrap()
            .failures
            .entry(method.to_owned())
            .or_default()
            .push_back(failure);
    }

    /// Takes a scope away from the token: methods needing it answer
    /// `missing_scope`.
    pub fn revoke_scope(&self, scope: &str) {
        self.world
            .lock()
            .unwrap()
            .revoked_scopes
            .insert(scope.to_owned());
    }

    /// A `response_url` for an interaction payload: what is posted to it
    /// is recorded as [`Posted`] with method `response_url` and `channel`
    /// `id`.
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/response/{id}", self.base.trim_end_matches("/api"))
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.world.lock().unwrap().calls.clone()
    }

    /// The calls of one method.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method)
            .collect()
    }

    /// Every message posted so far, in order.
    pub fn posted(&self) -> Vec<Posted> {
        self.world.lock().unwrap().posted.clone()
    }

    /// The channel named `name`.
    pub fn channel_named(&self, name: &str) -> Option<PeerChannel> {
        self.world
            .lock()
            .unwrap()
            .channels
            .iter()
            .find(|c| c.name == name)
            .cloned()
    }

    /// The channel with id `id`.
    pub fn channel(&self, id: &str) -> Option<PeerChannel> {
        self.world.lock().unwrap().channel(id).cloned()
    }

    /// Waits (up to 5 s) until `count` messages have been posted.
    pub async fn wait_for_posts(&self, count: usize) -> Vec<Posted> {
        for _ in 0..500 {
            let posted = self.posted();
            if posted.len() >= count {
                return posted;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!(
            "expected {count} posted messages within 5 s, got {:?}",
            self.posted()
        );
    }
}

/// A `response_url`: JSON only, no token needed, answers `{"ok": true}`.
async fn response_url(
    State(peer): State<Peer>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    };
    if !is_json {
        return (StatusCode::BAD_REQUEST, "invalid_payload").into_response();
    }
    let mut world = peer.world.lock().unwrap();
    world.calls.push(Call {
        method: "response_url".to_owned(),
        json: true,
        args: message.clone(),
    });
    let n = world.next();
    world.posted.push(Posted {
        method: "response_url".to_owned(),
        channel: id,
        user: None,
        thread_ts: None,
        ts: format!("1772445600.{n:06}"),
        text: message
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        blocks: message.clone(),
    });
    (StatusCode::OK, axum::Json(json!({ "ok": true }))).into_response()
}

/// The scope each method needs from a bot token.
fn scope(method: &str) -> Option<&'static str> {
    Some(match method {
        "chat.postMessage" | "chat.postEphemeral" | "chat.update" => "chat:write",
        "users.info" => "users:read",
        "conversations.create" | "conversations.invite" | "conversations.setTopic" => {
            "channels:manage"
        }
        "conversations.list" => "channels:read",
        "conversations.join" => "channels:join",
        _ => return None,
    })
}

fn ok(fields: Value) -> Response {
    let mut body = Map::new();
    body.insert("ok".into(), Value::Bool(true));
    if let Value::Object(f) = fields {
        body.extend(f);
    }
    (StatusCode::OK, axum::Json(Value::Object(body))).into_response()
}

fn error(code: &str) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "ok": false, "error": code })),
    )
        .into_response()
}

fn channel_json(c: &PeerChannel) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "is_channel": true,
        "is_private": false,
        "is_archived": c.archived,
        "is_member": c.members.contains(BOT_USER),
        "num_members": c.members.len(),
        "topic": { "value": c.topic, "creator": BOT_USER, "last_set": 0 },
    })
}

/// The body's arguments, as Slack reads them for this method.
/// On a body Slack would not read: the error code to answer.
fn arguments(
    method: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(bool, Value), &'static str> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/json") {
        if FORM_ONLY.contains(&method) {
            return Err("invalid_form_data");
        }
        return match serde_json::from_slice::<Value>(body) {
            Ok(v @ Value::Object(_)) => Ok((true, v)),
            _ => Err("invalid_json"),
        };
    }
    if content_type.starts_with("application/x-www-form-urlencoded") || body.is_empty() {
        let fields: Vec<(String, String)> = form_pairs(body);
        let mut args = Map::new();
        for (k, v) in fields {
            args.insert(k, Value::String(v));
        }
        return Ok((false, Value::Object(args)));
    }
    Err("invalid_form_data")
}

/// Decodes `a=1&b=x%20y` (with `+` as space).
fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &str| -> String {
        let s = s.replace('+', " ");
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let Ok(hex) = std::str::from_utf8(&bytes[i + 1..i + 3])
                && let Ok(b) = u8::from_str_radix(hex, 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn text_arg(args: &Value, key: &str) -> Option<String> {
    match args.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn handle(
    State(peer): State<Peer>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let (json_body, args) = match arguments(&method, &headers, &body) {
        Ok(a) => a,
        Err(code) => return error(code),
    };
    let hang = {
        let mut world = peer.world.lock().unwrap();
        let queue = world.failures.entry(method.clone()).or_default();
        let hang = matches!(queue.front(), Some(Failure::Hang));
        if hang {
            queue.pop_front();
            world.calls.push(Call {
                method: method.clone(),
                json: json_body,
                args: args.clone(),
            });
        }
        hang
    };
    if hang {
        std::future::pending::<()>().await;
    }
    let mut world = peer.world.lock().unwrap();
    world.calls.push(Call {
        method: method.clone(),
        json: json_body,
        args: args.clone(),
    });
    match given {
        None => return error("not_authed"),
        Some(t) if t != peer.token => return error("invalid_auth"),
        Some(_) => {}
    }
    if let Some(failure) = world
        .failures
        .get_mut(&method)
        .and_then(VecDeque::pop_front)
    {
        return match failure {
            // Taken before the lock (below): never here.
            Failure::Hang => error("internal_error"),
            Failure::Code(code) => error(code),
            Failure::Http(status, retry_after) => {
                let mut r = (
                    StatusCode::from_u16(status).unwrap(),
                    axum::Json(json!({ "ok": false, "error": "ratelimited" })),
                )
                    .into_response();
                if let Some(s) = retry_after {
                    r.headers_mut()
                        .insert(header::RETRY_AFTER, s.to_string().parse().unwrap());
                }
                r
            }
        };
    }
    if let Some(needed) = scope(&method)
        && world.revoked_scopes.contains(needed)
    {
        return (
            StatusCode::OK,
            axum::Json(json!({
                "ok": false,
                "error": "missing_scope",
                "needed": needed,
                "provided": "chat:write,users:read",
            })),
        )
            .into_response();
    }
    let arg = |key: &str| text_arg(&args, key).unwrap_or_default();
    match method.as_str() {
        "auth.test" => ok(json!({
            "url": "https://tocsin-test.slack.com/",
            "team": "tocsin-test",
            "user": "tocsin",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
        })),
        "users.info" => {
            let id = arg("user");
            let Some(email) = world.users.get(&id).cloned() else {
                return error("user_not_found");
            };
            let mut profile = json!({ "real_name": id, "display_name": id });
            if let Some(e) = email
                && !world.revoked_scopes.contains("users:read.email")
            {
                profile["email"] = json!(e);
            }
            ok(json!({
                "user": {
                    "id": id,
                    "team_id": TEAM,
                    "name": id.to_ascii_lowercase(),
                    "deleted": false,
                    "is_bot": id == BOT_USER,
                    "profile": profile,
                }
            }))
        }
        "chat.postMessage" | "chat.postEphemeral" => {
            let channel = arg("channel");
            let text = arg("text");
            let blocks = args.get("blocks").cloned().unwrap_or(Value::Null);
            if text.is_empty() && blocks.is_null() {
                return error("no_text");
            }
            let blocks = match blocks {
                // Form bodies carry blocks as a JSON string.
                Value::String(s) => match serde_json::from_str::<Value>(&s) {
                    Ok(v) => v,
                    Err(_) => return error("invalid_blocks"),
                },
                v => v,
            };
            if !(blocks.is_null() || blocks.is_array()) {
                return error("invalid_blocks");
            }
            // A member id: the bot's DM with them.
            let channel = match channel.strip_prefix('U') {
                Some(rest) => {
                    if !world.users.contains_key(&channel) {
                        return error("channel_not_found");
                    }
                    format!("D{rest}")
                }
                None => channel,
            };
            let user = if method == "chat.postEphemeral" {
                let user = arg("user");
                if user.is_empty() || !world.users.contains_key(&user) {
                    return error("user_not_found");
                }
                Some(user)
            } else {
                None
            };
            if !channel.starts_with('D') {
                let Some(c) = world.channel(&channel) else {
                    return error("channel_not_found");
                };
                if c.archived {
                    return error("is_archived");
                }
                if !c.members.contains(BOT_USER) {
                    return error("not_in_channel");
                }
                if let Some(u) = &user
                    && !c.members.contains(u)
                {
                    return error("user_not_in_channel");
                }
            }
            let n = world.next();
            let ts = format!("1772445600.{n:06}");
            let thread_ts = text_arg(&args, "thread_ts");
            world.posted.push(Posted {
                method: method.clone(),
                channel: channel.clone(),
                user,
                thread_ts: thread_ts.clone(),
                ts: ts.clone(),
                text: text.clone(),
                blocks: blocks.clone(),
            });
            if method == "chat.postEphemeral" {
                ok(json!({ "message_ts": ts }))
            } else {
                ok(json!({
                    "channel": channel,
                    "ts": ts,
                    "message": {
                        "type": "message",
                        "text": text,
                        "bot_id": BOT_ID,
                        "user": BOT_USER,
                        "ts": ts,
                        "thread_ts": thread_ts,
                    }
                }))
            }
        }
        "chat.update" => {
            let channel = arg("channel");
            let ts = arg("ts");
            let text = arg("text");
            let blocks = args.get("blocks").cloned().unwrap_or(Value::Null);
            if text.is_empty() && blocks.is_null() {
                return error("no_text");
            }
            if !(blocks.is_null() || blocks.is_array()) {
                return error("invalid_blocks");
            }
            if !channel.starts_with('D') && world.channel(&channel).is_none() {
                return error("channel_not_found");
            }
            let Some(message) = world
                .posted
                .iter_mut()
                .find(|p| p.method == "chat.postMessage" && p.channel == channel && p.ts == ts)
            else {
                return error("message_not_found");
            };
            message.text = text.clone();
            message.blocks = blocks;
            ok(json!({ "channel": channel, "ts": ts, "text": text }))
        }
        "conversations.create" => {
            let name = arg("name");
            if name.is_empty() {
                return error("invalid_name_required");
            }
            if name.len() > 80 {
                return error("invalid_name_maxlength");
            }
            if !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            {
                return error("invalid_name_specials");
            }
            if world.channels.iter().any(|c| c.name == name) {
                return error("name_taken");
            }
            let n = world.next();
            let channel = PeerChannel {
                id: format!("C{n:08}"),
                name,
                topic: String::new(),
                archived: false,
                members: [BOT_USER.to_owned()].into_iter().collect(),
            };
            let answer = channel_json(&channel);
            world.channels.push(channel);
            ok(json!({ "channel": answer }))
        }
        "conversations.list" => {
            let types = text_arg(&args, "types").unwrap_or_else(|| "public_channel".into());
            let exclude_archived = arg("exclude_archived") == "true";
            let limit: usize = arg("limit").parse().unwrap_or(100).clamp(1, 1000);
            let start: usize = match arg("cursor").as_str() {
                "" => 0,
                c => match c.strip_prefix("dGVhbTpD").and_then(|n| n.parse().ok()) {
                    Some(n) => n,
                    None => return error("invalid_cursor"),
                },
            };
            let listed: Vec<&PeerChannel> = world
                .channels
                .iter()
                .filter(|_| types.split(',').any(|t| t.trim() == "public_channel"))
                .filter(|c| !(exclude_archived && c.archived))
                .collect();
            let page: Vec<Value> = listed
                .iter()
                .skip(start)
                .take(limit)
                .map(|c| channel_json(c))
                .collect();
            let next = if start + limit < listed.len() {
                format!("dGVhbTpD{}", start + limit)
            } else {
                String::new()
            };
            ok(json!({ "channels": page, "response_metadata": { "next_cursor": next } }))
        }
        "conversations.join" => {
            let id = arg("channel");
            let Some(c) = world.channel(&id) else {
                return error("channel_not_found");
            };
            if c.archived {
                return error("is_archived");
            }
            c.members.insert(BOT_USER.to_owned());
            let answer = channel_json(c);
            ok(json!({ "channel": answer }))
        }
        "conversations.invite" => {
            let id = arg("channel");
            let users: Vec<String> = arg("users")
                .split(',')
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .collect();
            if users.is_empty() {
                return error("no_user");
            }
            let known: BTreeSet<String> = world.users.keys().cloned().collect();
            let Some(c) = world.channel(&id) else {
                return error("channel_not_found");
            };
            if !c.members.contains(BOT_USER) {
                return error("not_in_channel");
            }
            // Slack refuses the whole call when any one cannot be invited.
            for u in &users {
                let code = if u == BOT_USER {
                    "cant_invite_self"
                } else if !known.contains(u) {
                    "user_not_found"
                } else if c.members.contains(u) {
                    "already_in_channel"
                } else {
                    continue;
                };
                return (
                    StatusCode::OK,
                    axum::Json(json!({
                        "ok": false,
                        "error": code,
                        "errors": [{ "user": u, "ok": false, "error": code }],
                    })),
                )
                    .into_response();
            }
            c.members.extend(users);
            let answer = channel_json(c);
            ok(json!({ "channel": answer }))
        }
        "conversations.setTopic" => {
            let id = arg("channel");
            let topic = arg("topic");
            let Some(c) = world.channel(&id) else {
                return error("channel_not_found");
            };
            if !c.members.contains(BOT_USER) {
                return error("not_in_channel");
            }
            if topic.chars().count() > 250 {
                return error("too_long");
            }
            c.topic = topic;
            let answer = channel_json(c);
            ok(json!({ "channel": answer }))
        }
        _ => error("unknown_method"),
    }
}
