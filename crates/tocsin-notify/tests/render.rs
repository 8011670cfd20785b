//! Snapshot tests pinning each channel's rendering of every sample message
//! (`tests/snapshots/`). A changed rendering fails here until the new
//! snapshot is reviewed and accepted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tocsin_domain::notify::Message;
use tocsin_notify::{console, email, matrix, mattermost, ntfy, sample, slack, teams, webhook};

fn samples() -> Vec<(&'static str, Message)> {
    vec![
        ("page", sample::page()),
        ("resolved", sample::resolved()),
        ("bare", sample::bare()),
        ("drill", sample::drill()),
        ("bundle", sample::bundle()),
        ("update", sample::update()),
        ("dead_letter", sample::dead_letter()),
        ("templated", sample::templated()),
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

/// With the hub's action endpoint configured: buttons on interactive
/// pages and updates of unresolved incidents, nowhere else.
#[test]
fn mattermost_renderings_with_buttons() {
    let actions = mattermost::Actions {
        url: "https://tocsin.example.com/chat/mattermost/actions".to_owned(),
        token: "mm-token".to_owned(),
    };
    insta::assert_json_snapshot!(
        "mattermost_page_with_buttons",
        mattermost::render_with(&sample::page(), Some(&actions))
    );
    for (name, message) in samples() {
        let with = mattermost::render_with(&message, Some(&actions));
        let buttons = &with["attachments"][0]["actions"];
        if name == "page" {
            let ids: Vec<&str> = buttons
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["id"].as_str().unwrap())
                .collect();
            assert_eq!(ids, ["ack", "resolve", "escalate"]);
            for (button, action) in
                buttons
                    .as_array()
                    .unwrap()
                    .iter()
                    .zip(["acknowledge", "resolve", "escalate"])
            {
                assert!(
                    button["id"]
                        .as_str()
                        .unwrap()
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric())
                );
                let context = &button["integration"]["context"];
                assert_eq!(context["action"], action);
                assert_eq!(context["incident"], 42);
                assert_eq!(context["token"], "mm-token");
                assert_eq!(button["integration"]["url"], actions.url.as_str());
            }
        }
        if !message.actions.interactive {
            assert!(buttons.is_null(), "{name}: {with}");
        }
        // Without buttons, the rendering is the plain one.
        if buttons.is_null() {
            assert_eq!(with, mattermost::render(&message), "{name}");
        }
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

/// Email and Matrix (which posts email's rendering) of a page reworded by
/// a message template; the other channels' are in their own snapshots.
#[test]
fn templated_mail_and_matrix_renderings() {
    let m = sample::templated();
    let mail = email::render(&m);
    insta::assert_snapshot!(
        "email_templated",
        format!(
            "Subject: {}\n\n{}\n----\n{}",
            mail.subject, mail.text, mail.html
        )
    );
    let posted = matrix::render(&m);
    insta::assert_snapshot!(
        "matrix_templated",
        format!("{}\n----\n{}", posted.body, posted.formatted_body)
    );
}

/// A template's body replaces tocsin's sections on every channel, keeps
/// the headline and the links to act, and is escaped in each markup.
#[test]
fn a_template_body_replaces_the_sections_and_keeps_the_links() {
    let m = sample::templated();
    assert_eq!(
        m.headline(),
        "Sev1 checkout is failing: Error rate above 5 % on /pay"
    );
    assert!(m.body.as_deref().unwrap().starts_with("Customers: "));
    let mail = email::render(&m);
    let posted = matrix::render(&m);
    let renderings = [
        ("console", console::render(&m)),
        ("slack", slack::render(&m).to_string()),
        ("mattermost", mattermost::render(&m).to_string()),
        ("teams", teams::render(&m).to_string()),
        ("ntfy", ntfy::render(&m).to_string()),
        ("email text", mail.text.clone()),
        ("email html", mail.html.clone()),
        ("matrix", posted.body.clone()),
        ("matrix html", posted.formatted_body.clone()),
    ];
    for (name, text) in &renderings {
        assert!(
            text.contains("Customers: Customers cannot pay"),
            "{name}: {text}"
        );
        assert!(text.contains("is failing"), "{name}: {text}");
        for absent in ["Impact", "First steps", "Recent changes", "SLO"] {
            assert!(!text.contains(absent), "{name}: {absent} in {text}");
        }
        assert!(
            text.contains("https://tocsin.example.com/incidents/42"),
            "{name}: the incident link is kept: {text}"
        );
    }
    // Markup is escaped where the channel has one.
    let slack = slack::render(&m).to_string();
    assert!(
        slack.contains("&amp; page &lt;payments-lead&gt;"),
        "{slack}"
    );
    for html in [&mail.html, &posted.formatted_body] {
        assert!(html.contains("&amp; page &lt;payments-lead&gt;"), "{html}");
        assert!(!html.contains("<payments-lead>"), "{html}");
    }
    // Buttons and one-click links stay.
    assert!(slack.contains("tocsin.acknowledge"), "{slack}");
    assert!(
        mail.text.contains("Acknowledge #42 (one click)"),
        "{}",
        mail.text
    );
    // The generic webhook carries both as fields of the message.
    let hook = webhook::render(&m);
    assert_eq!(hook["message"]["title"], m.title.clone().unwrap());
    assert_eq!(hook["message"]["body"], m.body.clone().unwrap());
    assert!(
        webhook::render(&sample::page())["message"]
            .get("title")
            .is_none()
    );
}
