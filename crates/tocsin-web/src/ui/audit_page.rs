//! `/admin/audit`: the audit log for admins — who changed what, when,
//! from which interface. Filters are a GET form (bookmarkable, no
//! JavaScript); paging goes backwards by id ("older"), which stays correct
//! while new entries arrive, unlike page numbers.

use super::common::when;
use super::{Nav, SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use tocsin_domain::access::Action;
use tocsin_domain::audit::Interface;
use tocsin_store::AuditQuery;

/// Entries per page.
const PAGE: u32 = 50;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/audit", get(audit))
}

/// The filter form; empty fields mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    interface: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    before: String,
}

impl Filters {
    fn query(&self) -> Result<AuditQuery, String> {
        let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let interface = match opt(&self.interface) {
            None => None,
            Some(i) => Some(Interface::parse(&i).ok_or_else(|| {
                format!("interface {i:?} is not one of ui, api, cli, config, chat, system")
            })?),
        };
        let before_id = match opt(&self.before) {
            None => None,
            Some(b) => Some(
                b.parse::<i64>()
                    .map_err(|_| format!("before {b:?} is not an entry id"))?,
            ),
        };
        Ok(AuditQuery {
            actor: opt(&self.actor),
            interface,
            action_prefix: opt(&self.action),
            object_kind: opt(&self.kind),
            object_name: opt(&self.name),
            before_id,
            limit: PAGE,
        })
    }

    /// The filters as a query string, without `before`, for the paging links.
    fn encoded(&self) -> String {
        [
            ("actor", &self.actor),
            ("interface", &self.interface),
            ("action", &self.action),
            ("kind", &self.kind),
            ("name", &self.name),
        ]
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={}", super::session::urlencode(v.trim())))
        .collect::<Vec<_>>()
        .join("&")
    }
}

#[derive(Debug)]
struct Row {
    id: i64,
    at: String,
    actor: String,
    interface: &'static str,
    action: String,
    object: String,
    detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Nav,
    f: Filters,
    interfaces: [&'static str; 6],
    rows: Vec<Row>,
    /// Link to the next (older) page, if there may be one.
    older: Option<String>,
    newest: Option<String>,
    error: Option<String>,
}

async fn audit(
    State(state): State<AppState>,
    me: SignedIn,
    Query(f): Query<Filters>,
) -> Result<AuditPage, UiError> {
    let nav = me.nav("audit");
    me.authorize(&Action::Administer, &nav)?;
    let mut page = AuditPage {
        nav,
        interfaces: Interface::ALL.map(Interface::as_str),
        rows: vec![],
        older: None,
        newest: None,
        error: None,
        f: Filters::default(),
    };
    let query = match f.query() {
        Ok(q) => q,
        Err(e) => {
            page.error = Some(e);
            page.f = f;
            return Ok(page);
        }
    };
    let records = state.store.list_audit(&query).await?;
    let qs = f.encoded();
    let sep = if qs.is_empty() { "" } else { "&" };
    if records.len() == PAGE as usize
        && let Some(last) = records.last()
    {
        page.older = Some(format!("/admin/audit?{qs}{sep}before={}", last.id));
    }
    if query.before_id.is_some() {
        page.newest = Some(format!("/admin/audit?{qs}"));
    }
    page.rows = records
        .into_iter()
        .map(|r| Row {
            id: r.id,
            at: when(r.at),
            actor: r.entry.actor,
            interface: r.entry.interface.as_str(),
            action: r.entry.action,
            object: match (r.entry.object_kind, r.entry.object_name) {
                (Some(k), Some(n)) => format!("{k} {n}"),
                (Some(k), None) => k,
                (None, Some(n)) => n,
                (None, None) => String::new(),
            },
            detail: detail_text(&r.entry.detail),
        })
        .collect();
    page.f = f;
    Ok(page)
}

/// The detail as compact JSON; `{}` and `null` say nothing, so show nothing.
fn detail_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::Object(m) if m.is_empty() => String::new(),
        other => other.to_string(),
    }
}
