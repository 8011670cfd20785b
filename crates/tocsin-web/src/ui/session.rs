//! The UI session: a cookie naming a server-side session, and the CSRF
//! token every state-changing form must carry.

use super::{Nav, UiError};
use crate::server::AppState;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use tocsin_core::audit::Actor;
use tocsin_domain::access::{Action, Principal, Role};
use tocsin_domain::audit::Interface;
use tocsin_store::Session;

/// The cookie's name; with TLS the `__Host-` prefix pins it to this host,
/// path `/` and Secure.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tocsin_session"
    } else {
        "tocsin_session"
    }
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub session: Session,
    pub principal: Principal,
}

impl SignedIn {
    /// The layout data for a page in `section`.
    pub fn nav(&self, section: &'static str) -> Nav {
        Nav {
            user: Some(self.session.user.to_string()),
            admin: self.principal.role == Role::Admin,
            section,
            csrf: self.session.csrf.clone(),
            flash: None,
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::new(self.principal.label.clone(), Interface::Ui)
    }

    /// 403 page with the reason unless allowed.
    pub fn authorize(&self, action: &Action<'_>, nav: &Nav) -> Result<(), UiError> {
        self.principal
            .authorize(action)
            .map_err(|d| UiError::forbidden(nav, d.0))
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, presented: &str) -> Result<(), UiError> {
        if constant_time_eq(presented.as_bytes(), self.session.csrf.as_bytes()) {
            Ok(())
        } else {
            tracing::warn!(user = %self.session.user, "form refused: CSRF token mismatch");
            Err(UiError::forbidden(
                &self.nav(""),
                "this form did not come from your current session (it may be from an old tab or another site); reload the page and try again",
            ))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Not signed in: go to the sign-in page, then come back.
#[derive(Debug)]
pub struct SignInFirst(String);

impl IntoResponse for SignInFirst {
    fn into_response(self) -> Response {
        let next = urlencode(&self.0);
        Redirect::to(&format!("/login?next={next}")).into_response()
    }
}

pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".into());
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(cookie) = jar.get(cookie_name(state.secure_cookies)) else {
            return Err(SignInFirst(here).into_response());
        };
        let store = state.store.as_ref();
        let now = state.clock.now();
        let session = match state.sessions.resolve(store, cookie.value(), now).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err(SignInFirst(here).into_response()),
            Err(e) => return Err(UiError::from(e).into_response()),
        };
        let principal = tocsin_core::session::principal_for_session(store, &session)
            .await
            .map_err(|e| UiError::from(e).into_response())?;
        Ok(SignedIn { session, principal })
    }
}

/// The Set-Cookie for a new session.
pub fn session_cookie(state: &AppState, value: String) -> Cookie<'static> {
    let max_age = state.sessions.config().absolute.as_secs();
    Cookie::build((cookie_name(state.secure_cookies), value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.secure_cookies)
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age))
        .build()
}

/// The Set-Cookie that removes the session cookie.
pub fn clear_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = Cookie::build((cookie_name(state.secure_cookies), ""))
        .path("/")
        .secure(state.secure_cookies)
        .build();
    c.make_removal();
    c
}

/// 429 for throttled sign-ins.
pub fn too_many(message: String) -> UiError {
    UiError::new(StatusCode::TOO_MANY_REQUESTS, message)
}
