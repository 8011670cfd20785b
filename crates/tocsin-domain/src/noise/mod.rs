//! Noise control: silences and maintenance windows compiled into the form
//! the alerting rules ask "is this alert muted now?". Pure: time is an
//! argument, nothing here reads a clock or a store.
//!
//! # The model
//!
//! A muted alert is still recorded (deduplicated, grouped, visible); it
//! only pages nobody. Two things mute:
//!
//! - A **maintenance window** ([`WindowRule`]) names services. While one of
//!   its occurrences is on, every alert of those services is muted,
//!   whatever its labels. It is asked first.
//! - A **silence** ([`SilenceRule`]) holds Alertmanager label matchers and
//!   an active period `starts_at <= t < ends_at` (no `starts_at`: active
//!   from when it was created). An alert is silenced when every matcher
//!   matches its labels. The matchers also see a label `service` holding
//!   the tocsin service name, which overrides a label of that name sent by
//!   the source. When several silences match, the first (in catalog order)
//!   is named.
//!
//! [`Mutes::muted`] answers with the reason ([`Muted`]), which is stored
//! with the alert as `silence:<name>` or `maintenance:<name>`.
//!
//! # Matchers
//!
//! Alertmanager's syntax: `label op value`, with `op` one of `=`, `!=`,
//! `=~`, `!~`; the value may be double-quoted (`\"`, `\\`, `\n` escapes).
//! A label that is absent counts as the empty string, so `env!="prod"`
//! matches an alert without `env`. Regular expressions match the whole
//! value (`^(?:value)$`): `instance=~"db"` does not match `db-1`. A
//! silence needs at least one matcher that does not match the empty
//! string, or it would silence every alert.
//!
//! # Recurrence
//!
//! A window starts at `starts_at` (a civil `YYYY-MM-DDTHH:MM` in the
//! window's zone, or an RFC 3339 instant) and repeats `none`, `daily`,
//! `weekly` or `monthly`:
//!
//! - Occurrence k starts at the first start's local (civil) date and time
//!   plus k days, weeks or months in the window's zone, computed from the
//!   first start every time (never from the previous occurrence). So a
//!   daily 09:00 window starts at 09:00 local time on both sides of a DST
//!   change: the occurrence just before it is 23 or 25 hours earlier.
//! - A local start that falls in a DST gap resolves to the time after the
//!   gap (jiff's "compatible" rule): a daily 02:30 window in Europe/Berlin
//!   starts at 03:30 CEST on the spring-forward day. One in a fold takes
//!   the first of the two (the summer-time one).
//! - Each occurrence lasts `duration` of exact time (days count as 24
//!   hours): a 2h window across the autumn fold lasts 2 real hours, though
//!   the wall clock shows 1h of difference.
//! - Monthly from the 29th–31st clamps to the month's last day (jiff's
//!   behaviour): a window declared on January 31st happens on February
//!   28th (29th), March 31st, April 30th.
//! - `until` bounds the starts: no occurrence starts after it (an instant,
//!   or a local date meaning "up to the end of that day"). An occurrence
//!   that started before it runs to its end.
//! - A duration longer than the period (a day, a week, 28 days) is refused:
//!   occurrences would overlap. Around a DST change a window exactly as
//!   long as its period can still overlap the next occurrence by an hour;
//!   the later occurrence is then the one reported.
//!
//! Finding the occurrence at an instant costs the same however far it is
//! from the first one: the index is estimated from the elapsed time and
//! corrected by a step.

mod matcher;
pub(crate) mod mutes;
pub(crate) mod window;

pub use matcher::{MatchOp, Matcher};
pub use mutes::{Muted, Mutes, SERVICE_LABEL, SilenceRule};
pub use window::WindowRule;

#[cfg(test)]
mod tests;
