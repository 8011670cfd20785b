//! The final schedule: the layers by precedence (a later layer wins where it
//! has someone), then the overrides in declaration order. The rules are
//! spelled out in the module documentation of [`crate::oncall`].

use super::Shift;
use super::rotation::{Rotation, Segment};
use crate::Name;
use crate::catalog::{Override, Schedule};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// A schedule ready to ask "who is on call at t" and "who is on call over
/// this range".
#[derive(Debug, Clone)]
pub struct ScheduleRule {
    name: Name,
    time_zone: TimeZone,
    /// In declaration order: the last one with someone wins.
    layers: Vec<Rotation>,
    /// In declaration order: applied one after the other.
    overrides: Vec<OverrideRule>,
}

/// An override ready to apply: active on [start, end).
#[derive(Debug, Clone)]
struct OverrideRule {
    user: Name,
    replaces: Option<Name>,
    start: Timestamp,
    end: Timestamp,
}

impl OverrideRule {
    fn compile(o: &Override) -> Result<OverrideRule, String> {
        let instant = |field: &str, s: &str| {
            s.parse::<Timestamp>().map_err(|_| {
                format!("{field}: {s:?} is not an RFC 3339 instant (2026-03-29T09:00:00+02:00)")
            })
        };
        let start = instant("start", &o.start)?;
        let end = instant("end", &o.end)?;
        if end <= start {
            return Err("end: must be after start".to_owned());
        }
        Ok(OverrideRule {
            user: o.user.clone(),
            replaces: o.replaces.clone(),
            start,
            end,
        })
    }

    fn active(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}

/// How far `next_change` looks at a time: a day first, doubling up to a
/// month, so a change soon is found cheaply and a far one in few rounds.
const FIRST_STEP: SignedDuration = SignedDuration::from_hours(24);
const MAX_STEP: SignedDuration = SignedDuration::from_hours(32 * 24);

impl ScheduleRule {
    /// Reads a declared schedule; the error is the first thing wrong with it
    /// (the catalog check reports them all, with field paths).
    pub fn compile(s: &Schedule) -> Result<ScheduleRule, String> {
        let time_zone = TimeZone::get(&s.time_zone)
            .map_err(|_| format!("time_zone: {:?} is not a known IANA time zone", s.time_zone))?;
        if s.layers.is_empty() {
            return Err("layers: a schedule needs at least one layer".to_owned());
        }
        let layers = s
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| Rotation::compile(l, &time_zone).map_err(|e| format!("layers[{i}].{e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let overrides = s
            .overrides
            .iter()
            .enumerate()
            .map(|(i, o)| OverrideRule::compile(o).map_err(|e| format!("overrides[{i}].{e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ScheduleRule {
            name: s.name.clone(),
            time_zone,
            layers,
            overrides,
        })
    }

    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The schedule's own zone (layers may have their own).
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The layers' names in declaration order.
    pub fn layer_names(&self) -> Vec<Name> {
        self.layers.iter().map(|l| l.name.clone()).collect()
    }

    /// Who is on call at `t` in the final schedule (layers by precedence,
    /// then overrides): nobody or one person, sorted.
    pub fn on_call_at(&self, t: Timestamp) -> Vec<Name> {
        let layered = self.layers.iter().rev().find_map(|l| l.at(t));
        self.apply_overrides(layered, t)
    }

    /// The overrides active at t, in order, applied to the layers' answer.
    fn apply_overrides(&self, layered: Option<&Name>, t: Timestamp) -> Vec<Name> {
        let mut who: Vec<Name> = layered.into_iter().cloned().collect();
        for o in self.overrides.iter().filter(|o| o.active(t)) {
            match &o.replaces {
                Some(x) => {
                    for w in who.iter_mut().filter(|w| *w == x) {
                        *w = o.user.clone();
                    }
                }
                None => who = vec![o.user.clone()],
            }
        }
        who.sort();
        who.dedup();
        who
    }

    /// The final schedule over [from, to): contiguous shifts covering the
    /// whole range exactly (the first starts at `from`, the last ends at
    /// `to`, each ends where the next starts), neighbours with the same
    /// users merged, gaps included as shifts with no users. An empty range
    /// gives no shifts.
    pub fn final_shifts(&self, from: Timestamp, to: Timestamp) -> Vec<Shift> {
        if from >= to {
            return Vec::new();
        }
        let segments: Vec<Vec<Segment>> =
            self.layers.iter().map(|l| l.segments(from, to)).collect();
        // Every instant where anything may change; between two of them the
        // answer is the same throughout.
        let mut points = vec![from, to];
        for s in segments.iter().flatten() {
            points.push(s.start);
            points.push(s.end);
        }
        for o in &self.overrides {
            points.extend(
                [o.start, o.end]
                    .into_iter()
                    .filter(|p| from < *p && *p < to),
            );
        }
        points.sort();
        points.dedup();

        let mut next = vec![0usize; segments.len()];
        let mut shifts: Vec<Shift> = Vec::new();
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let mut layered = None;
            for (i, (segs, layer)) in segments.iter().zip(&self.layers).enumerate() {
                while segs.get(next[i]).is_some_and(|s| s.end <= a) {
                    next[i] += 1;
                }
                if let Some(s) = segs.get(next[i])
                    && s.start <= a
                {
                    layered = layer.participants.get(s.who);
                }
            }
            let users = self.apply_overrides(layered, a);
            match shifts.last_mut() {
                Some(last) if last.users == users => last.end = b,
                _ => shifts.push(Shift {
                    start: a,
                    end: b,
                    users,
                }),
            }
        }
        shifts
    }

    /// One layer's own shifts over [from, to) after its restrictions: only
    /// the spans where it has someone (no empty shifts), neighbours with the
    /// same person merged. No overrides. A layer index out of range gives
    /// none.
    pub fn layer_shifts(&self, layer: usize, from: Timestamp, to: Timestamp) -> Vec<Shift> {
        let Some(l) = self.layers.get(layer) else {
            return Vec::new();
        };
        l.segments(from, to)
            .into_iter()
            .filter_map(|s| {
                Some(Shift {
                    start: s.start,
                    end: s.end,
                    users: vec![l.participants.get(s.who)?.clone()],
                })
            })
            .collect()
    }

    /// The spans in [from, to) where nobody is on call.
    pub fn gaps(&self, from: Timestamp, to: Timestamp) -> Vec<(Timestamp, Timestamp)> {
        self.final_shifts(from, to)
            .into_iter()
            .filter(|s| s.users.is_empty())
            .map(|s| (s.start, s.end))
            .collect()
    }

    /// The first instant after `t` (strictly) at which the on-call set
    /// changes, if there is one before `limit`.
    pub fn next_change(&self, t: Timestamp, limit: Timestamp) -> Option<Timestamp> {
        let now = self.on_call_at(t);
        let mut cursor = t;
        let mut step = FIRST_STEP;
        while cursor < limit {
            let end = cursor.checked_add(step).map_or(limit, |e| e.min(limit));
            if let Some(s) = self
                .final_shifts(cursor, end)
                .into_iter()
                .find(|s| s.users != now)
            {
                return Some(s.start);
            }
            cursor = end;
            step = (step * 2).min(MAX_STEP);
        }
        None
    }
}
