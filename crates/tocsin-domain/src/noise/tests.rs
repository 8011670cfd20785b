use super::*;
use crate::Name;
use crate::catalog::{MaintenanceWindow, Object, Repeat, Silence};
use jiff::Timestamp;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn m(s: &str) -> Matcher {
    Matcher::parse(s).unwrap()
}

// --- matchers -------------------------------------------------------------

#[test]
fn parses_every_operator() {
    for (text, label, op, value) in [
        (
            "alertname=\"DiskFull\"",
            "alertname",
            MatchOp::Equal,
            "DiskFull",
        ),
        ("env!=staging", "env", MatchOp::NotEqual, "staging"),
        ("instance=~\"db-.*\"", "instance", MatchOp::Regex, "db-.*"),
        ("job!~\"test.*\"", "job", MatchOp::NotRegex, "test.*"),
        ("  env  =  prod  ", "env", MatchOp::Equal, "prod"),
        ("env=", "env", MatchOp::Equal, ""),
        ("env=\"\"", "env", MatchOp::Equal, ""),
        ("_x1=a b", "_x1", MatchOp::Equal, "a b"),
        (
            "msg=\"say \\\"hi\\\" \\\\ now\\n\"",
            "msg",
            MatchOp::Equal,
            "say \"hi\" \\ now\n",
        ),
        ("msg=\"a=b, c\"", "msg", MatchOp::Equal, "a=b, c"),
        // Like Alertmanager: the operator is `=`, the value `=x`.
        ("env==x", "env", MatchOp::Equal, "=x"),
    ] {
        let got = m(text);
        assert_eq!(
            (got.label.as_str(), got.op, got.value.as_str()),
            (label, op, value),
            "{text}"
        );
    }
}

#[test]
fn quotes_are_optional() {
    assert_eq!(m("env=prod"), m("env=\"prod\""));
    assert_eq!(m("instance=~db-.*"), m("instance=~\"db-.*\""));
}

#[test]
fn display_is_canonical_and_reads_back() {
    for (text, shown) in [
        ("env = prod", "env=\"prod\""),
        ("env!=staging", "env!=\"staging\""),
        ("instance=~db-.*", "instance=~\"db-.*\""),
        ("job !~ \"test.*\"", "job!~\"test.*\""),
        ("msg=\"say \\\"hi\\\"\\n\"", "msg=\"say \\\"hi\\\"\\n\""),
    ] {
        let parsed = m(text);
        assert_eq!(parsed.to_string(), shown);
        assert_eq!(m(&parsed.to_string()), parsed);
    }
}

#[test]
fn parse_errors_say_what_is_wrong() {
    let err = |s: &str| Matcher::parse(s).unwrap_err();
    assert!(err("").contains("empty matcher"), "{}", err(""));
    assert_eq!(
        err("env"),
        "\"env\" has no operator; use one of =, !=, =~, !~"
    );
    assert_eq!(
        err("env<>prod"),
        "unknown operator \"<>\"; use one of =, !=, =~, !~"
    );
    assert_eq!(
        err("env~=prod"),
        "unknown operator \"~=\"; use one of =, !=, =~, !~"
    );
    assert_eq!(
        err("env!prod"),
        "unknown operator \"!\"; use one of =, !=, =~, !~"
    );
    assert_eq!(
        err("=prod"),
        "\"=prod\" has no label name before the operator"
    );
    for bad in ["1env=x", "env-name=x", "my env=x", "énv=x"] {
        assert!(
            err(bad).contains("is not a label name"),
            "{bad}: {}",
            err(bad)
        );
    }
    assert_eq!(err("env=\"prod"), "the value \"prod has no closing quote");
    assert_eq!(
        err("env=\"prod\" x"),
        "unexpected \"x\" after the closing quote of the value"
    );
    assert!(err("env=\"a\\tb\"").contains("unknown escape \\t"));
    assert_eq!(
        err("instance=~\"db-(\""),
        "\"db-(\" is not a valid regular expression: unclosed group"
    );
    assert!(err("job!~\"[z-a]\"").starts_with("\"[z-a]\" is not a valid regular expression: "));
}

#[test]
fn an_absent_label_is_the_empty_string() {
    let none = labels(&[]);
    assert!(m("env=\"\"").matches(&none));
    assert!(m("env!=prod").matches(&none));
    assert!(!m("env=prod").matches(&none));
    assert!(m("env=~\".*\"").matches(&none));
    assert!(m("env=~\"|prod\"").matches(&none));
    assert!(!m("env=~\".+\"").matches(&none));
    assert!(m("env!~\".+\"").matches(&none));
    let with = labels(&[("env", "")]);
    assert!(m("env=\"\"").matches(&with));
}

#[test]
fn regexes_match_the_whole_value() {
    let db1 = labels(&[("instance", "db-1")]);
    assert!(!m("instance=~\"db\"").matches(&db1));
    assert!(m("instance!~\"db\"").matches(&db1));
    assert!(m("instance=~\"db-.*\"").matches(&db1));
    assert!(m("instance=~\"db-1|web-1\"").matches(&db1));
    // The alternation is anchored as a whole, not only its ends.
    assert!(!m("instance=~\"x|db\"").matches(&db1));
    assert!(!m("instance=~\"b-1\"").matches(&db1));
    assert!(m("instance=~\"(?i)DB-1\"").matches(&db1));
}

#[test]
fn equality_is_exact() {
    let l = labels(&[("env", "prod")]);
    assert!(m("env=prod").matches(&l));
    assert!(!m("env=Prod").matches(&l));
    assert!(!m("env=pro").matches(&l));
    assert!(m("env!=staging").matches(&l));
    assert!(!m("env!=prod").matches(&l));
}

// --- silences -------------------------------------------------------------

fn silence(matchers: &[&str], starts_at: Option<&str>, ends_at: &str) -> Silence {
    Silence {
        name: n("quiet"),
        matchers: matchers.iter().map(|s| (*s).to_owned()).collect(),
        starts_at: starts_at.map(str::to_owned),
        ends_at: ends_at.to_owned(),
        comment: None,
        created_by: None,
    }
}

#[test]
fn a_silence_is_active_from_its_start_until_its_end() {
    let r = SilenceRule::compile(&silence(
        &["env=prod"],
        Some("2026-03-01T10:00:00Z"),
        "2026-03-01T12:00:00Z",
    ))
    .unwrap();
    assert!(!r.active_at(ts("2026-03-01T09:59:59.999Z")));
    assert!(r.active_at(ts("2026-03-01T10:00:00Z")));
    assert!(r.active_at(ts("2026-03-01T11:59:59Z")));
    assert!(!r.active_at(ts("2026-03-01T12:00:00Z")));

    let open = SilenceRule::compile(&silence(&["env=prod"], None, "2026-03-01T12:00:00Z")).unwrap();
    assert!(open.active_at(ts("1990-01-01T00:00:00Z")));
    assert!(!open.active_at(ts("2026-03-01T12:00:00Z")));
}

#[test]
fn a_silence_needs_every_matcher() {
    let r = SilenceRule::compile(&silence(
        &["alertname=DiskFull", "instance=~\"db-.*\""],
        None,
        "2030-01-01T00:00:00Z",
    ))
    .unwrap();
    assert!(r.matches(&labels(&[("alertname", "DiskFull"), ("instance", "db-2")])));
    assert!(!r.matches(&labels(&[("alertname", "DiskFull"), ("instance", "web-2")])));
    assert!(!r.matches(&labels(&[("instance", "db-2")])));
}

#[test]
fn silences_that_do_not_compile_say_why() {
    let err = |s: Silence| SilenceRule::compile(&s).unwrap_err();
    assert_eq!(
        err(silence(&[], None, "2030-01-01T00:00:00Z")),
        "matchers: a silence needs at least one matcher"
    );
    assert!(
        err(silence(&["env=a", "env<b"], None, "2030-01-01T00:00:00Z"))
            .starts_with("matchers[1]: unknown operator")
    );
    assert!(
        err(silence(
            &["env=\"\"", "job=~\".*\""],
            None,
            "2030-01-01T00:00:00Z"
        ))
        .starts_with("matchers: every matcher also matches an empty")
    );
    assert_eq!(
        err(silence(&["env=prod"], None, "tomorrow")),
        "ends_at: \"tomorrow\" is not an RFC 3339 instant"
    );
    assert_eq!(
        err(silence(
            &["env=prod"],
            Some("2026-03-01T12:00:00Z"),
            "2026-03-01T12:00:00Z"
        )),
        "ends_at: must be after starts_at"
    );
}

// --- maintenance windows --------------------------------------------------

fn window(starts_at: &str, duration: &str, tz: Option<&str>, repeat: Repeat) -> MaintenanceWindow {
    MaintenanceWindow {
        name: n("patching"),
        services: vec![n("postgres")],
        starts_at: starts_at.to_owned(),
        duration: duration.to_owned(),
        time_zone: tz.map(str::to_owned),
        repeat,
        until: None,
        reason: None,
        created_by: None,
    }
}

fn rule(w: &MaintenanceWindow) -> WindowRule {
    WindowRule::compile(w).unwrap()
}

fn occ(r: &WindowRule, t: &str) -> Option<(String, String)> {
    r.occurrence_at(ts(t))
        .map(|(s, e)| (s.to_string(), e.to_string()))
}

fn span(s: &str, e: &str) -> Option<(String, String)> {
    Some((ts(s).to_string(), ts(e).to_string()))
}

#[test]
fn a_one_off_window() {
    let r = rule(&window(
        "2026-05-10T22:00",
        "2h",
        Some("Europe/Berlin"),
        Repeat::None,
    ));
    // 22:00 CEST is 20:00 UTC.
    assert_eq!(r.first, ts("2026-05-10T20:00:00Z"));
    assert_eq!(occ(&r, "2026-05-10T19:59:59Z"), None);
    assert_eq!(
        occ(&r, "2026-05-10T20:00:00Z"),
        span("2026-05-10T20:00:00Z", "2026-05-10T22:00:00Z")
    );
    assert_eq!(occ(&r, "2026-05-10T22:00:00Z"), None);
    assert_eq!(occ(&r, "2027-05-10T21:00:00Z"), None);
    assert_eq!(
        r.next_after(ts("2026-01-01T00:00:00Z")),
        Some((ts("2026-05-10T20:00:00Z"), ts("2026-05-10T22:00:00Z")))
    );
    assert_eq!(r.next_after(ts("2026-05-10T20:00:00Z")), None);
    assert!(r.covers(&n("postgres")));
    assert!(!r.covers(&n("kafka")));
}

#[test]
fn an_instant_start_is_taken_as_is() {
    let r = rule(&window(
        "2026-05-10T22:00:00+02:00",
        "30m",
        Some("UTC"),
        Repeat::Daily,
    ));
    assert_eq!(r.first, ts("2026-05-10T20:00:00Z"));
    assert_eq!(
        occ(&r, "2026-05-12T20:10:00Z"),
        span("2026-05-12T20:00:00Z", "2026-05-12T20:30:00Z")
    );
}

#[test]
fn daily_windows_keep_their_local_time_across_dst() {
    // 01:00–03:00 local, every night, Berlin; summer time starts on
    // 2026-03-29 (02:00 → 03:00).
    let r = rule(&window(
        "2026-03-27T01:00",
        "2h",
        Some("Europe/Berlin"),
        Repeat::Daily,
    ));
    assert_eq!(
        occ(&r, "2026-03-28T00:30:00Z"),
        span("2026-03-28T00:00:00Z", "2026-03-28T02:00:00Z")
    );
    // The night of the change: 01:00 CET = 00:00Z, lasting 2 real hours
    // (until 04:00 CEST on the wall clock).
    assert_eq!(
        occ(&r, "2026-03-29T01:59:00Z"),
        span("2026-03-29T00:00:00Z", "2026-03-29T02:00:00Z")
    );
    // The next night: 01:00 CEST = 23:00Z.
    assert_eq!(
        occ(&r, "2026-03-29T23:30:00Z"),
        span("2026-03-29T23:00:00Z", "2026-03-30T01:00:00Z")
    );
    assert_eq!(occ(&r, "2026-03-29T22:59:59Z"), None);
}

#[test]
fn a_local_start_in_the_spring_gap_resolves_after_it() {
    // 02:30 does not exist in Berlin on 2026-03-29: that occurrence starts
    // at 03:30 CEST (01:30Z); the days around it start at 02:30 local.
    let r = rule(&window(
        "2026-03-27T02:30",
        "1h",
        Some("Europe/Berlin"),
        Repeat::Daily,
    ));
    assert_eq!(
        occ(&r, "2026-03-28T01:45:00Z"),
        span("2026-03-28T01:30:00Z", "2026-03-28T02:30:00Z")
    );
    assert_eq!(
        occ(&r, "2026-03-29T01:45:00Z"),
        span("2026-03-29T01:30:00Z", "2026-03-29T02:30:00Z")
    );
    assert_eq!(occ(&r, "2026-03-29T00:45:00Z"), None);
    assert_eq!(
        occ(&r, "2026-03-30T00:45:00Z"),
        span("2026-03-30T00:30:00Z", "2026-03-30T01:30:00Z")
    );
    // A first start written in the gap resolves the same way.
    let first = rule(&window(
        "2026-03-29T02:30",
        "1h",
        Some("Europe/Berlin"),
        Repeat::Daily,
    ));
    assert_eq!(first.first, ts("2026-03-29T01:30:00Z"));
    assert_eq!(
        first.next_after(first.first),
        Some((ts("2026-03-30T00:30:00Z"), ts("2026-03-30T01:30:00Z")))
    );
}

#[test]
fn a_window_across_the_autumn_fold_lasts_exact_time() {
    // Winter time starts on 2026-10-25 (03:00 CEST → 02:00 CET). 01:30 CEST
    // (23:30Z) + 2h = 01:30Z, which the wall clock shows as 02:30 CET.
    let r = rule(&window(
        "2026-10-24T01:30",
        "2h",
        Some("Europe/Berlin"),
        Repeat::Daily,
    ));
    assert_eq!(
        occ(&r, "2026-10-25T01:00:00Z"),
        span("2026-10-24T23:30:00Z", "2026-10-25T01:30:00Z")
    );
    assert_eq!(occ(&r, "2026-10-25T01:30:00Z"), None);
    // A start in the fold (02:30 happens twice) takes the first, CEST.
    let fold = rule(&window(
        "2026-10-24T02:30",
        "1h",
        Some("Europe/Berlin"),
        Repeat::Daily,
    ));
    assert_eq!(
        occ(&fold, "2026-10-25T00:45:00Z"),
        span("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z")
    );
    // After the fold: 02:30 CET = 01:30Z.
    assert_eq!(
        occ(&fold, "2026-10-26T01:45:00Z"),
        span("2026-10-26T01:30:00Z", "2026-10-26T02:30:00Z")
    );
}

#[test]
fn weekly_windows() {
    // Sundays 03:00–05:00 Berlin, from 2026-03-22 (a Sunday).
    let r = rule(&window(
        "2026-03-22T03:00",
        "2h",
        Some("Europe/Berlin"),
        Repeat::Weekly,
    ));
    assert_eq!(
        occ(&r, "2026-03-22T03:00:00Z"),
        span("2026-03-22T02:00:00Z", "2026-03-22T04:00:00Z")
    );
    // A week later is summer time: 03:00 CEST = 01:00Z.
    assert_eq!(
        occ(&r, "2026-03-29T01:00:00Z"),
        span("2026-03-29T01:00:00Z", "2026-03-29T03:00:00Z")
    );
    assert_eq!(occ(&r, "2026-03-29T03:00:00Z"), None);
    assert_eq!(occ(&r, "2026-03-25T02:30:00Z"), None);
    assert_eq!(
        r.next_after(ts("2026-03-22T02:30:00Z")),
        Some((ts("2026-03-29T01:00:00Z"), ts("2026-03-29T03:00:00Z")))
    );
    // Years later, still a Sunday at 03:00 local.
    assert_eq!(
        occ(&r, "2041-06-02T01:30:00Z"),
        span("2041-06-02T01:00:00Z", "2041-06-02T03:00:00Z")
    );
}

#[test]
fn monthly_windows_clamp_to_the_end_of_the_month() {
    let r = rule(&window(
        "2026-01-31T22:00",
        "3h",
        Some("UTC"),
        Repeat::Monthly,
    ));
    for (t, s, e) in [
        (
            "2026-01-31T23:00:00Z",
            "2026-01-31T22:00:00Z",
            "2026-02-01T01:00:00Z",
        ),
        (
            "2026-02-28T22:30:00Z",
            "2026-02-28T22:00:00Z",
            "2026-03-01T01:00:00Z",
        ),
        (
            "2026-03-31T22:30:00Z",
            "2026-03-31T22:00:00Z",
            "2026-04-01T01:00:00Z",
        ),
        (
            "2026-04-30T22:30:00Z",
            "2026-04-30T22:00:00Z",
            "2026-05-01T01:00:00Z",
        ),
        (
            "2028-02-29T22:30:00Z",
            "2028-02-29T22:00:00Z",
            "2028-03-01T01:00:00Z",
        ),
        (
            "2036-12-31T23:30:00Z",
            "2036-12-31T22:00:00Z",
            "2037-01-01T01:00:00Z",
        ),
    ] {
        assert_eq!(occ(&r, t), span(s, e), "{t}");
    }
    // Not on the 28th of a long month, nor drifting to it after February.
    assert_eq!(occ(&r, "2026-03-28T22:30:00Z"), None);
    assert_eq!(occ(&r, "2026-02-27T22:30:00Z"), None);
    assert_eq!(
        r.next_after(ts("2026-02-01T00:00:00Z")),
        Some((ts("2026-02-28T22:00:00Z"), ts("2026-03-01T01:00:00Z")))
    );
}

#[test]
fn until_bounds_the_starts() {
    let mut w = window(
        "2026-06-01T22:00",
        "4h",
        Some("Europe/Berlin"),
        Repeat::Daily,
    );
    w.until = Some("2026-06-03".into());
    let r = rule(&w);
    // The 3rd still happens (inclusive), and runs past midnight.
    assert_eq!(
        occ(&r, "2026-06-03T21:00:00Z"),
        span("2026-06-03T20:00:00Z", "2026-06-04T00:00:00Z")
    );
    assert_eq!(occ(&r, "2026-06-04T21:00:00Z"), None);
    assert_eq!(r.next_after(ts("2026-06-03T20:00:00Z")), None);
    assert_eq!(
        r.next_after(ts("2026-06-02T21:00:00Z")),
        Some((ts("2026-06-03T20:00:00Z"), ts("2026-06-04T00:00:00Z")))
    );

    // An instant: starts at or before it happen.
    w.until = Some("2026-06-02T20:00:00Z".into());
    let r = rule(&w);
    assert!(r.occurrence_at(ts("2026-06-02T21:00:00Z")).is_some());
    assert!(r.occurrence_at(ts("2026-06-03T21:00:00Z")).is_none());
    w.until = Some("2026-06-02T19:59:59Z".into());
    let r = rule(&w);
    assert!(r.occurrence_at(ts("2026-06-02T21:00:00Z")).is_none());
    assert!(r.occurrence_at(ts("2026-06-01T21:00:00Z")).is_some());
}

#[test]
fn windows_that_do_not_compile_say_why() {
    let err = |w: MaintenanceWindow| WindowRule::compile(&w).unwrap_err();
    assert!(
        err(window(
            "2026-06-01T22:00",
            "2h",
            Some("Mars/Olympus"),
            Repeat::None
        ))
        .starts_with("time_zone: ")
    );
    assert!(err(window("next monday", "2h", None, Repeat::None)).starts_with("starts_at: "));
    assert!(err(window("2026-06-01", "2h", None, Repeat::None)).starts_with("starts_at: "));
    assert_eq!(
        err(window("2026-06-01T22:00", "soon", None, Repeat::None)),
        "duration: \"soon\" is not a span; write e.g. 1d, 1w, 12h"
    );
    assert_eq!(
        err(window("2026-06-01T22:00", "0h", None, Repeat::None)),
        "duration: must be longer than zero"
    );
    assert!(err(window("2026-06-01T22:00", "1mo", None, Repeat::None)).contains("fixed length"));
    assert_eq!(
        err(window("2026-06-01T22:00", "25h", None, Repeat::Daily)),
        "duration: lasts longer than the repeat period (a day): occurrences would overlap"
    );
    assert!(WindowRule::compile(&window("2026-06-01T22:00", "24h", None, Repeat::Daily)).is_ok());
    assert!(WindowRule::compile(&window("2026-06-01T22:00", "8d", None, Repeat::Weekly)).is_err());
    assert!(
        WindowRule::compile(&window("2026-06-01T22:00", "29d", None, Repeat::Monthly)).is_err()
    );
    let mut w = window("2026-06-01T22:00", "2h", None, Repeat::Daily);
    w.until = Some("2026-05-31".into());
    assert!(err(w.clone()).starts_with("until: is before"));
    w.until = Some("June".into());
    assert!(err(w).starts_with("until: \"June\" is not a date"));
}

// --- mutes ----------------------------------------------------------------

#[test]
fn muted_prefers_maintenance_then_the_first_silence() {
    let mut db = silence(&["instance=~\"db-.*\""], None, "2030-01-01T00:00:00Z");
    db.name = n("db");
    let mut by_service = silence(&["service=checkout"], None, "2030-01-01T00:00:00Z");
    by_service.name = n("by-service");
    let mut expired = silence(&["env=prod"], None, "2020-01-01T00:00:00Z");
    expired.name = n("expired");
    let mut broken = silence(&["env<prod"], None, "2030-01-01T00:00:00Z");
    broken.name = n("broken");
    let maint = window("2026-06-01T22:00", "2h", Some("UTC"), Repeat::Daily);
    let objects = [
        Object::Silence(expired),
        Object::Silence(broken),
        Object::Silence(db),
        Object::Silence(by_service),
        Object::MaintenanceWindow(maint),
    ];
    let (mutes, skipped) = Mutes::from_objects(&objects);
    assert_eq!(mutes.silences.len(), 3);
    assert_eq!(mutes.windows.len(), 1);
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0].0, n("broken"));
    assert!(skipped[0].1.starts_with("matchers[0]: unknown operator"));

    let day = ts("2026-06-05T12:00:00Z");
    let night = ts("2026-06-05T22:30:00Z");
    let db1 = labels(&[("instance", "db-1"), ("env", "prod")]);
    let web = labels(&[("instance", "web-1"), ("env", "prod")]);
    let pg = n("postgres");
    let checkout = n("checkout");

    assert_eq!(
        mutes.muted(&pg, &db1, night),
        Some(Muted::Maintenance(n("patching")))
    );
    assert_eq!(mutes.muted(&pg, &db1, day), Some(Muted::Silence(n("db"))));
    assert_eq!(
        mutes.muted(&pg, &web, night),
        Some(Muted::Maintenance(n("patching")))
    );
    assert_eq!(mutes.muted(&pg, &web, day), None);
    // The tocsin service name overrides a `service` label from the source.
    let lying = labels(&[("service", "checkout")]);
    assert_eq!(mutes.muted(&pg, &lying, day), None);
    assert_eq!(
        mutes.muted(&checkout, &labels(&[]), day),
        Some(Muted::Silence(n("by-service")))
    );
    // Nothing active after the silences end.
    assert_eq!(
        mutes.muted(&checkout, &db1, ts("2030-01-01T00:00:00Z")),
        None
    );
    assert_eq!(Mutes::default().muted(&pg, &db1, day), None);
}

#[test]
fn muted_reasons_are_stored_as_text() {
    for m in [Muted::Silence(n("db")), Muted::Maintenance(n("patching"))] {
        assert_eq!(Muted::from_stored(&m.as_stored()), Some(m));
    }
    assert_eq!(Muted::Silence(n("db")).as_stored(), "silence:db");
    assert_eq!(Muted::Maintenance(n("db")).as_stored(), "maintenance:db");
    for bad in ["", "silence", "silence:", "silence:DB", "mute:db"] {
        assert_eq!(Muted::from_stored(bad), None, "{bad}");
    }
}

// --- occurrence_at agrees with walking every occurrence ---------------------

/// The slow way, independent of `WindowRule::start`: walk the local
/// start times one period at a time from the first, placing each in the
/// zone; every occurrence up to t is looked at.
fn walk(
    local: jiff::civil::DateTime,
    tz: &jiff::tz::TimeZone,
    step: jiff::Span,
    r: &WindowRule,
) -> impl Iterator<Item = (Timestamp, Timestamp)> {
    let tz = tz.clone();
    let (duration, until) = (r.duration, r.until);
    std::iter::successors(Some(local), move |l| l.checked_add(step).ok())
        .map(move |l| tz.to_timestamp(l).unwrap())
        .take_while(move |s| until.is_none_or(|u| *s <= u))
        .map(move |s| (s, s.checked_add(duration).unwrap()))
}

fn reference(
    occurrences: impl Iterator<Item = (Timestamp, Timestamp)>,
    t: Timestamp,
) -> Option<(Timestamp, Timestamp)> {
    occurrences
        .take_while(|(s, _)| *s <= t)
        .filter(|(_, e)| t < *e)
        .last()
}

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn occurrence_at_agrees_with_walking(
        zone in 0..ZONES.len(),
        weekly in any::<bool>(),
        day in 0i64..365,
        minute in 0i64..(24 * 60),
        duration_min in 1i64..(24 * 60),
        offset_min in -(24 * 60)..(3 * 365 * 24 * 60_i64),
        until_days in proptest::option::of(0i64..800),
    ) {
        let date = jiff::civil::date(2025, 1, 1)
            .checked_add(jiff::Span::new().days(day))
            .unwrap();
        let local = date.at((minute / 60) as i8, (minute % 60) as i8, 0, 0);
        let (repeat, step) = if weekly {
            (Repeat::Weekly, jiff::Span::new().weeks(1))
        } else {
            (Repeat::Daily, jiff::Span::new().days(1))
        };
        let mut w = window(
            &local.to_string(),
            &format!("{duration_min}m"),
            Some(ZONES[zone]),
            repeat,
        );
        w.until = until_days.map(|d| {
            date.checked_add(jiff::Span::new().days(d)).unwrap().to_string()
        });
        let r = WindowRule::compile(&w).unwrap();
        let tz = jiff::tz::TimeZone::get(ZONES[zone]).unwrap();
        let t = r.first.checked_add(jiff::SignedDuration::from_mins(offset_min)).unwrap();
        prop_assert_eq!(r.occurrence_at(t), reference(walk(local, &tz, step, &r), t));
        let next = walk(local, &tz, step, &r).find(|(s, _)| *s > t);
        prop_assert_eq!(r.next_after(t), next);
    }
}
