//! Judging what a probe saw against what the check expects. Each judge
//! returns the [`ProbeResult`] with a reason in words on failure.

use super::{BodyExpectation, ProbeResult, StatusSet};
use jiff::{SignedDuration, Timestamp};
use std::time::Duration;

/// The expectations of an HTTP check.
#[derive(Debug, Clone, Copy)]
pub struct HttpExpectations<'a> {
    pub status: &'a StatusSet,
    pub body: Option<&'a BodyExpectation>,
    pub max_latency: Option<Duration>,
}

/// What an HTTP probe received.
#[derive(Debug, Clone, Copy)]
pub struct HttpAnswer<'a> {
    pub status: u16,
    /// The body, up to the read bound.
    pub body: &'a [u8],
    /// Whether the body was longer than what was read.
    pub truncated: bool,
    /// Time to the end of the (bounded) body.
    pub latency: Duration,
}

/// Status first (the most telling), then latency, then the body.
pub fn evaluate_http(expect: HttpExpectations<'_>, answer: HttpAnswer<'_>) -> ProbeResult {
    let latency = answer.latency;
    let detail = format!(
        "HTTP {}, {}{} bytes in {}",
        answer.status,
        answer.body.len(),
        if answer.truncated { "+" } else { "" },
        millis(latency)
    );
    let fail = |reason: String| ProbeResult::fail(latency, reason).with_detail(detail.clone());
    if !expect.status.contains(answer.status) {
        return fail(format!(
            "expected status {}, got {}",
            expect.status, answer.status
        ));
    }
    if let Some(max) = expect.max_latency
        && latency > max
    {
        return fail(format!(
            "too slow: answered in {}, over the {} limit",
            millis(latency),
            millis(max)
        ));
    }
    if let Some(body) = expect.body
        && let Err(reason) = check_body(body, answer)
    {
        return fail(reason);
    }
    ProbeResult::ok(latency, detail)
}

fn check_body(expect: &BodyExpectation, answer: HttpAnswer<'_>) -> Result<(), String> {
    let text = String::from_utf8_lossy(answer.body);
    let read = if answer.truncated {
        " (in the first part read)"
    } else {
        ""
    };
    match expect {
        BodyExpectation::Keyword(word) => {
            if text.contains(word.as_str()) {
                Ok(())
            } else {
                Err(format!("keyword {word:?} not found in the body{read}"))
            }
        }
        BodyExpectation::Regex(re) => {
            if re.is_match(&text) {
                Ok(())
            } else {
                Err(format!("body does not match /{}/{read}", re.as_str()))
            }
        }
        BodyExpectation::JsonPath { path, equals } => {
            let doc: serde_json::Value = serde_json::from_slice(answer.body).map_err(|e| {
                if answer.truncated {
                    format!("body is longer than the read limit; cannot check {path}")
                } else {
                    format!("body is not JSON ({e}); cannot check {path}")
                }
            })?;
            match path.lookup(&doc) {
                None => Err(format!("{path} not found in the body")),
                Some(v) if v == equals => Ok(()),
                Some(v) => Err(format!("{path}: expected {equals}, got {v}")),
            }
        }
    }
}

/// A DNS check: every expected answer must be among the answers (names
/// compared without case and trailing dot); with none expected, any answer
/// will do, and no answer at all fails.
pub fn evaluate_dns(
    query: &str,
    expect: &[String],
    answers: &[String],
    latency: Duration,
) -> ProbeResult {
    let norm = |s: &str| s.trim().trim_end_matches('.').to_ascii_lowercase();
    let got: Vec<String> = answers.iter().map(|a| norm(a)).collect();
    let detail = if answers.is_empty() {
        "no answers".to_owned()
    } else {
        answers.join(", ")
    };
    if answers.is_empty() {
        return ProbeResult::fail(latency, format!("{query}: no answers")).with_detail(detail);
    }
    let missing: Vec<&str> = expect
        .iter()
        .filter(|e| !got.contains(&norm(e)))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        ProbeResult::ok(latency, detail)
    } else {
        ProbeResult::fail(
            latency,
            format!(
                "{query}: expected {}, got {}",
                missing.join(", "),
                answers.join(", ")
            ),
        )
        .with_detail(detail)
    }
}

/// A certificate check: fails when `not_after` is within `warn_days` of
/// `now` (or past), naming the date and the days left.
pub fn evaluate_expiry(
    not_after: Timestamp,
    now: Timestamp,
    warn_days: u32,
    latency: Duration,
) -> ProbeResult {
    let left = not_after.duration_since(now);
    let date = not_after.strftime("%Y-%m-%d %H:%M UTC");
    let days = left.as_secs().div_euclid(86_400);
    if left <= SignedDuration::ZERO {
        return ProbeResult::fail(
            latency,
            format!("certificate expired on {date} ({} days ago)", -days),
        );
    }
    let detail = format!("certificate expires on {date}, in {days} days");
    if left < SignedDuration::from_hours(24 * i64::from(warn_days)) {
        ProbeResult::fail(
            latency,
            format!("certificate expires on {date}, in {days} days (warning at {warn_days} days)"),
        )
        .with_detail(detail)
    } else {
        ProbeResult::ok(latency, detail)
    }
}

fn millis(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const MS: Duration = Duration::from_millis(1);

    fn check(
        status: &str,
        body: Option<BodyExpectation>,
        max_ms: Option<u64>,
        got: (u16, &str, u64),
    ) -> Result<(), String> {
        let set = StatusSet::parse(status).map_err(|e| e.to_string())?;
        let r = evaluate_http(
            HttpExpectations {
                status: &set,
                body: body.as_ref(),
                max_latency: max_ms.map(Duration::from_millis),
            },
            HttpAnswer {
                status: got.0,
                body: got.1.as_bytes(),
                truncated: false,
                latency: Duration::from_millis(got.2),
            },
        );
        assert_eq!(r.ok, r.reason.is_none());
        assert!(r.detail.is_some());
        r.reason.map_or(Ok(()), Err)
    }

    fn kw(s: &str) -> Option<BodyExpectation> {
        Some(BodyExpectation::Keyword(s.to_owned()))
    }

    fn jp(p: &str, v: serde_json::Value) -> Option<BodyExpectation> {
        BodyExpectation::json_path(p, v).ok()
    }

    /// Accepted statuses, body expectation, latency limit (ms), the
    /// answer (status, body, ms) and the verdict.
    type Case = (
        &'static str,
        Option<BodyExpectation>,
        Option<u64>,
        (u16, &'static str, u64),
        Result<(), &'static str>,
    );

    #[test]
    fn http_answers_are_judged() {
        let cases: Vec<Case> = vec![
            ("200-399", None, None, (200, "", 5), Ok(())),
            (
                "200-399",
                None,
                None,
                (503, "", 5),
                Err("expected status 200–399, got 503"),
            ),
            (
                "200",
                None,
                None,
                (201, "", 5),
                Err("expected status 200, got 201"),
            ),
            ("200,404", None, None, (404, "", 5), Ok(())),
            (
                "200",
                None,
                Some(100),
                (200, "", 150),
                Err("too slow: answered in 150 ms, over the 100 ms limit"),
            ),
            ("200", None, Some(100), (200, "", 100), Ok(())),
            ("200", kw("healthy"), None, (200, "all healthy", 5), Ok(())),
            (
                "200",
                kw("healthy"),
                None,
                (200, "sick", 5),
                Err("keyword \"healthy\" not found in the body"),
            ),
            (
                "200",
                BodyExpectation::regex("^v[0-9]+$").ok(),
                None,
                (200, "v12", 5),
                Ok(()),
            ),
            (
                "200",
                BodyExpectation::regex("^v[0-9]+$").ok(),
                None,
                (200, "x", 5),
                Err("body does not match /^v[0-9]+$/"),
            ),
            (
                "200",
                jp("$.db.ok", json!(true)),
                None,
                (200, r#"{"db":{"ok":true}}"#, 5),
                Ok(()),
            ),
            (
                "200",
                jp("$.db.ok", json!(true)),
                None,
                (200, r#"{"db":{"ok":false}}"#, 5),
                Err("$.db.ok: expected true, got false"),
            ),
            (
                "200",
                jp("$.n[1]", json!(2)),
                None,
                (200, r#"{"n":[1]}"#, 5),
                Err("$.n[1] not found in the body"),
            ),
            // Status is judged before the body.
            (
                "200",
                kw("x"),
                None,
                (500, "nope", 5),
                Err("expected status 200, got 500"),
            ),
        ];
        for (status, body, max, got, want) in cases {
            assert_eq!(
                check(status, body, max, got),
                want.map_err(str::to_owned),
                "{got:?}"
            );
        }
        let not_json = check("200", jp("$.a", json!(1)), None, (200, "<html>", 5));
        assert!(not_json.is_err_and(|r| r.starts_with("body is not JSON")));
    }

    #[test]
    fn dns_answers_are_judged() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert!(evaluate_dns("a.test A", &[], &s(&["10.0.0.1"]), MS).ok);
        assert!(evaluate_dns("a.test CNAME", &s(&["B.test"]), &s(&["b.test."]), MS).ok);
        let r = evaluate_dns("a.test A", &s(&["10.0.0.2"]), &s(&["10.0.0.1"]), MS);
        assert_eq!(
            r.reason.as_deref(),
            Some("a.test A: expected 10.0.0.2, got 10.0.0.1")
        );
        let r = evaluate_dns("a.test A", &[], &[], MS);
        assert_eq!(r.reason.as_deref(), Some("a.test A: no answers"));
    }

    #[test]
    fn expiry_is_judged() {
        let now: Timestamp = "2026-11-22T09:00:00Z"
            .parse()
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let at = |days: i64| now + SignedDuration::from_hours(24 * days);
        let r = evaluate_expiry(at(3), now, 14, MS);
        assert_eq!(
            r.reason.as_deref(),
            Some("certificate expires on 2026-11-25 09:00 UTC, in 3 days (warning at 14 days)")
        );
        assert!(evaluate_expiry(at(90), now, 14, MS).ok);
        assert!(evaluate_expiry(at(14), now, 14, MS).ok);
        assert!(!evaluate_expiry(at(14) - SignedDuration::from_secs(1), now, 14, MS).ok);
        let r = evaluate_expiry(at(-2), now, 14, MS);
        assert_eq!(
            r.reason.as_deref(),
            Some("certificate expired on 2026-11-20 09:00 UTC (2 days ago)")
        );
    }
}
