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
        links: vec![],
        runbooks: vec![],
        depends_on: vec![],
        tags: vec![],
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
