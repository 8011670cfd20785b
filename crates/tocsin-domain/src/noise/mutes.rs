//! Silences compiled for matching, and the question the alerting rules ask:
//! is this alert muted now, and by what.

use super::matcher::Matcher;
use super::window::WindowRule;
use crate::Name;
use crate::catalog::{Object, Silence};
use jiff::Timestamp;
use std::collections::BTreeMap;

/// A silence ready to test alerts against.
#[derive(Debug, Clone, PartialEq)]
pub struct SilenceRule {
    pub name: Name,
    pub matchers: Vec<Matcher>,
    /// `None`: active from when it was created.
    pub starts_at: Option<Timestamp>,
    pub ends_at: Timestamp,
}

impl SilenceRule {
    /// Reads a declared silence; the error is the first thing wrong with
    /// it (the catalog check reports them all, with field paths).
    pub fn compile(s: &Silence) -> Result<SilenceRule, String> {
        if s.matchers.is_empty() {
            return Err(format!("matchers: {NO_MATCHERS}"));
        }
        let matchers = s
            .matchers
            .iter()
            .enumerate()
            .map(|(i, m)| Matcher::parse(m).map_err(|e| format!("matchers[{i}]: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        if matches_everything(&matchers) {
            return Err(format!("matchers: {MATCHES_EMPTY}"));
        }
        let instant = |field: &str, v: &str| {
            v.parse::<Timestamp>()
                .map_err(|_| format!("{field}: {v:?} is not an RFC 3339 instant"))
        };
        let starts_at = s
            .starts_at
            .as_deref()
            .map(|v| instant("starts_at", v))
            .transpose()?;
        let ends_at = instant("ends_at", &s.ends_at)?;
        if starts_at.is_some_and(|st| ends_at <= st) {
            return Err(format!("ends_at: {ENDS_BEFORE_START}"));
        }
        Ok(SilenceRule {
            name: s.name.clone(),
            matchers,
            starts_at,
            ends_at,
        })
    }

    /// starts_at <= t < ends_at.
    pub fn active_at(&self, t: Timestamp) -> bool {
        self.starts_at.is_none_or(|s| s <= t) && t < self.ends_at
    }

    /// Whether every matcher matches the labels.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }
}

pub(crate) const NO_MATCHERS: &str = "a silence needs at least one matcher";
pub(crate) const MATCHES_EMPTY: &str = "every matcher also matches an empty or absent label, so this would silence every alert; at least one must not match the empty string";
pub(crate) const ENDS_BEFORE_START: &str = "must be after starts_at";

/// Alertmanager's rule: a silence whose every matcher matches the empty
/// string would silence everything.
pub(crate) fn matches_everything(matchers: &[Matcher]) -> bool {
    matchers.iter().all(|m| m.matches_value(""))
}

/// Why an alert is muted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Muted {
    Silence(Name),
    Maintenance(Name),
}

impl Muted {
    /// `silence:<name>` or `maintenance:<name>`.
    pub fn as_stored(&self) -> String {
        match self {
            Muted::Silence(n) => format!("silence:{}", n.as_str()),
            Muted::Maintenance(n) => format!("maintenance:{}", n.as_str()),
        }
    }

    /// Reads what [`Muted::as_stored`] wrote; `None` for anything else.
    pub fn from_stored(s: &str) -> Option<Muted> {
        let (kind, name) = s.split_once(':')?;
        let name = Name::parse(name).ok()?;
        match kind {
            "silence" => Some(Muted::Silence(name)),
            "maintenance" => Some(Muted::Maintenance(name)),
            _ => None,
        }
    }
}

/// The label matchers see the tocsin service under.
pub const SERVICE_LABEL: &str = "service";

/// Every silence and maintenance window of the catalog, compiled.
#[derive(Debug, Clone, Default)]
pub struct Mutes {
    pub silences: Vec<SilenceRule>,
    pub windows: Vec<WindowRule>,
}

impl Mutes {
    /// Compiles what the catalog declares; objects that do not compile are
    /// skipped and returned as (name, reason) so the caller can log them.
    /// Objects of other kinds are ignored.
    pub fn from_objects<'a>(
        objects: impl IntoIterator<Item = &'a Object>,
    ) -> (Mutes, Vec<(Name, String)>) {
        let mut mutes = Mutes::default();
        let mut skipped = Vec::new();
        for o in objects {
            match o {
                Object::Silence(s) => match SilenceRule::compile(s) {
                    Ok(r) => mutes.silences.push(r),
                    Err(e) => skipped.push((s.name.clone(), e)),
                },
                Object::MaintenanceWindow(w) => match WindowRule::compile(w) {
                    Ok(r) => mutes.windows.push(r),
                    Err(e) => skipped.push((w.name.clone(), e)),
                },
                _ => {}
            }
        }
        (mutes, skipped)
    }

    /// Whether an alert of `service` with `labels` is muted at `now`: a
    /// maintenance window of the service first, else the first matching
    /// active silence. Matchers see the alert's labels plus `service` = the
    /// tocsin service name (which overrides any label of that name).
    pub fn muted(
        &self,
        service: &Name,
        labels: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> Option<Muted> {
        if let Some(w) = self
            .windows
            .iter()
            .find(|w| w.covers(service) && w.occurrence_at(now).is_some())
        {
            return Some(Muted::Maintenance(w.name.clone()));
        }
        let mut active = self.silences.iter().filter(|s| s.active_at(now)).peekable();
        active.peek()?;
        let mut seen = labels.clone();
        seen.insert(SERVICE_LABEL.to_owned(), service.as_str().to_owned());
        active
            .find(|s| s.matches(&seen))
            .map(|s| Muted::Silence(s.name.clone()))
    }
}
