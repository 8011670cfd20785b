//! Learning from an incident over the API: its post-incident review (read
//! as a draft until saved, saved with its version for optimistic
//! concurrency, exported as Markdown), the blameless-language check the
//! editor runs, and action items. The rules are in `tocsin_core::review`.

use super::response::{Params, Via, bad, if_match, json_body, name_of};
use crate::auth::Caller;
use crate::problem::Problem;
use crate::server::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use tocsin_core::response::ResponseError;
use tocsin_core::review::{self, ReviewView};
use tocsin_domain::access::Action;
use tocsin_domain::review::blameless::{self, Finding};
use tocsin_domain::review::document::{FACTOR_PROMPTS, SECTIONS, span};
use tocsin_domain::review::{Moment, Review};
use tocsin_store::response::{ActionItemQuery, ActionItemRecord};
use utoipa::{IntoParams, ToSchema};

// ---------------------------------------------------------------------------
// The review document

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MomentDoc {
    /// RFC 3339.
    pub at: String,
    pub text: String,
}

/// What people write in a review. A section left out is empty.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReviewDoc {
    pub summary: String,
    pub customer_impact: String,
    /// Key moments, in order (drafted from the pinned and milestone
    /// entries of the timeline).
    pub key_moments: Vec<MomentDoc>,
    pub contributing_factors: String,
    pub went_well: String,
    pub was_hard: String,
}

impl From<&Review> for ReviewDoc {
    fn from(r: &Review) -> Self {
        ReviewDoc {
            summary: r.summary.clone(),
            customer_impact: r.customer_impact.clone(),
            key_moments: r
                .key_moments
                .iter()
                .map(|m| MomentDoc {
                    at: m.at.to_string(),
                    text: m.text.clone(),
                })
                .collect(),
            contributing_factors: r.contributing_factors.clone(),
            went_well: r.went_well.clone(),
            was_hard: r.was_hard.clone(),
        }
    }
}

impl ReviewDoc {
    fn into_review(self) -> Result<Review, Problem> {
        let mut key_moments = Vec::with_capacity(self.key_moments.len());
        for (i, m) in self.key_moments.into_iter().enumerate() {
            let at = m.at.parse().map_err(|_| {
                bad(
                    &format!("review.key_moments[{i}].at"),
                    format!("{:?} is not an RFC 3339 instant", m.at),
                )
            })?;
            key_moments.push(Moment { at, text: m.text });
        }
        Ok(Review {
            summary: self.summary,
            customer_impact: self.customer_impact,
            key_moments,
            contributing_factors: self.contributing_factors,
            went_well: self.went_well,
            was_hard: self.was_hard,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FactsView {
    pub number: i64,
    pub title: String,
    pub severity: String,
    pub services: Vec<String>,
    pub opened_at: String,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
    pub commander: Option<String>,
    /// In words ("4 min 5 s").
    pub time_to_acknowledge: Option<String>,
    pub time_to_resolve: Option<String>,
    pub duration: Option<String>,
}

/// A phrase the blameless-language check flags; advice, never a refusal.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    /// The review section (`summary`, `contributing_factors`, …); absent
    /// for a plain text check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Byte offsets of the phrase in the text.
    pub start: usize,
    pub end: usize,
    pub phrase: String,
    /// counterfactual, blame, hindsight or minimising.
    pub category: String,
    pub why: String,
    pub suggestion: String,
}

impl FindingView {
    fn of(field: Option<&str>, f: &Finding) -> FindingView {
        FindingView {
            field: field.map(str::to_owned),
            start: f.start,
            end: f.end,
            phrase: f.phrase.clone(),
            category: f.category.as_str().to_owned(),
            why: f.why.to_owned(),
            suggestion: f.suggestion.to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionItemView {
    pub id: i64,
    pub incident: i64,
    pub title: String,
    pub owner: String,
    /// The team it is listed under.
    pub team: Option<String>,
    /// YYYY-MM-DD.
    pub due_on: String,
    pub done: bool,
    pub done_at: Option<String>,
    /// Open and due before today (UTC).
    pub overdue: bool,
    pub created_at: String,
}

impl ActionItemView {
    fn of(i: ActionItemRecord, today: Date) -> ActionItemView {
        ActionItemView {
            id: i.id,
            incident: i.incident,
            overdue: i.done_at.is_none() && i.due_on < today,
            title: i.title,
            owner: i.owner.to_string(),
            team: i.team.map(|t| t.to_string()),
            due_on: i.due_on.to_string(),
            done: i.done_at.is_some(),
            done_at: i.done_at.map(|t| t.to_string()),
            created_at: i.created_at.to_string(),
        }
    }
}

fn today(state: &AppState) -> Date {
    state.clock.now().to_zoned(TimeZone::UTC).date()
}

/// A review as the editor shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewResponse {
    pub incident: i64,
    /// 0 while it is an unsaved draft; send it back with a save.
    pub version: i64,
    pub done: bool,
    pub review: ReviewDoc,
    /// Computed from the incident each time.
    pub facts: FactsView,
    pub action_items: Vec<ActionItemView>,
    /// Blameless-language advice per section.
    pub advice: Vec<FindingView>,
    /// The advice in one line.
    pub advice_summary: String,
    /// Questions that draw out contributing factors.
    pub prompts: Vec<String>,
    pub updated_by: Option<String>,
    pub updated_at: Option<String>,
}

fn review_response(state: &AppState, incident: i64, v: ReviewView) -> Response {
    let today = today(state);
    let f = &v.facts;
    let findings: Vec<Finding> = v.advice.iter().map(|(_, f)| f.clone()).collect();
    let advice_summary = blameless::summary(&findings);
    let body = ReviewResponse {
        incident,
        version: v.version,
        done: v.done,
        review: ReviewDoc::from(&v.review),
        facts: FactsView {
            number: f.number,
            title: f.title.clone(),
            severity: f.severity.to_string(),
            services: f.services.clone(),
            opened_at: f.opened_at.to_string(),
            acknowledged_at: f.acknowledged_at.map(|t| t.to_string()),
            resolved_at: f.resolved_at.map(|t| t.to_string()),
            commander: f.commander.clone(),
            time_to_acknowledge: f.time_to_acknowledge().map(span),
            time_to_resolve: f.time_to_resolve().map(span),
            duration: f.duration().map(span),
        },
        action_items: v
            .items
            .into_iter()
            .map(|i| ActionItemView::of(i, today))
            .collect(),
        advice: v
            .advice
            .iter()
            .map(|(field, f)| FindingView::of(Some(field), f))
            .collect(),
        advice_summary,
        prompts: FACTOR_PROMPTS.iter().map(|p| (*p).to_owned()).collect(),
        updated_by: v.updated_by,
        updated_at: v.updated_at.map(|t| t.to_string()),
    };
    let mut res = Json(body).into_response();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", v.version)) {
        res.headers_mut().insert(header::ETAG, etag);
    }
    res
}

/// The incident's review: the saved one, or a draft from the record (the
/// summary, the service's impact, key moments from the timeline) with
/// version 0. `ETag` is the version.
#[utoipa::path(get, path = "/api/v1/incidents/{number}/review", tag = "reviews",
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = ReviewResponse, headers(("ETag" = String, description = "The review's version"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn get_review(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<i64>,
) -> Result<Response, Problem> {
    let v = review::load(state.store.as_ref(), &caller.principal, number).await?;
    Ok(review_response(&state, number, v))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveReview {
    /// The version this edit started from (0 for the draft). Or send it as
    /// `If-Match`.
    pub version: Option<i64>,
    /// Mark the review done (or not); default false.
    #[serde(default)]
    pub done: bool,
    pub review: ReviewDoc,
}

/// Saves the review the editor started from `version`; 409 when someone
/// saved it meanwhile (reload, copy your text over). A review is written
/// once the incident is resolved (409 before). Marking it done lets a Sev1
/// or Sev2 close.
#[utoipa::path(put, path = "/api/v1/incidents/{number}/review", tag = "reviews",
    request_body = SaveReview,
    params(("number" = i64, Path, description = "The incident's number"),
        ("If-Match" = Option<String>, Header, description = "The version the edit started from, as the ETag `\"3\"`"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = ReviewResponse, headers(("ETag" = String, description = "The new version"))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn save_review(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let req: SaveReview = json_body(&body)?;
    let version = match (req.version, if_match(&headers)?) {
        (Some(v), Some(m)) if v != m => {
            return Err(bad(
                "version",
                format!("is {v} but If-Match says {m}; send one of them"),
            ));
        }
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => {
            return Err(bad(
                "version",
                "say which version the edit started from (0 for the draft), or send If-Match",
            ));
        }
    };
    let review = req.review.into_review()?;
    let v = review::save(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        &review,
        req.done,
        version,
        state.clock.now(),
    )
    .await
    .map_err(|e| match e {
        ResponseError::Invalid(f) if SECTIONS.iter().any(|(s, _)| *s == f.field) => {
            bad(&format!("review.{}", f.field), f.reason)
        }
        other => other.into(),
    })?;
    Ok(review_response(&state, number, v))
}

/// The review as Markdown (CommonMark), as a download.
#[utoipa::path(get, path = "/api/v1/incidents/{number}/review.md", tag = "reviews",
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = String, content_type = "text/markdown",
            headers(("Content-Disposition" = String, description = "attachment; filename=\"incident-N-review.md\""))),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn review_markdown(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<i64>,
) -> Result<Response, Problem> {
    let text = review::markdown(state.store.as_ref(), &caller.principal, number).await?;
    let mut res = text.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/markdown; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"incident-{number}-review.md\""
    )) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    pub findings: Vec<FindingView>,
    /// The findings in one line.
    pub summary: String,
}

/// Runs the blameless-language check on a text, as the review editor does
/// while one writes: phrases that read as blame or hindsight, why, and a
/// neutral way to say it. Advice only.
#[utoipa::path(post, path = "/api/v1/reviews/check", tag = "reviews",
    request_body = CheckRequest,
    responses(
        (status = 200, body = CheckResult),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn check(caller: Caller, body: Bytes) -> Result<Json<CheckResult>, Problem> {
    caller.authorize(&Action::Read)?;
    let req: CheckRequest = json_body(&body)?;
    if req.text.chars().count() > review::SECTION_MAX {
        return Err(bad(
            "text",
            format!("at most {} characters", review::SECTION_MAX),
        ));
    }
    let findings = blameless::check(&req.text);
    Ok(Json(CheckResult {
        summary: blameless::summary(&findings),
        findings: findings.iter().map(|f| FindingView::of(None, f)).collect(),
    }))
}

// ---------------------------------------------------------------------------
// Action items

/// An incident's action items, by due date.
#[utoipa::path(get, path = "/api/v1/incidents/{number}/action-items", tag = "reviews",
    params(("number" = i64, Path, description = "The incident's number")),
    responses(
        (status = 200, body = Vec<ActionItemView>),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn incident_action_items(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<i64>,
) -> Result<Json<Vec<ActionItemView>>, Problem> {
    caller.authorize(&Action::Read)?;
    let store = state.store.as_ref();
    if store.get_incident(number).await?.is_none() {
        return Err(Problem::not_found(format!("no incident #{number}")));
    }
    let items = store
        .action_items(&ActionItemQuery {
            incident: Some(number),
            limit: 1000,
            ..ActionItemQuery::default()
        })
        .await?;
    let today = today(&state);
    Ok(Json(
        items
            .into_iter()
            .map(|i| ActionItemView::of(i, today))
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActionItemRequest {
    pub title: String,
    /// The user who owns it.
    pub owner: String,
    /// YYYY-MM-DD.
    pub due_on: String,
}

/// Adds an action item: an owner and a due date; listed under the owner's
/// team (the service's team if they are in it). 201.
#[utoipa::path(post, path = "/api/v1/incidents/{number}/action-items", tag = "reviews",
    request_body = NewActionItemRequest,
    params(("number" = i64, Path, description = "The incident's number"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 201, body = ActionItemView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add_action_item(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(number): Path<i64>,
    body: Bytes,
) -> Result<(StatusCode, Json<ActionItemView>), Problem> {
    let req: NewActionItemRequest = json_body(&body)?;
    let owner = name_of("owner", &req.owner)?;
    let due_on: Date = req.due_on.trim().parse().map_err(|_| {
        bad(
            "due_on",
            format!("{:?} is not a date (YYYY-MM-DD)", req.due_on),
        )
    })?;
    let item = review::add_action_item(
        state.store.as_ref(),
        via.actor(&caller),
        number,
        &req.title,
        &owner,
        due_on,
        state.clock.now(),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ActionItemView::of(item, today(&state))),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionItemPatch {
    /// Done, or open again.
    pub done: bool,
}

async fn set_done(
    state: &AppState,
    caller: &Caller,
    via: Via,
    incident: i64,
    id: i64,
    body: &Bytes,
) -> Result<Json<ActionItemView>, Problem> {
    let req: ActionItemPatch = json_body(body)?;
    let item = review::set_action_item_done(
        state.store.as_ref(),
        via.actor(caller),
        incident,
        id,
        req.done,
        state.clock.now(),
    )
    .await?;
    Ok(Json(ActionItemView::of(item, today(state))))
}

/// Marks an incident's action item done, or open again.
#[utoipa::path(patch, path = "/api/v1/incidents/{number}/action-items/{id}", tag = "reviews",
    request_body = ActionItemPatch,
    params(("number" = i64, Path, description = "The incident's number"),
        ("id" = i64, Path, description = "The action item's id"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = ActionItemView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_incident_action_item(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path((number, id)): Path<(i64, i64)>,
    body: Bytes,
) -> Result<Json<ActionItemView>, Problem> {
    set_done(&state, &caller, via, number, id, &body).await
}

/// Marks an action item done, or open again, by its id alone.
#[utoipa::path(patch, path = "/api/v1/action-items/{id}", tag = "reviews",
    request_body = ActionItemPatch,
    params(("id" = i64, Path, description = "The action item's id"),
        ("X-Tocsin-Interface" = Option<String>, Header, description = "`cli` or `api` (default)")),
    responses(
        (status = 200, body = ActionItemView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn patch_action_item(
    State(state): State<AppState>,
    caller: Caller,
    via: Via,
    Path(id): Path<i64>,
    body: Bytes,
) -> Result<Json<ActionItemView>, Problem> {
    // The store finds items by incident, team or owner, not by id: look
    // among the open items first (what one marks done), then all.
    let store = state.store.as_ref();
    let mut incident = None;
    for open_only in [true, false] {
        let items = store
            .action_items(&ActionItemQuery {
                open_only,
                limit: 1000,
                ..ActionItemQuery::default()
            })
            .await?;
        if let Some(i) = items.iter().find(|i| i.id == id) {
            incident = Some(i.incident);
            break;
        }
    }
    let incident = incident.ok_or_else(|| {
        Problem::not_found(format!(
            "no action item {id} (for an incident with many items use \
             PATCH /api/v1/incidents/{{number}}/action-items/{id})"
        ))
    })?;
    set_done(&state, &caller, via, incident, id, &body).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ActionItemParams {
    /// Items listed under this team.
    pub team: Option<String>,
    /// Items this user owns.
    pub owner: Option<String>,
    /// Items of this incident.
    pub incident: Option<i64>,
    /// Only open items.
    #[serde(default)]
    pub open: bool,
    /// Only open items due before today (UTC).
    #[serde(default)]
    pub overdue: bool,
    /// At most this many, by due date (default 200, at most 1000).
    pub limit: Option<u32>,
}

/// Action items across incidents, by due date: a team's, a person's, the
/// overdue ones.
#[utoipa::path(get, path = "/api/v1/action-items", tag = "reviews",
    params(ActionItemParams),
    responses(
        (status = 200, body = Vec<ActionItemView>),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_action_items(
    State(state): State<AppState>,
    caller: Caller,
    Params(p): Params<ActionItemParams>,
) -> Result<Json<Vec<ActionItemView>>, Problem> {
    caller.authorize(&Action::Read)?;
    let team = p.team.as_deref().map(|t| name_of("team", t)).transpose()?;
    let owner = p
        .owner
        .as_deref()
        .map(|o| name_of("owner", o))
        .transpose()?;
    let today = today(&state);
    let items = state
        .store
        .action_items(&ActionItemQuery {
            incident: p.incident,
            team,
            owner,
            open_only: p.open || p.overdue,
            due_before: p.overdue.then_some(today),
            limit: p.limit.unwrap_or(200).clamp(1, 1000),
        })
        .await?;
    Ok(Json(
        items
            .into_iter()
            .map(|i| ActionItemView::of(i, today))
            .collect(),
    ))
}
