//! The server-rendered web UI. Every core flow works without JavaScript;
//! pages share one layout (`templates/base.html`) and one stylesheet.
//! State-changing forms are POSTs carrying the session's CSRF token.

mod accounts;
mod ack;
mod audit_page;
mod auth_pages;
pub mod chart;
mod common;
mod depgraph;
mod heartbeats;
mod incidents;
mod live;
mod noise;
mod people;
mod profile;
mod reviews;
mod schedules;
mod services;
pub mod session;
mod settings;

use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

pub use session::SignedIn;

/// What the layout needs on every page.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub user: Option<String>,
    pub admin: bool,
    /// Which menu entry is current (`services`, `teams`, `users`, `settings`,
    /// `audit`, `accounts`).
    pub section: &'static str,
    pub csrf: String,
    pub flash: Option<Flash>,
}

#[derive(Debug, Clone)]
pub struct Flash {
    /// `ok` or `error` (a CSS class).
    pub kind: &'static str,
    pub text: String,
}

impl Nav {
    /// For pages seen before signing in.
    pub fn anonymous() -> Nav {
        Nav::default()
    }

    pub fn with_flash(mut self, kind: &'static str, text: impl Into<String>) -> Nav {
        self.flash = Some(Flash {
            kind,
            text: text.into(),
        });
        self
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    nav: Nav,
    title: String,
    message: String,
}

/// A refusal or failure shown as a page, with its status and reason.
#[derive(Debug)]
pub struct UiError {
    pub status: StatusCode,
    pub message: String,
    /// Boxed: errors travel in `Result`s and should stay small.
    pub nav: Box<Nav>,
}

impl UiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> UiError {
        UiError {
            status,
            message: message.into(),
            nav: Box::new(Nav::anonymous()),
        }
    }

    pub fn forbidden(nav: &Nav, message: impl Into<String>) -> UiError {
        UiError {
            status: StatusCode::FORBIDDEN,
            message: message.into(),
            nav: Box::new(nav.clone()),
        }
    }

    /// A request no form of ours sends (a tampered select, say): 422.
    pub fn unprocessable(nav: &Nav, message: impl Into<String>) -> UiError {
        UiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
            nav: Box::new(nav.clone()),
        }
    }

    pub fn not_found(nav: &Nav, message: impl Into<String>) -> UiError {
        UiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
            nav: Box::new(nav.clone()),
        }
    }
}

impl From<tocsin_store::StoreError> for UiError {
    fn from(e: tocsin_store::StoreError) -> Self {
        tracing::error!(error = %e, "page failed");
        UiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the page could not be loaded: the database did not answer; try again shortly",
        )
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let title = match self.status {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            s if s.is_client_error() => "Cannot do that",
            _ => "Something went wrong",
        };
        let page = ErrorPage {
            nav: *self.nav,
            title: title.into(),
            message: self.message,
        };
        (self.status, page).into_response()
    }
}

/// The HTML 404 for a path no route knows. With the signed-in person's
/// layout when there is one, so the menu is there to go on from; a missing
/// or stale session is no reason to send anyone to sign in for a 404.
pub async fn page_not_found(state: &AppState, request: Request) -> Response {
    let message = format!("there is no page at {}", request.uri().path());
    let (mut parts, _body) = request.into_parts();
    let nav = match SignedIn::from_request_parts(&mut parts, state).await {
        Ok(me) => me.nav(""),
        Err(_) => Nav::anonymous(),
    };
    UiError::not_found(&nav, message).into_response()
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/tocsin.css"),
    )
        .into_response()
}

/// The UI's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(auth_pages::home))
        .route("/static/tocsin.css", get(stylesheet))
        .merge(auth_pages::router())
        .merge(ack::router())
        .merge(services::router())
        .merge(incidents::router())
        .merge(reviews::router())
        .merge(live::router())
        .merge(noise::router())
        .merge(people::router())
        .merge(schedules::router())
        .merge(heartbeats::router())
        .merge(profile::router())
        .merge(settings::router())
        .merge(audit_page::router())
        .merge(accounts::router())
}
