//! How each format's severity or priority maps to Sev1–Sev5. The defaults
//! are documented in docs/ingestion.md; an organisation may override them.

use crate::Severity;
use crate::catalog::IntegrationFormat;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Per format, the sender's word (lowercase) → our severity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityMap {
    /// PagerDuty `payload.severity`: critical, error, warning, info.
    pub pagerduty: BTreeMap<String, Severity>,
    /// Opsgenie `priority`: P1..P5.
    pub opsgenie: BTreeMap<String, Severity>,
    /// Alertmanager / Grafana label `severity` (common values).
    pub labels: BTreeMap<String, Severity>,
    /// When the sender gives nothing we know.
    pub default: Severity,
}

impl Default for SeverityMap {
    fn default() -> Self {
        use Severity::*;
        let map =
            |pairs: &[(&str, Severity)]| pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        SeverityMap {
            pagerduty: map(&[
                ("critical", Sev1),
                ("error", Sev2),
                ("warning", Sev3),
                ("info", Sev5),
            ]),
            opsgenie: map(&[
                ("p1", Sev1),
                ("p2", Sev2),
                ("p3", Sev3),
                ("p4", Sev4),
                ("p5", Sev5),
            ]),
            labels: map(&[
                ("critical", Sev1),
                ("page", Sev1),
                ("high", Sev2),
                ("error", Sev2),
                ("major", Sev2),
                ("warning", Sev3),
                ("warn", Sev3),
                ("minor", Sev3),
                ("low", Sev4),
                ("info", Sev5),
                ("informational", Sev5),
                ("none", Sev5),
            ]),
            default: Sev3,
        }
    }
}

impl SeverityMap {
    fn look(table: &BTreeMap<String, Severity>, word: &str, default: Severity) -> Severity {
        let w = word.trim().to_ascii_lowercase();
        table
            .get(&w)
            .copied()
            .or_else(|| Severity::parse(&w))
            .unwrap_or(default)
    }

    /// This map with one integration's overrides: its words go into the
    /// table its format reads (lowercased), its default replaces ours.
    pub fn with_overrides(
        &self,
        format: IntegrationFormat,
        overrides: &BTreeMap<String, Severity>,
        default: Option<Severity>,
    ) -> SeverityMap {
        let mut m = self.clone();
        let table = match format {
            IntegrationFormat::Pagerduty => &mut m.pagerduty,
            IntegrationFormat::Opsgenie => &mut m.opsgenie,
            IntegrationFormat::Alertmanager
            | IntegrationFormat::Grafana
            | IntegrationFormat::Generic => &mut m.labels,
        };
        for (word, sev) in overrides {
            table.insert(word.trim().to_ascii_lowercase(), *sev);
        }
        if let Some(d) = default {
            m.default = d;
        }
        m
    }

    pub fn pagerduty(&self, word: &str) -> Severity {
        Self::look(&self.pagerduty, word, self.default)
    }

    pub fn opsgenie(&self, priority: &str) -> Severity {
        Self::look(&self.opsgenie, priority, self.default)
    }

    /// From a `severity` label; a label already in our terms (`sev2`) is
    /// taken as is.
    pub fn label(&self, value: Option<&str>) -> Severity {
        value.map_or(self.default, |v| Self::look(&self.labels, v, self.default))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Severity::*;

    #[test]
    fn defaults() {
        let m = SeverityMap::default();
        let cases = [
            (m.pagerduty("critical"), Sev1),
            (m.pagerduty("Warning"), Sev3),
            (m.pagerduty("info"), Sev5),
            (m.pagerduty("bogus"), Sev3),
            (m.opsgenie("P2"), Sev2),
            (m.opsgenie("p5"), Sev5),
            (m.label(Some("critical")), Sev1),
            (m.label(Some("sev4")), Sev4),
            (m.label(None), Sev3),
        ];
        for (i, (got, want)) in cases.into_iter().enumerate() {
            assert_eq!(got, want, "case {i}");
        }
    }

    #[test]
    fn overrides_reach_the_formats_table_only() {
        let m = SeverityMap::default();
        let o = [("Warning".to_owned(), Sev4)].into_iter().collect();
        let am = m.with_overrides(IntegrationFormat::Alertmanager, &o, Some(Sev2));
        assert_eq!(am.label(Some("warning")), Sev4);
        assert_eq!(am.label(None), Sev2);
        assert_eq!(
            am.pagerduty("warning"),
            Sev3,
            "another format's table is untouched"
        );
        let pd = m.with_overrides(IntegrationFormat::Pagerduty, &o, None);
        assert_eq!((pd.pagerduty("warning"), pd.default), (Sev4, Sev3));
    }
}
