use super::*;

fn src(path: &str, text: &str) -> Source {
    Source {
        path: path.to_owned(),
        text: text.to_owned(),
    }
}

fn check(sources: Vec<Source>) -> Vec<String> {
    parse(sources)
        .check(&BTreeSet::new())
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_clean_tree_has_no_problems() {
    let got = check(vec![
        src(
            "base/people.yaml",
            "users:\n  - name: alice\n    full_name: Alice\n    email: alice@example.com\n    time_zone: Europe/Berlin\n",
        ),
        src(
            "payments/team.yaml",
            "teams:\n  - name: payments\n    members: [alice]\n---\nservices:\n  - name: checkout\n    team: payments\n",
        ),
    ]);
    assert_eq!(got, Vec::<String>::new());
}

#[test]
fn reports_every_problem_with_position_and_path() {
    let got = check(vec![
        src(
            "a.yaml",
            "teams:\n  - name: payments\nservices:\n  - name: checkout\n    team: paymnts\n    depends_on: [ledger]\n",
        ),
        src(
            "b.yaml",
            "users:\n  - name: bob\n    full_name: Bob\n    email: bob@example.com\n    time_zone: Europe/Berln\n",
        ),
        src("c.yaml", "teams:\n  - name: payments\n"),
    ]);
    assert_eq!(
        got,
        vec![
            "b.yaml:5:16: users[0].time_zone: \"Europe/Berln\" is not a known IANA time zone (e.g. Europe/Berlin, UTC)",
            "c.yaml:2:11: teams[0].name: team \"payments\" is declared twice (first declared at a.yaml:2:11)",
            "a.yaml:5:11: services[0].team: no team named \"paymnts\" is declared",
            "a.yaml:6:18: services[0].depends_on[0]: no service named \"ledger\" is declared",
        ]
    );
}

#[test]
fn shape_errors_name_the_file_and_position() {
    let got = check(vec![
        src(
            "typo.yaml",
            "services:\n  - name: checkout\n    team: payments\n    owner: bob\n",
        ),
        src("badname.yaml", "teams:\n  - name: Payments\n"),
        src("kind.yaml", "servces: []\n"),
        src("ok.yaml", "teams:\n  - name: payments\n"),
    ]);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(
        got[0].starts_with("typo.yaml:4:5: services[0].owner: unknown field")
            && got[0].contains("owner"),
        "{}",
        got[0]
    );
    assert!(
        got[1].starts_with("badname.yaml:2:11: teams[0].name: ") && got[1].contains("lowercase"),
        "{}",
        got[1]
    );
    assert!(
        got[2].starts_with("kind.yaml:1:1: servces: ") && got[2].contains("servces"),
        "{}",
        got[2]
    );
}

const PLATFORM: &str =
    "teams:\n  - name: platform\nservices:\n  - name: postgres\n    team: platform\n";

#[test]
fn silences_and_maintenance_windows_are_read() {
    let m = parse(vec![
        src("platform.yaml", PLATFORM),
        src(
            "noise.yaml",
            concat!(
                "maintenance_windows:\n",
                "  - name: patching\n",
                "    services: [postgres]\n",
                "    starts_at: \"2026-06-07T03:00\"\n",
                "    duration: 2h\n",
                "    time_zone: Europe/Berlin\n",
                "    repeat: weekly\n",
                "    until: \"2026-12-31\"\n",
                "    reason: OS patches\n",
                "silences:\n",
                "  - name: staging-disk\n",
                "    matchers: ['alertname=\"DiskFull\"', 'env=~\"staging|qa\"']\n",
                "    ends_at: \"2030-01-01T00:00:00Z\"\n",
                "    comment: known, being fixed\n",
                "    created_by: alice\n",
            ),
        ),
    ]);
    assert_eq!(m.check(&BTreeSet::new()), vec![]);
    let got: Vec<(Kind, &str, &str)> = m
        .declared
        .iter()
        .map(|d| (d.object.kind(), d.object.name().as_str(), d.path.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Kind::Team, "platform", "teams[0]"),
            (Kind::Service, "postgres", "services[0]"),
            (Kind::Silence, "staging-disk", "silences[0]"),
            (
                Kind::MaintenanceWindow,
                "patching",
                "maintenance_windows[0]"
            ),
        ]
    );
    let Object::MaintenanceWindow(w) = &m.declared[3].object else {
        panic!("not a window: {:?}", m.declared[3].object);
    };
    assert_eq!(w.repeat, catalog::Repeat::Weekly);
    let Object::Silence(s) = &m.declared[2].object else {
        panic!("not a silence: {:?}", m.declared[2].object);
    };
    assert_eq!(s.matchers[1], "env=~\"staging|qa\"");
}

#[test]
fn bad_matchers_and_durations_are_located() {
    let got = check(vec![
        src("platform.yaml", PLATFORM),
        src(
            "noise.yaml",
            concat!(
                "silences:\n",
                "  - name: broken\n",
                "    matchers:\n",
                "      - env=prod\n",
                "      - instance=~\"db-(\"\n",
                "    ends_at: \"2030-01-01T00:00:00Z\"\n",
                "maintenance_windows:\n",
                "  - name: patching\n",
                "    services: [postgres, ledger]\n",
                "    starts_at: \"2026-06-07T03:00\"\n",
                "    duration: two hours\n",
                "    repeat: daily\n",
            ),
        ),
    ]);
    assert_eq!(
        got,
        vec![
            "noise.yaml:5:9: silences[0].matchers[1]: \"db-(\" is not a valid regular expression: unclosed group",
            "noise.yaml:11:15: maintenance_windows[0].duration: \"two hours\" is not a span; write e.g. 1d, 1w, 12h",
            "noise.yaml:9:26: maintenance_windows[0].services[1]: no service named \"ledger\" is declared",
        ]
    );
}

#[test]
fn a_window_longer_than_its_period_and_an_unknown_list_key() {
    let got = check(vec![
        src("platform.yaml", PLATFORM),
        src(
            "noise.yaml",
            "maintenance_windows:\n  - name: w\n    services: [postgres]\n    starts_at: \"2026-06-07T03:00\"\n    duration: 25h\n    repeat: daily\n",
        ),
        src("typo.yaml", "maintenance-windows: []\n"),
    ]);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[0].starts_with("typo.yaml:1:1: maintenance-windows: unknown field")
            && got[0].contains("maintenance_windows"),
        "{}",
        got[0]
    );
    assert_eq!(
        got[1],
        "noise.yaml:5:15: maintenance_windows[0].duration: lasts longer than the repeat period (a day): occurrences would overlap"
    );
}

#[test]
fn message_templates_are_read_and_their_problems_located() {
    let text = concat!(
        "message_templates:\n",
        "  - name: slack-short\n",
        "    messages: [page, resolved]\n",
        "    channels: [slack]\n",
        "    title: \"{{ severity }} {{ incident.service }}: {{ incident.title }}\"\n",
        "  - name: email-body\n",
        "    channels: [email]\n",
        "    body: |\n",
        "      Impact: {{ impact }}\n",
        "      Severity: {{ incident.sevrity }}\n",
        "  - name: chat-pages\n",
        "    messages: [page]\n",
        "    channels: [slack, mattermost]\n",
        "    title: \"{{ headline }}\"\n",
    );
    let m = parse(vec![src("templates.yaml", text)]);
    let Object::MessageTemplate(t) = &m.declared[0].object else {
        panic!("not a template: {:?}", m.declared[0].object);
    };
    assert_eq!(t.channels, [catalog::ContactKind::Slack]);
    assert_eq!(m.declared[1].path, "message_templates[1]");
    let got: Vec<String> = m
        .check(&BTreeSet::new())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        vec![
            "templates.yaml:9:7: message_templates[1].body: line 2: `incident.sevrity` is not defined: \
             incident has drill, number, opened_at, service, severity, source, status, title",
            "templates.yaml:11:11: message_templates[2].name: message templates \"slack-short\" \
             and \"chat-pages\" both apply to page messages on slack with the same precedence; \
             narrow the messages or channels of one (first declared at templates.yaml:2:11)",
        ]
    );
}

#[test]
fn runbook_actions_are_read_and_their_problems_located() {
    let text = concat!(
        "teams:\n",
        "  - name: web\n",
        "runbook_actions:\n",
        "  - name: restart-web\n",
        "    team: web\n",
        "    parameters:\n",
        "      - { name: target, required: true, pattern: \"web-[0-9]+\" }\n",
        "      - { name: count, type: integer, default: many }\n",
        "    command: [\"/usr/bin/systemctl\", \"restart\", \"web@{{ params.targte }}\"]\n",
        "  - name: purge\n",
        "    team: web\n",
        "    timeout: 11m\n",
        "    command: [systemctl]\n",
        "    http: { url: \"https://cdn.example.com/purge\" }\n",
    );
    let m = parse(vec![src("runbooks.yaml", text)]);
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let Object::RunbookAction(a) = &m.declared[1].object else {
        panic!("not a runbook action: {:?}", m.declared[1].object);
    };
    assert_eq!(a.parameters.len(), 2);
    assert_eq!(m.declared[2].path, "runbook_actions[1]");
    let got: Vec<String> = m
        .check(&BTreeSet::new())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        vec![
            "runbooks.yaml:8:48: runbook_actions[0].parameters[1].default: \"many\" is not a value of a integer parameter",
            "runbooks.yaml:9:48: runbook_actions[0].command[2]: `params.targte` is not a declared parameter (there are: count, target)",
            "runbooks.yaml:12:14: runbook_actions[1].timeout: \"11m\" is longer than the 10m an action may run; split longer work or run it elsewhere",
            "runbooks.yaml:14:11: runbook_actions[1].http: give either `http` or `command`, not both: an action does one thing",
            "runbooks.yaml:13:15: runbook_actions[1].command[0]: \"systemctl\" is not an absolute path; write the program's full path (e.g. /usr/bin/systemctl), which must be on the hub's --runbook-command list",
        ]
    );
}

#[test]
fn monitors_are_read_and_their_problems_located() {
    let text = concat!(
        "teams:\n",
        "  - name: web\n",
        "services:\n",
        "  - name: checkout\n",
        "    team: web\n",
        "monitors:\n",
        "  - name: checkout-health\n",
        "    service: checkout\n",
        "    type: http\n",
        "    url: https://checkout.example.com/healthz\n",
        "    expect_json: { path: $.db.ok, equals: true }\n",
        "  - name: checkout-tls\n",
        "    service: checkuot\n",
        "    type: tls\n",
        "    host: checkout.example.com\n",
        "    expect_status: \"200\"\n",
        "    interval: 30s\n",
        "    timeout: 1m\n",
        "  - name: checkout-api\n",
        "    service: checkout\n",
        "    type: http\n",
        "    url: https://checkout.example.com/\n",
        "    expect_json: { path: \"$.\", equals: ok }\n",
    );
    let m = parse(vec![src("monitors.yaml", text)]);
    assert!(m.errors.is_empty(), "{:?}", m.errors);
    let Object::Monitor(first) = &m.declared[2].object else {
        panic!("not a monitor: {:?}", m.declared[2].object);
    };
    assert!(first.check().is_ok(), "{:?}", first.check());
    assert_eq!(m.declared[3].path, "monitors[1]");
    let got: Vec<String> = m
        .check(&BTreeSet::new())
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        got,
        vec![
            "monitors.yaml:16:20: monitors[1].expect_status: only for type http; this monitor is tls",
            "monitors.yaml:18:14: monitors[1].timeout: the timeout (60s) must be shorter than the interval (30s): one run ends before the next starts",
            "monitors.yaml:23:26: monitors[2].expect_json.path: bad JSON path \"$.\" at position 2: expected a member name after . (use forms like $.a.b[0] or $[\"a b\"])",
            "monitors.yaml:13:14: monitors[1].service: no service named \"checkuot\" is declared",
        ]
    );
}
