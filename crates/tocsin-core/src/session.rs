//! Signing in and out, and turning a session cookie or an API token into a
//! [`Principal`]. Sessions expire after a period of inactivity and, in any
//! case, after an absolute lifetime. Failed sign-ins are throttled per user
//! name and per client address.

use crate::account::verify_password;
use crate::audit::Actor;
use crate::token::{digest, random_secret};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use tocsin_domain::Name;
use tocsin_domain::access::{Principal, Role};
use tocsin_domain::audit::Interface;
use tocsin_domain::catalog::{Kind, Object};
use tocsin_store::{NewSession, Session, Store, StoreError, TokenRecord};

#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// A session unused this long ends.
    pub idle: SignedDuration,
    /// A session ends this long after sign-in, used or not.
    pub absolute: SignedDuration,
    /// Failed sign-ins allowed per user name within `window`.
    pub max_failures_per_user: usize,
    /// Failed sign-ins allowed per client address within `window`.
    pub max_failures_per_client: usize,
    pub window: SignedDuration,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            idle: SignedDuration::from_hours(12),
            absolute: SignedDuration::from_hours(24 * 7),
            max_failures_per_user: 5,
            max_failures_per_client: 20,
            window: SignedDuration::from_mins(15),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The same answer for an unknown user and a wrong password.
    #[error("the user name or password is not right")]
    BadCredentials,
    #[error("too many failed sign-ins; try again in {} minute(s)", (.retry_after.as_secs() + 59) / 60)]
    Throttled { retry_after: SignedDuration },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new session: the cookie value is shown to the browser only.
#[derive(Debug)]
pub struct Started {
    pub cookie: String,
    pub csrf: String,
    pub user: Name,
    pub expires_at: Timestamp,
}

/// Sign-in throttling, per instance (in memory): enough against guessing;
/// with several instances an attacker gets N times the attempts.
#[derive(Debug, Default)]
struct Throttle {
    failures: Mutex<HashMap<String, Vec<Timestamp>>>,
}

impl Throttle {
    /// When the key may try again, if it is over its limit now.
    fn blocked(
        &self,
        key: &str,
        limit: usize,
        window: SignedDuration,
        now: Timestamp,
    ) -> Option<SignedDuration> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.entry(key.to_owned()).or_default();
        list.retain(|t| now.duration_since(*t) < window);
        if list.len() >= limit {
            let oldest = list.iter().min().copied().unwrap_or(now);
            Some(window - now.duration_since(oldest))
        } else {
            None
        }
    }

    fn fail(&self, key: &str, now: Timestamp) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(key.to_owned()).or_default().push(now);
    }

    fn clear(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// The hash of a password nobody has, verified for unknown users so that
/// their answer takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| crate::account::hash_password(&random_secret(24)).unwrap_or_default())
}

#[derive(Debug, Default)]
pub struct Sessions {
    config: SessionConfig,
    throttle: Throttle,
}

impl Sessions {
    pub fn new(config: SessionConfig) -> Self {
        Sessions {
            config,
            throttle: Throttle::default(),
        }
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub async fn login(
        &self,
        store: &dyn Store,
        user: &str,
        password: &str,
        client: &str,
        now: Timestamp,
    ) -> Result<Started, LoginError> {
        let c = &self.config;
        let user_key = format!("user:{}", user.trim().to_ascii_lowercase());
        let client_key = format!("client:{client}");
        for (key, limit) in [
            (&user_key, c.max_failures_per_user),
            (&client_key, c.max_failures_per_client),
        ] {
            if let Some(retry_after) = self.throttle.blocked(key, limit, c.window, now) {
                tracing::warn!(user, client, "sign-in throttled");
                return Err(LoginError::Throttled { retry_after });
            }
        }
        let account = match Name::parse(user.trim()) {
            Ok(name) => store.get_account(&name).await?,
            Err(_) => None,
        };
        let ok = match &account {
            Some(a) => verify_password(password, &a.password_hash),
            None => {
                let _ = verify_password(password, dummy_hash());
                false
            }
        };
        let Some(account) = account.filter(|_| ok) else {
            self.throttle.fail(&user_key, now);
            self.throttle.fail(&client_key, now);
            tracing::info!(user, client, "sign-in failed");
            return Err(LoginError::BadCredentials);
        };
        self.throttle.clear(&user_key);
        let cookie = random_secret(43);
        let csrf = random_secret(32);
        let expires_at = now.checked_add(c.idle).unwrap_or(now);
        let session = NewSession {
            digest: digest(&cookie),
            user: account.user.clone(),
            csrf: csrf.clone(),
            expires_at,
        };
        store.create_session(&session, now).await?;
        let audit = Actor::new(account.user.to_string(), Interface::Ui).entry(
            "session.login",
            Some(("user", account.user.as_str())),
            json!({ "client": client }),
        );
        store.record_audit(&[audit], now).await?;
        Ok(Started {
            cookie,
            csrf,
            user: account.user,
            expires_at,
        })
    }

    /// The live session for a cookie, its idle expiry pushed forward.
    pub async fn resolve(
        &self,
        store: &dyn Store,
        cookie: &str,
        now: Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let d = digest(cookie);
        let Some(mut session) = store.get_session(&d, now).await? else {
            return Ok(None);
        };
        let hard_end = session
            .created_at
            .checked_add(self.config.absolute)
            .unwrap_or(now);
        if now >= hard_end {
            store.delete_session(&d).await?;
            return Ok(None);
        }
        let next = now
            .checked_add(self.config.idle)
            .unwrap_or(now)
            .min(hard_end);
        // Write at most about once a minute per session, not on every request.
        if next.duration_since(session.expires_at) > SignedDuration::from_mins(1) {
            store.extend_session(&d, next).await?;
            session.expires_at = next;
        }
        Ok(Some(session))
    }

    pub async fn logout(
        &self,
        store: &dyn Store,
        cookie: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let d = digest(cookie);
        if let Some(s) = store.get_session(&d, now).await? {
            let audit = Actor::new(s.user.to_string(), Interface::Ui).entry(
                "session.logout",
                Some(("user", s.user.as_str())),
                json!({}),
            );
            store.record_audit(&[audit], now).await?;
        }
        store.delete_session(&d).await
    }
}

/// The teams a user is a member of, from the catalog.
pub async fn teams_of(store: &dyn Store, user: &Name) -> Result<BTreeSet<Name>, StoreError> {
    let mut teams = BTreeSet::new();
    for t in store.list_objects(Some(Kind::Team)).await? {
        if let Ok(Object::Team(team)) = Object::from_spec(Kind::Team, t.spec)
            && team.members.contains(user)
        {
            teams.insert(team.name);
        }
    }
    Ok(teams)
}

pub async fn principal_for_session(
    store: &dyn Store,
    session: &Session,
) -> Result<Principal, StoreError> {
    Ok(Principal {
        user: Some(session.user.clone()),
        role: session.role,
        teams: teams_of(store, &session.user).await?,
        label: session.user.to_string(),
    })
}

/// A token acts with the role of its scope, never above its owner's
/// current role, on behalf of its owner's teams.
pub async fn principal_for_token(
    store: &dyn Store,
    token: &TokenRecord,
) -> Result<Principal, StoreError> {
    let mut role = token.scope.role();
    let mut teams = BTreeSet::new();
    if let Some(owner) = &token.owner {
        let owner_role = store
            .get_account(owner)
            .await?
            .map(|a| a.role)
            .unwrap_or(Role::Viewer);
        role = role.min(owner_role);
        teams = teams_of(store, owner).await?;
    }
    Ok(Principal {
        user: token.owner.clone(),
        role,
        teams,
        label: format!("token:{}", token.name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_blocks_then_releases() {
        let t = Throttle::default();
        let w = SignedDuration::from_mins(15);
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        for i in 0..5 {
            assert!(t.blocked("k", 5, w, t0).is_none(), "attempt {i}");
            t.fail("k", t0);
        }
        let wait = t
            .blocked(
                "k",
                5,
                w,
                t0.checked_add(SignedDuration::from_mins(5)).unwrap(),
            )
            .unwrap();
        assert_eq!(wait, SignedDuration::from_mins(10));
        assert!(t.blocked("k", 5, w, t0.checked_add(w).unwrap()).is_none());
        // The dummy hash parses, so unknown users cost a real verification.
        assert!(argon2::password_hash::phc::PasswordHash::new(dummy_hash()).is_ok());
    }
}
