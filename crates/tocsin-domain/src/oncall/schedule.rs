//! The final schedule: the layers by precedence (a later layer wins where it
//! has someone), replaced inside a temporary period by that period's own
//! layers, then the overrides in declaration order. The rules are
//! spelled out in the module documentation of [`crate::oncall`].

use super::Shift;
use super::rotation::{Rotation, Segment};
use crate::Name;
use crate::catalog::{Override, Schedule, Temporary};
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
    /// Periods whose own layers replace `layers`; sorted by start, never
    /// overlapping.
    temporary: Vec<TemporaryRule>,
}

/// A temporary rotation ready to use: on [start, end) its layers replace
/// the schedule's.
#[derive(Debug, Clone)]
struct TemporaryRule {
    start: Timestamp,
    end: Timestamp,
    /// In declaration order: the last one with someone wins.
    layers: Vec<Rotation>,
}

fn parse_instant(field: &str, s: &str) -> Result<Timestamp, String> {
    s.parse::<Timestamp>().map_err(|_| {
        format!("{field}: {s:?} is not an RFC 3339 instant (2026-03-29T09:00:00+02:00)")
    })
}

impl TemporaryRule {
    fn compile(t: &Temporary, zone: &TimeZone) -> Result<TemporaryRule, String> {
        let start = parse_instant("start", &t.start)?;
        let end = parse_instant("end", &t.end)?;
        if end <= start {
            return Err("end: must be after start".to_owned());
        }
        if t.layers.is_empty() {
            return Err("layers: a temporary rotation needs at least one layer".to_owned());
        }
        let layers = t
            .layers
            .iter()
            .enumerate()
            .map(|(j, l)| Rotation::compile(l, zone).map_err(|e| format!("layers[{j}].{e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TemporaryRule { start, end, layers })
    }

    fn active(&self, t: Timestamp) -> bool {
        self.start <= t && t < self.end
    }
}

/// One stack of layers (the schedule's, or a temporary period's) cut into
/// segments over a range, read at increasing instants.
struct Stack<'a> {
    layers: &'a [Rotation],
    segments: Vec<Vec<Segment>>,
    /// Per layer, the first segment that may still contain the next instant.
    next: Vec<usize>,
}

impl<'a> Stack<'a> {
    fn new(layers: &'a [Rotation], from: Timestamp, to: Timestamp) -> Stack<'a> {
        let segments: Vec<Vec<Segment>> = layers.iter().map(|l| l.segments(from, to)).collect();
        Stack {
            layers,
            next: vec![0; segments.len()],
            segments,
        }
    }

    fn edges(&self) -> impl Iterator<Item = Timestamp> + '_ {
        self.segments
            .iter()
            .flatten()
            .flat_map(|s| [s.start, s.end])
    }

    /// Who the stack has at `a` (the last layer with someone); `a` must not
    /// decrease from one call to the next.
    fn at(&mut self, a: Timestamp) -> Option<&'a Name> {
        let mut layered = None;
        for (i, (segs, layer)) in self.segments.iter().zip(self.layers).enumerate() {
            while segs.get(self.next[i]).is_some_and(|s| s.end <= a) {
                self.next[i] += 1;
            }
            if let Some(s) = segs.get(self.next[i])
                && s.start <= a
            {
                layered = layer.participants.get(s.who);
            }
        }
        layered
    }
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
        let start = parse_instant("start", &o.start)?;
        let end = parse_instant("end", &o.end)?;
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
        let mut temporary: Vec<(usize, TemporaryRule)> = Vec::new();
        for (i, t) in s.temporary.iter().enumerate() {
            let rule =
                TemporaryRule::compile(t, &time_zone).map_err(|e| format!("temporary[{i}].{e}"))?;
            if let Some((k, _)) = temporary
                .iter()
                .find(|(_, o)| rule.start < o.end && o.start < rule.end)
            {
                return Err(format!("temporary[{i}]: overlaps temporary[{k}]"));
            }
            temporary.push((i, rule));
        }
        let mut temporary: Vec<TemporaryRule> = temporary.into_iter().map(|(_, t)| t).collect();
        temporary.sort_by_key(|t| t.start);
        Ok(ScheduleRule {
            name: s.name.clone(),
            time_zone,
            layers,
            overrides,
            temporary,
        })
    }

    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The schedule's own zone (layers may have their own).
    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    /// The schedule's own layers' names in declaration order (not the
    /// temporary periods' layers).
    pub fn layer_names(&self) -> Vec<Name> {
        self.layers.iter().map(|l| l.name.clone()).collect()
    }

    /// The temporary periods, [start, end) each, sorted by start; they
    /// never overlap.
    pub fn temporary_periods(&self) -> Vec<(Timestamp, Timestamp)> {
        self.temporary.iter().map(|t| (t.start, t.end)).collect()
    }

    /// The layers that answer at `t`: a temporary period's if one is
    /// active, else the schedule's own.
    fn layers_at(&self, t: Timestamp) -> &[Rotation] {
        self.temporary
            .iter()
            .find(|p| p.active(t))
            .map_or(&self.layers, |p| &p.layers)
    }

    /// Who is on call at `t` in the final schedule (layers by precedence,
    /// a temporary period's layers instead inside it, then overrides):
    /// nobody or one person, sorted.
    pub fn on_call_at(&self, t: Timestamp) -> Vec<Name> {
        let layered = self.layers_at(t).iter().rev().find_map(|l| l.at(t));
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
        // The schedule's own layers over the whole range (their segments
        // inside temporary periods are never read), each period's layers
        // over its part of the range.
        let mut normal = Stack::new(&self.layers, from, to);
        let mut periods: Vec<(&TemporaryRule, Stack)> = self
            .temporary
            .iter()
            .filter(|p| p.start < to && from < p.end)
            .map(|p| (p, Stack::new(&p.layers, from.max(p.start), to.min(p.end))))
            .collect();
        // Every instant where anything may change; between two of them the
        // answer is the same throughout.
        let mut points = vec![from, to];
        points.extend(normal.edges());
        for (p, stack) in &periods {
            points.extend(stack.edges());
            points.extend(
                [p.start, p.end]
                    .into_iter()
                    .filter(|t| from < *t && *t < to),
            );
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

        let mut shifts: Vec<Shift> = Vec::new();
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let layered = match periods.iter_mut().find(|(p, _)| p.active(a)) {
                Some((_, stack)) => stack.at(a),
                None => normal.at(a),
            };
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
    /// same person merged. No overrides. Only the schedule's own layers
    /// (indexed as in [`ScheduleRule::layer_names`]), drawn as if there
    /// were no temporary periods; a layer index out of range gives none.
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
