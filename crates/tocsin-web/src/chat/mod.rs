//! Chat front ends: each chat platform's wire format in, one command line
//! run by `tocsin_core::chatops` as the person who typed it, the answer in
//! the platform's own shape. The command language and what each command
//! does live in the core; here is only who is asking and how to answer.

pub mod mattermost;
pub mod slack;
pub mod slack_events;

use crate::server::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    slack::router()
        .merge(slack_events::router())
        .merge(mattermost::router())
}

/// Who a chat member is, and the principal they act as: shared with the
/// Matrix bot, so it lives in the core.
pub(crate) use tocsin_core::chat_identity::{Member, member, member_named, user_named_by};

use tocsin_domain::catalog::{ContactKind, Kind, Object};
use tocsin_store::{Store, StoreError};

/// What a chat member asked for: a command line, or the confirmation of
/// one that asked for it (the token of `chatops::Answer::confirm`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Run<'a> {
    Line(&'a str),
    Confirm(&'a str),
}

/// Runs `run` as `principal`, through `via`.
pub(crate) async fn run(
    state: &AppState,
    principal: &tocsin_domain::access::Principal,
    via: tocsin_domain::response::Interface,
    run: Run<'_>,
) -> tocsin_core::chatops::Answer {
    let store = state.store.as_ref();
    let now = state.clock.now();
    match run {
        Run::Line(text) => {
            tocsin_core::chatops::execute(store, &state.runbooks, principal, via, text, now).await
        }
        Run::Confirm(token) => {
            tocsin_core::chatops::confirm(store, &state.runbooks, principal, via, token, now).await
        }
    }
}

/// The catalog user with an `email` contact method of `email` (or, when
/// none has, whose own `email` it is), compared without case, and the
/// principal they act as. Two users with the address match nobody:
/// guessing would let one act as the other.
pub(crate) async fn member_by_email(store: &dyn Store, email: &str) -> Result<Member, StoreError> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(Member::Unknown);
    }
    let mut by_contact = Vec::new();
    let mut by_field = Vec::new();
    for row in store.list_objects(Some(Kind::User)).await? {
        let Ok(Object::User(u)) = Object::from_spec(Kind::User, row.spec) else {
            continue;
        };
        if u.contact_methods
            .iter()
            .any(|m| m.kind == ContactKind::Email && m.address.trim().eq_ignore_ascii_case(email))
        {
            by_contact.push(u.name);
        } else if u.email.trim().eq_ignore_ascii_case(email) {
            by_field.push(u.name);
        }
    }
    let found = if by_contact.is_empty() {
        by_field
    } else {
        by_contact
    };
    match found.as_slice() {
        [name] => member_named(store, name.as_str()).await,
        [first, second, ..] => {
            tracing::warn!(
                %first,
                %second,
                "two catalog users have the same email; a chat member with it is not matched"
            );
            Ok(Member::Unknown)
        }
        [] => Ok(Member::Unknown),
    }
}
