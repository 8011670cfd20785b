//! Settings: API tokens (`/settings/tokens`) and integrations with their
//! keys (`/settings/integrations`).
//!
//! A token's secret exists only in the response to the POST that created
//! it; the store keeps a digest. The page that shows it is `no-store`, so
//! neither the back button nor a cache can show it again. Integration
//! keys are shown to admins only: anyone holding one can raise alerts.

use super::common::{Done, no_store, when};
use super::services::format_label;
use super::{Nav, SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tocsin_core::token::{self, TokenError};
use tocsin_domain::access::{Action, Role};
use tocsin_domain::catalog::{Kind, Object};
use tocsin_domain::token::TokenScope;
use tocsin_store::{StoreError, TokenRecord};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings/tokens", get(tokens).post(create_token))
        .route("/settings/tokens/revoke", post(revoke_token))
        .route("/settings/integrations", get(integrations))
}

#[derive(Debug)]
struct TokenRow {
    name: String,
    scope: &'static str,
    owner: String,
    created: String,
    last_used: String,
    revoked: Option<String>,
    /// The signed-in person may revoke it (and it is live).
    revocable: bool,
}

/// A token just created: shown once.
#[derive(Debug)]
struct Issued {
    name: String,
    scope: &'static str,
    secret: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "tokens.html")]
struct TokensPage {
    nav: Nav,
    rows: Vec<TokenRow>,
    /// Admins see every token.
    all: bool,
    /// Scopes this person may create, most powerful last.
    scopes: Vec<&'static str>,
    issued: Option<Issued>,
    form_error: Option<String>,
    form_name: String,
    form_scope: String,
}

/// The token list as this person may see it: their own; admins all.
async fn page(state: &AppState, me: &SignedIn, nav: Nav) -> Result<TokensPage, UiError> {
    let admin = me.principal.role == Role::Admin;
    let records = state.store.list_tokens().await?;
    let rows = records
        .into_iter()
        .filter(|t| admin || t.owner.as_ref() == Some(&me.session.user))
        .rev()
        .map(|t| row(me, t))
        .collect();
    let max = me.principal.role.max_token_scope();
    let scopes = [TokenScope::Read, TokenScope::Write, TokenScope::Admin]
        .into_iter()
        .filter(|s| *s <= max)
        .map(TokenScope::as_str)
        .collect();
    Ok(TokensPage {
        nav,
        rows,
        all: admin,
        scopes,
        issued: None,
        form_error: None,
        form_name: String::new(),
        form_scope: "read".into(),
    })
}

fn row(me: &SignedIn, t: TokenRecord) -> TokenRow {
    TokenRow {
        revocable: t.revoked_at.is_none() && may_revoke(me, &t),
        name: t.name,
        scope: t.scope.as_str(),
        owner: t
            .owner
            .map(|o| o.to_string())
            .unwrap_or_else(|| "(nobody: made with the CLI)".into()),
        created: when(t.created_at),
        last_used: t.last_used_at.map(when).unwrap_or_else(|| "never".into()),
        revoked: t.revoked_at.map(when),
    }
}

/// Own tokens; admins any.
fn may_revoke(me: &SignedIn, t: &TokenRecord) -> bool {
    me.principal.role == Role::Admin || t.owner.as_ref() == Some(&me.session.user)
}

async fn tokens(
    State(state): State<AppState>,
    me: SignedIn,
    Query(done): Query<Done>,
) -> Result<TokensPage, UiError> {
    let nav = done.flash(me.nav("settings"));
    me.authorize(&Action::Read, &nav)?;
    page(&state, &me, nav).await
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    scope: String,
}

async fn create_token(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<CreateForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("settings");
    let Some(scope) = TokenScope::parse(&form.scope) else {
        let mut p = page(&state, &me, nav).await?;
        p.form_error = Some(format!(
            "scope: {:?} is not one of read, write, admin",
            form.scope
        ));
        p.form_name = form.name;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response());
    };
    me.authorize(&Action::CreateToken { scope }, &nav)?;
    let created = token::create(
        state.store.as_ref(),
        &form.name,
        scope,
        Some(&me.session.user),
        &me.actor(),
        state.clock.now(),
    )
    .await;
    let problem = match created {
        Ok(issued) => {
            let mut p = page(
                &state,
                &me,
                nav.with_flash("ok", format!("Token {} created.", issued.name)),
            )
            .await?;
            p.issued = Some(Issued {
                name: issued.name,
                scope: issued.scope.as_str(),
                secret: issued.secret,
            });
            return Ok(no_store(p));
        }
        Err(TokenError::BadName(why)) => format!("name: {why}"),
        Err(TokenError::Store(StoreError::Conflict(_))) => {
            format!(
                "name: a live token is already called {:?}; pick another name or revoke that one",
                form.name.trim()
            )
        }
        Err(TokenError::Store(e)) => return Err(e.into()),
    };
    let mut p = page(&state, &me, nav).await?;
    p.form_error = Some(problem);
    p.form_name = form.name;
    p.form_scope = scope.as_str().into();
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

async fn revoke_token(
    State(state): State<AppState>,
    me: SignedIn,
    Form(form): Form<RevokeForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    let nav = me.nav("settings");
    let store = state.store.as_ref();
    let live = store
        .list_tokens()
        .await?
        .into_iter()
        .find(|t| t.name == form.name && t.revoked_at.is_none());
    let Some(t) = live else {
        return Err(UiError::not_found(
            &nav,
            format!("there is no live token named {:?}", form.name),
        ));
    };
    if !may_revoke(&me, &t) {
        return Err(UiError::forbidden(
            &nav,
            format!(
                "token {:?} belongs to {}; only its owner or an admin may revoke it",
                t.name,
                owner_label(&t)
            ),
        ));
    }
    if !token::revoke(store, &t.name, &me.actor(), state.clock.now()).await? {
        return Err(UiError::not_found(
            &nav,
            format!("there is no live token named {:?}", form.name),
        ));
    }
    Ok(Redirect::to("/settings/tokens?done=revoked").into_response())
}

fn owner_label(t: &TokenRecord) -> String {
    t.owner
        .as_ref()
        .map(|o| o.to_string())
        .unwrap_or_else(|| "nobody (it was made with the CLI)".into())
}

#[derive(Debug)]
struct IntegrationRow {
    name: String,
    description: String,
    service: String,
    format: &'static str,
    managed: bool,
    source: String,
    /// Only filled for admins.
    key: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "integrations.html")]
struct IntegrationsPage {
    nav: Nav,
    rows: Vec<IntegrationRow>,
    admin: bool,
}

async fn integrations(State(state): State<AppState>, me: SignedIn) -> Result<Response, UiError> {
    let nav = me.nav("settings");
    me.authorize(&Action::Read, &nav)?;
    let admin = me.authorize(&Action::Administer, &nav).is_ok();
    // The key is in the store row only (never in an ObjectView), so read the store.
    let rows = state
        .store
        .list_objects(Some(Kind::Integration))
        .await?
        .into_iter()
        .filter_map(|c| {
            let Ok(Object::Integration(i)) = Object::from_spec(Kind::Integration, c.spec) else {
                return None;
            };
            Some(IntegrationRow {
                name: i.name.to_string(),
                description: i.description.unwrap_or_default(),
                service: i.service.to_string(),
                format: format_label(i.format),
                managed: c.managed,
                source: c.source.unwrap_or_default(),
                key: if admin { c.secret } else { None },
            })
        })
        .collect();
    Ok(no_store(IntegrationsPage { nav, rows, admin }))
}
