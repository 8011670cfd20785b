//! The one-click acknowledge link in pages (`/ack/{token}`), for people
//! reading a page on their phone without a session. `GET` shows the
//! incident and a button — mail scanners that follow links must not
//! acknowledge anything — and `POST` acknowledges as the person the link
//! was made for (ntfy's action button posts directly). The token is signed
//! and expires (`tocsin_core::notify::AckSigner`).

use super::{Nav, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use tocsin_core::escalation::EscalateError;
use tocsin_core::notify::AckSigner;
use tocsin_domain::Name;
use tocsin_domain::access::{Principal, Role};

pub fn router() -> Router<AppState> {
    Router::new().route("/ack/{token}", get(show).post(acknowledge))
}

#[derive(Template, WebTemplate)]
#[template(path = "ack.html")]
struct AckPage {
    nav: Nav,
    token: String,
    user: String,
    number: i64,
    title: String,
    service: String,
    severity: String,
    status: String,
    message: Option<String>,
}

async fn verify(state: &AppState, token: &str) -> Result<(i64, Name), UiError> {
    let signer = AckSigner::from_store(state.store.as_ref()).await?;
    signer
        .verify(token, state.clock.now())
        .map_err(|e| UiError::not_found(&Nav::anonymous(), e.to_string()))
}

async fn page(
    state: &AppState,
    token: String,
    number: i64,
    user: &Name,
    message: Option<String>,
) -> Result<AckPage, UiError> {
    let incident = state.store.get_incident(number).await?.ok_or_else(|| {
        UiError::not_found(&Nav::anonymous(), format!("there is no incident #{number}"))
    })?;
    Ok(AckPage {
        nav: Nav::anonymous(),
        token,
        user: user.to_string(),
        number,
        title: incident.title,
        service: incident.service.to_string(),
        severity: incident.severity.to_string(),
        status: incident.status.as_str().to_owned(),
        message,
    })
}

async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<AckPage, UiError> {
    let (number, user) = verify(&state, &token).await?;
    page(&state, token, number, &user, None).await
}

async fn acknowledge(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<(StatusCode, AckPage), UiError> {
    let (number, user) = verify(&state, &token).await?;
    let directory = tocsin_core::directory::Directory::load(state.store.as_ref()).await?;
    let who = Principal {
        user: Some(user.clone()),
        label: format!("{user} (acknowledge link)"),
        role: Role::Responder,
        teams: directory
            .teams_of_user(&user)
            .into_iter()
            .map(|t| t.spec.name.clone())
            .collect(),
    };
    let message = match tocsin_core::incident::acknowledge(
        state.store.as_ref(),
        tocsin_core::response::Actor {
            who: &who,
            via: tocsin_domain::response::Interface::Web,
        },
        number,
        state.clock.now(),
    )
    .await
    {
        Ok(_) => format!("Acknowledged by {user}."),
        Err(EscalateError::Conflict(m)) => format!("Nothing to do: {m}."),
        Err(EscalateError::Denied(m)) => {
            return Err(UiError::forbidden(&Nav::anonymous(), m));
        }
        Err(EscalateError::NotFound(m)) => return Err(UiError::not_found(&Nav::anonymous(), m)),
        Err(EscalateError::Store(e)) => return Err(e.into()),
    };
    Ok((
        StatusCode::OK,
        page(&state, token, number, &user, Some(message)).await?,
    ))
}
