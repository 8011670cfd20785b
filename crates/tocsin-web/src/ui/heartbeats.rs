//! `/heartbeats`: every declared heartbeat with its status (new, up, late,
//! down, paused), last ping and next expected ping, and its ping URL (and,
//! for admins, the organisation's ping key for slug URLs);
//! `/heartbeats/{name}`: one heartbeat with its recent pings — each
//! run's duration and the log its job sent. What a status means is
//! `tocsin_core::heartbeat` (rules in `docs/heartbeats.md`); this module
//! only shows it.

use super::common::{path_name, when};
use super::{Nav, SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use tocsin_core::heartbeat::{self, HeartbeatView, PingView};
use tocsin_domain::access::Action;

/// Pings shown on a heartbeat's page.
const RECENT: u32 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/heartbeats", get(list))
        .route("/heartbeats/{name}", get(show))
}

/// One heartbeat as a row.
struct Row {
    name: String,
    service: String,
    status: &'static str,
    expects: String,
    grace: String,
    last_ping: String,
    next_expected: String,
    url: String,
    running: bool,
    description: String,
}

fn opt_when(t: Option<Timestamp>) -> String {
    t.map(when).unwrap_or_else(|| "never".into())
}

fn row(h: HeartbeatView) -> Row {
    Row {
        url: format!("/ping/{}", h.uuid),
        name: h.name.to_string(),
        service: h.service.to_string(),
        status: h.status.as_str(),
        expects: h.expects,
        grace: h.grace,
        last_ping: opt_when(h.last_ping),
        next_expected: h
            .next_expected
            .map(when)
            .unwrap_or_else(|| "after the first ping".into()),
        running: h.running,
        description: h.description.unwrap_or_default(),
    }
}

/// A duration in words: `42s`, `3m 5s`, `1h 2m`.
fn duration(ms: i64) -> String {
    let d = SignedDuration::from_millis(ms);
    let s = d.as_secs();
    if s < 60 {
        if ms < 10_000 && ms % 1000 != 0 {
            return format!("{:.1}s", d.as_secs_f64());
        }
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m {}s", s / 60, s % 60)
    } else {
        format!("{}h {}m", s / 3600, (s % 3600) / 60)
    }
}

/// One ping as a row.
struct PingRow {
    at: String,
    kind: &'static str,
    exit_status: String,
    duration: String,
    rid: String,
    method: String,
    body: String,
    truncated: bool,
}

fn ping_row(p: PingView) -> PingRow {
    PingRow {
        at: when(p.at),
        kind: p.kind.as_str(),
        exit_status: p.exit_status.map(|e| e.to_string()).unwrap_or_default(),
        duration: p.duration_ms.map(duration).unwrap_or_default(),
        rid: p.rid.unwrap_or_default(),
        method: p.method,
        body: p.body,
        truncated: p.truncated,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "heartbeats.html")]
struct HeartbeatsPage {
    nav: Nav,
    rows: Vec<Row>,
    /// The organisation's ping key (slug URLs), shown to admins only.
    ping_key: Option<String>,
}

async fn list(State(state): State<AppState>, me: SignedIn) -> Result<HeartbeatsPage, UiError> {
    let nav = me.nav("heartbeats");
    me.authorize(&Action::Read, &nav)?;
    let now = state.clock.now();
    let views = heartbeat::overview(state.store.as_ref(), &state.heartbeats, now).await?;
    let ping_key = if nav.admin {
        Some(state.heartbeats.ping_key(now).await?)
    } else {
        None
    };
    Ok(HeartbeatsPage {
        nav,
        rows: views.into_iter().map(row).collect(),
        ping_key,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "heartbeat.html")]
struct HeartbeatPage {
    nav: Nav,
    h: Row,
    pings: Vec<PingRow>,
}

async fn show(
    State(state): State<AppState>,
    me: SignedIn,
    Path(name): Path<String>,
) -> Result<HeartbeatPage, UiError> {
    let nav = me.nav("heartbeats");
    me.authorize(&Action::Read, &nav)?;
    let name = path_name(&name, "heartbeat", &nav)?;
    let Some((view, pings)) = heartbeat::detail(
        state.store.as_ref(),
        &state.heartbeats,
        &name,
        RECENT,
        state.clock.now(),
    )
    .await?
    else {
        return Err(UiError::not_found(
            &nav,
            format!("there is no heartbeat named {:?}", name.as_str()),
        ));
    };
    Ok(HeartbeatPage {
        nav,
        h: row(view),
        pings: pings.into_iter().map(ping_row).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_in_words() {
        for (ms, want) in [
            (1_500, "1.5s"),
            (42_000, "42s"),
            (185_000, "3m 5s"),
            (3_720_000, "1h 2m"),
        ] {
            assert_eq!(duration(ms), want);
        }
    }
}
