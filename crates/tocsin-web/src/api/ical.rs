//! `GET /api/v1/users/{name}/oncall.ics`: a person's on-call shifts as an
//! iCalendar feed (RFC 5545), so on-call shows in their own calendar.
//! Calendar apps can only fetch a URL, so the token may come as `?token=`
//! (a read-scope token made for the feed; it is in the URL, so treat the
//! URL as a secret) as well as in the Authorization header.
//!
//! The feed covers the last 14 days and the next 90; each shift is one
//! event with a stable UID (schedule, user, start), so a refresh updates
//! events rather than duplicating them.

use crate::auth::Caller;
use crate::problem::Problem;
use crate::server::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;
use tocsin_core::oncall;
use tocsin_domain::Name;
use tocsin_domain::access::Action;
use tocsin_domain::oncall::Shift;
use utoipa::IntoParams;

const PAST_DAYS: i64 = 14;
const FUTURE_DAYS: i64 = 90;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    /// An API token, for calendar apps that cannot send headers.
    pub token: Option<String>,
}

/// A person's on-call shifts as an iCalendar feed.
#[utoipa::path(get, path = "/api/v1/users/{name}/oncall.ics", tag = "oncall",
    params(("name" = String, Path, description = "The user"), FeedParams),
    responses(
        (status = 200, content_type = "text/calendar", body = String),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn feed(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(p): Query<FeedParams>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let Some(secret) = bearer.or(p.token) else {
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unauthorized",
            "add ?token=<API token> to the feed URL (create a read token with `tocsin token create --scope read`)",
        ));
    };
    let caller = Caller::from_secret(&state, &secret).await?;
    caller.authorize(&Action::Read)?;
    let user = Name::parse(name.trim_end_matches(".ics"))
        .map_err(|_| Problem::not_found(format!("no user named {name:?}")))?;
    if state
        .store
        .get_object(tocsin_domain::catalog::Kind::User, &user)
        .await?
        .is_none()
    {
        return Err(Problem::not_found(format!(
            "no user named {:?}",
            user.as_str()
        )));
    }
    let now = state.clock.now();
    let from = now - SignedDuration::from_hours(24 * PAST_DAYS);
    let to = now + SignedDuration::from_hours(24 * FUTURE_DAYS);
    let shifts = oncall::user_shifts(state.store.as_ref(), &user, from, to)
        .await
        .map_err(|e| match e {
            oncall::OnCallError::Store(s) => s.into(),
            other => Problem::internal(&other),
        })?;
    let body = calendar(&user, &shifts, now);
    Ok((
        [
            (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        body,
    )
        .into_response())
}

/// The feed's text: CRLF line ends, lines folded at 75 octets.
pub fn calendar(user: &Name, shifts: &[(Name, Shift)], now: Timestamp) -> String {
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//tocsin//on-call//EN".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        "METHOD:PUBLISH".to_owned(),
        format!("X-WR-CALNAME:{}", text(&format!("On call: {user}"))),
    ];
    for (schedule, s) in shifts {
        lines.push("BEGIN:VEVENT".into());
        lines.push(format!(
            "UID:{}-{}-{}@tocsin",
            schedule,
            user,
            s.start.as_second()
        ));
        lines.push(format!("DTSTAMP:{}", utc(now)));
        lines.push(format!("DTSTART:{}", utc(s.start)));
        lines.push(format!("DTEND:{}", utc(s.end)));
        lines.push(format!("SUMMARY:{}", text(&format!("On call: {schedule}"))));
        lines.push(format!(
            "DESCRIPTION:{}",
            text(&format!("{user} is on call in schedule {schedule}."))
        ));
        lines.push("TRANSP:TRANSPARENT".into());
        lines.push("END:VEVENT".into());
    }
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for l in lines {
        fold(&l, &mut out);
    }
    out
}

fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT value escaping (RFC 5545 3.3.11).
fn text(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Folds a content line at 75 octets, never inside a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_folded_and_text_escaped() {
        let user = Name::parse("alice").unwrap();
        let schedule = Name::parse(&"a-long-schedule-name-".repeat(3)).unwrap();
        let start: Timestamp = "2026-03-02T08:00:00Z".parse().unwrap();
        let shift = Shift {
            start,
            end: start + SignedDuration::from_hours(24),
            users: vec![user.clone()],
        };
        let cal = calendar(&user, &[(schedule, shift)], start);
        assert!(cal.ends_with("END:VCALENDAR\r\n"));
        for line in cal.split("\r\n") {
            assert!(line.len() <= 75, "{line:?}");
        }
        assert!(cal.contains("DTSTART:20260302T080000Z\r\n"));
        assert!(cal.contains("DTEND:20260303T080000Z\r\n"));
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
