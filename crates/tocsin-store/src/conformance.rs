//! The conformance suite: every backend runs these from its own tests, so
//! SQLite and PostgreSQL are held to one behaviour.
//!
//! Each case is a public `async fn` taking a fresh, migrated store (nothing
//! else in it) and panicking with a message that says which promise of the
//! store traits broke. [`conformance_tests!`](crate::conformance_tests)
//! turns the whole list into one `#[tokio::test]` per case in the calling
//! crate, so a failure names its case.
//!
//! Invariants: cases pass time in (a fixed base instant plus offsets), never
//! read a clock and never sleep; they use whole milliseconds, which is what
//! the stores keep. This module is test code compiled into the library behind
//! the `conformance` feature, which is why it may panic.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use crate::{
    AuditQuery, AuditRecord, CatalogWrite, JobFailure, NewAccount, NewJob, NewSession, NewToken,
    Store, StoreError,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use std::any::Any;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tocsin_domain::Name;
use tocsin_domain::access::Role;
use tocsin_domain::audit::{AuditEntry, Interface};
use tocsin_domain::catalog::Kind;
use tocsin_domain::token::TokenScope;

/// A store for one case, with whatever must live as long as it (a temporary
/// directory) and an optional clean-up to run once the case passed (dropping
/// a test database).
pub struct TestStore {
    pub store: Arc<dyn Store>,
    guard: Option<Box<dyn Any + Send>>,
    cleanup: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
}

impl std::fmt::Debug for TestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStore")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl TestStore {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            guard: None,
            cleanup: None,
        }
    }

    /// Keeps `guard` alive until the case ends (e.g. a `tempfile::TempDir`).
    pub fn with_guard(mut self, guard: impl Any + Send) -> Self {
        self.guard = Some(Box::new(guard));
        self
    }

    /// Runs `cleanup` after the store is closed, when the case passed. A
    /// failed case skips it, leaving the data behind to look at.
    pub fn with_cleanup(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanup = Some(Box::pin(cleanup));
        self
    }

    /// Closes the store, runs the clean-up, then drops the guard.
    pub async fn finish(self) {
        self.store.close().await;
        if let Some(cleanup) = self.cleanup {
            cleanup.await;
        }
        drop(self.guard);
    }
}

/// Generates one `#[tokio::test]` per conformance case. `$factory` is an
/// expression evaluated once per test to a future of `Option<TestStore>`
/// holding a fresh migrated store; `None` skips the case (the factory says
/// why on stderr). The calling crate needs `tokio` (with `macros` and `rt`)
/// as a dev-dependency.
///
/// ```ignore
/// tocsin_store::conformance_tests!(common::fresh_store());
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($factory:expr) => {
        $crate::conformance_tests!(@cases $factory;
            catalog_create_list_get,
            catalog_names_sort_bytewise,
            catalog_same_name_in_another_kind,
            catalog_update_is_compare_and_set,
            catalog_delete_is_compare_and_set,
            catalog_conflict_writes_nothing,
            catalog_update_without_secret_keeps_it,
            tokens_create_and_use,
            tokens_live_name_is_unique,
            tokens_revoke,
            tokens_list_oldest_first,
            tokens_owner_round_trips,
            accounts_create_get_list_count,
            accounts_duplicate_is_conflict,
            accounts_set_role,
            accounts_set_password_ends_sessions,
            sessions_create_get_expire,
            sessions_extend_and_delete,
            sessions_purge_expired,
            sessions_role_follows_account,
            audit_written_with_changes,
            audit_failed_change_writes_nothing,
            audit_list_filters,
            audit_list_pages_and_limits,
            audit_record_standalone,
            jobs_enqueue_is_idempotent_by_key,
            jobs_claim_only_due,
            jobs_claim_respects_kinds_limit_and_order,
            jobs_claim_is_exclusive_until_lease_expiry,
            jobs_expired_lease_is_taken_over,
            jobs_retry_reschedules,
            jobs_dead_is_kept_with_error,
            jobs_next_due_at,
            incident_change_is_compare_and_set,
            notifications_outbox_and_rate_limit,
            jobs_renew_lease,
            jobs_purge_done,
            locks_are_exclusive,
            locks_renew_by_holder,
            locks_taken_over_after_expiry,
            locks_release,
            migrations_current_and_idempotent,
            ingest_dedups_groups_and_pages_once,
            ingest_across_batches_and_dependencies,
            ingest_changes_and_reads,
            ingest_mutes_and_finds_requests,
            response_declare_pages_or_acknowledges,
            response_changes_apply_and_read_back,
            response_conflicts_write_nothing,
            response_reviews_are_versioned,
            response_merge_moves_alerts,
            response_close_and_reopen,
            response_updates_are_idempotent_by_key,
            response_timeline_after_pages,
            response_action_item_queries,
            response_search_filters,
            runbook_runs_start_once,
            runbook_runs_finish_once,
            chat_receipts_once_and_cursors,
            chat_incident_rooms,
            heartbeat_pings_batch_in_order,
            heartbeat_due_status_and_alert,
        );
    };
    (@cases $factory:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let Some(test_store) = $factory.await else {
                    return;
                };
                $crate::conformance::$case(::std::sync::Arc::clone(&test_store.store)).await;
                test_store.finish().await;
            }
        )*
    };
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The instant every case starts from.
fn t0() -> Timestamp {
    Timestamp::constant(1_767_225_600, 0) // 2026-01-01T00:00:00Z
}

fn at(seconds: i64) -> Timestamp {
    t0() + SignedDuration::from_secs(seconds)
}

fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

fn name(s: &str) -> Name {
    Name::parse(s).unwrap_or_else(|e| panic!("test name {s:?} {e}"))
}

/// Unwraps a store result, naming the operation that failed.
#[track_caller]
fn ok<T>(result: Result<T, StoreError>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("{what} failed: {e}"),
    }
}

/// Asserts a conflict whose message contains every fragment.
#[track_caller]
fn assert_conflict<T: Debug>(result: Result<T, StoreError>, what: &str, fragments: &[&str]) {
    match result {
        Err(StoreError::Conflict(msg)) => {
            for f in fragments {
                assert!(
                    msg.contains(f),
                    "{what}: conflict message {msg:?} should mention {f:?}"
                );
            }
        }
        other => panic!("{what}: expected a conflict, got {other:?}"),
    }
}

fn create(kind: Kind, n: &str, spec: serde_json::Value) -> CatalogWrite {
    CatalogWrite::Create {
        kind,
        name: name(n),
        spec,
        managed: true,
        source: Some(format!("{}.yaml", kind.plural())),
        secret: None,
    }
}

fn job(kind: &str, key: &str, due_at: Timestamp) -> NewJob {
    NewJob {
        kind: kind.to_owned(),
        key: key.to_owned(),
        payload: json!({ "key": key }),
        due_at,
    }
}

fn kinds(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn token(n: &str, digest: &str, scope: TokenScope) -> NewToken {
    NewToken {
        id: format!("id-{digest}"),
        name: n.to_owned(),
        scope,
        digest: digest.to_owned(),
        owner: None,
    }
}

fn account(user: &str, role: Role) -> NewAccount {
    NewAccount {
        user: name(user),
        role,
        password_hash: format!("hash-{user}"),
    }
}

fn session(digest: &str, user: &str, expires_at: Timestamp) -> NewSession {
    NewSession {
        digest: digest.to_owned(),
        user: name(user),
        csrf: format!("csrf-{digest}"),
        expires_at,
    }
}

fn entry(
    actor: &str,
    interface: Interface,
    action: &str,
    object: Option<(&str, &str)>,
) -> AuditEntry {
    AuditEntry {
        actor: actor.to_owned(),
        interface,
        action: action.to_owned(),
        object_kind: object.map(|(kind, _)| kind.to_owned()),
        object_name: object.map(|(_, name)| name.to_owned()),
        detail: json!({ "action": action }),
    }
}

/// A query with no filter, for up to the most entries a list returns.
fn all_audit() -> AuditQuery {
    AuditQuery {
        limit: crate::sql::MAX_AUDIT_LIMIT,
        ..AuditQuery::default()
    }
}

async fn list_audit(store: &Arc<dyn Store>, query: &AuditQuery) -> Vec<AuditRecord> {
    ok(store.list_audit(query).await, "list_audit")
}

fn actions(records: &[AuditRecord]) -> Vec<&str> {
    records.iter().map(|r| r.entry.action.as_str()).collect()
}

// ---------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------

/// Creates come back from list (ordered by kind then name, filtered by kind)
/// and get, with every field as written and version 1.
pub async fn catalog_create_list_get(store: Arc<dyn Store>) {
    assert!(
        ok(store.list_objects(None).await, "list").is_empty(),
        "a fresh store has no objects"
    );
    let writes = vec![
        create(
            Kind::Service,
            "checkout",
            json!({"name": "checkout", "team": "payments"}),
        ),
        create(Kind::Team, "payments", json!({"name": "payments"})),
        create(Kind::User, "bob", json!({"name": "bob"})),
        create(
            Kind::User,
            "alice",
            json!({"name": "alice", "email": "a@example.com"}),
        ),
        create(Kind::Team, "infra", json!({"name": "infra"})),
        CatalogWrite::Create {
            kind: Kind::Integration,
            name: name("alertmanager"),
            spec: json!({"name": "alertmanager"}),
            managed: false,
            source: None,
            secret: Some("s3cret".to_owned()),
        },
    ];
    ok(
        store.apply_catalog(&writes, &[], t0()).await,
        "apply creates",
    );

    let all = ok(store.list_objects(None).await, "list");
    let order: Vec<_> = all.iter().map(|o| (o.kind, o.name.as_str())).collect();
    assert_eq!(
        order,
        [
            (Kind::User, "alice"),
            (Kind::User, "bob"),
            (Kind::Team, "infra"),
            (Kind::Team, "payments"),
            (Kind::Service, "checkout"),
            (Kind::Integration, "alertmanager"),
        ],
        "list_objects orders by kind (creation order) then name"
    );
    for o in &all {
        assert_eq!(
            o.version, 1,
            "{} {}: a new object has version 1",
            o.kind, o.name
        );
    }
    let mut ids: Vec<_> = all.iter().map(|o| o.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "every object gets its own id");

    let teams = ok(store.list_objects(Some(Kind::Team)).await, "list teams");
    let names: Vec<_> = teams.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(
        names,
        ["infra", "payments"],
        "list_objects(Some(kind)) returns only that kind"
    );
    assert!(
        ok(
            store.list_objects(Some(Kind::Schedule)).await,
            "list schedules"
        )
        .is_empty(),
        "a kind with no objects lists nothing"
    );

    let alice = ok(
        store.get_object(Kind::User, &name("alice")).await,
        "get alice",
    )
    .expect("get_object finds a created object");
    assert_eq!(
        alice.spec,
        json!({"name": "alice", "email": "a@example.com"}),
        "spec round-trips"
    );
    assert!(alice.managed, "managed round-trips");
    assert_eq!(
        alice.source.as_deref(),
        Some("users.yaml"),
        "source round-trips"
    );
    assert_eq!(alice.secret, None, "no secret was written");

    let am = ok(
        store
            .get_object(Kind::Integration, &name("alertmanager"))
            .await,
        "get integration",
    )
    .expect("get_object finds the integration");
    assert!(!am.managed, "unmanaged round-trips");
    assert_eq!(am.source, None, "no source was written");
    assert_eq!(am.secret.as_deref(), Some("s3cret"), "secret round-trips");

    assert_eq!(
        ok(
            store.get_object(Kind::User, &name("carol")).await,
            "get missing"
        ),
        None,
        "get_object of an unknown name is None"
    );
    assert_eq!(
        ok(
            store.get_object(Kind::Team, &name("alice")).await,
            "get wrong kind"
        ),
        None,
        "get_object matches the kind as well as the name"
    );
}

/// Names sort bytewise (`-` < `.` < digits < `_` < letters), the same on
/// both backends whatever the database collation.
pub async fn catalog_names_sort_bytewise(store: Arc<dyn Store>) {
    let names = ["ab", "a_b", "a.c", "b", "a-c", "a1"];
    let writes: Vec<_> = names
        .iter()
        .map(|n| create(Kind::User, n, json!({})))
        .collect();
    ok(
        store.apply_catalog(&writes, &[], t0()).await,
        "create users",
    );
    let listed: Vec<_> = ok(store.list_objects(Some(Kind::User)).await, "list users")
        .into_iter()
        .map(|o| o.name.to_string())
        .collect();
    assert_eq!(
        listed,
        ["a-c", "a.c", "a1", "a_b", "ab", "b"],
        "list_objects orders names bytewise"
    );
    let all: Vec<_> = ok(store.list_objects(None).await, "list")
        .into_iter()
        .map(|o| o.name.to_string())
        .collect();
    assert_eq!(all, listed, "the same order when listing every kind");
}

/// Names are unique per kind, not across kinds.
pub async fn catalog_same_name_in_another_kind(store: Arc<dyn Store>) {
    let writes = vec![
        create(Kind::Team, "payments", json!({"name": "payments"})),
        create(Kind::Service, "payments", json!({"name": "payments"})),
    ];
    ok(
        store.apply_catalog(&writes, &[], t0()).await,
        "create a team and a service with one name",
    );
    assert_eq!(
        ok(store.list_objects(None).await, "list").len(),
        2,
        "both objects exist"
    );
}

/// An update with the current version writes and bumps the version; one
/// with a stale version is a conflict that changes nothing.
pub async fn catalog_update_is_compare_and_set(store: Arc<dyn Store>) {
    ok(
        store
            .apply_catalog(
                &[create(Kind::Team, "payments", json!({"v": 1}))],
                &[],
                t0(),
            )
            .await,
        "create",
    );
    let team =
        ok(store.get_object(Kind::Team, &name("payments")).await, "get").expect("team exists");

    let update = |expected_version, spec| CatalogWrite::Update {
        id: team.id.clone(),
        expected_version,
        spec,
        managed: false,
        source: Some("other.yaml".to_owned()),
        secret: None,
    };
    ok(
        store
            .apply_catalog(&[update(1, json!({"v": 2}))], &[], at(60))
            .await,
        "update at version 1",
    );
    let after =
        ok(store.get_object(Kind::Team, &name("payments")).await, "get").expect("team exists");
    assert_eq!(after.version, 2, "an update bumps the version");
    assert_eq!(after.id, team.id, "an update keeps the id");
    assert_eq!(after.spec, json!({"v": 2}), "an update writes the spec");
    assert!(!after.managed, "an update writes managed");
    assert_eq!(
        after.source.as_deref(),
        Some("other.yaml"),
        "an update writes the source"
    );

    assert_conflict(
        store
            .apply_catalog(&[update(1, json!({"v": 3}))], &[], at(120))
            .await,
        "update with a stale version",
        &["team", "payments", "changed since it was read"],
    );
    let unchanged =
        ok(store.get_object(Kind::Team, &name("payments")).await, "get").expect("team exists");
    assert_eq!(unchanged, after, "a stale update writes nothing");
}

/// A delete with the current version removes the object; one with a stale
/// version is a conflict that keeps it.
pub async fn catalog_delete_is_compare_and_set(store: Arc<dyn Store>) {
    ok(
        store
            .apply_catalog(&[create(Kind::User, "alice", json!({}))], &[], t0())
            .await,
        "create",
    );
    let alice = ok(store.get_object(Kind::User, &name("alice")).await, "get").expect("user exists");

    assert_conflict(
        store
            .apply_catalog(
                &[CatalogWrite::Delete {
                    id: alice.id.clone(),
                    expected_version: 7,
                }],
                &[],
                at(1),
            )
            .await,
        "delete with a stale version",
        &["user", "alice", "changed since it was read"],
    );
    assert!(
        ok(store.get_object(Kind::User, &name("alice")).await, "get").is_some(),
        "a stale delete keeps the object"
    );

    ok(
        store
            .apply_catalog(
                &[CatalogWrite::Delete {
                    id: alice.id.clone(),
                    expected_version: 1,
                }],
                &[],
                at(2),
            )
            .await,
        "delete at version 1",
    );
    assert_eq!(
        ok(store.get_object(Kind::User, &name("alice")).await, "get"),
        None,
        "a delete removes the object"
    );

    assert_conflict(
        store
            .apply_catalog(
                &[CatalogWrite::Delete {
                    id: alice.id.clone(),
                    expected_version: 1,
                }],
                &[],
                at(3),
            )
            .await,
        "delete of an object already deleted",
        &["run plan again"],
    );
}

/// A batch is all or nothing: a conflict anywhere in it leaves the store as
/// it was, including the writes before the conflicting one.
pub async fn catalog_conflict_writes_nothing(store: Arc<dyn Store>) {
    ok(
        store
            .apply_catalog(
                &[
                    create(Kind::Team, "payments", json!({"v": 1})),
                    create(Kind::User, "alice", json!({})),
                ],
                &[],
                t0(),
            )
            .await,
        "seed",
    );
    let before = ok(store.list_objects(None).await, "list");

    assert_conflict(
        store
            .apply_catalog(
                &[
                    create(Kind::Team, "infra", json!({})),
                    create(Kind::Team, "payments", json!({"v": 2})),
                ],
                &[],
                at(1),
            )
            .await,
        "create of an existing name",
        &["team \"payments\" already exists"],
    );
    assert_eq!(
        ok(store.list_objects(None).await, "list"),
        before,
        "a batch [valid create, create of an existing name] writes nothing"
    );

    let payments = before
        .iter()
        .find(|o| o.name.as_str() == "payments")
        .expect("seeded team");
    let alice = before
        .iter()
        .find(|o| o.name.as_str() == "alice")
        .expect("seeded user");
    assert_conflict(
        store
            .apply_catalog(
                &[
                    CatalogWrite::Update {
                        id: payments.id.clone(),
                        expected_version: 1,
                        spec: json!({"v": 3}),
                        managed: true,
                        source: None,
                        secret: Some("new".to_owned()),
                    },
                    CatalogWrite::Delete {
                        id: alice.id.clone(),
                        expected_version: 2,
                    },
                ],
                &[],
                at(2),
            )
            .await,
        "batch [valid update, stale delete]",
        &["user \"alice\""],
    );
    assert_eq!(
        ok(store.list_objects(None).await, "list"),
        before,
        "a batch [valid update, stale delete] writes nothing"
    );

    ok(store.apply_catalog(&[], &[], at(3)).await, "an empty batch");
}

/// `secret: None` in an update keeps the stored secret; `Some` replaces it.
pub async fn catalog_update_without_secret_keeps_it(store: Arc<dyn Store>) {
    let create = CatalogWrite::Create {
        kind: Kind::Integration,
        name: name("grafana"),
        spec: json!({"v": 1}),
        managed: true,
        source: None,
        secret: Some("first".to_owned()),
    };
    ok(store.apply_catalog(&[create], &[], t0()).await, "create");
    let current = ok(
        store.get_object(Kind::Integration, &name("grafana")).await,
        "get",
    )
    .expect("exists");
    let update = |expected_version, secret: Option<&str>| CatalogWrite::Update {
        id: current.id.clone(),
        expected_version,
        spec: json!({"v": expected_version + 1}),
        managed: true,
        source: None,
        secret: secret.map(str::to_owned),
    };

    ok(
        store.apply_catalog(&[update(1, None)], &[], at(1)).await,
        "update without secret",
    );
    let kept = ok(
        store.get_object(Kind::Integration, &name("grafana")).await,
        "get",
    )
    .expect("exists");
    assert_eq!(
        kept.secret.as_deref(),
        Some("first"),
        "an update with secret None keeps the secret"
    );
    assert_eq!(kept.spec, json!({"v": 2}), "the spec is still updated");

    ok(
        store
            .apply_catalog(&[update(2, Some("second"))], &[], at(2))
            .await,
        "update with secret",
    );
    let replaced = ok(
        store.get_object(Kind::Integration, &name("grafana")).await,
        "get",
    )
    .expect("exists");
    assert_eq!(
        replaced.secret.as_deref(),
        Some("second"),
        "an update with Some(secret) replaces it"
    );
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

/// A live token is found by digest, and using it records when.
pub async fn tokens_create_and_use(store: Arc<dyn Store>) {
    ok(
        store
            .create_token(&token("ci-apply", "d1", TokenScope::Admin), &[], t0())
            .await,
        "create",
    );

    let used =
        ok(store.use_token("d1", at(60)).await, "use").expect("use_token finds a live token");
    assert_eq!(used.id, "id-d1");
    assert_eq!(used.name, "ci-apply");
    assert_eq!(used.scope, TokenScope::Admin, "scope round-trips");
    assert_eq!(used.created_at, t0(), "created_at is the creation time");
    assert_eq!(
        used.last_used_at,
        Some(at(60)),
        "use_token marks the token used at now"
    );
    assert_eq!(used.revoked_at, None);

    let listed = ok(store.list_tokens().await, "list");
    assert_eq!(listed.len(), 1);
    assert_eq!(
        listed[0].last_used_at,
        Some(at(60)),
        "the last use is stored"
    );

    ok(store.use_token("d1", at(120)).await, "use again").expect("still live");
    let listed = ok(store.list_tokens().await, "list");
    assert_eq!(
        listed[0].last_used_at,
        Some(at(120)),
        "each use moves last_used_at"
    );

    assert_eq!(
        ok(store.use_token("nope", at(1)).await, "use unknown"),
        None,
        "an unknown digest finds nothing"
    );
}

/// Two live tokens cannot share a name; a revoked one frees its name.
pub async fn tokens_live_name_is_unique(store: Arc<dyn Store>) {
    ok(
        store
            .create_token(&token("deploy", "d1", TokenScope::Write), &[], t0())
            .await,
        "create",
    );
    assert_conflict(
        store
            .create_token(&token("deploy", "d2", TokenScope::Read), &[], at(1))
            .await,
        "a second live token with the same name",
        &["deploy"],
    );
    assert_eq!(
        ok(store.list_tokens().await, "list").len(),
        1,
        "the conflicting token was not written"
    );

    assert!(
        ok(store.revoke_token("deploy", &[], at(2)).await, "revoke"),
        "revoking a live token"
    );
    ok(
        store
            .create_token(&token("deploy", "d3", TokenScope::Read), &[], at(3))
            .await,
        "reuse the name of a revoked token",
    );
    assert_eq!(
        ok(store.list_tokens().await, "list").len(),
        2,
        "the revoked token is kept"
    );
}

/// Revoking marks the live token; a revoked token is no longer usable, and
/// revoking again (or an unknown name) reports false.
pub async fn tokens_revoke(store: Arc<dyn Store>) {
    ok(
        store
            .create_token(&token("ops", "d1", TokenScope::Read), &[], t0())
            .await,
        "create",
    );
    ok(
        store
            .create_token(&token("other", "d2", TokenScope::Read), &[], t0())
            .await,
        "create other",
    );

    assert!(
        ok(store.revoke_token("ops", &[], at(10)).await, "revoke"),
        "revoke_token of a live token is true"
    );
    assert!(
        !ok(store.revoke_token("ops", &[], at(11)).await, "revoke again"),
        "revoking twice is false"
    );
    assert!(
        !ok(
            store.revoke_token("ghost", &[], at(11)).await,
            "revoke unknown"
        ),
        "an unknown name is false"
    );

    assert_eq!(
        ok(store.use_token("d1", at(20)).await, "use revoked"),
        None,
        "a revoked token is not usable"
    );
    assert!(
        ok(store.use_token("d2", at(20)).await, "use other").is_some(),
        "revoking one token spares others"
    );

    let listed = ok(store.list_tokens().await, "list");
    let ops = listed
        .iter()
        .find(|t| t.name == "ops")
        .expect("revoked tokens are listed");
    assert_eq!(
        ops.revoked_at,
        Some(at(10)),
        "revoked_at is the revocation time"
    );
    assert_eq!(
        ops.last_used_at, None,
        "a failed use does not mark a revoked token"
    );
}

/// Tokens are listed oldest first, revoked ones included.
pub async fn tokens_list_oldest_first(store: Arc<dyn Store>) {
    assert!(
        ok(store.list_tokens().await, "list").is_empty(),
        "a fresh store has no tokens"
    );
    ok(
        store
            .create_token(&token("c", "d3", TokenScope::Read), &[], at(30))
            .await,
        "create c",
    );
    ok(
        store
            .create_token(&token("a", "d1", TokenScope::Read), &[], at(10))
            .await,
        "create a",
    );
    ok(
        store
            .create_token(&token("b", "d2", TokenScope::Write), &[], at(20))
            .await,
        "create b",
    );
    ok(store.revoke_token("a", &[], at(40)).await, "revoke a");
    let names: Vec<_> = ok(store.list_tokens().await, "list")
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(
        names,
        ["a", "b", "c"],
        "list_tokens is oldest first and includes revoked tokens"
    );
}

/// A token's owner round-trips through create, use and list; tokens made
/// with the CLI have none.
pub async fn tokens_owner_round_trips(store: Arc<dyn Store>) {
    let mut owned = token("alice-laptop", "d1", TokenScope::Write);
    owned.owner = Some(name("alice"));
    ok(store.create_token(&owned, &[], t0()).await, "create owned");
    ok(
        store
            .create_token(&token("ci", "d2", TokenScope::Admin), &[], at(1))
            .await,
        "create unowned",
    );

    let used = ok(store.use_token("d1", at(2)).await, "use").expect("live token");
    assert_eq!(
        used.owner,
        Some(name("alice")),
        "use_token returns the owner"
    );
    let listed = ok(store.list_tokens().await, "list");
    let owners: Vec<_> = listed
        .iter()
        .map(|t| (t.name.as_str(), t.owner.as_ref().map(Name::as_str)))
        .collect();
    assert_eq!(
        owners,
        [("alice-laptop", Some("alice")), ("ci", None)],
        "list_tokens returns each token's owner"
    );
}

// ---------------------------------------------------------------------------
// Accounts
// ---------------------------------------------------------------------------

/// Accounts come back from get and list (by user name, bytewise) with every
/// field as written, and are counted.
pub async fn accounts_create_get_list_count(store: Arc<dyn Store>) {
    assert_eq!(
        ok(store.count_accounts().await, "count"),
        0,
        "a fresh store has no accounts"
    );
    assert!(ok(store.list_accounts().await, "list").is_empty());
    for (i, (user, role)) in [
        ("bob", Role::Viewer),
        ("ab", Role::Admin),
        ("a-c", Role::Manager),
        ("a1", Role::Responder),
    ]
    .into_iter()
    .enumerate()
    {
        let t = at(i64::try_from(i).unwrap_or(0) + 1);
        ok(
            store.create_account(&account(user, role), &[], t).await,
            "create account",
        );
    }
    assert_eq!(ok(store.count_accounts().await, "count"), 4);

    let listed = ok(store.list_accounts().await, "list");
    let users: Vec<_> = listed.iter().map(|a| a.user.as_str()).collect();
    assert_eq!(
        users,
        ["a-c", "a1", "ab", "bob"],
        "list_accounts orders by user name, bytewise"
    );

    let bob = ok(store.get_account(&name("bob")).await, "get bob").expect("bob has an account");
    assert_eq!(bob.user, name("bob"));
    assert_eq!(bob.role, Role::Viewer, "the role round-trips");
    assert_eq!(bob.password_hash, "hash-bob", "the hash round-trips");
    assert_eq!(bob.created_at, at(1), "created_at is the creation time");
    assert_eq!(
        bob.updated_at,
        at(1),
        "a new account was updated when created"
    );
    assert_eq!(
        listed.iter().find(|a| a.user == bob.user),
        Some(&bob),
        "list and get agree"
    );
    for (user, role) in [
        ("ab", Role::Admin),
        ("a-c", Role::Manager),
        ("a1", Role::Responder),
    ] {
        let got = ok(store.get_account(&name(user)).await, "get").expect("account exists");
        assert_eq!(got.role, role, "{user}'s role round-trips");
    }
    assert_eq!(
        ok(store.get_account(&name("carol")).await, "get carol"),
        None,
        "a user without an account has none"
    );
}

/// A second account for a user is a conflict that writes nothing: neither
/// the account nor its audit entries.
pub async fn accounts_duplicate_is_conflict(store: Arc<dyn Store>) {
    let created = entry(
        "cli:root",
        Interface::Cli,
        "account.create",
        Some(("account", "alice")),
    );
    ok(
        store
            .create_account(
                &account("alice", Role::Admin),
                std::slice::from_ref(&created),
                t0(),
            )
            .await,
        "create alice",
    );
    let again = NewAccount {
        user: name("alice"),
        role: Role::Viewer,
        password_hash: "other".to_owned(),
    };
    assert_conflict(
        store
            .create_account(
                &again,
                &[entry(
                    "bob",
                    Interface::Ui,
                    "account.create",
                    Some(("account", "alice")),
                )],
                at(1),
            )
            .await,
        "a second account for alice",
        &["alice"],
    );
    let alice = ok(store.get_account(&name("alice")).await, "get").expect("alice exists");
    assert_eq!(alice.role, Role::Admin, "the first account is kept");
    assert_eq!(alice.password_hash, "hash-alice", "the first hash is kept");
    assert_eq!(alice.created_at, t0());
    assert_eq!(ok(store.count_accounts().await, "count"), 1);

    let audit = list_audit(&store, &all_audit()).await;
    assert_eq!(
        audit.len(),
        1,
        "the conflicting create wrote no audit entry"
    );
    assert_eq!(audit[0].entry, created, "the first create's entry is kept");
    assert_eq!(audit[0].at, t0());
}

/// set_role changes the role (true) and writes its audit entries; for a
/// user without an account it is false and writes nothing.
pub async fn accounts_set_role(store: Arc<dyn Store>) {
    ok(
        store
            .create_account(&account("alice", Role::Responder), &[], t0())
            .await,
        "create",
    );
    let changed = entry(
        "bob",
        Interface::Ui,
        "account.role",
        Some(("account", "alice")),
    );
    assert!(
        ok(
            store
                .set_role(
                    &name("alice"),
                    Role::Manager,
                    std::slice::from_ref(&changed),
                    at(10)
                )
                .await,
            "set_role"
        ),
        "set_role of an existing account is true"
    );
    let alice = ok(store.get_account(&name("alice")).await, "get").expect("exists");
    assert_eq!(alice.role, Role::Manager, "the role is changed");
    assert_eq!(alice.updated_at, at(10), "updated_at moves");
    assert_eq!(alice.created_at, t0(), "created_at stays");
    assert_eq!(alice.password_hash, "hash-alice", "the hash stays");

    assert!(
        !ok(
            store
                .set_role(
                    &name("carol"),
                    Role::Admin,
                    &[entry(
                        "bob",
                        Interface::Ui,
                        "account.role",
                        Some(("account", "carol"))
                    )],
                    at(11),
                )
                .await,
            "set_role of a missing account"
        ),
        "set_role of a user without an account is false"
    );
    assert_eq!(
        ok(store.get_account(&name("carol")).await, "get carol"),
        None,
        "set_role creates no account"
    );

    let audit = list_audit(&store, &all_audit()).await;
    assert_eq!(audit.len(), 1, "only the change that happened is audited");
    assert_eq!(audit[0].entry, changed);
    assert_eq!(audit[0].at, at(10));
}

/// set_password replaces the hash and ends every session of that user (and
/// only theirs), with its audit entries; for a user without an account it is
/// false and writes nothing.
pub async fn accounts_set_password_ends_sessions(store: Arc<dyn Store>) {
    for user in ["alice", "bob"] {
        ok(
            store
                .create_account(&account(user, Role::Responder), &[], t0())
                .await,
            "create",
        );
    }
    for (digest, user) in [("a1", "alice"), ("a2", "alice"), ("b1", "bob")] {
        ok(
            store
                .create_session(&session(digest, user, at(3600)), at(1))
                .await,
            "create session",
        );
    }
    let changed = entry(
        "alice",
        Interface::Ui,
        "account.password",
        Some(("account", "alice")),
    );
    assert!(
        ok(
            store
                .set_password(
                    &name("alice"),
                    "new-hash",
                    std::slice::from_ref(&changed),
                    at(10)
                )
                .await,
            "set_password"
        ),
        "set_password of an existing account is true"
    );
    let alice = ok(store.get_account(&name("alice")).await, "get").expect("exists");
    assert_eq!(alice.password_hash, "new-hash", "the hash is replaced");
    assert_eq!(alice.updated_at, at(10), "updated_at moves");
    assert_eq!(alice.role, Role::Responder, "the role stays");
    for digest in ["a1", "a2"] {
        assert_eq!(
            ok(store.get_session(digest, at(11)).await, "get session"),
            None,
            "a password change ends the user's session {digest}"
        );
    }
    assert!(
        ok(store.get_session("b1", at(11)).await, "get session").is_some(),
        "another user's session is kept"
    );
    assert!(
        !ok(store.extend_session("a1", at(7200)).await, "extend"),
        "an ended session is gone, not just hidden"
    );

    assert!(
        !ok(
            store
                .set_password(
                    &name("carol"),
                    "x",
                    &[entry(
                        "carol",
                        Interface::Ui,
                        "account.password",
                        Some(("account", "carol"))
                    )],
                    at(12),
                )
                .await,
            "set_password of a missing account"
        ),
        "set_password of a user without an account is false"
    );
    let audit = list_audit(&store, &all_audit()).await;
    assert_eq!(audit.len(), 1, "only the change that happened is audited");
    assert_eq!(audit[0].entry, changed);
}

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------

/// A session is found by digest, with its account's role, until it expires
/// (at `expires_at` it is expired). A digest in use, or a user without an
/// account, is a conflict.
pub async fn sessions_create_get_expire(store: Arc<dyn Store>) {
    ok(
        store
            .create_account(&account("alice", Role::Responder), &[], t0())
            .await,
        "create account",
    );
    ok(
        store
            .create_session(&session("d1", "alice", at(100)), at(10))
            .await,
        "create session",
    );
    let got = ok(store.get_session("d1", at(10)).await, "get").expect("a live session is found");
    assert_eq!(got.user, name("alice"));
    assert_eq!(
        got.role,
        Role::Responder,
        "the session has the account's role"
    );
    assert_eq!(got.csrf, "csrf-d1", "the CSRF token round-trips");
    assert_eq!(got.created_at, at(10), "created_at is the creation time");
    assert_eq!(got.expires_at, at(100), "expires_at round-trips");
    assert!(
        ok(store.get_session("d1", at(99)).await, "get").is_some(),
        "a session is live just before it expires"
    );
    assert_eq!(
        ok(store.get_session("d1", at(100)).await, "get"),
        None,
        "a session is expired at expires_at"
    );
    assert_eq!(
        ok(store.get_session("d1", at(101)).await, "get"),
        None,
        "an expired session is not returned"
    );
    assert_eq!(
        ok(store.get_session("nope", at(10)).await, "get unknown"),
        None,
        "an unknown digest finds nothing"
    );

    assert_conflict(
        store
            .create_session(&session("d1", "alice", at(200)), at(11))
            .await,
        "a second session with the same digest",
        &["session"],
    );
    assert_conflict(
        store
            .create_session(&session("d2", "carol", at(200)), at(11))
            .await,
        "a session for a user without an account",
        &["carol"],
    );
    assert_eq!(
        ok(store.get_session("d2", at(12)).await, "get"),
        None,
        "the refused session was not written"
    );
}

/// Extending moves the expiry (true) of an existing session; deleting ends
/// it; both accept an unknown digest.
pub async fn sessions_extend_and_delete(store: Arc<dyn Store>) {
    ok(
        store
            .create_account(&account("alice", Role::Viewer), &[], t0())
            .await,
        "create account",
    );
    for digest in ["d1", "d2"] {
        ok(
            store
                .create_session(&session(digest, "alice", at(100)), at(1))
                .await,
            "create session",
        );
    }
    assert!(
        ok(store.extend_session("d1", at(200)).await, "extend"),
        "extending a session is true"
    );
    let got = ok(store.get_session("d1", at(150)).await, "get").expect("an extended session lives");
    assert_eq!(got.expires_at, at(200), "the new expiry is stored");
    assert_eq!(got.created_at, at(1), "extending keeps created_at");
    assert_eq!(
        ok(store.get_session("d2", at(150)).await, "get"),
        None,
        "extending one session spares the others' expiry"
    );
    assert!(
        !ok(
            store.extend_session("nope", at(200)).await,
            "extend unknown"
        ),
        "extending an unknown session is false"
    );

    ok(store.delete_session("d1").await, "delete");
    assert_eq!(
        ok(store.get_session("d1", at(2)).await, "get"),
        None,
        "a deleted session is gone"
    );
    assert!(
        !ok(store.extend_session("d1", at(300)).await, "extend deleted"),
        "a deleted session cannot be extended"
    );
    ok(store.delete_session("nope").await, "delete unknown");
    assert!(
        ok(store.get_account(&name("alice")).await, "get account").is_some(),
        "deleting a session keeps the account"
    );
}

/// Purging deletes the sessions expired at `now` (expires_at <= now) and
/// counts them.
pub async fn sessions_purge_expired(store: Arc<dyn Store>) {
    ok(
        store
            .create_account(&account("alice", Role::Viewer), &[], t0())
            .await,
        "create account",
    );
    for (digest, expires) in [("e1", 10), ("e2", 20), ("live", 30)] {
        ok(
            store
                .create_session(&session(digest, "alice", at(expires)), t0())
                .await,
            "create session",
        );
    }
    assert_eq!(
        ok(store.purge_expired_sessions(at(20)).await, "purge"),
        2,
        "sessions expired at or before now are purged"
    );
    assert_eq!(
        ok(store.purge_expired_sessions(at(20)).await, "purge again"),
        0,
        "purging again finds nothing"
    );
    assert!(
        !ok(store.extend_session("e2", at(100)).await, "extend purged"),
        "a purged session is gone"
    );
    assert!(
        ok(store.get_session("live", at(25)).await, "get").is_some(),
        "a live session is kept"
    );
    assert_eq!(
        ok(store.purge_expired_sessions(at(1000)).await, "purge later"),
        1
    );
}

/// A session reports the account's current role: a role change applies to
/// sessions already open.
pub async fn sessions_role_follows_account(store: Arc<dyn Store>) {
    ok(
        store
            .create_account(&account("alice", Role::Viewer), &[], t0())
            .await,
        "create account",
    );
    ok(
        store
            .create_session(&session("d1", "alice", at(3600)), t0())
            .await,
        "create session",
    );
    let before = ok(store.get_session("d1", at(1)).await, "get").expect("live");
    assert_eq!(before.role, Role::Viewer);
    assert!(ok(
        store
            .set_role(&name("alice"), Role::Admin, &[], at(2))
            .await,
        "set_role"
    ));
    let after = ok(store.get_session("d1", at(3)).await, "get").expect("still live");
    assert_eq!(
        after.role,
        Role::Admin,
        "the session has the role set after it was created"
    );
    assert_eq!(
        after.csrf, before.csrf,
        "the session is otherwise unchanged"
    );
}

// ---------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------

/// The audit entries given to apply_catalog, create_token, revoke_token and
/// create_account are written with the change, at its `now`, and listed
/// newest first with every field; a revoke that revokes nothing writes none.
pub async fn audit_written_with_changes(store: Arc<dyn Store>) {
    assert!(
        list_audit(&store, &all_audit()).await.is_empty(),
        "a fresh store has no audit entries"
    );
    let mut team = entry(
        "alice",
        Interface::Config,
        "catalog.create",
        Some(("team", "payments")),
    );
    team.detail = json!({"via": "cli", "fields": ["name"]});
    let user = entry(
        "alice",
        Interface::Config,
        "catalog.create",
        Some(("user", "bob")),
    );
    ok(
        store
            .apply_catalog(
                &[
                    create(Kind::Team, "payments", json!({})),
                    create(Kind::User, "bob", json!({})),
                ],
                &[team.clone(), user.clone()],
                at(1),
            )
            .await,
        "apply",
    );
    let mut token_created = entry(
        "alice",
        Interface::Api,
        "token.create",
        Some(("token", "ci")),
    );
    token_created.detail = json!({"scope": "admin"});
    ok(
        store
            .create_token(
                &token("ci", "d1", TokenScope::Admin),
                std::slice::from_ref(&token_created),
                at(2),
            )
            .await,
        "create token",
    );
    let token_revoked = entry(
        "cli:root",
        Interface::Cli,
        "token.revoke",
        Some(("token", "ci")),
    );
    assert!(ok(
        store
            .revoke_token("ci", std::slice::from_ref(&token_revoked), at(3))
            .await,
        "revoke"
    ));
    assert!(
        !ok(
            store
                .revoke_token(
                    "ghost",
                    &[entry(
                        "cli:root",
                        Interface::Cli,
                        "token.revoke",
                        Some(("token", "ghost"))
                    )],
                    at(4),
                )
                .await,
            "revoke unknown"
        ),
        "revoking an unknown token is false"
    );
    let account_created = entry(
        "system",
        Interface::System,
        "account.create",
        Some(("account", "bob")),
    );
    ok(
        store
            .create_account(
                &account("bob", Role::Viewer),
                std::slice::from_ref(&account_created),
                at(5),
            )
            .await,
        "create account",
    );

    let records = list_audit(&store, &all_audit()).await;
    let got: Vec<_> = records.iter().map(|r| (&r.entry, r.at)).collect();
    assert_eq!(
        got,
        [
            (&account_created, at(5)),
            (&token_revoked, at(3)),
            (&token_created, at(2)),
            (&user, at(1)),
            (&team, at(1)),
        ],
        "every entry is listed, newest first, at its change's time, with every field \
         (a revoke of an unknown token writes none)"
    );
    assert!(
        records.windows(2).all(|w| w[0].id > w[1].id),
        "newer entries have larger ids: {:?}",
        records.iter().map(|r| r.id).collect::<Vec<_>>()
    );
}

/// A change that fails writes none of its audit entries.
pub async fn audit_failed_change_writes_nothing(store: Arc<dyn Store>) {
    ok(
        store
            .apply_catalog(&[create(Kind::Team, "payments", json!({}))], &[], t0())
            .await,
        "seed team",
    );
    ok(
        store
            .create_token(&token("deploy", "d1", TokenScope::Write), &[], t0())
            .await,
        "seed token",
    );
    let e = entry(
        "alice",
        Interface::Config,
        "catalog.create",
        Some(("team", "infra")),
    );
    assert_conflict(
        store
            .apply_catalog(
                &[
                    create(Kind::Team, "infra", json!({})),
                    create(Kind::Team, "payments", json!({})),
                ],
                &[e.clone(), e],
                at(1),
            )
            .await,
        "a batch with a create of an existing name",
        &["payments"],
    );
    assert_conflict(
        store
            .create_token(
                &token("deploy", "d2", TokenScope::Read),
                &[entry(
                    "alice",
                    Interface::Api,
                    "token.create",
                    Some(("token", "deploy")),
                )],
                at(2),
            )
            .await,
        "a token with a live token's name",
        &["deploy"],
    );
    assert!(
        list_audit(&store, &all_audit()).await.is_empty(),
        "a change that failed leaves no audit entry"
    );
    assert_eq!(
        ok(store.get_object(Kind::Team, &name("infra")).await, "get"),
        None,
        "nor any of its writes"
    );
}

/// Each filter of list_audit, alone and combined (AND); the action prefix
/// is literal (`_` and `%` are not wildcards).
pub async fn audit_list_filters(store: Arc<dyn Store>) {
    let entries = [
        entry(
            "alice",
            Interface::Ui,
            "catalog.create",
            Some(("team", "payments")),
        ),
        entry("bob", Interface::Api, "token.create", Some(("token", "ci"))),
        entry(
            "alice",
            Interface::Cli,
            "catalog.update",
            Some(("team", "payments")),
        ),
        entry("system", Interface::System, "engine.start", None),
        entry("alice", Interface::Api, "a_b.c", None),
        entry("alice", Interface::Api, "axb.c", None),
        entry(
            "bob",
            Interface::Ui,
            "catalog.delete",
            Some(("user", "carol")),
        ),
    ];
    for (i, e) in entries.iter().enumerate() {
        let t = at(i64::try_from(i).unwrap_or(0));
        ok(
            store.record_audit(std::slice::from_ref(e), t).await,
            "record",
        );
    }
    let q = all_audit;
    let cases: Vec<(&str, AuditQuery, Vec<&str>)> = vec![
        (
            "actor",
            AuditQuery {
                actor: Some("alice".to_owned()),
                ..q()
            },
            vec!["axb.c", "a_b.c", "catalog.update", "catalog.create"],
        ),
        (
            "interface",
            AuditQuery {
                interface: Some(Interface::Api),
                ..q()
            },
            vec!["axb.c", "a_b.c", "token.create"],
        ),
        (
            "action prefix",
            AuditQuery {
                action_prefix: Some("catalog.".to_owned()),
                ..q()
            },
            vec!["catalog.delete", "catalog.update", "catalog.create"],
        ),
        (
            "a whole action as prefix",
            AuditQuery {
                action_prefix: Some("token.create".to_owned()),
                ..q()
            },
            vec!["token.create"],
        ),
        (
            "a prefix with _",
            AuditQuery {
                action_prefix: Some("a_b".to_owned()),
                ..q()
            },
            vec!["a_b.c"],
        ),
        (
            "a prefix with %",
            AuditQuery {
                action_prefix: Some("%".to_owned()),
                ..q()
            },
            vec![],
        ),
        (
            "a prefix longer than any action",
            AuditQuery {
                action_prefix: Some("catalog.create.more".to_owned()),
                ..q()
            },
            vec![],
        ),
        (
            "object kind",
            AuditQuery {
                object_kind: Some("team".to_owned()),
                ..q()
            },
            vec!["catalog.update", "catalog.create"],
        ),
        (
            "object name",
            AuditQuery {
                object_name: Some("carol".to_owned()),
                ..q()
            },
            vec!["catalog.delete"],
        ),
        (
            "actor and action prefix",
            AuditQuery {
                actor: Some("bob".to_owned()),
                action_prefix: Some("catalog.".to_owned()),
                ..q()
            },
            vec!["catalog.delete"],
        ),
        (
            "every filter",
            AuditQuery {
                actor: Some("alice".to_owned()),
                interface: Some(Interface::Cli),
                action_prefix: Some("catalog".to_owned()),
                object_kind: Some("team".to_owned()),
                object_name: Some("payments".to_owned()),
                ..q()
            },
            vec!["catalog.update"],
        ),
        (
            "an actor with no entries",
            AuditQuery {
                actor: Some("nobody".to_owned()),
                ..q()
            },
            vec![],
        ),
        (
            "an actor differing in case",
            AuditQuery {
                actor: Some("Alice".to_owned()),
                ..q()
            },
            vec![],
        ),
    ];
    for (what, query, want) in cases {
        let got = list_audit(&store, &query).await;
        assert_eq!(actions(&got), want, "list_audit filtered by {what}");
    }
    let all = list_audit(&store, &q()).await;
    assert_eq!(all.len(), entries.len(), "no filter lists everything");
    assert_eq!(
        list_audit(
            &store,
            &AuditQuery {
                action_prefix: Some(String::new()),
                ..q()
            }
        )
        .await,
        all,
        "an empty prefix matches every action"
    );
}

/// Newest first; `before_id` pages back through the log without gaps or
/// repeats; `limit` bounds a page, 0 lists nothing, and no page holds more
/// than the cap.
pub async fn audit_list_pages_and_limits(store: Arc<dyn Store>) {
    let total = usize::try_from(crate::sql::MAX_AUDIT_LIMIT).unwrap_or(1000) + 5;
    let entries: Vec<_> = (0..total)
        .map(|i| entry("alice", Interface::Api, &format!("step.{i}"), None))
        .collect();
    ok(store.record_audit(&entries, t0()).await, "record");

    let capped = list_audit(
        &store,
        &AuditQuery {
            limit: u32::MAX,
            ..AuditQuery::default()
        },
    )
    .await;
    assert_eq!(
        capped.len(),
        usize::try_from(crate::sql::MAX_AUDIT_LIMIT).unwrap_or(1000),
        "a list is capped whatever limit is asked"
    );
    assert_eq!(
        capped[0].entry.action,
        format!("step.{}", total - 1),
        "the newest entry comes first"
    );
    assert!(
        list_audit(
            &store,
            &AuditQuery {
                limit: 0,
                ..AuditQuery::default()
            }
        )
        .await
        .is_empty(),
        "limit 0 lists nothing"
    );

    // Page back through everything, 300 at a time.
    let mut seen = Vec::new();
    let mut before_id = None;
    loop {
        let page = list_audit(
            &store,
            &AuditQuery {
                before_id,
                limit: 300,
                ..AuditQuery::default()
            },
        )
        .await;
        assert!(page.len() <= 300, "a page holds at most limit entries");
        let Some(last) = page.last() else { break };
        if let Some(before) = before_id {
            assert!(
                page.iter().all(|r| r.id < before),
                "a page holds only entries older than before_id"
            );
        }
        before_id = Some(last.id);
        seen.extend(page.into_iter().map(|r| r.entry.action));
    }
    let want: Vec<_> = (0..total).rev().map(|i| format!("step.{i}")).collect();
    assert_eq!(seen, want, "paging lists every entry once, newest first");
}

/// record_audit writes entries on their own, all at `now`, each field
/// round-tripping (every interface, no object, nested JSON detail); an empty
/// list writes nothing.
pub async fn audit_record_standalone(store: Arc<dyn Store>) {
    ok(store.record_audit(&[], t0()).await, "record nothing");
    assert!(list_audit(&store, &all_audit()).await.is_empty());

    let mut login = entry("alice", Interface::Ui, "session.login", None);
    login.detail = json!({"ip": "192.0.2.1", "nested": {"list": [1, 2.5, null, "é"]}});
    let mut entries = vec![login];
    for interface in Interface::ALL {
        entries.push(entry(
            "bob",
            interface,
            &format!("test.{interface}"),
            Some(("kind", "name")),
        ));
    }
    ok(store.record_audit(&entries, at(7)).await, "record");
    let records = list_audit(&store, &all_audit()).await;
    let got: Vec<_> = records.iter().rev().map(|r| r.entry.clone()).collect();
    assert_eq!(got, entries, "every entry round-trips, in order");
    assert!(
        records.iter().all(|r| r.at == at(7)),
        "every entry is recorded at now"
    );
}

// ---------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------

/// The first job with a key wins; enqueuing the key again changes nothing.
pub async fn jobs_enqueue_is_idempotent_by_key(store: Arc<dyn Store>) {
    assert!(
        ok(
            store.enqueue_job(&job("notify", "k1", at(10)), t0()).await,
            "enqueue"
        ),
        "first enqueue inserts"
    );
    let mut again = job("other", "k1", at(99));
    again.payload = json!({"second": true});
    assert!(
        !ok(store.enqueue_job(&again, at(1)).await, "enqueue again"),
        "a second enqueue of a key is false"
    );

    let state = ok(store.job_by_key("k1").await, "job_by_key").expect("the job exists");
    assert_eq!(state.kind, "notify", "the first job is kept");
    assert_eq!(state.due_at, at(10), "the first job's due time is kept");
    assert_eq!(state.state, "pending", "a new job is pending");
    assert_eq!(state.attempts, 0, "a new job has no attempts");
    assert_eq!(state.lease_owner, None);
    assert_eq!(state.last_error, None);

    let claimed = ok(
        store
            .claim_jobs(&kinds(&["notify", "other"]), "w1", at(100), secs(30), 10)
            .await,
        "claim",
    );
    assert_eq!(claimed.len(), 1, "only one job exists for the key");
    assert_eq!(
        claimed[0].payload,
        json!({"key": "k1"}),
        "the first job's payload is kept"
    );
    assert_eq!(
        ok(store.job_by_key("missing").await, "job_by_key"),
        None,
        "an unknown key finds nothing"
    );
}

/// Only jobs whose due time has come are claimed.
pub async fn jobs_claim_only_due(store: Arc<dyn Store>) {
    ok(
        store.enqueue_job(&job("notify", "now", at(0)), t0()).await,
        "enqueue",
    );
    ok(
        store
            .enqueue_job(&job("notify", "later", at(60)), t0())
            .await,
        "enqueue",
    );
    let k = kinds(&["notify"]);

    // A lease longer than the test, so the first job stays taken.
    let first = ok(
        store.claim_jobs(&k, "w1", at(0), secs(3600), 10).await,
        "claim at 0",
    );
    let keys: Vec<_> = first.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(
        keys,
        ["now"],
        "a job due at now is claimed, a future one is not"
    );

    assert!(
        ok(
            store.claim_jobs(&k, "w1", at(59), secs(30), 10).await,
            "claim at 59"
        )
        .is_empty(),
        "nothing is due before 60 s"
    );
    let later = ok(
        store.claim_jobs(&k, "w1", at(60), secs(30), 10).await,
        "claim at 60",
    );
    assert_eq!(later.len(), 1, "the later job is claimed once due");
    assert_eq!(later[0].key, "later");
    assert_eq!(later[0].due_at, at(60), "the claim reports the due time");
}

/// A claim takes only the requested kinds, at most `limit` jobs, oldest due
/// first, and fills in the lease.
pub async fn jobs_claim_respects_kinds_limit_and_order(store: Arc<dyn Store>) {
    ok(
        store.enqueue_job(&job("a", "a-3", at(3)), t0()).await,
        "enqueue",
    );
    ok(
        store.enqueue_job(&job("b", "b-1", at(1)), t0()).await,
        "enqueue",
    );
    ok(
        store.enqueue_job(&job("a", "a-1", at(1)), t0()).await,
        "enqueue",
    );
    ok(
        store.enqueue_job(&job("c", "c-0", at(0)), t0()).await,
        "enqueue",
    );
    ok(
        store.enqueue_job(&job("a", "a-2", at(2)), t0()).await,
        "enqueue",
    );

    assert!(
        ok(
            store.claim_jobs(&[], "w", at(10), secs(30), 10).await,
            "claim no kinds"
        )
        .is_empty(),
        "no kinds claims nothing"
    );
    assert!(
        ok(
            store
                .claim_jobs(&kinds(&["a"]), "w", at(10), secs(30), 0)
                .await,
            "claim limit 0"
        )
        .is_empty(),
        "limit 0 claims nothing"
    );

    let two = ok(
        store
            .claim_jobs(&kinds(&["a"]), "w", at(10), secs(30), 2)
            .await,
        "claim a",
    );
    let keys: Vec<_> = two.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(
        keys,
        ["a-1", "a-2"],
        "claims are limited and oldest due first"
    );
    for j in &two {
        assert_eq!(j.kind, "a");
        assert_eq!(j.attempts, 1, "a first claim is attempt 1");
        assert_eq!(j.lease_until, at(40), "the lease runs until now + lease");
        let state = ok(store.job_by_key(&j.key).await, "job_by_key").expect("exists");
        assert_eq!(state.state, "running", "a claimed job is running");
        assert_eq!(
            state.lease_owner.as_deref(),
            Some("w"),
            "a claimed job records its worker"
        );
    }

    let rest = ok(
        store
            .claim_jobs(&kinds(&["a", "b"]), "w", at(10), secs(30), 10)
            .await,
        "claim a, b",
    );
    let keys: Vec<_> = rest.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(
        keys,
        ["b-1", "a-3"],
        "several kinds are claimed together, oldest due first"
    );

    let c = ok(store.job_by_key("c-0").await, "job_by_key").expect("exists");
    assert_eq!(
        c.state, "pending",
        "a kind that was not asked for is not claimed"
    );
}

/// A claimed job is not claimed again while its lease runs, by anyone.
pub async fn jobs_claim_is_exclusive_until_lease_expiry(store: Arc<dyn Store>) {
    ok(
        store.enqueue_job(&job("notify", "k", at(0)), t0()).await,
        "enqueue",
    );
    let k = kinds(&["notify"]);
    assert_eq!(
        ok(
            store.claim_jobs(&k, "w1", at(0), secs(30), 10).await,
            "claim"
        )
        .len(),
        1
    );
    assert!(
        ok(
            store.claim_jobs(&k, "w1", at(1), secs(30), 10).await,
            "claim again"
        )
        .is_empty(),
        "the holder does not claim its own job twice"
    );
    assert!(
        ok(
            store.claim_jobs(&k, "w2", at(29), secs(30), 10).await,
            "claim by w2"
        )
        .is_empty(),
        "another worker cannot claim a job whose lease has not expired"
    );
}

/// Once a lease expires another worker takes the job over (attempt 2), and
/// the old worker can no longer complete, fail or renew it.
pub async fn jobs_expired_lease_is_taken_over(store: Arc<dyn Store>) {
    ok(
        store.enqueue_job(&job("notify", "k", at(0)), t0()).await,
        "enqueue",
    );
    let k = kinds(&["notify"]);
    let first = ok(
        store.claim_jobs(&k, "w1", at(0), secs(30), 10).await,
        "claim by w1",
    );
    assert_eq!(first.len(), 1);
    let id = first[0].id;

    let second = ok(
        store.claim_jobs(&k, "w2", at(30), secs(30), 10).await,
        "claim by w2 after expiry",
    );
    assert_eq!(
        second.len(),
        1,
        "a job whose lease expired is claimable again"
    );
    assert_eq!(second[0].id, id, "it is the same job");
    assert_eq!(
        second[0].attempts, 2,
        "the takeover counts as a second attempt"
    );
    assert_eq!(
        second[0].lease_until,
        at(60),
        "the new lease runs from the takeover"
    );
    let state = ok(store.job_by_key("k").await, "job_by_key").expect("exists");
    assert_eq!(
        state.lease_owner.as_deref(),
        Some("w2"),
        "the new worker holds the lease"
    );

    assert!(
        !ok(store.complete_job(id, "w1", at(31)).await, "complete by w1"),
        "the old worker cannot complete"
    );
    let failure = JobFailure::Retry {
        retry_at: at(100),
        error: "late".to_owned(),
    };
    assert!(
        !ok(
            store.fail_job(id, "w1", &failure, at(31)).await,
            "fail by w1"
        ),
        "the old worker cannot fail it"
    );
    assert!(
        !ok(store.renew_lease(id, "w1", at(90)).await, "renew by w1"),
        "the old worker cannot renew"
    );
    let state = ok(store.job_by_key("k").await, "job_by_key").expect("exists");
    assert_eq!(state.state, "running", "the old worker changed nothing");

    assert!(
        ok(store.complete_job(id, "w2", at(32)).await, "complete by w2"),
        "the new holder completes it"
    );
    let state = ok(store.job_by_key("k").await, "job_by_key").expect("exists");
    assert_eq!(state.state, "done");
    assert!(
        ok(
            store.claim_jobs(&k, "w3", at(1000), secs(30), 10).await,
            "claim done"
        )
        .is_empty(),
        "a done job is never claimed"
    );
    assert!(
        !ok(store.complete_job(id, "w2", at(33)).await, "complete twice"),
        "completing twice is false"
    );
}

/// A retry releases the lease and makes the job due again at `retry_at`,
/// keeping the error.
pub async fn jobs_retry_reschedules(store: Arc<dyn Store>) {
    ok(
        store.enqueue_job(&job("notify", "k", at(0)), t0()).await,
        "enqueue",
    );
    let k = kinds(&["notify"]);
    let id = ok(
        store.claim_jobs(&k, "w1", at(0), secs(30), 10).await,
        "claim",
    )[0]
    .id;

    let failure = JobFailure::Retry {
        retry_at: at(120),
        error: "provider timed out".to_owned(),
    };
    assert!(
        ok(store.fail_job(id, "w1", &failure, at(5)).await, "retry"),
        "the holder can reschedule"
    );
    let state = ok(store.job_by_key("k").await, "job_by_key").expect("exists");
    assert_eq!(state.state, "pending", "a retried job is pending");
    assert_eq!(state.due_at, at(120), "a retried job is due at retry_at");
    assert_eq!(state.lease_owner, None, "a retry clears the lease");
    assert_eq!(
        state.last_error.as_deref(),
        Some("provider timed out"),
        "a retry keeps the error"
    );
    assert_eq!(state.attempts, 1);

    assert!(
        ok(
            store.claim_jobs(&k, "w2", at(119), secs(30), 10).await,
            "claim early"
        )
        .is_empty(),
        "a retried job is not due before retry_at"
    );
    let again = ok(
        store.claim_jobs(&k, "w2", at(120), secs(30), 10).await,
        "claim at retry_at",
    );
    assert_eq!(
        again.len(),
        1,
        "a retried job is claimable at retry_at, by any worker"
    );
    assert_eq!(again[0].attempts, 2, "the retry is attempt 2");
}

/// A dead job keeps its error and is never claimed again.
pub async fn jobs_dead_is_kept_with_error(store: Arc<dyn Store>) {
    ok(
        store.enqueue_job(&job("notify", "k", at(0)), t0()).await,
        "enqueue",
    );
    let k = kinds(&["notify"]);
    let id = ok(
        store.claim_jobs(&k, "w1", at(0), secs(30), 10).await,
        "claim",
    )[0]
    .id;

    let failure = JobFailure::Dead {
        error: "invalid phone number".to_owned(),
    };
    assert!(
        !ok(
            store.fail_job(id, "w2", &failure, at(1)).await,
            "bury by w2"
        ),
        "only the holder can bury"
    );
    assert!(
        ok(store.fail_job(id, "w1", &failure, at(1)).await, "bury"),
        "the holder can bury"
    );
    let state = ok(store.job_by_key("k").await, "job_by_key").expect("a dead job is kept");
    assert_eq!(state.state, "dead");
    assert_eq!(state.last_error.as_deref(), Some("invalid phone number"));
    assert!(
        ok(
            store.claim_jobs(&k, "w1", at(10_000), secs(30), 10).await,
            "claim dead"
        )
        .is_empty(),
        "a dead job is never claimed"
    );
    assert_eq!(
        ok(store.purge_done_jobs(at(10_000)).await, "purge"),
        0,
        "purge keeps dead jobs"
    );
}

/// The holder can extend its lease, which keeps others off the job past
/// the original expiry.
pub async fn jobs_renew_lease(store: Arc<dyn Store>) {
    ok(
        store.enqueue_job(&job("notify", "k", at(0)), t0()).await,
        "enqueue",
    );
    let k = kinds(&["notify"]);
    let id = ok(
        store.claim_jobs(&k, "w1", at(0), secs(30), 10).await,
        "claim",
    )[0]
    .id;

    assert!(
        ok(store.renew_lease(id, "w1", at(90)).await, "renew"),
        "the holder can renew"
    );
    assert!(
        !ok(store.renew_lease(id, "w2", at(200)).await, "renew by w2"),
        "another worker cannot renew"
    );
    assert!(
        ok(
            store.claim_jobs(&k, "w2", at(60), secs(30), 10).await,
            "claim after old expiry"
        )
        .is_empty(),
        "a renewed lease keeps the job past the first expiry"
    );
    assert_eq!(
        ok(
            store.claim_jobs(&k, "w2", at(90), secs(30), 10).await,
            "claim after new expiry"
        )
        .len(),
        1,
        "the job is claimable once the renewed lease expires"
    );
    assert!(
        !ok(
            store.renew_lease(9_999_999, "w1", at(100)).await,
            "renew unknown"
        ),
        "an unknown id is false"
    );
}

/// Purging deletes done jobs last updated before the cut-off, and nothing
/// else.
pub async fn jobs_purge_done(store: Arc<dyn Store>) {
    for (key, due) in [("old", 0), ("new", 0), ("pending", 0), ("running", 0)] {
        ok(
            store.enqueue_job(&job("notify", key, at(due)), t0()).await,
            "enqueue",
        );
    }
    let k = kinds(&["notify"]);
    let claimed = ok(
        store.claim_jobs(&k, "w", at(0), secs(3600), 3).await,
        "claim",
    );
    let id_of = |key: &str| claimed.iter().find(|j| j.key == key).map(|j| j.id);
    // Oldest due first, ties by enqueue order: old, new, pending.
    let old = id_of("old").expect("old claimed");
    let new = id_of("new").expect("new claimed");
    let pending = id_of("pending").expect("pending claimed");
    assert!(ok(
        store.complete_job(old, "w", at(10)).await,
        "complete old"
    ));
    assert!(ok(
        store.complete_job(new, "w", at(100)).await,
        "complete new"
    ));
    ok(
        store
            .fail_job(
                pending,
                "w",
                &JobFailure::Retry {
                    retry_at: at(5000),
                    error: "x".to_owned(),
                },
                at(10),
            )
            .await,
        "retry pending",
    );
    ok(
        store.claim_jobs(&k, "w", at(0), secs(3600), 10).await,
        "claim running",
    );

    assert_eq!(
        ok(store.purge_done_jobs(at(100)).await, "purge"),
        1,
        "only the done job updated before 100 s goes"
    );
    assert_eq!(
        ok(store.job_by_key("old").await, "job_by_key"),
        None,
        "the old done job is gone"
    );
    for key in ["new", "pending", "running"] {
        assert!(
            ok(store.job_by_key(key).await, "job_by_key").is_some(),
            "{key} is kept by purge"
        );
    }
    assert_eq!(
        ok(store.purge_done_jobs(at(101)).await, "purge"),
        1,
        "the newer done job goes later"
    );
    // A purged key can be enqueued afresh.
    assert!(ok(
        store
            .enqueue_job(&job("notify", "old", at(0)), at(200))
            .await,
        "re-enqueue purged key"
    ));
}

/// Not in [`conformance_tests!`](crate::conformance_tests), which hands out
/// one store: each backend calls this with two stores (two pools, as two
/// instances would have) on one fresh migrated database, from a
/// multi-threaded runtime. 200 due jobs are claimed by both at once, a few
/// at a time, until none are left: every job is claimed exactly once.
pub async fn concurrent_claims_take_each_job_once(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    const JOBS: usize = 200;
    let now = t0();
    for i in 0..JOBS {
        // Several jobs share each due time, so ordering ties are exercised.
        let due = now - secs(i64::try_from(i % 7).unwrap_or(0));
        assert!(
            ok(
                a.enqueue_job(&job("notify", &format!("job-{i}"), due), now)
                    .await,
                "enqueue"
            ),
            "job-{i} is new"
        );
    }

    let claim_all = |store: Arc<dyn Store>, worker: &'static str| {
        tokio::spawn(async move {
            let kinds = kinds(&["notify"]);
            let mut claimed = Vec::new();
            loop {
                let batch = ok(
                    store.claim_jobs(&kinds, worker, now, secs(3600), 3).await,
                    "claim",
                );
                if batch.is_empty() {
                    return claimed;
                }
                claimed.extend(batch.into_iter().map(|j| (j.id, j.key)));
            }
        })
    };
    let task_a = claim_all(Arc::clone(&a), "a");
    let task_b = claim_all(Arc::clone(&b), "b");
    let from_a = task_a.await.unwrap_or_else(|e| panic!("worker a: {e}"));
    let from_b = task_b.await.unwrap_or_else(|e| panic!("worker b: {e}"));

    let mut seen: std::collections::BTreeMap<i64, (&str, &str)> = std::collections::BTreeMap::new();
    for (worker, claimed) in [("a", &from_a), ("b", &from_b)] {
        for (id, key) in claimed {
            if let Some((other, _)) = seen.insert(*id, (worker, key)) {
                panic!("job {id} ({key}) was claimed twice: by {other} and by {worker}");
            }
        }
    }
    assert_eq!(
        seen.len(),
        JOBS,
        "every job is claimed, none missing (a took {}, b took {})",
        from_a.len(),
        from_b.len()
    );
    for (id, (worker, key)) in &seen {
        let state = ok(a.job_by_key(key).await, "job_by_key").expect("job exists");
        assert_eq!(state.id, *id, "{key} keeps its id");
        assert_eq!(state.attempts, 1, "{key} was claimed once");
        assert_eq!(
            state.lease_owner.as_deref(),
            Some(*worker),
            "{key} is held by the worker that got it"
        );
    }
}

// ---------------------------------------------------------------------------
// Locks
// ---------------------------------------------------------------------------

/// A lock has one holder until it expires.
pub async fn locks_are_exclusive(store: Arc<dyn Store>) {
    assert!(
        ok(
            store.try_lock("escalation", "a", t0(), secs(30)).await,
            "lock by a"
        ),
        "a free lock is taken"
    );
    assert!(
        !ok(
            store.try_lock("escalation", "b", at(29), secs(30)).await,
            "lock by b"
        ),
        "another holder cannot take a live lock"
    );
    assert!(
        ok(
            store.try_lock("notify", "b", at(1), secs(30)).await,
            "other lock by b"
        ),
        "locks with other names are independent"
    );
}

/// The holder renews its lock, which pushes the expiry back.
pub async fn locks_renew_by_holder(store: Arc<dyn Store>) {
    assert!(ok(
        store.try_lock("escalation", "a", t0(), secs(30)).await,
        "lock"
    ));
    assert!(
        ok(
            store.try_lock("escalation", "a", at(20), secs(30)).await,
            "renew"
        ),
        "the holder renews its lock"
    );
    assert!(
        !ok(
            store.try_lock("escalation", "b", at(40), secs(30)).await,
            "lock by b"
        ),
        "a renewed lock is still held past the first expiry"
    );
    assert!(
        ok(
            store.try_lock("escalation", "a", at(45), secs(30)).await,
            "renew again"
        ),
        "the holder renews again"
    );
}

/// An expired lock goes to whoever asks; the old holder then cannot renew.
pub async fn locks_taken_over_after_expiry(store: Arc<dyn Store>) {
    assert!(ok(
        store.try_lock("escalation", "a", t0(), secs(30)).await,
        "lock"
    ));
    assert!(
        ok(
            store.try_lock("escalation", "b", at(30), secs(30)).await,
            "takeover"
        ),
        "an expired lock can be taken by another holder"
    );
    assert!(
        !ok(
            store.try_lock("escalation", "a", at(31), secs(30)).await,
            "renew by old"
        ),
        "the old holder lost the lock"
    );
}

/// Releasing frees the lock at once; releasing someone else's lock does
/// nothing.
pub async fn locks_release(store: Arc<dyn Store>) {
    assert!(ok(
        store.try_lock("escalation", "a", t0(), secs(30)).await,
        "lock"
    ));
    ok(store.release_lock("escalation", "b").await, "release by b");
    assert!(
        !ok(
            store.try_lock("escalation", "b", at(1), secs(30)).await,
            "lock by b"
        ),
        "a release by a non-holder does nothing"
    );
    ok(store.release_lock("escalation", "a").await, "release by a");
    assert!(
        ok(
            store.try_lock("escalation", "b", at(2), secs(30)).await,
            "lock by b"
        ),
        "a released lock is free before its expiry"
    );
    ok(
        store.release_lock("unknown", "a").await,
        "release of an unknown lock",
    );
}

// ---------------------------------------------------------------------------
// Migrations
// ---------------------------------------------------------------------------

/// On a migrated store the schema is current, and migrating again applies
/// nothing.
pub async fn migrations_current_and_idempotent(store: Arc<dyn Store>) {
    ok(store.ping().await, "ping");
    let status = ok(store.migration_status().await, "migration_status");
    assert!(!status.known.is_empty(), "the binary knows its migrations");
    assert!(
        status.is_current(),
        "a migrated store is current: {status:?}"
    );
    assert_eq!(
        ok(store.migrate().await, "migrate again"),
        Vec::<i64>::new(),
        "a second migrate applies nothing"
    );
    assert_eq!(
        ok(store.migration_status().await, "migration_status"),
        status,
        "the status is unchanged"
    );
}

/// Not in [`conformance_tests!`](crate::conformance_tests), which hands out
/// migrated stores: each backend calls this with a store on an empty
/// database. Nothing is applied there; `migrate` applies every known
/// version, in order, and the status is then current.
pub async fn migrate_fresh_database(store: Arc<dyn Store>) {
    let before = ok(
        store.migration_status().await,
        "migration_status before migrate",
    );
    assert!(
        before.applied.is_empty(),
        "an empty database has nothing applied: {before:?}"
    );
    assert!(!before.is_current(), "an empty database is not current");
    let applied = ok(store.migrate().await, "migrate");
    assert_eq!(
        applied, before.known,
        "migrate applies every known version, in order"
    );
    let after = ok(
        store.migration_status().await,
        "migration_status after migrate",
    );
    assert!(
        after.is_current(),
        "after migrate the database is current: {after:?}"
    );
}

// ---------------------------------------------------------------------------
// Ingestion
// ---------------------------------------------------------------------------

fn ingest_event(
    action: tocsin_domain::ingest::EventAction,
    key: &str,
    severity: tocsin_domain::Severity,
    group: Option<&str>,
) -> tocsin_domain::ingest::Event {
    tocsin_domain::ingest::Event {
        action,
        dedup_key: key.into(),
        summary: format!("{key} is failing"),
        source: Some("host-1".into()),
        severity,
        sender_severity: None,
        occurred_at: None,
        component: None,
        group: group.map(str::to_owned),
        class: None,
        labels: [("alertname".to_owned(), key.to_owned())]
            .into_iter()
            .collect(),
        details: serde_json::json!({ "k": key }),
        links: vec![],
        images: vec![],
        note: None,
    }
}

fn item(service: &str, event: tocsin_domain::ingest::Event, at: Timestamp) -> crate::IngestItem {
    crate::IngestItem {
        integration: Name::parse("am").unwrap(),
        service: Name::parse(service).unwrap(),
        event,
        received_at: at,
        request_id: None,
    }
}

async fn page_jobs(store: &dyn Store, incident: i64) -> (bool, bool) {
    let page = store
        .job_by_key(&format!("incident.page:{incident}"))
        .await
        .unwrap()
        .is_some();
    let resolved = store
        .job_by_key(&format!("incident.resolved:{incident}"))
        .await
        .unwrap()
        .is_some();
    (page, resolved)
}

/// One batch: a trigger opens an alert and an incident and enqueues one
/// page; repeats are counted; a second alert of the same group joins; an
/// informational alert never opens an incident; resolving the last alert
/// resolves the incident and enqueues its resolution.
pub async fn ingest_dedups_groups_and_pages_once(store: Arc<dyn Store>) {
    use tocsin_domain::Severity::*;
    use tocsin_domain::ingest::EventAction::*;
    let now = t0();
    let deps: Arc<tocsin_domain::alerting::Policy> = Default::default();
    let batch = vec![
        item(
            "checkout",
            ingest_event(Trigger, "high-latency", Sev2, Some("g")),
            now,
        ),
        item(
            "checkout",
            ingest_event(Trigger, "high-latency", Sev2, Some("g")),
            now,
        ),
        item(
            "checkout",
            ingest_event(Trigger, "errors", Sev1, Some("g")),
            now,
        ),
        item("checkout", ingest_event(Trigger, "fyi", Sev5, None), now),
        item(
            "checkout",
            ingest_event(Acknowledge, "nothing-open", Sev3, None),
            now,
        ),
    ];
    let r = store.ingest(&batch, &deps, now).await.unwrap();
    let outcomes: Vec<&str> = r.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        ["opened", "counted", "opened", "opened", "ignored"]
    );
    let number = r[0].incident.expect("an incident");
    assert_eq!(
        (r[1].incident, r[2].incident, r[3].incident, r[4].incident),
        (Some(number), Some(number), None, None)
    );
    assert_eq!(r[0].alert_id, r[1].alert_id, "counted, not duplicated");
    let inc = store.get_incident(number).await.unwrap().unwrap();
    assert_eq!(
        (inc.severity, inc.open_alerts, inc.paged),
        (Sev1, 2, true),
        "{inc:?}"
    );
    assert_eq!(inc.title, "high-latency is failing");
    assert_eq!(page_jobs(store.as_ref(), number).await, (true, false));
    let alerts = store.incident_alerts(number).await.unwrap();
    assert_eq!(
        alerts
            .iter()
            .map(|a| (a.dedup_key.as_str(), a.count))
            .collect::<Vec<_>>(),
        [("high-latency", 2), ("errors", 1)]
    );
    assert_eq!(
        store.incident_events(number, 100).await.unwrap().len(),
        3,
        "every event lands on the incident"
    );
    assert_eq!(
        store.count_events().await.unwrap(),
        5,
        "every event is stored, even ignored ones"
    );

    let later = now.checked_add(SignedDuration::from_mins(5)).unwrap();
    let batch = vec![
        item(
            "checkout",
            ingest_event(Resolve, "high-latency", Sev2, None),
            later,
        ),
        item(
            "checkout",
            ingest_event(Resolve, "errors", Sev1, None),
            later,
        ),
    ];
    let r = store.ingest(&batch, &deps, later).await.unwrap();
    assert_eq!(
        r.iter().map(|r| r.outcome).collect::<Vec<_>>(),
        ["resolved", "resolved"]
    );
    let inc = store.get_incident(number).await.unwrap().unwrap();
    assert_eq!(
        (inc.status.as_str(), inc.open_alerts, inc.resolved_at),
        ("resolved", 0, Some(later))
    );
    assert_eq!(page_jobs(store.as_ref(), number).await, (true, true));
    // A trigger after the resolve is a new problem.
    let r = store
        .ingest(
            &[item(
                "checkout",
                ingest_event(Trigger, "errors", Sev1, Some("g")),
                later,
            )],
            &deps,
            later,
        )
        .await
        .unwrap();
    assert_ne!(r[0].incident, Some(number));
    assert_ne!(r[0].alert_id, alerts.get(1).map(|a| a.id));
}

/// State carries across batches (an open alert loaded from the store is
/// counted), and a storm on services that depend on a broken one joins the
/// dependency's incident: one incident, one page.
pub async fn ingest_across_batches_and_dependencies(store: Arc<dyn Store>) {
    use tocsin_domain::Severity::*;
    use tocsin_domain::ingest::EventAction::*;
    let now = t0();
    let depends_on: std::collections::HashMap<Name, Vec<Name>> = [
        (
            Name::parse("checkout").unwrap(),
            vec![Name::parse("postgres").unwrap()],
        ),
        (
            Name::parse("ledger").unwrap(),
            vec![Name::parse("postgres").unwrap()],
        ),
    ]
    .into_iter()
    .collect();
    let deps = Arc::new(tocsin_domain::alerting::Policy {
        depends_on,
        ..Default::default()
    });
    let r = store
        .ingest(
            &[item(
                "postgres",
                ingest_event(Trigger, "down", Sev1, None),
                now,
            )],
            &deps,
            now,
        )
        .await
        .unwrap();
    let root = r[0].incident.unwrap();
    for round in 0..5 {
        let batch: Vec<_> = (0..200)
            .map(|i| {
                let svc = if i % 2 == 0 { "checkout" } else { "ledger" };
                item(
                    svc,
                    ingest_event(Trigger, &format!("e{i}"), Sev2, Some(&format!("g{i}"))),
                    now,
                )
            })
            .collect();
        let r = store.ingest(&batch, &deps, now).await.unwrap();
        let want = if round == 0 { "opened" } else { "counted" };
        assert!(
            r.iter()
                .all(|r| r.outcome == want && r.incident == Some(root)),
            "round {round}: {:?}",
            &r[..2]
        );
    }
    let open = store
        .list_incidents(&crate::IncidentQuery {
            open_only: true,
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        open.iter().map(|i| i.number).collect::<Vec<_>>(),
        [root],
        "one incident"
    );
    assert_eq!(open[0].open_alerts, 201);
    let pages = store
        .claim_jobs(
            &[crate::ingest::JOB_INCIDENT_PAGE.into()],
            "w",
            now,
            SignedDuration::from_secs(60),
            100,
        )
        .await
        .unwrap();
    assert_eq!(pages.len(), 1, "one page");
}

/// Change events are stored per service and read back newest first;
/// listing incidents filters and pages.
pub async fn ingest_changes_and_reads(store: Arc<dyn Store>) {
    use tocsin_domain::Severity::*;
    use tocsin_domain::ingest::EventAction::*;
    let now = t0();
    let deps: Arc<tocsin_domain::alerting::Policy> = Default::default();
    let mut deploy = ingest_event(Change, "", Sev5, None);
    deploy.summary = "Deployed checkout v42".into();
    let batch = vec![
        item("checkout", deploy, now),
        item("checkout", ingest_event(Trigger, "a", Sev3, Some("1")), now),
        item("ledger", ingest_event(Trigger, "b", Sev3, Some("1")), now),
        item("ledger", ingest_event(Trigger, "c", Sev3, Some("2")), now),
    ];
    let r = store.ingest(&batch, &deps, now).await.unwrap();
    assert_eq!(r[0].outcome, "change");
    let changes = store
        .recent_changes(&Name::parse("checkout").unwrap(), now, 10)
        .await
        .unwrap();
    assert_eq!(
        changes
            .iter()
            .map(|c| c.event.summary.as_str())
            .collect::<Vec<_>>(),
        ["Deployed checkout v42"]
    );
    assert!(
        store
            .recent_changes(&Name::parse("ledger").unwrap(), now, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let all = store
        .list_incidents(&crate::IncidentQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        all.windows(2).all(|w| w[0].number > w[1].number),
        "newest first"
    );
    let ledger = store
        .list_incidents(&crate::IncidentQuery {
            service: Some(Name::parse("ledger").unwrap()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ledger.len(), 2);
    let page = store
        .list_incidents(&crate::IncidentQuery {
            before_number: Some(all[0].number),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|i| i.number).collect::<Vec<_>>(),
        [all[1].number]
    );
    assert!(store.get_incident(999_999).await.unwrap().is_none());
}

/// Two instances (two pools on one database) ingest the same storm at the
/// same time, retrying each other's events as a sender would after a
/// timeout: one incident, one page, and each alert stored once however the
/// batches interleave. Run by each backend with two stores.
pub async fn concurrent_ingest_pages_once(a: Arc<dyn Store>, b: Arc<dyn Store>) {
    use tocsin_domain::Severity::*;
    use tocsin_domain::ingest::EventAction::*;
    let now = t0();
    fn batch(from: usize, now: Timestamp) -> Vec<crate::IngestItem> {
        (from..from + 50)
            .map(|i| {
                item(
                    "checkout",
                    ingest_event(Trigger, &format!("k{}", i % 120), Sev2, None),
                    now,
                )
            })
            .collect()
    }
    let run = move |store: Arc<dyn Store>, start: usize| {
        tokio::spawn(async move {
            for round in 0..8 {
                let deps: Arc<tocsin_domain::alerting::Policy> = Default::default();
                store
                    .ingest(&batch(start + round * 15, now), &deps, now)
                    .await
                    .unwrap();
            }
        })
    };
    let (ta, tb) = (run(a.clone(), 0), run(b.clone(), 7));
    ta.await.unwrap();
    tb.await.unwrap();
    let open = a
        .list_incidents(&crate::IncidentQuery {
            open_only: true,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1, "one problem, one incident: {open:?}");
    let alerts = a.incident_alerts(open[0].number).await.unwrap();
    let keys: std::collections::BTreeSet<&str> =
        alerts.iter().map(|a| a.dedup_key.as_str()).collect();
    assert_eq!(keys.len(), alerts.len(), "no alert stored twice");
    assert_eq!(open[0].open_alerts, alerts.len() as i64);
    let pages = a
        .claim_jobs(
            &[crate::ingest::JOB_INCIDENT_PAGE.into()],
            "w",
            now,
            SignedDuration::from_secs(60),
            10,
        )
        .await
        .unwrap();
    assert_eq!(pages.len(), 1, "one page");
    assert_eq!(
        a.count_events().await.unwrap(),
        2 * 8 * 50,
        "every event stored"
    );
}

/// A silenced alert is stored with why it is muted, opens no incident and
/// enqueues no page; once the silence is over, its next occurrence pages.
/// Events are found again by their request id; alerts by id and among the
/// open ones, with their labels.
pub async fn ingest_mutes_and_finds_requests(store: Arc<dyn Store>) {
    use tocsin_domain::Severity::*;
    use tocsin_domain::catalog::{Object, Silence};
    use tocsin_domain::ingest::EventAction::*;
    use tocsin_domain::noise::Muted;
    let now = t0();
    let silence = Object::Silence(Silence {
        name: Name::parse("quiet").unwrap(),
        matchers: vec!["alertname=\"noisy\"".into()],
        starts_at: None,
        ends_at: (now + SignedDuration::from_mins(10)).to_string(),
        comment: None,
        created_by: None,
    });
    let (policy, skipped) = tocsin_domain::alerting::Policy::from_objects([&silence]);
    assert!(skipped.is_empty(), "{skipped:?}");
    let policy = Arc::new(policy);
    let mut first = item("checkout", ingest_event(Trigger, "noisy", Sev1, None), now);
    first.request_id = Some("req-1".into());
    let r = store.ingest(&[first], &policy, now).await.unwrap();
    assert_eq!((r[0].outcome, r[0].incident), ("muted", None));
    let id = r[0].alert_id.expect("an alert");
    let alert = store.get_alert(id).await.unwrap().expect("stored");
    assert_eq!(
        alert.muted,
        Some(Muted::Silence(Name::parse("quiet").unwrap()))
    );
    assert_eq!(
        alert.labels.get("alertname").map(String::as_str),
        Some("noisy")
    );
    let open = store.open_alerts(10).await.unwrap();
    assert!(open.iter().any(|a| a.id == id));
    let e = store
        .event_by_request("req-1")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(
        (e.alert_id, e.event.dedup_key.as_str()),
        (Some(id), "noisy")
    );
    assert!(store.event_by_request("req-2").await.unwrap().is_none());
    // After the silence: the next occurrence pages, once.
    let later = now + SignedDuration::from_mins(11);
    let again = item(
        "checkout",
        ingest_event(Trigger, "noisy", Sev1, None),
        later,
    );
    let r = store.ingest(&[again], &policy, later).await.unwrap();
    assert_eq!(r[0].outcome, "counted");
    let number = r[0].incident.expect("pages now");
    assert_eq!(page_jobs(store.as_ref(), number).await, (true, false));
    let alert = store.get_alert(id).await.unwrap().unwrap();
    assert_eq!(
        (alert.muted, alert.incident, alert.count),
        (None, Some(number), 2)
    );
}

/// The next due time: the earliest pending due time or running lease end.
pub async fn jobs_next_due_at(store: Arc<dyn Store>) {
    let now = t0();
    assert_eq!(store.next_due_at().await.unwrap(), None, "no jobs");
    let later = now + SignedDuration::from_mins(10);
    let sooner = now + SignedDuration::from_mins(3);
    for (key, due) in [("a", later), ("b", sooner)] {
        let job = crate::NewJob {
            kind: "test.next".into(),
            key: key.into(),
            payload: serde_json::json!({}),
            due_at: due,
        };
        store.enqueue_job(&job, now).await.unwrap();
    }
    assert_eq!(store.next_due_at().await.unwrap(), Some(sooner));
}

/// A change by hand applies only to the status and run it was read with;
/// a stale one writes nothing (no timeline entry, no job); resolving
/// resolves the incident's alerts; a reopened incident's next resolution
/// and page get their own job keys.
pub async fn incident_change_is_compare_and_set(store: Arc<dyn Store>) {
    use crate::{IncidentChange, NewTimelineEntry};
    use tocsin_domain::Severity::*;
    use tocsin_domain::alerting::{AlertStatus, IncidentStatus};
    use tocsin_domain::ingest::EventAction::*;
    let now = t0();
    let none: Arc<tocsin_domain::alerting::Policy> = Default::default();
    let r = store
        .ingest(
            &[item("web", ingest_event(Trigger, "a", Sev2, None), now)],
            &none,
            now,
        )
        .await
        .unwrap();
    let number = r[0].incident.unwrap();
    let entry = |key: &str| NewTimelineEntry {
        incident: number,
        at: now,
        kind: "incident.resolved".into(),
        actor: "alice".into(),
        detail: serde_json::json!({}),
        key: key.into(),
    };
    let job = |key: &str| crate::NewJob {
        kind: "incident.resolved".into(),
        key: key.into(),
        payload: serde_json::json!({ "incident": number }),
        due_at: now,
    };
    let resolve = IncidentChange {
        incident: number,
        from: IncidentStatus::Triggered,
        from_run: 0,
        to: IncidentStatus::Resolved,
        run: 0,
        acknowledged_at: None,
        resolved_at: Some(now),
        resolve_alerts: true,
    };
    let stale = IncidentChange {
        from: IncidentStatus::Acknowledged,
        ..resolve.clone()
    };
    assert!(
        !store
            .change_incident(&stale, &[entry("stale")], &[], &[job("stale")], now)
            .await
            .unwrap()
    );
    assert!(store.incident_timeline(number).await.unwrap().is_empty());
    assert!(store.job_by_key("stale").await.unwrap().is_none());
    let inc = store.get_incident(number).await.unwrap().unwrap();
    assert_eq!(
        (inc.status, inc.open_alerts),
        (IncidentStatus::Triggered, 1)
    );
    assert!(
        store
            .change_incident(&resolve, &[entry("r0")], &[], &[job("r0")], now)
            .await
            .unwrap()
    );
    let inc = store.get_incident(number).await.unwrap().unwrap();
    assert_eq!((inc.status, inc.open_alerts), (IncidentStatus::Resolved, 0));
    assert!(
        store
            .incident_alerts(number)
            .await
            .unwrap()
            .iter()
            .all(|a| a.status == AlertStatus::Resolved)
    );
    assert!(store.job_by_key("r0").await.unwrap().is_some());
    assert!(
        !store
            .change_incident(&resolve, &[entry("again")], &[], &[], now)
            .await
            .unwrap(),
        "the same change twice applies once"
    );
    let reopen = IncidentChange {
        from: IncidentStatus::Resolved,
        to: IncidentStatus::Triggered,
        run: 1,
        resolved_at: None,
        resolve_alerts: false,
        ..resolve.clone()
    };
    assert!(
        store
            .change_incident(&reopen, &[], &[], &[], now)
            .await
            .unwrap()
    );
    let inc = store.get_incident(number).await.unwrap().unwrap();
    assert_eq!(
        (inc.status, inc.escalation_run),
        (IncidentStatus::Triggered, 1)
    );
    // The same key again gets a new alert (the old one was resolved), which
    // joins the reopened incident; its resolution is keyed by the run.
    let later = now + SignedDuration::from_mins(1);
    let r = store
        .ingest(
            &[item("web", ingest_event(Trigger, "a", Sev2, None), later)],
            &none,
            later,
        )
        .await
        .unwrap();
    assert_eq!(r[0].incident, Some(number), "joins the reopened incident");
    store
        .ingest(
            &[item("web", ingest_event(Resolve, "a", Sev2, None), later)],
            &none,
            later,
        )
        .await
        .unwrap();
    assert!(
        store
            .job_by_key(&format!("incident.resolved:{number}:r1"))
            .await
            .unwrap()
            .is_some()
    );
}

/// The outbox: a notification is written once per key with its delivery
/// job; an attempt moves it to sending once (a second start finds it
/// sending and takes it again: an interrupted attempt); the outcome is
/// recorded with its timeline entries; the per-destination rate limit
/// lets a burst through, then one per interval, and says when the next
/// slot is.
pub async fn notifications_outbox_and_rate_limit(store: Arc<dyn Store>) {
    use crate::notify::{AttemptOutcome, DeliveryState, Purpose, RateLimit, deliver_job_key};
    use tocsin_domain::Severity::*;
    use tocsin_domain::ingest::EventAction::*;
    let now = t0();
    let none: Arc<tocsin_domain::alerting::Policy> = Default::default();
    let r = store
        .ingest(
            &[item("web", ingest_event(Trigger, "a", Sev2, None), now)],
            &none,
            now,
        )
        .await
        .unwrap();
    let incident = r[0].incident.unwrap();
    let intent = crate::NewIntent {
        incident,
        user: Some(Name::parse("alice").unwrap()),
        contact: Name::parse("hook").unwrap(),
        kind: tocsin_domain::catalog::ContactKind::Webhook,
        address: "https://example.com/hook".into(),
        due_at: now,
        level: 0,
        cycle: 0,
        purpose: Purpose::Page,
        previous: None,
        key: "n1".into(),
        text: None,
    };
    let intent_for = |key: &str| crate::NewIntent {
        key: key.into(),
        ..intent.clone()
    };
    for _ in 0..2 {
        store
            .enqueue_notifications(std::slice::from_ref(&intent), &[], now)
            .await
            .unwrap();
    }
    let all = store.incident_notifications(incident, None).await.unwrap();
    assert_eq!(all.len(), 1, "one row per key");
    assert_eq!(all[0].state, DeliveryState::Queued);
    assert!(
        store
            .job_by_key(&deliver_job_key("n1"))
            .await
            .unwrap()
            .is_some()
    );
    let due = store
        .due_for_destination("webhook", "https://example.com/hook", now, 10)
        .await
        .unwrap();
    assert_eq!(due.len(), 1);
    let keys = vec!["n1".to_owned()];
    let hold = now + SignedDuration::from_secs(60);
    assert_eq!(store.start_attempt(&keys, now, hold).await.unwrap(), keys);
    assert!(
        store
            .start_attempt(&keys, now, hold)
            .await
            .unwrap()
            .is_empty(),
        "held by a live attempt"
    );
    store
        .enqueue_notifications(&[intent_for("n2")], &[], now)
        .await
        .unwrap();
    assert!(
        store
            .start_attempt(&["n1".to_owned(), "n2".to_owned()], now, hold)
            .await
            .unwrap()
            .is_empty(),
        "a lead that is held takes nothing along"
    );
    assert_eq!(
        store.notification("n2").await.unwrap().unwrap().state,
        DeliveryState::Queued
    );
    assert_eq!(
        store
            .start_attempt(&keys, hold, hold + SignedDuration::from_secs(60))
            .await
            .unwrap(),
        keys,
        "an interrupted attempt's hold ran out: taken again"
    );
    let n = store.notification("n1").await.unwrap().unwrap();
    assert_eq!((n.state, n.attempts), (DeliveryState::Sending, 2));
    let entry = crate::NewTimelineEntry {
        incident,
        at: now,
        kind: "notification.delivered".into(),
        actor: "notifications".into(),
        detail: serde_json::json!({}),
        key: "n1:delivered".into(),
    };
    store
        .finish_attempt(
            &keys,
            &AttemptOutcome::Delivered {
                reference: Some("ref-1".into()),
                bundle: None,
            },
            &[entry],
            &[],
            now,
        )
        .await
        .unwrap();
    let n = store.notification("n1").await.unwrap().unwrap();
    assert_eq!(n.state, DeliveryState::Delivered);
    assert_eq!(n.reference.as_deref(), Some("ref-1"));
    assert_eq!(n.lease_until, None);
    assert!(
        store
            .start_attempt(&keys, hold, hold + SignedDuration::from_secs(60))
            .await
            .unwrap()
            .is_empty(),
        "final"
    );
    assert_eq!(store.incident_timeline(incident).await.unwrap().len(), 1);
    // Burst 2, then one per 10 s.
    let limit = RateLimit {
        interval: SignedDuration::from_secs(10),
        burst: 2,
    };
    let slot = |t: Timestamp| {
        let store = store.clone();
        async move { store.take_send_slot("slack", "C1", limit, t).await.unwrap() }
    };
    assert_eq!(slot(now).await, None);
    assert_eq!(slot(now).await, None);
    assert_eq!(slot(now).await, Some(now + SignedDuration::from_secs(10)));
    assert_eq!(
        store
            .take_send_slot("slack", "C2", limit, now)
            .await
            .unwrap(),
        None,
        "another destination has its own"
    );
    assert_eq!(slot(now + SignedDuration::from_secs(10)).await, None);
    assert_eq!(
        slot(now + SignedDuration::from_secs(10)).await,
        Some(now + SignedDuration::from_secs(20))
    );
    assert_eq!(
        store.instance_secret("k", "first".into()).await.unwrap(),
        "first"
    );
    assert_eq!(
        store.instance_secret("k", "second".into()).await.unwrap(),
        "first",
        "the first value wins"
    );
}

// ---------------------------------------------------------------------------
// Incident response
// ---------------------------------------------------------------------------

fn declared(
    service: &str,
    title: &str,
    severity: tocsin_domain::Severity,
    page: bool,
    commander: Option<&str>,
) -> crate::NewIncident {
    crate::NewIncident {
        service: name(service),
        also_services: vec![],
        title: title.to_owned(),
        severity,
        summary: None,
        page,
        commander: commander.map(name),
        entry: crate::response::DeclaredEntry {
            actor: commander.unwrap_or("token:ci").to_owned(),
            detail: json!({ "title": title }),
        },
    }
}

async fn declare(store: &Arc<dyn Store>, new: &crate::NewIncident, now: Timestamp) -> i64 {
    ok(store.declare_incident(new, now).await, "declare_incident")
}

fn response_entry(incident: i64, key: &str, at: Timestamp) -> crate::NewTimelineEntry {
    crate::NewTimelineEntry {
        incident,
        at,
        kind: "incident.note".into(),
        actor: "alice".into(),
        detail: json!({ "key": key }),
        key: key.into(),
    }
}

fn response_intent(incident: i64, key: &str, at: Timestamp) -> crate::NewIntent {
    crate::NewIntent {
        incident,
        user: Some(name("alice")),
        contact: name("mail"),
        kind: tocsin_domain::catalog::ContactKind::Email,
        address: "alice@example.com".into(),
        due_at: at,
        level: 0,
        cycle: 0,
        purpose: crate::notify::Purpose::Update,
        previous: None,
        key: key.into(),
        text: None,
    }
}

/// Applies `changes` alone; panics unless they all applied.
#[track_caller]
fn applied(result: Result<crate::Responded, StoreError>, what: &str) -> Vec<i64> {
    match ok(result, what) {
        crate::Responded::Applied { action_items } => action_items,
        other => panic!("{what}: expected the changes to apply, got {other:?}"),
    }
}

async fn respond_only(
    store: &Arc<dyn Store>,
    changes: &[crate::ResponseChange],
    now: Timestamp,
    what: &str,
) -> Vec<i64> {
    applied(store.respond(changes, &[], &[], &[], now).await, what)
}

async fn incident(store: &Arc<dyn Store>, number: i64) -> crate::IncidentRecord {
    ok(store.get_incident(number).await, "get_incident")
        .unwrap_or_else(|| panic!("incident {number} exists"))
}

/// Resolves an incident by hand (from whatever status it has).
async fn resolve_by_hand(store: &Arc<dyn Store>, number: i64, now: Timestamp) {
    let inc = incident(store, number).await;
    let change = crate::IncidentChange {
        incident: number,
        from: inc.status,
        from_run: inc.escalation_run,
        to: tocsin_domain::alerting::IncidentStatus::Resolved,
        run: inc.escalation_run,
        acknowledged_at: inc.acknowledged_at,
        resolved_at: Some(now),
        resolve_alerts: true,
    };
    assert!(
        ok(
            store.change_incident(&change, &[], &[], &[], now).await,
            "resolve by hand"
        ),
        "resolving #{number}"
    );
}

/// A declared incident that pages opens triggered and paged with its first
/// page job; one that does not opens acknowledged by its declarer, who is
/// commander. Both get their `incident.declared` entry under its key, their
/// summary and their other services (the primary one named again is left
/// out).
pub async fn response_declare_pages_or_acknowledges(store: Arc<dyn Store>) {
    use crate::response::{ENTRY_DECLARED, declared_entry_key};
    use tocsin_domain::Severity::*;
    use tocsin_domain::alerting::IncidentStatus;
    use tocsin_domain::response::Role as R;
    let now = t0();
    let mut paging = declared("checkout", "Checkout is down", Sev1, true, None);
    paging.summary = Some("Card payments fail".into());
    paging.also_services = vec![name("payments"), name("checkout"), name("api")];
    let a = declare(&store, &paging, now).await;
    let inc = incident(&store, a).await;
    assert_eq!(
        (
            inc.status,
            inc.paged,
            inc.acknowledged_at,
            inc.severity,
            inc.open_alerts
        ),
        (IncidentStatus::Triggered, true, None, Sev1, 0),
        "{inc:?}"
    );
    assert_eq!(
        (
            inc.title.as_str(),
            inc.summary.as_deref(),
            inc.created_at,
            inc.closed_at,
            inc.merged_into
        ),
        (
            "Checkout is down",
            Some("Card payments fail"),
            now,
            None,
            None
        )
    );
    let job = ok(store.job_by_key(&format!("incident.page:{a}")).await, "job")
        .expect("a paging declaration enqueues its page");
    assert_eq!((job.kind.as_str(), job.due_at), ("incident.page", now));
    let r = ok(store.response(a).await, "response");
    assert_eq!(r.also_services, [name("api"), name("payments")]);
    assert!(r.roles.is_empty(), "nobody named: no commander");
    let timeline = ok(store.incident_timeline(a).await, "timeline");
    assert_eq!(timeline.len(), 1, "{timeline:?}");
    assert_eq!(
        (
            timeline[0].kind.as_str(),
            timeline[0].actor.as_str(),
            timeline[0].at
        ),
        (ENTRY_DECLARED, "token:ci", now)
    );
    assert_eq!(timeline[0].detail, json!({ "title": "Checkout is down" }));
    // The entry's key is `incident.declared:{n}`: writing it again is skipped.
    let again = crate::NewTimelineEntry {
        key: declared_entry_key(a),
        ..response_entry(a, "", now)
    };
    ok(store.record_step(&[again], &[], None, now).await, "again");
    assert_eq!(ok(store.incident_timeline(a).await, "timeline").len(), 1);

    let later = at(60);
    let b = declare(
        &store,
        &declared("ledger", "Ledger drift", Sev3, false, Some("bob")),
        later,
    )
    .await;
    assert!(b > a, "numbers grow");
    let inc = incident(&store, b).await;
    assert_eq!(
        (
            inc.status,
            inc.paged,
            inc.acknowledged_at,
            inc.summary.as_deref()
        ),
        (IncidentStatus::Acknowledged, false, Some(later), None)
    );
    assert!(
        ok(store.job_by_key(&format!("incident.page:{b}")).await, "job").is_none(),
        "no page when it does not page"
    );
    let r = ok(store.response(b).await, "response");
    assert_eq!(
        r.roles,
        [crate::RoleRecord {
            role: R::Commander,
            user: name("bob"),
            assigned_at: later,
            assigned_by: "bob".into(),
        }]
    );
    assert_eq!(
        ok(store.incident_timeline(b).await, "timeline")
            .iter()
            .map(|e| e.kind.as_str())
            .collect::<Vec<_>>(),
        [ENTRY_DECLARED]
    );
}

/// Every kind of change applies and reads back: severity, title and
/// summary, services, roles (hand-over, responders), pins, stakeholders,
/// cadence, updates moving the cadence, action items; the entries,
/// notifications (with their delivery jobs) and jobs given with them are
/// written in the same transaction.
pub async fn response_changes_apply_and_read_back(store: Arc<dyn Store>) {
    use crate::ResponseChange as C;
    use tocsin_domain::Severity::*;
    use tocsin_domain::response::{Audience, Role as R, UpdateState};
    let now = t0();
    let n = declare(
        &store,
        &declared("checkout", "Slow", Sev3, false, Some("alice")),
        now,
    )
    .await;
    let t1 = at(10);
    let changes = vec![
        C::Severity {
            incident: n,
            from: Sev3,
            to: Sev2,
        },
        C::Severity {
            incident: n,
            from: Sev2,
            to: Sev1,
        },
        C::Describe {
            incident: n,
            title: Some("Checkout slow".into()),
            summary: None,
        },
        C::Describe {
            incident: n,
            title: None,
            summary: Some("p99 at 4 s".into()),
        },
        C::AddService {
            incident: n,
            service: name("payments"),
        },
        C::AddService {
            incident: n,
            service: name("payments"),
        },
        C::AddService {
            incident: n,
            service: name("checkout"),
        },
        C::AssignRole {
            incident: n,
            role: R::Commander,
            user: name("bob"),
            from: Some(name("alice")),
            at: t1,
            by: "alice".into(),
        },
        C::AssignRole {
            incident: n,
            role: R::Scribe,
            user: name("carol"),
            from: None,
            at: t1,
            by: "bob".into(),
        },
        C::AssignRole {
            incident: n,
            role: R::Responder,
            user: name("dave"),
            from: None,
            at: t1,
            by: "bob".into(),
        },
        C::AssignRole {
            incident: n,
            role: R::Responder,
            user: name("erin"),
            from: Some(name("nobody")),
            at: t1,
            by: "bob".into(),
        },
        C::AssignRole {
            incident: n,
            role: R::Responder,
            user: name("dave"),
            from: None,
            at: at(20),
            by: "again".into(),
        },
        C::AssignRole {
            incident: n,
            role: R::Responder,
            user: name("bob"),
            from: None,
            at: t1,
            by: "bob".into(),
        },
        C::UnassignRole {
            incident: n,
            role: R::Responder,
            user: name("erin"),
        },
        C::UnassignRole {
            incident: n,
            role: R::Communications,
            user: name("nobody"),
        },
        C::AddStakeholder {
            incident: n,
            stakeholder: "slack:C0123".into(),
        },
        C::AddStakeholder {
            incident: n,
            stakeholder: "leads".into(),
        },
        C::AddStakeholder {
            incident: n,
            stakeholder: "email:x@example.com".into(),
        },
        C::RemoveStakeholder {
            incident: n,
            stakeholder: "email:x@example.com".into(),
        },
        C::AddStakeholder {
            incident: n,
            stakeholder: "leads".into(),
        },
        C::Cadence {
            incident: n,
            every_minutes: Some(30),
            next_due: Some(at(1800)),
        },
    ];
    let entries = [response_entry(n, "note-1", t1)];
    let intents = [response_intent(n, "update-1", t1)];
    let jobs = [job("test.response", "job-1", t1)];
    let items = applied(
        store.respond(&changes, &entries, &intents, &jobs, t1).await,
        "respond",
    );
    assert!(items.is_empty());
    let inc = incident(&store, n).await;
    assert_eq!(
        (inc.severity, inc.title.as_str(), inc.summary.as_deref()),
        (Sev1, "Checkout slow", Some("p99 at 4 s")),
        "both compare-and-sets apply in order; None leaves a field"
    );
    let r = ok(store.response(n).await, "response");
    assert_eq!(r.also_services, [name("payments")]);
    let roles: Vec<(R, &str, &str)> = r
        .roles
        .iter()
        .map(|r| (r.role, r.user.as_str(), r.assigned_by.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            (R::Commander, "bob", "alice"),
            (R::Scribe, "carol", "bob"),
            (R::Responder, "bob", "bob"),
            (R::Responder, "dave", "bob"),
        ],
        "the hand-over replaced the commander; a responder added twice is kept as first \
         added; the commander may also respond"
    );
    assert_eq!(
        r.stakeholders,
        ["leads", "slack:C0123"],
        "added at once: by name; removed ones gone; added twice: once"
    );
    assert_eq!(
        (r.every_minutes, r.next_update_due),
        (Some(30), Some(at(1800)))
    );
    let timeline = ok(store.incident_timeline(n).await, "timeline");
    assert_eq!(timeline.len(), 2, "declared + the note");
    assert_eq!(
        ok(store.incident_intents(n).await, "intents").len(),
        1,
        "the notification"
    );
    assert!(
        ok(
            store
                .job_by_key(&crate::notify::deliver_job_key("update-1"))
                .await,
            "deliver job"
        )
        .is_some(),
        "a notification comes with its delivery job"
    );
    assert!(ok(store.job_by_key("job-1").await, "job").is_some());

    // Pins, updates, action items.
    let note = timeline[1].id;
    let t2 = at(100);
    let update = |key: &str, next_due| C::Update {
        incident: n,
        state: UpdateState::Identified,
        audience: Audience::Internal,
        body: format!("update {key}"),
        author: "bob".into(),
        at: t2,
        next_due,
        key: key.into(),
    };
    let item = |title: &str| {
        C::AddActionItem(crate::NewActionItem {
            incident: n,
            title: title.into(),
            owner: name("dave"),
            team: Some(name("payments")),
            due_on: jiff::civil::date(2026, 2, 1),
            at: t2,
        })
    };
    let items = respond_only(
        &store,
        &[
            C::Pin {
                incident: n,
                entry: timeline[0].id,
                pinned: true,
            },
            C::Pin {
                incident: n,
                entry: note,
                pinned: true,
            },
            C::Pin {
                incident: n,
                entry: timeline[0].id,
                pinned: false,
            },
            item("Add an alert on p99"),
            update("u1", Some(at(1900))),
            item("Load test checkout"),
        ],
        t2,
        "pins, items, update",
    )
    .await;
    assert_eq!(items.len(), 2);
    assert!(items[0] < items[1], "ids in order: {items:?}");
    let r = ok(store.response(n).await, "response");
    assert_eq!(r.pinned, [note]);
    assert_eq!(
        r.next_update_due,
        Some(at(1900)),
        "an update moves the cadence"
    );
    assert_eq!(
        r.updates,
        [crate::UpdateRecord {
            id: r.updates[0].id,
            incident: n,
            at: t2,
            author: "bob".into(),
            state: UpdateState::Identified,
            audience: Audience::Internal,
            body: "update u1".into(),
        }]
    );
    // An update with nothing due next clears the due time, the cadence
    // stays; without a cadence an update leaves the due time alone.
    respond_only(&store, &[update("u-last", None)], t2, "last update").await;
    let r = ok(store.response(n).await, "response");
    assert_eq!((r.every_minutes, r.next_update_due), (Some(30), None));
    respond_only(
        &store,
        &[
            C::Cadence {
                incident: n,
                every_minutes: None,
                next_due: Some(at(2500)),
            },
            update("u2", Some(at(5000))),
        ],
        t2,
        "no cadence",
    )
    .await;
    let r = ok(store.response(n).await, "response");
    assert_eq!((r.every_minutes, r.next_update_due), (None, Some(at(2500))));
    assert_eq!(r.updates.len(), 3);

    let list = |q: crate::ActionItemQuery| {
        let store = store.clone();
        async move { ok(store.action_items(&q).await, "action_items") }
    };
    let all = list(crate::ActionItemQuery {
        incident: Some(n),
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(
        all.iter().map(|i| i.id).collect::<Vec<_>>(),
        items,
        "same due date: by id"
    );
    assert_eq!(
        (
            all[0].title.as_str(),
            all[0].owner.as_str(),
            all[0].team.as_ref().map(Name::as_str),
            all[0].due_on,
            all[0].done_at,
            all[0].reminded_at,
            all[0].created_at
        ),
        (
            "Add an alert on p99",
            "dave",
            Some("payments"),
            jiff::civil::date(2026, 2, 1),
            None,
            None,
            t2
        )
    );
    let t3 = at(200);
    respond_only(
        &store,
        &[
            C::ActionItemDone {
                id: items[0],
                done: true,
                at: t3,
            },
            C::ActionItemDone {
                id: items[0],
                done: true,
                at: at(300),
            },
            C::ActionItemReminded {
                id: items[1],
                at: t3,
            },
        ],
        t3,
        "done and reminded",
    )
    .await;
    let all = list(crate::ActionItemQuery {
        incident: Some(n),
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(
        (all[0].done_at, all[1].done_at, all[1].reminded_at),
        (Some(t3), None, Some(t3)),
        "done twice keeps the first time"
    );
    respond_only(
        &store,
        &[C::ActionItemDone {
            id: items[0],
            done: false,
            at: at(400),
        }],
        at(400),
        "reopen item",
    )
    .await;
    let all = list(crate::ActionItemQuery {
        incident: Some(n),
        open_only: true,
        limit: 10,
        ..Default::default()
    })
    .await;
    assert_eq!(all.len(), 2, "open again");
}

/// Asserts that `changes` conflict at `index` and that nothing of the call
/// was written: not the changes before it, not its entries, notifications
/// or jobs.
async fn assert_response_conflict(
    store: &Arc<dyn Store>,
    incidents: &[i64],
    changes: &[crate::ResponseChange],
    index: usize,
    what: &str,
) {
    let now = at(5000);
    let first = incidents[0];
    let mut before = Vec::new();
    for &n in incidents {
        before.push((
            ok(store.get_incident(n).await, "get"),
            ok(store.response(n).await, "response"),
            ok(store.review(n).await, "review"),
            ok(store.incident_timeline(n).await, "timeline"),
            ok(store.incident_alerts(n).await, "alerts"),
            ok(store.incident_notifications(n, None).await, "notifications"),
            ok(
                store
                    .action_items(&crate::ActionItemQuery {
                        incident: Some(n),
                        limit: 100,
                        ..Default::default()
                    })
                    .await,
                "action_items",
            ),
        ));
    }
    let key = format!("conflict-{index}-{}", what.len());
    let result = ok(
        store
            .respond(
                changes,
                &[response_entry(first, &key, now)],
                &[response_intent(first, &key, now)],
                &[job("test.response", &key, now)],
                now,
            )
            .await,
        what,
    );
    assert_eq!(
        result,
        crate::Responded::Conflict { change: index },
        "{what}"
    );
    for (&n, before) in incidents.iter().zip(before) {
        let after = (
            ok(store.get_incident(n).await, "get"),
            ok(store.response(n).await, "response"),
            ok(store.review(n).await, "review"),
            ok(store.incident_timeline(n).await, "timeline"),
            ok(store.incident_alerts(n).await, "alerts"),
            ok(store.incident_notifications(n, None).await, "notifications"),
            ok(
                store
                    .action_items(&crate::ActionItemQuery {
                        incident: Some(n),
                        limit: 100,
                        ..Default::default()
                    })
                    .await,
                "action_items",
            ),
        );
        assert_eq!(after, before, "{what}: #{n} is as it was");
    }
    assert!(
        ok(store.job_by_key(&key).await, "job").is_none(),
        "{what}: no job"
    );
    assert!(
        ok(
            store
                .job_by_key(&crate::notify::deliver_job_key(&key))
                .await,
            "deliver job"
        )
        .is_none(),
        "{what}: no delivery job"
    );
}

/// A change that finds its row moved (or missing) makes the whole call
/// write nothing — not the valid changes before it, not its entries,
/// notifications or jobs — and names its index.
pub async fn response_conflicts_write_nothing(store: Arc<dyn Store>) {
    use crate::ResponseChange as C;
    use tocsin_domain::Severity::*;
    use tocsin_domain::response::Role as R;
    let now = t0();
    let a = declare(
        &store,
        &declared("checkout", "A", Sev2, false, Some("alice")),
        now,
    )
    .await;
    let b = declare(&store, &declared("ledger", "B", Sev3, true, None), now).await;
    let resolved = declare(&store, &declared("ledger", "Old", Sev4, false, None), now).await;
    resolve_by_hand(&store, resolved, at(1)).await;
    let items = respond_only(
        &store,
        &[
            C::AddActionItem(crate::NewActionItem {
                incident: a,
                title: "Fix".into(),
                owner: name("alice"),
                team: None,
                due_on: jiff::civil::date(2026, 3, 1),
                at: now,
            }),
            C::Review {
                incident: a,
                doc: json!({ "what": "draft" }),
                done: false,
                expected_version: 0,
                by: "alice".into(),
                at: now,
            },
        ],
        now,
        "seed",
    )
    .await;
    let other_entry = ok(store.incident_timeline(b).await, "timeline")[0].id;
    // A valid change first, so that a partial write would show.
    let valid = || C::Describe {
        incident: a,
        title: Some("Changed".into()),
        summary: Some("Changed".into()),
    };
    let cases: Vec<(&str, C)> = vec![
        (
            "severity read as another",
            C::Severity {
                incident: a,
                from: Sev1,
                to: Sev3,
            },
        ),
        (
            "hand-over from someone who does not hold it",
            C::AssignRole {
                incident: a,
                role: R::Commander,
                user: name("bob"),
                from: Some(name("carol")),
                at: now,
                by: "carol".into(),
            },
        ),
        (
            "hand-over of a held role read as free",
            C::AssignRole {
                incident: a,
                role: R::Commander,
                user: name("bob"),
                from: None,
                at: now,
                by: "bob".into(),
            },
        ),
        (
            "hand-over of a free role read as held",
            C::AssignRole {
                incident: a,
                role: R::Scribe,
                user: name("bob"),
                from: Some(name("alice")),
                at: now,
                by: "bob".into(),
            },
        ),
        (
            "review at a stale version",
            C::Review {
                incident: a,
                doc: json!({}),
                done: true,
                expected_version: 2,
                by: "bob".into(),
                at: now,
            },
        ),
        (
            "second first review",
            C::Review {
                incident: a,
                doc: json!({}),
                done: true,
                expected_version: 0,
                by: "bob".into(),
                at: now,
            },
        ),
        (
            "close of an incident not resolved",
            C::Close {
                incident: a,
                at: now,
            },
        ),
        (
            "merge of a resolved incident",
            C::Merge {
                from: resolved,
                into: a,
                at: now,
            },
        ),
        (
            "merge into a resolved incident",
            C::Merge {
                from: b,
                into: resolved,
                at: now,
            },
        ),
        (
            "merge into itself",
            C::Merge {
                from: b,
                into: b,
                at: now,
            },
        ),
        (
            "pin of another incident's entry",
            C::Pin {
                incident: a,
                entry: other_entry,
                pinned: true,
            },
        ),
        (
            "done of a missing action item",
            C::ActionItemDone {
                id: items[0] + 100,
                done: true,
                at: now,
            },
        ),
        (
            "reminder of a missing action item",
            C::ActionItemReminded {
                id: items[0] + 100,
                at: now,
            },
        ),
        (
            "a missing incident",
            C::AddStakeholder {
                incident: 999_999,
                stakeholder: "leads".into(),
            },
        ),
        (
            "an action item on a missing incident",
            C::AddActionItem(crate::NewActionItem {
                incident: 999_999,
                title: "x".into(),
                owner: name("alice"),
                team: None,
                due_on: jiff::civil::date(2026, 3, 1),
                at: now,
            }),
        ),
    ];
    for (what, change) in cases {
        let changes = [
            valid(),
            C::AddStakeholder {
                incident: a,
                stakeholder: "leads".into(),
            },
            change,
        ];
        assert_response_conflict(&store, &[a, b, resolved], &changes, 2, what).await;
    }
    // The first change can conflict too; later ones are not tried.
    assert_response_conflict(
        &store,
        &[a, b],
        &[
            C::Severity {
                incident: a,
                from: Sev4,
                to: Sev1,
            },
            valid(),
        ],
        0,
        "first change",
    )
    .await;
    // The same severity change, read right, applies.
    respond_only(
        &store,
        &[C::Severity {
            incident: a,
            from: Sev2,
            to: Sev1,
        }],
        now,
        "severity read right",
    )
    .await;
    assert_eq!(incident(&store, a).await.severity, Sev1);
}

/// Reviews are saved by compare-and-set on their version: the first save
/// expects 0 and makes version 1; each later one expects the version read.
pub async fn response_reviews_are_versioned(store: Arc<dyn Store>) {
    use crate::ResponseChange as C;
    use tocsin_domain::Severity::*;
    let now = t0();
    let n = declare(&store, &declared("checkout", "A", Sev2, false, None), now).await;
    assert_eq!(ok(store.review(n).await, "review"), None);
    let save = |expected_version: i64, done: bool, by: &str, at: Timestamp| C::Review {
        incident: n,
        doc: json!({ "summary": format!("v{}", expected_version + 1), "done": done }),
        done,
        expected_version,
        by: by.into(),
        at,
    };
    respond_only(&store, &[save(0, false, "alice", at(1))], at(1), "first").await;
    assert_eq!(
        ok(store.review(n).await, "review"),
        Some(crate::ReviewRecord {
            incident: n,
            doc: json!({ "summary": "v1", "done": false }),
            done: false,
            version: 1,
            updated_at: at(1),
            updated_by: "alice".into(),
        })
    );
    respond_only(&store, &[save(1, true, "bob", at(2))], at(2), "second").await;
    assert_eq!(
        ok(
            store
                .respond(&[save(1, false, "carol", at(3))], &[], &[], &[], at(3))
                .await,
            "stale"
        ),
        crate::Responded::Conflict { change: 0 },
        "a save from version 1 after version 2 was written"
    );
    let r = ok(store.review(n).await, "review").expect("a review");
    assert_eq!(
        (r.version, r.done, r.updated_by.as_str(), r.updated_at),
        (2, true, "bob", at(2))
    );
    assert_eq!(r.doc, json!({ "summary": "v2", "done": true }));
}

/// Merging moves the merged incident's alerts to the other one, whose open
/// alerts grow by them; the merged one is resolved with `merged_into` and
/// no open alert; the moved alerts' next events count on the incident they
/// moved to. A merged incident can be neither merged nor merged into.
pub async fn response_merge_moves_alerts(store: Arc<dyn Store>) {
    use crate::ResponseChange as C;
    use tocsin_domain::Severity::*;
    use tocsin_domain::alerting::IncidentStatus;
    use tocsin_domain::ingest::EventAction::*;
    let now = t0();
    let none: Arc<tocsin_domain::alerting::Policy> = Default::default();
    let r = ok(
        store
            .ingest(
                &[
                    item("web", ingest_event(Trigger, "w1", Sev2, None), now),
                    item("db", ingest_event(Trigger, "d1", Sev2, None), now),
                ],
                &none,
                now,
            )
            .await,
        "ingest",
    );
    let (web, db) = (r[0].incident.unwrap(), r[1].incident.unwrap());
    assert_ne!(web, db);
    let r = ok(
        store
            .ingest(
                &[
                    item("web", ingest_event(Trigger, "w2", Sev2, None), now),
                    item("web", ingest_event(Trigger, "w3", Sev2, None), now),
                ],
                &none,
                now,
            )
            .await,
        "ingest",
    );
    assert!(r.iter().all(|r| r.incident == Some(web)), "{r:?}");
    // One of web's alerts is already resolved: it moves, but does not count.
    ok(
        store
            .ingest(
                &[item("web", ingest_event(Resolve, "w3", Sev2, None), now)],
                &none,
                now,
            )
            .await,
        "ingest",
    );
    assert_eq!(incident(&store, web).await.open_alerts, 2);
    assert_eq!(incident(&store, db).await.open_alerts, 1);
    let t1 = at(60);
    respond_only(
        &store,
        &[C::Merge {
            from: web,
            into: db,
            at: t1,
        }],
        t1,
        "merge",
    )
    .await;
    let from = incident(&store, web).await;
    assert_eq!(
        (
            from.status,
            from.resolved_at,
            from.merged_into,
            from.open_alerts
        ),
        (IncidentStatus::Resolved, Some(t1), Some(db), 0)
    );
    let into = incident(&store, db).await;
    assert_eq!(
        (into.status, into.open_alerts, into.merged_into),
        (IncidentStatus::Triggered, 3, None)
    );
    let keys: Vec<String> = ok(store.incident_alerts(db).await, "alerts")
        .into_iter()
        .map(|a| a.dedup_key)
        .collect();
    assert_eq!(keys, ["w1", "d1", "w2", "w3"], "every alert moved, by id");
    assert!(ok(store.incident_alerts(web).await, "alerts").is_empty());
    // The moved alerts live on where they went.
    let r = ok(
        store
            .ingest(
                &[
                    item("web", ingest_event(Trigger, "w1", Sev2, None), t1),
                    item("web", ingest_event(Resolve, "w2", Sev2, None), t1),
                ],
                &none,
                t1,
            )
            .await,
        "ingest after merge",
    );
    assert_eq!(
        r.iter()
            .map(|r| (r.outcome, r.incident))
            .collect::<Vec<_>>(),
        [("counted", Some(db)), ("resolved", Some(db))]
    );
    assert_eq!(incident(&store, db).await.open_alerts, 2);
    // Merged is final both ways.
    let other = declare(&store, &declared("api", "C", Sev3, false, None), t1).await;
    for (what, change) in [
        (
            "merge a merged incident",
            C::Merge {
                from: web,
                into: other,
                at: t1,
            },
        ),
        (
            "merge into a merged incident",
            C::Merge {
                from: other,
                into: web,
                at: t1,
            },
        ),
    ] {
        assert_response_conflict(&store, &[web, db, other], &[change], 0, what).await;
    }
}

/// Closing applies to a resolved incident that is not closed; a reopen
/// clears it, so the incident resolved again is resolved, not closed.
pub async fn response_close_and_reopen(store: Arc<dyn Store>) {
    use crate::ResponseChange as C;
    use tocsin_domain::Severity::*;
    use tocsin_domain::alerting::IncidentStatus;
    let now = t0();
    let n = declare(&store, &declared("checkout", "A", Sev2, false, None), now).await;
    resolve_by_hand(&store, n, at(1)).await;
    respond_only(
        &store,
        &[C::Close {
            incident: n,
            at: at(2),
        }],
        at(2),
        "close",
    )
    .await;
    let inc = incident(&store, n).await;
    assert_eq!(
        (inc.status, inc.closed_at),
        (IncidentStatus::Resolved, Some(at(2)))
    );
    assert_eq!(
        ok(
            store
                .respond(
                    &[C::Close {
                        incident: n,
                        at: at(3)
                    }],
                    &[],
                    &[],
                    &[],
                    at(3)
                )
                .await,
            "close twice"
        ),
        crate::Responded::Conflict { change: 0 },
        "closing a closed incident"
    );
    let reopen = crate::IncidentChange {
        incident: n,
        from: IncidentStatus::Resolved,
        from_run: 0,
        to: IncidentStatus::Triggered,
        run: 1,
        acknowledged_at: None,
        resolved_at: None,
        resolve_alerts: false,
    };
    assert!(ok(
        store.change_incident(&reopen, &[], &[], &[], at(4)).await,
        "reopen"
    ));
    let inc = incident(&store, n).await;
    assert_eq!(
        (inc.status, inc.closed_at),
        (IncidentStatus::Triggered, None)
    );
    resolve_by_hand(&store, n, at(5)).await;
    assert_eq!(
        incident(&store, n).await.closed_at,
        None,
        "resolved, not closed"
    );
}

/// An update is written once per key: sent again (a retry), it changes
/// nothing, not even the cadence's due time.
pub async fn response_updates_are_idempotent_by_key(store: Arc<dyn Store>) {
    use crate::ResponseChange as C;
    use tocsin_domain::Severity::*;
    use tocsin_domain::response::{Audience, UpdateState};
    let now = t0();
    let n = declare(&store, &declared("checkout", "A", Sev1, false, None), now).await;
    let update = |body: &str, next_due: Timestamp| C::Update {
        incident: n,
        state: UpdateState::Investigating,
        audience: Audience::Public,
        body: body.into(),
        author: "bob".into(),
        at: at(10),
        next_due: Some(next_due),
        key: "update:1".into(),
    };
    respond_only(
        &store,
        &[
            C::Cadence {
                incident: n,
                every_minutes: Some(30),
                next_due: Some(at(1800)),
            },
            update("We are looking into it", at(1810)),
        ],
        at(10),
        "first",
    )
    .await;
    for _ in 0..2 {
        respond_only(
            &store,
            &[update("We are looking into it (again)", at(9999))],
            at(20),
            "retry",
        )
        .await;
    }
    let r = ok(store.response(n).await, "response");
    assert_eq!(r.updates.len(), 1, "{:?}", r.updates);
    assert_eq!(r.updates[0].body, "We are looking into it");
    assert_eq!(r.updates[0].audience, Audience::Public);
    assert_eq!(r.next_update_due, Some(at(1810)), "the retry moved nothing");
}

/// Timeline entries after an id, oldest first, at most `limit`: a live
/// view pages through them with the last id it saw.
pub async fn response_timeline_after_pages(store: Arc<dyn Store>) {
    use tocsin_domain::Severity::*;
    let now = t0();
    let n = declare(&store, &declared("checkout", "A", Sev2, false, None), now).await;
    let other = declare(&store, &declared("checkout", "B", Sev2, false, None), now).await;
    // Written out of time order: the cursor follows ids, not times.
    let entries: Vec<_> = (0..5)
        .map(|i| response_entry(n, &format!("e{i}"), at(100 - i)))
        .chain([response_entry(other, "other", now)])
        .collect();
    ok(store.record_step(&entries, &[], None, now).await, "entries");
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = ok(store.timeline_after(n, after, 2).await, "timeline_after");
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = last.id;
        seen.extend(page);
    }
    let keys: Vec<&str> = seen
        .iter()
        .map(|e| {
            e.detail
                .get("key")
                .and_then(|k| k.as_str())
                .unwrap_or("declared")
        })
        .collect();
    assert_eq!(keys, ["declared", "e0", "e1", "e2", "e3", "e4"]);
    assert!(seen.iter().all(|e| e.incident == n), "only this incident's");
    assert!(seen.windows(2).all(|w| w[0].id < w[1].id));
    assert_eq!(seen[1].at, at(100));
    assert!(
        ok(store.timeline_after(n, after, 10).await, "at the end").is_empty(),
        "nothing after the last"
    );
}

/// Action items by incident, team, owner, open only and due before a date
/// (open ones only), by due date then id, at most `limit`.
pub async fn response_action_item_queries(store: Arc<dyn Store>) {
    use crate::ResponseChange as C;
    use jiff::civil::date;
    use tocsin_domain::Severity::*;
    let now = t0();
    let a = declare(&store, &declared("checkout", "A", Sev2, false, None), now).await;
    let b = declare(&store, &declared("ledger", "B", Sev2, false, None), now).await;
    let add = |incident, title: &str, owner: &str, team: Option<&str>, due| {
        C::AddActionItem(crate::NewActionItem {
            incident,
            title: title.into(),
            owner: name(owner),
            team: team.map(name),
            due_on: due,
            at: now,
        })
    };
    let ids = respond_only(
        &store,
        &[
            add(a, "a1", "alice", Some("payments"), date(2026, 3, 1)),
            add(a, "a2", "bob", Some("payments"), date(2026, 1, 15)),
            add(b, "b1", "alice", Some("infra"), date(2026, 2, 1)),
            add(b, "b2", "carol", None, date(2025, 12, 31)),
            add(b, "b3", "alice", Some("infra"), date(2026, 1, 15)),
            add(a, "a3", "alice", Some("payments"), date(2026, 10, 2)),
        ],
        now,
        "items",
    )
    .await;
    assert_eq!(ids.len(), 6);
    respond_only(
        &store,
        &[C::ActionItemDone {
            id: ids[2],
            done: true,
            at: now,
        }],
        now,
        "b1 done",
    )
    .await;
    let titles = |q: crate::ActionItemQuery| {
        let store = store.clone();
        async move {
            ok(store.action_items(&q).await, "action_items")
                .into_iter()
                .map(|i| i.title)
                .collect::<Vec<_>>()
        }
    };
    let q = || crate::ActionItemQuery {
        limit: 100,
        ..Default::default()
    };
    assert_eq!(
        titles(q()).await,
        ["b2", "a2", "b3", "b1", "a1", "a3"],
        "by due date (across years and months), then id"
    );
    assert_eq!(
        titles(crate::ActionItemQuery {
            incident: Some(b),
            ..q()
        })
        .await,
        ["b2", "b3", "b1"]
    );
    assert_eq!(
        titles(crate::ActionItemQuery {
            team: Some(name("infra")),
            ..q()
        })
        .await,
        ["b3", "b1"]
    );
    assert_eq!(
        titles(crate::ActionItemQuery {
            owner: Some(name("alice")),
            ..q()
        })
        .await,
        ["b3", "b1", "a1", "a3"]
    );
    assert_eq!(
        titles(crate::ActionItemQuery {
            owner: Some(name("alice")),
            open_only: true,
            ..q()
        })
        .await,
        ["b3", "a1", "a3"]
    );
    assert_eq!(
        titles(crate::ActionItemQuery {
            due_before: Some(date(2026, 2, 2)),
            ..q()
        })
        .await,
        ["b2", "a2", "b3"],
        "due before: open ones only (b1 is done), the date itself excluded"
    );
    assert_eq!(
        titles(crate::ActionItemQuery {
            due_before: Some(date(2026, 1, 15)),
            ..q()
        })
        .await,
        ["b2"]
    );
    assert_eq!(
        titles(crate::ActionItemQuery {
            team: Some(name("payments")),
            owner: Some(name("alice")),
            due_before: Some(date(2027, 1, 1)),
            ..q()
        })
        .await,
        ["a1", "a3"],
        "filters combine"
    );
    assert_eq!(
        titles(crate::ActionItemQuery { limit: 2, ..q() }).await,
        ["b2", "a2"]
    );
}

/// The incident list's filters, alone and combined: lifecycle (closed
/// apart from resolved), severities, services (the primary one or an
/// added one), the time range, text words (all of them, in the title or
/// the summary, any case for A–Z, `%` and `_` literal), and the keyset.
pub async fn response_search_filters(store: Arc<dyn Store>) {
    use crate::ResponseChange as C;
    use tocsin_domain::Severity::*;
    use tocsin_domain::response::Lifecycle as L;
    let mk = |service: &str, title: &str, severity, summary: Option<&str>| {
        let mut d = declared(service, title, severity, false, None);
        d.summary = summary.map(str::to_owned);
        d
    };
    // #1 … #6, one minute apart.
    let n1 = declare(&store, &mk("checkout", "Checkout down", Sev1, None), at(0)).await;
    let n2 = declare(
        &store,
        &mk(
            "ledger",
            "Ledger drift",
            Sev3,
            Some("Nightly CHECKOUT batch late"),
        ),
        at(60),
    )
    .await;
    let n3 = declare(&store, &mk("api", "API 5xx at 100%", Sev2, None), at(120)).await;
    let n4 = declare(&store, &mk("api", "api_gateway slow", Sev2, None), at(180)).await;
    let n5 = declare(&store, &mk("search", "Search stale", Sev4, None), at(240)).await;
    let n6 = declare(
        &store,
        &declared("checkout", "Checkout slow", Sev2, true, None),
        at(300),
    )
    .await;
    respond_only(
        &store,
        &[C::AddService {
            incident: n5,
            service: name("checkout"),
        }],
        at(300),
        "add service",
    )
    .await;
    resolve_by_hand(&store, n2, at(400)).await;
    resolve_by_hand(&store, n3, at(400)).await;
    respond_only(
        &store,
        &[C::Close {
            incident: n3,
            at: at(500),
        }],
        at(500),
        "close",
    )
    .await;
    let search = |f: crate::IncidentFilter| {
        let store = store.clone();
        async move {
            ok(store.search_incidents(&f).await, "search_incidents")
                .into_iter()
                .map(|i| i.number)
                .collect::<Vec<_>>()
        }
    };
    let f = || crate::IncidentFilter {
        limit: 100,
        ..Default::default()
    };
    assert_eq!(search(f()).await, [n6, n5, n4, n3, n2, n1], "newest first");
    let lifecycle = |l: Vec<L>| crate::IncidentFilter {
        lifecycle: l,
        ..f()
    };
    assert_eq!(search(lifecycle(vec![L::Triggered])).await, [n6]);
    assert_eq!(search(lifecycle(vec![L::Acknowledged])).await, [n5, n4, n1]);
    assert_eq!(
        search(lifecycle(vec![L::Resolved])).await,
        [n2],
        "not the closed one"
    );
    assert_eq!(search(lifecycle(vec![L::Closed])).await, [n3]);
    assert_eq!(
        search(lifecycle(vec![L::Triggered, L::Closed])).await,
        [n6, n3]
    );
    assert_eq!(
        search(crate::IncidentFilter {
            severities: vec![Sev1, Sev4],
            ..f()
        })
        .await,
        [n5, n1]
    );
    assert_eq!(
        search(crate::IncidentFilter {
            services: vec![name("checkout")],
            ..f()
        })
        .await,
        [n6, n5, n1],
        "an added service counts"
    );
    assert_eq!(
        search(crate::IncidentFilter {
            services: vec![name("ledger"), name("api")],
            ..f()
        })
        .await,
        [n4, n3, n2]
    );
    assert_eq!(
        search(crate::IncidentFilter {
            from: Some(at(60)),
            until: Some(at(180)),
            ..f()
        })
        .await,
        [n3, n2],
        "from inclusive, until exclusive"
    );
    let text = |t: &str| crate::IncidentFilter {
        text: Some(t.into()),
        ..f()
    };
    assert_eq!(
        search(text("checkout")).await,
        [n6, n2, n1],
        "title or summary, any case"
    );
    assert_eq!(search(text("  CHECKOUT   down ")).await, [n1], "every word");
    assert_eq!(search(text("checkout nowhere")).await, Vec::<i64>::new());
    assert_eq!(search(text("100%")).await, [n3], "% is literal");
    assert_eq!(search(text("0%")).await, [n3]);
    assert_eq!(search(text("%")).await, [n3]);
    assert_eq!(search(text("_")).await, [n4], "_ is literal");
    assert_eq!(search(text("i_g")).await, [n4]);
    assert_eq!(
        search(text("a_i")).await,
        Vec::<i64>::new(),
        "_ is not a wildcard"
    );
    assert_eq!(search(text("\\")).await, Vec::<i64>::new());
    assert_eq!(search(text("")).await.len(), 6, "no words: no filter");
    assert_eq!(
        search(crate::IncidentFilter {
            before_number: Some(n4),
            limit: 2,
            ..f()
        })
        .await,
        [n3, n2],
        "keyset"
    );
    assert_eq!(
        search(crate::IncidentFilter { limit: 2, ..f() }).await,
        [n6, n5]
    );
    assert_eq!(
        search(crate::IncidentFilter {
            lifecycle: vec![L::Acknowledged, L::Triggered],
            severities: vec![Sev2],
            services: vec![name("checkout"), name("api")],
            from: Some(at(0)),
            until: Some(at(301)),
            text: Some("SLOW".into()),
            before_number: Some(n6 + 1),
            limit: 10,
        })
        .await,
        [n6, n4],
        "filters combine"
    );
    let found = ok(
        store
            .search_incidents(&crate::IncidentFilter {
                lifecycle: vec![L::Closed],
                ..f()
            })
            .await,
        "search",
    );
    assert_eq!(found, [incident(&store, n3).await], "whole records");
}

/// What a database held before the outbox migration (version 7): an
/// incident, one notification intent still pending and one sent. Written
/// by the upgrade tests at version 6; [`outbox_upgrade_kept_intents`] checks
/// the result after the upgrade. SQL valid on both backends.
pub const BEFORE_OUTBOX: &[&str] = &[
    "INSERT INTO incidents (service, title, severity, status, group_key, created_at, \
     acknowledged_at, resolved_at, open_alerts, paged, updated_at) \
     VALUES ('web', 'Old page', 'sev2', 'triggered', NULL, 1772445600000, NULL, NULL, 1, TRUE, \
     1772445600000)",
    "INSERT INTO notification_intents (incident_id, user_name, contact, kind, address, due_at, \
     level, cycle, state, created_at, key) VALUES \
     (1, 'alice', 'hook', 'webhook', 'https://example.com/h', 1772445900000, 0, 0, 'pending', \
      1772445600000, 'old-pending'), \
     (1, 'alice', 'mail', 'email', 'alice@example.com', 1772445600000, 0, 0, 'sent', \
      1772445600000, 'old-sent')",
];

/// After the outbox migration: the pending intent is a queued notification
/// with its delivery job due when it was due; the sent one is delivered and
/// gets no job. Nothing acknowledged before the upgrade is lost.
pub async fn outbox_upgrade_kept_intents(store: Arc<dyn Store>) {
    use crate::notify::{DeliveryState, Purpose, deliver_job_key};
    let all = store.incident_notifications(1, None).await.unwrap();
    let state = |key: &str| {
        all.iter()
            .find(|n| n.key == key)
            .map(|n| (n.state, n.purpose))
    };
    assert_eq!(
        state("old-pending"),
        Some((DeliveryState::Queued, Purpose::Page)),
        "{all:?}"
    );
    assert_eq!(
        state("old-sent"),
        Some((DeliveryState::Delivered, Purpose::Page)),
        "{all:?}"
    );
    let job = store
        .job_by_key(&deliver_job_key("old-pending"))
        .await
        .unwrap()
        .expect("the pending one has its delivery job");
    assert_eq!(
        job.due_at,
        Timestamp::from_millisecond(1_772_445_900_000).unwrap()
    );
    assert!(
        store
            .job_by_key(&deliver_job_key("old-sent"))
            .await
            .unwrap()
            .is_none()
    );
}

/// What a database held before the response migration (version 8): a
/// resolved incident with a timeline entry. Written by the upgrade tests at
/// version 7; [`response_upgrade_kept_incidents`] checks the result after
/// the upgrade. SQL valid on both backends.
pub const BEFORE_RESPONSE: &[&str] = &[
    "INSERT INTO incidents (service, title, severity, status, group_key, created_at, \
     acknowledged_at, resolved_at, open_alerts, paged, updated_at, escalation_run) \
     VALUES ('web', 'Before response', 'sev2', 'resolved', NULL, 1772445600000, NULL, \
     1772445700000, 0, TRUE, 1772445700000, 0)",
    "INSERT INTO timeline (incident_id, at, kind, actor, detail, key) VALUES \
     (1, 1772445600000, 'escalation.level', 'escalation', '{\"level\":0}', 'old-entry')",
];

/// After the response migration: the incident reads back with no summary,
/// not closed, not merged, and with an empty response record; its timeline
/// entry is there, not pinned; the list finds it as resolved; it can be
/// closed and pinned like a new one.
pub async fn response_upgrade_kept_incidents(store: Arc<dyn Store>) {
    use crate::ResponseChange as C;
    use tocsin_domain::alerting::IncidentStatus;
    use tocsin_domain::response::Lifecycle as L;
    let inc = incident(&store, 1).await;
    assert_eq!(
        (
            inc.title.as_str(),
            inc.status,
            inc.summary.as_deref(),
            inc.closed_at,
            inc.merged_into
        ),
        (
            "Before response",
            IncidentStatus::Resolved,
            None,
            None,
            None
        )
    );
    assert_eq!(
        ok(store.response(1).await, "response"),
        crate::ResponseRecord::default()
    );
    let timeline = ok(store.incident_timeline(1).await, "timeline");
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0].detail, json!({ "level": 0 }));
    let resolved = ok(
        store
            .search_incidents(&crate::IncidentFilter {
                lifecycle: vec![L::Resolved],
                limit: 10,
                ..Default::default()
            })
            .await,
        "search",
    );
    assert_eq!(resolved, [inc]);
    let now = Timestamp::from_millisecond(1_772_445_800_000).unwrap();
    respond_only(
        &store,
        &[
            C::Pin {
                incident: 1,
                entry: timeline[0].id,
                pinned: true,
            },
            C::Close {
                incident: 1,
                at: now,
            },
        ],
        now,
        "close an old incident",
    )
    .await;
    assert_eq!(incident(&store, 1).await.closed_at, Some(now));
    assert_eq!(
        ok(store.response(1).await, "response").pinned,
        [timeline[0].id]
    );
}

/// How many incidents [`SEED_SEARCH_AT_SCALE`] writes.
pub const SCALE_INCIDENTS: i64 = 100_000;

/// 100,000 incidents, one a minute, over 50 services (`svc0` … `svc49`),
/// all severities, one in 1,000 triggered and one in 1,000 acknowledged,
/// the rest resolved (a third of them closed); one in 100 also touches
/// `rare`. Titles `Incident <i> on host<i % 997>`. Written by the backends'
/// scale tests on a migrated, empty database. SQL valid on both backends.
pub const SEED_SEARCH_AT_SCALE: &[&str] = &[
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) \
     INSERT INTO incidents (service, title, severity, status, group_key, created_at, \
     acknowledged_at, resolved_at, open_alerts, paged, updated_at, escalation_run, summary, \
     closed_at) \
     SELECT 'svc' || (i % 50), 'Incident ' || i || ' on host' || (i % 997), \
     'sev' || (1 + i % 5), \
     CASE WHEN i % 1000 = 0 THEN 'triggered' WHEN i % 1000 = 1 THEN 'acknowledged' \
          ELSE 'resolved' END, \
     NULL, 1700000000000 + i * CAST(60000 AS BIGINT), NULL, NULL, 0, (i % 2 = 0), \
     1700000000000 + i * CAST(60000 AS BIGINT), 0, NULL, \
     CASE WHEN i % 3 = 0 AND i % 1000 > 1 THEN 1700000000000 + i * CAST(60000 AS BIGINT) \
          ELSE NULL END \
     FROM n",
    "INSERT INTO incident_services (incident_id, service) \
     SELECT id, 'rare' FROM incidents WHERE id % 100 = 0",
];

/// Not in [`conformance_tests!`](crate::conformance_tests): each backend
/// runs it (by hand: `--ignored`) on a store seeded with
/// [`SEED_SEARCH_AT_SCALE`]. Every filter of the incident list, alone and
/// combined, answers the right page, newest first, and prints how long it
/// took (figures in `docs/benchmarks.md`; no bound is asserted: speed is
/// read, not tested).
pub async fn search_incidents_at_scale(store: Arc<dyn Store>) {
    use tocsin_domain::Severity::*;
    use tocsin_domain::response::Lifecycle as L;
    let f = || crate::IncidentFilter {
        limit: 50,
        ..Default::default()
    };
    let minute = |i: i64| Timestamp::from_millisecond(1_700_000_000_000 + i * 60_000).unwrap();
    let cases: Vec<(&str, crate::IncidentFilter, usize)> = vec![
        ("no filter", f(), 50),
        (
            "open (triggered or acknowledged)",
            crate::IncidentFilter {
                lifecycle: vec![L::Triggered, L::Acknowledged],
                ..f()
            },
            50,
        ),
        (
            "triggered, deep page",
            crate::IncidentFilter {
                lifecycle: vec![L::Triggered],
                before_number: Some(2_000),
                ..f()
            },
            1,
        ),
        (
            "closed",
            crate::IncidentFilter {
                lifecycle: vec![L::Closed],
                ..f()
            },
            50,
        ),
        (
            "sev1",
            crate::IncidentFilter {
                severities: vec![Sev1],
                ..f()
            },
            50,
        ),
        (
            "one service",
            crate::IncidentFilter {
                services: vec![name("svc7")],
                ..f()
            },
            50,
        ),
        (
            "a service with no incident",
            crate::IncidentFilter {
                services: vec![name("quiet")],
                ..f()
            },
            0,
        ),
        (
            "an added service",
            crate::IncidentFilter {
                services: vec![name("rare")],
                ..f()
            },
            50,
        ),
        (
            "an hour long ago",
            crate::IncidentFilter {
                from: Some(minute(1_000)),
                until: Some(minute(1_060)),
                ..f()
            },
            50,
        ),
        (
            "a word",
            crate::IncidentFilter {
                text: Some("HOST996".into()),
                ..f()
            },
            50,
        ),
        (
            "a word found nowhere",
            crate::IncidentFilter {
                text: Some("nowhere".into()),
                ..f()
            },
            0,
        ),
        (
            "deep keyset",
            crate::IncidentFilter {
                before_number: Some(500),
                ..f()
            },
            50,
        ),
        (
            "combined",
            crate::IncidentFilter {
                lifecycle: vec![L::Resolved, L::Closed],
                severities: vec![Sev2, Sev3],
                services: vec![name("svc7"), name("rare")],
                from: Some(minute(10_000)),
                until: Some(minute(90_000)),
                text: Some("incident".into()),
                before_number: Some(80_000),
                limit: 50,
            },
            50,
        ),
    ];
    for (what, filter, want) in cases {
        let started = std::time::Instant::now();
        let found = ok(store.search_incidents(&filter).await, what);
        let took = started.elapsed();
        println!(
            "search at 100,000 incidents: {what:<40} {:>3} rows in {:>7.2} ms",
            found.len(),
            took.as_secs_f64() * 1e3
        );
        assert_eq!(found.len(), want, "{what}");
        assert!(
            found.windows(2).all(|w| w[0].number > w[1].number),
            "{what}: newest first"
        );
    }
}

// ---------------------------------------------------------------------------
// Runbook runs
// ---------------------------------------------------------------------------

fn runbook_run(id: &str, incident: Option<i64>) -> crate::NewRunbookRun {
    crate::NewRunbookRun {
        id: id.to_owned(),
        action: name("restart-web"),
        command: "run restart-web on web-2".into(),
        incident,
        actor: "alice".into(),
        via: "cli".into(),
        detail: json!({ "argv": ["/usr/bin/systemctl", "restart", "web-2"] }),
    }
}

/// A run is recorded once by id: the second start of the same id writes
/// nothing and says so, whatever it carries.
pub async fn runbook_runs_start_once(store: Arc<dyn Store>) {
    use crate::RunOutcome;
    let first = runbook_run("run-1", None);
    assert!(
        ok(store.start_runbook_run(&first, t0()).await, "start"),
        "the first start records the run"
    );
    let mut again = runbook_run("run-1", None);
    again.actor = "mallory".into();
    assert!(
        !ok(store.start_runbook_run(&again, at(1)).await, "start again"),
        "a second start of the same id must not record it again"
    );
    let got = ok(store.runbook_run("run-1").await, "runbook_run").expect("the run is recorded");
    assert_eq!(
        (
            got.actor.as_str(),
            got.action.as_str(),
            got.command.as_str(),
            got.started_at,
            got.finished_at,
            got.outcome,
            got.incident,
        ),
        (
            "alice",
            "restart-web",
            "run restart-web on web-2",
            t0(),
            None,
            None::<RunOutcome>,
            None
        ),
        "the first start's values are kept: {got:?}"
    );
    assert_eq!(got.detail, first.detail);
    assert!(ok(store.runbook_run("run-2").await, "runbook_run").is_none());
    assert!(ok(
        store
            .start_runbook_run(&runbook_run("run-2", None), at(2))
            .await,
        "start 2"
    ));
    let recent = ok(store.recent_runbook_runs(10).await, "recent");
    let ids: Vec<&str> = recent.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["run-2", "run-1"], "newest first");
    let one = ok(store.recent_runbook_runs(1).await, "recent 1");
    assert_eq!(one.len(), 1, "the limit is kept");
}

/// Finishing writes the outcome once, with its timeline and audit entries
/// in the same transaction; finishing again (or an unknown run) writes
/// nothing.
pub async fn runbook_runs_finish_once(store: Arc<dyn Store>) {
    use crate::RunOutcome;
    let incident = declare(
        &store,
        &declared(
            "checkout",
            "Checkout is down",
            tocsin_domain::Severity::Sev2,
            false,
            Some("alice"),
        ),
        t0(),
    )
    .await;
    assert!(ok(
        store
            .start_runbook_run(&runbook_run("run-1", Some(incident)), t0())
            .await,
        "start"
    ));
    let detail = json!({ "outcome": "succeeded", "exit_status": 0, "output": "ok" });
    let entry = crate::NewTimelineEntry {
        incident,
        at: at(3),
        kind: "runbook.run".into(),
        actor: "alice".into(),
        detail: detail.clone(),
        key: "runbook.run:run-1".into(),
    };
    let audit = [entry_for_runbook("alice")];
    assert!(ok(
        store
            .finish_runbook_run(
                "run-1",
                RunOutcome::Succeeded,
                &detail,
                std::slice::from_ref(&entry),
                &audit,
                at(3),
            )
            .await,
        "finish"
    ));
    let got = ok(store.runbook_run("run-1").await, "runbook_run").expect("recorded");
    assert_eq!(
        (got.finished_at, got.outcome, got.incident),
        (Some(at(3)), Some(RunOutcome::Succeeded), Some(incident))
    );
    assert_eq!(
        got.detail, detail,
        "the finished detail replaces the start's"
    );
    let timeline = ok(store.incident_timeline(incident).await, "timeline");
    let runs: Vec<_> = timeline
        .iter()
        .filter(|e| e.kind == "runbook.run")
        .collect();
    assert_eq!(runs.len(), 1, "{timeline:?}");
    assert_eq!(runs[0].detail["output"], "ok");
    let audited = list_audit(&store, &all_audit()).await;
    assert_eq!(
        actions(&audited)
            .iter()
            .filter(|a| **a == "runbook.run")
            .count(),
        1
    );

    // Finishing again changes nothing and writes no entry.
    let other = json!({ "outcome": "failed" });
    let mut second = entry.clone();
    second.key = "runbook.run:run-1:again".into();
    assert!(!ok(
        store
            .finish_runbook_run(
                "run-1",
                RunOutcome::Failed,
                &other,
                &[second],
                &audit,
                at(4),
            )
            .await,
        "finish again"
    ));
    let got = ok(store.runbook_run("run-1").await, "runbook_run").expect("recorded");
    assert_eq!(
        got.outcome,
        Some(RunOutcome::Succeeded),
        "the first outcome stays"
    );
    assert_eq!(got.detail, detail);
    let timeline = ok(store.incident_timeline(incident).await, "timeline");
    assert_eq!(
        timeline.iter().filter(|e| e.kind == "runbook.run").count(),
        1,
        "a second finish writes no timeline entry"
    );
    assert_eq!(
        actions(&list_audit(&store, &all_audit()).await)
            .iter()
            .filter(|a| **a == "runbook.run")
            .count(),
        1,
        "a second finish writes no audit entry"
    );
    assert!(!ok(
        store
            .finish_runbook_run("nope", RunOutcome::Error, &other, &[], &audit, at(5))
            .await,
        "finish unknown"
    ));
}

fn entry_for_runbook(actor: &str) -> AuditEntry {
    entry(
        actor,
        Interface::Cli,
        "runbook.run",
        Some(("runbook_action", "restart-web")),
    )
}

// ---------------------------------------------------------------------------
// Chat front ends
// ---------------------------------------------------------------------------

/// A receipt is recorded once: the first `receive_once` is `true`, every
/// later one `false` (an event delivered twice is answered once); purging
/// forgets only receipts older than the cut. Cursors read back what was
/// last set.
pub async fn chat_receipts_once_and_cursors(store: Arc<dyn Store>) {
    assert!(ok(store.receive_once("slack:Ev1", at(0)).await, "first"));
    assert!(!ok(store.receive_once("slack:Ev1", at(1)).await, "again"));
    assert!(ok(store.receive_once("matrix:$e1", at(10)).await, "other"));
    assert_eq!(ok(store.purge_receipts(at(5)).await, "purge"), 1);
    assert!(
        !ok(store.receive_once("matrix:$e1", at(11)).await, "kept"),
        "a receipt newer than the cut is kept"
    );
    assert!(
        ok(store.receive_once("slack:Ev1", at(12)).await, "purged"),
        "a purged receipt is forgotten"
    );

    assert_eq!(ok(store.chat_cursor("matrix.since").await, "none"), None);
    ok(
        store.set_chat_cursor("matrix.since", "s1", at(0)).await,
        "set",
    );
    ok(
        store.set_chat_cursor("matrix.since", "s2", at(1)).await,
        "reset",
    );
    assert_eq!(
        ok(store.chat_cursor("matrix.since").await, "read").as_deref(),
        Some("s2")
    );
}

/// Incidents needing a room: open, severe enough, not merged, without one
/// on that platform. The first room recorded wins; the mirror never moves
/// back; closed incidents and those resolved before the cut are not
/// tended.
pub async fn chat_incident_rooms(store: Arc<dyn Store>) {
    use crate::response::ResponseChange as C;
    use tocsin_domain::Severity::*;
    let now = t0();
    let sev1 = declare(&store, &declared("checkout", "A", Sev1, false, None), now).await;
    let sev3 = declare(&store, &declared("checkout", "B", Sev3, false, None), now).await;
    let sev2 = declare(&store, &declared("checkout", "C", Sev2, false, None), now).await;
    assert_eq!(
        ok(
            store.incidents_needing_room("slack", Sev2, 10).await,
            "need"
        ),
        [sev1, sev2]
    );
    assert_eq!(
        ok(
            store.incidents_needing_room("slack", Sev2, 1).await,
            "limit"
        ),
        [sev1]
    );
    assert_eq!(
        ok(store.incidents_needing_room("slack", Sev5, 10).await, "all"),
        [sev1, sev3, sev2]
    );

    let room = ok(
        store.record_room(sev1, "slack", "C1", at(1)).await,
        "record",
    );
    assert_eq!(room.room, "C1");
    assert_eq!(room.mirrored_through, 0);
    assert!(room.invited.is_empty());
    let again = ok(store.record_room(sev1, "slack", "C2", at(2)).await, "race");
    assert_eq!(again, room, "the first room recorded wins");
    assert_eq!(
        ok(
            store.incidents_needing_room("slack", Sev2, 10).await,
            "after"
        ),
        [sev2]
    );
    assert_eq!(
        ok(
            store.incidents_needing_room("matrix", Sev2, 10).await,
            "other platform"
        ),
        [sev1, sev2]
    );

    let invited = vec!["U1".to_owned(), "U2".to_owned()];
    ok(
        store.advance_room(sev1, "slack", 7, &invited).await,
        "advance",
    );
    ok(store.advance_room(sev1, "slack", 5, &invited).await, "back");
    let read = ok(store.incident_room(sev1, "slack").await, "read").expect("room");
    assert_eq!(read.mirrored_through, 7, "the mirror never moves back");
    assert_eq!(read.invited, invited);
    assert_eq!(ok(store.incident_room(sev1, "matrix").await, "none"), None);

    ok(
        store.record_room(sev2, "slack", "C3", at(1)).await,
        "record sev2",
    );
    let tended =
        |rooms: Vec<crate::RoomRecord>| -> Vec<i64> { rooms.iter().map(|r| r.incident).collect() };
    assert_eq!(
        tended(ok(store.rooms_to_tend("slack", at(0), 10).await, "tend")),
        [sev1, sev2]
    );
    resolve_by_hand(&store, sev1, at(100)).await;
    assert_eq!(
        tended(ok(store.rooms_to_tend("slack", at(50), 10).await, "recent")),
        [sev1, sev2],
        "resolved since the cut: still tended"
    );
    assert_eq!(
        tended(ok(store.rooms_to_tend("slack", at(200), 10).await, "old")),
        [sev2],
        "resolved before the cut: left alone"
    );
    respond_only(
        &store,
        &[C::Close {
            incident: sev1,
            at: at(101),
        }],
        at(101),
        "close",
    )
    .await;
    assert_eq!(
        tended(ok(store.rooms_to_tend("slack", at(0), 10).await, "closed")),
        [sev2],
        "a closed incident's room is not tended"
    );
    assert_eq!(
        ok(
            store.incidents_needing_room("matrix", Sev2, 10).await,
            "resolved"
        ),
        [sev2],
        "a resolved incident needs no room"
    );
}

// ---------------------------------------------------------------------------
// Heartbeats
// ---------------------------------------------------------------------------

fn hb_rule() -> Arc<tocsin_domain::heartbeat::Rule> {
    Arc::new(tocsin_domain::heartbeat::Rule {
        expect: tocsin_domain::heartbeat::Expect::Period(secs(3600)),
        grace: secs(300),
        paused: false,
    })
}

fn hb_ping(
    heartbeat: &str,
    kind: tocsin_domain::heartbeat::PingKind,
    rid: Option<&str>,
    t: Timestamp,
) -> crate::NewPing {
    crate::NewPing {
        heartbeat: name(heartbeat),
        rule: hb_rule(),
        kind,
        exit_status: None,
        rid: rid.map(str::to_owned),
        method: "POST",
        body: format!("{} at {t}", kind.as_str()),
        truncated: false,
        at: t,
    }
}

/// A batch of pings is applied in order per heartbeat: states, durations,
/// the ping rows newest first, and pruning.
pub async fn heartbeat_pings_batch_in_order(store: Arc<dyn Store>) {
    use tocsin_domain::heartbeat::{PingKind as K, Status};
    assert!(ok(store.record_pings(&[]).await, "empty").is_empty());
    let batch = [
        hb_ping("backup", K::Start, Some("r1"), at(0)),
        hb_ping("report", K::Success, None, at(1)),
        hb_ping("backup", K::Success, Some("r1"), at(90)),
        hb_ping("report", K::Fail, None, at(100)),
    ];
    let got = ok(store.record_pings(&batch).await, "record");
    assert_eq!(
        got.iter().map(|r| r.status).collect::<Vec<_>>(),
        [Status::Up, Status::Up, Status::Up, Status::Down]
    );
    assert_eq!(got[2].duration, Some(secs(90)));
    let backup = ok(store.heartbeat(&name("backup")).await, "read").expect("backup is stored");
    assert_eq!(backup.status, Status::Up);
    assert_eq!(backup.state.last_success, Some(at(90)));
    assert!(backup.state.runs.is_empty());
    assert_eq!(backup.check_at, Some(at(90 + 3600)));
    assert!(!backup.alert_open);
    let report = ok(store.heartbeat(&name("report")).await, "read").expect("report is stored");
    assert_eq!(report.status, Status::Down);
    assert_eq!(report.check_at, None);
    // A second batch continues from the stored state.
    let got = ok(
        store
            .record_pings(&[hb_ping("report", K::Success, None, at(200))])
            .await,
        "again",
    );
    assert_eq!(got[0].status, Status::Up);
    let report2 = ok(store.heartbeat(&name("report")).await, "read").expect("stored");
    assert!(
        report2.version > report.version,
        "every ping bumps the version"
    );
    let pings = ok(store.heartbeat_pings(&name("report"), 10).await, "pings");
    assert_eq!(
        pings.iter().map(|p| p.kind).collect::<Vec<_>>(),
        [K::Success, K::Fail, K::Success]
    );
    assert_eq!(pings[1].body, format!("fail at {}", at(100)));
    assert_eq!(pings[1].method, "POST");
    let backup_pings = ok(store.heartbeat_pings(&name("backup"), 10).await, "pings");
    assert_eq!(backup_pings[0].duration, Some(secs(90)));
    assert_eq!(backup_pings[0].rid.as_deref(), Some("r1"));
    assert_eq!(
        ok(
            store.prune_heartbeat_pings(&name("report"), 1).await,
            "prune"
        ),
        2
    );
    assert_eq!(
        ok(store.heartbeat_pings(&name("report"), 10).await, "pings").len(),
        1
    );
    assert_eq!(
        ok(store.heartbeats().await, "all")
            .iter()
            .map(|h| h.name.as_str().to_owned())
            .collect::<Vec<_>>(),
        ["backup", "report"]
    );
    // A batch bigger than one statement's chunk.
    let many: Vec<_> = (0..(crate::sql::HEARTBEAT_CHUNK as i64 * 2 + 7))
        .map(|i| hb_ping(&format!("job-{}", i % 300), K::Success, None, at(300 + i)))
        .collect();
    assert_eq!(
        ok(store.record_pings(&many).await, "many").len(),
        many.len()
    );
    assert_eq!(ok(store.heartbeats().await, "all").len(), 302);
}

/// Due heartbeats, the engine's compare-and-set on status, and the alert
/// flag that pings never touch.
pub async fn heartbeat_due_status_and_alert(store: Arc<dyn Store>) {
    use tocsin_domain::heartbeat::{PingKind as K, Status};
    ok(
        store
            .record_pings(&[hb_ping("backup", K::Success, None, at(0))])
            .await,
        "ping",
    );
    assert!(ok(store.heartbeats_due(at(3599)).await, "due").is_empty());
    let due = ok(store.heartbeats_due(at(3600)).await, "due");
    assert_eq!(due.len(), 1);
    let row = &due[0];
    assert!(
        ok(
            store
                .set_heartbeat_status(&row.name, row.version, Status::Down, None, at(3900))
                .await,
            "status"
        ),
        "at the version read"
    );
    assert!(
        !ok(
            store
                .set_heartbeat_status(&row.name, row.version, Status::Late, None, at(3900))
                .await,
            "stale"
        ),
        "a stale version writes nothing"
    );
    // Down without an alert: due until the alert is recorded.
    assert_eq!(ok(store.heartbeats_due(at(3900)).await, "due").len(), 1);
    ok(store.set_heartbeat_alert(&row.name, true).await, "alert");
    assert!(ok(store.heartbeats_due(at(3900)).await, "due").is_empty());
    // A ping keeps the alert flag: up with an open alert is due (resolve).
    ok(
        store
            .record_pings(&[hb_ping("backup", K::Success, None, at(4000))])
            .await,
        "ping",
    );
    let due = ok(store.heartbeats_due(at(4001)).await, "due");
    assert_eq!(due.len(), 1);
    assert!(due[0].alert_open);
    assert_eq!(due[0].status, Status::Up);
}
