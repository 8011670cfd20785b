#![allow(clippy::unwrap_used)]

use super::*;
use crate::catalog::{Heartbeat, Object, validate};
use jiff::tz::TimeZone;

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

fn period(p: i64, grace: i64) -> Rule {
    Rule {
        expect: Expect::Period(mins(p)),
        grace: mins(grace),
        paused: false,
    }
}

fn ping(kind: PingKind, t: &str, rid: Option<&str>) -> Ping {
    Ping {
        kind,
        at: at(t),
        rid: rid.map(str::to_owned),
    }
}

fn heartbeat(yaml_like: &[(&str, &str)]) -> Heartbeat {
    let mut spec = serde_json::json!({"name": "nightly-backup", "service": "db", "grace": "5m"});
    for (k, v) in yaml_like {
        spec[*k] = serde_json::Value::String((*v).to_owned());
    }
    serde_json::from_value(spec).unwrap()
}

fn problems(h: Heartbeat) -> Vec<(String, String)> {
    let existing = [(
        crate::catalog::Kind::Service,
        crate::Name::parse("db").unwrap(),
    )]
    .into();
    validate(&[Object::Heartbeat(h)], &existing)
        .into_iter()
        .map(|p| (p.path, p.message))
        .collect()
}

#[test]
fn new_heartbeat_is_never_late() {
    let s = State::default();
    let rule = period(60, 5);
    assert_eq!(s.status(&rule, at("2030-01-01T00:00:00Z")), Status::New);
    assert_eq!(s.next_change(&rule, at("2030-01-01T00:00:00Z")), None);
    // A log line is not a success: still new.
    let (s, _) = s.ping(&ping(PingKind::Log, "2026-01-01T00:00:00Z", None));
    assert_eq!(s.status(&rule, at("2030-01-01T00:00:00Z")), Status::New);
}

#[test]
fn period_up_late_down() {
    let rule = period(60, 5);
    let (s, _) = State::default().ping(&ping(PingKind::Success, "2026-01-01T00:00:00Z", None));
    let check = [
        ("2026-01-01T00:59:59Z", Status::Up),
        ("2026-01-01T01:00:00Z", Status::Late),
        ("2026-01-01T01:04:59Z", Status::Late),
        ("2026-01-01T01:05:00Z", Status::Down),
    ];
    for (t, want) in check {
        assert_eq!(s.status(&rule, at(t)), want, "at {t}");
    }
    assert_eq!(
        s.next_change(&rule, at("2026-01-01T00:10:00Z")),
        Some(at("2026-01-01T01:00:00Z"))
    );
    assert_eq!(
        s.next_change(&rule, at("2026-01-01T01:00:00Z")),
        Some(at("2026-01-01T01:05:00Z"))
    );
    assert_eq!(s.next_change(&rule, at("2026-01-01T01:05:00Z")), None);
    // The next success brings it back up.
    let (s, _) = s.ping(&ping(PingKind::Success, "2026-01-01T02:00:00Z", None));
    assert_eq!(s.status(&rule, at("2026-01-01T02:00:01Z")), Status::Up);
}

#[test]
fn fail_is_down_at_once_until_a_success() {
    let rule = period(60, 5);
    let (s, _) = State::default().ping(&ping(PingKind::Success, "2026-01-01T00:00:00Z", None));
    let (s, _) = s.ping(&ping(PingKind::Fail, "2026-01-01T00:10:00Z", None));
    assert_eq!(s.status(&rule, at("2026-01-01T00:10:00Z")), Status::Down);
    assert_eq!(s.next_change(&rule, at("2026-01-01T00:10:00Z")), None);
    // A start does not clear a failure; a log neither.
    let (s, _) = s.ping(&ping(PingKind::Start, "2026-01-01T00:20:00Z", None));
    let (s, _) = s.ping(&ping(PingKind::Log, "2026-01-01T00:21:00Z", None));
    assert_eq!(s.status(&rule, at("2026-01-01T00:21:00Z")), Status::Down);
    let (s, effect) = s.ping(&ping(PingKind::Success, "2026-01-01T00:30:00Z", None));
    assert_eq!(effect.duration, Some(mins(10)));
    assert_eq!(s.status(&rule, at("2026-01-01T00:30:00Z")), Status::Up);
}

#[test]
fn a_run_that_never_finishes_is_late_after_the_grace() {
    let rule = period(60, 5);
    let (s, _) = State::default().ping(&ping(PingKind::Success, "2026-01-01T00:00:00Z", None));
    let (s, _) = s.ping(&ping(PingKind::Start, "2026-01-01T00:10:00Z", None));
    assert_eq!(s.status(&rule, at("2026-01-01T00:14:59Z")), Status::Up);
    assert_eq!(s.status(&rule, at("2026-01-01T00:15:00Z")), Status::Late);
    assert_eq!(s.status(&rule, at("2026-01-01T00:20:00Z")), Status::Down);
    // Never pinged before: a start alone is up, then late.
    let (s, _) = State::default().ping(&ping(PingKind::Start, "2026-01-01T00:00:00Z", None));
    assert_eq!(s.status(&rule, at("2026-01-01T00:01:00Z")), Status::Up);
    assert_eq!(s.status(&rule, at("2026-01-01T00:06:00Z")), Status::Late);
}

#[test]
fn run_ids_tie_starts_to_their_ends() {
    let (s, _) = State::default().ping(&ping(PingKind::Start, "2026-01-01T00:00:00Z", Some("a")));
    let (s, _) = s.ping(&ping(PingKind::Start, "2026-01-01T00:01:00Z", Some("b")));
    let (s, e) = s.ping(&ping(PingKind::Success, "2026-01-01T00:03:00Z", Some("a")));
    assert_eq!(e.duration, Some(mins(3)));
    let (s, e) = s.ping(&ping(PingKind::Fail, "2026-01-01T00:04:00Z", Some("b")));
    assert_eq!(e.duration, Some(mins(3)));
    assert!(s.runs.is_empty());
    // An end with an unknown rid measures nothing.
    let (_, e) = s.ping(&ping(PingKind::Success, "2026-01-01T00:05:00Z", Some("c")));
    assert_eq!(e.duration, None);
}

#[test]
fn open_runs_are_bounded() {
    let mut s = State::default();
    for i in 0..(MAX_OPEN_RUNS + 5) {
        let rid = format!("r{i}");
        s = s
            .ping(&ping(PingKind::Start, "2026-01-01T00:00:00Z", Some(&rid)))
            .0;
    }
    assert_eq!(s.runs.len(), MAX_OPEN_RUNS);
    assert_eq!(s.runs[0].rid.as_deref(), Some("r5"));
}

#[test]
fn paused_ignores_time() {
    let mut rule = period(60, 5);
    rule.paused = true;
    let (s, _) = State::default().ping(&ping(PingKind::Fail, "2026-01-01T00:00:00Z", None));
    assert_eq!(s.status(&rule, at("2027-01-01T00:00:00Z")), Status::Paused);
    assert_eq!(s.next_change(&rule, at("2026-01-01T00:00:00Z")), None);
}

#[test]
fn cron_next_expected_in_its_zone() {
    let tz = TimeZone::get("Europe/Berlin").unwrap();
    let e = Expect::cron("0 3 * * *", tz).unwrap();
    // 03:00 Berlin in winter is 02:00 UTC.
    assert_eq!(
        e.next_after(at("2026-01-10T12:00:00Z")),
        Some(at("2026-01-11T02:00:00Z"))
    );
    let weekdays = Expect::cron("30 8 * * MON-FRI", TimeZone::UTC).unwrap();
    // Friday 09:00 → Monday 08:30.
    assert_eq!(
        weekdays.next_after(at("2026-01-09T09:00:00Z")),
        Some(at("2026-01-12T08:30:00Z"))
    );
}

#[test]
fn cron_across_spring_forward_runs_at_the_end_of_the_gap() {
    // Europe/Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    let tz = TimeZone::get("Europe/Berlin").unwrap();
    let e = Expect::cron("30 2 * * *", tz).unwrap();
    // The day before: 02:30 CET = 01:30 UTC.
    assert_eq!(
        e.next_after(at("2026-03-27T12:00:00Z")),
        Some(at("2026-03-28T01:30:00Z"))
    );
    // On the day 02:30 does not exist: expected at 03:00 CEST = 01:00 UTC
    // (croner's rule, what cron daemons do), not jiff's 03:30.
    assert_eq!(
        e.next_after(at("2026-03-28T12:00:00Z")),
        Some(at("2026-03-29T01:00:00Z"))
    );
    // The day after: 02:30 CEST = 00:30 UTC.
    assert_eq!(
        e.next_after(at("2026-03-29T12:00:00Z")),
        Some(at("2026-03-30T00:30:00Z"))
    );
}

#[test]
fn cron_across_fall_back_is_expected_once() {
    // Europe/Berlin, 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30
    // happens twice (00:30 and 01:30 UTC).
    let tz = TimeZone::get("Europe/Berlin").unwrap();
    let e = Expect::cron("30 2 * * *", tz).unwrap();
    let first = e.next_after(at("2026-10-24T12:00:00Z")).unwrap();
    assert_eq!(first, at("2026-10-25T00:30:00Z"));
    // After the first 02:30 the next one is the next day's.
    assert_eq!(e.next_after(first), Some(at("2026-10-26T01:30:00Z")));
}

#[test]
fn cron_heartbeat_late_and_down_on_a_dst_day() {
    let tz = TimeZone::get("Europe/Berlin").unwrap();
    let rule = Rule {
        expect: Expect::cron("30 2 * * *", tz).unwrap(),
        grace: mins(10),
        paused: false,
    };
    let (s, _) = State::default().ping(&ping(PingKind::Success, "2026-03-28T01:31:00Z", None));
    assert_eq!(s.expected(&rule), Some(at("2026-03-29T01:00:00Z")));
    assert_eq!(s.status(&rule, at("2026-03-29T00:59:00Z")), Status::Up);
    assert_eq!(s.status(&rule, at("2026-03-29T01:05:00Z")), Status::Late);
    assert_eq!(s.status(&rule, at("2026-03-29T01:10:00Z")), Status::Down);
}

#[test]
fn ping_paths() {
    let u = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
    let uuid = PingTarget::Uuid(uuid::Uuid::try_parse(u).unwrap());
    let check = [
        (u.to_owned(), Some((PingKind::Success, None))),
        (format!("{u}/start"), Some((PingKind::Start, None))),
        (format!("{u}/fail"), Some((PingKind::Fail, None))),
        (format!("{u}/log"), Some((PingKind::Log, None))),
        (format!("{u}/0"), Some((PingKind::Success, Some(0)))),
        (format!("{u}/1"), Some((PingKind::Fail, Some(1)))),
        (format!("{u}/255"), Some((PingKind::Fail, Some(255)))),
        (format!("{u}/256"), None),
        (format!("{u}/-1"), None),
        (format!("{u}/stop"), None),
        (format!("{u}/"), None),
        (format!("{u}/fail/x"), None),
    ];
    for (path, want) in check {
        let got = parse_ping_path(&path).map(|p| {
            assert_eq!(p.target, uuid, "{path}");
            (p.kind, p.exit_status)
        });
        assert_eq!(got, want, "{path}");
    }
    let slug = parse_ping_path("abcdefghijklmnopqrstuv/nightly-backup/start").unwrap();
    assert_eq!(
        slug.target,
        PingTarget::Slug {
            key: "abcdefghijklmnopqrstuv".into(),
            slug: "nightly-backup".into()
        }
    );
    assert_eq!(slug.kind, PingKind::Start);
    assert!(parse_ping_path("only-a-key").is_none());
    assert!(parse_ping_path("key/sl ug").is_none());
}

#[test]
fn validation_names_each_bad_field() {
    assert!(problems(heartbeat(&[("period", "1h")])).is_empty());
    assert!(
        problems(heartbeat(&[
            ("schedule", "0 3 * * *"),
            ("time_zone", "Europe/Berlin")
        ]))
        .is_empty()
    );
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: [Case; 8] = [
        (
            &[("schedule", "61 * * * *")],
            "schedule",
            "not a cron expression",
        ),
        (
            &[("schedule", "0 3 * * *"), ("time_zone", "Mars/Olympus")],
            "time_zone",
            "not a known IANA time zone",
        ),
        (
            &[("period", "1h"), ("grace", "0s")],
            "grace",
            "longer than zero",
        ),
        (
            &[("period", "1h"), ("grace", "-5m")],
            "grace",
            "longer than zero",
        ),
        (&[("period", "soon")], "period", "not a span"),
        (&[], "period", "needs a period"),
        (
            &[("period", "1h"), ("schedule", "0 3 * * *")],
            "schedule",
            "not both",
        ),
        (&[("period", "1h"), ("uuid", "nope")], "uuid", "not a UUID"),
    ];
    for (fields, path, words) in cases {
        let got = problems(heartbeat(fields));
        assert!(
            got.iter().any(|(p, m)| p == path && m.contains(words)),
            "{fields:?}: {got:?}"
        );
    }
    let mut big = heartbeat(&[("period", "1h")]);
    big.max_log_bytes = Some(MAX_LOG_BYTES + 1);
    assert_eq!(problems(big)[0].0, "max_log_bytes");
}

#[test]
fn a_uuid_declared_twice_is_refused() {
    let u = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
    let a = heartbeat(&[("period", "1h"), ("uuid", u)]);
    let mut b = a.clone();
    b.name = crate::Name::parse("other").unwrap();
    let existing = [(
        crate::catalog::Kind::Service,
        crate::Name::parse("db").unwrap(),
    )]
    .into();
    let got = validate(&[Object::Heartbeat(a), Object::Heartbeat(b)], &existing);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].object, got[0].path.as_str()), (1, "uuid"));
}

#[test]
fn rule_from_declaration() {
    let h = heartbeat(&[("period", "1d")]);
    let rule = h.rule().unwrap();
    assert_eq!(rule.expect, Expect::Period(SignedDuration::from_hours(24)));
    assert_eq!(rule.grace, mins(5));
    assert_eq!(h.log_limit(), DEFAULT_MAX_LOG_BYTES);
}
