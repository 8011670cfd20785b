//! Who am I, my tokens, and the audit log, over the API.

use crate::auth::Caller;
use crate::problem::{JsonBody, Problem};
use crate::server::AppState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use tocsin_domain::access::Action;
use tocsin_domain::audit::Interface;
use tocsin_domain::token::TokenScope;
use tocsin_store::AuditQuery;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// The user the token acts for, if any.
    pub user: Option<String>,
    /// viewer, responder, manager or admin: the token's scope, capped by
    /// its owner's role.
    pub role: String,
    pub teams: Vec<String>,
    pub token: String,
    pub scope: String,
}

/// The caller as tocsin sees it: user, effective role, teams.
#[utoipa::path(get, path = "/api/v1/me", tag = "access", responses((status = 200, body = Me)))]
pub async fn me(caller: Caller) -> Json<Me> {
    let p = &caller.principal;
    Json(Me {
        user: p.user.as_ref().map(ToString::to_string),
        role: p.role.to_string(),
        teams: p.teams.iter().map(ToString::to_string).collect(),
        token: caller.token.name.clone(),
        scope: caller.token.scope.to_string(),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub name: String,
    pub scope: String,
    pub owner: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// Tokens: the caller's own; every token for admins.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "access", responses((status = 200, body = Vec<TokenView>)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TokenView>>, Problem> {
    let all = caller.principal.authorize(&Action::Administer).is_ok();
    let me = caller.principal.user.clone();
    let tokens = state
        .store
        .list_tokens()
        .await?
        .into_iter()
        .filter(|t| all || (me.is_some() && t.owner == me))
        .map(|t| TokenView {
            name: t.name,
            scope: t.scope.to_string(),
            owner: t.owner.map(|o| o.to_string()),
            created_at: t.created_at.to_string(),
            last_used_at: t.last_used_at.map(|t| t.to_string()),
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    Ok(Json(tokens))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    /// What it is for; unique among live tokens.
    pub name: String,
    /// read, write or admin; at most what the caller's role allows.
    pub scope: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedTokenView {
    pub name: String,
    pub scope: String,
    pub owner: Option<String>,
    /// Shown only in this response.
    pub secret: String,
}

/// Creates a token owned by the caller's user, at most the caller's role.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "access", request_body = NewTokenRequest,
    responses(
        (status = 201, body = IssuedTokenView),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(req): JsonBody<NewTokenRequest>,
) -> Result<(StatusCode, Json<IssuedTokenView>), Problem> {
    let scope = TokenScope::parse(&req.scope).ok_or_else(|| {
        Problem::invalid(
            "the token request is not valid",
            vec![Problem::field(
                "scope",
                format!("{:?} is not a scope; use read, write or admin", req.scope),
            )],
        )
    })?;
    caller.authorize(&Action::CreateToken { scope })?;
    let owner = caller.principal.user.clone();
    let issued = tocsin_core::token::create(
        state.store.as_ref(),
        &req.name,
        scope,
        owner.as_ref(),
        &caller.actor(),
        state.clock.now(),
    )
    .await
    .map_err(|e| match e {
        tocsin_core::token::TokenError::BadName(m) => Problem::invalid(
            "the token request is not valid",
            vec![Problem::field("name", m)],
        ),
        tocsin_core::token::TokenError::Store(s) => s.into(),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedTokenView {
            name: issued.name,
            scope: issued.scope.to_string(),
            owner: owner.map(|o| o.to_string()),
            secret: issued.secret,
        }),
    ))
}

/// Revokes a token: one's own, or any for admins.
#[utoipa::path(delete, path = "/api/v1/tokens/{name}", tag = "access",
    params(("name" = String, Path, description = "The token's name")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<StatusCode, Problem> {
    let store = state.store.as_ref();
    let live = store
        .list_tokens()
        .await?
        .into_iter()
        .find(|t| t.name == name && t.revoked_at.is_none());
    let Some(token) = live else {
        return Err(Problem::not_found(format!("no live token named {name:?}")));
    };
    let own = caller.principal.user.is_some() && token.owner == caller.principal.user;
    if !own {
        caller.authorize(&Action::Administer)?;
    }
    tocsin_core::token::revoke(store, &name, &caller.actor(), state.clock.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Exact actor (`alice`, `token:ci`, `cli:root`).
    pub actor: Option<String>,
    /// ui, api, cli, config, chat or system.
    pub interface: Option<String>,
    /// Actions starting with this (`catalog.`, `token.create`).
    pub action: Option<String>,
    pub kind: Option<String>,
    pub name: Option<String>,
    /// Only entries older than this id (paging).
    pub before: Option<i64>,
    /// At most this many, newest first (default 100, at most 1000).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub interface: String,
    pub action: String,
    pub object_kind: Option<String>,
    pub object_name: Option<String>,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// The audit log, newest first (admins).
#[utoipa::path(get, path = "/api/v1/audit", tag = "access", params(AuditParams),
    responses(
        (status = 200, body = Vec<AuditView>),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<AuditParams>,
) -> Result<Json<Vec<AuditView>>, Problem> {
    caller.authorize(&Action::Administer)?;
    let interface = match p.interface.as_deref() {
        None | Some("") => None,
        Some(s) => Some(Interface::parse(s).ok_or_else(|| {
            Problem::invalid(
                "the audit query is not valid",
                vec![Problem::field(
                    "interface",
                    format!("{s:?} is not one of ui, api, cli, config, chat, system"),
                )],
            )
        })?),
    };
    let query = AuditQuery {
        actor: p.actor.filter(|s| !s.is_empty()),
        interface,
        action_prefix: p.action.filter(|s| !s.is_empty()),
        object_kind: p.kind.filter(|s| !s.is_empty()),
        object_name: p.name.filter(|s| !s.is_empty()),
        before_id: p.before,
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
    };
    let rows = state.store.list_audit(&query).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditView {
                id: r.id,
                at: r.at.to_string(),
                actor: r.entry.actor,
                interface: r.entry.interface.to_string(),
                action: r.entry.action,
                object_kind: r.entry.object_kind,
                object_name: r.entry.object_name,
                detail: r.entry.detail,
            })
            .collect(),
    ))
}
