use super::*;

fn n(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn user(name: &str) -> Object {
    Object::User(User {
        name: n(name),
        full_name: "A Person".into(),
        email: format!("{name}@example.com"),
        time_zone: "Europe/Berlin".into(),
        contact_methods: vec![],
        notification_rules: vec![],
    })
}

fn service(name: &str, team: &str) -> Service {
    Service {
        name: n(name),
        description: None,
        team: n(team),
        escalation_policy: None,
        impact: None,
        first_steps: None,
        links: vec![],
        runbooks: vec![],
        depends_on: vec![],
        tags: vec![],
        alert_grouping: None,
    }
}

fn messages(objects: &[Object]) -> Vec<(usize, String, String)> {
    validate(objects, &BTreeSet::new())
        .into_iter()
        .map(|p| (p.object, p.path, p.message))
        .collect()
}

#[test]
fn a_consistent_catalog_has_no_problems() {
    let objects = vec![
        user("alice"),
        Object::Team(Team {
            name: n("payments"),
            description: None,
            members: vec![n("alice")],
        }),
        Object::Service(service("checkout", "payments")),
    ];
    assert_eq!(messages(&objects), vec![]);
}

#[test]
fn every_problem_is_reported() {
    let mut bad_user = match user("bob") {
        Object::User(u) => u,
        _ => unreachable!(),
    };
    bad_user.time_zone = "Mars/Olympus".into();
    bad_user.email = "bob".into();
    let mut svc = service("checkout", "nope");
    svc.depends_on = vec![n("checkout"), n("ghost")];
    svc.links = vec![Link {
        title: "grafana".into(),
        url: "ftp://x".into(),
    }];
    let objects = vec![Object::User(bad_user), Object::Service(svc), user("bob")];
    let got = messages(&objects);
    let want = vec![
        (0, "email", "\"bob\" is not an email address"),
        (
            0,
            "time_zone",
            "\"Mars/Olympus\" is not a known IANA time zone (e.g. Europe/Berlin, UTC)",
        ),
        (1, "links[0].url", "\"ftp://x\" is not an http(s) URL"),
        (1, "depends_on[0]", "a service cannot depend on itself"),
        (2, "name", "user \"bob\" is declared twice"),
        (1, "team", "no team named \"nope\" is declared"),
        (1, "depends_on[1]", "no service named \"ghost\" is declared"),
    ];
    let want: Vec<(usize, String, String)> = want
        .into_iter()
        .map(|(i, p, m)| (i, p.to_owned(), m.to_owned()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn existing_objects_satisfy_references() {
    let objects = vec![Object::Service(service("checkout", "payments"))];
    let existing = BTreeSet::from([(Kind::Team, n("payments"))]);
    assert!(validate(&objects, &existing).is_empty());
}

#[test]
fn schedule_and_policy_rules() {
    let sched = Object::Schedule(Schedule {
        name: n("primary"),
        description: None,
        team: None,
        time_zone: "UTC".into(),
        layers: vec![Layer {
            name: n("weekly"),
            participants: vec![],
            turn: "fortnight".into(),
            handoff: "9am".into(),
            start: "2026-13-01".into(),
            time_zone: None,
            restrictions: vec![Restriction {
                days: vec!["monday".into()],
                from: "09:00".into(),
                to: "09:00".into(),
            }],
        }],
        overrides: vec![Override {
            user: n("alice"),
            replaces: None,
            start: "2026-03-29T10:00:00Z".into(),
            end: "2026-03-29T09:00:00Z".into(),
        }],
        temporary: vec![],
    });
    let policy = Object::EscalationPolicy(EscalationPolicy {
        name: n("default"),
        description: None,
        team: None,
        repeat: 20,
        levels: vec![
            Level {
                delay_minutes: 0,
                targets: vec![Target::Schedule(n("primary"))],
            },
            Level {
                delay_minutes: 5,
                targets: vec![],
            },
        ],
    });
    let paths: Vec<String> = messages(&[user("alice"), sched, policy])
        .into_iter()
        .map(|(_, p, _)| p)
        .collect();
    assert_eq!(
        paths,
        vec![
            "layers[0].participants",
            "layers[0].turn",
            "layers[0].handoff",
            "layers[0].start",
            "layers[0].restrictions[0].days[0]",
            "layers[0].restrictions[0].to",
            "overrides[0].end",
            "repeat",
            "levels[0].delay_minutes",
            "levels[1].targets",
        ]
    );
}

#[test]
fn objects_round_trip_through_their_stored_spec() {
    let o = Object::Service(service("checkout", "payments"));
    let back = Object::from_spec(Kind::Service, o.spec_json()).unwrap();
    assert_eq!(back, o);
    assert_eq!(
        Kind::parse("escalation-policies"),
        Some(Kind::EscalationPolicy)
    );
}

fn silence(matchers: &[&str]) -> Silence {
    Silence {
        name: n("quiet"),
        matchers: matchers.iter().map(|s| (*s).to_owned()).collect(),
        starts_at: None,
        ends_at: "2030-01-01T00:00:00Z".into(),
        comment: None,
        created_by: None,
    }
}

fn window(services: &[&str]) -> MaintenanceWindow {
    MaintenanceWindow {
        name: n("patching"),
        services: services.iter().map(|s| n(s)).collect(),
        starts_at: "2026-06-07T03:00".into(),
        duration: "2h".into(),
        time_zone: Some("Europe/Berlin".into()),
        repeat: Repeat::Weekly,
        until: None,
        reason: None,
        created_by: None,
    }
}

#[test]
fn silence_rules() {
    let ok = Object::Silence(silence(&["alertname=\"DiskFull\"", "env!=staging"]));
    assert_eq!(messages(&[ok]), vec![]);

    let mut bad = silence(&["env<>prod", "1x=a", "instance=~\"db-(\""]);
    bad.starts_at = Some("2030-02-01T00:00:00Z".into());
    let paths: Vec<(String, String)> = messages(&[Object::Silence(bad)])
        .into_iter()
        .map(|(_, p, m)| (p, m))
        .collect();
    assert_eq!(
        paths,
        vec![
            (
                "matchers[0]".to_owned(),
                "unknown operator \"<>\"; use one of =, !=, =~, !~".to_owned()
            ),
            (
                "matchers[1]".to_owned(),
                "\"1x\" is not a label name (letters, digits and _, not starting with a digit)"
                    .to_owned()
            ),
            (
                "matchers[2]".to_owned(),
                "\"db-(\" is not a valid regular expression: unclosed group".to_owned()
            ),
            ("ends_at".to_owned(), "must be after starts_at".to_owned()),
        ]
    );

    let mut everything = silence(&["env=~\".*\"", "team!=payments"]);
    everything.ends_at = "soon".into();
    let got = messages(&[Object::Silence(everything)]);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0].1, "matchers");
    assert!(got[0].2.contains("silence every alert"), "{}", got[0].2);
    assert_eq!(got[1].1, "ends_at");
    assert_eq!(messages(&[Object::Silence(silence(&[]))])[0].1, "matchers");
}

#[test]
fn maintenance_window_rules() {
    let objects = vec![
        Object::Service(service("postgres", "platform")),
        Object::MaintenanceWindow(window(&["postgres", "ghost"])),
    ];
    let existing = BTreeSet::from([(Kind::Team, n("platform"))]);
    let got: Vec<(usize, String, String)> = validate(&objects, &existing)
        .into_iter()
        .map(|p| (p.object, p.path, p.message))
        .collect();
    assert_eq!(
        got,
        vec![(
            1,
            "services[1]".to_owned(),
            "no service named \"ghost\" is declared".to_owned()
        )]
    );

    let mut bad = window(&["postgres", "postgres"]);
    bad.starts_at = "sunday 3am".into();
    bad.duration = "8d".into();
    bad.time_zone = Some("Mars/Olympus".into());
    bad.until = Some("2026-13-01".into());
    let paths: Vec<String> = messages(&[Object::MaintenanceWindow(bad)])
        .into_iter()
        .filter(|(_, p, _)| !p.starts_with("services["))
        .map(|(_, p, _)| p)
        .collect();
    assert_eq!(paths, vec!["time_zone", "starts_at", "duration", "until"]);

    let mut bad = window(&[]);
    bad.duration = "0h".into();
    bad.until = Some("2026-06-06".into());
    let got = messages(&[Object::MaintenanceWindow(bad)]);
    assert_eq!(
        got,
        vec![
            (
                0,
                "services".to_owned(),
                "a maintenance window needs at least one service".to_owned()
            ),
            (
                0,
                "duration".to_owned(),
                "must be longer than zero".to_owned()
            ),
            (
                0,
                "until".to_owned(),
                "is before the first occurrence starts (starts_at)".to_owned()
            ),
        ]
    );
    let dup = messages(&[Object::MaintenanceWindow(window(&["a", "b", "a"]))]);
    assert!(
        dup.contains(&(
            0,
            "services[2]".to_owned(),
            "\"a\" is listed twice".to_owned()
        )),
        "{dup:?}"
    );
}

#[test]
fn the_new_kinds_round_trip_and_parse() {
    for o in [
        Object::Silence(silence(&["env=prod"])),
        Object::MaintenanceWindow(window(&["postgres"])),
    ] {
        let back = Object::from_spec(o.kind(), o.spec_json()).unwrap();
        assert_eq!(back, o);
    }
    // The default repeat is left out of the stored spec.
    let mut once = window(&["postgres"]);
    once.repeat = Repeat::None;
    let spec = Object::MaintenanceWindow(once).spec_json();
    assert!(spec.get("repeat").is_none(), "{spec}");
    assert_eq!(
        Kind::parse("maintenance-windows"),
        Some(Kind::MaintenanceWindow)
    );
    assert_eq!(
        Kind::parse("maintenance_window"),
        Some(Kind::MaintenanceWindow)
    );
    assert_eq!(Kind::parse("silences"), Some(Kind::Silence));
    assert_eq!(Kind::MaintenanceWindow.label(), "maintenance window");
    assert_eq!(
        Kind::ALL[Kind::ALL.len() - 5..],
        [
            Kind::Silence,
            Kind::MaintenanceWindow,
            Kind::ScheduleOverride,
            Kind::MessageTemplate,
            Kind::RunbookAction
        ]
    );
    assert_eq!(
        Kind::parse("schedule-overrides"),
        Some(Kind::ScheduleOverride)
    );
}

#[test]
fn a_turn_shorter_than_an_hour_is_refused() {
    let sched = |turn: &str| {
        Object::Schedule(Schedule {
            name: n("primary"),
            description: None,
            team: None,
            time_zone: "UTC".into(),
            layers: vec![Layer {
                name: n("l"),
                participants: vec![n("alice")],
                turn: turn.into(),
                handoff: "09:00".into(),
                start: "2026-01-05".into(),
                time_zone: None,
                restrictions: vec![],
            }],
            overrides: vec![],
            temporary: vec![],
        })
    };
    let m = messages(&[user("alice"), sched("1m")]);
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!(m[0].1, "layers[0].turn");
    assert!(m[0].2.contains("1mo"), "{m:?}");
    for ok in ["1h", "12h", "1d", "1w", "1mo"] {
        assert!(messages(&[user("alice"), sched(ok)]).is_empty(), "{ok}");
    }
}

#[test]
fn temporary_rotations_are_checked_like_layers() {
    let layer = |participants: &[&str], turn: &str| Layer {
        name: n("holiday"),
        participants: participants.iter().map(|p| n(p)).collect(),
        turn: turn.into(),
        handoff: "09:00".into(),
        start: "2026-12-20".into(),
        time_zone: None,
        restrictions: vec![],
    };
    let temp = |start: &str, end: &str, layers: Vec<Layer>| Temporary {
        start: start.into(),
        end: end.into(),
        layers,
    };
    let sched = |temporary: Vec<Temporary>| {
        Object::Schedule(Schedule {
            name: n("primary"),
            description: None,
            team: None,
            time_zone: "UTC".into(),
            layers: vec![layer(&["alice"], "1w")],
            overrides: vec![],
            temporary,
        })
    };
    let (a, b, c, d) = (
        "2026-12-24T00:00:00Z",
        "2026-12-26T00:00:00Z",
        "2026-12-28T00:00:00Z",
        "2026-12-30T00:00:00Z",
    );
    // Touching periods are fine.
    let good = sched(vec![
        temp(a, b, vec![layer(&["alice"], "1d")]),
        temp(b, c, vec![layer(&["alice"], "24h")]),
    ]);
    assert_eq!(messages(&[user("alice"), good]), vec![]);

    let bad = sched(vec![
        temp(a, c, vec![layer(&[], "fortnight")]),
        temp("christmas", b, vec![layer(&["alice"], "1d")]),
        temp(b, d, vec![]),
        temp(d, c, vec![layer(&["alice"], "1d")]),
        temp(c, d, vec![layer(&["alice", "zoe"], "1d")]),
    ]);
    let m = messages(&[user("alice"), bad]);
    let paths: Vec<(&str, &str)> = m
        .iter()
        .map(|(_, p, msg)| (p.as_str(), msg.as_str()))
        .collect();
    assert_eq!(
        paths,
        vec![
            (
                "temporary[0].layers[0].participants",
                "a layer needs at least one participant"
            ),
            (
                "temporary[0].layers[0].turn",
                "\"fortnight\" is not a span; write e.g. 1d, 1w, 12h"
            ),
            (
                "temporary[1].start",
                "\"christmas\" is not an RFC 3339 instant (2026-03-29T09:00:00+02:00)"
            ),
            (
                "temporary[2].layers",
                "a temporary rotation needs at least one layer"
            ),
            ("temporary[3].end", "must be after start"),
            ("temporary[2]", "overlaps temporary[0]"),
            ("temporary[4]", "overlaps temporary[2]"),
            (
                "temporary[4].layers[0].participants[1]",
                "no user named \"zoe\" is declared"
            ),
        ]
    );
    // Temporary participants are references to users.
    let refs: Vec<String> = sched(vec![temp(a, b, vec![layer(&["alice", "bob"], "1d")])])
        .references()
        .into_iter()
        .map(|r| r.path)
        .collect();
    assert_eq!(
        refs,
        [
            "layers[0].participants[0]",
            "temporary[0].layers[0].participants[0]",
            "temporary[0].layers[0].participants[1]",
        ]
    );
}

fn message_template(name: &str, messages: &[&str], channels: &[&str]) -> MessageTemplate {
    serde_json::from_value(serde_json::json!({
        "name": name,
        "messages": messages,
        "channels": channels,
        "title": "{{ severity }} {{ incident.service }}: {{ incident.title }}",
    }))
    .unwrap()
}

#[test]
fn message_template_rules() {
    let mut empty = message_template("empty", &[], &[]);
    empty.title = None;
    let mut twice = message_template("twice", &["page", "page"], &["slack", "email", "slack"]);
    twice.title = Some("{{ incident.sevrity }}".into());
    twice.body = Some("Impact:\n{% if impact %}{{ impact }}".into());
    let got = messages(&[
        Object::MessageTemplate(empty),
        Object::MessageTemplate(twice),
    ]);
    let want = vec![
        (
            0,
            "title",
            "a message template needs a title, a body or both".to_owned(),
        ),
        (1, "messages[1]", "page is listed twice".to_owned()),
        (1, "channels[2]", "slack is listed twice".to_owned()),
        (
            1,
            "title",
            "line 1: `incident.sevrity` is not defined: incident has drill, number, opened_at, \
             service, severity, source, status, title"
                .to_owned(),
        ),
        (
            1,
            "body",
            "does not compile: line 2: syntax error: unexpected end of input, \
             expected end of block"
                .to_owned(),
        ),
    ];
    let want: Vec<(usize, String, String)> = want
        .into_iter()
        .map(|(i, p, m)| (i, p.to_owned(), m))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn message_templates_for_the_same_messages_need_different_precedence() {
    let objects = vec![
        // Every message on every channel: one such template at most.
        Object::MessageTemplate(message_template("house-style", &[], &[])),
        Object::MessageTemplate(message_template("house-style-2", &[], &[])),
        // Slack beats every channel: no overlap with the two above.
        Object::MessageTemplate(message_template("slack", &[], &["slack"])),
        // Slack pages beat Slack: no overlap either.
        Object::MessageTemplate(message_template("slack-pages", &["page"], &["slack"])),
        // Same precedence as slack-pages, overlapping on pages to Slack.
        Object::MessageTemplate(message_template(
            "chat-pages",
            &["page", "resolved"],
            &["slack", "mattermost"],
        )),
        // Same precedence, other channels: fine.
        Object::MessageTemplate(message_template("mail-pages", &["page"], &["email"])),
    ];
    let problems = validate(&objects, &BTreeSet::new());
    let got: Vec<(usize, Option<usize>, &str, &str)> = problems
        .iter()
        .map(|p| (p.object, p.first, p.path.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                1,
                Some(0),
                "name",
                "message templates \"house-style\" and \"house-style-2\" both apply to every \
                 message on every channel with the same precedence; narrow the messages or \
                 channels of one"
            ),
            (
                4,
                Some(3),
                "name",
                "message templates \"slack-pages\" and \"chat-pages\" both apply to page \
                 messages on slack with the same precedence; narrow the messages or channels \
                 of one"
            ),
        ]
    );
}

#[test]
fn message_templates_round_trip_and_parse() {
    let mut t = message_template("slack-pages", &["page", "dead_letter"], &["slack"]);
    t.body = Some("{{ impact }}".into());
    let spec = Object::MessageTemplate(t.clone()).spec_json();
    assert_eq!(spec["messages"], serde_json::json!(["page", "dead_letter"]));
    assert_eq!(
        Object::from_spec(Kind::MessageTemplate, spec).unwrap(),
        Object::MessageTemplate(t)
    );
    let everywhere = message_template("all", &[], &[]);
    let spec = Object::MessageTemplate(everywhere).spec_json();
    assert!(
        spec.get("messages").is_none() && spec.get("channels").is_none(),
        "{spec}"
    );
    assert_eq!(
        Kind::parse("message-templates"),
        Some(Kind::MessageTemplate)
    );
    assert_eq!(Kind::MessageTemplate.label(), "message template");
    let unknown = serde_json::from_value::<MessageTemplate>(serde_json::json!({
        "name": "x", "title": "t", "subject": "s",
    }));
    assert!(unknown.is_err());
}

fn monitor(spec: serde_json::Value) -> Monitor {
    let mut base = serde_json::json!({"name": "checkout-health", "service": "checkout"});
    if let (Some(b), Some(s)) = (base.as_object_mut(), spec.as_object()) {
        b.extend(s.clone());
    }
    serde_json::from_value(base).unwrap()
}

fn monitor_problems(m: Monitor) -> Vec<(String, String)> {
    let existing = [(Kind::Service, n("checkout"))].into();
    validate(&[Object::Monitor(Box::new(m))], &existing)
        .into_iter()
        .map(|p| (p.path, p.message))
        .collect()
}

fn paths(m: Monitor) -> Vec<String> {
    monitor_problems(m).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn a_full_http_monitor_builds_its_check() {
    let m = monitor(serde_json::json!({
        "type": "http",
        "url": "https://checkout.example.com/healthz",
        "method": "post",
        "headers": {"Authorization": "Bearer x"},
        "body": "{}",
        "expect_status": "200-299, 404",
        "expect_json": {"path": "$.db.ok", "equals": true},
        "max_latency": "500ms",
        "follow_redirects": false,
        "interval": "30s",
        "timeout": "5s",
        "fail_after": 3,
    }));
    assert_eq!(monitor_problems(m.clone()), vec![]);
    let check = m.check().unwrap();
    assert_eq!(check.interval, std::time::Duration::from_secs(30));
    assert_eq!(check.timeout, std::time::Duration::from_secs(5));
    assert_eq!(check.fail_after.get(), 3);
    assert_eq!(check.recover_after.get(), DEFAULT_THRESHOLD);
    let crate::monitor::CheckKind::Http {
        method,
        headers,
        expect_status,
        expect,
        max_latency,
        follow_redirects,
        verify_tls,
        ..
    } = check.kind
    else {
        panic!("not http: {:?}", check.kind);
    };
    assert_eq!(method, crate::monitor::HttpMethod::Post);
    assert_eq!(
        headers,
        [("Authorization".to_owned(), "Bearer x".to_owned())]
    );
    assert!(expect_status.contains(404) && !expect_status.contains(301));
    assert!(matches!(
        expect,
        Some(crate::monitor::BodyExpectation::JsonPath { .. })
    ));
    assert_eq!(max_latency, Some(std::time::Duration::from_millis(500)));
    assert!(!follow_redirects && verify_tls);

    // Round trip through the stored spec.
    let object = Object::Monitor(Box::new(m));
    let back = Object::from_spec(Kind::Monitor, object.spec_json()).unwrap();
    assert_eq!(back, object);
    assert_eq!(object.spec_json()["type"], "http");
    assert_eq!(Kind::parse("monitors"), Some(Kind::Monitor));
}

#[test]
fn every_type_builds_with_its_defaults() {
    use crate::monitor::CheckKind;
    let check = |spec| monitor(spec).check().unwrap();
    let http = check(serde_json::json!({"type": "http", "url": "http://a.example"}));
    assert_eq!(http.interval, crate::monitor::DEFAULT_INTERVAL);
    assert_eq!(http.timeout, crate::monitor::DEFAULT_TIMEOUT);
    assert_eq!(http.fail_after.get(), 2);
    assert!(matches!(
        http.kind,
        CheckKind::Http {
            method: crate::monitor::HttpMethod::Get,
            expect: None,
            follow_redirects: true,
            verify_tls: true,
            ..
        }
    ));
    let tcp = check(serde_json::json!({"type": "tcp", "host": "db.internal", "port": 5432}));
    assert!(matches!(tcp.kind, CheckKind::Tcp { port: 5432, .. }));
    let tls = check(serde_json::json!({"type": "tls", "host": "example.com"}));
    assert!(matches!(
        tls.kind,
        CheckKind::TlsExpiry {
            port: 443,
            warn_days: 14,
            ..
        }
    ));
    let dns = check(serde_json::json!({
        "type": "dns", "query": "example.com.", "record_type": "aaaa",
        "expect": ["2001:db8::1"], "resolver": "1.1.1.1:53"
    }));
    let CheckKind::Dns {
        record_type,
        resolver,
        expect,
        ..
    } = dns.kind
    else {
        panic!("not dns");
    };
    assert_eq!(record_type, crate::monitor::RecordType::Aaaa);
    assert_eq!(resolver, Some("1.1.1.1:53".parse().unwrap()));
    assert_eq!(expect, ["2001:db8::1"]);
    let icmp = check(serde_json::json!({"type": "icmp", "host": "10.0.0.1", "paused": true}));
    assert!(matches!(icmp.kind, CheckKind::Icmp { .. }));
    let kw = check(
        serde_json::json!({"type": "http", "url": "https://x.example", "expect_keyword": "ok"}),
    );
    assert!(matches!(
        kw.kind,
        CheckKind::Http {
            expect: Some(crate::monitor::BodyExpectation::Keyword(_)),
            ..
        }
    ));
}

#[test]
fn each_bad_monitor_field_is_named() {
    let got = monitor_problems(monitor(serde_json::json!({
        "type": "http",
        "url": "ftp://x",
        "method": "FETCH",
        "headers": {"Bad Name": "v"},
        "expect_status": "200-",
        "expect_regex": "(",
        "max_latency": "soon",
        "host": "x.example",
        "port": 80,
        "record_type": "A",
        "interval": "5s",
        "fail_after": 0,
        "recover_after": 0,
    })));
    let fields: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        fields,
        [
            "host",
            "port",
            "record_type",
            "url",
            "method",
            "headers",
            "expect_status",
            "expect_regex",
            "max_latency",
            "interval",
            "fail_after",
            "recover_after",
        ],
        "{got:#?}"
    );
    assert_eq!(
        got[0].1,
        "only for types tcp, tls and icmp; this monitor is http"
    );
    assert_eq!(got[1].1, "only for types tcp and tls; this monitor is http");
    assert_eq!(got[2].1, "only for type dns; this monitor is http");
    assert!(
        got[7].1.starts_with("bad regular expression"),
        "{}",
        got[7].1
    );
    assert!(got[9].1.contains("shorter than the 10s"), "{}", got[9].1);
    assert_eq!(got[10].1, "must be at least 1");
}

#[test]
fn bad_expectations_json_paths_and_timeouts_are_named() {
    assert_eq!(
        monitor_problems(monitor(serde_json::json!({
            "type": "http", "url": "https://x.example",
            "expect_json": {"path": "$.", "equals": "ok"},
        }))),
        [(
            "expect_json.path".to_owned(),
            "bad JSON path \"$.\" at position 2: expected a member name after . (use forms like $.a.b[0] or $[\"a b\"])".to_owned()
        )]
    );
    assert_eq!(
        paths(monitor(serde_json::json!({
            "type": "http", "url": "https://x.example",
            "expect_keyword": "ok", "expect_regex": "o+k",
        }))),
        ["expect_regex"]
    );
    let timeout = monitor_problems(monitor(serde_json::json!({
        "type": "icmp", "host": "10.0.0.1", "interval": "10s", "timeout": "10s",
    })));
    assert_eq!(
        timeout,
        [(
            "timeout".to_owned(),
            "the timeout (10s) must be shorter than the interval (10s): one run ends before the next starts".to_owned()
        )]
    );
    // The default timeout (10s) against a short interval.
    assert_eq!(
        paths(monitor(
            serde_json::json!({"type": "icmp", "host": "h", "interval": "10s"})
        )),
        ["timeout"]
    );
    let m = monitor(serde_json::json!({"type": "icmp", "host": "h", "interval": "10s"}));
    assert_eq!(m.check().unwrap_err().0, "timeout");
}

#[test]
fn missing_and_bad_kind_fields_are_named() {
    assert_eq!(paths(monitor(serde_json::json!({"type": "http"}))), ["url"]);
    assert_eq!(
        paths(monitor(serde_json::json!({"type": "tcp"}))),
        ["host", "port"]
    );
    assert_eq!(
        paths(monitor(
            serde_json::json!({"type": "tcp", "host": "https://db", "port": 0})
        )),
        ["host", "port"]
    );
    assert_eq!(
        paths(monitor(serde_json::json!({"type": "dns"}))),
        ["query", "record_type"]
    );
    assert_eq!(
        paths(monitor(serde_json::json!({
            "type": "dns", "query": "example.com", "record_type": "SRV", "resolver": "1.1.1.1",
        }))),
        ["record_type", "resolver"]
    );
    assert_eq!(
        paths(monitor(serde_json::json!({
            "type": "tls", "host": "example.com", "url": "https://example.com", "expect": ["x"],
        }))),
        ["url", "expect"]
    );
    // The service is a checked reference.
    let m = monitor(serde_json::json!({"type": "icmp", "host": "h", "service": "nope"}));
    assert_eq!(
        monitor_problems(m),
        [(
            "service".to_owned(),
            "no service named \"nope\" is declared".to_owned()
        )]
    );
    // An unknown type or field does not parse.
    assert!(
        serde_json::from_value::<Monitor>(serde_json::json!({
            "name": "a", "service": "checkout", "type": "smtp",
        }))
        .is_err()
    );
    assert!(
        serde_json::from_value::<Monitor>(serde_json::json!({
            "name": "a", "service": "checkout", "type": "icmp", "host": "h", "hots": "x",
        }))
        .is_err()
    );
}
