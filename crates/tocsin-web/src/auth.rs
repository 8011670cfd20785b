//! API token authentication: `Authorization: Bearer tcs_…`, with the scope
//! checked per endpoint.

use crate::problem::Problem;
use crate::server::AppState;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use tocsin_domain::token::TokenScope;
use tocsin_store::TokenRecord;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub TokenRecord);

impl Caller {
    /// 403 with the reason unless the token's scope allows `needed`.
    pub fn require(&self, needed: TokenScope, action: &str) -> Result<(), Problem> {
        if self.0.scope.allows(needed) {
            return Ok(());
        }
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            format!(
                "token {:?} has scope {}; {action} needs scope {needed} (create one with `tocsin token create --scope {needed}`)",
                self.0.name, self.0.scope
            ),
        ))
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
        let now = state.clock.now();
        match tocsin_core::token::authenticate(state.store.as_ref(), token.trim(), now).await? {
            Some(record) => Ok(Caller(record)),
            None => Err(unauthorized("the API token is unknown or revoked")),
        }
    }
}
