//! The ping URL forms of healthchecks.io, parsed: what follows `/ping/`.
//!
//! - `<uuid>`, `<uuid>/start`, `<uuid>/fail`, `<uuid>/log`,
//!   `<uuid>/<exit-status>` (0 = success, 1–255 = failure);
//! - the same suffixes after `<ping-key>/<slug>`, where the ping key is
//!   the organisation's and the slug a heartbeat's name.
//!
//! A first segment that is a UUID means the UUID form; anything else is
//! read as a ping key.

use super::PingKind;
use uuid::Uuid;

/// Which heartbeat a ping URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingTarget {
    Uuid(Uuid),
    Slug { key: String, slug: String },
}

/// A parsed ping path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingPath {
    pub target: PingTarget,
    pub kind: PingKind,
    /// The exit status when the URL gave one.
    pub exit_status: Option<u8>,
}

/// Parses the path after `/ping/` (no leading slash, no query). `None`
/// for a path that is none of the forms (healthchecks.io answers those
/// 404 `not found`, and so do we); an exit status above 255 is none of
/// them.
pub fn parse_ping_path(path: &str) -> Option<PingPath> {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return None;
    }
    let (target, rest) = match Uuid::try_parse(segments[0]) {
        Ok(u) => (PingTarget::Uuid(u), &segments[1..]),
        Err(_) => {
            let (key, slug) = (segments[0], *segments.get(1)?);
            let ok = |s: &str| {
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            };
            if !ok(key) || !ok(slug) {
                return None;
            }
            (
                PingTarget::Slug {
                    key: key.to_owned(),
                    slug: slug.to_owned(),
                },
                &segments[2..],
            )
        }
    };
    let (kind, exit_status) = match rest {
        [] => (PingKind::Success, None),
        ["start"] => (PingKind::Start, None),
        ["fail"] => (PingKind::Fail, None),
        ["log"] => (PingKind::Log, None),
        [n] if !n.is_empty() && n.len() <= 3 && n.bytes().all(|b| b.is_ascii_digit()) => {
            let code: u8 = n.parse().ok()?;
            let kind = if code == 0 {
                PingKind::Success
            } else {
                PingKind::Fail
            };
            (kind, Some(code))
        }
        _ => return None,
    };
    Some(PingPath {
        target,
        kind,
        exit_status,
    })
}
