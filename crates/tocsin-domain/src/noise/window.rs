//! Maintenance windows as occurrences in time: the first start, then the
//! same local time every day, week or month in the window's zone, each
//! occurrence lasting the same exact duration. The rules are spelled out in
//! the module documentation of [`crate::noise`].

use crate::Name;
use crate::catalog::{MaintenanceWindow, Repeat};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp};

/// A maintenance window ready to ask "is it on at t".
#[derive(Debug, Clone)]
pub struct WindowRule {
    pub name: Name,
    pub services: Vec<Name>,
    /// Start of the first occurrence.
    pub first: Timestamp,
    /// How long every occurrence lasts, in exact time.
    pub duration: SignedDuration,
    /// The zone whose civil calendar the recurrence follows.
    pub time_zone: TimeZone,
    pub repeat: Repeat,
    /// No occurrence starts after this instant (inclusive).
    pub until: Option<Timestamp>,
    /// The first start as a local (civil) time in `time_zone`, as written:
    /// occurrence k is this plus k days, weeks or months.
    local_start: DateTime,
}

const DAY_SECS: i64 = 86_400;
const WEEK_SECS: i64 = 7 * DAY_SECS;

impl WindowRule {
    /// Reads a declared window; the error is the first thing wrong with it
    /// (the catalog check reports them all, with field paths).
    pub fn compile(w: &MaintenanceWindow) -> Result<WindowRule, String> {
        let time_zone = match &w.time_zone {
            None => TimeZone::UTC,
            Some(tz) => TimeZone::get(tz)
                .map_err(|_| format!("time_zone: {tz:?} is not a known IANA time zone"))?,
        };
        let (first, local_start) =
            parse_start(&w.starts_at, &time_zone).map_err(|e| format!("starts_at: {e}"))?;
        let duration = parse_duration(&w.duration).map_err(|e| format!("duration: {e}"))?;
        overlap(duration, w.repeat).map_err(|e| format!("duration: {e}"))?;
        let until = match &w.until {
            None => None,
            Some(u) => {
                let until = parse_until(u, &time_zone).map_err(|e| format!("until: {e}"))?;
                if until < first {
                    return Err(format!("until: {UNTIL_BEFORE_START}"));
                }
                Some(until)
            }
        };
        Ok(WindowRule {
            name: w.name.clone(),
            services: w.services.clone(),
            first,
            duration,
            time_zone,
            repeat: w.repeat,
            until,
            local_start,
        })
    }

    pub fn covers(&self, service: &Name) -> bool {
        self.services.contains(service)
    }

    /// The occurrence (start, end) that contains t (start <= t < end), if
    /// any. Where two occurrences overlap (a DST change can make a window
    /// as long as its period overlap the next one), the later one.
    pub fn occurrence_at(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let bound = match self.until {
            Some(u) if u < t => u,
            _ => t,
        };
        let (_, start) = self.last_start_at_or_before(bound)?;
        let end = start.checked_add(self.duration).ok()?;
        (t < end).then_some((start, end))
    }

    /// The first occurrence that starts after t (strictly), for "upcoming"
    /// lists.
    pub fn next_after(&self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let k = match self.last_start_at_or_before(t) {
            None => 0,
            Some((k, _)) => k.checked_add(1)?,
        };
        let start = self.start(k)?;
        if self.until.is_some_and(|u| start > u) {
            return None;
        }
        Some((start, start.checked_add(self.duration).ok()?))
    }

    /// The start of occurrence k (0 = the first), ignoring `until`; `None`
    /// when there is no such occurrence or it is beyond what jiff can
    /// represent.
    pub fn start(&self, k: i64) -> Option<Timestamp> {
        if k == 0 {
            return Some(self.first);
        }
        if k < 0 {
            return None;
        }
        let step = match self.repeat {
            Repeat::None => return None,
            Repeat::Daily => Span::new().try_days(k).ok()?,
            Repeat::Weekly => Span::new().try_weeks(k).ok()?,
            Repeat::Monthly => Span::new().try_months(k).ok()?,
        };
        let local = self.local_start.checked_add(step).ok()?;
        self.time_zone.to_timestamp(local).ok()
    }

    /// The last occurrence starting at or before t, ignoring `until`: its
    /// index and start. It starts from an estimate of the index computed
    /// from the elapsed time and corrects it by a step or two (DST moves a
    /// start by an hour or so, never by a whole period), so the cost does
    /// not grow with the distance from the first occurrence.
    fn last_start_at_or_before(&self, t: Timestamp) -> Option<(i64, Timestamp)> {
        if t < self.first {
            return None;
        }
        let mut k = self.estimate(t).max(0);
        // Down while occurrence k starts after t (or cannot be computed).
        let mut start = loop {
            match self.start(k) {
                Some(s) if s <= t => break s,
                _ if k == 0 => return Some((0, self.first)),
                _ => k -= 1,
            }
        };
        // Up while the next one still starts at or before t.
        while let Some(next) = k.checked_add(1).and_then(|n| self.start(n))
            && next <= t
        {
            k += 1;
            start = next;
        }
        Some((k, start))
    }

    /// Roughly how many periods fit between the first start and t.
    fn estimate(&self, t: Timestamp) -> i64 {
        let elapsed = t.duration_since(self.first).as_secs();
        match self.repeat {
            Repeat::None => 0,
            Repeat::Daily => elapsed.div_euclid(DAY_SECS),
            Repeat::Weekly => elapsed.div_euclid(WEEK_SECS),
            Repeat::Monthly => {
                let local = self.time_zone.to_datetime(t);
                let years = i64::from(local.year()) - i64::from(self.local_start.year());
                let months = i64::from(local.month()) - i64::from(self.local_start.month());
                years * 12 + months
            }
        }
    }
}

pub(crate) const UNTIL_BEFORE_START: &str = "is before the first occurrence starts (starts_at)";

/// `starts_at`: an RFC 3339 instant, or a civil date and time in the zone
/// (a time in a DST gap resolves to the time after the gap, a time in a
/// fold to its first occurrence). Returns the instant and the local time
/// the recurrence repeats.
pub(crate) fn parse_start(s: &str, tz: &TimeZone) -> Result<(Timestamp, DateTime), String> {
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok((ts, tz.to_datetime(ts)));
    }
    // A date alone parses as a civil datetime too; a window needs a time.
    if s.len() > 10
        && let Ok(dt) = s.parse::<DateTime>()
    {
        let ts = tz
            .to_timestamp(dt)
            .map_err(|e| format!("{s:?} cannot be placed in the time zone: {e}"))?;
        return Ok((ts, dt));
    }
    Err(format!(
        "{s:?} is not a local date and time (YYYY-MM-DDTHH:MM) or an RFC 3339 instant"
    ))
}

/// `duration`: a positive span of exact time (days and weeks count as 24h
/// and 7×24h; months and years have no fixed length).
pub(crate) fn parse_duration(s: &str) -> Result<SignedDuration, String> {
    match s.parse::<Span>() {
        Ok(span) if span.is_positive() => span
            .to_duration(SpanRelativeTo::days_are_24_hours())
            .map_err(|_| {
                format!("{s:?} has no fixed length; use units up to weeks, e.g. 2h, 90m, 1d")
            }),
        Ok(_) => Err("must be longer than zero".to_owned()),
        Err(_) => Err(format!("{s:?} is not a span; write e.g. 1d, 1w, 12h")),
    }
}

/// The shortest time between two starts, and its words.
fn period(repeat: Repeat) -> Option<(SignedDuration, &'static str)> {
    match repeat {
        Repeat::None => None,
        Repeat::Daily => Some((SignedDuration::from_secs(DAY_SECS), "a day")),
        Repeat::Weekly => Some((SignedDuration::from_secs(WEEK_SECS), "a week")),
        Repeat::Monthly => Some((
            SignedDuration::from_secs(28 * DAY_SECS),
            "28 days, the shortest month",
        )),
    }
}

/// An occurrence must end before the next one starts.
pub(crate) fn overlap(duration: SignedDuration, repeat: Repeat) -> Result<(), String> {
    match period(repeat) {
        Some((p, words)) if duration > p => Err(format!(
            "lasts longer than the repeat period ({words}): occurrences would overlap"
        )),
        _ => Ok(()),
    }
}

/// `until`: an RFC 3339 instant, or a local date (inclusive: occurrences
/// starting that day still happen). Returns the last instant an occurrence
/// may start.
pub(crate) fn parse_until(s: &str, tz: &TimeZone) -> Result<Timestamp, String> {
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts);
    }
    let bad = || format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant");
    if s.len() != 10 {
        return Err(bad());
    }
    let date = s.parse::<Date>().map_err(|_| bad())?;
    let next_day = date
        .tomorrow()
        .map_err(|_| bad())?
        .to_datetime(Time::midnight());
    tz.to_timestamp(next_day)
        .and_then(|t| t.checked_sub(SignedDuration::from_nanos(1)))
        .map_err(|_| bad())
}
