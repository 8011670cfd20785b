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
