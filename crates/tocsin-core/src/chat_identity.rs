//! Who a chat member is to tocsin: the catalog user whose contact method
//! holds their chat id (a Slack member id, a Matrix user id), or whose
//! name they carry (Mattermost), and the principal they act as.
//!
//! Shared by every chat front end (the Slack and Mattermost endpoints in
//! `tocsin-web`, the Matrix bot in `tocsin-notify`), so a person is the
//! same person, with the same powers, whichever chat they type in.
//!
//! Invariant: nothing acts on a catalog entry alone. A user must also have
//! an account, whose role is the one they act with, so a manifest change
//! cannot grant anyone powers an admin did not.

use crate::session::teams_of;
use tocsin_domain::Name;
use tocsin_domain::access::Principal;
use tocsin_domain::catalog::{ContactKind, Kind, Object, User};
use tocsin_store::{Store, StoreError};

/// Who a chat member is to tocsin.
#[derive(Debug)]
pub enum Member {
    /// A catalog user with an account: acts with the account's role on
    /// behalf of their teams.
    Known(Principal),
    /// A catalog user links this chat id but has no account to act with.
    NoAccount(Name),
    /// No catalog user has a contact method with this id.
    Unknown,
}

/// The catalog user whose contact method of `kind` has `address`, and the
/// principal they act as (the account's role, their teams from the
/// catalog), as a signed-in session would.
pub async fn member(
    store: &dyn Store,
    kind: ContactKind,
    address: &str,
) -> Result<Member, StoreError> {
    let Some(user) = user_with_contact(store, kind, address).await? else {
        return Ok(Member::Unknown);
    };
    principal_of(store, user).await
}

/// The catalog user named `name` and the principal they act as, as
/// [`member`] does for a contact method: for platforms whose contact
/// address is not a member id (Mattermost's is an incoming webhook URL).
pub async fn member_named(store: &dyn Store, name: &str) -> Result<Member, StoreError> {
    let Ok(name) = Name::parse(name) else {
        return Ok(Member::Unknown);
    };
    let Some(row) = store.get_object(Kind::User, &name).await? else {
        return Ok(Member::Unknown);
    };
    let Ok(Object::User(user)) = Object::from_spec(Kind::User, row.spec) else {
        return Ok(Member::Unknown);
    };
    principal_of(store, user).await
}

/// The name of the catalog user whose contact method of `kind` has
/// `address` (to turn a chat mention into the `@name` the command
/// language reads), whether or not they have an account.
pub async fn user_named_by(
    store: &dyn Store,
    kind: ContactKind,
    address: &str,
) -> Result<Option<Name>, StoreError> {
    Ok(user_with_contact(store, kind, address)
        .await?
        .map(|u| u.name))
}

async fn principal_of(store: &dyn Store, user: User) -> Result<Member, StoreError> {
    let Some(account) = store.get_account(&user.name).await? else {
        return Ok(Member::NoAccount(user.name));
    };
    Ok(Member::Known(Principal {
        teams: teams_of(store, &user.name).await?,
        label: user.name.to_string(),
        user: Some(user.name),
        role: account.role,
    }))
}

async fn user_with_contact(
    store: &dyn Store,
    kind: ContactKind,
    address: &str,
) -> Result<Option<User>, StoreError> {
    if address.is_empty() {
        return Ok(None);
    }
    for row in store.list_objects(Some(Kind::User)).await? {
        if let Ok(Object::User(u)) = Object::from_spec(Kind::User, row.spec)
            && u.contact_methods
                .iter()
                .any(|m| m.kind == kind && m.address == address)
        {
            return Ok(Some(u));
        }
    }
    Ok(None)
}
