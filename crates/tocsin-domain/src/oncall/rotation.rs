//! One rotation layer in time: its turns (turn k goes to participant
//! k mod n, boundaries in civil or exact time), its restriction windows, and
//! the spans where it has someone. The rules are spelled out in the module
//! documentation of [`crate::oncall`].

use crate::Name;
use crate::catalog::{Layer, Restriction};
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};

/// The shortest turn accepted: an hour. Shorter rotations are never meant
/// (`1m` is a minute in jiff's spans, not a month: a typo would otherwise
/// hand the pager over every minute).
const MIN_TURN_NANOS: i128 = 3_600 * 1_000_000_000;

/// Rough lengths used only to estimate a turn index; the estimate is then
/// corrected against the real boundaries, so these need not be exact.
const YEAR_SECS: i64 = 31_556_952; // 365.2425 days
const MONTH_SECS: i64 = 2_629_746; // a twelfth of that
const WEEK_SECS: i64 = 604_800;
const DAY_SECS: i64 = 86_400;

/// How boundaries follow each other.
#[derive(Debug, Clone)]
enum Turn {
    /// Only hours and smaller units: boundary k is turn 0 plus k times this
    /// many nanoseconds of real time.
    Exact(i128),
    /// Days or larger units: boundary k is turn 0's local time plus k times
    /// the span, in the civil calendar of the layer's zone. `approx_secs`
    /// is the span's rough length, for estimating.
    Civil { span: Span, approx_secs: i64 },
}

/// A restriction ready to place on a day.
#[derive(Debug, Clone)]
struct Window {
    /// Indexed by `Weekday::to_monday_zero_offset`.
    days: [bool; 7],
    from: Time,
    to: Time,
}

/// A layer's turn or part of it where the layer has someone: `who` indexes
/// the participants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    pub start: Timestamp,
    pub end: Timestamp,
    pub who: usize,
}

/// A compiled layer.
#[derive(Debug, Clone)]
pub(crate) struct Rotation {
    pub name: Name,
    pub participants: Vec<Name>,
    time_zone: TimeZone,
    turn: Turn,
    /// Turn 0's start as written: the start date at the hand-off time.
    local_start: DateTime,
    /// Turn 0's start in time (the local start placed in the zone).
    first: Timestamp,
    /// Empty: the layer covers all the time from turn 0 on.
    windows: Vec<Window>,
}

impl Rotation {
    /// Reads a declared layer; `zone` is the schedule's, used when the layer
    /// names none. The error starts with the field's name within the layer.
    pub fn compile(l: &Layer, zone: &TimeZone) -> Result<Rotation, String> {
        if l.participants.is_empty() {
            return Err("participants: a layer needs at least one participant".to_owned());
        }
        let time_zone = match &l.time_zone {
            None => zone.clone(),
            Some(tz) => TimeZone::get(tz)
                .map_err(|_| format!("time_zone: {tz:?} is not a known IANA time zone"))?,
        };
        let turn = parse_turn(&l.turn).map_err(|e| format!("turn: {e}"))?;
        let handoff = parse_clock(&l.handoff).map_err(|e| format!("handoff: {e}"))?;
        let date = match l.start.parse::<Date>() {
            Ok(d) if l.start.len() == 10 => d,
            _ => return Err(format!("start: {:?} is not a date (YYYY-MM-DD)", l.start)),
        };
        let local_start = date.to_datetime(handoff);
        let first = time_zone
            .to_timestamp(local_start)
            .map_err(|e| format!("start: cannot be placed in the time zone: {e}"))?;
        let windows = l
            .restrictions
            .iter()
            .enumerate()
            .map(|(j, r)| parse_window(r).map_err(|e| format!("restrictions[{j}].{e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rotation {
            name: l.name.clone(),
            participants: l.participants.clone(),
            time_zone,
            turn,
            local_start,
            first,
            windows,
        })
    }

    /// The participant whose turn k is.
    fn who(&self, k: i64) -> usize {
        // n >= 1 (checked at compile) and fits an i64.
        let n = i64::try_from(self.participants.len()).unwrap_or(i64::MAX);
        usize::try_from(k.rem_euclid(n)).unwrap_or(0)
    }

    /// Where turn k starts (k >= 0); `None` beyond what jiff represents.
    fn boundary(&self, k: i64) -> Option<Timestamp> {
        if k == 0 {
            return Some(self.first);
        }
        match &self.turn {
            Turn::Exact(nanos) => {
                let at = self
                    .first
                    .as_nanosecond()
                    .checked_add(nanos.checked_mul(i128::from(k))?)?;
                Timestamp::from_nanosecond(at).ok()
            }
            Turn::Civil { span, .. } => {
                let local = self
                    .local_start
                    .checked_add(span.checked_mul(k).ok()?)
                    .ok()?;
                self.time_zone.to_timestamp(local).ok()
            }
        }
    }

    /// Roughly how many turns fit between turn 0 and t.
    fn estimate(&self, t: Timestamp) -> i64 {
        let elapsed = t.duration_since(self.first);
        match &self.turn {
            Turn::Exact(nanos) => {
                let k = elapsed.as_nanos().div_euclid(*nanos);
                i64::try_from(k).unwrap_or(i64::MAX)
            }
            Turn::Civil { approx_secs, .. } => elapsed.as_secs().div_euclid(*approx_secs),
        }
    }

    /// The turn running at t (t at or after turn 0): its index and start.
    /// The index is estimated from the elapsed time and corrected against
    /// the real boundaries (DST moves a civil boundary by an hour or so, a
    /// month's length differs from the average by a few days: a step or
    /// two), so the cost does not grow with the distance from turn 0.
    fn turn_at(&self, t: Timestamp) -> (i64, Timestamp) {
        let mut k = self.estimate(t).max(0);
        let mut start = loop {
            match self.boundary(k) {
                Some(b) if b <= t => break b,
                _ if k <= 0 => return (0, self.first),
                _ => k -= 1,
            }
        };
        while let Some(next) = k.checked_add(1).and_then(|n| self.boundary(n))
            && next <= t
        {
            k += 1;
            start = next;
        }
        (k, start)
    }

    /// A restriction's window starting on the local date `d`, if `d` is one
    /// of its days and the window is not empty once placed in time.
    fn window_on(&self, w: &Window, d: Date) -> Option<(Timestamp, Timestamp)> {
        if !w.days[usize::try_from(d.weekday().to_monday_zero_offset()).unwrap_or(0)] {
            return None;
        }
        let end_date = if w.to < w.from { d.tomorrow().ok()? } else { d };
        let start = self.time_zone.to_timestamp(d.to_datetime(w.from)).ok()?;
        let end = self
            .time_zone
            .to_timestamp(end_date.to_datetime(w.to))
            .ok()?;
        (start < end).then_some((start, end))
    }

    /// The local dates whose windows can touch [a, b): a window lasts less
    /// than a civil day plus a DST shift, so two days of margin before and
    /// one after are plenty.
    fn dates_around(&self, a: Timestamp, b: Timestamp) -> impl Iterator<Item = Date> {
        let first = add_days(self.time_zone.to_datetime(a).date(), -2);
        let last = add_days(self.time_zone.to_datetime(b).date(), 1);
        std::iter::successors(Some(first), |d| d.tomorrow().ok()).take_while(move |d| *d <= last)
    }

    /// Whether the layer's restrictions let it have someone at t.
    fn covers(&self, t: Timestamp) -> bool {
        self.windows.is_empty()
            || self.dates_around(t, t).any(|d| {
                self.windows
                    .iter()
                    .filter_map(|w| self.window_on(w, d))
                    .any(|(s, e)| s <= t && t < e)
            })
    }

    /// The union of the restriction windows touching [a, b), sorted and
    /// merged (not clipped).
    fn windows_between(&self, a: Timestamp, b: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        let mut all: Vec<(Timestamp, Timestamp)> = self
            .dates_around(a, b)
            .flat_map(|d| {
                self.windows
                    .iter()
                    .filter_map(move |w| self.window_on(w, d))
            })
            .filter(|(s, e)| *e > a && *s < b)
            .collect();
        all.sort();
        let mut merged: Vec<(Timestamp, Timestamp)> = Vec::with_capacity(all.len());
        for (s, e) in all {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    /// Who has the layer at t: nobody before turn 0 or outside its windows.
    pub fn at(&self, t: Timestamp) -> Option<&Name> {
        if t < self.first || !self.covers(t) {
            return None;
        }
        let (k, _) = self.turn_at(t);
        self.participants.get(self.who(k))
    }

    /// The spans of [from, to) where the layer has someone, sorted, with
    /// neighbours holding the same person merged.
    pub fn segments(&self, from: Timestamp, to: Timestamp) -> Vec<Segment> {
        let from = from.max(self.first);
        if from >= to {
            return Vec::new();
        }
        let mut turns = Vec::new();
        let (mut k, mut start) = self.turn_at(from);
        loop {
            let next = k.checked_add(1).and_then(|n| self.boundary(n));
            let end = next.map_or(to, |n| n.min(to));
            let s = start.max(from);
            if s < end {
                turns.push(Segment {
                    start: s,
                    end,
                    who: self.who(k),
                });
            }
            match next {
                Some(n) if n < to => {
                    k += 1;
                    start = n;
                }
                _ => break,
            }
        }
        let pieces = if self.windows.is_empty() {
            turns
        } else {
            intersect(&turns, &self.windows_between(from, to))
        };
        let mut merged: Vec<Segment> = Vec::with_capacity(pieces.len());
        for p in pieces {
            match merged.last_mut() {
                Some(last)
                    if last.end == p.start
                        && self.participants[last.who] == self.participants[p.who] =>
                {
                    last.end = p.end;
                }
                _ => merged.push(p),
            }
        }
        merged
    }
}

/// The parts of the turns inside the windows (both sorted, each without
/// overlaps).
fn intersect(turns: &[Segment], windows: &[(Timestamp, Timestamp)]) -> Vec<Segment> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while let (Some(t), Some(&(ws, we))) = (turns.get(i), windows.get(j)) {
        let start = t.start.max(ws);
        let end = t.end.min(we);
        if start < end {
            out.push(Segment {
                start,
                end,
                who: t.who,
            });
        }
        if t.end <= we {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// `d` plus n days, or `d` itself at the edge of the calendar.
fn add_days(d: Date, n: i64) -> Date {
    d.checked_add(Span::new().days(n)).unwrap_or(d)
}

/// `turn`: a positive span; calendar units (days and up) make it civil,
/// otherwise exact. At least an hour.
fn parse_turn(s: &str) -> Result<Turn, String> {
    let span = match s.parse::<Span>() {
        Ok(span) if span.is_positive() => span,
        Ok(_) => return Err("must be longer than zero".to_owned()),
        Err(_) => return Err(format!("{s:?} is not a span; write e.g. 1d, 1w, 12h")),
    };
    let calendar = span.get_years() != 0
        || span.get_months() != 0
        || span.get_weeks() != 0
        || span.get_days() != 0;
    if calendar {
        let approx_secs = i64::from(span.get_years()) * YEAR_SECS
            + i64::from(span.get_months()) * MONTH_SECS
            + i64::from(span.get_weeks()) * WEEK_SECS
            + i64::from(span.get_days()) * DAY_SECS
            + i64::from(span.get_hours()) * 3_600
            + span.get_minutes() * 60
            + span.get_seconds();
        return Ok(Turn::Civil {
            span,
            approx_secs: approx_secs.max(1),
        });
    }
    let nanos = SignedDuration::try_from(span)
        .map_err(|e| format!("{s:?} has no fixed length: {e}"))?
        .as_nanos();
    if nanos < MIN_TURN_NANOS {
        return Err(format!(
            "{s:?} is shorter than an hour (a month is written 1mo, a minute 1m)"
        ));
    }
    Ok(Turn::Exact(nanos))
}

/// `HH:MM`.
pub(crate) fn parse_clock(s: &str) -> Result<Time, String> {
    match s.parse::<Time>() {
        Ok(t) if s.len() == 5 => Ok(t),
        _ => Err(format!("{s:?} is not a time of day (HH:MM)")),
    }
}

const DAY_NAMES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// A restriction; the error starts with the field's name within it.
fn parse_window(r: &Restriction) -> Result<Window, String> {
    let mut days = [r.days.is_empty(); 7];
    for (k, d) in r.days.iter().enumerate() {
        let Some((_, day)) = DAY_NAMES.iter().find(|(name, _)| name == d) else {
            return Err(format!(
                "days[{k}]: {d:?} is not a day; use one of mon, tue, wed, thu, fri, sat, sun"
            ));
        };
        days[usize::try_from(day.to_monday_zero_offset()).unwrap_or(0)] = true;
    }
    let from = parse_clock(&r.from).map_err(|e| format!("from: {e}"))?;
    let to = parse_clock(&r.to).map_err(|e| format!("to: {e}"))?;
    if from == to {
        return Err("to: an empty window: from and to are the same".to_owned());
    }
    Ok(Window { days, from, to })
}
