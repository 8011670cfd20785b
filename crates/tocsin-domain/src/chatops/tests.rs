use super::parse::severity_like;
use super::*;
use proptest::prelude::*;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn ok(input: &str) -> Command {
    match parse(input) {
        Ok(c) => c,
        Err(e) => panic!("{input:?} should parse, got:\n{e}"),
    }
}

/// The error for `input`, whose problem must mention every one of `needles`.
fn err(input: &str, needles: &[&str]) -> UsageError {
    let e = match parse(input) {
        Ok(c) => panic!("{input:?} should fail, parsed as {c:?}"),
        Err(e) => e,
    };
    for needle in needles {
        assert!(
            e.problem.contains(needle),
            "{input:?}: {needle:?} not in {:?}",
            e.problem
        );
    }
    e
}

fn mins(m: i64) -> SignedDuration {
    SignedDuration::from_mins(m)
}

// ---- happy paths --------------------------------------------------------

#[test]
fn ack_takes_a_number_with_or_without_hash_and_any_prefix() {
    for input in [
        "ack 8",
        "ack #8",
        "Ack #8",
        "  ack   8  ",
        "tocsin ack 8",
        "/tocsin ack 8",
        "@tocsin ack #8",
        "acknowledge 8",
        "ack #008",
    ] {
        assert_eq!(ok(input), Command::Ack { incident: 8 }, "{input:?}");
    }
    assert_eq!(
        ok(&format!("ack {}", i64::MAX)),
        Command::Ack { incident: i64::MAX }
    );
}

#[test]
fn resolve_takes_an_optional_note_as_typed() {
    assert_eq!(
        ok("resolve #8 Ended up just needing to restart Apache"),
        Command::Resolve {
            incident: 8,
            note: Some("Ended up just needing to restart Apache".into())
        }
    );
    assert_eq!(
        ok("resolve 8"),
        Command::Resolve {
            incident: 8,
            note: None
        }
    );
    // Spacing and quotes inside the text are kept; a note that is all
    // quoted loses its quotes.
    assert_eq!(
        ok("resolve 8 rolled  back \"v2\", it's fine"),
        Command::Resolve {
            incident: 8,
            note: Some("rolled  back \"v2\", it's fine".into())
        }
    );
    assert_eq!(
        ok("resolve 8 “false alarm”"),
        Command::Resolve {
            incident: 8,
            note: Some("false alarm".into())
        }
    );
}

#[test]
fn note_keeps_text_and_lines_verbatim() {
    assert_eq!(
        ok("note #8 Restarted apache on web-2\nerror rate falling, 5\" pipe"),
        Command::Note {
            incident: 8,
            text: "Restarted apache on web-2\nerror rate falling, 5\" pipe".into()
        }
    );
}

#[test]
fn log_is_a_change_event_with_an_optional_service() {
    assert_eq!(
        ok("log Upgraded redis to 2.8.19"),
        Command::Log {
            text: "Upgraded redis to 2.8.19".into(),
            service: None
        }
    );
    let with = Command::Log {
        text: "Upgraded redis to 2.8.19".into(),
        service: Some(n("cache")),
    };
    for input in [
        "log Upgraded redis to 2.8.19 --service cache",
        "log --service cache Upgraded redis to 2.8.19",
        "log Upgraded redis to 2.8.19 --service=cache",
        "log --SERVICE=cache Upgraded redis to 2.8.19",
    ] {
        assert_eq!(ok(input), with, "{input:?}");
    }
    // A quoted --service is text.
    assert_eq!(
        ok("log moved \"--service\" flag"),
        Command::Log {
            text: "moved \"--service\" flag".into(),
            service: None
        }
    );
}

#[test]
fn incident_new_takes_a_quoted_title_and_optional_severity_and_service() {
    let full = Command::IncidentNew {
        title: "Checkout returns 502".into(),
        severity: Some(Severity::Sev2),
        service: Some(n("checkout")),
    };
    for input in [
        "incident new \"Checkout returns 502\" sev2 checkout",
        "incident new “Checkout returns 502” Sev2 checkout",
        "incident new ”Checkout returns 502” checkout SEV2",
        "Incident NEW \"Checkout returns 502\" checkout sev2",
    ] {
        assert_eq!(ok(input), full, "{input:?}");
    }
    assert_eq!(
        ok("incident new Outage"),
        Command::IncidentNew {
            title: "Outage".into(),
            severity: None,
            service: None
        }
    );
    assert_eq!(
        ok(r#"incident new "The \"big\" one \\o/" sev1"#),
        Command::IncidentNew {
            title: r#"The "big" one \o/"#.into(),
            severity: Some(Severity::Sev1),
            service: None
        }
    );
}

#[test]
fn sev_accepts_digits_and_sev_words() {
    for (input, want) in [
        ("sev 8 2", Severity::Sev2),
        ("sev #8 sev2", Severity::Sev2),
        ("sev 8 Sev2", Severity::Sev2),
        ("severity 8 SEV5", Severity::Sev5),
        ("sev 8 1", Severity::Sev1),
    ] {
        assert_eq!(
            ok(input),
            Command::Sev {
                incident: 8,
                severity: want
            },
            "{input:?}"
        );
    }
}

#[test]
fn role_hands_ic_comms_or_scribe_to_a_person() {
    let cases = [
        ("role 8 ic @alice", Role::Commander, "alice"),
        ("role #8 IC alice", Role::Commander, "alice"),
        ("role 8 commander @alice", Role::Commander, "alice"),
        ("role 8 comms @bob", Role::Communications, "bob"),
        ("role 8 @carol scribe", Role::Scribe, "carol"),
    ];
    for (input, role, person) in cases {
        assert_eq!(
            ok(input),
            Command::Role {
                incident: 8,
                role,
                person: n(person)
            },
            "{input:?}"
        );
    }
}

#[test]
fn page_tells_people_teams_and_schedules_apart_by_prefix() {
    assert_eq!(
        ok("page @alice"),
        Command::Page {
            target: PageTarget::User(n("alice")),
            incident: None,
            message: None
        }
    );
    assert_eq!(
        ok("page user:alice 8"),
        Command::Page {
            target: PageTarget::User(n("alice")),
            incident: Some(8),
            message: None
        }
    );
    assert_eq!(
        ok("page team:payments #8 Card payments failing since 14:02"),
        Command::Page {
            target: PageTarget::Team(n("payments")),
            incident: Some(8),
            message: Some("Card payments failing since 14:02".into())
        }
    );
    assert_eq!(
        ok("page Schedule:payments-primary can someone look at the queue?"),
        Command::Page {
            target: PageTarget::Schedule(n("payments-primary")),
            incident: None,
            message: Some("can someone look at the queue?".into())
        }
    );
    // A number right after the target is the incident; quote it to say
    // otherwise.
    assert_eq!(
        ok("page @bob 8 hosts down"),
        Command::Page {
            target: PageTarget::User(n("bob")),
            incident: Some(8),
            message: Some("hosts down".into())
        }
    );
    assert_eq!(
        ok("page @bob \"8 hosts down\""),
        Command::Page {
            target: PageTarget::User(n("bob")),
            incident: None,
            message: Some("8 hosts down".into())
        }
    );
}

#[test]
fn escalate_takes_an_incident() {
    assert_eq!(ok("escalate #8"), Command::Escalate { incident: 8 });
}

#[test]
fn update_takes_an_optional_state_then_text() {
    assert_eq!(
        ok("update #8 identified A bad deploy of checkout; rolling back"),
        Command::Update {
            incident: 8,
            state: Some(UpdateState::Identified),
            text: "A bad deploy of checkout; rolling back".into()
        }
    );
    assert_eq!(
        ok("update 8 Monitoring the fix"),
        Command::Update {
            incident: 8,
            state: Some(UpdateState::Monitoring),
            text: "the fix".into()
        }
    );
    assert_eq!(
        ok("update 8 Still looking"),
        Command::Update {
            incident: 8,
            state: None,
            text: "Still looking".into()
        }
    );
    assert_eq!(
        ok("update 8 \"resolved itself, watching\""),
        Command::Update {
            incident: 8,
            state: None,
            text: "resolved itself, watching".into()
        }
    );
}

#[test]
fn status_check_and_oncall() {
    assert_eq!(ok("status"), Command::Status { service: None });
    assert_eq!(
        ok("status checkout"),
        Command::Status {
            service: Some(n("checkout"))
        }
    );
    assert_eq!(
        ok("check checkout"),
        Command::Check {
            service: n("checkout")
        }
    );
    assert_eq!(ok("oncall"), Command::Oncall { team: None });
    for input in ["oncall payments", "on-call team:payments"] {
        assert_eq!(
            ok(input),
            Command::Oncall {
                team: Some(n("payments"))
            },
            "{input:?}"
        );
    }
}

#[test]
fn maintenance_starts_for_a_duration_with_a_reason_and_stops() {
    assert_eq!(
        ok("maintenance start checkout for 2h Upgrading postgres"),
        Command::MaintenanceStart {
            service: n("checkout"),
            duration: Some(mins(120)),
            reason: Some("Upgrading postgres".into())
        }
    );
    for (input, m) in [
        ("maintenance start checkout for 90m", 90),
        ("maintenance start checkout 90min", 90),
        ("maintenance start checkout for 1h30m", 90),
        ("maintenance start checkout for 1d", 24 * 60),
        ("maint start checkout FOR 1W", 7 * 24 * 60),
    ] {
        assert_eq!(
            ok(input),
            Command::MaintenanceStart {
                service: n("checkout"),
                duration: Some(mins(m)),
                reason: None
            },
            "{input:?}"
        );
    }
    assert_eq!(
        ok("maintenance start checkout Upgrading postgres"),
        Command::MaintenanceStart {
            service: n("checkout"),
            duration: None,
            reason: Some("Upgrading postgres".into())
        }
    );
    assert_eq!(
        ok("maintenance start db \"for the upgrade\""),
        Command::MaintenanceStart {
            service: n("db"),
            duration: None,
            reason: Some("for the upgrade".into())
        }
    );
    assert_eq!(
        ok("maintenance stop checkout"),
        Command::MaintenanceStop {
            service: n("checkout")
        }
    );
}

#[test]
fn run_takes_a_target_and_parameters() {
    assert_eq!(
        ok("run restart-web"),
        Command::Run {
            action: n("restart-web"),
            target: None,
            incident: None,
            params: BTreeMap::new()
        }
    );
    assert_eq!(
        ok("run restart-web on 8 #12"),
        Command::Run {
            action: n("restart-web"),
            target: Some(n("8")),
            incident: Some(12),
            params: BTreeMap::new()
        },
        "a bare number after on is a target; only #N is an incident"
    );
    let want = Command::Run {
        action: n("restart-web"),
        target: Some(n("web-2")),
        incident: Some(8),
        params: BTreeMap::from([
            (n("reason"), "stuck workers".to_owned()),
            (n("count"), "3".to_owned()),
            (n("expr"), "a=b".to_owned()),
        ]),
    };
    for input in [
        "run restart-web on web-2 #8 reason=\"stuck workers\" count=3 expr=a=b",
        "run restart-web count=3 #8 ON web-2 reason=“stuck workers” expr=a=b",
    ] {
        assert_eq!(ok(input), want, "{input:?}");
    }
}

#[test]
fn help_and_empty_lines() {
    for input in ["", "   ", "tocsin", "help", "HELP"] {
        assert_eq!(ok(input), Command::Help { topic: None }, "{input:?}");
    }
    for (input, topic) in [
        ("help page", "page"),
        ("help acknowledge", "ack"),
        ("help incident new", "incident"),
        ("help maintenance stop", "maintenance"),
        ("page --help", "page"),
        ("tocsin log --help", "log"),
    ] {
        assert_eq!(
            ok(input),
            Command::Help {
                topic: Some(topic.into())
            },
            "{input:?}"
        );
    }
}

// ---- errors -------------------------------------------------------------

#[test]
fn sev_error_reads_as_in_the_issue() {
    let e = err("sev 8 7", &["\"7\" is not a severity"]);
    assert_eq!(
        e.to_string(),
        "sev: \"7\" is not a severity; use 1–5 (Sev1 complete outage, Sev2 major functionality \
         broken or revenue affected, Sev3 minor problem, Sev4 redundant component failure, \
         Sev5 false alarm or unactionable alert; never pages)\nusage: sev <incident> <1-5>"
    );
    assert_eq!(e.command, Some("sev"));
    err("sev 8", &["missing the severity"]);
    err("sev 8 sev0", &["\"sev0\" is not a severity"]);
    err("sev 8 99999999999999999999999", &["is not a severity"]);
    err("sev 8 2 now", &["\"now\" is one word too many"]);
}

#[test]
fn incident_errors_name_the_bad_word() {
    err("ack", &["missing the incident"]);
    err("ack abc", &["\"abc\" is not an incident", "8 or #8"]);
    err("ack -3", &["\"-3\" is not an incident"]);
    err("ack #0", &["\"#0\"", "start at 1"]);
    err("ack 99999999999999999999", &["too large"]);
    err("ack 8 9", &["\"9\" is one word too many"]);
    err("escalate", &["missing the incident"]);
    err("page @alice #0", &["start at 1"]);
}

#[test]
fn unknown_commands_suggest_the_closest_and_help() {
    let e = err(
        "pgae @alice",
        &["\"pgae\" is not a command", "did you mean \"page\"", "help"],
    );
    assert_eq!(e.command, None);
    assert_eq!(e.usage, spec::find("page").unwrap().usage);
    assert!(e.to_string().starts_with("\"pgae\" is not a command"));
    err("resolv 8", &["did you mean \"resolve\""]);
    err("maint", &["missing \"start\" or \"stop\""]);
    err("esc 8", &["did you mean \"escalate\""]);
    err("ak 8", &["did you mean \"ack\""]);
    let e = err(
        "xyzzy",
        &["\"xyzzy\" is not a command", "\"help\" lists them all"],
    );
    assert!(!e.problem.contains("did you mean"));
    assert_eq!(e.usage, "help [command]");
    err("help frobnicate", &["\"frobnicate\" is not a command"]);
    err(
        "maintenance strat db",
        &["\"strat\"", "did you mean \"start\""],
    );
    err("maintenance pause db", &["use start or stop"]);
    err("incident open \"x\"", &["\"open\"", "did you mean \"new\""]);
}

#[test]
fn unterminated_quotes_name_the_position() {
    let e = err(
        "incident new \"Checkout down sev2",
        &["quote \" at character 14 is never closed"],
    );
    assert_eq!(e.command, Some("incident"));
    let e = err("note 8 he said “stop", &["quote “ at character 16"]);
    assert_eq!(e.command, Some("note"));
    err("run x reason=\"a b", &["character 14"]);
    let e = err("\"", &["character 1"]);
    assert_eq!(e.command, None);
}

#[test]
fn incident_new_errors() {
    err("incident", &["missing \"new\""]);
    err("incident new", &["missing the title"]);
    err(
        "incident new Checkout is down sev2",
        &["put a title of several words in quotes"],
    );
    err("incident new sev2 checkout", &["missing the title"]);
    err(
        "incident new \"x\"sev2",
        &["put a space after the title's closing quote"],
    );
    err("incident new \"\" sev2", &["the title must not be empty"]);
    err("incident new \"a\nb\"", &["the title must be one line"]);
    err(
        "incident new \"x\" sev2 sev3",
        &["\"sev3\" is a second severity"],
    );
    err(
        "incident new \"x\" sev9",
        &["\"sev9\" is not a severity", "sev1–sev5"],
    );
    err("incident new \"x\" 2", &["\"2\" is not a severity"]);
    err("incident new \"x\" a b", &["\"b\" is a second service"]);
    err(
        "incident new \"x\" Checkout",
        &["\"Checkout\" is not a service name", "lowercase"],
    );
}

#[test]
fn role_and_page_errors() {
    err(
        "role 8 captain @alice",
        &["\"captain\" is not a role", "ic", "comms", "scribe"],
    );
    err("role 8 responder @alice", &["page"]);
    err("role 8 ic @Alice", &["\"Alice\" is not a person's name"]);
    err("role 8 ic", &["missing the person"]);
    err("page", &["missing whom to page"]);
    err(
        "page payments 8",
        &[
            "\"payments\" does not say what it is",
            "@payments for a person",
            "team:payments for a team",
            "schedule:payments",
        ],
    );
    err(
        "page #8 @alice",
        &["\"#8\" is an incident", "whom to page comes first"],
    );
    err("page ?", &["\"?\" is not whom to page"]);
    err("page squad:x", &["\"squad\" is not a kind of page target"]);
    err("page team:", &["is not a team name", "empty"]);
    err("page @", &["is not a person's name"]);
}

#[test]
fn text_errors() {
    err("note 8", &["missing the note text"]);
    err("note 8 \"  \"", &["the note must not be empty"]);
    err(
        &format!("note 8 {}", "x".repeat(10_001)),
        &["at most 10000"],
    );
    err("update 8 monitoring", &["missing the update text"]);
    err("log", &["missing the text"]);
    err("log --service redis", &["missing the text"]);
    err(
        "log upgraded --service",
        &["--service needs a service name"],
    );
    err("log a --service x b", &["at the start or the end"]);
    err("log --service a x --service b", &["more than once"]);
    err(
        "log x --service Redis",
        &["\"Redis\" is not a service name"],
    );
}

#[test]
fn maintenance_errors() {
    err("maintenance", &["missing \"start\" or \"stop\""]);
    err("maintenance start", &["missing the service"]);
    err(
        "maintenance start db for the upgrade",
        &["\"the\" is not a duration", "quote a reason"],
    );
    err(
        "maintenance start db for 2",
        &["\"2\" is not a duration", "2h"],
    );
    err("maintenance start db for", &["missing the duration"]);
    err(
        "maintenance start db for 8d",
        &["\"8d\" is too long", "7 days"],
    );
    err(
        "maintenance start db 99999999999999999999999h",
        &["too long"],
    );
    err("maintenance start db for 0m", &["no time at all"]);
    err("maintenance stop", &["missing the service"]);
    err("maintenance stop db now", &["\"now\" is one word too many"]);
}

#[test]
fn run_and_service_errors() {
    err("run", &["missing the runbook action"]);
    err("run Restart", &["\"Restart\" is not a runbook action name"]);
    err("run restart on", &["missing the target"]);
    err("run restart on x on y", &["\"on\" is given more than once"]);
    err(
        "run restart now",
        &["\"now\" is not a parameter", "key=value"],
    );
    err("run restart \"a=b\"", &["is not a parameter"]);
    err("run restart a=1 a=2", &["parameter \"a\" is given twice"]);
    err("run restart Key=1", &["\"Key\" is not a parameter name"]);
    err("run restart #8 #9", &["\"#9\" is a second incident"]);
    err("run restart #0", &["numbers start at 1"]);
    err("run restart #x", &["\"#x\" is not an incident"]);
    err("check", &["missing the service"]);
    err("status Checkout", &["\"Checkout\" is not a service name"]);
    err("oncall team:", &["is not a team name"]);
}

#[test]
fn long_words_are_cut_in_messages() {
    let e = err(
        &format!("ack {}", "a".repeat(5000)),
        &["…", "is not an incident"],
    );
    assert!(e.problem.chars().count() < 200, "{}", e.problem);
}

#[test]
fn errors_display_problem_then_usage() {
    let e = err("check", &[]);
    assert_eq!(
        e.to_string(),
        "check: missing the service\nusage: check <service>"
    );
}

// ---- the table and help -------------------------------------------------

#[test]
fn every_example_parses_as_its_command_and_round_trips() {
    for spec in COMMANDS {
        let c = ok(spec.example);
        assert_eq!(c.name(), spec.name, "{}", spec.example);
        assert_eq!(parse(&c.to_string()), Ok(c.clone()), "{c}");
        assert!(spec.usage.starts_with(spec.name), "{}", spec.usage);
        assert!(!spec.summary.contains('\n'));
    }
}

#[test]
fn docs_show_every_command_with_its_example() {
    let docs = include_str!("../../../../docs/chatops.md");
    for spec in COMMANDS {
        assert!(
            docs.contains(&format!("`{}`", spec.example)),
            "docs/chatops.md lacks the example of {}: {}",
            spec.name,
            spec.example
        );
        let first_usage = spec.usage.lines().next().unwrap_or_default();
        assert!(
            docs.contains(&first_usage.replace('|', "\\|")),
            "docs/chatops.md lacks the usage of {}",
            spec.name
        );
    }
}

#[test]
fn command_names_and_aliases_are_unique_and_lowercase() {
    let mut seen = std::collections::HashSet::new();
    for spec in COMMANDS {
        for w in std::iter::once(&spec.name).chain(spec.aliases) {
            assert!(seen.insert(*w), "{w} twice");
            assert_eq!(w.to_lowercase(), *w);
        }
    }
}

#[test]
fn help_lists_every_command_or_explains_one() {
    let all = help(None);
    for spec in COMMANDS {
        assert!(
            all.contains(spec.name) && all.contains(spec.summary),
            "{}",
            spec.name
        );
    }
    let sev = help(Some("sev"));
    assert!(sev.starts_with("usage: sev <incident> <1-5>\n"), "{sev}");
    assert!(sev.contains("Change an incident's severity."));
    assert!(sev.ends_with("example: sev #8 2"), "{sev}");
    assert_eq!(help(Some("acknowledge")), help(Some("ack")));
    assert_eq!(help(Some("maintenance start")), help(Some("maintenance")));
    assert!(help(Some("ack")).contains("Also written: acknowledge"));
    let unknown = help(Some("pgae"));
    assert!(unknown.contains("did you mean \"page\""), "{unknown}");
    assert!(unknown.contains(&all), "{unknown}");
    assert_eq!(help(Some("  ")), all);
}

#[test]
fn display_writes_the_canonical_syntax() {
    for (input, canonical) in [
        ("tocsin Ack 8", "ack #8"),
        ("sev 8 Sev2", "sev #8 2"),
        ("role 8 @alice commander", "role #8 ic @alice"),
        ("page user:alice 8", "page @alice #8"),
        (
            "maintenance start db 90min",
            "maintenance start db for 1h30m",
        ),
        ("maintenance start db for 1w", "maintenance start db for 7d"),
        (
            "incident new “Outage” checkout SEV1",
            "incident new \"Outage\" sev1 checkout",
        ),
        ("log --service=cache up", "log up --service cache"),
        ("oncall team:payments", "oncall payments"),
        ("run x b=2 a=“1 2”", "run x a=\"1 2\" b=2"),
        ("run x a=\"\"", "run x a=\"\""),
        ("run x a=1 #8 on t", "run x on t #8 a=1"),
        ("help acknowledge", "help ack"),
        ("", "help"),
        ("page @bob \"8 hosts down\"", "page @bob \"8 hosts down\""),
        (
            "update 8 \"monitoring is off\"",
            "update #8 \"monitoring is off\"",
        ),
        (
            "maintenance start db \"2h or so\"",
            "maintenance start db \"2h or so\"",
        ),
        ("log \"--help\"", "log \"--help\""),
        ("note 8 \"quoted\"", "note #8 quoted"),
        ("note 8 say \"hi\"", "note #8 say \"hi\""),
    ] {
        let c = ok(input);
        assert_eq!(c.to_string(), canonical, "{input:?}");
        assert_eq!(parse(canonical), Ok(c), "{canonical:?}");
    }
}

// ---- properties ---------------------------------------------------------

fn name() -> impl Strategy<Value = Name> {
    "[a-z0-9][a-z0-9._-]{0,15}".prop_map(|s| n(&s))
}

fn incident() -> impl Strategy<Value = i64> {
    prop_oneof![1i64..100, 1i64..=i64::MAX]
}

/// Words that mean something to some command, and characters that mean
/// something to the lexer.
const TRICKY: &[&str] = &[
    "for",
    "FOR",
    "2h",
    "1h30m",
    "8d",
    "#8",
    "8",
    "#",
    "0",
    "--service",
    "--service=x",
    "--help",
    "monitoring",
    "Resolved",
    "on",
    "new",
    "start",
    "sev2",
    "ic",
    "@alice",
    "team:x",
    "tocsin",
    "\"",
    "“",
    "”",
    "\\",
    "\\\"",
    "a=\"b\"",
    "k=“v",
    "x\"y",
    "'",
    "=",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9,.;:!?'()-]{1,8}",
        2 => "\\PC{1,6}",
        2 => proptest::sample::select(TRICKY).prop_map(String::from),
    ]
}

/// Free text: words and separators, trimmed and non-empty as parsed text
/// always is.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            word(),
            prop_oneof![Just(" "), Just("  "), Just("\n"), Just(" \t ")],
        ),
        1..8,
    )
    .prop_map(|ws| ws.into_iter().map(|(w, s)| w + s).collect::<String>())
    .prop_map(|s| s.trim().to_owned())
    .prop_filter("text is not empty", |s| !s.is_empty())
}

fn title() -> impl Strategy<Value = String> {
    proptest::collection::vec(word(), 1..6)
        .prop_map(|ws| ws.join(" ").trim().to_owned())
        .prop_filter("a title", |s| {
            crate::response::check_title(s).as_deref() == Ok(s.as_str())
        })
}

fn duration() -> impl Strategy<Value = SignedDuration> {
    (1..=MAX_MAINTENANCE.as_mins()).prop_map(SignedDuration::from_mins)
}

fn page_target() -> impl Strategy<Value = PageTarget> {
    prop_oneof![
        name().prop_map(PageTarget::User),
        name().prop_map(PageTarget::Team),
        name().prop_map(PageTarget::Schedule),
    ]
}

fn param_value() -> impl Strategy<Value = String> {
    prop_oneof!["\\PC{0,10}", ".{0,6}", word()]
}

fn command() -> impl Strategy<Value = Command> {
    let severity = proptest::sample::select(Severity::ALL.to_vec());
    let role = proptest::sample::select(vec![Role::Commander, Role::Communications, Role::Scribe]);
    let state = proptest::sample::select(UpdateState::ALL.to_vec());
    let topic = proptest::sample::select(COMMANDS.iter().map(|c| c.name).collect::<Vec<_>>());
    prop_oneof![
        incident()
            .prop_map(|incident| Command::Ack { incident })
            .boxed(),
        (incident(), proptest::option::of(text()))
            .prop_map(|(incident, note)| Command::Resolve { incident, note })
            .boxed(),
        (incident(), text())
            .prop_map(|(incident, text)| Command::Note { incident, text })
            .boxed(),
        (text(), proptest::option::of(name()))
            .prop_map(|(text, service)| Command::Log { text, service })
            .boxed(),
        (
            title(),
            proptest::option::of(severity.clone()),
            proptest::option::of(
                name().prop_filter("not a severity", |n| !severity_like(n.as_str()))
            )
        )
            .prop_map(|(title, severity, service)| Command::IncidentNew {
                title,
                severity,
                service
            })
            .boxed(),
        (incident(), severity)
            .prop_map(|(incident, severity)| Command::Sev { incident, severity })
            .boxed(),
        (incident(), role, name())
            .prop_map(|(incident, role, person)| Command::Role {
                incident,
                role,
                person
            })
            .boxed(),
        (
            page_target(),
            proptest::option::of(incident()),
            proptest::option::of(text())
        )
            .prop_map(|(target, incident, message)| Command::Page {
                target,
                incident,
                message
            })
            .boxed(),
        incident()
            .prop_map(|incident| Command::Escalate { incident })
            .boxed(),
        (incident(), proptest::option::of(state), text())
            .prop_map(|(incident, state, text)| Command::Update {
                incident,
                state,
                text
            })
            .boxed(),
        proptest::option::of(name())
            .prop_map(|service| Command::Status { service })
            .boxed(),
        name()
            .prop_map(|service| Command::Check { service })
            .boxed(),
        proptest::option::of(name())
            .prop_map(|team| Command::Oncall { team })
            .boxed(),
        (
            name(),
            proptest::option::of(duration()),
            proptest::option::of(text())
        )
            .prop_map(|(service, duration, reason)| Command::MaintenanceStart {
                service,
                duration,
                reason
            })
            .boxed(),
        name()
            .prop_map(|service| Command::MaintenanceStop { service })
            .boxed(),
        (
            name(),
            proptest::option::of(name()),
            proptest::option::of(incident()),
            proptest::collection::btree_map(name(), param_value(), 0..4)
        )
            .prop_map(|(action, target, incident, params)| Command::Run {
                action,
                target,
                incident,
                params
            })
            .boxed(),
        proptest::option::of(topic.prop_map(String::from))
            .prop_map(|topic| Command::Help { topic })
            .boxed(),
    ]
}

/// Lines made of a command word (mostly) and then incident numbers, names,
/// tricky words, huge numbers, control characters and anything else: most
/// fail, many parse.
fn line() -> impl Strategy<Value = String> {
    let names = || {
        proptest::sample::select(COMMANDS.iter().map(|c| c.name).collect::<Vec<_>>())
            .prop_map(String::from)
    };
    let head = prop_oneof![
        6 => names(),
        1 => names().prop_map(|n| format!("tocsin {n}")),
        1 => word(),
        1 => any::<String>(),
    ];
    let piece = prop_oneof![
        1 => names(),
        3 => word(),
        3 => "#?[0-9]{1,3}",
        1 => "#?[0-9]{15,40}",
        2 => "[0-9]{1,25}[a-zA-Z]{0,4}",
        2 => "@?[a-z][a-z0-9-]{0,6}",
        1 => "(team|schedule|user|squad):[a-z]{0,5}",
        1 => "[a-z]{1,4}=[\"“]?[a-z ]{0,4}[\"”]?",
        1 => "[\\x00-\\x1f\\x7f]{1,3}",
        1 => any::<String>(),
    ];
    let sep = prop_oneof![3 => Just(" "), 1 => Just(""), 1 => Just("\n")];
    (head, proptest::collection::vec((sep, piece), 0..8))
        .prop_map(|(h, ps)| ps.into_iter().fold(h, |acc, (s, p)| acc + s + &p))
}

fn check_outcome(input: &str) -> Result<(), TestCaseError> {
    match parse(input) {
        Ok(c) => {
            let again = c.to_string();
            prop_assert_eq!(parse(&again), Ok(c), "{:?} → {:?}", input, again);
        }
        Err(e) => {
            let shown = e.to_string();
            prop_assert!(!e.problem.is_empty());
            prop_assert!(!e.problem.contains('\n'), "{}", shown);
            prop_assert!(shown.contains("\nusage: "), "{}", shown);
        }
    }
    Ok(())
}

proptest! {
    #[test]
    fn parse_never_panics_on_any_string(s in any::<String>()) {
        check_outcome(&s)?;
    }

    #[test]
    fn parse_never_panics_on_command_like_lines(s in line()) {
        check_outcome(&s)?;
    }

    #[test]
    fn generated_commands_round_trip_through_display(c in command()) {
        let line = c.to_string();
        prop_assert_eq!(parse(&line), Ok(c), "{}", line);
    }

    #[test]
    fn help_never_panics(s in any::<String>()) {
        prop_assert!(!help(Some(&s)).is_empty());
    }
}
