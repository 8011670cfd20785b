//! An incident's timeline entries in words: one line per entry, the same
//! in the web UI, chat, the review's key moments and its Markdown export.
//! Entries are stored as a kind (`incident.acknowledged`) and a JSON detail;
//! an entry of a kind this version does not know reads as its kind.

use serde_json::Value;

/// Whether an entry is a moment a review lists without being pinned:
/// the incident's lifecycle, severity, roles and updates — not each page
/// or delivery.
pub fn is_milestone(kind: &str) -> bool {
    matches!(
        kind,
        "incident.declared"
            | "incident.acknowledged"
            | "incident.resolved"
            | "incident.reopened"
            | "incident.reassigned"
            | "incident.severity"
            | "incident.merged"
            | "incident.merged_in"
            | "incident.closed"
            | "role.assigned"
            | "role.handed_over"
            | "update.posted"
            | "escalation.manual"
    )
}

/// One line for a timeline entry.
pub fn describe(kind: &str, d: &Value) -> String {
    let s = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    let n = |k: &str| d.get(k).and_then(Value::as_i64).unwrap_or(0);
    let by = s("by");
    let via = match s("via").as_str() {
        "" | "web" | "system" => String::new(),
        v => format!(" (from {v})"),
    };
    let sev = |k: &str| {
        let v = s(k);
        crate::Severity::parse(&v).map_or(v, |x| x.label().to_owned())
    };
    let role = |k: &str| {
        let v = s(k);
        super::Role::parse(&v).map_or(v, |r| r.label().to_owned())
    };
    match kind {
        "escalation.level" => format!("level {} of policy {} fired", n("level"), s("policy")),
        "escalation.page" => format!(
            "paged {} (level {}, via {})",
            s("user"),
            n("level"),
            s("via")
        ),
        "escalation.stopped" => format!("escalation stopped: incident {}", s("reason")),
        "escalation.nobody" => format!("level {}: nobody to page", n("level")),
        "escalation.none" => s("reason"),
        "escalation.manual" => format!("{by} escalated by hand to level {}", n("level")),
        "responder.page" => match s("message").as_str() {
            "" => format!("paged {} by hand (via {})", s("user"), s("via")),
            m => format!("paged {} by hand (via {}): {m}", s("user"), s("via")),
        },
        "incident.declared" => format!(
            "declared by {by}{via} as {}: {}",
            sev("severity"),
            s("title")
        ),
        "incident.acknowledged" => format!("acknowledged by {by}{via}"),
        "incident.resolved" => match s("note").as_str() {
            "" => format!("resolved by {by}{via}"),
            note => format!("resolved by {by}{via}: {note}"),
        },
        "incident.reopened" => match s("reason").as_str() {
            "" => format!("reopened by {by}{via}; escalation starts again"),
            why => format!("reopened by {by}{via}: {why}; escalation starts again"),
        },
        "incident.reassigned" => format!("reassigned by {by}{via} to {}", s("to")),
        "incident.severity" => format!(
            "severity changed from {} to {} by {by}{via}",
            sev("from"),
            sev("to")
        ),
        "incident.described" => {
            let mut what = Vec::new();
            if !s("title").is_empty() {
                what.push(format!("title set to \"{}\"", s("title")));
            }
            if !s("summary").is_empty() {
                what.push(format!("summary: {}", s("summary")));
            }
            format!("{} by {by}{via}", what.join("; "))
        }
        "incident.service_added" => format!("{} added as affected by {by}{via}", s("service")),
        "incident.merged" => format!("merged into #{} by {by}{via}", n("into")),
        "incident.merged_in" => format!(
            "#{} ({}) merged into this incident by {by}{via}",
            n("from"),
            s("title")
        ),
        "incident.closed" => format!("closed by {by}{via}; the review is done"),
        "role.assigned" => format!("{} is {} (assigned by {by}{via})", s("user"), role("role")),
        "role.handed_over" => format!(
            "{} handed over from {} to {} by {by}{via}",
            role("role"),
            s("from"),
            s("user")
        ),
        "role.unassigned" => format!("{} is no longer {} ({by}{via})", s("user"), role("role")),
        "responders.added" => match d.get("reached").and_then(Value::as_array) {
            Some(r) => {
                let names: Vec<&str> = r.iter().filter_map(Value::as_str).collect();
                format!(
                    "{by}{via} added responders from {}: {}",
                    s("target"),
                    names.join(", ")
                )
            }
            None => format!("{by}{via} added responders from {}", s("target")),
        },
        "note" => format!("{by}{via}: {}", s("text")),
        "stakeholder.added" => format!("{} added as stakeholder by {by}{via}", s("stakeholder")),
        "stakeholder.removed" => {
            format!("{} removed as stakeholder by {by}{via}", s("stakeholder"))
        }
        "update.cadence" => match d.get("every_minutes").and_then(Value::as_i64) {
            Some(m) => format!("updates due every {m} minutes (set by {by}{via})"),
            None => format!("update cadence removed by {by}{via}"),
        },
        "update.posted" => format!(
            "{} update ({}) by {by}{via}: {}",
            s("audience"),
            s("state"),
            s("body")
        ),
        "update.overdue" => format!(
            "stakeholder update overdue since {}; reminded {}",
            s("due"),
            s("reminded")
        ),
        "review.saved" => format!("review saved by {by}{via}"),
        "review.done" => format!("review marked done by {by}{via}"),
        "action_item.added" => format!(
            "action item for {} due {}: {} ({by}{via})",
            s("owner"),
            s("due_on"),
            s("title")
        ),
        "action_item.overdue" => format!(
            "action item overdue ({}, due {}): {}; owner reminded",
            s("owner"),
            s("due_on"),
            s("title")
        ),
        "action_item.done" => format!("action item done: {} ({by}{via})", s("title")),
        "runbook.run" => {
            let on = match s("target").as_str() {
                "" => String::new(),
                t => format!(" on {t}"),
            };
            let how = match (
                s("outcome").as_str(),
                d.get("exit_status").and_then(Value::as_i64),
            ) {
                ("succeeded", _) | ("failed", _) => {
                    let status = match (
                        d.get("http_status").and_then(Value::as_i64),
                        d.get("exit_status").and_then(Value::as_i64),
                    ) {
                        (Some(h), _) => format!("HTTP {h}"),
                        (None, Some(e)) => format!("exit {e}"),
                        (None, None) => "killed by a signal".to_owned(),
                    };
                    format!("{} ({status}, {} ms)", s("outcome"), n("duration_ms"))
                }
                ("timed_out", _) => {
                    format!("timed out after {} ms and was stopped", n("duration_ms"))
                }
                ("error", _) => format!("could not start: {}", s("error")),
                (other, _) => other.to_owned(),
            };
            format!("{by}{via} ran {}{on}: {how}", s("action"))
        }
        "notification.delivered"
        | "notification.failed"
        | "notification.dead"
        | "notification.cancelled" => {
            let nd = &d["notification"];
            let who = nd["user"].as_str().unwrap_or("");
            let to = if who.is_empty() {
                String::new()
            } else {
                format!(" to {who}")
            };
            let channel = format!(
                "{} ({})",
                nd["contact"].as_str().unwrap_or(""),
                nd["channel"].as_str().unwrap_or("")
            );
            let what = nd["purpose"].as_str().unwrap_or("").replace('_', " ");
            match kind {
                "notification.delivered" => format!("{what} delivered{to} by {channel}"),
                "notification.failed" => format!(
                    "{what}{to} by {channel} failed (attempt {}): {}; retrying",
                    n("attempt"),
                    s("error")
                ),
                "notification.dead" => format!("{what}{to} by {channel} given up: {}", s("error")),
                _ => format!("{what}{to} by {channel} cancelled: {}", s("reason")),
            }
        }
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runbook_runs_say_what_ran_and_how_it_ended() {
        let line = |d: serde_json::Value| describe("runbook.run", &d);
        assert_eq!(
            line(
                json!({"action": "restart-web", "target": "web-2", "outcome": "succeeded",
                        "exit_status": 0, "duration_ms": 1200, "by": "alice", "via": "slack"})
            ),
            "alice (from slack) ran restart-web on web-2: succeeded (exit 0, 1200 ms)"
        );
        assert_eq!(
            line(
                json!({"action": "flush", "outcome": "failed", "http_status": 503,
                        "duration_ms": 20, "by": "bob", "via": "web"})
            ),
            "bob ran flush: failed (HTTP 503, 20 ms)"
        );
        assert_eq!(
            line(
                json!({"action": "slow", "outcome": "timed_out", "duration_ms": 1000,
                        "by": "bob", "via": "cli"})
            ),
            "bob (from cli) ran slow: timed out after 1000 ms and was stopped"
        );
        assert_eq!(
            line(
                json!({"action": "x", "outcome": "error", "error": "no such file",
                        "by": "bob", "via": "web"})
            ),
            "bob ran x: could not start: no such file"
        );
    }

    #[test]
    fn lines_name_who_and_from_where() {
        assert_eq!(
            describe(
                "incident.severity",
                &json!({"from": "sev3", "to": "sev1", "by": "alice", "via": "slack"})
            ),
            "severity changed from Sev3 to Sev1 by alice (from slack)"
        );
        assert_eq!(
            describe(
                "role.handed_over",
                &json!({"role": "commander", "from": "alice", "user": "bob", "by": "alice", "via": "web"})
            ),
            "incident commander handed over from alice to bob by alice"
        );
        assert_eq!(
            describe(
                "note",
                &json!({"text": "restarted apache", "by": "bob", "via": "cli"})
            ),
            "bob (from cli): restarted apache"
        );
        assert_eq!(describe("something.new", &json!({})), "something.new");
    }

    #[test]
    fn milestones_are_the_lifecycle_not_the_deliveries() {
        assert!(is_milestone("incident.acknowledged"));
        assert!(is_milestone("update.posted"));
        assert!(!is_milestone("notification.delivered"));
        assert!(!is_milestone("note"));
    }
}
