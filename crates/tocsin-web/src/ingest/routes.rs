//! The ingestion endpoints: authenticate the integration (its key in the
//! body, a header or the URL, as each format does), parse with the format's
//! module, hand the events to the group-commit [`Ingestor`] and answer —
//! only once the events are durable — in the format's own shapes.
//!
//! | endpoint | format | key |
//! |---|---|---|
//! | `POST /v2/enqueue`, `/v2/change/enqueue` | PagerDuty Events API v2 | `routing_key` in the body |
//! | `POST /v2/alerts`, `/v2/alerts/{id}/acknowledge\|close\|notes`; `PUT /v2/alerts/{id}/message\|description`; `GET /v2/alerts/requests/{requestId}` | Opsgenie Alert API v2 | `Authorization: GenieKey <key>` |
//! | `POST /integrations/{key}/alertmanager` | Alertmanager webhook v4 | in the URL |
//! | `POST /integrations/{key}/grafana` | Grafana webhook | in the URL |
//! | `POST /integrations/{key}/events` | tocsin generic JSON | in the URL |
//!
//! [`Ingestor`]: tocsin_core::ingest::Ingestor

use super::{FormatError, MAX_BODY_BYTES, alertmanager, generic, grafana, opsgenie, pagerduty};
use crate::problem::Problem;
use crate::server::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use std::time::Instant;
use tocsin_core::ingest::{IngestError, KnownIntegration};
use tocsin_domain::catalog::IntegrationFormat;
use tocsin_domain::ingest::{Event, EventAction};
use tocsin_store::{IngestItem, IngestResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v2/enqueue", post(pd_enqueue))
        .route("/v2/change/enqueue", post(pd_change))
        .route("/v2/alerts", post(og_create))
        .route("/v2/alerts/requests/{request_id}", get(og_request))
        .route("/v2/alerts/{identifier}/{op}", post(og_op).put(og_update))
        .route("/integrations/{key}/{format}", post(webhook))
        // One byte over the limit, so the parsers' own size check answers
        // in the format's error shape.
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
}

fn read(body: Result<Bytes, BytesRejection>) -> Result<Bytes, FormatError> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            FormatError::new(
                super::BODY,
                format!("is larger than the limit of {MAX_BODY_BYTES} bytes"),
            )
        } else {
            FormatError::new(super::BODY, format!("could not be read: {}", e.body_text()))
        }
    })
}

/// Why events were not stored, as a status and message.
fn unavailable(e: &IngestError) -> (StatusCode, String) {
    match e {
        IngestError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
        _ => (StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

/// Adds `Retry-After` (whole seconds, at least 1) to a rate-limit refusal,
/// which Alertmanager and the PagerDuty clients honour.
fn retry_after(mut res: Response, e: &IngestError) -> Response {
    if let IngestError::RateLimited { retry_after } = e {
        let secs = retry_after.as_secs().max(1).to_string();
        if let Ok(v) = axum::http::HeaderValue::from_str(&secs) {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
        }
    }
    res
}

async fn integration(
    state: &AppState,
    key: &str,
) -> Result<Option<KnownIntegration>, (StatusCode, String)> {
    state
        .integrations
        .lookup(key, state.clock.now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "integration lookup failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry shortly".to_owned(),
            )
        })
}

async fn store(
    state: &AppState,
    i: &KnownIntegration,
    events: Vec<Event>,
    request_id: Option<String>,
) -> Result<Vec<IngestResult>, IngestError> {
    let now = state.clock.now();
    state
        .ingest_limit
        .check(&i.name, events.len(), now)
        .map_err(|retry_after| IngestError::RateLimited { retry_after })?;
    let items = events
        .into_iter()
        .map(|event| IngestItem {
            integration: i.name.clone(),
            service: i.service.clone(),
            event,
            received_at: now,
            request_id: request_id.clone(),
        })
        .collect();
    state.ingestor.submit_all(items).await
}

fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

fn wrong_format(i: &KnownIntegration, expected: &str) -> String {
    format!(
        "this key belongs to integration {:?}, whose format is {}; send {expected} events to the endpoint of that format",
        i.name.as_str(),
        serde_json::to_value(i.format)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    )
}

// --- PagerDuty ---------------------------------------------------------

fn pd_refusal(errors: Vec<FormatError>) -> Response {
    let e = pagerduty::PdError { errors };
    json(e.status(), e.body())
}

async fn pd_enqueue(
    State(state): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let parsed = read(body)
        .map_err(|e| pagerduty::PdError { errors: vec![e] })
        .and_then(|b| pagerduty::parse_event(&b, state.integrations.severity_defaults()));
    let pd = match parsed {
        Ok(pd) => pd,
        Err(e) => return json(e.status(), e.body()),
    };
    let i = match integration(&state, &pd.routing_key).await {
        Ok(Some(i)) if i.format == IntegrationFormat::Pagerduty => i,
        Ok(Some(i)) => {
            return pd_refusal(vec![FormatError::new(
                "routing_key",
                wrong_format(&i, "PagerDuty"),
            )]);
        }
        Ok(None) => {
            return pd_refusal(vec![FormatError::new(
                "routing_key",
                "is not the key of any integration",
            )]);
        }
        Err((status, msg)) => {
            return json(
                status,
                serde_json::json!({ "status": "error", "message": msg }),
            );
        }
    };
    let dedup_key = pd.event.dedup_key.clone();
    let mut event = pd.event;
    // The key was in the body, so the event was parsed with the default
    // table: apply the integration's own.
    if let Some(word) = &event.sender_severity {
        event.severity = i.severity.pagerduty(word);
    }
    match store(&state, &i, vec![event], None).await {
        Ok(_) => json(StatusCode::ACCEPTED, pagerduty::success_body(&dedup_key)),
        Err(e) => {
            let (status, msg) = unavailable(&e);
            let body = serde_json::json!({ "status": "error", "message": msg });
            retry_after(json(status, body), &e)
        }
    }
}

async fn pd_change(State(state): State<AppState>, body: Result<Bytes, BytesRejection>) -> Response {
    let parsed = read(body)
        .map_err(|e| pagerduty::PdError { errors: vec![e] })
        .and_then(|b| pagerduty::parse_change(&b));
    let pd = match parsed {
        Ok(pd) => pd,
        Err(e) => return json(e.status(), e.body()),
    };
    let i = match integration(&state, &pd.routing_key).await {
        Ok(Some(i)) => i,
        Ok(None) => {
            return pd_refusal(vec![FormatError::new(
                "routing_key",
                "is not the key of any integration",
            )]);
        }
        Err((status, msg)) => {
            return json(
                status,
                serde_json::json!({ "status": "error", "message": msg }),
            );
        }
    };
    match store(&state, &i, vec![pd.event], None).await {
        Ok(_) => json(StatusCode::ACCEPTED, pagerduty::change_success_body()),
        Err(e) => {
            let (status, msg) = unavailable(&e);
            let body = serde_json::json!({ "status": "error", "message": msg });
            retry_after(json(status, body), &e)
        }
    }
}

// --- Opsgenie ----------------------------------------------------------

struct Og {
    id: uuid::Uuid,
    started: Instant,
}

impl Og {
    fn new() -> Og {
        Og {
            id: uuid::Uuid::new_v4(),
            started: Instant::now(),
        }
    }

    fn took(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    fn accepted(&self) -> Response {
        json(
            StatusCode::ACCEPTED,
            opsgenie::accepted_body(self.id, self.took()),
        )
    }

    fn error(&self, status: StatusCode, message: &str) -> Response {
        json(status, opsgenie::error_body(message, self.id, self.took()))
    }

    fn invalid(&self, e: &FormatError) -> Response {
        json(
            StatusCode::UNPROCESSABLE_ENTITY,
            opsgenie::validation_error_body(e, self.id, self.took()),
        )
    }

    async fn authenticate(
        &self,
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<KnownIntegration, Response> {
        let key = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(opsgenie::genie_key);
        let Some(key) = key else {
            return Err(json(
                StatusCode::UNAUTHORIZED,
                opsgenie::unauthorized_body(self.id, self.took()),
            ));
        };
        match integration(state, key).await {
            Ok(Some(i)) if i.format == IntegrationFormat::Opsgenie => Ok(i),
            Ok(Some(i)) => Err(self.error(StatusCode::FORBIDDEN, &wrong_format(&i, "Opsgenie"))),
            Ok(None) => Err(json(
                StatusCode::UNAUTHORIZED,
                opsgenie::unauthorized_body(self.id, self.took()),
            )),
            Err((status, msg)) => Err(self.error(status, &msg)),
        }
    }

    /// The dedup key of the alert an identifier names: an alias is one;
    /// an id (or tiny id) is the alert's number, looked up among this
    /// integration's service's alerts.
    async fn dedup_key(
        &self,
        state: &AppState,
        i: &KnownIntegration,
        ident: &opsgenie::Ident,
    ) -> Result<String, Response> {
        if let Some(key) = ident.dedup_key() {
            return Ok(key);
        }
        let Ok(id) = ident.value.trim().parse::<i64>() else {
            return Err(json(
                StatusCode::NOT_FOUND,
                opsgenie::not_found_body(self.id, self.took()),
            ));
        };
        match state.store.get_alert(id).await {
            Ok(Some(a)) if a.service == i.service => Ok(a.dedup_key),
            Ok(_) => Err(json(
                StatusCode::NOT_FOUND,
                opsgenie::not_found_body(self.id, self.took()),
            )),
            Err(e) => {
                tracing::error!(error = %e, "alert lookup failed");
                Err(self.error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable; retry shortly",
                ))
            }
        }
    }

    async fn store(&self, state: &AppState, i: &KnownIntegration, event: Event) -> Response {
        match store(state, i, vec![event], Some(self.id.to_string())).await {
            Ok(_) => self.accepted(),
            Err(e) => {
                let (status, msg) = unavailable(&e);
                retry_after(self.error(status, &msg), &e)
            }
        }
    }
}

async fn og_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let og = Og::new();
    let i = match og.authenticate(&state, &headers).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let op = read(body).and_then(|b| opsgenie::parse_create(&b, &i.severity));
    match op {
        Ok(opsgenie::OgOp::Create(event)) => og.store(&state, &i, *event).await,
        Ok(_) => og.error(StatusCode::BAD_REQUEST, "not a create request"),
        Err(e) => og.invalid(&e),
    }
}

#[derive(Debug, Deserialize)]
struct IdentQuery {
    #[serde(rename = "identifierType")]
    identifier_type: Option<String>,
}

async fn og_op(
    State(state): State<AppState>,
    Path((identifier, op)): Path<(String, String)>,
    Query(q): Query<IdentQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let og = Og::new();
    let i = match og.authenticate(&state, &headers).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let kind = q.identifier_type.as_deref();
    let body = match read(body) {
        Ok(b) => b,
        Err(e) => return og.invalid(&e),
    };
    let parsed = match op.as_str() {
        "acknowledge" => opsgenie::parse_acknowledge(&identifier, kind, &body),
        "close" => opsgenie::parse_close(&identifier, kind, &body),
        "notes" => opsgenie::parse_add_note(&identifier, kind, &body),
        other => {
            return og.error(
                StatusCode::NOT_FOUND,
                &format!("no alert action {other:?}; use acknowledge, close or notes"),
            );
        }
    };
    let (ident, action, note) = match parsed {
        Ok(opsgenie::OgOp::Acknowledge { ident, note, .. }) => {
            (ident, EventAction::Acknowledge, note)
        }
        Ok(opsgenie::OgOp::Close { ident, note, .. }) => (ident, EventAction::Resolve, note),
        Ok(opsgenie::OgOp::AddNote { ident, note, .. }) => (ident, EventAction::Note, Some(note)),
        Ok(opsgenie::OgOp::Create(_)) => {
            return og.error(StatusCode::BAD_REQUEST, "not an alert action");
        }
        Err(e) => return og.invalid(&e),
    };
    let dedup_key = match og.dedup_key(&state, &i, &ident).await {
        Ok(key) => key,
        Err(r) => return r,
    };
    let event = Event {
        action,
        dedup_key,
        summary: String::new(),
        source: None,
        severity: i.severity.default,
        sender_severity: None,
        occurred_at: None,
        component: None,
        group: None,
        class: None,
        labels: Default::default(),
        details: Value::Null,
        links: vec![],
        images: vec![],
        note,
    };
    og.store(&state, &i, event).await
}

/// `PUT /v2/alerts/{identifier}/message|description`: what Alertmanager's
/// `opsgenie_configs` with `update_alerts: true` sends right after every
/// create. That create already carried the same message and description
/// (a repeated trigger updates the alert's summary), so the update is
/// authenticated and checked, then acknowledged without storing anything.
/// Refusing it would make Alertmanager count the whole notification as
/// failed, and then never send its resolution.
async fn og_update(
    State(state): State<AppState>,
    Path((identifier, op)): Path<(String, String)>,
    Query(q): Query<IdentQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let og = Og::new();
    let i = match og.authenticate(&state, &headers).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let field = match op.as_str() {
        "message" => opsgenie::UpdateField::Message,
        "description" => opsgenie::UpdateField::Description,
        other => {
            return og.error(
                StatusCode::NOT_FOUND,
                &format!("no alert update {other:?}; tocsin reads message and description"),
            );
        }
    };
    let parsed = read(body)
        .and_then(|b| opsgenie::parse_update(&identifier, q.identifier_type.as_deref(), field, &b));
    match parsed {
        Ok(ident) => match og.dedup_key(&state, &i, &ident).await {
            Ok(_) => og.accepted(),
            Err(r) => r,
        },
        Err(e) => og.invalid(&e),
    }
}

/// `GET /v2/alerts/requests/{requestId}`: what a request did. The Opsgenie
/// clients call it after a create to learn the alert's id, which they then
/// use with `identifierType=id` (their default). Requests are processed
/// before tocsin answers, so a known request is always done.
async fn og_request(
    State(state): State<AppState>,
    Path(request_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let og = Og::new();
    let i = match og.authenticate(&state, &headers).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let found = match state.store.event_by_request(request_id.trim()).await {
        Ok(found) => found.filter(|e| e.service == i.service),
        Err(e) => {
            tracing::error!(error = %e, "request status lookup failed");
            return og.error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry shortly",
            );
        }
    };
    match found {
        Some(e) => json(
            StatusCode::OK,
            opsgenie::request_status_body(&e, og.id, og.took()),
        ),
        None => og.error(
            StatusCode::NOT_FOUND,
            &format!("Request {request_id:?} not found; requests made with this key are kept"),
        ),
    }
}

// --- Alertmanager, Grafana, generic -----------------------------------

async fn webhook(
    State(state): State<AppState>,
    Path((key, format)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let expected = match format.as_str() {
        "alertmanager" => IntegrationFormat::Alertmanager,
        "grafana" => IntegrationFormat::Grafana,
        "events" => IntegrationFormat::Generic,
        other => {
            return Problem::not_found(format!(
                "no ingestion format {other:?}; use alertmanager, grafana or events"
            ))
            .into_response();
        }
    };
    let i = match integration(&state, &key).await {
        Ok(Some(i)) if i.format == expected => i,
        Ok(Some(i)) => {
            return Problem::new(
                StatusCode::BAD_REQUEST,
                "wrong-format",
                "Wrong format",
                wrong_format(&i, &format),
            )
            .into_response();
        }
        Ok(None) => {
            return Problem::new(
                StatusCode::UNAUTHORIZED,
                "unknown-key",
                "Unknown integration key",
                "the key in the URL is not the key of any integration",
            )
            .into_response();
        }
        Err((status, msg)) => {
            return Problem::new(status, "unavailable", "Service unavailable", msg).into_response();
        }
    };
    let parsed = read(body).and_then(|b| match expected {
        IntegrationFormat::Alertmanager => alertmanager::parse(&b, &i.severity),
        IntegrationFormat::Grafana => grafana::parse(&b, &i.severity),
        _ => generic::parse(&b, &i.severity).map(|e| vec![e]),
    });
    let events = match parsed {
        Ok(events) => events,
        Err(e) => return super::problem(&e).into_response(),
    };
    let n = events.len();
    let first_key = events
        .first()
        .map(|e| e.dedup_key.clone())
        .unwrap_or_default();
    match store(&state, &i, events, None).await {
        Ok(_) => {
            let body = match expected {
                IntegrationFormat::Alertmanager => alertmanager::success_body(n),
                IntegrationFormat::Grafana => grafana::success_body(n),
                _ => generic::success_body(&first_key),
            };
            json(StatusCode::ACCEPTED, body)
        }
        Err(e) => {
            let (status, msg) = unavailable(&e);
            let slug = if status == StatusCode::TOO_MANY_REQUESTS {
                "rate-limited"
            } else {
                "unavailable"
            };
            retry_after(
                Problem::new(
                    status,
                    slug,
                    status.canonical_reason().unwrap_or("Error"),
                    msg,
                )
                .into_response(),
                &e,
            )
        }
    }
}
