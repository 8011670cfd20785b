//! `/incidents…`: running an incident from the web. The list with its
//! filters (`list`), declaring one by hand (`declare`), the incident page
//! that shows everything about one incident (`page`), the forms that act
//! on it (`actions`, each a POST that redirects back: PRG), and the
//! timeline's entries as one partial the live view can render too
//! (`timeline`).
//!
//! Every rule (who may act, what a title must be, when an incident may
//! close) is the core's, in `tocsin_core::response` and
//! `tocsin_core::incident`; these handlers parse the form, call one core
//! function and show its answer — a refusal as a page with its reason, a
//! bad value next to the field it concerns.

mod actions;
mod declare;
mod list;
mod page;
mod timeline;

use super::{Nav, UiError};
use crate::server::AppState;
use axum::Router;
use axum::routing::{get, post};
use tocsin_domain::Severity;

/// The live timeline (`ui/live.rs`) renders new entries and events with the
/// same `<li>`, reading as many events as the page.
pub(crate) use timeline::{EVENT_LIMIT, EntryItem, TimelineItem};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents", get(list::list))
        .route(
            "/incidents/declare",
            get(declare::form).post(declare::declare),
        )
        .route("/incidents/{number}", get(page::show))
        .route("/incidents/{number}/escalate", post(actions::escalate))
        .route("/incidents/{number}/page", post(actions::page))
        .route(
            "/incidents/{number}/acknowledge",
            post(actions::acknowledge),
        )
        .route("/incidents/{number}/resolve", post(actions::resolve))
        .route("/incidents/{number}/reopen", post(actions::reopen))
        .route("/incidents/{number}/close", post(actions::close))
        .route("/incidents/{number}/severity", post(actions::severity))
        .route("/incidents/{number}/describe", post(actions::describe))
        .route("/incidents/{number}/services", post(actions::add_service))
        .route("/incidents/{number}/roles", post(actions::assign_role))
        .route(
            "/incidents/{number}/roles/remove",
            post(actions::unassign_role),
        )
        .route("/incidents/{number}/notes", post(actions::note))
        .route("/incidents/{number}/pins", post(actions::pin))
        .route("/incidents/{number}/cadence", post(actions::cadence))
        .route(
            "/incidents/{number}/stakeholders",
            post(actions::add_stakeholder),
        )
        .route(
            "/incidents/{number}/stakeholders/remove",
            post(actions::remove_stakeholder),
        )
        .route("/incidents/{number}/updates", post(actions::post_update))
        .route("/incidents/{number}/merge", post(actions::merge))
        .route("/incidents/{number}/command", post(actions::command))
        .route(
            "/incidents/{number}/command/confirm",
            post(actions::confirm_command),
        )
}

/// An incident number from the path (`8` or `#8`); anything else cannot
/// exist, so it is a 404 like a missing one.
fn number(raw: &str, nav: &Nav) -> Result<i64, UiError> {
    raw.trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| UiError::not_found(nav, format!("there is no incident #{raw}")))
}

/// What each severity means (PRODUCT.md), shown next to every severity
/// choice so that people pick the same one for the same situation.
fn definition(s: Severity) -> &'static str {
    s.definition()
}

/// A severity as a choice in a form.
#[derive(Debug, Clone)]
struct SevChoice {
    /// `sev2`, what the form sends.
    value: String,
    /// `Sev2`.
    label: &'static str,
    definition: &'static str,
    selected: bool,
}

fn severity_choices(selected: Option<Severity>) -> Vec<SevChoice> {
    Severity::ALL
        .into_iter()
        .map(|s| SevChoice {
            value: s.to_string(),
            label: s.label(),
            definition: definition(s),
            selected: Some(s) == selected,
        })
        .collect()
}

/// A form's fields as sent, repeated names kept (a multiple select sends
/// one pair per choice).
#[derive(Debug, Default)]
struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, or "".
    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every non-empty value of `name`.
    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
            .collect()
    }

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}
