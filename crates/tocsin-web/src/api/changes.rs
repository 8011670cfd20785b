//! Recording a change (deploy, config change, "upgraded redis") for a
//! service with an API token: `tocsin log "…" --service X`, a deploy
//! pipeline. Stored like a change event from an integration (through the
//! group-commit ingestor, durable before the answer), shown with the
//! service's incidents as a recent change.

use crate::auth::Caller;
use crate::problem::{JsonBody, Problem};
use crate::server::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tocsin_core::ingest::IngestError;
use tocsin_domain::catalog::{Kind, Object};
use tocsin_domain::ingest::{Event, EventAction, Link};
use tocsin_domain::{Name, Severity};
use tocsin_store::IngestItem;
use utoipa::ToSchema;

/// The name changes made through the API are recorded under, where events
/// from integrations carry the integration's name.
pub const VIA_API: &str = "api";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChange {
    /// What changed: "Upgraded redis to 2.8.19".
    pub summary: String,
    /// Where (host, pipeline, person).
    pub source: Option<String>,
    /// Anything else, as given.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    /// Links: the deploy job, the pull request.
    #[serde(default)]
    pub links: Vec<ChangeLink>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeLink {
    pub href: String,
    pub text: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeRecorded {
    pub status: String,
    pub service: String,
}

/// Records a change for a service.
#[utoipa::path(post, path = "/api/v1/services/{name}/changes", tag = "incidents",
    request_body = NewChange,
    params(("name" = String, Path, description = "The service that changed")),
    responses(
        (status = 202, body = ChangeRecorded),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn record_change(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<NewChange>,
) -> Result<(StatusCode, Json<ChangeRecorded>), Problem> {
    caller.authorize(&tocsin_domain::access::Action::RecordChange)?;
    let service = Name::parse(&name).map_err(|e| {
        Problem::invalid(
            "the service in the URL is not a valid name",
            vec![Problem::field("name", e.to_string())],
        )
    })?;
    let stored = state
        .store
        .get_object(Kind::Service, &service)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no service named {:?}", service.as_str())))?;
    if !matches!(
        Object::from_spec(Kind::Service, stored.spec),
        Ok(Object::Service(_))
    ) {
        return Err(Problem::internal(&"the stored service does not parse"));
    }
    let mut errors = Vec::new();
    let summary = req.summary.trim();
    if summary.is_empty() {
        errors.push(Problem::field("summary", "must say what changed"));
    }
    for (i, l) in req.links.iter().enumerate() {
        let ok = ["http://", "https://"]
            .iter()
            .any(|p| l.href.starts_with(p));
        if !ok {
            errors.push(Problem::field(
                &format!("links[{i}].href"),
                format!("{:?} is not an http(s) URL", l.href),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid("the change is not valid", errors));
    }
    let source = req.source.filter(|s| !s.trim().is_empty());
    let labels = source
        .iter()
        .map(|s| ("source".to_owned(), s.clone()))
        .collect();
    let event = Event {
        action: EventAction::Change,
        dedup_key: String::new(),
        summary: Event::truncate_summary(summary),
        source,
        severity: Severity::Sev5,
        sender_severity: None,
        occurred_at: None,
        component: None,
        group: None,
        class: None,
        labels,
        details: req.details.unwrap_or(serde_json::Value::Null),
        links: req
            .links
            .into_iter()
            .map(|l| Link {
                href: l.href,
                text: l.text,
            })
            .collect(),
        images: Vec::new(),
        note: Some(format!("recorded by {}", caller.principal.label)),
    };
    let via = Name::from_static(VIA_API);
    let item = IngestItem {
        integration: via,
        service: service.clone(),
        event,
        received_at: state.clock.now(),
        request_id: None,
    };
    match state.ingestor.submit(item).await {
        Ok(_) => Ok((
            StatusCode::ACCEPTED,
            Json(ChangeRecorded {
                status: "success".into(),
                service: service.to_string(),
            }),
        )),
        Err(e @ IngestError::RateLimited { .. }) => Err(Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "Too many requests",
            e.to_string(),
        )),
        Err(e) => Err(Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
            e.to_string(),
        )),
    }
}
