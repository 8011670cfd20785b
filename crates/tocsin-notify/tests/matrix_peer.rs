//! The Matrix channel against a real homeserver: Synapse, started by the
//! shared harness (`support/synapse.rs`, which says how to install it).
//!
//! A bot and a person are registered through the shared-secret admin API;
//! the person reads back what the bot posted, as a Matrix client would.
//! One test runs every scenario in turn, because starting Synapse takes
//! seconds and its guard must kill it when the test ends, also on failure.
//!
//! Skipped, with a note on stderr, when the venv is missing — unless
//! `TOCSIN_PEER_TESTS=1` (CI sets it), when that is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::Method;
use serde_json::json;
use support::synapse::{Synapse, free_port, synapse_python};
use tocsin_core::notify::{Channel, Delivery, SendError, Sent};
use tocsin_domain::notify::Message;
use tocsin_notify::matrix::{Config, MatrixChannel, render};
use tocsin_notify::sample;

async fn send(
    channel: &MatrixChannel,
    address: &str,
    message: &Message,
    previous: Option<&str>,
) -> Result<Sent, SendError> {
    channel
        .send(Delivery {
            address,
            message,
            previous,
        })
        .await
}

/// `"<room>|<event>"` → (room, event).
fn split(sent: &Sent) -> (String, String) {
    let reference = sent.reference.as_deref().unwrap();
    let (room, event) = reference.split_once('|').unwrap();
    (room.to_owned(), event.to_owned())
}

fn assert_permanent(result: Result<Sent, SendError>, errcode: &str) {
    match result {
        Err(SendError::Permanent { reason }) => {
            assert!(reason.contains(errcode), "want {errcode}: {reason}")
        }
        other => panic!("want a permanent {errcode}, got {other:?}"),
    }
}

#[tokio::test]
async fn synapse_receives_pages_replies_and_direct_messages() {
    let Some(python) = synapse_python("synapse_receives_pages_replies_and_direct_messages") else {
        return;
    };
    let synapse = Synapse::start(&python).await;
    let bot = synapse.register("tocsin").await;
    let alice = synapse.register("alice").await;
    let channel = bot.channel();

    // --- A page to a room id, read back by a member ---------------------
    let room = bot
        .create_room(json!({
            "preset": "private_chat",
            "room_alias_name": "ops",
            "invite": [alice.user_id],
        }))
        .await;
    alice.join(&room).await;
    let page = sample::page();
    let sent = send(&channel, &room, &page, None).await.unwrap();
    let (in_room, page_event) = split(&sent);
    assert_eq!(in_room, room);
    let event = alice.event(&room, &page_event).await;
    let rendered = render(&page);
    assert_eq!(event["sender"], bot.user_id.as_str());
    assert_eq!(event["content"]["msgtype"], "m.text");
    assert_eq!(event["content"]["body"], rendered.body.as_str());
    assert_eq!(event["content"]["format"], "org.matrix.custom.html");
    assert_eq!(
        event["content"]["formatted_body"],
        rendered.formatted_body.as_str()
    );
    let body = event["content"]["body"].as_str().unwrap();
    assert!(body.starts_with("Sev1 #42 checkout: Error rate above 5 % on /pay"));
    assert!(body.contains("https://tocsin.example.com/ack/42?sig=abc123"));

    // --- A retried send is one event ------------------------------------
    let again = send(&channel, &room, &page, None).await.unwrap();
    assert_eq!(again, sent, "the homeserver deduplicates by transaction id");
    assert_eq!(alice.messages(&room).await.len(), 1);

    // --- The resolution replies to the page -----------------------------
    let resolved = send(
        &channel,
        &room,
        &sample::resolved(),
        sent.reference.as_deref(),
    )
    .await
    .unwrap();
    let (_, resolved_event) = split(&resolved);
    let event = alice.event(&room, &resolved_event).await;
    assert_eq!(
        event["content"]["m.relates_to"]["m.in_reply_to"]["event_id"],
        page_event.as_str()
    );
    assert!(
        event["content"]["body"]
            .as_str()
            .unwrap()
            .starts_with("Resolved: ")
    );

    // --- A room alias resolves to the same room -------------------------
    let via_alias = send(&channel, "#ops:localhost", &sample::bare(), None)
        .await
        .unwrap();
    assert_eq!(split(&via_alias).0, room);
    assert_eq!(alice.messages(&room).await.len(), 3);

    // --- A user id gets one direct-message room -------------------------
    let first = send(&channel, &alice.user_id, &sample::page(), None)
        .await
        .unwrap();
    let (dm, first_event) = split(&first);
    assert_ne!(dm, room);
    let second = send(&channel, &alice.user_id, &sample::bare(), None)
        .await
        .unwrap();
    assert_eq!(
        split(&second).0,
        dm,
        "the second page goes to the same room"
    );
    let direct = bot
        .call(
            Method::GET,
            &["user", &bot.user_id, "account_data", "m.direct"],
            None,
        )
        .await;
    assert_eq!(direct[alice.user_id.as_str()], json!([dm]));
    // After a restart (an empty cache) the room is found in m.direct.
    let restarted = bot.channel();
    let third = send(&restarted, &alice.user_id, &sample::drill(), None)
        .await
        .unwrap();
    assert_eq!(split(&third).0, dm);
    // Alice was invited; once she joins she reads the page.
    alice.join(&dm).await;
    let event = alice.event(&dm, &first_event).await;
    assert_eq!(event["content"]["body"], rendered.body.as_str());
    let in_dm = alice.messages(&dm).await;
    assert_eq!(in_dm.len(), 3);
    assert!(
        in_dm[2]["content"]["body"]
            .as_str()
            .unwrap()
            .starts_with("[DRILL] ")
    );

    // --- Refusals are permanent, a dead homeserver transient -----------
    let elsewhere = alice.create_room(json!({ "preset": "private_chat" })).await;
    assert_permanent(send(&channel, &elsewhere, &page, None).await, "M_FORBIDDEN");
    assert_permanent(
        send(&channel, "#nowhere:localhost", &page, None).await,
        "M_NOT_FOUND",
    );
    let bad_token = MatrixChannel::new(&Config {
        homeserver: synapse.base.clone(),
        access_token: "not-a-token".to_owned(),
    })
    .unwrap();
    assert_permanent(
        send(&bad_token, &room, &page, None).await,
        "M_UNKNOWN_TOKEN",
    );
    let down = MatrixChannel::new(&Config {
        homeserver: format!("http://127.0.0.1:{}", free_port()),
        access_token: bot.token.clone(),
    })
    .unwrap();
    let err = send(&down, &room, &page, None).await.unwrap_err();
    assert!(matches!(err, SendError::Transient { .. }), "{err:?}");
}
