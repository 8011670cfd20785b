//! Sign-in, sign-out and the one-time setup of the first admin.

use super::session::{SignedIn, clear_cookie, session_cookie, too_many};
use super::{Nav, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use std::net::SocketAddr;
use tocsin_core::account::{self, AccountError, NewUserAccount};
use tocsin_core::audit::Actor;
use tocsin_core::session::LoginError;
use tocsin_domain::access::Role;
use tocsin_domain::audit::Interface;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/setup", get(setup_page).post(setup))
}

/// `/`: the catalog when signed in; otherwise sign-in, or setup on a new install.
pub async fn home(State(state): State<AppState>, jar: CookieJar) -> Result<Redirect, UiError> {
    if jar
        .get(super::session::cookie_name(state.secure_cookies))
        .is_some()
    {
        return Ok(Redirect::to("/services"));
    }
    if state.store.count_accounts().await? == 0 {
        return Ok(Redirect::to("/setup"));
    }
    Ok(Redirect::to("/login"))
}

#[derive(Template, WebTemplate)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Nav,
    error: Option<String>,
    user: String,
    next: String,
    setup_open: bool,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only local paths: an open redirect would let a phishing link bounce
/// through the sign-in page.
fn safe_next(next: &str) -> String {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next.to_owned()
    } else {
        "/services".to_owned()
    }
}

async fn login_page(
    State(state): State<AppState>,
    Query(q): Query<NextQuery>,
) -> Result<LoginPage, UiError> {
    Ok(LoginPage {
        nav: Nav::anonymous(),
        error: None,
        user: String::new(),
        next: safe_next(&q.next),
        setup_open: state.store.count_accounts().await? == 0,
    })
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    user: String,
    password: String,
    #[serde(default)]
    next: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, UiError> {
    let now = state.clock.now();
    let client = peer.ip().to_string();
    match state
        .sessions
        .login(
            state.store.as_ref(),
            &form.user,
            &form.password,
            &client,
            now,
        )
        .await
    {
        Ok(started) => {
            let jar = jar.add(session_cookie(&state, started.cookie));
            Ok((jar, Redirect::to(&safe_next(&form.next))).into_response())
        }
        Err(LoginError::BadCredentials) => {
            let page = LoginPage {
                nav: Nav::anonymous(),
                error: Some(LoginError::BadCredentials.to_string()),
                user: form.user,
                next: safe_next(&form.next),
                setup_open: false,
            };
            Ok((StatusCode::UNAUTHORIZED, page).into_response())
        }
        Err(e @ LoginError::Throttled { .. }) => Err(too_many(e.to_string())),
        Err(LoginError::Store(e)) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    me: SignedIn,
    jar: CookieJar,
    Form(form): Form<CsrfForm>,
) -> Result<Response, UiError> {
    me.check_csrf(&form.csrf)?;
    if let Some(c) = jar.get(super::session::cookie_name(state.secure_cookies)) {
        state
            .sessions
            .logout(state.store.as_ref(), c.value(), state.clock.now())
            .await?;
    }
    let jar = jar.add(clear_cookie(&state));
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "setup.html")]
struct SetupPage {
    nav: Nav,
    error: Option<String>,
    name: String,
    full_name: String,
    email: String,
}

async fn setup_page(State(state): State<AppState>) -> Result<Response, UiError> {
    if state.store.count_accounts().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    let page = SetupPage {
        nav: Nav::anonymous(),
        error: None,
        name: String::new(),
        full_name: String::new(),
        email: String::new(),
    };
    Ok(page.into_response())
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    name: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    password: String,
}

async fn setup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(form): Form<SetupForm>,
) -> Result<Response, UiError> {
    let now = state.clock.now();
    let store = state.store.as_ref();
    let new = NewUserAccount {
        name: form.name.clone(),
        role: Role::Admin,
        password: form.password.clone(),
        full_name: Some(form.full_name.clone()),
        email: Some(form.email.clone()),
        time_zone: None,
    };
    let actor = Actor::new(form.name.trim(), Interface::Ui);
    match account::setup_first_admin(store, new, &actor, now).await {
        Ok(_) => {}
        Err(AccountError::SetupDone) => {
            return Err(UiError::forbidden(
                &Nav::anonymous(),
                AccountError::SetupDone.to_string(),
            ));
        }
        Err(AccountError::Store(e)) => return Err(e.into()),
        Err(e) => {
            let page = SetupPage {
                nav: Nav::anonymous(),
                error: Some(e.to_string()),
                name: form.name,
                full_name: form.full_name,
                email: form.email,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    }
    let started = state
        .sessions
        .login(
            store,
            form.name.trim(),
            &form.password,
            &peer.ip().to_string(),
            now,
        )
        .await
        .map_err(|e| UiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let jar = jar.add(session_cookie(&state, started.cookie));
    Ok((jar, Redirect::to("/services")).into_response())
}
