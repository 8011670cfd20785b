//! `/incidents/declare`: opening an incident by hand — a title, the service
//! it is on (and others it touches), a severity chosen with its definition
//! in view, a summary, and whether to page the service's on-call now
//! (checked unless unticked). A refused value shows the form again with
//! the message at its field and everything typed kept.

use super::{Fields, SevChoice, severity_choices};
use crate::server::AppState;
use crate::ui::{Nav, SignedIn, UiError};
use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tocsin_core::response::{self, Actor, Declaration, ResponseError};
use tocsin_domain::access::Role;
use tocsin_domain::catalog::Kind;
use tocsin_domain::response::{FieldError, Interface};
use tocsin_domain::{Name, Severity};

/// What the form holds (as typed, to show again).
#[derive(Debug, Clone)]
struct Typed {
    title: String,
    service: String,
    also: Vec<String>,
    summary: String,
    page: bool,
}

#[derive(Debug)]
struct ServiceChoice {
    name: String,
    primary: bool,
    also: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "declare.html")]
struct DeclarePage {
    nav: Nav,
    form: Typed,
    services: Vec<ServiceChoice>,
    severities: Vec<SevChoice>,
    /// The field refused (`title`, `service`, `services`, `severity`,
    /// `summary`) and why; empty when the form is new.
    field: String,
    message: String,
}

impl DeclarePage {
    fn err(&self, field: &str) -> Option<&str> {
        (self.field == field).then_some(self.message.as_str())
    }
}

/// Only responders and admins declare; say so before the form is filled.
fn may_declare(me: &SignedIn, nav: &Nav) -> Result<(), UiError> {
    if me.principal.role < Role::Responder {
        return Err(UiError::forbidden(
            nav,
            format!(
                "{} has role {}; declaring an incident needs responder or more",
                me.principal.label, me.principal.role
            ),
        ));
    }
    Ok(())
}

async fn page(
    state: &AppState,
    nav: Nav,
    form: Typed,
    severity: Option<Severity>,
    field: String,
    message: String,
) -> Result<DeclarePage, UiError> {
    let mut names: Vec<String> = state
        .store
        .list_objects(Some(Kind::Service))
        .await?
        .into_iter()
        .map(|o| o.name.to_string())
        .collect();
    names.sort();
    let services = names
        .into_iter()
        .map(|name| ServiceChoice {
            primary: name == form.service,
            also: form.also.contains(&name),
            name,
        })
        .collect();
    Ok(DeclarePage {
        nav,
        form,
        services,
        severities: severity_choices(severity),
        field,
        message,
    })
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct Preset {
    /// Preselects the service (`/incidents/declare?service=checkout`).
    #[serde(default)]
    service: String,
}

pub async fn form(
    State(state): State<AppState>,
    me: SignedIn,
    Query(preset): Query<Preset>,
) -> Result<Response, UiError> {
    let nav = me.nav("incidents");
    may_declare(&me, &nav)?;
    let typed = Typed {
        title: String::new(),
        service: preset.service,
        also: Vec::new(),
        summary: String::new(),
        page: true,
    };
    let p = page(
        &state,
        nav,
        typed,
        Some(Severity::Sev3),
        String::new(),
        String::new(),
    )
    .await?;
    Ok(p.into_response())
}

pub async fn declare(
    State(state): State<AppState>,
    me: SignedIn,
    Form(sent): Form<Vec<(String, String)>>,
) -> Result<Response, UiError> {
    let f = Fields(sent);
    me.check_csrf(f.get("csrf"))?;
    let nav = me.nav("incidents");
    let typed = Typed {
        title: f.get("title").to_owned(),
        service: f.get("service").trim().to_owned(),
        also: f.all("also").into_iter().map(str::to_owned).collect(),
        summary: f.get("summary").to_owned(),
        page: f.has("page"),
    };
    let severity = Severity::parse(f.get("severity").trim());
    let done = match declaration(&typed, severity) {
        Ok(d) => {
            let by = Actor {
                who: &me.principal,
                via: Interface::Web,
            };
            response::declare(state.store.as_ref(), by, &d, state.clock.now()).await
        }
        Err(e) => Err(e.into()),
    };
    let (field, message) = match done {
        Ok(incident) => {
            let url = format!("/incidents/{}?done=declared", incident.number);
            return Ok(Redirect::to(&url).into_response());
        }
        Err(ResponseError::Invalid(FieldError { field, reason })) => {
            (field.to_owned(), format!("{field}: {reason}"))
        }
        Err(ResponseError::Denied(m)) => return Err(UiError::forbidden(&nav, m)),
        Err(ResponseError::Store(e)) => return Err(e.into()),
        Err(ResponseError::NotFound(m) | ResponseError::Conflict(m)) => (String::new(), m),
    };
    let nav = nav.with_flash("error", format!("Not declared: {message}."));
    let p = page(&state, nav, typed, severity, field, message).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, p).into_response())
}

/// The form as a declaration, or the first field that cannot be one.
fn declaration(t: &Typed, severity: Option<Severity>) -> Result<Declaration, FieldError> {
    let service = match t.service.as_str() {
        "" => {
            return Err(FieldError::new(
                "service",
                "choose the service that is affected",
            ));
        }
        s => Name::parse(s).map_err(|e| FieldError::new("service", format!("{s:?}: {e}")))?,
    };
    let also = t
        .also
        .iter()
        .map(|s| Name::parse(s).map_err(|e| FieldError::new("services", format!("{s:?}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let severity = severity
        .ok_or_else(|| FieldError::new("severity", "choose a severity from Sev1 to Sev5"))?;
    Ok(Declaration {
        title: t.title.clone(),
        service,
        also_services: also,
        severity,
        summary: Some(t.summary.clone()).filter(|s| !s.trim().is_empty()),
        page: t.page,
    })
}
