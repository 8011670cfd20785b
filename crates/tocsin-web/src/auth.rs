//! API token authentication: `Authorization: Bearer tcs_…`, with the scope
//! checked per endpoint.

use crate::problem::Problem;
use crate::server::AppState;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use tocsin_core::audit::Actor;
use tocsin_domain::access::{Action, Principal};
use tocsin_domain::audit::Interface;
use tocsin_store::TokenRecord;

/// The authenticated caller: the token, and whom it acts as.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: TokenRecord,
    pub principal: Principal,
}

impl Caller {
    /// 403 with the reason unless the caller may do `action`.
    pub fn authorize(&self, action: &Action<'_>) -> Result<(), Problem> {
        self.principal.authorize(action).map_err(|denied| {
            Problem::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                format!(
                    "{denied} (token scope {}; create another with `tocsin token create --scope ...`)",
                    self.token.scope
                ),
            )
        })
    }

    /// For the audit log.
    pub fn actor(&self) -> Actor {
        Actor::new(self.principal.label.clone(), Interface::Api)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized = |detail: &str| {
            Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                detail,
            )
        };
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                unauthorized("send an API token as `Authorization: Bearer <token>` (create one with `tocsin token create`)")
            })?;
        let token = header
            .strip_prefix("Bearer ")
            .ok_or_else(|| unauthorized("the Authorization header must use the Bearer scheme"))?;
        Caller::from_secret(state, token).await
    }
}

impl Caller {
    /// The caller a token secret stands for (also used where a client can
    /// only send a URL: calendar feeds).
    pub async fn from_secret(state: &AppState, token: &str) -> Result<Caller, Problem> {
        let now = state.clock.now();
        let store = state.store.as_ref();
        match tocsin_core::token::authenticate(store, token.trim(), now).await? {
            Some(record) => {
                let principal = tocsin_core::session::principal_for_token(store, &record).await?;
                Ok(Caller {
                    token: record,
                    principal,
                })
            }
            None => Err(Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                "the API token is unknown or revoked",
            )),
        }
    }
}
