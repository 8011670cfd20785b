//! The live incident timeline: `GET /incidents/{number}/live` streams each
//! timeline entry written after the one the page already shows, as
//! server-sent events, and `/static/live.js` appends them to the page.
//!
//! The stream polls the store (`timeline_after`) rather than listening to
//! this process: an entry written by another `tocsin serve` instance on the
//! same PostgreSQL, by the engine or by the CLI shows up the same way. The
//! page works without it; the script only saves a reload.
//!
//! Markup contract with the incident page (`templates/incident.html`): the
//! timeline is `<ol id="timeline" data-incident="N" data-after="LAST_ID">`,
//! always present (empty when there is nothing yet), oldest first, each
//! entry one `<li data-id="ID">` of `templates/incident_entry.html`; the
//! stream renders new entries with the same partial (`EntryItem`, with the
//! pin button when the reader may act), so an appended entry is what a
//! reload would show. `data-moments="1"` on the list (the key-moments
//! view) makes the script append only pinned entries and milestones. The
//! page loads `/static/live.js`.

use super::incidents::{EntryItem, TimelineItem};
use super::{SignedIn, UiError};
use crate::server::AppState;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tocsin_domain::access::Action;
use tocsin_store::Store;

/// How often a connection asks the store for new entries.
const POLL: Duration = Duration::from_millis(500);
/// A comment line this often when nothing happens, so proxies keep the
/// connection open and a dead client is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// A stream ends after this long and the browser reconnects (with
/// `Last-Event-ID`, so nothing is missed). It bounds how long a graceful
/// shutdown waits for open streams: the server has no way to tell a
/// stream it is stopping.
const LIFETIME: Duration = Duration::from_secs(30);
/// How long the browser waits before reconnecting.
const RETRY: Duration = Duration::from_secs(1);
/// Entries read per poll; more are sent on the next one.
const BATCH: u32 = 100;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/incidents/{number}/live", get(live))
        .route("/static/live.js", get(script))
}

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/live.js"),
    )
        .into_response()
}

/// The data of one `entry` event.
#[derive(Debug, Serialize)]
struct EntryData<'a> {
    id: i64,
    at: &'a str,
    kind: &'a str,
    actor: &'a str,
    via: &'a str,
    text: &'a str,
    pinned: bool,
    /// A moment the review lists without being pinned.
    milestone: bool,
    /// The `<li>`, as the incident page draws it.
    html: String,
}

/// What every entry of one connection is drawn with: the reader's pin
/// button, or none.
#[derive(Debug, Clone)]
struct Reader {
    incident: i64,
    csrf: String,
    can_act: bool,
}

fn entry_event(id: i64, item: TimelineItem, reader: &Reader) -> Event {
    let html = EntryItem {
        e: item.clone(),
        number: reader.incident,
        csrf: reader.csrf.clone(),
        can_act: reader.can_act,
    }
    .render()
    .unwrap_or_else(|err| {
        tracing::error!(error = %err, "timeline entry did not render");
        String::new()
    });
    let data = EntryData {
        id,
        at: &item.datetime,
        kind: &item.kind,
        actor: &item.who,
        via: &item.via,
        text: &item.text,
        pinned: item.pinned,
        milestone: item.milestone,
        html,
    };
    let json = serde_json::to_string(&data).unwrap_or_else(|_| "{}".into());
    Event::default()
        .event("entry")
        .id(id.to_string())
        .data(json)
}

#[derive(Debug, Default, Deserialize)]
pub struct LiveQuery {
    #[serde(default)]
    after: String,
}

/// Where to start: the browser's `Last-Event-ID` on a reconnect, else the
/// page's `after`, else the beginning.
fn start_after(headers: &HeaderMap, q: &LiveQuery) -> i64 {
    headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or_else(|| q.after.trim().parse::<i64>().ok())
        .unwrap_or(0)
        .max(0)
}

async fn live(
    State(state): State<AppState>,
    me: SignedIn,
    Path(number): Path<String>,
    Query(q): Query<LiveQuery>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let nav = me.nav("incidents");
    me.authorize(&Action::Read, &nav)?;
    let missing = || UiError::not_found(&nav, format!("there is no incident #{number}"));
    let n = number.parse::<i64>().map_err(|_| missing())?;
    state.store.get_incident(n).await?.ok_or_else(missing)?;
    let after = start_after(&headers, &q);
    // The same check as the page's: the pin button only for those who may
    // act on the incident.
    let can_act = tocsin_core::response::context(state.store.as_ref(), &me.principal, n)
        .await
        .is_ok();
    let reader = Reader {
        incident: n,
        csrf: me.session.csrf.clone(),
        can_act,
    };
    let events = entries(state.store.clone(), reader, after);
    let mut res = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Some proxies buffer a response unless told not to.
    res.headers_mut()
        .insert("x-accel-buffering", header::HeaderValue::from_static("no"));
    Ok(res)
}

/// Where a connection's stream is.
struct Tail {
    store: Arc<dyn Store>,
    reader: Reader,
    after: i64,
    /// Events read but not yet sent.
    queue: VecDeque<Event>,
    /// Polled at least once (the first poll is not delayed).
    started: bool,
    ends: tokio::time::Instant,
}

/// The events of one connection: first the reconnection delay, then every
/// entry after `after` as it is written, until [`LIFETIME`] is up or the
/// client goes away (the stream is then dropped mid-wait).
fn entries(
    store: Arc<dyn Store>,
    reader: Reader,
    after: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut queue = VecDeque::new();
    queue.push_back(Event::default().retry(RETRY).comment("live timeline"));
    let tail = Tail {
        store,
        reader,
        after,
        queue,
        started: false,
        ends: tokio::time::Instant::now() + LIFETIME,
    };
    stream::unfold(tail, |mut t| async move {
        loop {
            if let Some(e) = t.queue.pop_front() {
                return Some((Ok(e), t));
            }
            if t.started {
                if tokio::time::Instant::now() + POLL > t.ends {
                    return None;
                }
                tokio::time::sleep(POLL).await;
            }
            t.started = true;
            match poll(t.store.as_ref(), t.reader.incident, t.after).await {
                Ok(items) => {
                    for (id, item) in items {
                        t.after = id;
                        t.queue.push_back(entry_event(id, item, &t.reader));
                    }
                }
                Err(e) => {
                    // The browser reconnects and resumes from the last id.
                    tracing::warn!(error = %e, incident = t.reader.incident, "live timeline stopped");
                    return None;
                }
            }
        }
    })
}

/// The entries after `after`, oldest first, with their ids.
async fn poll(
    store: &dyn Store,
    incident: i64,
    after: i64,
) -> Result<Vec<(i64, TimelineItem)>, tocsin_store::StoreError> {
    let records = store.timeline_after(incident, after, BATCH).await?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let pinned = store.response(incident).await?.pinned;
    Ok(records
        .iter()
        .map(|r| (r.id, TimelineItem::entry(r, pinned.contains(&r.id))))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use serde_json::json;
    use tocsin_store::TimelineRecord;

    #[test]
    fn a_streamed_entry_is_the_pages_escaped_list_item() {
        let r = TimelineRecord {
            id: 42,
            incident: 8,
            at: "2026-03-02T10:05:30Z".parse::<Timestamp>().unwrap(),
            kind: "note".into(),
            actor: "bob".into(),
            detail: json!({"text": "<b>restarted</b> apache", "by": "bob", "via": "slack"}),
        };
        let e = EntryItem {
            e: TimelineItem::entry(&r, true),
            number: 8,
            csrf: "token".into(),
            can_act: true,
        }
        .render()
        .unwrap();
        assert!(e.starts_with("<li data-id=\"42\""), "{e}");
        assert!(e.contains("restarted") && e.contains("apache"), "{e}");
        assert!(!e.contains("<b>"), "{e}");
        assert!(e.contains("key moment"), "{e}");
    }

    #[test]
    fn a_reconnect_resumes_from_the_last_event_id() {
        let mut h = HeaderMap::new();
        let q = LiveQuery { after: "7".into() };
        assert_eq!(start_after(&h, &q), 7);
        h.insert("last-event-id", "12".parse().unwrap());
        assert_eq!(start_after(&h, &q), 12);
        assert_eq!(start_after(&HeaderMap::new(), &LiveQuery::default()), 0);
        let q = LiveQuery { after: "-3".into() };
        assert_eq!(start_after(&HeaderMap::new(), &q), 0);
    }
}
