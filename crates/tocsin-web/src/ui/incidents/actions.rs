//! The incident page's forms: each a POST that checks the session's CSRF
//! token, parses the form, calls one core function as the signed-in person
//! through the web, and redirects back to the page with a confirmation
//! (`?done=…#section`). A refusal keeps the person on the page: a bad
//! value or a state that does not allow it shows the page again (422) with
//! the message at the form; a missing incident is a 404 page and a missing
//! right a 403 page, each with the reason.

use super::page::{Problem, answered, render};
use super::{Fields, number};
use crate::server::AppState;
use crate::ui::{SignedIn, UiError};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use tocsin_core::response::{self, Actor, ResponseError};
use tocsin_domain::catalog::Target;
use tocsin_domain::response::{Audience, FieldError, Interface, Role, UpdateState};
use tocsin_domain::{Name, Severity};
use tocsin_store::Store;

/// The form as sent.
type Sent = Form<Vec<(String, String)>>;

/// One form's request: who, which incident, what was sent.
struct Cx<'a> {
    state: &'a AppState,
    me: &'a SignedIn,
    n: i64,
    f: Fields,
}

impl<'a> Cx<'a> {
    fn new(
        state: &'a AppState,
        me: &'a SignedIn,
        raw: &str,
        form: Vec<(String, String)>,
    ) -> Result<Cx<'a>, UiError> {
        let f = Fields(form);
        me.check_csrf(f.get("csrf"))?;
        let n = number(raw, &me.nav("incidents"))?;
        Ok(Cx { state, me, n, f })
    }

    fn store(&self) -> &dyn Store {
        self.state.store.as_ref()
    }

    fn by(&self) -> Actor<'a> {
        Actor {
            who: &self.me.principal,
            via: Interface::Web,
        }
    }

    fn now(&self) -> jiff::Timestamp {
        self.state.clock.now()
    }

    /// Back to incident `to` with a confirmation, or the refusal shown.
    /// `form` names the form for the message, `keep` the fields whose
    /// typed value is shown again.
    async fn finish<T>(
        self,
        done: Result<T, ResponseError>,
        form: &str,
        keep: &[&'static str],
        code: &str,
        anchor: &str,
    ) -> Result<Response, UiError> {
        let n = self.n;
        self.finish_at(n, done, form, keep, code, anchor).await
    }

    async fn finish_at<T>(
        self,
        to: i64,
        done: Result<T, ResponseError>,
        form: &str,
        keep: &[&'static str],
        code: &str,
        anchor: &str,
    ) -> Result<Response, UiError> {
        let nav = self.me.nav("incidents");
        let (field, message) = match done {
            Ok(_) => {
                let url = format!("/incidents/{to}?done={code}#{anchor}");
                return Ok(Redirect::to(&url).into_response());
            }
            Err(ResponseError::Invalid(FieldError { field, reason })) => {
                (field.to_owned(), format!("{field}: {reason}"))
            }
            Err(ResponseError::Conflict(m)) => (String::new(), m),
            Err(ResponseError::NotFound(m)) => return Err(UiError::not_found(&nav, m)),
            Err(ResponseError::Denied(m)) => return Err(UiError::forbidden(&nav, m)),
            Err(ResponseError::Store(e)) => return Err(e.into()),
        };
        let kept = keep
            .iter()
            .map(|k| (*k, self.f.get(k).to_owned()))
            .collect();
        let problem = Problem {
            form: form.to_owned(),
            field,
            message,
            kept,
        };
        render(self.state, self.me, self.n, problem).await
    }
}

/// A refusal of what the form sent before the core saw it.
fn invalid<T>(field: &'static str, reason: impl Into<String>) -> Result<T, ResponseError> {
    Err(ResponseError::Invalid(FieldError::new(field, reason)))
}

fn name_of(field: &'static str, raw: &str) -> Result<Name, ResponseError> {
    Name::parse(raw.trim()).map_err(|e| FieldError::new(field, format!("{raw:?}: {e}")).into())
}

fn role_of(raw: &str) -> Result<Role, ResponseError> {
    Role::parse(raw).ok_or_else(|| FieldError::new("role", format!("no role {raw:?}")).into())
}

/// What each lifecycle button does.
#[derive(Debug, Clone, Copy)]
enum Act {
    Acknowledge,
    Resolve,
    Reopen,
}

async fn act(
    state: &AppState,
    me: &SignedIn,
    raw: &str,
    form: Vec<(String, String)>,
    what: Act,
) -> Result<Response, UiError> {
    use tocsin_core::incident;
    let cx = Cx::new(state, me, raw, form)?;
    let note = Some(cx.f.get("note").trim()).filter(|m| !m.is_empty());
    let (store, n, now) = (cx.store(), cx.n, cx.now());
    let who = tocsin_core::response::Actor {
        who: &me.principal,
        via: tocsin_domain::response::Interface::Web,
    };
    let (done, code) = match what {
        Act::Acknowledge => (
            incident::acknowledge(store, who, n, now).await,
            "acknowledged",
        ),
        Act::Resolve => (
            incident::resolve(store, who, n, note, now).await,
            "resolved",
        ),
        Act::Reopen => (incident::reopen(store, who, n, note, now).await, "reopened"),
    };
    cx.finish(
        done.map_err(ResponseError::from),
        "status",
        &[],
        code,
        "status",
    )
    .await
}

pub async fn acknowledge(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    act(&state, &me, &raw, form, Act::Acknowledge).await
}

pub async fn resolve(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    act(&state, &me, &raw, form, Act::Resolve).await
}

pub async fn reopen(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    act(&state, &me, &raw, form, Act::Reopen).await
}

/// Closes a resolved incident; refused (with why) while a required review
/// is not done.
pub async fn close(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let done = response::close(cx.store(), cx.by(), cx.n, &state.review_required, cx.now()).await;
    cx.finish(done, "status", &[], "closed", "status").await
}

/// "Escalate now": the next level fires at once.
pub async fn escalate(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let by = tocsin_core::response::Actor {
        who: &me.principal,
        via: tocsin_domain::response::Interface::Web,
    };
    let done = tocsin_core::escalation::escalate(cx.store(), by, cx.n, cx.now())
        .await
        .map_err(ResponseError::from);
    cx.finish(done, "status", &[], "escalated", "status").await
}

/// "Page someone": a person, a team or a schedule's on-call, paged now and
/// added as responders — or, with `mode=reassign`, handed the incident.
pub async fn page(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let target = parse_target(cx.f.get("target"));
    let message = Some(cx.f.get("message").trim()).filter(|m| !m.is_empty());
    let reassign = cx.f.get("mode") == "reassign";
    let done = match target {
        Err(e) => Err(e),
        Ok(t) if reassign => tocsin_core::incident::reassign(
            cx.store(),
            tocsin_core::response::Actor {
                who: &me.principal,
                via: tocsin_domain::response::Interface::Web,
            },
            cx.n,
            &t,
            message,
            cx.now(),
        )
        .await
        .map(drop)
        .map_err(ResponseError::from),
        Ok(t) => response::add_responders(cx.store(), cx.by(), cx.n, &t, message, cx.now())
            .await
            .map(drop),
    };
    let code = if reassign { "reassigned" } else { "paged" };
    cx.finish(done, "page", &["message"], code, "roles").await
}

/// `user:alice`, `team:payments`, `schedule:primary`.
fn parse_target(raw: &str) -> Result<Target, ResponseError> {
    let bad = || FieldError::new("target", "choose whom to page from the list");
    let (kind, name) = raw.split_once(':').ok_or_else(bad)?;
    let name = Name::parse(name).map_err(|_| bad())?;
    Ok(match kind {
        "user" => Target::User(name),
        "team" => Target::Team(name),
        "schedule" => Target::Schedule(name),
        _ => return Err(bad().into()),
    })
}

pub async fn severity(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let done = match Severity::parse(cx.f.get("severity").trim()) {
        Some(to) => response::set_severity(cx.store(), cx.by(), cx.n, to, cx.now())
            .await
            .map(drop),
        None => invalid("severity", "choose a severity from Sev1 to Sev5"),
    };
    cx.finish(done, "severity", &[], "severity", "details")
        .await
}

/// Title and summary: only what changed is sent to the core, so saving
/// the form unchanged changes nothing.
pub async fn describe(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let current = cx.store().get_incident(cx.n).await?;
    let Some(current) = current else {
        let nav = me.nav("incidents");
        return Err(UiError::not_found(
            &nav,
            format!("there is no incident #{}", cx.n),
        ));
    };
    let title = cx.f.get("title");
    let summary = cx.f.get("summary");
    let title_changed = title.trim() != current.title;
    let summary_changed = summary.trim() != current.summary.as_deref().unwrap_or("").trim();
    if !title_changed && !summary_changed {
        // Nothing to write, but only for someone who could have written it.
        if let Err(e) = response::context(cx.store(), &me.principal, cx.n).await {
            return cx
                .finish(Err::<(), _>(e), "describe", &[], "", "details")
                .await;
        }
        let url = format!("/incidents/{}?done=unchanged#details", cx.n);
        return Ok(Redirect::to(&url).into_response());
    }
    let done = response::describe(
        cx.store(),
        cx.by(),
        cx.n,
        title_changed.then_some(title),
        summary_changed.then_some(summary),
        cx.now(),
    )
    .await;
    cx.finish(
        done,
        "describe",
        &["title", "summary"],
        "described",
        "details",
    )
    .await
}

pub async fn add_service(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let done = match name_of("service", cx.f.get("service")) {
        Ok(s) => response::add_service(cx.store(), cx.by(), cx.n, &s, cx.now())
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    cx.finish(done, "service", &[], "service", "details").await
}

pub async fn assign_role(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let role = role_of(cx.f.get("role"));
    let form_name = format!("role-{}", role.as_ref().map_or("", |r| r.as_str()));
    let done = match (role, name_of("user", cx.f.get("user"))) {
        (Ok(role), Ok(user)) => {
            response::assign_role(cx.store(), cx.by(), cx.n, role, &user, cx.now())
                .await
                .map(drop)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    cx.finish(done, &form_name, &[], "role", "roles").await
}

pub async fn unassign_role(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let role = role_of(cx.f.get("role"));
    let form_name = format!("role-{}", role.as_ref().map_or("", |r| r.as_str()));
    let done = match (role, name_of("user", cx.f.get("user"))) {
        (Ok(role), Ok(user)) => {
            response::unassign_role(cx.store(), cx.by(), cx.n, role, &user, cx.now())
                .await
                .map(drop)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    cx.finish(done, &form_name, &[], "unassigned", "roles")
        .await
}

pub async fn note(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let done = response::note(cx.store(), cx.by(), cx.n, cx.f.get("text"), cx.now()).await;
    cx.finish(done, "note", &["text"], "note", "timeline-h")
        .await
}

/// Pins (`pinned=1`) or unpins (`pinned=0`) a timeline entry.
pub async fn pin(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let pinned = cx.f.get("pinned") != "0";
    let done = match cx.f.get("entry").trim().parse::<i64>() {
        Ok(entry) => response::pin(cx.store(), cx.by(), cx.n, entry, pinned, cx.now())
            .await
            .map(drop),
        Err(_) => invalid("entry", "choose an entry of the timeline"),
    };
    let code = if pinned { "pinned" } else { "unpinned" };
    cx.finish(done, "timeline", &[], code, "timeline-h").await
}

/// Minutes between updates; empty for none.
pub async fn cadence(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let raw_minutes = cx.f.get("every_minutes").trim();
    let minutes = match raw_minutes {
        "" => Ok(None),
        m => m.parse::<i64>().map(Some).map_err(|_| {
            ResponseError::from(FieldError::new(
                "every_minutes",
                format!("{m:?} is not a whole number of minutes"),
            ))
        }),
    };
    let done = match minutes {
        Ok(m) => response::set_cadence(cx.store(), cx.by(), cx.n, m, cx.now())
            .await
            .map(drop),
        Err(e) => Err(e),
    };
    cx.finish(
        done,
        "cadence",
        &["every_minutes"],
        "cadence",
        "stakeholders",
    )
    .await
}

pub async fn add_stakeholder(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let done =
        response::add_stakeholder(cx.store(), cx.by(), cx.n, cx.f.get("stakeholder"), cx.now())
            .await;
    cx.finish(
        done,
        "stakeholder",
        &["stakeholder"],
        "stakeholder",
        "stakeholders",
    )
    .await
}

pub async fn remove_stakeholder(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let done =
        response::remove_stakeholder(cx.store(), cx.by(), cx.n, cx.f.get("stakeholder"), cx.now())
            .await;
    cx.finish(
        done,
        "stakeholder",
        &[],
        "stakeholder-removed",
        "stakeholders",
    )
    .await
}

pub async fn post_update(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let parsed = match (
        UpdateState::parse(cx.f.get("state")),
        Audience::parse(cx.f.get("audience")),
    ) {
        (Some(s), Some(a)) => Ok((s, a)),
        (None, _) => invalid(
            "state",
            "choose investigating, identified, monitoring or resolved",
        ),
        (_, None) => invalid("audience", "choose internal or public"),
    };
    let done = match parsed {
        Ok((s, a)) => {
            response::post_update(cx.store(), cx.by(), cx.n, s, a, cx.f.get("body"), cx.now())
                .await
                .map(drop)
        }
        Err(e) => Err(e),
    };
    cx.finish(
        done,
        "update",
        &["state", "audience", "body"],
        "update",
        "stakeholders",
    )
    .await
}

/// Merges this incident into another; on to the one it went into.
pub async fn merge(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    let into = cx.f.get("into").trim().trim_start_matches('#').to_owned();
    match into.parse::<i64>() {
        Ok(into) if into > 0 => {
            // A number with no incident is a wrong value in the field.
            let done = response::merge(cx.store(), cx.by(), cx.n, into, cx.now())
                .await
                .map_err(|e| match e {
                    ResponseError::NotFound(m) => FieldError::new("into", m).into(),
                    other => other,
                });
            cx.finish_at(into, done, "merge", &["into"], "merged", "timeline-h")
                .await
        }
        _ => {
            let done: Result<(), _> =
                invalid("into", "give the number of the incident to merge into");
            cx.finish(done, "merge", &["into"], "merged", "details")
                .await
        }
    }
}

/// The command box: one line of the ChatOps language (`docs/chatops.md`),
/// run by the same executor as the chat bots and `tocsin chat`, as the
/// signed-in person through the web. The page comes back with the answer:
/// at the box when it did what was asked, else (422) as the box's error
/// with the line kept to correct it. The box is offered to whoever may act
/// on this incident, and the POST refuses (403) anyone else, whatever the
/// line says.
pub async fn command(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    may_command(&cx, &me).await?;
    let text = cx.f.get("text").to_owned();
    let answer = tocsin_core::chatops::execute(
        cx.store(),
        &state.runbooks,
        &me.principal,
        Interface::Web,
        &text,
        cx.now(),
    )
    .await;
    if answer.ok {
        answered(&state, &me, cx.n, answer.text, answer.confirm).await
    } else {
        let problem = Problem {
            form: "command".to_owned(),
            field: "text".to_owned(),
            message: answer.text,
            kept: vec![("text", text)],
        };
        render(&state, &me, cx.n, problem).await
    }
}

/// Refuses (403/404) whoever may not act on the incident, before any line
/// of theirs is read.
async fn may_command(cx: &Cx<'_>, me: &SignedIn) -> Result<(), UiError> {
    let nav = me.nav("incidents");
    match response::context(cx.store(), &me.principal, cx.n).await {
        Ok(_) => Ok(()),
        Err(ResponseError::Denied(m)) => Err(UiError::forbidden(&nav, m)),
        Err(ResponseError::NotFound(m)) => Err(UiError::not_found(&nav, m)),
        Err(ResponseError::Store(e)) => Err(e.into()),
        Err(other) => Err(UiError::unprocessable(&nav, other.to_string())),
    }
}

/// The command box's Confirm button: the token a `run` answered with,
/// confirmed as the signed-in person through the web (CSRF-checked like
/// every form). Runs what the prompt showed, once; a refused or expired
/// token comes back as the box's error (422).
pub async fn confirm_command(
    State(state): State<AppState>,
    me: SignedIn,
    Path(raw): Path<String>,
    Form(form): Sent,
) -> Result<Response, UiError> {
    let cx = Cx::new(&state, &me, &raw, form)?;
    may_command(&cx, &me).await?;
    let token = cx.f.get("token").to_owned();
    let answer = tocsin_core::chatops::confirm(
        cx.store(),
        &state.runbooks,
        &me.principal,
        Interface::Web,
        &token,
        cx.now(),
    )
    .await;
    if answer.ok {
        answered(&state, &me, cx.n, answer.text, None).await
    } else {
        let problem = Problem {
            form: "command".to_owned(),
            field: "text".to_owned(),
            message: answer.text,
            kept: vec![],
        };
        render(&state, &me, cx.n, problem).await
    }
}
