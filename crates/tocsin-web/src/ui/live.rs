//! The live incident timeline: `GET /incidents/{number}/live` streams each
//! timeline entry written, and each event ingested for the incident, after
//! those the page already shows, as server-sent events, and
//! `/static/live.js` adds them to the page.
//!
//! The stream polls the store rather than listening to this process: an
//! entry written or an event ingested by another `tocsin serve` instance
//! on the same PostgreSQL, by the engine or by the CLI shows up the same
//! way. The page works without it; the script only saves a reload.
//!
//! Two cursors, one stream: the last timeline entry id and the last event
//! id sent. The page gives them as `after` and `after_event`; every
//! `entry` event carries both as its SSE id, `ENTRY.EVENT` (`42.7`), so the
//! browser's `Last-Event-ID` resumes both on a reconnect. A plain integer
//! there (the older form) is the entry cursor, the event cursor then coming
//! from `after_event`.
//!
//! How often each is read: entries (`timeline_after`, by id) every
//! [`POLL`]. Events have no such query (`incident_events` reads up to
//! [`EVENT_LIMIT`] of them, oldest first, as the page does), so a
//! connection reads them only when something suggests there are new ones
//! — its first poll; the incident's record (`get_incident`: one row, read
//! every poll) changed, as a new alert, an acknowledgement or a resolution
//! by monitoring changes it; the poll brought new entries — and otherwise
//! every [`EVENTS_EVERY`], which catches what changes no record (an alert
//! triggering again, a change event). An event is thus never missed and
//! shows within [`EVENTS_EVERY`] at worst. What one poll found is sent
//! interleaved by time (an event before the entries of the same instant,
//! as on the page), each kind kept in id order so that the cursor of every
//! SSE event covers exactly what was sent before it.
//!
//! Markup contract with the incident page (`templates/incident.html`): the
//! timeline is `<ol id="timeline" data-incident="N" data-after="LAST_ID"
//! data-after-event="LAST_EVENT_ID">`, always present (empty when there is
//! nothing yet), oldest first, each entry one `<li data-id="ID">` and each
//! event one `<li data-event-id="ID" class="event">` of
//! `templates/incident_entry.html`; the stream renders new ones with the
//! same partial (`EntryItem`, with the pin button on entries when the
//! reader may act), so an added line is what a reload would show.
//! `data-moments="1"` on the list (the key-moments view) makes the script
//! add only pinned entries and milestones (never events, as on the page).
//! The page loads `/static/live.js`.

use super::incidents::{EVENT_LIMIT, EntryItem, TimelineItem};
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
use tocsin_store::{EventRecord, IncidentRecord, Store, StoreError, TimelineRecord};
use tokio::time::Instant;

/// How often a connection asks the store for new entries.
const POLL: Duration = Duration::from_millis(500);
/// How long a connection goes without reading the incident's events when
/// nothing suggested new ones (see the module's documentation).
const EVENTS_EVERY: Duration = Duration::from_secs(2);
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

/// The data of one `entry` event: a timeline entry (`id`) or an ingested
/// event (`event_id`, and `id` null).
#[derive(Debug, Serialize)]
struct EntryData<'a> {
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_id: Option<i64>,
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

/// What every line of one connection is drawn with: the reader's pin
/// button, or none.
#[derive(Debug, Clone)]
struct Reader {
    incident: i64,
    csrf: String,
    can_act: bool,
}

/// How far a connection has sent: the last timeline entry id and the last
/// event id (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Cursor {
    entry: i64,
    event: i64,
}

impl Cursor {
    /// After sending `item`.
    fn past(self, item: &TimelineItem) -> Cursor {
        Cursor {
            entry: item.id.map_or(self.entry, |id| id.max(self.entry)),
            event: item.event_id.map_or(self.event, |id| id.max(self.event)),
        }
    }

    /// The SSE id: `ENTRY.EVENT`.
    fn sse_id(self) -> String {
        format!("{}.{}", self.entry, self.event)
    }
}

/// The data of `item`'s `entry` event, JSON.
fn entry_json(item: &TimelineItem, reader: &Reader) -> String {
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
        id: item.id,
        event_id: item.event_id,
        at: &item.datetime,
        kind: &item.kind,
        actor: &item.who,
        via: &item.via,
        text: &item.text,
        pinned: item.pinned,
        milestone: item.milestone,
        html,
    };
    serde_json::to_string(&data).unwrap_or_else(|_| "{}".into())
}

/// `item` as an SSE `entry` event; `cursor` includes it.
fn entry_event(item: &TimelineItem, reader: &Reader, cursor: Cursor) -> Event {
    Event::default()
        .event("entry")
        .id(cursor.sse_id())
        .data(entry_json(item, reader))
}

#[derive(Debug, Default, Deserialize)]
pub struct LiveQuery {
    /// The last timeline entry id the page shows.
    #[serde(default)]
    after: String,
    /// The last event id the page shows.
    #[serde(default)]
    after_event: String,
}

fn id_of(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok().map(|n| n.max(0))
}

/// Where to start: the browser's `Last-Event-ID` on a reconnect (`E.V`,
/// or a plain entry id), else the page's `after` and `after_event`, else
/// the beginning.
fn start_after(headers: &HeaderMap, q: &LiveQuery) -> Cursor {
    let after_event = id_of(&q.after_event).unwrap_or(0);
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| match v.trim().split_once('.') {
            Some((entry, event)) => Some(Cursor {
                entry: id_of(entry)?,
                event: id_of(event)?,
            }),
            None => Some(Cursor {
                entry: id_of(v)?,
                event: after_event,
            }),
        });
    last.unwrap_or(Cursor {
        entry: id_of(&q.after).unwrap_or(0),
        event: after_event,
    })
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
    after: Cursor,
    /// The incident as last read: a change is a reason to read its events.
    incident: Option<IncidentRecord>,
    /// When its events were last read (`None`: not yet).
    events_read: Option<Instant>,
    /// Events read but not yet sent.
    queue: VecDeque<Event>,
    /// Polled at least once (the first poll is not delayed).
    started: bool,
    ends: Instant,
}

impl Tail {
    /// Reads what came after the cursor and queues it, interleaved by time.
    async fn poll(&mut self) -> Result<(), StoreError> {
        let store = self.store.as_ref();
        let n = self.reader.incident;
        let records = store.timeline_after(n, self.after.entry, BATCH).await?;
        // Read before the events: whatever changes the record after this is
        // seen changed on the next poll.
        let incident = store.get_incident(n).await?;
        let now = Instant::now();
        let due = !records.is_empty()
            || incident != self.incident
            || self
                .events_read
                .is_none_or(|at| now.duration_since(at) >= EVENTS_EVERY);
        self.incident = incident;
        let mut events = Vec::new();
        if due {
            self.events_read = Some(now);
            events = store.incident_events(n, EVENT_LIMIT).await?;
            events.retain(|e| e.id > self.after.event);
            events.sort_by_key(|e| e.id);
        }
        let pinned = if records.is_empty() {
            Vec::new()
        } else {
            store.response(n).await?.pinned
        };
        for item in interleave(&events, &records, &pinned) {
            self.after = self.after.past(&item);
            self.queue
                .push_back(entry_event(&item, &self.reader, self.after));
        }
        Ok(())
    }
}

/// Events and entries, each in id order, merged by time; at the same
/// instant an event comes before the entries it caused. Unlike sorting,
/// merging keeps each kind in id order even when clocks disagree, so a
/// cursor never passes a line not yet sent.
fn interleave(
    events: &[EventRecord],
    entries: &[TimelineRecord],
    pinned: &[i64],
) -> Vec<TimelineItem> {
    let mut out = Vec::with_capacity(events.len() + entries.len());
    let (mut ev, mut en) = (events.iter().peekable(), entries.iter().peekable());
    loop {
        let take_event = match (ev.peek(), en.peek()) {
            (Some(e), Some(r)) => e.received_at <= r.at,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => return out,
        };
        if take_event {
            if let Some(e) = ev.next() {
                out.push(TimelineItem::event(e));
            }
        } else if let Some(r) = en.next() {
            out.push(TimelineItem::entry(r, pinned.contains(&r.id)));
        }
    }
}

/// The events of one connection: first the reconnection delay, then every
/// entry and event after `after` as it comes, until [`LIFETIME`] is up or
/// the client goes away (the stream is then dropped mid-wait).
fn entries(
    store: Arc<dyn Store>,
    reader: Reader,
    after: Cursor,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let mut queue = VecDeque::new();
    queue.push_back(Event::default().retry(RETRY).comment("live timeline"));
    let tail = Tail {
        store,
        reader,
        after,
        incident: None,
        events_read: None,
        queue,
        started: false,
        ends: Instant::now() + LIFETIME,
    };
    stream::unfold(tail, |mut t| async move {
        loop {
            if let Some(e) = t.queue.pop_front() {
                return Some((Ok(e), t));
            }
            if t.started {
                if Instant::now() + POLL > t.ends {
                    return None;
                }
                tokio::time::sleep(POLL).await;
            }
            t.started = true;
            if let Err(e) = t.poll().await {
                // The browser reconnects and resumes from the last id.
                tracing::warn!(error = %e, incident = t.reader.incident, "live timeline stopped");
                return None;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;
    use serde_json::json;
    use tocsin_domain::Name;

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

    fn event(id: i64, at: &str) -> EventRecord {
        EventRecord {
            id,
            received_at: at.parse::<Timestamp>().unwrap(),
            integration: Name::parse("grafana").unwrap(),
            service: Name::parse("checkout").unwrap(),
            event: serde_json::from_value(json!({
                "action": "trigger",
                "dedup_key": "d1",
                "summary": "<b>Disk</b> full",
                "severity": "sev2",
            }))
            .unwrap(),
            alert_id: Some(3),
            incident: Some(8),
        }
    }

    fn note(id: i64, at: &str) -> TimelineRecord {
        TimelineRecord {
            id,
            incident: 8,
            at: at.parse::<Timestamp>().unwrap(),
            kind: "note".into(),
            actor: "bob".into(),
            detail: json!({"text": "looking", "by": "bob"}),
        }
    }

    #[test]
    fn a_streamed_event_is_the_pages_escaped_list_item_with_both_cursors() {
        let reader = Reader {
            incident: 8,
            csrf: "token".into(),
            can_act: true,
        };
        let item = TimelineItem::event(&event(7, "2026-03-02T10:05:30Z"));
        let data: serde_json::Value = serde_json::from_str(&entry_json(&item, &reader)).unwrap();
        assert_eq!(data["id"], serde_json::Value::Null);
        assert_eq!(data["event_id"], 7);
        assert_eq!(data["kind"], "event.triggered");
        assert_eq!(data["via"], "integration");
        assert_eq!(data["pinned"], false);
        let html = data["html"].as_str().unwrap();
        // The page's own partial, as it draws this event.
        let page = EntryItem {
            e: item.clone(),
            number: 8,
            csrf: "token".into(),
            can_act: true,
        }
        .render()
        .unwrap();
        assert_eq!(html, page);
        assert!(html.starts_with("<li data-event-id=\"7\""), "{html}");
        assert!(html.contains("class=\"event\""), "{html}");
        assert!(!html.contains("<b>") && !html.contains("/pins"), "{html}");
        let cursor = Cursor {
            entry: 42,
            event: 3,
        }
        .past(&item);
        assert_eq!(
            cursor,
            Cursor {
                entry: 42,
                event: 7
            }
        );
        assert_eq!(cursor.sse_id(), "42.7");
        // An entry's JSON has no `event_id`.
        let entry = TimelineItem::entry(&note(43, "2026-03-02T10:06:00Z"), false);
        let data: serde_json::Value = serde_json::from_str(&entry_json(&entry, &reader)).unwrap();
        assert_eq!(data["id"], 43);
        assert!(data.get("event_id").is_none(), "{data}");
        assert_eq!(cursor.past(&entry).sse_id(), "43.7");
    }

    #[test]
    fn events_and_entries_interleave_by_time_each_in_id_order() {
        let events = [
            event(5, "2026-03-02T10:01:00Z"),
            event(6, "2026-03-02T10:03:00Z"),
        ];
        // Entry 11 was written by a host whose clock runs behind.
        let entries = [
            note(10, "2026-03-02T10:03:00Z"),
            note(11, "2026-03-02T10:00:30Z"),
            note(12, "2026-03-02T10:04:00Z"),
        ];
        let order: Vec<(Option<i64>, Option<i64>)> = interleave(&events, &entries, &[12])
            .iter()
            .map(|i| (i.id, i.event_id))
            .collect();
        assert_eq!(
            order,
            [
                (None, Some(5)),
                (None, Some(6)),
                (Some(10), None),
                (Some(11), None),
                (Some(12), None),
            ]
        );
        assert!(interleave(&[], &entries, &[12])[2].pinned);
    }

    #[test]
    fn a_reconnect_resumes_from_the_last_event_id() {
        let c = |entry, event| Cursor { entry, event };
        let mut h = HeaderMap::new();
        let q = LiveQuery {
            after: "7".into(),
            after_event: "4".into(),
        };
        assert_eq!(start_after(&h, &q), c(7, 4));
        h.insert("last-event-id", "12.9".parse().unwrap());
        assert_eq!(start_after(&h, &q), c(12, 9));
        // The older form: the entry cursor only.
        h.insert("last-event-id", "12".parse().unwrap());
        assert_eq!(start_after(&h, &q), c(12, 4));
        // Not a cursor: the page's.
        h.insert("last-event-id", "12.x".parse().unwrap());
        assert_eq!(start_after(&h, &q), c(7, 4));
        assert_eq!(
            start_after(&HeaderMap::new(), &LiveQuery::default()),
            c(0, 0)
        );
        let q = LiveQuery {
            after: "-3".into(),
            after_event: "-1".into(),
        };
        assert_eq!(start_after(&HeaderMap::new(), &q), c(0, 0));
    }
}
