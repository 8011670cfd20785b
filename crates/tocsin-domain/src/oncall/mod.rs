//! On-call schedules in time: the rotation math that turns a declared
//! [`Schedule`](crate::catalog::Schedule) into who is on call when. Pure:
//! time is an argument, nothing here reads a clock or a store. Users read
//! the same rules, with worked examples, in `docs/schedules.md`.
//!
//! [`ScheduleRule::compile`] reads a schedule (the first thing wrong is the
//! error; the catalog check reports them all). Then
//! [`ScheduleRule::on_call_at`] answers for one instant,
//! [`ScheduleRule::final_shifts`] for a range, [`ScheduleRule::layer_shifts`]
//! for one layer alone (for drawing), [`ScheduleRule::gaps`] lists the
//! spans with nobody, [`ScheduleRule::next_change`] the next hand-over and
//! [`ScheduleRule::temporary_periods`] the temporary periods.
//!
//! # Turns
//!
//! - A layer's turn k (k = 0, 1, 2, …) goes to `participants[k % n]`. A
//!   name may appear twice in the list; neighbouring turns of the same
//!   person read as one shift.
//! - Turn 0 starts on the layer's `start` date at its `handoff` time in the
//!   layer's zone (its own `time_zone`, else the schedule's). Before turn 0
//!   the layer has nobody.
//! - A `turn` with a calendar unit (days, weeks, months, years; alone or
//!   mixed, as in `1d12h`) is civil: boundary k is turn 0's local date and
//!   time plus k × `turn` on the calendar of the layer's zone, computed from
//!   turn 0 every time (never from the previous boundary). A daily 09:00
//!   hand-off stays at 09:00 local across DST, so the turn over the change
//!   lasts 23 or 25 real hours. Months add calendar months from turn 0 and
//!   clamp to the month's last day: a monthly turn starting January 31st
//!   hands over on February 28th (29th), March 31st, April 30th.
//! - A `turn` of hours, minutes and seconds only is exact: boundary k is
//!   turn 0 plus k × `turn` of real time. A 12h rotation stays 12 real
//!   hours across DST; its local hand-off time moves by the DST shift. So
//!   `24h` and `1d` differ across a change; `1d` is what people usually
//!   mean.
//! - A local time that falls in a DST gap resolves to the time after the
//!   gap, shifted by the gap's length (jiff's "compatible" rule): in
//!   Europe/Berlin, 02:30 on 2026-03-29 (spring forward, 02:00 CET → 03:00
//!   CEST) is 03:30 CEST. One in a fold takes the earlier of the two
//!   instants: 02:30 on 2026-10-25 (autumn, 03:00 CEST → 02:00 CET) is 02:30
//!   CEST (00:30Z), not 02:30 CET. The same rule places turn 0, every civil
//!   boundary and every restriction edge.
//! - A turn is at least an hour long (`1m` is a minute in jiff's spans, a
//!   month is `1mo`; a shorter turn is refused as a likely typo).
//!
//! # Restrictions
//!
//! - A layer without restrictions covers all the time from its turn 0 on.
//!   A layer with restrictions covers only the union of its windows.
//! - Each restriction is, on each listed day (every day if `days` is
//!   empty), the local span from `from` to `to` in the layer's zone, `from`
//!   included, `to` excluded. A `to` earlier than `from` ends on the next
//!   day (22:00–06:00 on `fri` is Friday 22:00 to Saturday 06:00); `to`
//!   equal to `from` is refused. The edges follow the DST rule above; a
//!   window that comes out empty once placed (02:30–03:10 on the
//!   spring-forward day is 03:30–03:10 CEST) is empty that day.
//! - Windows that overlap or touch are one span.
//! - Inside a window, the person is whoever's turn it is at that instant:
//!   restrictions cut turns, they do not shift them.
//!
//! # Layers and overrides
//!
//! - A later layer in the list wins where it has someone. Where it has
//!   nobody (before its turn 0, or outside its windows), the next earlier
//!   layer with someone applies; where none has, nobody is on call (a gap).
//! - A temporary period (`temporary[i]`, active on [start, end), RFC 3339
//!   instants) replaces the layers: inside it the answer comes from the
//!   period's own layers, by the same precedence (a later one wins where
//!   it has someone, an earlier one fills its gaps; where none has, a gap),
//!   and the schedule's layers are not consulted at all. Outside every
//!   period the schedule's layers answer. Periods of one schedule never
//!   overlap (refused).
//! - A temporary layer is a layer like any other: its turn 0 starts on its
//!   own `start` date at its `handoff`, and its boundaries and windows
//!   follow the rules above. The period only cuts it: a temporary layer
//!   whose `start` is before the period has its rotation already running
//!   when the period begins; one whose turn 0 is inside the period has
//!   nobody before it (the earlier temporary layers, else a gap).
//! - Overrides are active on [start, end) and apply to the layers' answer
//!   one after the other, in declaration order. With `replaces: x`, while
//!   it is active, if x is on call x is replaced by `user`; if x is not on
//!   call, nothing changes. Without `replaces`, `user` is the only one on
//!   call for the whole span, gap or not. So a later override may replace
//!   the user an earlier one put on call. Overrides apply on top of the
//!   layers' answer, inside temporary periods too.
//! - The final answer at an instant is nobody or one person;
//!   [`Shift::users`] is a sorted list for generality.
//!
//! # Shifts
//!
//! [`ScheduleRule::final_shifts`] tiles [from, to) exactly: the first shift
//! starts at `from`, each ends where the next starts, the last ends at
//! `to`; neighbours never have the same users (they are merged) and gaps
//! are shifts with no users. [`ScheduleRule::layer_shifts`] gives only the
//! spans where one layer has someone, before overrides;
//! it and [`ScheduleRule::layer_names`] describe the schedule's own layers
//! only, as if there were no temporary periods (temporary layers are not
//! drawn on their own; [`ScheduleRule::temporary_periods`] says where the
//! schedule's layers do not apply).
//!
//! # Cost
//!
//! Finding the turn at an instant costs the same however far it is from
//! turn 0: the index is estimated from the elapsed time and corrected by a
//! step or two against the real boundaries. A range costs one step per
//! turn boundary, restriction window and override edge inside it.

mod rotation;
mod schedule;

use crate::Name;
use jiff::Timestamp;

pub use schedule::ScheduleRule;

/// A span of time with who is on call in it (sorted, deduplicated names;
/// empty = nobody: a gap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift {
    pub start: Timestamp,
    pub end: Timestamp,
    pub users: Vec<Name>,
}

#[cfg(test)]
mod tests;
