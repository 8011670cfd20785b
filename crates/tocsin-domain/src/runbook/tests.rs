//! The runbook rules: declared actions' checks with their field paths,
//! values typed in chat, who may run an action, what renders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::catalog::{self, Allowed, HttpCall, Object};

fn name(s: &str) -> Name {
    Name::parse(s).unwrap()
}

fn param(n: &str, kind: ParamType) -> Parameter {
    Parameter {
        name: name(n),
        kind,
        description: None,
        choices: vec![],
        required: false,
        default: None,
        pattern: None,
    }
}

fn restart_web() -> RunbookAction {
    let mut target = param("target", ParamType::String);
    target.required = true;
    target.pattern = Some("web-[0-9]+".into());
    let mut mode = param("mode", ParamType::Choice);
    mode.choices = vec!["graceful".into(), "hard".into()];
    mode.default = Some(Scalar::Text("graceful".into()));
    RunbookAction {
        name: name("restart-web"),
        description: Some("Restart the web server on one host".into()),
        team: name("web"),
        allowed: None,
        parameters: vec![
            target,
            mode,
            param("count", ParamType::Integer),
            param("dry-run", ParamType::Boolean),
            param("reason", ParamType::String),
        ],
        timeout: None,
        http: None,
        command: Some(vec![
            "/usr/bin/systemctl".into(),
            "restart".into(),
            "web@{{ params.target }}".into(),
            "--mode={{ params.mode }}".into(),
            "{{ params.reason }}".into(),
        ]),
    }
}

/// Problems of one action, as `path: message`.
fn problems(a: RunbookAction) -> Vec<String> {
    let existing = [
        (catalog::Kind::Team, name("web")),
        (catalog::Kind::Team, name("sre")),
    ]
    .into_iter()
    .collect();
    catalog::validate(&[Object::RunbookAction(a)], &existing)
        .into_iter()
        .map(|p| format!("{}: {}", p.path, p.message))
        .collect()
}

#[track_caller]
fn has(got: &[String], want: &str) {
    assert!(
        got.iter().any(|g| g.contains(want)),
        "{want:?} not among {got:#?}"
    );
}

#[test]
fn a_good_action_has_no_problems() {
    assert_eq!(problems(restart_web()), Vec::<String>::new());
    let mut http = restart_web();
    http.command = None;
    http.http = Some(HttpCall {
        method: "POST".into(),
        url: "https://deploy.example.com/hosts/{{ params.target | urlencode }}/restart".into(),
        headers: [("Content-Type".to_owned(), "application/json".to_owned())].into(),
        body: Some("{\"by\": {{ by | tojson }}, \"incident\": {{ incident | tojson }}}".into()),
    });
    http.timeout = Some("1m30s".into());
    assert_eq!(problems(http), Vec::<String>::new());
}

#[test]
fn each_bad_field_is_named() {
    let mut a = restart_web();
    a.timeout = Some("11m".into());
    a.allowed = Some(Allowed {
        teams: vec![name("nobody")],
        users: vec![name("ghost")],
        role: Some(crate::access::Role::Viewer),
    });
    a.parameters[1].choices.push("graceful".into());
    a.parameters[2].choices = vec!["1".into()];
    a.parameters[2].default = Some(Scalar::Text("x".into()));
    a.parameters[3].pattern = Some("x".into());
    a.parameters[4].pattern = Some("(".into());
    a.parameters[0].default = Some(Scalar::Text("db-1".into()));
    a.parameters.push(param("count", ParamType::Integer));
    let got = problems(a);
    has(&got, "timeout: \"11m\" is longer than the 10m");
    has(&got, "allowed.role: viewers only read");
    has(&got, "allowed.teams[0]: no team named \"nobody\"");
    has(&got, "allowed.users[0]: no user named \"ghost\"");
    has(
        &got,
        "parameters[1].choices[2]: \"graceful\" is listed twice",
    );
    has(
        &got,
        "parameters[2].choices: only a choice parameter has choices",
    );
    has(
        &got,
        "parameters[2].default: \"x\" is not a value of a integer parameter",
    );
    has(
        &got,
        "parameters[3].pattern: only a string parameter has a pattern",
    );
    has(&got, "parameters[4].pattern: is not a regular expression");
    has(
        &got,
        "parameters[0].default: a required parameter takes no default",
    );
    has(
        &got,
        "parameters[0].default: \"db-1\" does not match the pattern web-[0-9]+",
    );
    has(
        &got,
        "parameters[5].name: parameter \"count\" is declared twice",
    );
}

#[test]
fn command_and_http_rules() {
    let mut neither = restart_web();
    neither.command = None;
    has(
        &problems(neither),
        "command: a runbook action needs either `command`",
    );

    let mut both = restart_web();
    both.http = Some(HttpCall {
        method: "POST".into(),
        url: "https://x.example.com/".into(),
        headers: Default::default(),
        body: None,
    });
    has(
        &problems(both),
        "http: give either `http` or `command`, not both",
    );

    let mut relative = restart_web();
    relative.command = Some(vec!["systemctl".into()]);
    has(
        &problems(relative),
        "command[0]: \"systemctl\" is not an absolute path",
    );

    let mut templated = restart_web();
    templated.command = Some(vec!["{{ params.reason }}".into()]);
    has(
        &problems(templated),
        "command[0]: the program must be written out",
    );

    let mut empty = restart_web();
    empty.command = Some(vec![]);
    has(&problems(empty), "command: is empty");

    let mut typo = restart_web();
    typo.command = Some(vec![
        "/bin/echo".into(),
        "{{ params.targte }}".into(),
        "{{ host }}".into(),
        "{{ params.target".into(),
    ]);
    let got = problems(typo);
    has(
        &got,
        "command[1]: `params.targte` is not a declared parameter (there are: count, dry-run, mode, reason, target)",
    );
    has(
        &got,
        "command[2]: `host` is not a variable an action can use",
    );
    has(&got, "command[3]: does not compile");

    let mut http = restart_web();
    http.command = None;
    http.http = Some(HttpCall {
        method: "BREW".into(),
        url: "https://{{ params.target }}.example.com/restart".into(),
        headers: [("Bad Header".to_owned(), "x".to_owned())].into(),
        body: None,
    });
    let got = problems(http);
    has(&got, "http.method: \"BREW\" is not a method");
    has(&got, "http.url: the scheme and host must be written out");
    has(
        &got,
        "http.headers.Bad Header: \"Bad Header\" is not a header name",
    );

    let mut ftp = restart_web();
    ftp.command = None;
    ftp.http = Some(HttpCall {
        method: "GET".into(),
        url: "ftp://x.example.com/".into(),
        headers: Default::default(),
        body: None,
    });
    has(
        &problems(ftp),
        "http.url: \"ftp://x.example.com/\" is not an http(s) URL",
    );
}

#[test]
fn timeouts() {
    assert_eq!(parse_timeout("30s"), Ok(SignedDuration::from_secs(30)));
    assert_eq!(parse_timeout("1m30s"), Ok(SignedDuration::from_secs(90)));
    assert_eq!(parse_timeout("10m"), Ok(MAX_TIMEOUT));
    assert!(parse_timeout("0s").unwrap_err().contains("no time at all"));
    assert!(parse_timeout("10m1s").unwrap_err().contains("longer than"));
    assert!(parse_timeout("5").unwrap_err().contains("not a timeout"));
    assert!(parse_timeout("1h").unwrap_err().contains("not a timeout"));
    assert_eq!(timeout(&restart_web()), DEFAULT_TIMEOUT);
}

fn given(pairs: &[(&str, &str)]) -> BTreeMap<Name, String> {
    pairs
        .iter()
        .map(|(k, v)| (name(k), (*v).to_owned()))
        .collect()
}

#[test]
fn values_from_chat_are_typed_and_defaulted() {
    let a = restart_web();
    let got = check_params(
        &a,
        Some(&name("web-2")),
        &given(&[
            ("count", "3"),
            ("dry-run", "yes"),
            ("reason", "stuck workers"),
        ]),
    )
    .unwrap();
    assert_eq!(got["target"], Some(Value::Text("web-2".into())));
    assert_eq!(
        got["mode"],
        Some(Value::Text("graceful".into())),
        "the default"
    );
    assert_eq!(got["count"], Some(Value::Integer(3)));
    assert_eq!(got["dry-run"], Some(Value::Boolean(true)));
    assert_eq!(got["reason"], Some(Value::Text("stuck workers".into())));
    let bare = check_params(&a, None, &given(&[("target", "web-1")])).unwrap();
    assert_eq!(
        bare["count"], None,
        "an optional parameter not given is none"
    );
}

#[test]
fn each_bad_value_names_its_parameter() {
    let a = restart_web();
    let errors = |target: Option<&str>, pairs: &[(&str, &str)]| -> Vec<String> {
        check_params(&a, target.map(name).as_ref(), &given(pairs))
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    let got = errors(
        Some("db-1"),
        &[
            ("count", "three"),
            ("dry-run", "maybe"),
            ("mode", "soft"),
            ("colour", "red"),
        ],
    );
    has(
        &got,
        "parameter target: \"db-1\" does not match the pattern web-[0-9]+",
    );
    has(&got, "parameter count: \"three\" is not an integer");
    has(&got, "parameter dry-run: \"maybe\" is not a boolean");
    has(
        &got,
        "parameter mode: \"soft\" is not one of graceful, hard",
    );
    has(
        &got,
        "parameter colour: restart-web has no such parameter; it takes target, mode, count, dry-run, reason",
    );
    assert_eq!(got.len(), 5, "{got:?}");
    has(
        &errors(None, &[]),
        "parameter target: is required; write run restart-web on <target>",
    );
    has(
        &errors(Some("web-1"), &[("target", "web-2")]),
        "parameter target: is given twice",
    );
    has(
        &errors(Some("web-1"), &[("reason", "a\u{7}b")]),
        "parameter reason: contains a control character",
    );
    let mut no_target = restart_web();
    no_target.parameters.remove(0);
    let got: Vec<String> = check_params(&no_target, Some(&name("web-1")), &BTreeMap::new())
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    has(
        &got,
        "parameter target: restart-web takes no target; leave out \"on web-1\"",
    );
}

fn who(user: &str, role: crate::access::Role, teams: &[&str]) -> Principal {
    Principal {
        user: Some(name(user)),
        role,
        teams: teams.iter().map(|t| name(t)).collect(),
        label: user.to_owned(),
    }
}

#[test]
fn who_may_run() {
    use crate::access::Role::*;
    let a = restart_web();
    assert_eq!(may_run(&a, &who("alice", Responder, &["web"])), Ok(()));
    assert_eq!(may_run(&a, &who("root", Admin, &[])), Ok(()));
    let e = may_run(&a, &who("bob", Responder, &["payments"])).unwrap_err();
    assert!(
        e.contains("you may not run restart-web: it is for members of web"),
        "{e}"
    );
    let e = may_run(&a, &who("val", Viewer, &["web"])).unwrap_err();
    assert!(e.contains("you are viewer"), "{e}");

    let mut listed = restart_web();
    listed.allowed = Some(Allowed {
        teams: vec![name("sre")],
        users: vec![name("carol")],
        role: Some(Manager),
    });
    assert!(
        may_run(&listed, &who("alice", Manager, &["web"])).is_err(),
        "the owning team is not listed"
    );
    assert_eq!(may_run(&listed, &who("sam", Manager, &["sre"])), Ok(()));
    assert_eq!(may_run(&listed, &who("carol", Manager, &[])), Ok(()));
    let e = may_run(&listed, &who("carol", Responder, &[])).unwrap_err();
    assert!(e.contains("with the role manager or above"), "{e}");
}

fn cx(a: &RunbookAction, target: &str, pairs: &[(&str, &str)]) -> Context {
    Context {
        params: check_params(a, Some(&name(target)), &given(pairs)).unwrap(),
        action: a.name.to_string(),
        incident: Some(8),
        by: "alice".into(),
    }
}

#[test]
fn renders_argv_and_requests() {
    let a = restart_web();
    let plan = render(&a, &cx(&a, "web-2", &[("reason", "it's stuck; rm -rf /")])).unwrap();
    assert_eq!(
        plan,
        Plan::Command {
            argv: vec![
                "/usr/bin/systemctl".into(),
                "restart".into(),
                "web@web-2".into(),
                "--mode=graceful".into(),
                "it's stuck; rm -rf /".into(),
            ]
        },
        "a value is one argument, never split or interpreted"
    );
    assert_eq!(
        plan.describe(),
        "/usr/bin/systemctl restart web@web-2 --mode=graceful 'it'\\''s stuck; rm -rf /'"
    );
    let plan = render(&a, &cx(&a, "web-2", &[])).unwrap();
    let Plan::Command { argv } = &plan else {
        panic!()
    };
    assert_eq!(
        argv[4], "",
        "an optional parameter not given renders as nothing"
    );

    let mut h = restart_web();
    h.command = None;
    h.http = Some(HttpCall {
        method: "PUT".into(),
        url: "https://deploy.example.com/hosts/{{ params.target }}?reason={{ params.reason | urlencode }}".into(),
        headers: [("X-By".to_owned(), "{{ by }}".to_owned())].into(),
        body: Some("{\"incident\": {{ incident }}, \"count\": {{ params.count | tojson }}}".into()),
    });
    let plan = render(&h, &cx(&h, "web-2", &[("reason", "a b"), ("count", "2")])).unwrap();
    assert_eq!(
        plan,
        Plan::Http {
            method: "PUT".into(),
            url: "https://deploy.example.com/hosts/web-2?reason=a%20b".into(),
            headers: vec![("X-By".into(), "alice".into())],
            body: Some("{\"incident\": 8, \"count\": 2}".into()),
        }
    );
    assert_eq!(
        plan.describe(),
        "PUT https://deploy.example.com/hosts/web-2?reason=a%20b (body of 27 bytes)"
    );
}

#[test]
fn declared_actions_round_trip_and_parse() {
    let a = restart_web();
    let spec = Object::RunbookAction(a.clone()).spec_json();
    assert_eq!(
        Object::from_spec(catalog::Kind::RunbookAction, spec).unwrap(),
        Object::RunbookAction(a)
    );
    assert_eq!(
        catalog::Kind::parse("runbook-actions"),
        Some(catalog::Kind::RunbookAction)
    );
    assert_eq!(catalog::Kind::RunbookAction.label(), "runbook action");
    let typed: RunbookAction = serde_json::from_value(serde_json::json!({
        "name": "flush",
        "team": "web",
        "parameters": [
            {"name": "n", "type": "integer", "default": 3},
            {"name": "force", "type": "boolean", "default": false},
        ],
        "command": ["/bin/echo", "{{ params.n }}"],
    }))
    .unwrap();
    assert_eq!(typed.parameters[0].default, Some(Scalar::Integer(3)));
    assert_eq!(typed.parameters[1].default, Some(Scalar::Boolean(false)));
    let unknown = serde_json::from_value::<RunbookAction>(serde_json::json!({
        "name": "x", "team": "web", "command": ["/bin/true"], "shell": "sh",
    }));
    assert!(unknown.is_err());
}
