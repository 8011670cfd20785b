//! The review document: what a post-incident review says, the draft made
//! from an incident's record when it resolves, and its Markdown export.
//!
//! The figures (duration, time to acknowledge and to resolve) are not part
//! of the stored document: they are computed from the incident each time,
//! so they cannot drift from the record. Contributing factors are asked
//! for with prompts, never as a single "root cause".

use crate::Severity;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// A key moment of the incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moment {
    pub at: Timestamp,
    pub text: String,
}

/// What people write in a review (stored as JSON).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Review {
    pub summary: String,
    pub customer_impact: String,
    pub key_moments: Vec<Moment>,
    pub contributing_factors: String,
    pub went_well: String,
    pub was_hard: String,
}

/// The text sections, with their field names and headings, in order.
pub const SECTIONS: [(&str, &str); 5] = [
    ("summary", "Summary"),
    ("customer_impact", "Customer impact"),
    ("contributing_factors", "Contributing factors"),
    ("went_well", "What went well"),
    ("was_hard", "What was hard"),
];

impl Review {
    /// A text section by field name.
    pub fn section(&self, field: &str) -> &str {
        match field {
            "summary" => &self.summary,
            "customer_impact" => &self.customer_impact,
            "contributing_factors" => &self.contributing_factors,
            "went_well" => &self.went_well,
            "was_hard" => &self.was_hard,
            _ => "",
        }
    }
}

/// Questions that draw out contributing factors — several, from the
/// system and its context, not one cause or one person.
pub const FACTOR_PROMPTS: [&str; 6] = [
    "What conditions made this possible (load, a change, a dependency, a default)?",
    "What made it harder to detect, or slower to notice?",
    "What made diagnosis harder: missing signals, misleading dashboards, unclear ownership?",
    "What slowed recovery: access, tooling, runbooks, coordination?",
    "Which safeguards worked, and which were missing or bypassed — and why did that make sense at the time?",
    "What surprised the people responding?",
];

/// The incident's facts a review shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub number: i64,
    pub title: String,
    pub severity: Severity,
    pub services: Vec<String>,
    pub opened_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub commander: Option<String>,
}

impl Facts {
    /// Opened to resolved.
    pub fn duration(&self) -> Option<SignedDuration> {
        self.resolved_at.map(|r| r.duration_since(self.opened_at))
    }

    pub fn time_to_acknowledge(&self) -> Option<SignedDuration> {
        self.acknowledged_at
            .map(|a| a.duration_since(self.opened_at))
    }

    pub fn time_to_resolve(&self) -> Option<SignedDuration> {
        self.duration()
    }
}

/// `1 h 23 min`, `4 min 5 s`, `12 s`.
pub fn span(d: SignedDuration) -> String {
    let secs = d.as_secs().max(0);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) if s > 0 => format!("{m} min {s} s"),
        (0, _) => format!("{m} min"),
        _ if m > 0 => format!("{h} h {m} min"),
        _ => format!("{h} h"),
    }
}

/// A timeline entry, as the draft reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub at: Timestamp,
    pub kind: String,
    pub text: String,
    pub pinned: bool,
}

/// Drafts a review from the record: the summary and customer impact as
/// known (the incident's summary, the service's declared impact), the
/// key moments (pinned entries and milestones, in time order), the other
/// sections empty for people to write.
pub fn draft(summary: Option<&str>, impact: Option<&str>, timeline: &[Entry]) -> Review {
    let mut key_moments: Vec<Moment> = timeline
        .iter()
        .filter(|e| e.pinned || crate::response::timeline::is_milestone(&e.kind))
        .map(|e| Moment {
            at: e.at,
            text: e.text.clone(),
        })
        .collect();
    key_moments.sort_by_key(|m| m.at);
    Review {
        summary: summary.unwrap_or_default().trim().to_owned(),
        customer_impact: impact.unwrap_or_default().trim().to_owned(),
        key_moments,
        ..Review::default()
    }
}

/// An action item, as a review lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionLine {
    pub title: String,
    pub owner: String,
    pub due_on: String,
    pub done: bool,
}

/// The review as Markdown (CommonMark), for a wiki or a ticket.
pub fn markdown(review: &Review, facts: &Facts, items: &[ActionLine]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Review of incident #{}: {}\n",
        facts.number,
        one_line(&facts.title)
    );
    let or_dash = |d: Option<SignedDuration>| d.map_or_else(|| "—".to_owned(), span);
    let _ = writeln!(out, "| | |\n|---|---|");
    let _ = writeln!(out, "| Severity | {} |", facts.severity.label());
    let _ = writeln!(out, "| Services | {} |", cell(&facts.services.join(", ")));
    let _ = writeln!(out, "| Opened | {} |", facts.opened_at);
    if let Some(c) = &facts.commander {
        let _ = writeln!(out, "| Incident commander | {} |", cell(c));
    }
    let _ = writeln!(
        out,
        "| Time to acknowledge | {} |",
        or_dash(facts.time_to_acknowledge())
    );
    let _ = writeln!(
        out,
        "| Time to resolve | {} |",
        or_dash(facts.time_to_resolve())
    );
    let _ = writeln!(out, "| Duration | {} |\n", or_dash(facts.duration()));
    for (field, heading) in SECTIONS {
        if field == "contributing_factors" {
            section(&mut out, "Key moments", &moments(&review.key_moments));
        }
        section(&mut out, heading, review.section(field));
    }
    let list: Vec<String> = items
        .iter()
        .map(|i| {
            format!(
                "- [{}] {} — {}, due {}",
                if i.done { "x" } else { " " },
                one_line(&i.title),
                i.owner,
                i.due_on
            )
        })
        .collect();
    section(&mut out, "Action items", &list.join("\n"));
    out
}

fn moments(m: &[Moment]) -> String {
    m.iter()
        .map(|m| format!("- **{}** {}", m.at, one_line(&m.text)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn section(out: &mut String, heading: &str, body: &str) {
    let body = body.trim();
    let body = if body.is_empty() {
        "_None written._"
    } else {
        body
    };
    let _ = writeln!(out, "## {heading}\n\n{body}\n");
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A table cell: one line, pipes escaped.
fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn facts() -> Facts {
        Facts {
            number: 8,
            title: "Checkout | errors".into(),
            severity: Severity::Sev2,
            services: vec!["checkout".into(), "payments".into()],
            opened_at: t("2026-03-02T10:00:00Z"),
            acknowledged_at: Some(t("2026-03-02T10:04:05Z")),
            resolved_at: Some(t("2026-03-02T11:23:00Z")),
            commander: Some("alice".into()),
        }
    }

    #[test]
    fn figures_come_from_the_record() {
        let f = facts();
        assert_eq!(span(f.time_to_acknowledge().unwrap()), "4 min 5 s");
        assert_eq!(span(f.duration().unwrap()), "1 h 23 min");
        assert_eq!(span(SignedDuration::from_secs(12)), "12 s");
        assert_eq!(span(SignedDuration::from_hours(2)), "2 h");
    }

    #[test]
    fn drafts_keep_pinned_moments_and_milestones_in_order() {
        let e = |at: &str, kind: &str, text: &str, pinned: bool| Entry {
            at: t(at),
            kind: kind.into(),
            text: text.into(),
            pinned,
        };
        let timeline = [
            e("2026-03-02T10:05:00Z", "note", "restarted apache", true),
            e(
                "2026-03-02T10:01:00Z",
                "incident.acknowledged",
                "acknowledged by bob",
                false,
            ),
            e(
                "2026-03-02T10:02:00Z",
                "notification.delivered",
                "page delivered",
                false,
            ),
            e("2026-03-02T10:03:00Z", "note", "looking at logs", false),
        ];
        let r = draft(Some(" Checkout failed "), None, &timeline);
        assert_eq!(r.summary, "Checkout failed");
        let texts: Vec<&str> = r.key_moments.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["acknowledged by bob", "restarted apache"]);
        assert!(r.contributing_factors.is_empty());
    }

    #[test]
    fn markdown_has_every_section_and_escapes_table_cells() {
        let r = Review {
            summary: "Payments timed out.".into(),
            went_well: "Paging worked.".into(),
            ..Review::default()
        };
        let items = [ActionLine {
            title: "Add a timeout alarm".into(),
            owner: "bob".into(),
            due_on: "2026-03-20".into(),
            done: false,
        }];
        let md = markdown(&r, &facts(), &items);
        assert!(md.starts_with("# Review of incident #8: Checkout | errors\n"));
        assert!(md.contains("| Time to acknowledge | 4 min 5 s |"));
        assert!(md.contains("| Incident commander | alice |"));
        for (_, heading) in SECTIONS {
            assert!(md.contains(&format!("## {heading}\n")), "{heading}");
        }
        assert!(md.contains("## Key moments\n\n_None written._"));
        assert!(md.contains("- [ ] Add a timeout alarm — bob, due 2026-03-20"));
        // Key moments come before contributing factors.
        assert!(md.find("## Key moments").unwrap() < md.find("## Contributing factors").unwrap());
    }

    #[test]
    fn stored_documents_survive_missing_fields() {
        let r: Review = serde_json::from_str(r#"{"summary":"x"}"#).unwrap();
        assert_eq!(r.summary, "x");
        assert!(r.key_moments.is_empty());
    }
}
