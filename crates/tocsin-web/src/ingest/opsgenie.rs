//! Opsgenie Alert API v2: create (`POST /v2/alerts`), acknowledge, close
//! and add note (`POST /v2/alerts/{identifier}/acknowledge|close|notes
//! ?identifierType=id|alias|tiny`), authenticated by `Authorization:
//! GenieKey <key>`.
//!
//! Follows Opsgenie's public "Alert API" documentation: the create fields
//! and their limits (message 130 characters, required; alias 512;
//! description 15000; responders and visibleTo 50 each; actions 10 × 50;
//! tags 20 × 50; details 8000 characters in all; entity 512; source 100;
//! priority P1–P5, default P3; user 100; note 25000), the action bodies
//! `{user, source, note}` (note required for notes), the asynchronous
//! answer `202 {"result":"Request will be processed","took":…,
//! "requestId":…}`, and the error bodies `{"message":…,"took":…,
//! "requestId":…}` — 422 with an `errors` map naming each field
//! ("Request body is not processable. Please check the errors."), 401
//! "Could not authenticate", 404 when the alert does not exist.
//!
//! Where we differ, on purpose: Opsgenie gives an alert created without an
//! alias a unique alias of its own, so repeats never deduplicate; we derive
//! the alias from the message's hash so that a sender repeating the same
//! message is counted, not paged again. An alias longer than our 255
//! character dedup key limit is hashed ([`alias_dedup_key`]), the same way
//! on create and on acknowledge/close by alias. Alertmanager's
//! `update_alerts` (PUT message/description) is not read here.

use super::{FormatError, check_len, content_key, decode};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use tocsin_domain::ingest::{Event, EventAction, MAX_DEDUP_KEY_LEN, SeverityMap};
use uuid::Uuid;

/// How the path's identifier names the alert (`identifierType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentKind {
    /// Opsgenie's alert id (the default).
    Id,
    /// The sender's alias: our dedup key, through [`alias_dedup_key`].
    Alias,
    /// The short numeric id.
    Tiny,
}

/// An alert named in a request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub value: String,
    pub kind: IdentKind,
}

impl Ident {
    /// The dedup key this identifier means, if it is an alias.
    pub fn dedup_key(&self) -> Option<String> {
        (self.kind == IdentKind::Alias).then(|| alias_dedup_key(&self.value))
    }
}

/// One Alert API request.
#[derive(Debug, Clone, PartialEq)]
pub enum OgOp {
    /// A trigger event for the alias (or the message's hash).
    Create(Box<Event>),
    Acknowledge {
        ident: Ident,
        note: Option<String>,
        /// Display name of who acted, for the timeline.
        user: Option<String>,
        source: Option<String>,
    },
    Close {
        ident: Ident,
        note: Option<String>,
        user: Option<String>,
        source: Option<String>,
    },
    AddNote {
        ident: Ident,
        note: String,
        user: Option<String>,
        source: Option<String>,
    },
}

const MAX_MESSAGE: usize = 130;
const MAX_ALIAS: usize = 512;
const MAX_DESCRIPTION: usize = 15_000;
const MAX_RESPONDERS: usize = 50;
const MAX_ACTIONS: usize = 10;
const MAX_TAGS: usize = 20;
const MAX_ITEM: usize = 50;
const MAX_DETAILS_TOTAL: usize = 8_000;
const MAX_ENTITY: usize = 512;
const MAX_SOURCE: usize = 100;
const MAX_USER: usize = 100;
const MAX_NOTE: usize = 25_000;

/// The dedup key for an alias: the alias itself, or its hash when it is
/// longer than our dedup key limit (Opsgenie allows 512 characters).
pub fn alias_dedup_key(alias: &str) -> String {
    if alias.chars().count() <= MAX_DEDUP_KEY_LEN {
        alias.to_owned()
    } else {
        content_key("alias:", alias.as_bytes())
    }
}

/// The API key of an `Authorization: GenieKey <key>` header value.
pub fn genie_key(header_value: &str) -> Option<&str> {
    let (scheme, key) = header_value.trim().split_once(char::is_whitespace)?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("GenieKey") && !key.is_empty()).then_some(key)
}

/// The `identifierType` query value; `id` when absent, as in Opsgenie.
pub fn parse_identifier_type(v: Option<&str>) -> Result<IdentKind, FormatError> {
    match v.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        None | Some("id") => Ok(IdentKind::Id),
        Some("alias") => Ok(IdentKind::Alias),
        Some("tiny") => Ok(IdentKind::Tiny),
        Some(other) => Err(FormatError::new(
            "identifierType",
            format!("should be one of [ id, alias, tiny ] (got {other:?})"),
        )),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCreate {
    message: Option<String>,
    alias: Option<String>,
    description: Option<String>,
    responders: Option<Vec<WireRecipient>>,
    visible_to: Option<Vec<WireRecipient>>,
    actions: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    details: Option<BTreeMap<String, String>>,
    entity: Option<String>,
    source: Option<String>,
    priority: Option<String>,
    user: Option<String>,
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireRecipient {
    id: Option<String>,
    name: Option<String>,
    username: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireAction {
    user: Option<String>,
    source: Option<String>,
    note: Option<String>,
}

fn opt_len(field: &str, v: &Option<String>, max: usize) -> Result<(), FormatError> {
    v.as_deref().map_or(Ok(()), |s| check_len(field, s, max))
}

fn recipients(
    field: &str,
    list: Option<Vec<WireRecipient>>,
    kinds: &[&str],
) -> Result<Option<Value>, FormatError> {
    let Some(list) = list else { return Ok(None) };
    if list.len() > MAX_RESPONDERS {
        return Err(FormatError::new(
            field,
            format!("has {} entries; the limit is {MAX_RESPONDERS}", list.len()),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, r) in list.into_iter().enumerate() {
        let kind = super::non_blank(r.kind).ok_or_else(|| {
            FormatError::new(
                format!("{field}[{i}].type"),
                format!("is required ({})", kinds.join(", ")),
            )
        })?;
        if !kinds.contains(&kind.as_str()) {
            return Err(FormatError::new(
                format!("{field}[{i}].type"),
                format!("should be one of [ {} ] (got {kind:?})", kinds.join(", ")),
            ));
        }
        let mut o = Map::new();
        for (k, v) in [("id", r.id), ("name", r.name), ("username", r.username)] {
            if let Some(v) = super::non_blank(v) {
                o.insert(k.into(), Value::String(v));
            }
        }
        if o.is_empty() {
            return Err(FormatError::new(
                format!("{field}[{i}]"),
                "id, name or username should be provided",
            ));
        }
        o.insert("type".into(), Value::String(kind));
        out.push(Value::Object(o));
    }
    Ok(Some(Value::Array(out)))
}

fn short_list(field: &str, list: &[String], max_items: usize) -> Result<(), FormatError> {
    if list.len() > max_items {
        return Err(FormatError::new(
            field,
            format!("has {} entries; the limit is {max_items}", list.len()),
        ));
    }
    for (i, s) in list.iter().enumerate() {
        check_len(&format!("{field}[{i}]"), s, MAX_ITEM)?;
    }
    Ok(())
}

/// Parses a create request (`POST /v2/alerts`) into a trigger event.
pub fn parse_create(body: &[u8], map: &SeverityMap) -> Result<OgOp, FormatError> {
    let w: WireCreate = decode(body)?;

    let message = super::non_blank(w.message)
        .ok_or_else(|| FormatError::new("message", "can not be empty"))?;
    check_len("message", &message, MAX_MESSAGE)?;
    let alias = super::non_blank(w.alias);
    opt_len("alias", &alias, MAX_ALIAS)?;
    opt_len("description", &w.description, MAX_DESCRIPTION)?;
    let responders = recipients(
        "responders",
        w.responders,
        &["team", "user", "escalation", "schedule"],
    )?;
    let visible_to = recipients("visibleTo", w.visible_to, &["team", "user"])?;
    let actions = w.actions.unwrap_or_default();
    short_list("actions", &actions, MAX_ACTIONS)?;
    let tags: Vec<String> = w
        .tags
        .unwrap_or_default()
        .into_iter()
        .filter(|t| !t.trim().is_empty())
        .collect();
    short_list("tags", &tags, MAX_TAGS)?;
    let fields = w.details.unwrap_or_default();
    let total: usize = fields
        .iter()
        .map(|(k, v)| k.chars().count() + v.chars().count())
        .sum();
    if total > MAX_DETAILS_TOTAL {
        return Err(FormatError::new(
            "details",
            format!("has {total} characters in all; the limit is {MAX_DETAILS_TOTAL}"),
        ));
    }
    let entity = super::non_blank(w.entity);
    opt_len("entity", &entity, MAX_ENTITY)?;
    let source = super::non_blank(w.source);
    opt_len("source", &source, MAX_SOURCE)?;
    opt_len("user", &w.user, MAX_USER)?;
    opt_len("note", &w.note, MAX_NOTE)?;
    let priority = super::non_blank(w.priority).unwrap_or_else(|| "P3".to_owned());
    let severity = {
        let p = priority.trim().to_ascii_lowercase();
        map.opsgenie.get(&p).copied().ok_or_else(|| {
            FormatError::new(
                "priority",
                format!("should be one of [ P1, P2, P3, P4, P5 ] (got {priority:?})"),
            )
        })?
    };

    let dedup_key = match &alias {
        Some(a) => alias_dedup_key(a),
        None => content_key("message:", message.as_bytes()),
    };

    let mut labels: BTreeMap<String, String> = fields.clone();
    for t in &tags {
        labels.insert(format!("tag:{t}"), String::new());
    }

    let mut details = Map::new();
    let mut put = |k: &str, v: Value| {
        details.insert(k.to_owned(), v);
    };
    if let Some(a) = &alias {
        put("alias", json!(a));
    }
    if let Some(d) = super::non_blank(w.description) {
        put("description", json!(d));
    }
    if !fields.is_empty() {
        put("details", json!(fields));
    }
    if let Some(r) = responders {
        put("responders", r);
    }
    if let Some(v) = visible_to {
        put("visibleTo", v);
    }
    if !actions.is_empty() {
        put("actions", json!(actions));
    }
    if !tags.is_empty() {
        put("tags", json!(tags));
    }
    if let Some(e) = &entity {
        put("entity", json!(e));
    }
    if let Some(u) = super::non_blank(w.user) {
        put("user", json!(u));
    }
    put("priority", json!(priority));

    Ok(OgOp::Create(Box::new(Event {
        action: EventAction::Trigger,
        dedup_key,
        summary: Event::truncate_summary(&message),
        source,
        severity,
        sender_severity: Some(priority.trim().to_owned()),
        occurred_at: None,
        component: entity,
        group: None,
        class: None,
        labels,
        details: Value::Object(details),
        links: Vec::new(),
        images: Vec::new(),
        note: super::non_blank(w.note),
    })))
}

fn ident(identifier: &str, identifier_type: Option<&str>) -> Result<Ident, FormatError> {
    let kind = parse_identifier_type(identifier_type)?;
    let value = identifier.trim();
    if value.is_empty() {
        return Err(FormatError::new("identifier", "can not be empty"));
    }
    check_len("identifier", value, MAX_ALIAS)?;
    Ok(Ident {
        value: value.to_owned(),
        kind,
    })
}

/// The `{user, source, note}` body of an action; an empty body is `{}`.
fn action_body(body: &[u8]) -> Result<WireAction, FormatError> {
    super::check_size(body)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(WireAction::default());
    }
    let w: WireAction = decode(body)?;
    opt_len("user", &w.user, MAX_USER)?;
    opt_len("source", &w.source, MAX_SOURCE)?;
    opt_len("note", &w.note, MAX_NOTE)?;
    Ok(w)
}

/// Parses `POST /v2/alerts/{identifier}/acknowledge`.
pub fn parse_acknowledge(
    identifier: &str,
    identifier_type: Option<&str>,
    body: &[u8],
) -> Result<OgOp, FormatError> {
    let ident = ident(identifier, identifier_type)?;
    let w = action_body(body)?;
    Ok(OgOp::Acknowledge {
        ident,
        note: super::non_blank(w.note),
        user: super::non_blank(w.user),
        source: super::non_blank(w.source),
    })
}

/// Parses `POST /v2/alerts/{identifier}/close`.
pub fn parse_close(
    identifier: &str,
    identifier_type: Option<&str>,
    body: &[u8],
) -> Result<OgOp, FormatError> {
    let ident = ident(identifier, identifier_type)?;
    let w = action_body(body)?;
    Ok(OgOp::Close {
        ident,
        note: super::non_blank(w.note),
        user: super::non_blank(w.user),
        source: super::non_blank(w.source),
    })
}

/// Parses `POST /v2/alerts/{identifier}/notes`; the note is required.
pub fn parse_add_note(
    identifier: &str,
    identifier_type: Option<&str>,
    body: &[u8],
) -> Result<OgOp, FormatError> {
    let ident = ident(identifier, identifier_type)?;
    let w = action_body(body)?;
    let note =
        super::non_blank(w.note).ok_or_else(|| FormatError::new("note", "can not be empty"))?;
    Ok(OgOp::AddNote {
        ident,
        note,
        user: super::non_blank(w.user),
        source: super::non_blank(w.source),
    })
}

/// Which text an update request (`PUT /v2/alerts/{identifier}/…`) changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateField {
    /// `…/message` with `{"message": …}`.
    Message,
    /// `…/description` with `{"description": …}`.
    Description,
}

#[derive(Debug, Deserialize)]
struct WireUpdate {
    message: Option<String>,
    description: Option<String>,
}

/// Parses `PUT /v2/alerts/{identifier}/message` or `/description`, which
/// Alertmanager's `opsgenie_configs` sends after every create when
/// `update_alerts` is set, carrying the message and description that create
/// just carried. Returns the alert named; the text is checked as create
/// checks it (a message is required, a description may be empty; Opsgenie's
/// limits), not kept.
pub fn parse_update(
    identifier: &str,
    identifier_type: Option<&str>,
    field: UpdateField,
    body: &[u8],
) -> Result<Ident, FormatError> {
    let ident = ident(identifier, identifier_type)?;
    let w: WireUpdate = decode(body)?;
    match field {
        UpdateField::Message => {
            let message = super::non_blank(w.message)
                .ok_or_else(|| FormatError::new("message", "can not be empty"))?;
            check_len("message", &message, MAX_MESSAGE)?;
        }
        UpdateField::Description => opt_len("description", &w.description, MAX_DESCRIPTION)?,
    }
    Ok(ident)
}

/// The 202 body: the request is accepted and will be processed.
pub fn accepted_body(request_id: Uuid, took_secs: f64) -> Value {
    json!({
        "result": "Request will be processed",
        "took": took_secs,
        "requestId": request_id.to_string(),
    })
}

/// An error body with Opsgenie's fields; pair it with the status that
/// fits (401, 404, 429, …).
pub fn error_body(message: &str, request_id: Uuid, took_secs: f64) -> Value {
    json!({
        "message": message,
        "took": took_secs,
        "requestId": request_id.to_string(),
    })
}

/// The 422 body for a refused request, naming the field.
pub fn validation_error_body(e: &FormatError, request_id: Uuid, took_secs: f64) -> Value {
    let mut body = error_body(
        "Request body is not processable. Please check the errors.",
        request_id,
        took_secs,
    );
    body["errors"] = json!({ e.field.clone(): e.reason.clone() });
    body
}

/// The 401 body for a missing or unknown key.
pub fn unauthorized_body(request_id: Uuid, took_secs: f64) -> Value {
    error_body("Could not authenticate", request_id, took_secs)
}

/// The body of `GET /v2/alerts/requests/{requestId}` for a processed
/// request: what it did and to which alert (`alertId` is tocsin's alert
/// number, usable with `identifierType=id`).
pub fn request_status_body(
    e: &tocsin_store::EventRecord,
    request_id: Uuid,
    took_secs: f64,
) -> Value {
    let (action, status) = match e.event.action {
        EventAction::Trigger => ("Create", "Created alert"),
        EventAction::Acknowledge => ("Acknowledge", "Acknowledged alert"),
        EventAction::Resolve => ("Close", "Closed alert"),
        EventAction::Note => ("AddNote", "Added note"),
        EventAction::Change => ("Create", "Recorded change"),
    };
    let mut data = json!({
        "success": true,
        "action": action,
        "processedAt": e.received_at.to_string(),
        "integrationId": e.integration.as_str(),
        "isSuccess": true,
        "status": status,
        "alias": e.event.dedup_key,
    });
    if let Some(id) = e.alert_id {
        data["alertId"] = json!(id.to_string());
    }
    json!({ "data": data, "took": took_secs, "requestId": request_id.to_string() })
}

/// The 404 body for an identifier that names no alert.
pub fn not_found_body(request_id: Uuid, took_secs: f64) -> Value {
    error_body("Alert does not exist", request_id, took_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tocsin_domain::Severity::*;

    fn map() -> SeverityMap {
        SeverityMap::default()
    }

    fn create(body: &str) -> Event {
        match parse_create(body.as_bytes(), &map()) {
            Ok(OgOp::Create(e)) => *e,
            other => panic!("{other:?}"),
        }
    }

    /// What Alertmanager 0.25's `opsgenie_configs` posts for a firing group
    /// (alias = SHA-256 of the group key, details = common labels, tags,
    /// priority and responders as configured).
    const ALERTMANAGER_CREATE: &str = r#"{"alias":"6e3ac6a4d3c2b5b7d4b8a1e2f3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6","message":"[FIRING:1] HighLatency api (critical)","description":"Alerts Firing:\nLabels:\n - alertname = HighLatency\n","details":{"alertname":"HighLatency","job":"api","severity":"critical"},"source":"http://127.0.0.1:9093/#/alerts?receiver=og","responders":[{"name":"sre","type":"team"}],"tags":["prod","api"],"priority":"P1"}
"#;

    /// What the Opsgenie Python SDK's `create_alert(CreateAlertPayload(...))`
    /// posts.
    const SDK_CREATE: &str = r#"{"message": "Disk full on db1", "alias": "db1-disk", "description": "95% used", "responders": [{"username": "alice@example.com", "type": "user"}], "visibleTo": [{"name": "dba", "type": "team"}], "actions": ["Restart", "Clean"], "tags": ["OverwriteQuietHours"], "details": {"host": "db1"}, "entity": "db1", "priority": "P2", "user": "Monitoring", "note": "first seen by cron"}"#;

    #[test]
    fn creates() {
        let e = create(ALERTMANAGER_CREATE);
        assert_eq!(e.action, EventAction::Trigger);
        assert_eq!(e.dedup_key.len(), 64);
        assert_eq!(e.summary, "[FIRING:1] HighLatency api (critical)");
        assert_eq!(e.severity, Sev1);
        assert_eq!(e.labels["job"], "api");
        assert_eq!(e.labels["tag:prod"], "");
        assert_eq!(
            e.source.as_deref(),
            Some("http://127.0.0.1:9093/#/alerts?receiver=og")
        );
        assert_eq!(e.details["responders"][0]["name"], "sre");

        let e = create(SDK_CREATE);
        assert_eq!(e.dedup_key, "db1-disk");
        assert_eq!(e.severity, Sev2);
        assert_eq!(e.component.as_deref(), Some("db1"));
        assert_eq!(e.note.as_deref(), Some("first seen by cron"));
        assert_eq!(e.details["description"], "95% used");
        assert_eq!(e.details["visibleTo"][0]["type"], "team");
        assert_eq!(e.details["user"], "Monitoring");
        assert_eq!(e.labels["host"], "db1");
        assert_eq!(e.labels["tag:OverwriteQuietHours"], "");

        let d = create(r#"{"message":"hello"}"#);
        assert_eq!(d.severity, Sev3, "P3 by default");
        assert!(d.dedup_key.starts_with("message:"));
        assert_eq!(
            d.dedup_key,
            create(r#"{"message":"hello","priority":""}"#).dedup_key
        );
        assert_ne!(d.dedup_key, create(r#"{"message":"hello!"}"#).dedup_key);
    }

    #[test]
    fn long_alias_is_hashed_the_same_way_everywhere() {
        let alias = "a".repeat(400);
        let e = create(&json!({"message": "m", "alias": alias}).to_string());
        assert!(e.dedup_key.len() <= MAX_DEDUP_KEY_LEN);
        let OgOp::Close { ident, .. } = parse_close(&alias, Some("alias"), b"{}").unwrap() else {
            panic!()
        };
        assert_eq!(ident.dedup_key(), Some(e.dedup_key));
        assert_eq!(alias_dedup_key("short"), "short");
    }

    #[test]
    fn create_refusals_name_the_field() {
        let long_msg = "m".repeat(131);
        let many_tags: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        let big_details: BTreeMap<String, String> = [("k".to_owned(), "v".repeat(8000))].into();
        let cases: Vec<(String, &str, &str)> = vec![
            ("{".into(), "body", "is not valid JSON"),
            ("{}".into(), "message", "can not be empty"),
            (r#"{"message":"  "}"#.into(), "message", "can not be empty"),
            (
                json!({"message": long_msg}).to_string(),
                "message",
                "is 131 characters long; the limit is 130",
            ),
            (
                json!({"message": "m", "alias": "a".repeat(513)}).to_string(),
                "alias",
                "is 513 characters long",
            ),
            (
                r#"{"message":"m","priority":"P9"}"#.into(),
                "priority",
                "should be one of [ P1, P2, P3, P4, P5 ] (got \"P9\")",
            ),
            (
                json!({"message": "m", "tags": many_tags}).to_string(),
                "tags",
                "has 21 entries; the limit is 20",
            ),
            (
                json!({"message": "m", "tags": ["x".repeat(51)]}).to_string(),
                "tags[0]",
                "is 51 characters long",
            ),
            (
                json!({"message": "m", "details": big_details}).to_string(),
                "details",
                "has 8001 characters in all",
            ),
            (
                r#"{"message":"m","details":{"n":1}}"#.into(),
                "details.n",
                "invalid type: integer `1`, expected a string",
            ),
            (
                r#"{"message":"m","responders":[{"name":"sre"}]}"#.into(),
                "responders[0].type",
                "is required",
            ),
            (
                r#"{"message":"m","responders":[{"name":"sre","type":"robot"}]}"#.into(),
                "responders[0].type",
                "should be one of",
            ),
            (
                r#"{"message":"m","visibleTo":[{"type":"team"}]}"#.into(),
                "visibleTo[0]",
                "id, name or username should be provided",
            ),
            (
                r#"{"message":"m","visibleTo":[{"name":"x","type":"schedule"}]}"#.into(),
                "visibleTo[0].type",
                "should be one of [ team, user ]",
            ),
            (
                json!({"message": "m", "source": "s".repeat(101)}).to_string(),
                "source",
                "is 101 characters long",
            ),
        ];
        for (i, (body, field, reason)) in cases.iter().enumerate() {
            let e = parse_create(body.as_bytes(), &map()).unwrap_err();
            assert_eq!(e.field, *field, "case {i}: {e}");
            assert!(e.reason.starts_with(reason), "case {i}: {e}");
        }
    }

    /// Alertmanager closes with `POST /v2/alerts/<alias>/close?identifierType=alias`
    /// and body `{"source":"…"}`; the SDK acknowledges and adds notes with
    /// `{user, source, note}`.
    #[test]
    fn actions() {
        let op = parse_close("6e3ac6a4", Some("alias"), br#"{"source":"http://am:9093"}"#).unwrap();
        assert_eq!(
            op,
            OgOp::Close {
                ident: Ident {
                    value: "6e3ac6a4".into(),
                    kind: IdentKind::Alias
                },
                note: None,
                user: None,
                source: Some("http://am:9093".into()),
            }
        );
        let op = parse_acknowledge(
            "db1-disk",
            Some("alias"),
            br#"{"user":"alice","source":"sdk","note":"on it"}"#,
        )
        .unwrap();
        let OgOp::Acknowledge {
            ident, note, user, ..
        } = op
        else {
            panic!()
        };
        assert_eq!(ident.dedup_key().as_deref(), Some("db1-disk"));
        assert_eq!(note.as_deref(), Some("on it"));
        assert_eq!(user.as_deref(), Some("alice"));

        let op = parse_acknowledge("8743a1b2", None, b"").unwrap();
        let OgOp::Acknowledge { ident, .. } = op else {
            panic!()
        };
        assert_eq!(ident.kind, IdentKind::Id);
        assert_eq!(ident.dedup_key(), None);

        let op = parse_add_note("42", Some("tiny"), br#"{"note":"rebooted"}"#).unwrap();
        let OgOp::AddNote { ident, note, .. } = op else {
            panic!()
        };
        assert_eq!(ident.kind, IdentKind::Tiny);
        assert_eq!(note, "rebooted");

        let cases: Vec<(Result<OgOp, FormatError>, &str, &str)> = vec![
            (
                parse_add_note("42", None, b"{}"),
                "note",
                "can not be empty",
            ),
            (
                parse_close("x", Some("name"), b"{}"),
                "identifierType",
                "should be one of [ id, alias, tiny ]",
            ),
            (
                parse_close(" ", None, b"{}"),
                "identifier",
                "can not be empty",
            ),
            (
                parse_acknowledge("x", None, br#"{"user":5}"#),
                "user",
                "invalid type",
            ),
            (
                parse_acknowledge("x", None, b"[]"),
                "body",
                "must be a JSON object",
            ),
        ];
        for (i, (r, field, reason)) in cases.into_iter().enumerate() {
            let e = r.unwrap_err();
            assert_eq!(e.field, field, "case {i}: {e}");
            assert!(e.reason.starts_with(reason), "case {i}: {e}");
        }
    }

    #[test]
    fn identifier_types_and_keys() {
        assert_eq!(parse_identifier_type(None), Ok(IdentKind::Id));
        assert_eq!(parse_identifier_type(Some("ALIAS")), Ok(IdentKind::Alias));
        assert_eq!(parse_identifier_type(Some("tiny")), Ok(IdentKind::Tiny));
        assert!(parse_identifier_type(Some("")).is_err());
        for (h, want) in [
            ("GenieKey eb243592-faa2-4ba2", Some("eb243592-faa2-4ba2")),
            ("geniekey   abc ", Some("abc")),
            ("Bearer abc", None),
            ("GenieKey", None),
            ("GenieKey   ", None),
            ("", None),
        ] {
            assert_eq!(genie_key(h), want, "{h:?}");
        }
    }

    #[test]
    fn bodies() {
        let id = Uuid::nil();
        assert_eq!(
            accepted_body(id, 0.01),
            json!({"result": "Request will be processed", "took": 0.01, "requestId": id.to_string()})
        );
        let e = FormatError::new("message", "can not be empty");
        assert_eq!(
            validation_error_body(&e, id, 0.0),
            json!({
                "message": "Request body is not processable. Please check the errors.",
                "errors": {"message": "can not be empty"},
                "took": 0.0,
                "requestId": id.to_string(),
            })
        );
        assert_eq!(
            unauthorized_body(id, 0.0)["message"],
            "Could not authenticate"
        );
        assert_eq!(not_found_body(id, 0.0)["message"], "Alert does not exist");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..512),
            ident in "\\PC{0,20}",
            kind in proptest::option::of("\\PC{0,8}"),
        ) {
            let _ = parse_create(&body, &map());
            let _ = parse_acknowledge(&ident, kind.as_deref(), &body);
            let _ = parse_close(&ident, kind.as_deref(), &body);
            let _ = parse_add_note(&ident, kind.as_deref(), &body);
            let _ = genie_key(&ident);
        }
    }
}
