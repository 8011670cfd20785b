//! Snapshot tests pinning each channel's rendering of every sample message
//! (`tests/snapshots/`). A changed rendering fails here until the new
//! snapshot is reviewed and accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tocsin_domain::notify::Message;
use tocsin_notify::{console, mattermost, ntfy, sample, slack, teams, webhook};

fn samples() -> Vec<(&'static str, Message)> {
    vec![
        ("page", sample::page()),
        ("resolved", sample::resolved()),
        ("bare", sample::bare()),
        ("drill", sample::drill()),
        ("bundle", sample::bundle()),
        ("update", sample::update()),
        ("dead_letter", sample::dead_letter()),
    ]
}

#[test]
fn console_renderings() {
    for (name, message) in samples() {
        insta::assert_snapshot!(format!("console_{name}"), console::render(&message));
    }
}

#[test]
fn slack_renderings() {
    for (name, message) in samples() {
        insta::assert_json_snapshot!(format!("slack_{name}"), slack::render(&message));
    }
}

#[test]
fn mattermost_renderings() {
    for (name, message) in samples() {
        insta::assert_json_snapshot!(format!("mattermost_{name}"), mattermost::render(&message));
    }
}

#[test]
fn teams_renderings() {
    for (name, message) in samples() {
        insta::assert_json_snapshot!(format!("teams_{name}"), teams::render(&message));
    }
}

#[test]
fn ntfy_renderings() {
    for (name, message) in samples() {
        insta::assert_json_snapshot!(format!("ntfy_{name}"), ntfy::render(&message));
    }
}

#[test]
fn webhook_renderings() {
    for (name, message) in samples() {
        insta::assert_json_snapshot!(format!("webhook_{name}"), webhook::render(&message));
    }
}

/// The rules every rendering follows, checked on the text each channel
/// shows (so a snapshot accepted by mistake still cannot break them).
#[test]
fn every_channel_starts_with_the_headline_and_drills_say_so() {
    for (name, message) in samples() {
        let headline = message.headline();
        let console = console::render(&message);
        assert!(console.starts_with(&headline), "console {name}");
        let slack = slack::render(&message);
        assert_eq!(slack["blocks"][0]["type"], "header", "slack {name}");
        assert!(
            slack["text"].as_str().unwrap().starts_with(&headline),
            "slack {name}"
        );
        let teams = teams::render(&message);
        assert_eq!(
            teams["attachments"][0]["content"]["body"][0]["text"], headline,
            "teams {name}"
        );
        assert_eq!(ntfy::render(&message)["title"], headline, "ntfy {name}");
        let mattermost = mattermost::render(&message);
        assert!(
            mattermost["text"]
                .as_str()
                .unwrap()
                .starts_with(&format!("**{headline}**")),
            "mattermost {name}"
        );
        if message.incident.drill {
            assert!(headline.starts_with("[DRILL]"), "{name}");
        }
    }
}

#[test]
fn bare_messages_leave_empty_sections_out() {
    let bare = sample::bare();
    let renderings = [
        console::render(&bare),
        slack::render(&bare).to_string(),
        mattermost::render(&bare).to_string(),
        teams::render(&bare).to_string(),
        ntfy::render(&bare).to_string(),
    ];
    for text in renderings {
        for absent in [
            "Impact",
            "Affected",
            "SLO",
            "First steps",
            "Runbooks",
            "Recent changes",
            "Acknowledge",
        ] {
            assert!(!text.contains(absent), "{absent} in {text}");
        }
    }
}

#[test]
fn bundles_list_every_incident() {
    let bundle = sample::bundle();
    let renderings = [
        console::render(&bundle),
        slack::render(&bundle).to_string(),
        mattermost::render(&bundle).to_string(),
        teams::render(&bundle).to_string(),
        ntfy::render(&bundle).to_string(),
    ];
    for text in renderings {
        for number in ["#42", "#44", "#45"] {
            assert!(text.contains(number), "{number} missing in {text}");
        }
    }
}

#[test]
fn slack_buttons_carry_the_incident_number_for_chatops() {
    let page = slack::render(&sample::page());
    let actions = page["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "actions")
        .unwrap();
    let ids: Vec<&str> = actions["elements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "tocsin.acknowledge",
            "tocsin.resolve",
            "tocsin.escalate",
            "tocsin.open"
        ]
    );
    for button in &actions["elements"].as_array().unwrap()[..3] {
        assert_eq!(button["value"], "42");
    }
    assert_eq!(
        actions["elements"][3]["url"],
        "https://tocsin.example.com/incidents/42"
    );
}
