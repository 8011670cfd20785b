use super::*;
use crate::Name;
use crate::catalog::{Layer, Override, Restriction, Schedule, Temporary};
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Span, Timestamp};
use proptest::prelude::*;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn layer(name: &str, participants: &[&str], turn: &str, handoff: &str, start: &str) -> Layer {
    Layer {
        name: n(name),
        participants: participants.iter().map(|p| n(p)).collect(),
        turn: turn.to_owned(),
        handoff: handoff.to_owned(),
        start: start.to_owned(),
        time_zone: None,
        restrictions: vec![],
    }
}

fn restriction(days: &[&str], from: &str, to: &str) -> Restriction {
    Restriction {
        days: days.iter().map(|d| (*d).to_owned()).collect(),
        from: from.to_owned(),
        to: to.to_owned(),
    }
}

fn over(user: &str, replaces: Option<&str>, start: &str, end: &str) -> Override {
    Override {
        user: n(user),
        replaces: replaces.map(n),
        start: start.to_owned(),
        end: end.to_owned(),
    }
}

fn schedule(tz: &str, layers: Vec<Layer>, overrides: Vec<Override>) -> Schedule {
    Schedule {
        name: n("primary"),
        description: None,
        team: None,
        time_zone: tz.to_owned(),
        layers,
        overrides,
        temporary: vec![],
    }
}

fn temp(start: &str, end: &str, layers: Vec<Layer>) -> Temporary {
    Temporary {
        start: start.to_owned(),
        end: end.to_owned(),
        layers,
    }
}

fn rule(tz: &str, layers: Vec<Layer>, overrides: Vec<Override>) -> ScheduleRule {
    ScheduleRule::compile(&schedule(tz, layers, overrides)).unwrap()
}

/// Who is on call at t, as plain strings for short assertions.
fn who(r: &ScheduleRule, t: &str) -> Vec<String> {
    r.on_call_at(ts(t))
        .iter()
        .map(|u| u.as_str().to_owned())
        .collect()
}

/// Shifts as (start, end, users) strings, for readable assertions.
fn show(shifts: &[Shift]) -> Vec<(String, String, String)> {
    shifts
        .iter()
        .map(|s| {
            let users: Vec<&str> = s.users.iter().map(Name::as_str).collect();
            (s.start.to_string(), s.end.to_string(), users.join(","))
        })
        .collect()
}

fn shift(start: &str, end: &str, users: &str) -> (String, String, String) {
    (ts(start).to_string(), ts(end).to_string(), users.to_owned())
}

fn hours(s: &Shift) -> i64 {
    s.end.duration_since(s.start).as_hours()
}

// --- turns ------------------------------------------------------------------

#[test]
fn a_weekly_rotation_of_three() {
    // Mondays 09:00 Berlin from 2026-03-02; winter time (CET, +01:00)
    // until 2026-03-29.
    let r = rule(
        "Europe/Berlin",
        vec![layer(
            "weekly",
            &["alice", "bob", "carol"],
            "1w",
            "09:00",
            "2026-03-02",
        )],
        vec![],
    );
    assert_eq!(who(&r, "2026-03-02T07:59:59Z"), Vec::<String>::new());
    assert_eq!(who(&r, "2026-03-02T08:00:00Z"), ["alice"]);
    assert_eq!(who(&r, "2026-03-09T07:59:59Z"), ["alice"]);
    assert_eq!(who(&r, "2026-03-09T08:00:00Z"), ["bob"]);
    assert_eq!(who(&r, "2026-03-16T08:00:00Z"), ["carol"]);
    assert_eq!(who(&r, "2026-03-23T08:00:00Z"), ["alice"]);
    // Across the spring change the hand-off stays at 09:00 local, now CEST.
    assert_eq!(who(&r, "2026-03-30T06:59:59Z"), ["alice"]);
    assert_eq!(who(&r, "2026-03-30T07:00:00Z"), ["bob"]);
    assert_eq!(
        show(&r.final_shifts(ts("2026-03-08T00:00:00Z"), ts("2026-03-10T00:00:00Z"))),
        [
            shift("2026-03-08T00:00:00Z", "2026-03-09T08:00:00Z", "alice"),
            shift("2026-03-09T08:00:00Z", "2026-03-10T00:00:00Z", "bob"),
        ]
    );
    // Turn 520, ten years on (2036-02-18, a Monday, CET again): 520 % 3 = 1.
    assert_eq!(who(&r, "2036-02-18T07:59:59Z"), ["alice"]);
    assert_eq!(who(&r, "2036-02-18T08:00:00Z"), ["bob"]);
}

#[test]
fn a_daily_handoff_keeps_local_time_across_dst() {
    let r = rule(
        "Europe/Berlin",
        vec![layer(
            "daily",
            &["alice", "bob"],
            "1d",
            "09:00",
            "2026-03-27",
        )],
        vec![],
    );
    // Spring forward on 2026-03-29: 09:00 CET (08:00Z) to 09:00 CEST
    // (07:00Z) is 23 real hours.
    let spring = r.final_shifts(ts("2026-03-28T08:00:00Z"), ts("2026-03-30T07:00:00Z"));
    assert_eq!(
        show(&spring),
        [
            shift("2026-03-28T08:00:00Z", "2026-03-29T07:00:00Z", "bob"),
            shift("2026-03-29T07:00:00Z", "2026-03-30T07:00:00Z", "alice"),
        ]
    );
    assert_eq!(hours(&spring[0]), 23);
    assert_eq!(hours(&spring[1]), 24);

    // Fall back on 2026-10-25: 09:00 CEST (07:00Z) to 09:00 CET (08:00Z)
    // is 25 real hours.
    let autumn = r.final_shifts(ts("2026-10-24T07:00:00Z"), ts("2026-10-26T08:00:00Z"));
    assert_eq!(autumn.len(), 2);
    assert_eq!(autumn[0].end, ts("2026-10-25T08:00:00Z"));
    assert_eq!(hours(&autumn[0]), 25);
    assert_eq!(hours(&autumn[1]), 24);
}

#[test]
fn a_handoff_in_the_spring_gap_resolves_after_it() {
    // 02:30 does not exist in Berlin on 2026-03-29: that hand-off happens
    // at 03:30 CEST (01:30Z).
    let r = rule(
        "Europe/Berlin",
        vec![layer(
            "nightly",
            &["alice", "bob", "carol"],
            "1d",
            "02:30",
            "2026-03-27",
        )],
        vec![],
    );
    let shifts = r.final_shifts(ts("2026-03-28T01:30:00Z"), ts("2026-03-31T00:30:00Z"));
    assert_eq!(
        show(&shifts),
        [
            shift("2026-03-28T01:30:00Z", "2026-03-29T01:30:00Z", "bob"),
            shift("2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z", "carol"),
            shift("2026-03-30T00:30:00Z", "2026-03-31T00:30:00Z", "alice"),
        ]
    );
    // The day before the change runs from 02:30 CET to 03:30 CEST: 24
    // real hours; the change day's turn from 03:30 to 02:30 CEST is 23.
    assert_eq!(shifts.iter().map(hours).collect::<Vec<_>>(), [24, 23, 24]);

    // In the autumn fold 02:30 happens twice; the first (CEST, 00:30Z) is
    // taken, so the next turn lasts 25 hours.
    let autumn = r.final_shifts(ts("2026-10-24T00:30:00Z"), ts("2026-10-26T01:30:00Z"));
    assert_eq!(autumn[0].end, ts("2026-10-25T00:30:00Z"));
    assert_eq!(autumn.iter().map(hours).collect::<Vec<_>>(), [24, 25]);

    // A turn 0 written in the gap resolves the same way.
    let first = rule(
        "Europe/Berlin",
        vec![layer("nightly", &["alice"], "1d", "02:30", "2026-03-29")],
        vec![],
    );
    assert_eq!(who(&first, "2026-03-29T01:29:59Z"), Vec::<String>::new());
    assert_eq!(who(&first, "2026-03-29T01:30:00Z"), ["alice"]);
}

#[test]
fn an_hourly_turn_is_exact_time_across_dst() {
    // 12h from 09:00 CET (08:00Z): boundaries at 08:00Z and 20:00Z on
    // both sides of the change, so the local hand-off moves to 10:00 and
    // 22:00 CEST.
    let r = rule(
        "Europe/Berlin",
        vec![layer(
            "halves",
            &["alice", "bob"],
            "12h",
            "09:00",
            "2026-03-28",
        )],
        vec![],
    );
    assert_eq!(
        show(&r.final_shifts(ts("2026-03-28T08:00:00Z"), ts("2026-03-30T08:00:00Z"))),
        [
            shift("2026-03-28T08:00:00Z", "2026-03-28T20:00:00Z", "alice"),
            shift("2026-03-28T20:00:00Z", "2026-03-29T08:00:00Z", "bob"),
            shift("2026-03-29T08:00:00Z", "2026-03-29T20:00:00Z", "alice"),
            shift("2026-03-29T20:00:00Z", "2026-03-30T08:00:00Z", "bob"),
        ]
    );
    // 24h is exact too, unlike 1d: after the change it hands over at 10:00
    // CEST (08:00Z), where 1d hands over at 09:00 CEST (07:00Z).
    let exact = rule(
        "Europe/Berlin",
        vec![layer("d", &["alice", "bob"], "24h", "09:00", "2026-03-28")],
        vec![],
    );
    let civil = rule(
        "Europe/Berlin",
        vec![layer("d", &["alice", "bob"], "1d", "09:00", "2026-03-28")],
        vec![],
    );
    assert_eq!(who(&exact, "2026-03-29T07:30:00Z"), ["alice"]);
    assert_eq!(who(&civil, "2026-03-29T07:30:00Z"), ["bob"]);
}

#[test]
fn a_mixed_turn_is_civil() {
    // 1d12h from 2026-03-28 09:00 CET: the next boundary is 2026-03-29
    // 21:00 local, which is CEST (19:00Z), 35 real hours later.
    let r = rule(
        "Europe/Berlin",
        vec![layer(
            "odd",
            &["alice", "bob"],
            "1d12h",
            "09:00",
            "2026-03-28",
        )],
        vec![],
    );
    let shifts = r.final_shifts(ts("2026-03-28T08:00:00Z"), ts("2026-03-31T00:00:00Z"));
    assert_eq!(shifts[0].end, ts("2026-03-29T19:00:00Z"));
    assert_eq!(hours(&shifts[0]), 35);
}

#[test]
fn monthly_turns_clamp_to_the_end_of_the_month() {
    let r = rule(
        "UTC",
        vec![layer(
            "monthly",
            &["alice", "bob", "carol"],
            "1mo",
            "00:00",
            "2026-01-31",
        )],
        vec![],
    );
    assert_eq!(who(&r, "2026-02-27T23:59:59Z"), ["alice"]);
    assert_eq!(who(&r, "2026-02-28T00:00:00Z"), ["bob"]);
    // Computed from turn 0, not from February 28th.
    assert_eq!(who(&r, "2026-03-30T00:00:00Z"), ["bob"]);
    assert_eq!(who(&r, "2026-03-31T00:00:00Z"), ["carol"]);
    assert_eq!(who(&r, "2026-04-30T00:00:00Z"), ["alice"]);
    // Ten years on: turn 120 starts 2036-01-31, 120 % 3 = 0.
    assert_eq!(who(&r, "2036-01-30T23:59:59Z"), ["carol"]);
    assert_eq!(who(&r, "2036-01-31T00:00:00Z"), ["alice"]);
}

#[test]
fn far_instants_are_found_without_walking() {
    // Hourly turns, fifty years on: 18262 days × 24 hours = turn 438288,
    // a multiple of 3.
    let r = rule(
        "UTC",
        vec![layer(
            "hourly",
            &["alice", "bob", "carol"],
            "1h",
            "00:00",
            "2026-01-01",
        )],
        vec![],
    );
    assert_eq!(who(&r, "2076-01-01T00:00:00Z"), ["alice"]);
    assert_eq!(who(&r, "2076-01-01T00:59:59Z"), ["alice"]);
    assert_eq!(who(&r, "2076-01-01T01:00:00Z"), ["bob"]);
    assert_eq!(who(&r, "2075-12-31T23:59:59Z"), ["carol"]);
}

#[test]
fn a_single_participant_is_one_long_shift() {
    let r = rule(
        "UTC",
        vec![layer("solo", &["alice"], "1d", "09:00", "2026-01-01")],
        vec![],
    );
    assert_eq!(
        show(&r.final_shifts(ts("2026-02-01T00:00:00Z"), ts("2026-03-01T00:00:00Z"))),
        [shift(
            "2026-02-01T00:00:00Z",
            "2026-03-01T00:00:00Z",
            "alice"
        )]
    );
    assert_eq!(
        r.layer_shifts(0, ts("2026-02-01T00:00:00Z"), ts("2026-03-01T00:00:00Z"))
            .len(),
        1
    );
}

// --- restrictions -------------------------------------------------------------

#[test]
fn business_hours_on_weekdays() {
    let mut l = layer("office", &["alice", "bob"], "1w", "09:00", "2026-06-01");
    l.restrictions = vec![restriction(
        &["mon", "tue", "wed", "thu", "fri"],
        "09:00",
        "17:00",
    )];
    let r = rule("Europe/Berlin", vec![l], vec![]);
    // CEST: 09:00–17:00 is 07:00Z–15:00Z. 2026-06-01 is a Monday.
    assert_eq!(who(&r, "2026-06-01T06:59:59Z"), Vec::<String>::new());
    assert_eq!(who(&r, "2026-06-01T07:00:00Z"), ["alice"]);
    assert_eq!(who(&r, "2026-06-01T14:59:59Z"), ["alice"]);
    assert_eq!(who(&r, "2026-06-01T15:00:00Z"), Vec::<String>::new());
    assert_eq!(who(&r, "2026-06-06T10:00:00Z"), Vec::<String>::new());
    assert_eq!(who(&r, "2026-06-08T07:00:00Z"), ["bob"]);
    let week = r.layer_shifts(0, ts("2026-06-01T00:00:00Z"), ts("2026-06-08T00:00:00Z"));
    assert_eq!(
        show(&week),
        ["01", "02", "03", "04", "05"].map(|d| shift(
            &format!("2026-06-{d}T07:00:00Z"),
            &format!("2026-06-{d}T15:00:00Z"),
            "alice"
        ))
    );
    assert_eq!(
        r.gaps(ts("2026-06-05T00:00:00Z"), ts("2026-06-09T00:00:00Z")),
        [
            (ts("2026-06-05T00:00:00Z"), ts("2026-06-05T07:00:00Z")),
            (ts("2026-06-05T15:00:00Z"), ts("2026-06-08T07:00:00Z")),
            (ts("2026-06-08T15:00:00Z"), ts("2026-06-09T00:00:00Z")),
        ]
    );
}

#[test]
fn restrictions_cut_turns_without_moving_them() {
    // A noon hand-off inside a 09:00–17:00 window: the window is split.
    let mut l = layer("office", &["alice", "bob"], "1d", "12:00", "2026-06-01");
    l.restrictions = vec![restriction(&[], "09:00", "17:00")];
    let r = rule("UTC", vec![l], vec![]);
    assert_eq!(
        show(&r.final_shifts(ts("2026-06-02T08:00:00Z"), ts("2026-06-02T18:00:00Z"))),
        [
            shift("2026-06-02T08:00:00Z", "2026-06-02T09:00:00Z", ""),
            shift("2026-06-02T09:00:00Z", "2026-06-02T12:00:00Z", "alice"),
            shift("2026-06-02T12:00:00Z", "2026-06-02T17:00:00Z", "bob"),
            shift("2026-06-02T17:00:00Z", "2026-06-02T18:00:00Z", ""),
        ]
    );
}

#[test]
fn an_overnight_window_ends_the_next_day() {
    let mut l = layer("nights", &["alice"], "1w", "00:00", "2026-06-01");
    l.restrictions = vec![restriction(&["fri"], "22:00", "06:00")];
    let r = rule("UTC", vec![l], vec![]);
    // Friday 2026-06-05 22:00 to Saturday 06:00.
    assert_eq!(who(&r, "2026-06-05T21:59:59Z"), Vec::<String>::new());
    assert_eq!(who(&r, "2026-06-05T22:00:00Z"), ["alice"]);
    assert_eq!(who(&r, "2026-06-06T05:59:59Z"), ["alice"]);
    assert_eq!(who(&r, "2026-06-06T06:00:00Z"), Vec::<String>::new());
    assert_eq!(who(&r, "2026-06-06T23:00:00Z"), Vec::<String>::new());
    // Thursday night is not Friday's.
    assert_eq!(who(&r, "2026-06-04T23:00:00Z"), Vec::<String>::new());
    assert_eq!(who(&r, "2026-06-05T01:00:00Z"), Vec::<String>::new());
    assert_eq!(
        show(&r.layer_shifts(0, ts("2026-06-01T00:00:00Z"), ts("2026-06-15T00:00:00Z"))),
        [
            shift("2026-06-05T22:00:00Z", "2026-06-06T06:00:00Z", "alice"),
            shift("2026-06-12T22:00:00Z", "2026-06-13T06:00:00Z", "alice"),
        ]
    );
    // Every night: the windows of consecutive days do not touch.
    let mut every = layer("nights", &["alice", "bob"], "1d", "22:00", "2026-06-01");
    every.restrictions = vec![restriction(&[], "22:00", "06:00")];
    let r = rule("UTC", vec![every], vec![]);
    assert_eq!(who(&r, "2026-06-02T03:00:00Z"), ["alice"]);
    assert_eq!(who(&r, "2026-06-02T23:00:00Z"), ["bob"]);
    assert_eq!(who(&r, "2026-06-02T12:00:00Z"), Vec::<String>::new());
}

#[test]
fn window_edges_in_dst_changes() {
    // 01:00–04:00 every day in Berlin. On the spring day it is 01:00 CET
    // (00:00Z) to 04:00 CEST (02:00Z): two real hours. On the autumn day
    // 01:00 CEST (23:00Z the day before) to 04:00 CET (03:00Z): four.
    let mut l = layer("nights", &["alice"], "1d", "00:00", "2026-03-01");
    l.restrictions = vec![restriction(&[], "01:00", "04:00")];
    let r = rule("Europe/Berlin", vec![l], vec![]);
    let spring = r.layer_shifts(0, ts("2026-03-28T12:00:00Z"), ts("2026-03-29T12:00:00Z"));
    assert_eq!(
        show(&spring),
        [shift(
            "2026-03-29T00:00:00Z",
            "2026-03-29T02:00:00Z",
            "alice"
        )]
    );
    let autumn = r.layer_shifts(0, ts("2026-10-24T12:00:00Z"), ts("2026-10-25T12:00:00Z"));
    assert_eq!(
        show(&autumn),
        [shift(
            "2026-10-24T23:00:00Z",
            "2026-10-25T03:00:00Z",
            "alice"
        )]
    );
    // A window inside the gap: 02:15–02:45 becomes 03:15–03:45 CEST.
    let mut g = layer("gap", &["alice"], "1d", "00:00", "2026-03-01");
    g.restrictions = vec![restriction(&[], "02:15", "02:45")];
    let r = rule("Europe/Berlin", vec![g], vec![]);
    assert_eq!(
        show(&r.layer_shifts(0, ts("2026-03-29T00:00:00Z"), ts("2026-03-29T12:00:00Z"))),
        [shift(
            "2026-03-29T01:15:00Z",
            "2026-03-29T01:45:00Z",
            "alice"
        )]
    );
}

#[test]
fn follow_the_sun() {
    // Europe covers 08:00–20:00 Berlin, America 08:00–20:00 New York; the
    // later layer (America) wins where both are on.
    let mut eu = layer("europe", &["alice"], "1w", "08:00", "2026-01-01");
    eu.time_zone = Some("Europe/Berlin".into());
    eu.restrictions = vec![restriction(&[], "08:00", "20:00")];
    let mut us = layer("america", &["bob"], "1w", "08:00", "2026-01-01");
    us.time_zone = Some("America/New_York".into());
    us.restrictions = vec![restriction(&[], "08:00", "20:00")];
    let r = rule("UTC", vec![eu, us], vec![]);
    assert_eq!(r.layer_names(), [n("europe"), n("america")]);

    // January: CET (+1) and EST (-5). Berlin 07:00Z–19:00Z, New York
    // 13:00Z–01:00Z.
    for (t, expected) in [
        ("2026-01-14T00:59:59Z", "bob"),
        ("2026-01-14T01:00:00Z", ""),
        ("2026-01-14T06:59:59Z", ""),
        ("2026-01-14T07:00:00Z", "alice"),
        ("2026-01-14T12:59:59Z", "alice"),
        ("2026-01-14T13:00:00Z", "bob"),
        ("2026-01-14T18:30:00Z", "bob"),
        ("2026-01-14T23:00:00Z", "bob"),
    ] {
        assert_eq!(who(&r, t).join(","), expected, "{t}");
    }
    assert_eq!(
        show(&r.final_shifts(ts("2026-01-14T00:00:00Z"), ts("2026-01-15T00:00:00Z"))),
        [
            shift("2026-01-14T00:00:00Z", "2026-01-14T01:00:00Z", "bob"),
            shift("2026-01-14T01:00:00Z", "2026-01-14T07:00:00Z", ""),
            shift("2026-01-14T07:00:00Z", "2026-01-14T13:00:00Z", "alice"),
            shift("2026-01-14T13:00:00Z", "2026-01-15T00:00:00Z", "bob"),
        ]
    );
    assert_eq!(
        r.gaps(ts("2026-01-14T00:00:00Z"), ts("2026-01-15T00:00:00Z")),
        [(ts("2026-01-14T01:00:00Z"), ts("2026-01-14T07:00:00Z"))]
    );
    // Mid-March the US is on summer time (EDT, -4) and Europe is not yet:
    // New York's window is 12:00Z–00:00Z.
    assert_eq!(who(&r, "2026-03-16T11:59:59Z"), ["alice"]);
    assert_eq!(who(&r, "2026-03-16T12:00:00Z"), ["bob"]);
    assert_eq!(who(&r, "2026-03-16T23:59:59Z"), ["bob"]);
    assert_eq!(who(&r, "2026-03-17T00:00:00Z"), Vec::<String>::new());
    // Layers alone, for drawing: Europe's own shift, before precedence.
    assert_eq!(
        show(&r.layer_shifts(0, ts("2026-01-14T00:00:00Z"), ts("2026-01-15T00:00:00Z"))),
        [shift(
            "2026-01-14T07:00:00Z",
            "2026-01-14T19:00:00Z",
            "alice"
        )]
    );
    assert!(
        r.layer_shifts(2, ts("2026-01-14T00:00:00Z"), ts("2026-01-15T00:00:00Z"))
            .is_empty()
    );
}

// --- precedence and overrides -----------------------------------------------------

#[test]
fn a_later_layer_wins_and_an_earlier_one_fills_its_gaps() {
    let base = layer("base", &["alice"], "1w", "00:00", "2026-06-01");
    let mut day = layer("day", &["bob", "carol"], "1d", "09:00", "2026-06-03");
    day.restrictions = vec![restriction(
        &["mon", "tue", "wed", "thu", "fri"],
        "09:00",
        "17:00",
    )];
    let r = rule("UTC", vec![base, day], vec![]);
    // Before the day layer's turn 0 (Wednesday 09:00), the base has it.
    assert_eq!(who(&r, "2026-06-02T10:00:00Z"), ["alice"]);
    assert_eq!(who(&r, "2026-06-03T08:59:59Z"), ["alice"]);
    assert_eq!(who(&r, "2026-06-03T09:00:00Z"), ["bob"]);
    assert_eq!(who(&r, "2026-06-03T17:00:00Z"), ["alice"]);
    assert_eq!(who(&r, "2026-06-04T12:00:00Z"), ["carol"]);
    // Saturday: the day layer has nobody.
    assert_eq!(who(&r, "2026-06-06T12:00:00Z"), ["alice"]);
    assert!(
        r.gaps(ts("2026-06-01T00:00:00Z"), ts("2026-07-01T00:00:00Z"))
            .is_empty()
    );
    // Nobody at all before the base layer starts.
    assert_eq!(
        r.gaps(ts("2026-05-31T00:00:00Z"), ts("2026-06-02T00:00:00Z")),
        [(ts("2026-05-31T00:00:00Z"), ts("2026-06-01T00:00:00Z"))]
    );
}

#[test]
fn an_override_replaces_someone_only_while_they_are_on_call() {
    let base = layer("base", &["alice", "bob"], "1d", "00:00", "2026-06-01");
    // Carol takes alice's shifts from 2026-06-01 12:00 to 06-03 12:00;
    // bob's day in between is untouched.
    let r = rule(
        "UTC",
        vec![base],
        vec![over(
            "carol",
            Some("alice"),
            "2026-06-01T12:00:00Z",
            "2026-06-03T12:00:00Z",
        )],
    );
    assert_eq!(
        show(&r.final_shifts(ts("2026-06-01T00:00:00Z"), ts("2026-06-04T00:00:00Z"))),
        [
            shift("2026-06-01T00:00:00Z", "2026-06-01T12:00:00Z", "alice"),
            shift("2026-06-01T12:00:00Z", "2026-06-02T00:00:00Z", "carol"),
            shift("2026-06-02T00:00:00Z", "2026-06-03T00:00:00Z", "bob"),
            shift("2026-06-03T00:00:00Z", "2026-06-03T12:00:00Z", "carol"),
            shift("2026-06-03T12:00:00Z", "2026-06-04T00:00:00Z", "alice"),
        ]
    );
}

#[test]
fn an_override_without_replaces_takes_the_whole_schedule() {
    let mut day = layer("day", &["alice"], "1d", "00:00", "2026-06-01");
    day.restrictions = vec![restriction(&[], "09:00", "17:00")];
    let r = rule(
        "UTC",
        vec![day],
        vec![
            over("dave", None, "2026-06-01T16:00:00Z", "2026-06-02T10:00:00Z"),
            // Applied after the first: erin replaces dave for an hour.
            over(
                "erin",
                Some("dave"),
                "2026-06-01T20:00:00Z",
                "2026-06-01T21:00:00Z",
            ),
        ],
    );
    assert_eq!(
        show(&r.final_shifts(ts("2026-06-01T08:00:00Z"), ts("2026-06-02T12:00:00Z"))),
        [
            shift("2026-06-01T08:00:00Z", "2026-06-01T09:00:00Z", ""),
            shift("2026-06-01T09:00:00Z", "2026-06-01T16:00:00Z", "alice"),
            // Dave covers the night gap too.
            shift("2026-06-01T16:00:00Z", "2026-06-01T20:00:00Z", "dave"),
            shift("2026-06-01T20:00:00Z", "2026-06-01T21:00:00Z", "erin"),
            shift("2026-06-01T21:00:00Z", "2026-06-02T10:00:00Z", "dave"),
            shift("2026-06-02T10:00:00Z", "2026-06-02T12:00:00Z", "alice"),
        ]
    );
    // Layers alone ignore overrides.
    assert_eq!(
        r.layer_shifts(0, ts("2026-06-01T00:00:00Z"), ts("2026-06-02T00:00:00Z"))
            .len(),
        1
    );
}

#[test]
fn overrides_apply_in_declaration_order() {
    let base = layer("base", &["alice"], "1d", "00:00", "2026-06-01");
    let span = ("2026-06-01T10:00:00Z", "2026-06-01T11:00:00Z");
    // Bob replaces alice, then carol replaces bob: carol.
    let r = rule(
        "UTC",
        vec![base.clone()],
        vec![
            over("bob", Some("alice"), span.0, span.1),
            over("carol", Some("bob"), span.0, span.1),
        ],
    );
    assert_eq!(who(&r, "2026-06-01T10:30:00Z"), ["carol"]);
    // The other way round, carol finds no bob on call: bob.
    let r = rule(
        "UTC",
        vec![base],
        vec![
            over("carol", Some("bob"), span.0, span.1),
            over("bob", Some("alice"), span.0, span.1),
        ],
    );
    assert_eq!(who(&r, "2026-06-01T10:30:00Z"), ["bob"]);
    assert_eq!(who(&r, "2026-06-01T11:00:00Z"), ["alice"]);
}

// --- ranges and changes ------------------------------------------------------------

#[test]
fn next_change_finds_the_next_handover() {
    let r = rule(
        "UTC",
        vec![layer(
            "daily",
            &["alice", "bob"],
            "1d",
            "09:00",
            "2026-06-01",
        )],
        vec![],
    );
    let limit = ts("2027-01-01T00:00:00Z");
    assert_eq!(
        r.next_change(ts("2026-05-01T00:00:00Z"), limit),
        Some(ts("2026-06-01T09:00:00Z"))
    );
    assert_eq!(
        r.next_change(ts("2026-06-02T08:00:00Z"), limit),
        Some(ts("2026-06-02T09:00:00Z"))
    );
    // Strictly after t.
    assert_eq!(
        r.next_change(ts("2026-06-02T09:00:00Z"), limit),
        Some(ts("2026-06-03T09:00:00Z"))
    );
    // Before the limit only.
    assert_eq!(
        r.next_change(ts("2026-06-02T08:00:00Z"), ts("2026-06-02T09:00:00Z")),
        None
    );
    assert_eq!(r.next_change(limit, limit), None);

    // One person forever: no change, except an override months away.
    let solo = rule(
        "UTC",
        vec![layer("solo", &["alice"], "1d", "09:00", "2026-06-01")],
        vec![over(
            "bob",
            None,
            "2026-11-05T10:00:00Z",
            "2026-11-05T12:00:00Z",
        )],
    );
    assert_eq!(
        solo.next_change(ts("2026-06-02T00:00:00Z"), limit),
        Some(ts("2026-11-05T10:00:00Z"))
    );
    assert_eq!(
        solo.next_change(ts("2026-11-05T10:00:00Z"), limit),
        Some(ts("2026-11-05T12:00:00Z"))
    );
    assert_eq!(solo.next_change(ts("2026-11-05T12:00:00Z"), limit), None);
}

#[test]
fn final_shifts_tile_the_range() {
    let base = layer(
        "base",
        &["alice", "bob", "carol"],
        "8h",
        "06:00",
        "2026-06-01",
    );
    let mut day = layer("day", &["dave"], "1w", "09:00", "2026-06-01");
    day.restrictions = vec![restriction(&["mon"], "09:00", "12:00")];
    let r = rule("Europe/Berlin", vec![base, day], vec![]);
    let (from, to) = (ts("2026-05-31T12:34:56Z"), ts("2026-06-09T01:02:03Z"));
    let shifts = r.final_shifts(from, to);
    assert_eq!(shifts.first().unwrap().start, from);
    assert_eq!(shifts.last().unwrap().end, to);
    for pair in shifts.windows(2) {
        assert_eq!(pair[0].end, pair[1].start);
        assert_ne!(pair[0].users, pair[1].users);
    }
    assert!(r.final_shifts(to, to).is_empty());
    assert!(r.final_shifts(to, from).is_empty());
    assert!(r.gaps(to, from).is_empty());
}

#[test]
fn the_schedule_keeps_its_name_and_zone() {
    let r = rule(
        "Asia/Kolkata",
        vec![layer("a", &["alice"], "1d", "09:00", "2026-06-01")],
        vec![],
    );
    assert_eq!(r.name(), &n("primary"));
    assert_eq!(r.time_zone().iana_name(), Some("Asia/Kolkata"));
}

#[test]
fn schedules_that_do_not_compile_say_why() {
    let ok = || {
        schedule(
            "UTC",
            vec![layer("a", &["alice"], "1d", "09:00", "2026-06-01")],
            vec![],
        )
    };
    let err = |f: &dyn Fn(&mut Schedule)| {
        let mut s = ok();
        f(&mut s);
        ScheduleRule::compile(&s).unwrap_err()
    };
    assert!(ScheduleRule::compile(&ok()).is_ok());
    assert!(err(&|s| s.time_zone = "Mars/Olympus".into()).starts_with("time_zone: "));
    assert_eq!(
        err(&|s| s.layers.clear()),
        "layers: a schedule needs at least one layer"
    );
    assert_eq!(
        err(&|s| s.layers[0].participants.clear()),
        "layers[0].participants: a layer needs at least one participant"
    );
    assert!(
        err(&|s| s.layers[0].time_zone = Some("Nowhere".into()))
            .starts_with("layers[0].time_zone: ")
    );
    assert_eq!(
        err(&|s| s.layers[0].turn = "fortnight".into()),
        "layers[0].turn: \"fortnight\" is not a span; write e.g. 1d, 1w, 12h"
    );
    assert_eq!(
        err(&|s| s.layers[0].turn = "0d".into()),
        "layers[0].turn: must be longer than zero"
    );
    assert!(
        err(&|s| s.layers[0].turn = "1m".into())
            .starts_with("layers[0].turn: \"1m\" is shorter than an hour")
    );
    assert!(err(&|s| s.layers[0].turn = "59m".into()).contains("shorter than an hour"));
    assert_eq!(
        err(&|s| s.layers[0].handoff = "9am".into()),
        "layers[0].handoff: \"9am\" is not a time of day (HH:MM)"
    );
    assert_eq!(
        err(&|s| s.layers[0].handoff = "09:00:30".into()),
        "layers[0].handoff: \"09:00:30\" is not a time of day (HH:MM)"
    );
    assert_eq!(
        err(&|s| s.layers[0].start = "2026-13-01".into()),
        "layers[0].start: \"2026-13-01\" is not a date (YYYY-MM-DD)"
    );
    assert_eq!(
        err(&|s| s.layers[0].restrictions = vec![restriction(&["monday"], "09:00", "17:00")]),
        "layers[0].restrictions[0].days[0]: \"monday\" is not a day; use one of mon, tue, wed, thu, fri, sat, sun"
    );
    assert_eq!(
        err(&|s| s.layers[0].restrictions = vec![restriction(&[], "9", "17:00")]),
        "layers[0].restrictions[0].from: \"9\" is not a time of day (HH:MM)"
    );
    assert_eq!(
        err(&|s| s.layers[0].restrictions = vec![restriction(&[], "09:00", "09:00")]),
        "layers[0].restrictions[0].to: an empty window: from and to are the same"
    );
    assert!(
        err(&|s| s.overrides = vec![over("bob", None, "soon", "2026-06-01T00:00:00Z")])
            .starts_with("overrides[0].start: \"soon\" is not an RFC 3339 instant")
    );
    assert_eq!(
        err(&|s| s.overrides = vec![over(
            "bob",
            None,
            "2026-06-01T00:00:00Z",
            "2026-06-01T00:00:00Z"
        )]),
        "overrides[0].end: must be after start"
    );
    // An hour is the shortest turn; weeks and months are fine.
    for turn in ["1h", "90m", "1w", "2w", "1mo", "P1D"] {
        let mut s = ok();
        s.layers[0].turn = turn.into();
        assert!(ScheduleRule::compile(&s).is_ok(), "{turn}");
    }
}

// --- temporary periods ----------------------------------------------------------------

#[test]
fn a_holiday_week_replaces_the_weekly_layer() {
    // Weekly from Monday 2026-12-07 09:00 UTC: alice, bob, carol (21st),
    // alice (28th). Over the holidays, dave and erin take 24h turns from
    // 2026-12-23 18:00, a rotation already running when the period starts.
    let mut s = schedule(
        "UTC",
        vec![layer(
            "weekly",
            &["alice", "bob", "carol"],
            "1w",
            "09:00",
            "2026-12-07",
        )],
        // Alice covers part of erin's turn inside the period.
        vec![over(
            "alice",
            Some("erin"),
            "2026-12-25T06:00:00Z",
            "2026-12-25T12:00:00Z",
        )],
    );
    s.temporary = vec![temp(
        "2026-12-24T00:00:00Z",
        "2026-12-28T00:00:00Z",
        vec![layer(
            "holiday",
            &["dave", "erin"],
            "24h",
            "18:00",
            "2026-12-23",
        )],
    )];
    let r = ScheduleRule::compile(&s).unwrap();
    assert_eq!(who(&r, "2026-12-23T23:59:59Z"), ["carol"]);
    assert_eq!(who(&r, "2026-12-24T00:00:00Z"), ["dave"]);
    assert_eq!(who(&r, "2026-12-27T23:59:59Z"), ["dave"]);
    assert_eq!(who(&r, "2026-12-28T00:00:00Z"), ["carol"]);
    assert_eq!(
        show(&r.final_shifts(ts("2026-12-23T00:00:00Z"), ts("2026-12-29T00:00:00Z"))),
        [
            shift("2026-12-23T00:00:00Z", "2026-12-24T00:00:00Z", "carol"),
            shift("2026-12-24T00:00:00Z", "2026-12-24T18:00:00Z", "dave"),
            shift("2026-12-24T18:00:00Z", "2026-12-25T06:00:00Z", "erin"),
            shift("2026-12-25T06:00:00Z", "2026-12-25T12:00:00Z", "alice"),
            shift("2026-12-25T12:00:00Z", "2026-12-25T18:00:00Z", "erin"),
            shift("2026-12-25T18:00:00Z", "2026-12-26T18:00:00Z", "dave"),
            shift("2026-12-26T18:00:00Z", "2026-12-27T18:00:00Z", "erin"),
            shift("2026-12-27T18:00:00Z", "2026-12-28T00:00:00Z", "dave"),
            shift("2026-12-28T00:00:00Z", "2026-12-28T09:00:00Z", "carol"),
            shift("2026-12-28T09:00:00Z", "2026-12-29T00:00:00Z", "alice"),
        ]
    );
    assert_eq!(
        r.next_change(ts("2026-12-23T12:00:00Z"), ts("2027-01-01T00:00:00Z")),
        Some(ts("2026-12-24T00:00:00Z"))
    );
    assert_eq!(
        r.next_change(ts("2026-12-27T18:00:00Z"), ts("2027-01-01T00:00:00Z")),
        Some(ts("2026-12-28T00:00:00Z"))
    );
    // The layers alone and their names ignore the period.
    assert_eq!(r.layer_names(), [n("weekly")]);
    assert_eq!(
        show(&r.layer_shifts(0, ts("2026-12-23T00:00:00Z"), ts("2026-12-29T00:00:00Z"))),
        [
            shift("2026-12-23T00:00:00Z", "2026-12-28T09:00:00Z", "carol"),
            shift("2026-12-28T09:00:00Z", "2026-12-29T00:00:00Z", "alice"),
        ]
    );
    assert_eq!(
        r.temporary_periods(),
        [(ts("2026-12-24T00:00:00Z"), ts("2026-12-28T00:00:00Z"))]
    );
}

#[test]
fn restricted_temporary_layers_leave_gaps_in_the_period() {
    // The schedule's layer covers everything, but inside the period only
    // the temporary layers count: a day rotation (09:00–17:00) and, from
    // its own turn 0 on the 25th at 17:00, a night one.
    let mut day = layer("day", &["bob"], "1d", "09:00", "2026-12-20");
    day.restrictions = vec![restriction(&[], "09:00", "17:00")];
    let mut night = layer("night", &["carol"], "1d", "17:00", "2026-12-25");
    night.restrictions = vec![restriction(&[], "17:00", "09:00")];
    let mut s = schedule(
        "UTC",
        vec![layer("always", &["alice"], "1w", "00:00", "2026-12-01")],
        vec![],
    );
    s.temporary = vec![
        temp(
            "2026-12-24T00:00:00Z",
            "2026-12-26T12:00:00Z",
            vec![day, night],
        ),
        // A second, later period, declared after; periods are sorted.
        temp(
            "2026-12-31T00:00:00Z",
            "2027-01-01T00:00:00Z",
            vec![layer("nye", &["dave"], "1d", "00:00", "2026-12-31")],
        ),
    ];
    s.temporary.reverse();
    let r = ScheduleRule::compile(&s).unwrap();
    assert_eq!(
        r.gaps(ts("2026-12-23T00:00:00Z"), ts("2026-12-27T00:00:00Z")),
        [
            (ts("2026-12-24T00:00:00Z"), ts("2026-12-24T09:00:00Z")),
            (ts("2026-12-24T17:00:00Z"), ts("2026-12-25T09:00:00Z")),
        ]
    );
    assert_eq!(who(&r, "2026-12-25T17:00:00Z"), ["carol"]);
    assert_eq!(who(&r, "2026-12-26T10:00:00Z"), ["bob"]);
    assert_eq!(who(&r, "2026-12-26T12:00:00Z"), ["alice"]);
    assert_eq!(who(&r, "2026-12-31T12:00:00Z"), ["dave"]);
    assert_eq!(
        r.temporary_periods(),
        [
            (ts("2026-12-24T00:00:00Z"), ts("2026-12-26T12:00:00Z")),
            (ts("2026-12-31T00:00:00Z"), ts("2027-01-01T00:00:00Z")),
        ]
    );
    // An override without `replaces` fills a gap inside a period.
    s.overrides = vec![over(
        "erin",
        None,
        "2026-12-24T17:00:00Z",
        "2026-12-25T09:00:00Z",
    )];
    let r = ScheduleRule::compile(&s).unwrap();
    assert_eq!(
        r.gaps(ts("2026-12-23T00:00:00Z"), ts("2026-12-27T00:00:00Z")),
        [(ts("2026-12-24T00:00:00Z"), ts("2026-12-24T09:00:00Z"))]
    );
}

#[test]
fn bad_temporary_periods_do_not_compile() {
    let one = || layer("h", &["alice"], "1d", "09:00", "2026-12-20");
    let with = |t: Vec<Temporary>| {
        let mut s = schedule("UTC", vec![one()], vec![]);
        s.temporary = t;
        ScheduleRule::compile(&s)
    };
    let (a, b, c) = (
        "2026-12-24T00:00:00Z",
        "2026-12-26T00:00:00Z",
        "2026-12-28T00:00:00Z",
    );
    // Touching periods are fine.
    assert!(with(vec![temp(a, b, vec![one()]), temp(b, c, vec![one()])]).is_ok());
    assert_eq!(
        with(vec![temp(a, c, vec![one()]), temp(b, c, vec![one()])]).unwrap_err(),
        "temporary[1]: overlaps temporary[0]"
    );
    assert_eq!(
        with(vec![temp(b, a, vec![one()])]).unwrap_err(),
        "temporary[0].end: must be after start"
    );
    assert!(
        with(vec![temp("christmas", a, vec![one()])])
            .unwrap_err()
            .starts_with("temporary[0].start: \"christmas\" is not an RFC 3339 instant")
    );
    assert_eq!(
        with(vec![temp(a, b, vec![])]).unwrap_err(),
        "temporary[0].layers: a temporary rotation needs at least one layer"
    );
    let mut bad = one();
    bad.turn = "0d".into();
    assert_eq!(
        with(vec![temp(a, b, vec![one(), bad])]).unwrap_err(),
        "temporary[0].layers[1].turn: must be longer than zero"
    );
}

// --- the properties -----------------------------------------------------------------

const ZONES: [&str; 5] = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];
const PEOPLE: [&str; 4] = ["alice", "bob", "carol", "dave"];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A turn as the reference sees it: hours are exact, the rest civil.
#[derive(Debug, Clone, Copy)]
enum TurnKind {
    Hours(i64),
    Days(i64),
    Weeks(i64),
    DaysHours(i64, i64),
}

impl TurnKind {
    fn text(self) -> String {
        match self {
            TurnKind::Hours(h) => format!("{h}h"),
            TurnKind::Days(d) => format!("{d}d"),
            TurnKind::Weeks(w) => format!("{w}w"),
            TurnKind::DaysHours(d, h) => format!("{d}d{h}h"),
        }
    }
}

#[derive(Debug, Clone)]
struct GenRestriction {
    /// A bit per day from Monday; 0 = every day.
    days: u8,
    from: i64,
    to: i64,
}

#[derive(Debug, Clone)]
struct GenLayer {
    zone: Option<usize>,
    people: Vec<usize>,
    turn: TurnKind,
    handoff: i64,
    start_day: i64,
    restrictions: Vec<GenRestriction>,
}

#[derive(Debug, Clone)]
struct GenOverride {
    user: usize,
    replaces: Option<usize>,
    start_min: i64,
    len_min: i64,
}

/// A temporary period: [start, start + len) in minutes from the base
/// instant, with its own layers.
#[derive(Debug, Clone)]
struct GenTemporary {
    start_min: i64,
    len_min: i64,
    layers: Vec<GenLayer>,
}

impl GenTemporary {
    fn start(&self) -> Timestamp {
        plus_mins(base_instant(), self.start_min)
    }

    fn end(&self) -> Timestamp {
        plus_mins(self.start(), self.len_min)
    }
}

fn hhmm(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

fn base_date() -> Date {
    jiff::civil::date(2026, 1, 1)
}

fn plus_days(d: Date, n: i64) -> Date {
    d.checked_add(Span::new().days(n)).unwrap()
}

fn base_instant() -> Timestamp {
    ts("2026-01-01T00:00:00Z")
}

fn plus_mins(t: Timestamp, m: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_mins(m)).unwrap()
}

fn turn_strategy() -> impl Strategy<Value = TurnKind> {
    prop_oneof![
        (1i64..=48).prop_map(TurnKind::Hours),
        (1i64..=10).prop_map(TurnKind::Days),
        (1i64..=2).prop_map(TurnKind::Weeks),
        ((1i64..=2), (1i64..=23)).prop_map(|(d, h)| TurnKind::DaysHours(d, h)),
    ]
}

fn minute_strategy() -> impl Strategy<Value = i64> {
    // Often on the DST-prone hours (01:00–03:59) and on round hours.
    prop_oneof![
        0i64..(24 * 60),
        (60i64..240),
        (0i64..24).prop_map(|h| h * 60),
    ]
}

fn restriction_strategy() -> impl Strategy<Value = GenRestriction> {
    (any::<u8>(), minute_strategy(), minute_strategy())
        .prop_filter("an empty window", |(_, f, t)| f != t)
        .prop_map(|(days, from, to)| GenRestriction {
            days: days & 0x7f,
            from,
            to,
        })
}

fn layer_strategy() -> impl Strategy<Value = GenLayer> {
    (
        proptest::option::of(0..ZONES.len()),
        proptest::collection::vec(0..PEOPLE.len(), 1..=3),
        turn_strategy(),
        minute_strategy(),
        0i64..120,
        prop_oneof![
            2 => Just(vec![]),
            1 => proptest::collection::vec(restriction_strategy(), 1..=2),
        ],
    )
        .prop_map(
            |(zone, people, turn, handoff, start_day, restrictions)| GenLayer {
                zone,
                people,
                turn,
                handoff,
                start_day,
                restrictions,
            },
        )
}

fn override_strategy() -> impl Strategy<Value = GenOverride> {
    (
        0..PEOPLE.len(),
        proptest::option::of(0..PEOPLE.len()),
        0i64..(240 * 24 * 60),
        1i64..(5 * 24 * 60),
    )
        .prop_map(|(user, replaces, start_min, len_min)| GenOverride {
            user,
            replaces,
            start_min,
            len_min,
        })
}

fn to_layer(i: usize, g: &GenLayer) -> Layer {
    Layer {
        name: n(&format!("layer-{i}")),
        participants: g.people.iter().map(|p| n(PEOPLE[*p])).collect(),
        turn: g.turn.text(),
        handoff: hhmm(g.handoff),
        start: plus_days(base_date(), g.start_day).to_string(),
        time_zone: g.zone.map(|z| ZONES[z].to_owned()),
        restrictions: g
            .restrictions
            .iter()
            .map(|r| Restriction {
                days: (0..7)
                    .filter(|d| r.days & (1 << d) != 0)
                    .map(|d| DAYS[d].to_owned())
                    .collect(),
                from: hhmm(r.from),
                to: hhmm(r.to),
            })
            .collect(),
    }
}

fn to_schedule(
    zone: usize,
    layers: &[GenLayer],
    overrides: &[GenOverride],
    temporary: Option<&GenTemporary>,
) -> Schedule {
    let layers = layers
        .iter()
        .enumerate()
        .map(|(i, g)| to_layer(i, g))
        .collect();
    let overrides = overrides
        .iter()
        .map(|o| {
            let start = plus_mins(base_instant(), o.start_min);
            Override {
                user: n(PEOPLE[o.user]),
                replaces: o.replaces.map(|r| n(PEOPLE[r])),
                start: start.to_string(),
                end: plus_mins(start, o.len_min).to_string(),
            }
        })
        .collect();
    let mut s = schedule(ZONES[zone], layers, overrides);
    s.temporary = temporary
        .iter()
        .map(|t| Temporary {
            start: t.start().to_string(),
            end: t.end().to_string(),
            layers: t
                .layers
                .iter()
                .enumerate()
                .map(|(i, g)| to_layer(i, g))
                .collect(),
        })
        .collect();
    s
}

/// The slow way, straight from the definition: every turn boundary of a
/// layer walked from turn 0, one civil or exact step at a time (never
/// k × turn), up to `until`.
struct RefLayer {
    tz: TimeZone,
    people: Vec<Name>,
    boundaries: Vec<Timestamp>,
    restrictions: Vec<GenRestriction>,
}

impl RefLayer {
    fn new(g: &GenLayer, schedule_zone: usize, until: Timestamp) -> RefLayer {
        let tz = TimeZone::get(ZONES[g.zone.unwrap_or(schedule_zone)]).unwrap();
        let local: DateTime = plus_days(base_date(), g.start_day).at(
            (g.handoff / 60) as i8,
            (g.handoff % 60) as i8,
            0,
            0,
        );
        let mut boundaries = Vec::new();
        match g.turn {
            TurnKind::Hours(h) => {
                let mut at = tz.to_timestamp(local).unwrap();
                while at <= until {
                    boundaries.push(at);
                    at = at.checked_add(SignedDuration::from_hours(h)).unwrap();
                }
                boundaries.push(at);
            }
            civil => {
                let step = match civil {
                    TurnKind::Days(d) => Span::new().days(d),
                    TurnKind::Weeks(w) => Span::new().weeks(w),
                    TurnKind::DaysHours(d, h) => Span::new().days(d).hours(h),
                    TurnKind::Hours(_) => unreachable!(),
                };
                let mut l = local;
                loop {
                    let at = tz.to_timestamp(l).unwrap();
                    boundaries.push(at);
                    if at > until {
                        break;
                    }
                    l = l.checked_add(step).unwrap();
                }
            }
        }
        RefLayer {
            tz,
            people: g.people.iter().map(|p| n(PEOPLE[*p])).collect(),
            boundaries,
            restrictions: g.restrictions.clone(),
        }
    }

    fn in_window(&self, t: Timestamp) -> bool {
        if self.restrictions.is_empty() {
            return true;
        }
        let today = self.tz.to_datetime(t).date();
        (-2..=1).any(|offset| {
            let d = plus_days(today, offset);
            let weekday = d.weekday().to_monday_zero_offset();
            self.restrictions.iter().any(|r| {
                if r.days != 0 && r.days & (1 << weekday) == 0 {
                    return false;
                }
                let at = |date: Date, m: i64| {
                    self.tz
                        .to_timestamp(date.at((m / 60) as i8, (m % 60) as i8, 0, 0))
                        .unwrap()
                };
                let end_date = if r.to < r.from { plus_days(d, 1) } else { d };
                at(d, r.from) <= t && t < at(end_date, r.to)
            })
        })
    }

    fn at(&self, t: Timestamp) -> Option<Name> {
        // The last turn started at or before t.
        let started = self.boundaries.iter().take_while(|b| **b <= t).count();
        if started == 0 || !self.in_window(t) {
            return None;
        }
        assert!(started < self.boundaries.len(), "walked too short");
        Some(self.people[(started - 1) % self.people.len()].clone())
    }
}

/// The schedule's layers, and a temporary period with its own layers.
struct RefSchedule {
    layers: Vec<RefLayer>,
    temporary: Option<(Timestamp, Timestamp, Vec<RefLayer>)>,
}

fn reference(s: &RefSchedule, overrides: &[GenOverride], t: Timestamp) -> Vec<Name> {
    let layers = match &s.temporary {
        Some((start, end, layers)) if *start <= t && t < *end => layers,
        _ => &s.layers,
    };
    let mut who: Vec<Name> = layers
        .iter()
        .rev()
        .find_map(|l| l.at(t))
        .into_iter()
        .collect();
    for o in overrides {
        let start = plus_mins(base_instant(), o.start_min);
        if !(start <= t && t < plus_mins(start, o.len_min)) {
            continue;
        }
        match o.replaces {
            Some(x) => {
                for w in &mut who {
                    if w.as_str() == PEOPLE[x] {
                        *w = n(PEOPLE[o.user]);
                    }
                }
            }
            None => who = vec![n(PEOPLE[o.user])],
        }
    }
    who.sort();
    who.dedup();
    who
}

/// Properties (1)–(3) for one generated schedule over [from, to); `picks`
/// are fractions of the range where to look besides the shift boundaries.
fn check(
    zone: usize,
    layers: &[GenLayer],
    overrides: &[GenOverride],
    temporary: Option<&GenTemporary>,
    from: Timestamp,
    to: Timestamp,
    picks: &[f64],
) -> Result<(), TestCaseError> {
    let r = ScheduleRule::compile(&to_schedule(zone, layers, overrides, temporary)).unwrap();
    prop_assert_eq!(
        r.temporary_periods(),
        temporary
            .iter()
            .map(|t| (t.start(), t.end()))
            .collect::<Vec<_>>()
    );

    // (1) The shifts tile [from, to) exactly; neighbours differ.
    let shifts = r.final_shifts(from, to);
    prop_assert!(!shifts.is_empty());
    prop_assert_eq!(shifts[0].start, from);
    prop_assert_eq!(shifts[shifts.len() - 1].end, to);
    for s in &shifts {
        prop_assert!(s.start < s.end, "{:?}", s);
        prop_assert!(s.users.len() <= 1, "{:?}", s);
    }
    for pair in shifts.windows(2) {
        prop_assert_eq!(pair[0].end, pair[1].start);
        prop_assert_ne!(&pair[0].users, &pair[1].users);
    }
    let gaps: Vec<(Timestamp, Timestamp)> = shifts
        .iter()
        .filter(|s| s.users.is_empty())
        .map(|s| (s.start, s.end))
        .collect();
    prop_assert_eq!(r.gaps(from, to), gaps);

    // The instants to look at: the picks, every shift boundary and a
    // second either side, and every layer's own shift boundaries.
    let len = to.duration_since(from).as_nanos() as f64;
    let mut instants: Vec<Timestamp> = picks
        .iter()
        .map(|p| Timestamp::from_nanosecond(from.as_nanosecond() + (len * p) as i128).unwrap())
        .collect();
    let layer_shifts: Vec<Vec<Shift>> = (0..layers.len())
        .map(|i| r.layer_shifts(i, from, to))
        .collect();
    let second = SignedDuration::from_secs(1);
    let edges = shifts
        .iter()
        .chain(layer_shifts.iter().flatten())
        .flat_map(|s| [s.start, s.end]);
    for edge in edges.take(600) {
        instants.extend([
            edge.checked_sub(second).unwrap(),
            edge,
            edge.checked_add(second).unwrap(),
        ]);
    }
    instants.retain(|t| from <= *t && *t < to);

    let until = plus_mins(to, 24 * 60);
    let refs = RefSchedule {
        layers: layers
            .iter()
            .map(|g| RefLayer::new(g, zone, until))
            .collect(),
        temporary: temporary.map(|t| {
            let layers = t
                .layers
                .iter()
                .map(|g| RefLayer::new(g, zone, until))
                .collect();
            (t.start(), t.end(), layers)
        }),
    };
    for t in instants {
        // (2) on_call_at agrees with the final shift containing t.
        let containing = shifts.iter().find(|s| s.start <= t && t < s.end).unwrap();
        let now = r.on_call_at(t);
        prop_assert_eq!(&now, &containing.users, "at {}", t);
        // (3) ... and with the slow reference.
        prop_assert_eq!(&now, &reference(&refs, overrides, t), "at {}", t);
        // Each layer alone agrees with its reference.
        for (i, l) in refs.layers.iter().enumerate() {
            let drawn = layer_shifts[i]
                .iter()
                .find(|s| s.start <= t && t < s.end)
                .map(|s| s.users[0].clone());
            prop_assert_eq!(drawn, l.at(t), "layer {} at {}", i, t);
        }
        // The next change is where the final shift containing t ends.
        let expected = Some(containing.end).filter(|e| *e < to);
        prop_assert_eq!(r.next_change(t, to), expected, "next after {}", t);
    }
    Ok(())
}

/// A clock change: the zone and the day of 2026 (from January 1st).
/// New York: gap 03-08 02:00–03:00, fold 11-01 01:00–02:00. Berlin: gap
/// 03-29 02:00–03:00, fold 10-25 02:00–03:00. Lord Howe: fold 04-05
/// 01:30–02:00, gap 10-04 02:00–02:30.
const CHANGES: [(usize, i64); 6] = [(2, 66), (2, 304), (1, 87), (1, 297), (3, 94), (3, 276)];

/// A layer whose turn boundaries and window edges often fall in the hours
/// where clocks change: daily or weekly turns at 00:00–03:59, or exact ones.
fn dst_layer_strategy() -> impl Strategy<Value = GenLayer> {
    let night = 0i64..240;
    (
        proptest::collection::vec(0..PEOPLE.len(), 1..=3),
        prop_oneof![
            3 => Just(TurnKind::Days(1)),
            1 => Just(TurnKind::Weeks(1)),
            1 => (1i64..=12).prop_map(TurnKind::Hours),
            1 => (1i64..=23).prop_map(|h| TurnKind::DaysHours(1, h)),
        ],
        night.clone(),
        0i64..60,
        prop_oneof![
            1 => Just(vec![]),
            1 => proptest::collection::vec(
                (any::<u8>(), night.clone(), night)
                    .prop_filter("an empty window", |(_, f, t)| f != t)
                    .prop_map(|(days, from, to)| GenRestriction { days: days & 0x7f, from, to }),
                1..=2,
            ),
        ],
    )
        .prop_map(
            |(people, turn, handoff, start_day, restrictions)| GenLayer {
                zone: None,
                people,
                turn,
                handoff,
                start_day,
                restrictions,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn schedules_agree_with_the_definition(
        zone in 0..ZONES.len(),
        layers in proptest::collection::vec(layer_strategy(), 1..=3),
        overrides in proptest::collection::vec(override_strategy(), 0..=2),
        from_min in -(10i64 * 24 * 60)..(365 * 24 * 60),
        len_min in 1i64..(60 * 24 * 60),
        temporary in proptest::option::of((
            -(20i64 * 24 * 60)..(60 * 24 * 60),
            1i64..(20 * 24 * 60),
            proptest::collection::vec(layer_strategy(), 1..=2),
        )),
        picks in proptest::collection::vec(0.0f64..1.0, 20),
    ) {
        let from = plus_mins(base_instant(), from_min);
        // The period starts near the range (before it, in it or after it)
        // and its layers' turn 0 a few days either side of its start.
        let temporary = temporary.map(|(offset_min, len_min, layers)| {
            let start_min = from_min + offset_min;
            let start_day = start_min.div_euclid(24 * 60);
            GenTemporary {
                start_min,
                len_min,
                layers: layers
                    .into_iter()
                    .map(|l| GenLayer { start_day: start_day - 10 + l.start_day % 15, ..l })
                    .collect(),
            }
        });
        check(
            zone,
            &layers,
            &overrides,
            temporary.as_ref(),
            from,
            plus_mins(from, len_min),
            &picks,
        )?;
    }

    #[test]
    fn clock_changes_agree_with_the_definition(
        change in 0..CHANGES.len(),
        layers in proptest::collection::vec(dst_layer_strategy(), 1..=2),
        back_min in 0i64..(3 * 24 * 60),
        len_min in (3i64 * 24 * 60)..(7 * 24 * 60),
        picks in proptest::collection::vec(0.0f64..1.0, 20),
    ) {
        // Layers start in the weeks before the change; the range holds it.
        let (zone, day) = CHANGES[change];
        let layers: Vec<GenLayer> = layers
            .into_iter()
            .map(|l| GenLayer { start_day: day - 60 + l.start_day, ..l })
            .collect();
        let from = plus_mins(base_instant(), day * 24 * 60 - back_min);
        check(zone, &layers, &[], None, from, plus_mins(from, len_min), &picks)?;
    }
}
