//! SQL text that is the same on both backends (both accept `$1` parameters),
//! and the pure conversions from the rows it returns to domain values.
//!
//! Invariants:
//! - Every statement here runs unchanged on SQLite and PostgreSQL; a
//!   statement that needs dialect-specific syntax (the job claim, the check
//!   that the migrations table exists) lives in its backend crate instead.
//! - Timestamps are integer Unix milliseconds and JSON is `TEXT` on both
//!   backends, so a bound value has the same type everywhere.
//! - The `*Row` tuple types list the columns in the order the matching
//!   `SELECT`/`RETURNING` clause names them; backends decode into them with
//!   `query_as` and call the `*_from_row` functions, so decoding rules (kind
//!   and name parsing, JSON, timestamps) exist once.
//! - Nothing here names sqlx.

use crate::Backend;
use crate::StoreError;
use crate::account::{Account, Session};
use crate::audit::{AuditQuery, AuditRecord};
use crate::escalation::TimelineRecord;
use crate::heartbeat::{HeartbeatRecord, PingRecord};
use crate::ingest::{AlertRecord, EventRecord, IncidentRecord};
use crate::job::{ClaimedJob, JobState};
use crate::notify::{DeliveryState, NotificationRecord, Purpose};
use crate::response::{
    ActionItemQuery, ActionItemRecord, IncidentFilter, MAX_SEARCH_WORDS, ReviewRecord, RoleRecord,
    UpdateRecord,
};
use crate::runbook::{RunOutcome, RunbookRunRecord};
use crate::token::TokenRecord;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use tocsin_domain::Name;
use tocsin_domain::Severity;
use tocsin_domain::access::Role;
use tocsin_domain::alerting::{AlertState, AlertStatus, IncidentState, IncidentStatus};
use tocsin_domain::audit::{AuditEntry, Interface};
use tocsin_domain::catalog::Kind;
use tocsin_domain::heartbeat::{PingKind, State as HeartbeatState, Status as HeartbeatStatus};
use tocsin_domain::noise::Muted;
use tocsin_domain::plan::Current;
use tocsin_domain::response::{Audience, Lifecycle, Role as IncidentRole, UpdateState};
use tocsin_domain::token::TokenScope;

// ---------------------------------------------------------------------------
// Health and migrations
// ---------------------------------------------------------------------------

/// The readiness round trip.
pub const PING: &str = "SELECT 1";

/// Versions recorded by sqlx's migrator. Only successful ones count: a failed
/// migration leaves a row with `success = false`, and the schema is then not
/// at that version. (`WHERE success` works on SQLite, where it is an integer.)
pub const APPLIED_MIGRATIONS: &str =
    "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";

// ---------------------------------------------------------------------------
// Catalog
// ---------------------------------------------------------------------------

/// Every object, in no order: [`sort_objects`] orders them in Rust, because
/// `ORDER BY name` would follow the database's collation, which on
/// PostgreSQL is usually not bytewise (`a-c` after `ab`), unlike SQLite.
pub const LIST_OBJECTS: &str = "SELECT id, kind, name, spec, managed, source, secret, version \
     FROM catalog_objects";

/// `$1` kind. Unordered, like [`LIST_OBJECTS`].
pub const LIST_OBJECTS_OF_KIND: &str = "SELECT id, kind, name, spec, managed, source, secret, \
     version FROM catalog_objects WHERE kind = $1";

/// `$1` kind, `$2` name.
pub const GET_OBJECT: &str = "SELECT id, kind, name, spec, managed, source, secret, version \
     FROM catalog_objects WHERE kind = $1 AND name = $2";

/// `$1` id, `$2` kind, `$3` name, `$4` spec, `$5` managed, `$6` source,
/// `$7` secret, `$8` now. A new object starts at version 1.
pub const INSERT_OBJECT: &str = "INSERT INTO catalog_objects \
     (id, kind, name, spec, managed, source, secret, version, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8)";

/// Compare-and-set on the version: `$1` id, `$2` expected version, `$3` spec,
/// `$4` managed, `$5` source, `$6` secret (NULL keeps the stored one), `$7`
/// now. Zero rows changed means the object moved or vanished.
pub const UPDATE_OBJECT: &str = "UPDATE catalog_objects \
     SET spec = $3, managed = $4, source = $5, secret = COALESCE($6, secret), \
         version = version + 1, updated_at = $7 \
     WHERE id = $1 AND version = $2";

/// Compare-and-set on the version: `$1` id, `$2` expected version.
pub const DELETE_OBJECT: &str = "DELETE FROM catalog_objects WHERE id = $1 AND version = $2";

/// What an id names, to word a conflict message: `$1` id.
pub const OBJECT_KIND_NAME: &str = "SELECT kind, name FROM catalog_objects WHERE id = $1";

/// Columns of [`LIST_OBJECTS`], [`LIST_OBJECTS_OF_KIND`] and [`GET_OBJECT`]:
/// id, kind, name, spec (JSON text), managed, source, secret, version.
pub type ObjectRow = (
    String,
    String,
    String,
    String,
    bool,
    Option<String>,
    Option<String>,
    i64,
);

pub fn object_from_row(row: ObjectRow) -> Result<Current, StoreError> {
    let (id, kind, name, spec, managed, source, secret, version) = row;
    Ok(Current {
        kind: parse_kind(&kind)?,
        name: parse_name(&name)?,
        spec: serde_json::from_str(&spec).map_err(|e| {
            StoreError::Corrupt(format!("catalog object {id}: spec is not JSON: {e}"))
        })?,
        id,
        managed,
        source,
        version,
        secret,
    })
}

/// Orders objects by kind (in [`Kind::ALL`] order: the order they are
/// created in, not alphabetical) then by name, bytewise ([`Name`]'s order),
/// so both backends list the same way whatever their collation.
pub fn sort_objects(objects: &mut [Current]) {
    objects.sort_by(|a, b| (kind_rank(a.kind), &a.name).cmp(&(kind_rank(b.kind), &b.name)));
}

fn kind_rank(kind: Kind) -> usize {
    Kind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(Kind::ALL.len())
}

/// The conflict for a create whose kind and name are taken.
pub fn already_exists(kind: Kind, name: &Name) -> StoreError {
    StoreError::Conflict(format!("{} \"{name}\" already exists", kind.label()))
}

/// The conflict for an update or delete whose expected version is stale.
/// `found` is what [`OBJECT_KIND_NAME`] returned for the id, if anything.
pub fn changed_since_read(id: &str, found: Option<(String, String)>) -> StoreError {
    match found {
        Some((kind, name)) => {
            let label = Kind::parse(&kind).map_or(kind.clone(), |k| k.label().to_owned());
            StoreError::Conflict(format!(
                "{label} \"{name}\" changed since it was read; run plan again"
            ))
        }
        None => StoreError::Conflict(format!(
            "object {id} was deleted since it was read; run plan again"
        )),
    }
}

// ---------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------

/// `$1` id, `$2` name, `$3` scope, `$4` digest, `$5` owner, `$6` now. The
/// partial unique index on live names turns a duplicate live name into a
/// unique violation.
pub const INSERT_TOKEN: &str = "INSERT INTO api_tokens \
     (id, name, scope, digest, owner, created_at) VALUES ($1, $2, $3, $4, $5, $6)";

/// Finds and marks a live token in one statement: `$1` digest, `$2` now.
pub const USE_TOKEN: &str = "UPDATE api_tokens SET last_used_at = $2 \
     WHERE digest = $1 AND revoked_at IS NULL \
     RETURNING id, name, scope, owner, created_at, last_used_at, revoked_at";

pub const LIST_TOKENS: &str = "SELECT id, name, scope, owner, created_at, last_used_at, \
     revoked_at FROM api_tokens ORDER BY created_at, id";

/// `$1` name, `$2` now.
pub const REVOKE_TOKEN: &str = "UPDATE api_tokens SET revoked_at = $2 \
     WHERE name = $1 AND revoked_at IS NULL";

/// Columns of [`USE_TOKEN`] and [`LIST_TOKENS`]: id, name, scope, owner,
/// created_at, last_used_at, revoked_at.
pub type TokenRow = (
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
);

pub fn token_from_row(row: TokenRow) -> Result<TokenRecord, StoreError> {
    let (id, name, scope, owner, created_at, last_used_at, revoked_at) = row;
    let scope = TokenScope::parse(&scope)
        .ok_or_else(|| StoreError::Corrupt(format!("token {id}: unknown scope {scope:?}")))?;
    Ok(TokenRecord {
        name,
        scope,
        owner: owner.as_deref().map(parse_user).transpose()?,
        created_at: timestamp(created_at)?,
        last_used_at: last_used_at.map(timestamp).transpose()?,
        revoked_at: revoked_at.map(timestamp).transpose()?,
        id,
    })
}

/// The conflict for a token whose name a live token already has.
pub fn token_name_taken(name: &str) -> StoreError {
    StoreError::Conflict(format!(
        "a live token named \"{name}\" already exists; revoke it first or pick another name"
    ))
}

// ---------------------------------------------------------------------------
// Accounts and sessions
// ---------------------------------------------------------------------------

/// `$1` user, `$2` role, `$3` password hash, `$4` now. The primary key turns
/// a second account for a user into a unique violation.
pub const INSERT_ACCOUNT: &str = "INSERT INTO accounts \
     (user_name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)";

/// `$1` user.
pub const GET_ACCOUNT: &str = "SELECT user_name, role, password_hash, created_at, updated_at \
     FROM accounts WHERE user_name = $1";

/// Every account, in no order: [`sort_accounts`] orders them bytewise, as
/// for catalog objects.
pub const LIST_ACCOUNTS: &str = "SELECT user_name, role, password_hash, created_at, updated_at \
     FROM accounts";

pub const COUNT_ACCOUNTS: &str = "SELECT COUNT(*) FROM accounts";

/// `$1` user, `$2` password hash, `$3` now. Zero rows: no such account.
pub const SET_PASSWORD: &str = "UPDATE accounts SET password_hash = $2, updated_at = $3 \
     WHERE user_name = $1";

/// `$1` user, `$2` role, `$3` now. Zero rows: no such account.
pub const SET_ROLE: &str = "UPDATE accounts SET role = $2, updated_at = $3 WHERE user_name = $1";

/// Ends every session of a user: `$1` user.
pub const DELETE_USER_SESSIONS: &str = "DELETE FROM sessions WHERE user_name = $1";

/// `$1` digest, `$2` user, `$3` csrf, `$4` now, `$5` expires_at. A user
/// without an account is a foreign-key violation, a digest in use a unique
/// violation.
pub const INSERT_SESSION: &str = "INSERT INTO sessions \
     (digest, user_name, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";

/// A live session with its account's current role: `$1` digest, `$2` now.
/// A session is live while `now < expires_at`.
pub const GET_SESSION: &str = "SELECT s.user_name, a.role, s.csrf, s.created_at, s.expires_at \
     FROM sessions s JOIN accounts a ON a.user_name = s.user_name \
     WHERE s.digest = $1 AND s.expires_at > $2";

/// `$1` digest, `$2` expires_at.
pub const EXTEND_SESSION: &str = "UPDATE sessions SET expires_at = $2 WHERE digest = $1";

/// `$1` digest.
pub const DELETE_SESSION: &str = "DELETE FROM sessions WHERE digest = $1";

/// Sessions no longer live at `$1` now (the complement of [`GET_SESSION`]).
pub const PURGE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= $1";

/// Columns of [`GET_ACCOUNT`] and [`LIST_ACCOUNTS`]: user_name, role,
/// password_hash, created_at, updated_at.
pub type AccountRow = (String, String, String, i64, i64);

pub fn account_from_row(row: AccountRow) -> Result<Account, StoreError> {
    let (user, role, password_hash, created_at, updated_at) = row;
    Ok(Account {
        role: parse_role(&user, &role)?,
        user: parse_user(&user)?,
        password_hash,
        created_at: timestamp(created_at)?,
        updated_at: timestamp(updated_at)?,
    })
}

/// Orders accounts by user name, bytewise ([`Name`]'s order), whatever the
/// database collation.
pub fn sort_accounts(accounts: &mut [Account]) {
    accounts.sort_by(|a, b| a.user.cmp(&b.user));
}

/// Columns of [`GET_SESSION`]: user_name, role, csrf, created_at, expires_at.
pub type SessionRow = (String, String, String, i64, i64);

pub fn session_from_row(row: SessionRow) -> Result<Session, StoreError> {
    let (user, role, csrf, created_at, expires_at) = row;
    Ok(Session {
        role: parse_role(&user, &role)?,
        user: parse_user(&user)?,
        csrf,
        created_at: timestamp(created_at)?,
        expires_at: timestamp(expires_at)?,
    })
}

/// The conflict for a second account for one user.
pub fn account_exists(user: &Name) -> StoreError {
    StoreError::Conflict(format!("user \"{user}\" already has an account"))
}

/// The conflict for a session of a user who has no account (or whose
/// account went away).
pub fn no_account(user: &Name) -> StoreError {
    StoreError::Conflict(format!("user \"{user}\" has no account"))
}

/// The conflict for a session digest already in use.
pub fn session_exists() -> StoreError {
    StoreError::Conflict("a session with this digest already exists".to_owned())
}

// ---------------------------------------------------------------------------
// Audit log
// ---------------------------------------------------------------------------

/// `$1` at, `$2` actor, `$3` interface, `$4` action, `$5` object_kind,
/// `$6` object_name, `$7` detail (JSON text).
pub const INSERT_AUDIT: &str = "INSERT INTO audit_log \
     (at, actor, interface, action, object_kind, object_name, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Newest first, each filter skipped when its parameter is NULL: `$1`
/// actor, `$2` interface, `$3` action prefix, `$4` object_kind, `$5`
/// object_name, `$6` before id, `$7` limit. The prefix is compared with
/// `substr`, not `LIKE`, so `%` and `_` in it are literal (and both
/// backends count characters the same way).
pub const LIST_AUDIT: &str = "SELECT id, at, actor, interface, action, object_kind, \
     object_name, detail FROM audit_log \
     WHERE ($1 IS NULL OR actor = $1) \
       AND ($2 IS NULL OR interface = $2) \
       AND ($3 IS NULL OR substr(action, 1, length($3)) = $3) \
       AND ($4 IS NULL OR object_kind = $4) \
       AND ($5 IS NULL OR object_name = $5) \
       AND ($6 IS NULL OR id < $6) \
     ORDER BY id DESC \
     LIMIT $7";

/// The most entries one [`LIST_AUDIT`] returns, whatever the query asks.
pub const MAX_AUDIT_LIMIT: u32 = 1000;

/// The `$7` of [`LIST_AUDIT`]: the query's limit, capped at
/// [`MAX_AUDIT_LIMIT`].
pub fn audit_limit(query: &AuditQuery) -> i64 {
    i64::from(query.limit.min(MAX_AUDIT_LIMIT))
}

/// The values an entry binds to [`INSERT_AUDIT`] after `at`: actor,
/// interface, action, object_kind, object_name, detail (JSON text).
pub fn audit_values(
    entry: &AuditEntry,
) -> (&str, &'static str, &str, Option<&str>, Option<&str>, String) {
    (
        entry.actor.as_str(),
        entry.interface.as_str(),
        entry.action.as_str(),
        entry.object_kind.as_deref(),
        entry.object_name.as_deref(),
        entry.detail.to_string(),
    )
}

/// Columns of [`LIST_AUDIT`]: id, at, actor, interface, action,
/// object_kind, object_name, detail (JSON text).
pub type AuditRow = (
    i64,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

pub fn audit_from_row(row: AuditRow) -> Result<AuditRecord, StoreError> {
    let (id, at, actor, interface, action, object_kind, object_name, detail) = row;
    Ok(AuditRecord {
        id,
        at: timestamp(at)?,
        entry: AuditEntry {
            actor,
            interface: Interface::parse(&interface).ok_or_else(|| {
                StoreError::Corrupt(format!("audit entry {id}: unknown interface {interface:?}"))
            })?,
            action,
            object_kind,
            object_name,
            detail: serde_json::from_str(&detail).map_err(|e| {
                StoreError::Corrupt(format!("audit entry {id}: detail is not JSON: {e}"))
            })?,
        },
    })
}

// ---------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------

/// `$1` kind, `$2` key, `$3` payload, `$4` due_at, `$5` now. The first job
/// with a key wins; a second enqueue changes nothing (zero rows).
pub const ENQUEUE_JOB: &str = "INSERT INTO jobs \
     (kind, key, payload, state, attempts, due_at, created_at, updated_at) \
     VALUES ($1, $2, $3, 'pending', 0, $4, $5, $5) \
     ON CONFLICT (key) DO NOTHING";

/// Compare-and-set on the lease: `$1` id, `$2` worker, `$3` now. The
/// worker's name stays in `lease_owner` as a record of who finished it.
pub const COMPLETE_JOB: &str = "UPDATE jobs \
     SET state = 'done', lease_until = NULL, updated_at = $3 \
     WHERE id = $1 AND state = 'running' AND lease_owner = $2";

/// Compare-and-set on the lease: `$1` id, `$2` worker, `$3` retry_at,
/// `$4` error, `$5` now. The lease is cleared so any worker may run it next.
pub const RETRY_JOB: &str = "UPDATE jobs \
     SET state = 'pending', due_at = $3, lease_owner = NULL, lease_until = NULL, \
         last_error = $4, updated_at = $5 \
     WHERE id = $1 AND state = 'running' AND lease_owner = $2";

/// Compare-and-set on the lease: `$1` id, `$2` worker, `$3` error, `$4` now.
pub const BURY_JOB: &str = "UPDATE jobs \
     SET state = 'dead', lease_until = NULL, last_error = $3, updated_at = $4 \
     WHERE id = $1 AND state = 'running' AND lease_owner = $2";

/// Compare-and-set on the lease: `$1` id, `$2` worker, `$3` until.
pub const RENEW_LEASE: &str = "UPDATE jobs SET lease_until = $3 \
     WHERE id = $1 AND state = 'running' AND lease_owner = $2";

/// `$1` key.
pub const JOB_BY_KEY: &str = "SELECT id, kind, key, state, attempts, due_at, lease_owner, \
     last_error FROM jobs WHERE key = $1";

/// `$1` before.
/// The earliest due time (pending) or lease end (running), or NULL. Both
/// halves use the `(state, due_at)` index or a scan of running jobs, which
/// are few.
pub const NEXT_DUE_AT: &str = "SELECT MIN(t) FROM ( \
     SELECT MIN(due_at) AS t FROM jobs WHERE state = 'pending' \
     UNION ALL SELECT MIN(lease_until) AS t FROM jobs WHERE state = 'running') AS due";

pub const PURGE_DONE_JOBS: &str = "DELETE FROM jobs WHERE state = 'done' AND updated_at < $1";

/// Columns a claim returns: id, kind, key, payload (JSON text), due_at,
/// attempts, lease_until. The claim statements live in the backends.
pub type ClaimedRow = (i64, String, String, String, i64, i32, i64);

pub fn claimed_from_row(row: ClaimedRow) -> Result<ClaimedJob, StoreError> {
    let (id, kind, key, payload, due_at, attempts, lease_until) = row;
    Ok(ClaimedJob {
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("job {id}: payload is not JSON: {e}")))?,
        due_at: timestamp(due_at)?,
        lease_until: timestamp(lease_until)?,
        id,
        kind,
        key,
        attempts,
    })
}

/// Claims come back from `UPDATE ... RETURNING` in no particular order;
/// this restores "oldest due first" (ties by id, the enqueue order).
pub fn sort_claimed(jobs: &mut [ClaimedJob]) {
    jobs.sort_by_key(|j| (j.due_at, j.id));
}

/// Columns of [`JOB_BY_KEY`]: id, kind, key, state, attempts, due_at,
/// lease_owner, last_error.
pub type JobStateRow = (
    i64,
    String,
    String,
    String,
    i32,
    i64,
    Option<String>,
    Option<String>,
);

pub fn job_state_from_row(row: JobStateRow) -> Result<JobState, StoreError> {
    let (id, kind, key, state, attempts, due_at, lease_owner, last_error) = row;
    Ok(JobState {
        id,
        kind,
        key,
        state,
        attempts,
        due_at: timestamp(due_at)?,
        lease_owner,
        last_error,
    })
}

// ---------------------------------------------------------------------------
// Engine locks
// ---------------------------------------------------------------------------

/// Takes a free or expired lock, or renews one the holder already has, in one
/// statement: `$1` name, `$2` holder, `$3` expires_at, `$4` now. When another
/// holder's lock is still live the `WHERE` of the update is false and zero
/// rows change. The version counts hand-overs and renewals, for operators.
pub const TRY_LOCK: &str = "INSERT INTO engine_locks (name, holder, expires_at, version) \
     VALUES ($1, $2, $3, 1) \
     ON CONFLICT (name) DO UPDATE \
     SET holder = excluded.holder, expires_at = excluded.expires_at, \
         version = engine_locks.version + 1 \
     WHERE engine_locks.holder = excluded.holder OR engine_locks.expires_at <= $4";

/// `$1` name, `$2` holder. Releasing a lock one does not hold changes nothing.
pub const RELEASE_LOCK: &str = "DELETE FROM engine_locks WHERE name = $1 AND holder = $2";

// ---------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// Ingestion
// ---------------------------------------------------------------------------

/// An incident read with the given `WHERE` clause; columns in
/// [`IncidentRow`] order.
macro_rules! const_format_incidents {
    ($where:literal) => {
        concat!(
            "SELECT id, service, title, severity, status, group_key, created_at, \
             acknowledged_at, resolved_at, open_alerts, paged, escalation_run, summary, \
             closed_at, merged_into FROM incidents ",
            $where
        )
    };
}

/// `$1` service: its incidents that are not resolved.
pub const OPEN_INCIDENTS_OF_SERVICE: &str =
    const_format_incidents!("WHERE service = $1 AND status <> 'resolved'");

/// `$1` id.
pub const INCIDENT_BY_ID: &str = const_format_incidents!("WHERE id = $1");

/// `$1` service (NULL for any), `$2` open only, `$3` before id (NULL for
/// none), `$4` limit. Newest first.
pub const LIST_INCIDENTS: &str = const_format_incidents!(
    "WHERE ($1 IS NULL OR service = $1) AND ($2 = FALSE OR status <> 'resolved') \
     AND ($3 IS NULL OR id < $3) ORDER BY id DESC LIMIT $4"
);

/// `$1` service, `$2` title, `$3` severity, `$4` status, `$5` group key,
/// `$6` created_at, `$7` acknowledged_at, `$8` resolved_at, `$9` open
/// alerts, `$10` paged, `$11` now.
pub const INSERT_INCIDENT: &str = "INSERT INTO incidents \
     (service, title, severity, status, group_key, created_at, acknowledged_at, resolved_at, \
      open_alerts, paged, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

/// `$1` id, `$2` severity, `$3` status, `$4` acknowledged_at, `$5`
/// resolved_at, `$6` open alerts, `$7` now. An incident that is no longer
/// resolved is no longer closed either.
pub const UPDATE_INCIDENT: &str = "UPDATE incidents SET severity = $2, status = $3, \
     acknowledged_at = $4, resolved_at = $5, open_alerts = $6, updated_at = $7, \
     closed_at = CASE WHEN $3 = 'resolved' THEN closed_at ELSE NULL END WHERE id = $1";

/// A status change by hand, compare-and-set on the status and run it was
/// read with: `$1` id, `$2` new status, `$3` acknowledged_at, `$4`
/// resolved_at, `$5` new run, `$6` open alerts (NULL: unchanged), `$7`
/// now, `$8` expected status, `$9` expected run. A reopen clears
/// `closed_at`, so a reopened incident resolved again is not closed.
pub const CHANGE_INCIDENT: &str = "UPDATE incidents SET status = $2, acknowledged_at = $3, \
     resolved_at = $4, escalation_run = $5, open_alerts = COALESCE($6, open_alerts), \
     updated_at = $7, closed_at = CASE WHEN $2 = 'resolved' THEN closed_at ELSE NULL END \
     WHERE id = $1 AND status = $8 AND escalation_run = $9";

/// `$1` incident, `$2` now: its alerts that are not resolved become resolved.
pub const RESOLVE_ALERTS_OF_INCIDENT: &str = "UPDATE alerts SET status = 'resolved', \
     last_seen = $2 WHERE incident_id = $1 AND status <> 'resolved'";

/// id, service, title, severity, status, group key, created_at,
/// acknowledged_at, resolved_at, open alerts, paged, escalation run,
/// summary, closed_at, merged_into.
pub type IncidentRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
    bool,
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// Columns of alert reads, in [`AlertRow`] order.
macro_rules! alert_select {
    ($where:literal) => {
        concat!(
            "SELECT id, service, dedup_key, status, severity, summary, group_key, labels, count, \
             first_seen, last_seen, incident_id, muted_by FROM alerts",
            $where
        )
    };
}

/// `$1` service, `$2` dedup key: the alert that is not resolved, if any.
pub const LIVE_ALERT_BY_KEY: &str =
    alert_select!(" WHERE service = $1 AND dedup_key = $2 AND status <> 'resolved'");

/// Most rows in one multi-row statement: keeps every statement well under
/// SQLite's default limit of 32,766 bound parameters.
pub const MAX_ROWS_PER_STATEMENT: usize = 500;

/// How a dynamic multi-row statement names its parameters: PostgreSQL
/// needs `$1, $2, …`; SQLite takes plain `?`, which sqlx-sqlite binds in
/// constant time per parameter (for `$N` it looks each name up, and SQLite
/// finds a name by scanning all of them: quadratic in a 5,000-parameter
/// statement).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Params {
    Numbered,
    Anonymous,
}

impl Params {
    fn name(self, i: usize) -> String {
        match self {
            Params::Numbered => format!("${i}"),
            Params::Anonymous => "?".to_owned(),
        }
    }
}

/// `(p, p, …), …` for `rows` rows of `width` parameters, numbered after
/// parameter `k`.
fn values(p: Params, rows: usize, width: usize, k: usize) -> String {
    let mut out = String::with_capacity(rows * width * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&p.name(k + r * width + c + 1));
        }
        out.push(')');
    }
    out
}

/// The live alerts of one service for `n` dedup keys: bind the service,
/// then the keys. Shaped so both databases use the partial unique index on
/// `(service, dedup_key)` (a row-value `IN (VALUES …)` made SQLite scan the
/// table).
pub fn live_alerts_by_keys(p: Params, n: usize) -> String {
    let keys: Vec<String> = (0..n).map(|i| p.name(i + 2)).collect();
    format!(
        "{} WHERE status <> 'resolved' AND service = {} AND dedup_key IN ({})",
        alert_select!(""),
        p.name(1),
        keys.join(", ")
    )
}

/// A new alert of an ingest batch, ready to bind.
#[derive(Debug, Clone)]
pub struct AlertInsert {
    pub service: String,
    pub dedup_key: String,
    pub status: &'static str,
    pub severity: String,
    pub summary: String,
    pub group_key: Option<String>,
    /// JSON.
    pub labels: String,
    pub count: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub incident_id: Option<i64>,
    pub muted_by: Option<String>,
}

/// A change to an existing alert of an ingest batch, ready to bind.
#[derive(Debug, Clone)]
pub struct AlertUpdate {
    pub id: i64,
    pub status: &'static str,
    pub severity: String,
    pub summary: String,
    pub count: i64,
    pub last_seen: i64,
    pub incident_id: Option<i64>,
    /// JSON.
    pub labels: String,
    pub muted_by: Option<String>,
}

/// Updates `n` alerts in one statement, SQLite's way (`UPDATE … FROM
/// (VALUES …)`, whose columns are `column1`…), each bound in
/// [`AlertUpdate`]'s field order. PostgreSQL's is in its dialect.
pub fn update_alerts_sqlite(n: usize) -> String {
    format!(
        "UPDATE alerts SET status = v.column2, severity = v.column3, summary = v.column4, \
         count = v.column5, last_seen = v.column6, incident_id = v.column7, \
         labels = v.column8, muted_by = v.column9 \
         FROM (VALUES {}) AS v WHERE alerts.id = v.column1",
        values(Params::Anonymous, n, 9, 0)
    )
}

/// An event of an ingest batch, ready to bind.
#[derive(Debug, Clone)]
pub struct EventInsert {
    pub received_at: i64,
    pub integration: String,
    pub service: String,
    pub action: String,
    pub dedup_key: String,
    pub alert_id: Option<i64>,
    pub incident_id: Option<i64>,
    /// The normalized event as JSON.
    pub body: String,
    pub request_id: Option<String>,
}

/// Inserts `n` alerts, each bound in [`AlertInsert`]'s field order; returns `id,
/// service, dedup_key` per row, in no particular order (SQLite does not
/// promise one): map them back by key, which is unique among live alerts.
pub fn insert_alerts(p: Params, n: usize) -> String {
    format!(
        "INSERT INTO alerts (service, dedup_key, status, severity, summary, group_key, labels, \
         count, first_seen, last_seen, incident_id, muted_by) VALUES {} \
         RETURNING id, service, dedup_key",
        values(p, n, 12, 0)
    )
}

/// Inserts `n` events, each bound in [`EventInsert`]'s field order.
pub fn insert_events(p: Params, n: usize) -> String {
    format!(
        "INSERT INTO events (received_at, integration, service, action, dedup_key, alert_id, \
         incident_id, body, request_id) VALUES {}",
        values(p, n, 9, 0)
    )
}

/// `$1` incident id, oldest first.
pub const ALERTS_OF_INCIDENT: &str = alert_select!(" WHERE incident_id = $1 ORDER BY id");

/// `$1` id: one alert.
pub const ALERT_BY_ID: &str = alert_select!(" WHERE id = $1");

/// `$1` limit: alerts not resolved, newest first.
pub const OPEN_ALERTS: &str =
    alert_select!(" WHERE status <> 'resolved' ORDER BY id DESC LIMIT $1");

/// id, service, dedup key, status, severity, summary, group key, labels
/// (JSON), count, first_seen, last_seen, incident id, muted by.
pub type AlertRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
    Option<String>,
);

macro_rules! event_select {
    ($where:literal) => {
        concat!(
            "SELECT id, received_at, integration, service, body, alert_id, incident_id FROM events ",
            $where
        )
    };
}

/// `$1` incident id, `$2` limit: oldest first.
pub const EVENTS_OF_INCIDENT: &str = event_select!("WHERE incident_id = $1 ORDER BY id LIMIT $2");

/// `$1` service, `$2` since, `$3` limit: change events, newest first.
pub const CHANGES_OF_SERVICE: &str = event_select!(
    "WHERE service = $1 AND action = 'change' AND received_at >= $2 ORDER BY id DESC LIMIT $3"
);

pub const COUNT_EVENTS: &str = "SELECT COUNT(*) FROM events";

/// `$1` request id: the first event stored under it.
pub const EVENT_BY_REQUEST: &str = event_select!("WHERE request_id = $1 ORDER BY id LIMIT 1");

/// id, received_at, integration, service, body, alert id, incident id.
pub type EventRow = (i64, i64, String, String, String, Option<i64>, Option<i64>);

fn parse_severity(s: &str) -> Result<Severity, StoreError> {
    Severity::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown severity {s:?}")))
}

pub fn incident_from_row(row: IncidentRow) -> Result<IncidentRecord, StoreError> {
    let (
        id,
        service,
        title,
        severity,
        status,
        group,
        created,
        acked,
        resolved,
        open,
        paged,
        run,
        summary,
        closed,
        merged_into,
    ) = row;
    let status = match status.as_str() {
        "triggered" => IncidentStatus::Triggered,
        "acknowledged" => IncidentStatus::Acknowledged,
        "resolved" => IncidentStatus::Resolved,
        other => {
            return Err(StoreError::Corrupt(format!(
                "incident {id}: unknown status {other:?}"
            )));
        }
    };
    Ok(IncidentRecord {
        number: id,
        service: parse_name(&service)?,
        title,
        severity: parse_severity(&severity)?,
        status,
        group,
        created_at: timestamp(created)?,
        acknowledged_at: acked.map(timestamp).transpose()?,
        resolved_at: resolved.map(timestamp).transpose()?,
        open_alerts: open,
        paged,
        escalation_run: run,
        summary,
        closed_at: closed.map(timestamp).transpose()?,
        merged_into,
    })
}

pub fn alert_status(s: &str) -> Result<AlertStatus, StoreError> {
    match s {
        "open" => Ok(AlertStatus::Open),
        "acknowledged" => Ok(AlertStatus::Acknowledged),
        "resolved" => Ok(AlertStatus::Resolved),
        other => Err(StoreError::Corrupt(format!(
            "unknown alert status {other:?}"
        ))),
    }
}

/// An alert row and its labels, as the rules see it (`incident` left for
/// the caller to map from the id to a snapshot index).
pub fn alert_state_from_row(row: AlertRow) -> Result<(AlertState, Option<i64>), StoreError> {
    let (
        id,
        service,
        dedup_key,
        status,
        severity,
        summary,
        group,
        labels,
        count,
        first,
        last,
        inc,
        muted,
    ) = row;
    let labels = serde_json::from_str(&labels)
        .map_err(|e| StoreError::Corrupt(format!("alert {id}: labels are not JSON: {e}")))?;
    Ok((
        AlertState {
            id: Some(id),
            service: parse_name(&service)?,
            dedup_key,
            status: alert_status(&status)?,
            severity: parse_severity(&severity)?,
            summary,
            group,
            labels,
            count,
            first_seen: timestamp(first)?,
            last_seen: timestamp(last)?,
            incident: None,
            muted: muted.as_deref().and_then(Muted::from_stored),
            dirty: false,
        },
        inc,
    ))
}

pub fn alert_from_row(row: AlertRow) -> Result<AlertRecord, StoreError> {
    let (state, incident) = alert_state_from_row(row)?;
    Ok(AlertRecord {
        id: state.id.unwrap_or_default(),
        service: state.service,
        dedup_key: state.dedup_key,
        status: state.status,
        severity: state.severity,
        summary: state.summary,
        count: state.count,
        first_seen: state.first_seen,
        last_seen: state.last_seen,
        incident,
        labels: state.labels,
        muted: state.muted,
    })
}

pub fn event_from_row(row: EventRow) -> Result<EventRecord, StoreError> {
    let (id, received, integration, service, body, alert_id, incident) = row;
    Ok(EventRecord {
        id,
        received_at: timestamp(received)?,
        integration: parse_name(&integration)?,
        service: parse_name(&service)?,
        event: serde_json::from_str(&body)
            .map_err(|e| StoreError::Corrupt(format!("event {id}: body is not an event: {e}")))?,
        alert_id,
        incident,
    })
}

/// An incident as the rules see it.
pub fn incident_state(r: &IncidentRecord) -> IncidentState {
    IncidentState {
        id: Some(r.number),
        service: r.service.clone(),
        title: r.title.clone(),
        severity: r.severity,
        status: r.status,
        group: r.group.clone(),
        created_at: r.created_at,
        acknowledged_at: r.acknowledged_at,
        resolved_at: r.resolved_at,
        open_alerts: r.open_alerts,
        paged: r.paged,
        run: r.escalation_run,
        dirty: false,
    }
}

/// A timestamp as stored: Unix milliseconds (sub-millisecond precision is
/// dropped).
pub fn millis(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// `t + d` in stored milliseconds, saturating: a lease or TTL so long that it
/// overflows means "never expires", not an error.
pub fn millis_after(t: Timestamp, d: SignedDuration) -> i64 {
    let d =
        i64::try_from(d.as_millis()).unwrap_or(if d.is_negative() { i64::MIN } else { i64::MAX });
    t.as_millisecond().saturating_add(d)
}

/// A stored timestamp back into a [`Timestamp`]; out of range means a row
/// written by something other than tocsin.
pub fn timestamp(ms: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_millisecond(ms)
        .map_err(|e| StoreError::Corrupt(format!("timestamp {ms} ms is out of range: {e}")))
}

fn parse_kind(s: &str) -> Result<Kind, StoreError> {
    Kind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown object kind {s:?}")))
}

pub fn parse_name(s: &str) -> Result<Name, StoreError> {
    Name::parse(s).map_err(|e| StoreError::Corrupt(format!("object name {s:?} {e}")))
}

fn parse_user(s: &str) -> Result<Name, StoreError> {
    Name::parse(s).map_err(|e| StoreError::Corrupt(format!("user name {s:?} {e}")))
}

fn parse_role(user: &str, role: &str) -> Result<Role, StoreError> {
    Role::parse(role)
        .ok_or_else(|| StoreError::Corrupt(format!("account {user:?}: unknown role {role:?}")))
}

// ---------------------------------------------------------------------------
// Escalation
// ---------------------------------------------------------------------------

/// `$1` incident, `$2` at, `$3` kind, `$4` actor, `$5` detail (JSON), `$6` key.
pub const INSERT_TIMELINE: &str = "INSERT INTO timeline (incident_id, at, kind, actor, detail, key) \
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key) DO NOTHING";

/// `$1` incident: oldest first.
pub const TIMELINE_OF_INCIDENT: &str = "SELECT id, incident_id, at, kind, actor, detail \
     FROM timeline WHERE incident_id = $1 ORDER BY at, id";

/// id, incident, at, kind, actor, detail (JSON).
pub type TimelineRow = (i64, i64, i64, String, String, String);

/// `$1` incident: by due time.
pub const INTENTS_OF_INCIDENT: &str = "SELECT id, incident_id, user_name, contact, kind, address, \
     due_at, level, cycle, state FROM notifications WHERE incident_id = $1 \
     ORDER BY due_at, id";

/// id, incident, user, contact, kind, address, due_at, level, cycle, state.
pub type IntentRow = (
    i64,
    i64,
    Option<String>,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    String,
);

// ---------------------------------------------------------------------------
// Notifications (the outbox)
// ---------------------------------------------------------------------------

/// `$1` incident, `$2` purpose, `$3` user, `$4` contact, `$5` kind, `$6`
/// address, `$7` due_at, `$8` level, `$9` cycle, `$10` previous, `$11` now,
/// `$12` key.
pub const INSERT_NOTIFICATION: &str = "INSERT INTO notifications \
     (incident_id, purpose, user_name, contact, kind, address, due_at, level, cycle, state, \
      attempts, previous, created_at, updated_at, key, text) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $10, $11, $11, $12, $13) \
     ON CONFLICT (key) DO NOTHING";

/// `$1` key: the notification's own text (an update's, a reminder's).
pub const NOTIFICATION_TEXT: &str = "SELECT text FROM notifications WHERE key = $1";

/// Columns of notification reads, in [`NotificationRow`] order.
macro_rules! notification_select {
    ($where:literal) => {
        concat!(
            "SELECT incident_id, purpose, user_name, contact, kind, address, due_at, state, \
             attempts, last_error, reference, previous, bundle, created_at, lease_until, key \
             FROM notifications ",
            $where
        )
    };
}

/// `$1` key.
pub const NOTIFICATION_BY_KEY: &str = notification_select!("WHERE key = $1");

/// `$1` kind, `$2` address, `$3` now, `$4` limit: due and not yet sent.
pub const DUE_FOR_DESTINATION: &str = notification_select!(
    "WHERE kind = $1 AND address = $2 AND state IN ('queued', 'failed') AND due_at <= $3 \
     ORDER BY due_at, id LIMIT $4"
);

/// `$1` incident, `$2` purpose (NULL for any): oldest first.
pub const NOTIFICATIONS_OF_INCIDENT: &str =
    notification_select!("WHERE incident_id = $1 AND ($2 IS NULL OR purpose = $2) ORDER BY id");

/// `$1` limit: newest first.
pub const DEAD_NOTIFICATIONS: &str =
    notification_select!("WHERE state = 'dead' ORDER BY updated_at DESC, id DESC LIMIT $1");

/// incident, purpose, user, contact, kind, address, due_at, state,
/// attempts, last error, reference, previous, bundle, created_at,
/// lease_until, key.
pub type NotificationRow = (
    i64,
    String,
    Option<String>,
    String,
    String,
    String,
    i64,
    String,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    String,
);

pub fn notification_from_row(row: NotificationRow) -> Result<NotificationRecord, StoreError> {
    let (
        incident,
        purpose,
        user,
        contact,
        kind,
        address,
        due,
        state,
        attempts,
        last_error,
        reference,
        previous,
        bundle,
        created,
        lease,
        key,
    ) = row;
    Ok(NotificationRecord {
        incident,
        purpose: Purpose::parse(&purpose).ok_or_else(|| {
            StoreError::Corrupt(format!("notification {key}: unknown purpose {purpose:?}"))
        })?,
        user: user.as_deref().map(parse_name).transpose()?,
        contact,
        kind,
        address,
        due_at: timestamp(due)?,
        state: DeliveryState::parse(&state).ok_or_else(|| {
            StoreError::Corrupt(format!("notification {key}: unknown state {state:?}"))
        })?,
        attempts,
        last_error,
        reference,
        previous,
        bundle,
        created_at: timestamp(created)?,
        lease_until: lease.map(timestamp).transpose()?,
        key,
    })
}

/// `$1` key, `$2` now, `$3` hold until: into sending with one more
/// attempt, if it waits or an earlier attempt's hold ran out.
pub const START_ATTEMPT: &str = "UPDATE notifications \
     SET state = 'sending', attempts = attempts + 1, lease_until = $3, updated_at = $2 \
     WHERE key = $1 AND (state IN ('queued', 'failed') OR (state = 'sending' AND lease_until <= $2))";

/// `$1` key, `$2` new state, `$3` error, `$4` reference, `$5` bundle, `$6`
/// delivered_at, `$7` due_at (NULL: unchanged), `$8` now: an attempt's end,
/// only for a notification that is sending (or, to cancel, queued/failed).
pub const FINISH_ATTEMPT: &str = "UPDATE notifications \
     SET state = $2, last_error = COALESCE($3, last_error), reference = COALESCE($4, reference), \
         bundle = COALESCE($5, bundle), delivered_at = COALESCE($6, delivered_at), \
         due_at = COALESCE($7, due_at), lease_until = NULL, updated_at = $8 \
     WHERE key = $1 AND state IN ('queued', 'failed', 'sending')";

/// Takes a send slot (the generic cell rate algorithm) in one statement:
/// `$1` kind, `$2` address, `$3` now, `$4` interval, `$5` tolerance
/// (interval × (burst − 1)), all in ms. Returns the new theoretical
/// arrival time when a message may go now; no row when it may not.
pub const TAKE_SEND_SLOT: &str = "INSERT INTO notify_destinations (kind, address, tat) \
     VALUES ($1, $2, $3 + $4) \
     ON CONFLICT (kind, address) DO UPDATE \
     SET tat = (CASE WHEN notify_destinations.tat > $3 THEN notify_destinations.tat ELSE $3 END) + $4 \
     WHERE (CASE WHEN notify_destinations.tat > $3 THEN notify_destinations.tat ELSE $3 END) - $3 <= $5 \
     RETURNING tat";

/// `$1` kind, `$2` address: the destination's theoretical arrival time.
pub const DESTINATION_TAT: &str =
    "SELECT tat FROM notify_destinations WHERE kind = $1 AND address = $2";

/// `$1` name, `$2` value, `$3` now: the first value wins.
pub const INSERT_INSTANCE_SECRET: &str = "INSERT INTO instance_secrets (name, value, created_at) \
     VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";

/// `$1` name.
pub const INSTANCE_SECRET: &str = "SELECT value FROM instance_secrets WHERE name = $1";

// ---------------------------------------------------------------------------
// Chat front ends
// ---------------------------------------------------------------------------

/// `$1` receipt, `$2` now. Affects one row the first time only.
pub const INSERT_CHAT_RECEIPT: &str = "INSERT INTO chat_receipts (receipt, received_at) \
     VALUES ($1, $2) ON CONFLICT (receipt) DO NOTHING";

/// `$1` before.
pub const PURGE_CHAT_RECEIPTS: &str = "DELETE FROM chat_receipts WHERE received_at < $1";

/// `$1` name.
pub const CHAT_CURSOR: &str = "SELECT value FROM chat_cursors WHERE name = $1";

/// `$1` name, `$2` value, `$3` now.
pub const SET_CHAT_CURSOR: &str = "INSERT INTO chat_cursors (name, value, updated_at) \
     VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";

/// `$1` platform, `$2` worst severity (`sev2`: sev1 and sev2 — the labels
/// sort as the severities do), `$3` limit.
pub const INCIDENTS_NEEDING_ROOM: &str = "SELECT i.id FROM incidents i \
     WHERE i.status IN ('triggered', 'acknowledged') AND i.merged_into IS NULL \
     AND i.severity <= $2 \
     AND NOT EXISTS (SELECT 1 FROM incident_rooms r \
                     WHERE r.incident_id = i.id AND r.platform = $1) \
     ORDER BY i.id LIMIT $3";

/// `$1` incident, `$2` platform, `$3` room, `$4` now.
pub const INSERT_INCIDENT_ROOM: &str = "INSERT INTO incident_rooms \
     (incident_id, platform, room, created_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (incident_id, platform) DO NOTHING";

/// `$1` incident, `$2` platform. Columns in [`RoomRow`] order.
pub const INCIDENT_ROOM: &str = "SELECT incident_id, platform, room, created_at, \
     mirrored_through, invited FROM incident_rooms WHERE incident_id = $1 AND platform = $2";

/// `$1` platform, `$2` resolved since, `$3` limit. Columns in [`RoomRow`]
/// order.
pub const ROOMS_TO_TEND: &str = "SELECT r.incident_id, r.platform, r.room, r.created_at, \
     r.mirrored_through, r.invited FROM incident_rooms r \
     JOIN incidents i ON i.id = r.incident_id \
     WHERE r.platform = $1 AND i.closed_at IS NULL \
     AND (i.status <> 'resolved' OR i.resolved_at >= $2) \
     ORDER BY r.incident_id LIMIT $3";

/// `$1` incident, `$2` platform, `$3` mirrored through, `$4` invited (JSON).
pub const ADVANCE_INCIDENT_ROOM: &str = "UPDATE incident_rooms \
     SET mirrored_through = CASE WHEN mirrored_through > $3 THEN mirrored_through ELSE $3 END, \
     invited = $4 WHERE incident_id = $1 AND platform = $2";

/// An incident room as read.
pub type RoomRow = (i64, String, String, i64, i64, String);

pub fn room_from_row(r: RoomRow) -> Result<crate::RoomRecord, StoreError> {
    let (incident, platform, room, created_at, mirrored_through, invited) = r;
    Ok(crate::RoomRecord {
        incident,
        platform,
        room,
        created_at: timestamp(created_at)?,
        mirrored_through,
        invited: serde_json::from_str(&invited).map_err(|e| {
            StoreError::Corrupt(format!(
                "incident room {incident}: invited is not a JSON list: {e}"
            ))
        })?,
    })
}

// ---------------------------------------------------------------------------
// Incident response
// ---------------------------------------------------------------------------

/// A declared incident: `$1` service, `$2` title, `$3` severity, `$4`
/// status, `$5` acknowledged_at, `$6` paged, `$7` summary, `$8` now (its
/// creation). It holds no alert yet.
pub const INSERT_DECLARED_INCIDENT: &str = "INSERT INTO incidents \
     (service, title, severity, status, group_key, created_at, acknowledged_at, resolved_at, \
      open_alerts, paged, updated_at, summary) \
     VALUES ($1, $2, $3, $4, NULL, $8, $5, NULL, 0, $6, $8, $7) RETURNING id";

/// `$1` id: its primary service, to tell that it exists.
pub const INCIDENT_SERVICE: &str = "SELECT service FROM incidents WHERE id = $1";

/// Compare-and-set on the severity: `$1` id, `$2` expected severity, `$3`
/// new severity, `$4` now.
pub const SET_SEVERITY: &str = "UPDATE incidents SET severity = $3, updated_at = $4 \
     WHERE id = $1 AND severity = $2";

/// `$1` id, `$2` title (NULL: unchanged), `$3` summary (NULL: unchanged),
/// `$4` now.
pub const DESCRIBE_INCIDENT: &str = "UPDATE incidents \
     SET title = COALESCE($2, title), summary = COALESCE($3, summary), updated_at = $4 \
     WHERE id = $1";

/// `$1` incident, `$2` service.
pub const ADD_INCIDENT_SERVICE: &str = "INSERT INTO incident_services (incident_id, service) \
     VALUES ($1, $2) ON CONFLICT (incident_id, service) DO NOTHING";

/// `$1` incident: the services it touches besides its own, in no order.
pub const SERVICES_OF_INCIDENT: &str =
    "SELECT service FROM incident_services WHERE incident_id = $1";

/// `$1` incident, `$2` role: who holds it.
pub const ROLE_HOLDERS: &str =
    "SELECT user_name FROM incident_roles WHERE incident_id = $1 AND role = $2";

/// `$1` incident, `$2` role, `$3` user, `$4` assigned_at, `$5` assigned_by.
/// A person who already holds the role keeps it as it was. A second holder
/// of a single-holder role violates the partial unique index
/// `incident_roles_single` (the store hands over by deleting first).
pub const INSERT_ROLE: &str = "INSERT INTO incident_roles \
     (incident_id, role, user_name, assigned_at, assigned_by) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (incident_id, role, user_name) DO NOTHING";

/// `$1` incident, `$2` role, `$3` user.
pub const DELETE_ROLE: &str =
    "DELETE FROM incident_roles WHERE incident_id = $1 AND role = $2 AND user_name = $3";

/// `$1` incident, `$2` role: every holder.
pub const DELETE_ROLE_HOLDERS: &str =
    "DELETE FROM incident_roles WHERE incident_id = $1 AND role = $2";

/// `$1` incident, in no order ([`sort_roles`] orders them).
pub const ROLES_OF_INCIDENT: &str = "SELECT role, user_name, assigned_at, assigned_by \
     FROM incident_roles WHERE incident_id = $1";

/// role, user, assigned_at, assigned_by.
pub type RoleRow = (String, String, i64, String);

/// `$1` incident, `$2` entry, `$3` pinned. Zero rows: no such entry of that
/// incident.
pub const PIN_ENTRY: &str = "UPDATE timeline SET pinned = $3 WHERE id = $2 AND incident_id = $1";

/// `$1` incident: ids of its pinned entries, oldest first.
pub const PINNED_OF_INCIDENT: &str =
    "SELECT id FROM timeline WHERE incident_id = $1 AND pinned ORDER BY id";

/// `$1` incident, `$2` stakeholder, `$3` now.
pub const ADD_STAKEHOLDER: &str = "INSERT INTO incident_stakeholders \
     (incident_id, stakeholder, added_at) VALUES ($1, $2, $3) \
     ON CONFLICT (incident_id, stakeholder) DO NOTHING";

/// `$1` incident, `$2` stakeholder.
pub const REMOVE_STAKEHOLDER: &str =
    "DELETE FROM incident_stakeholders WHERE incident_id = $1 AND stakeholder = $2";

/// `$1` incident: stakeholder, added_at, in no order (ordered in Rust by
/// when they were added, then bytewise).
pub const STAKEHOLDERS_OF_INCIDENT: &str =
    "SELECT stakeholder, added_at FROM incident_stakeholders WHERE incident_id = $1";

/// `$1` incident, `$2` every_minutes, `$3` next_due_at.
pub const SET_CADENCE: &str = "INSERT INTO incident_cadence \
     (incident_id, every_minutes, next_due_at) VALUES ($1, $2, $3) \
     ON CONFLICT (incident_id) DO UPDATE \
     SET every_minutes = excluded.every_minutes, next_due_at = excluded.next_due_at";

/// `$1` incident, `$2` next_due_at (NULL: none due): only when it has a
/// cadence.
pub const MOVE_CADENCE_DUE: &str = "UPDATE incident_cadence SET next_due_at = $2 \
     WHERE incident_id = $1 AND every_minutes IS NOT NULL";

/// `$1` incident: every_minutes, next_due_at.
pub const CADENCE_OF_INCIDENT: &str =
    "SELECT every_minutes, next_due_at FROM incident_cadence WHERE incident_id = $1";

/// `$1` incident, `$2` at, `$3` author, `$4` state, `$5` audience, `$6`
/// body, `$7` key. Zero rows: an update with this key exists.
pub const INSERT_UPDATE: &str = "INSERT INTO incident_updates \
     (incident_id, at, author, state, audience, body, key) VALUES ($1, $2, $3, $4, $5, $6, $7) \
     ON CONFLICT (key) DO NOTHING";

/// `$1` incident: oldest first.
pub const UPDATES_OF_INCIDENT: &str = "SELECT id, incident_id, at, author, state, audience, \
     body FROM incident_updates WHERE incident_id = $1 ORDER BY at, id";

/// id, incident, at, author, state, audience, body.
pub type UpdateRow = (i64, i64, i64, String, String, String, String);

/// `$1` incident: how many of its alerts are not resolved.
pub const COUNT_OPEN_ALERTS_OF_INCIDENT: &str =
    "SELECT COUNT(*) FROM alerts WHERE incident_id = $1 AND status <> 'resolved'";

/// `$1` from, `$2` into: every alert of one incident moves to another.
pub const MOVE_ALERTS: &str = "UPDATE alerts SET incident_id = $2 WHERE incident_id = $1";

/// The merged-away side, compare-and-set on it not being resolved: `$1`
/// id, `$2` merged into, `$3` resolved_at, `$4` now.
pub const MERGE_AWAY: &str = "UPDATE incidents SET status = 'resolved', resolved_at = $3, \
     open_alerts = 0, merged_into = $2, updated_at = $4 WHERE id = $1 AND status <> 'resolved'";

/// The merged-into side, compare-and-set on it being neither resolved nor
/// merged: `$1` id, `$2` open alerts it gains, `$3` now.
pub const MERGE_INTO: &str = "UPDATE incidents SET open_alerts = open_alerts + $2, \
     updated_at = $3 WHERE id = $1 AND status <> 'resolved' AND merged_into IS NULL";

/// Compare-and-set on being resolved and not closed: `$1` id, `$2`
/// closed_at, `$3` now.
pub const CLOSE_INCIDENT: &str = "UPDATE incidents SET closed_at = $2, updated_at = $3 \
     WHERE id = $1 AND status = 'resolved' AND closed_at IS NULL";

/// The first version of a review: `$1` incident, `$2` doc (JSON), `$3`
/// done, `$4` now, `$5` by. Zero rows: one exists (a concurrent first save).
pub const INSERT_REVIEW: &str = "INSERT INTO incident_reviews \
     (incident_id, doc, done, version, updated_at, updated_by) VALUES ($1, $2, $3, 1, $4, $5) \
     ON CONFLICT (incident_id) DO NOTHING";

/// Compare-and-set on the version: `$1` incident, `$2` doc (JSON), `$3`
/// done, `$4` now, `$5` by, `$6` expected version.
pub const UPDATE_REVIEW: &str = "UPDATE incident_reviews \
     SET doc = $2, done = $3, version = version + 1, updated_at = $4, updated_by = $5 \
     WHERE incident_id = $1 AND version = $6";

/// `$1` incident.
pub const REVIEW_OF_INCIDENT: &str = "SELECT incident_id, doc, done, version, updated_at, \
     updated_by FROM incident_reviews WHERE incident_id = $1";

/// incident, doc (JSON), done, version, updated_at, updated_by.
pub type ReviewRow = (i64, String, bool, i64, i64, String);

/// `$1` incident, `$2` title, `$3` owner, `$4` team, `$5` due_on
/// (`YYYY-MM-DD`), `$6` now.
pub const INSERT_ACTION_ITEM: &str = "INSERT INTO action_items \
     (incident_id, title, owner, team, due_on, done_at, reminded_at, created_at) \
     VALUES ($1, $2, $3, $4, $5, NULL, NULL, $6) RETURNING id";

/// `$1` id, `$2` done_at: an item already done keeps its first time.
pub const ACTION_ITEM_DONE: &str =
    "UPDATE action_items SET done_at = COALESCE(done_at, $2) WHERE id = $1";

/// `$1` id.
pub const ACTION_ITEM_REOPEN: &str = "UPDATE action_items SET done_at = NULL WHERE id = $1";

/// `$1` id, `$2` reminded_at.
pub const ACTION_ITEM_REMINDED: &str = "UPDATE action_items SET reminded_at = $2 WHERE id = $1";

/// id, incident, title, owner, team, due_on, done_at, reminded_at,
/// created_at.
pub type ActionItemRow = (
    i64,
    i64,
    String,
    String,
    Option<String>,
    String,
    Option<i64>,
    Option<i64>,
    i64,
);

/// `$1` incident, `$2` after id, `$3` limit: by id (the order they were
/// written), which is what a cursor needs.
pub const TIMELINE_AFTER: &str = "SELECT id, incident_id, at, kind, actor, detail \
     FROM timeline WHERE incident_id = $1 AND id > $2 ORDER BY id LIMIT $3";

/// The most rows a list of incidents or action items returns.
pub const MAX_LIST_LIMIT: u32 = 1000;

/// A value bound to a statement built at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bind {
    Int(i64),
    Text(String),
}

/// A statement built at run time from a filter: its text, with `$1`,
/// `$2`, … for `binds` in order. Only the filters asked for appear in the
/// text, so each database plans the statement with the indexes that fit
/// (a fixed text with `$1 IS NULL OR …` would plan for the worst case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub text: String,
    pub binds: Vec<Bind>,
}

impl Built {
    fn new(text: &str) -> Self {
        Built {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    /// Adds a value; returns its parameter's name.
    fn param(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }

    fn params(&mut self, values: impl IntoIterator<Item = Bind>) -> String {
        let names: Vec<String> = values.into_iter().map(|b| self.param(b)).collect();
        names.join(", ")
    }

    /// ` WHERE a AND b …`, or nothing.
    fn conditions(&mut self, conditions: &[String]) {
        if !conditions.is_empty() {
            self.text.push_str(" WHERE ");
            self.text.push_str(&conditions.join(" AND "));
        }
    }
}

/// A `LIKE` pattern matching text that contains `word` (lowercased by the
/// database, see [`search_incidents`]): `\`, `%` and `_` in it are escaped
/// with `\`, so they match themselves.
pub fn like_contains(word: &str) -> String {
    let mut out = String::with_capacity(word.len() + 2);
    out.push('%');
    for c in word.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The words of a search text: split on whitespace, each once, at most
/// [`MAX_SEARCH_WORDS`].
pub fn search_words(text: &str) -> Vec<&str> {
    let mut words: Vec<&str> = Vec::new();
    for w in text.split_whitespace() {
        if !words.contains(&w) && words.len() < MAX_SEARCH_WORDS {
            words.push(w);
        }
    }
    words
}

/// The incident list with [`IncidentFilter`]'s filters, columns in
/// [`IncidentRow`] order, newest first.
///
/// Each filter becomes a condition only when given:
/// - lifecycle: `status`, plus `closed_at` telling closed from resolved
///   (index `incidents_status_id`);
/// - severities: `severity IN (…)` (`incidents_severity_id`);
/// - services: the primary service (`incidents_service_id`) or an added
///   one (`incident_services_service`);
/// - from/until: `created_at` (`incidents_created`);
/// - text: every word as `lower(title) LIKE lower($n) ESCAPE '\'` or the
///   same on the summary — the pattern from [`like_contains`], so `%` and
///   `_` are literal, and `lower()` on both sides, so a word typed as
///   stored always matches and A–Z fold on both backends (SQLite's
///   `lower()` folds nothing else; PostgreSQL's folds as its locale does).
///   No index serves a substring; the keyset below bounds the scan;
/// - before_number: `id < $n`, the keyset on the primary key, which with
///   `ORDER BY id DESC LIMIT` lets an unfiltered page read `limit` rows.
pub fn search_incidents(filter: &IncidentFilter) -> Built {
    let mut b = Built::new(const_format_incidents!(""));
    let mut conds: Vec<String> = Vec::new();
    if !filter.lifecycle.is_empty() {
        let mut any: Vec<&str> = Vec::new();
        for l in &filter.lifecycle {
            let c = match l {
                Lifecycle::Triggered => "status = 'triggered'",
                Lifecycle::Acknowledged => "status = 'acknowledged'",
                Lifecycle::Resolved => "(status = 'resolved' AND closed_at IS NULL)",
                Lifecycle::Closed => "(status = 'resolved' AND closed_at IS NOT NULL)",
            };
            if !any.contains(&c) {
                any.push(c);
            }
        }
        conds.push(format!("({})", any.join(" OR ")));
    }
    if !filter.severities.is_empty() {
        let list = b.params(filter.severities.iter().map(|s| Bind::Text(s.to_string())));
        conds.push(format!("severity IN ({list})"));
    }
    if !filter.services.is_empty() {
        let list = b.params(
            filter
                .services
                .iter()
                .map(|s| Bind::Text(s.as_str().to_owned())),
        );
        conds.push(format!(
            "(service IN ({list}) OR id IN \
             (SELECT incident_id FROM incident_services WHERE service IN ({list})))"
        ));
    }
    if let Some(from) = filter.from {
        let p = b.param(Bind::Int(millis(from)));
        conds.push(format!("created_at >= {p}"));
    }
    if let Some(until) = filter.until {
        let p = b.param(Bind::Int(millis(until)));
        conds.push(format!("created_at < {p}"));
    }
    for word in filter.text.as_deref().map(search_words).unwrap_or_default() {
        let p = b.param(Bind::Text(like_contains(word)));
        conds.push(format!(
            "(lower(title) LIKE lower({p}) ESCAPE '\\' OR lower(summary) LIKE lower({p}) ESCAPE '\\')"
        ));
    }
    if let Some(before) = filter.before_number {
        let p = b.param(Bind::Int(before));
        conds.push(format!("id < {p}"));
    }
    b.conditions(&conds);
    let limit = b.param(Bind::Int(i64::from(filter.limit.clamp(1, MAX_LIST_LIMIT))));
    b.text.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
    b
}

/// Action items with [`ActionItemQuery`]'s filters, columns in
/// [`ActionItemRow`] order, by due date then id. Dates are `YYYY-MM-DD`
/// text, whose order is the dates' order. Indexes: `action_items_incident`,
/// `action_items_team`, `action_items_owner` (each then by due date), and
/// `action_items_open_due` (partial: open items by due date).
pub fn list_action_items(query: &ActionItemQuery) -> Built {
    let mut b = Built::new(
        "SELECT id, incident_id, title, owner, team, due_on, done_at, reminded_at, created_at \
         FROM action_items",
    );
    let mut conds: Vec<String> = Vec::new();
    if let Some(incident) = query.incident {
        let p = b.param(Bind::Int(incident));
        conds.push(format!("incident_id = {p}"));
    }
    if let Some(team) = &query.team {
        let p = b.param(Bind::Text(team.as_str().to_owned()));
        conds.push(format!("team = {p}"));
    }
    if let Some(owner) = &query.owner {
        let p = b.param(Bind::Text(owner.as_str().to_owned()));
        conds.push(format!("owner = {p}"));
    }
    if query.open_only || query.due_before.is_some() {
        conds.push("done_at IS NULL".to_owned());
    }
    if let Some(due) = query.due_before {
        let p = b.param(Bind::Text(due.to_string()));
        conds.push(format!("due_on < {p}"));
    }
    b.conditions(&conds);
    let limit = b.param(Bind::Int(i64::from(query.limit.clamp(1, MAX_LIST_LIMIT))));
    b.text
        .push_str(&format!(" ORDER BY due_on, id LIMIT {limit}"));
    b
}

fn parse_role_word(s: &str) -> Result<IncidentRole, StoreError> {
    IncidentRole::parse(s)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown incident role {s:?}")))
}

pub fn role_from_row(row: RoleRow) -> Result<RoleRecord, StoreError> {
    let (role, user, at, by) = row;
    Ok(RoleRecord {
        role: parse_role_word(&role)?,
        user: parse_user(&user)?,
        assigned_at: timestamp(at)?,
        assigned_by: by,
    })
}

/// Roles in [`IncidentRole::ALL`] order (commander first), then by when
/// they were given, then by name, whatever the database returned.
pub fn sort_roles(roles: &mut [RoleRecord]) {
    roles.sort_by(|a, b| (a.role, a.assigned_at, &a.user).cmp(&(b.role, b.assigned_at, &b.user)));
}

pub fn update_from_row(row: UpdateRow) -> Result<UpdateRecord, StoreError> {
    let (id, incident, at, author, state, audience, body) = row;
    Ok(UpdateRecord {
        id,
        incident,
        at: timestamp(at)?,
        author,
        state: UpdateState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("update {id}: unknown state {state:?}")))?,
        audience: Audience::parse(&audience).ok_or_else(|| {
            StoreError::Corrupt(format!("update {id}: unknown audience {audience:?}"))
        })?,
        body,
    })
}

pub fn review_from_row(row: ReviewRow) -> Result<ReviewRecord, StoreError> {
    let (incident, doc, done, version, updated_at, updated_by) = row;
    Ok(ReviewRecord {
        incident,
        doc: serde_json::from_str(&doc).map_err(|e| {
            StoreError::Corrupt(format!(
                "review of incident {incident}: doc is not JSON: {e}"
            ))
        })?,
        done,
        version,
        updated_at: timestamp(updated_at)?,
        updated_by,
    })
}

/// A date as stored: `YYYY-MM-DD`.
pub fn date_text(d: Date) -> String {
    d.to_string()
}

fn parse_date(s: &str) -> Result<Date, StoreError> {
    s.parse()
        .map_err(|e| StoreError::Corrupt(format!("date {s:?} is not YYYY-MM-DD: {e}")))
}

pub fn action_item_from_row(row: ActionItemRow) -> Result<ActionItemRecord, StoreError> {
    let (id, incident, title, owner, team, due_on, done_at, reminded_at, created_at) = row;
    Ok(ActionItemRecord {
        id,
        incident,
        title,
        owner: parse_user(&owner)?,
        team: team.as_deref().map(parse_name).transpose()?,
        due_on: parse_date(&due_on)?,
        done_at: done_at.map(timestamp).transpose()?,
        reminded_at: reminded_at.map(timestamp).transpose()?,
        created_at: timestamp(created_at)?,
    })
}

pub fn timeline_from_row(row: TimelineRow) -> Result<TimelineRecord, StoreError> {
    let (id, incident, at, kind, actor, detail) = row;
    Ok(TimelineRecord {
        id,
        incident,
        at: timestamp(at)?,
        kind,
        actor,
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::Corrupt(format!("timeline {id}: detail: {e}")))?,
    })
}

// ---------------------------------------------------------------------------
// Runbook runs
// ---------------------------------------------------------------------------

/// The most runs [`RUNBOOK_RUNS_RECENT`] returns.
pub const MAX_RUNBOOK_RUNS: u32 = 500;

/// `$1` id, `$2` action, `$3` command, `$4` incident, `$5` actor, `$6` via,
/// `$7` started_at, `$8` detail (JSON): nothing when the id exists.
pub const INSERT_RUNBOOK_RUN: &str = "INSERT INTO runbook_runs \
     (id, action, command, incident_id, actor, via, started_at, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING";

/// `$1` id, `$2` finished_at, `$3` outcome, `$4` detail (JSON): only a run
/// without an outcome.
pub const FINISH_RUNBOOK_RUN: &str = "UPDATE runbook_runs \
     SET finished_at = $2, outcome = $3, detail = $4 \
     WHERE id = $1 AND finished_at IS NULL";

macro_rules! runbook_run_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, action, command, incident_id, actor, via, started_at, finished_at, \
             outcome, detail FROM runbook_runs ",
            $rest
        )
    };
}

/// `$1` id.
pub const RUNBOOK_RUN_BY_ID: &str = runbook_run_select!("WHERE id = $1");

/// `$1` limit: newest first.
pub const RUNBOOK_RUNS_RECENT: &str =
    runbook_run_select!("ORDER BY started_at DESC, id DESC LIMIT $1");

/// id, action, command, incident, actor, via, started_at, finished_at,
/// outcome, detail (JSON).
pub type RunbookRunRow = (
    String,
    String,
    String,
    Option<i64>,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
    String,
);

/// The limit bound to [`RUNBOOK_RUNS_RECENT`]: at least 1, at most
/// [`MAX_RUNBOOK_RUNS`].
pub fn runbook_runs_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_RUNBOOK_RUNS))
}

pub fn runbook_run_from_row(row: RunbookRunRow) -> Result<RunbookRunRecord, StoreError> {
    let (id, action, command, incident, actor, via, started, finished, outcome, detail) = row;
    let outcome = outcome
        .map(|o| {
            RunOutcome::parse(&o).ok_or_else(|| {
                StoreError::Corrupt(format!("runbook run {id:?}: unknown outcome {o:?}"))
            })
        })
        .transpose()?;
    let detail = serde_json::from_str(&detail)
        .map_err(|e| StoreError::Corrupt(format!("runbook run {id:?}: detail: {e}")))?;
    Ok(RunbookRunRecord {
        action: parse_name(&action)?,
        command,
        incident,
        actor,
        via,
        started_at: timestamp(started)?,
        finished_at: finished.map(timestamp).transpose()?,
        outcome,
        detail,
        id,
    })
}

// ---------------------------------------------------------------------------
// Heartbeats
// ---------------------------------------------------------------------------

// The statements a batch of pings runs are generated for its size, and
// are the one place here whose text differs by backend: their parameters
// are numbered `?n` on SQLite and `$n` on PostgreSQL (see `param`).

/// The most pings [`heartbeat_pings_limit`] lets one read return.
pub const MAX_HEARTBEAT_PINGS: u32 = 1000;

/// The most rows one generated heartbeat statement carries (a batch of
/// pings is written in chunks of this many): well under SQLite's bound
/// parameter limit.
pub const HEARTBEAT_CHUNK: usize = 200;

/// A numbered parameter: `$n`, or `?n` on SQLite, whose parser looks a
/// `$n` up among the names seen so far (quadratic in a statement of a
/// thousand parameters) but takes `?n` as a number. Both mean the same
/// bound value; sqlx binds either by its number.
fn param(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => format!("?{n}"),
        Backend::Postgres => format!("${n}"),
    }
}

/// `($1, $2, …), (…)`: `rows` groups of `cols` numbered parameters, each
/// group followed by `tail` (literal columns) before its closing
/// parenthesis.
fn value_groups(backend: Backend, rows: usize, cols: usize, tail: &str) -> String {
    let mut s = String::with_capacity(rows * cols * 6);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push_str(&param(backend, r * cols + c + 1));
        }
        s.push_str(tail);
        s.push(')');
    }
    s
}

macro_rules! heartbeat_select {
    ($rest:literal) => {
        concat!(
            "SELECT name, state, status, last_ping_at, check_at, alert_open, version, \
             updated_at FROM heartbeats ",
            $rest
        )
    };
}

/// Every heartbeat row, by name.
pub const HEARTBEATS_ALL: &str = heartbeat_select!("ORDER BY name");

/// `$1` name.
pub const HEARTBEAT_BY_NAME: &str = heartbeat_select!("WHERE name = $1");

/// `$1` now: rows whose status time may have changed, or whose alert
/// does not follow their status.
pub const HEARTBEATS_DUE: &str = heartbeat_select!(
    "WHERE (check_at IS NOT NULL AND check_at <= $1) \
     OR alert_open <> (status = 'down') ORDER BY name"
);

/// The rows of `n` named heartbeats (`$1`…`$n`), for a batch of pings.
pub fn heartbeats_named(backend: Backend, n: usize) -> String {
    let mut s = String::from(heartbeat_select!("WHERE name IN ("));
    for i in 1..=n {
        if i > 1 {
            s.push_str(", ");
        }
        s.push_str(&param(backend, i));
    }
    s.push(')');
    s
}

/// Inserts or updates `n` heartbeats' state after a batch of pings: per
/// row name, state (JSON), status, last_ping_at, check_at, updated_at.
/// A new row has no open alert and version 1; an existing one keeps its
/// `alert_open` and gets the next version.
pub fn upsert_heartbeats(backend: Backend, n: usize) -> String {
    format!(
        "INSERT INTO heartbeats \
         (name, state, status, last_ping_at, check_at, updated_at, alert_open, version) \
         VALUES {} \
         ON CONFLICT (name) DO UPDATE SET state = excluded.state, status = excluded.status, \
         last_ping_at = excluded.last_ping_at, check_at = excluded.check_at, \
         updated_at = excluded.updated_at, version = heartbeats.version + 1",
        value_groups(backend, n, 6, ", FALSE, 1")
    )
}

/// Inserts `n` pings: per row heartbeat, at, kind, exit_status, rid,
/// duration_ms, method, body, truncated.
pub fn insert_heartbeat_pings(backend: Backend, n: usize) -> String {
    format!(
        "INSERT INTO heartbeat_pings \
         (heartbeat, at, kind, exit_status, rid, duration_ms, method, body, truncated) \
         VALUES {}",
        value_groups(backend, n, 9, "")
    )
}

/// `$1` name, `$2` version read, `$3` status, `$4` check_at, `$5` now.
pub const SET_HEARTBEAT_STATUS: &str = "UPDATE heartbeats \
     SET status = $3, check_at = $4, updated_at = $5, version = version + 1 \
     WHERE name = $1 AND version = $2";

/// `$1` name, `$2` alert open.
pub const SET_HEARTBEAT_ALERT: &str = "UPDATE heartbeats SET alert_open = $2 WHERE name = $1";

/// `$1` heartbeat, `$2` limit: newest first.
pub const HEARTBEAT_PINGS_RECENT: &str = "SELECT id, heartbeat, at, kind, exit_status, rid, \
     duration_ms, method, body, truncated FROM heartbeat_pings \
     WHERE heartbeat = $1 ORDER BY id DESC LIMIT $2";

/// `$1` heartbeat, `$2` how many to keep.
pub const PRUNE_HEARTBEAT_PINGS: &str = "DELETE FROM heartbeat_pings \
     WHERE heartbeat = $1 AND id <= (SELECT id FROM heartbeat_pings \
     WHERE heartbeat = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)";

/// name, state (JSON), status, last_ping_at, check_at, alert_open,
/// version, updated_at.
pub type HeartbeatRow = (
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    bool,
    i64,
    i64,
);

/// id, heartbeat, at, kind, exit_status, rid, duration_ms, method, body,
/// truncated.
pub type HeartbeatPingRow = (
    i64,
    String,
    i64,
    String,
    Option<i64>,
    Option<String>,
    Option<i64>,
    String,
    String,
    bool,
);

/// The limit bound to [`HEARTBEAT_PINGS_RECENT`]: at least 1, at most
/// [`MAX_HEARTBEAT_PINGS`].
pub fn heartbeat_pings_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_HEARTBEAT_PINGS))
}

/// A state as stored (JSON).
pub fn heartbeat_state_json(state: &HeartbeatState) -> String {
    serde_json::to_string(state).unwrap_or_else(|_| "{}".into())
}

pub fn heartbeat_from_row(row: HeartbeatRow) -> Result<HeartbeatRecord, StoreError> {
    let (name, state, status, last_ping_at, check_at, alert_open, version, updated_at) = row;
    let state = serde_json::from_str(&state)
        .map_err(|e| StoreError::Corrupt(format!("heartbeat {name:?}: state: {e}")))?;
    let status = HeartbeatStatus::parse(&status).ok_or_else(|| {
        StoreError::Corrupt(format!("heartbeat {name:?}: unknown status {status:?}"))
    })?;
    Ok(HeartbeatRecord {
        name: parse_name(&name)?,
        state,
        status,
        last_ping_at: last_ping_at.map(timestamp).transpose()?,
        check_at: check_at.map(timestamp).transpose()?,
        alert_open,
        version,
        updated_at: timestamp(updated_at)?,
    })
}

pub fn heartbeat_ping_from_row(row: HeartbeatPingRow) -> Result<PingRecord, StoreError> {
    let (id, heartbeat, at, kind, exit_status, rid, duration_ms, method, body, truncated) = row;
    Ok(PingRecord {
        id,
        heartbeat: parse_name(&heartbeat)?,
        at: timestamp(at)?,
        kind: PingKind::parse(&kind).ok_or_else(|| {
            StoreError::Corrupt(format!("heartbeat ping {id}: unknown kind {kind:?}"))
        })?,
        exit_status: exit_status.and_then(|e| u8::try_from(e).ok()),
        rid,
        duration: duration_ms.map(SignedDuration::from_millis),
        method,
        body,
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_after_saturates() {
        let t = Timestamp::constant(1_700_000_000, 0);
        assert_eq!(
            millis_after(t, SignedDuration::from_secs(30)),
            1_700_000_030_000
        );
        assert_eq!(millis_after(t, SignedDuration::MAX), i64::MAX);
        assert_eq!(
            millis_after(t, SignedDuration::from_secs(-30)),
            1_699_999_970_000
        );
    }

    #[test]
    fn objects_sort_by_kind_then_name() {
        let obj = |kind, name: &str| Current {
            id: name.to_owned(),
            kind,
            name: Name::parse(name).unwrap_or_else(|e| unreachable!("{e}")),
            spec: serde_json::Value::Null,
            managed: false,
            source: None,
            version: 1,
            secret: None,
        };
        // In no particular order, as SQL returns them.
        let mut objects = vec![
            obj(Kind::Service, "a"),
            obj(Kind::User, "b"),
            obj(Kind::Team, "c"),
            obj(Kind::User, "d"),
        ];
        sort_objects(&mut objects);
        let got: Vec<_> = objects.iter().map(|o| (o.kind, o.name.as_str())).collect();
        assert_eq!(
            got,
            [
                (Kind::User, "b"),
                (Kind::User, "d"),
                (Kind::Team, "c"),
                (Kind::Service, "a")
            ]
        );
    }

    #[test]
    fn bad_rows_are_corrupt() {
        let row = (
            "x".to_owned(),
            "gadget".to_owned(),
            "a".to_owned(),
            "{}".to_owned(),
            true,
            None,
            None,
            1,
        );
        assert!(matches!(object_from_row(row), Err(StoreError::Corrupt(_))));
        let row = (
            "x".to_owned(),
            "n".to_owned(),
            "root".to_owned(),
            None,
            0,
            None,
            None,
        );
        assert!(matches!(token_from_row(row), Err(StoreError::Corrupt(_))));
        let row = (
            "x".to_owned(),
            "n".to_owned(),
            "read".to_owned(),
            Some("Not A Name".to_owned()),
            0,
            None,
            None,
        );
        assert!(matches!(token_from_row(row), Err(StoreError::Corrupt(_))));
        let account = |role: &str| ("alice".to_owned(), role.to_owned(), "hash".to_owned(), 0, 0);
        assert!(account_from_row(account("admin")).is_ok());
        assert!(matches!(
            account_from_row(account("root")),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            session_from_row(account("Admin")),
            Err(StoreError::Corrupt(_))
        ));
        let audit = |interface: &str, detail: &str| {
            (
                1,
                0,
                "alice".to_owned(),
                interface.to_owned(),
                "catalog.create".to_owned(),
                None,
                None,
                detail.to_owned(),
            )
        };
        assert!(audit_from_row(audit("ui", "{}")).is_ok());
        assert!(matches!(
            audit_from_row(audit("telnet", "{}")),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            audit_from_row(audit("ui", "{")),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_contains("down"), "%down%");
        assert_eq!(like_contains("100%"), "%100\\%%");
        assert_eq!(like_contains("a_b"), "%a\\_b%");
        assert_eq!(like_contains("c:\\x"), "%c:\\\\x%");
        assert_eq!(search_words("  a  b a\tc "), ["a", "b", "c"]);
        assert_eq!(search_words(&"w ".repeat(3)), ["w"]);
        let many: String = (0..20).map(|i| format!("w{i} ")).collect();
        assert_eq!(search_words(&many).len(), MAX_SEARCH_WORDS);
    }

    #[test]
    fn search_names_only_the_filters_given() {
        let all = search_incidents(&IncidentFilter::default());
        assert!(!all.text.contains("WHERE"), "{}", all.text);
        assert!(
            all.text.ends_with("ORDER BY id DESC LIMIT $1"),
            "{}",
            all.text
        );
        assert_eq!(all.binds, [Bind::Int(1)], "a limit of 0 is 1");
        let f = IncidentFilter {
            severities: vec![Severity::Sev1, Severity::Sev2],
            services: vec![Name::parse("web").unwrap_or_else(|e| unreachable!("{e}"))],
            text: Some("Disk 100%".into()),
            before_number: Some(7),
            limit: 5000,
            ..IncidentFilter::default()
        };
        let built = search_incidents(&f);
        assert!(
            built.text.contains("severity IN ($1, $2)"),
            "{}",
            built.text
        );
        assert!(
            built.text.contains("service IN ($3) OR id IN"),
            "{}",
            built.text
        );
        assert!(built.text.contains(
            "(lower(title) LIKE lower($4) ESCAPE '\\' OR lower(summary) LIKE lower($4) ESCAPE '\\')"
        ));
        assert!(built.text.contains("lower(summary) LIKE lower($5)"));
        assert!(built.text.contains("id < $6"));
        assert_eq!(
            built.binds,
            [
                Bind::Text("sev1".into()),
                Bind::Text("sev2".into()),
                Bind::Text("web".into()),
                Bind::Text("%Disk%".into()),
                Bind::Text("%100\\%%".into()),
                Bind::Int(7),
                Bind::Int(i64::from(MAX_LIST_LIMIT)),
            ]
        );
    }

    #[test]
    fn audit_limit_is_capped() {
        let q = |limit| AuditQuery {
            limit,
            ..AuditQuery::default()
        };
        assert_eq!(audit_limit(&q(0)), 0);
        assert_eq!(audit_limit(&q(50)), 50);
        assert_eq!(audit_limit(&q(u32::MAX)), i64::from(MAX_AUDIT_LIMIT));
    }
}
