//! The durable engine, on both backends: overdue work runs after a restart,
//! a dead worker's lease is taken over, two engines never run one job twice,
//! failures retry with backoff then die, and singleton modules run on one
//! engine at a time. Time is a [`ManualClock`]; nothing sleeps.
//!
//! PostgreSQL runs when `TOCSIN_TEST_POSTGRES_URL` is set (CI sets it); an
//! unreachable server then fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tocsin_core::clock::{Clock, ManualClock};
use tocsin_core::engine::{Engine, EngineConfig, JobError, JobHandler, Module};
use tocsin_store::{ClaimedJob, NewJob, Store};

#[macro_use]
mod support;
use support::*;

fn t0() -> Timestamp {
    "2026-03-29T00:30:00Z".parse().unwrap()
}

fn job(key: &str, due_at: Timestamp) -> NewJob {
    NewJob {
        kind: "test.record".into(),
        key: key.into(),
        payload: serde_json::json!({ "key": key }),
        due_at,
    }
}

/// Records every run; fails according to `outcome`.
#[derive(Debug)]
struct Recorder {
    runs: Mutex<Vec<String>>,
    outcome: fn(&ClaimedJob) -> Result<(), JobError>,
}

impl Recorder {
    fn ok() -> Arc<Self> {
        Arc::new(Recorder {
            runs: Mutex::new(Vec::new()),
            outcome: |_| Ok(()),
        })
    }

    fn failing(outcome: fn(&ClaimedJob) -> Result<(), JobError>) -> Arc<Self> {
        Arc::new(Recorder {
            runs: Mutex::new(Vec::new()),
            outcome,
        })
    }

    fn runs(&self) -> Vec<String> {
        self.runs.lock().unwrap().clone()
    }
}

#[async_trait]
impl JobHandler for Recorder {
    fn kind(&self) -> &'static str {
        "test.record"
    }

    async fn run(&self, job: &ClaimedJob) -> Result<(), JobError> {
        // Give the other engine a chance to race for the same job.
        tokio::task::yield_now().await;
        self.runs.lock().unwrap().push(job.key.clone());
        (self.outcome)(job)
    }
}

fn engine(
    store: &Arc<dyn Store>,
    clock: &ManualClock,
    worker: &str,
    handler: Arc<Recorder>,
) -> Engine {
    let config = EngineConfig {
        batch: 7,
        max_attempts: 3,
        ..EngineConfig::default()
    };
    Engine::new(store.clone(), Arc::new(clock.clone()), worker)
        .with_config(config)
        .with_handler(handler)
}

async fn restart_runs_overdue_work(db: Db) {
    let clock = ManualClock::new(t0());
    let first = db.open(true).await;
    let recorder = Recorder::ok();
    let before = engine(&first, &clock, "before-restart", recorder.clone());
    let due = t0().checked_add(SignedDuration::from_mins(5)).unwrap();
    assert!(
        first
            .enqueue_job(&job("escalate-8", due), clock.now())
            .await
            .unwrap()
    );
    assert!(
        !first
            .enqueue_job(&job("escalate-8", due), clock.now())
            .await
            .unwrap(),
        "same key enqueued twice"
    );
    assert_eq!(
        before.cycle().await.unwrap().jobs(),
        0,
        "ran before it was due"
    );
    drop(before);
    first.close().await;
    drop(first);

    // The process was down while the job fell due; it comes back an hour later.
    clock.advance(SignedDuration::from_hours(1));
    let second = db.open(true).await;
    let after = engine(&second, &clock, "after-restart", recorder.clone());
    let report = after.cycle().await.unwrap();
    assert_eq!(report.completed, 1, "{report:?}");
    assert_eq!(after.cycle().await.unwrap().jobs(), 0, "ran twice");
    assert_eq!(recorder.runs(), vec!["escalate-8"]);
    let state = second.job_by_key("escalate-8").await.unwrap().unwrap();
    assert_eq!(state.state, "done");
}
on_both_backends!(restart_runs_overdue_work);

/// Claims its job, then hangs until the worker is killed.
#[derive(Debug)]
struct Hang;

#[async_trait]
impl JobHandler for Hang {
    fn kind(&self) -> &'static str {
        "test.record"
    }

    async fn run(&self, _job: &ClaimedJob) -> Result<(), JobError> {
        std::future::pending::<()>().await;
        Ok(())
    }
}

async fn a_dead_workers_lease_is_taken_over(db: Db) {
    let clock = ManualClock::new(t0());
    let store = db.open(true).await;
    store
        .enqueue_job(&job("deliver-1", t0()), clock.now())
        .await
        .unwrap();

    // A worker claims the job and is killed mid-run, recording nothing.
    let doomed = Arc::new(
        Engine::new(store.clone(), Arc::new(clock.clone()), "doomed").with_handler(Arc::new(Hang)),
    );
    let task = tokio::spawn({
        let doomed = doomed.clone();
        async move { doomed.cycle().await }
    });
    for _ in 0..1000 {
        let state = store.job_by_key("deliver-1").await.unwrap().unwrap();
        if state.state == "running" {
            break;
        }
        tokio::task::yield_now().await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let state = store.job_by_key("deliver-1").await.unwrap().unwrap();
    assert_eq!(
        (state.state.as_str(), state.lease_owner.as_deref()),
        ("running", Some("doomed"))
    );

    let recorder = Recorder::ok();
    let survivor = engine(&store, &clock, "survivor", recorder.clone());
    assert_eq!(
        survivor.cycle().await.unwrap().jobs(),
        0,
        "took a job whose lease is live"
    );
    // The default lease is 60 s.
    clock.advance(SignedDuration::from_secs(61));
    assert_eq!(survivor.cycle().await.unwrap().completed, 1);
    assert_eq!(recorder.runs(), vec!["deliver-1"]);
    // Had the killed worker somehow finished late, its result would not count.
    assert!(
        !store
            .complete_job(state.id, "doomed", clock.now())
            .await
            .unwrap()
    );
    let state = store.job_by_key("deliver-1").await.unwrap().unwrap();
    assert_eq!((state.state.as_str(), state.attempts), ("done", 2));
}
on_both_backends!(a_dead_workers_lease_is_taken_over);

async fn two_engines_never_run_one_job_twice(db: Db) {
    const JOBS: usize = 120;
    let clock = ManualClock::new(t0());
    let a_store = db.open(true).await;
    let b_store = db.open(false).await;
    for i in 0..JOBS {
        a_store
            .enqueue_job(&job(&format!("job-{i}"), t0()), clock.now())
            .await
            .unwrap();
    }
    let recorder = Recorder::ok();
    let a = Arc::new(engine(&a_store, &clock, "engine-a", recorder.clone()));
    let b = Arc::new(engine(&b_store, &clock, "engine-b", recorder.clone()));
    let drain = |e: Arc<Engine>| {
        tokio::spawn(async move {
            let mut done = 0;
            for _ in 0..JOBS {
                let r = e.cycle().await.unwrap();
                done += r.completed;
                if r.jobs() == 0 {
                    break;
                }
            }
            done
        })
    };
    let (da, db_) = (drain(a), drain(b));
    let (da, db_) = (da.await.unwrap(), db_.await.unwrap());
    let runs = recorder.runs();
    let unique: HashSet<&String> = runs.iter().collect();
    assert_eq!(
        runs.len(),
        JOBS,
        "some job ran twice or not at all (a did {da}, b did {db_})"
    );
    assert_eq!(unique.len(), JOBS);
    assert_eq!(da + db_, JOBS);
}
on_both_backends!(two_engines_never_run_one_job_twice);

async fn failures_retry_with_backoff_then_die(db: Db) {
    let clock = ManualClock::new(t0());
    let store = db.open(true).await;
    let transient = Recorder::failing(|_| Err(JobError::Transient("receiver down".into())));
    let e = engine(&store, &clock, "w", transient.clone());
    store
        .enqueue_job(&job("flaky", t0()), clock.now())
        .await
        .unwrap();
    assert_eq!(e.cycle().await.unwrap().retried, 1);
    // Not retried at once: the first backoff is 10-12 s.
    clock.advance(SignedDuration::from_secs(5));
    assert_eq!(e.cycle().await.unwrap().jobs(), 0);
    clock.advance(SignedDuration::from_secs(8));
    assert_eq!(e.cycle().await.unwrap().retried, 1);
    clock.advance(SignedDuration::from_secs(30));
    assert_eq!(e.cycle().await.unwrap().dead, 1, "max_attempts is 3");
    clock.advance(SignedDuration::from_hours(24));
    assert_eq!(e.cycle().await.unwrap().jobs(), 0, "a dead job ran again");
    let state = store.job_by_key("flaky").await.unwrap().unwrap();
    assert_eq!(state.state, "dead");
    assert!(state.last_error.unwrap().contains("receiver down"));
    assert_eq!(transient.runs().len(), 3);

    let permanent = Recorder::failing(|_| Err(JobError::Permanent("no such address".into())));
    let e = engine(&store, &clock, "w", permanent.clone());
    store
        .enqueue_job(&job("hopeless", clock.now()), clock.now())
        .await
        .unwrap();
    assert_eq!(e.cycle().await.unwrap().dead, 1);
    assert_eq!(permanent.runs().len(), 1);
}
on_both_backends!(failures_retry_with_backoff_then_die);

#[derive(Debug, Default)]
struct Counter(Mutex<u32>);

#[async_trait]
impl Module for Counter {
    fn name(&self) -> &'static str {
        "test.singleton"
    }

    async fn tick(&self, _now: Timestamp) -> Result<(), String> {
        *self.0.lock().unwrap() += 1;
        Ok(())
    }
}

async fn singleton_modules_run_on_one_engine_at_a_time(db: Db) {
    let clock = ManualClock::new(t0());
    let (sa, sb) = (db.open(true).await, db.open(false).await);
    let (ca, cb) = (Arc::new(Counter::default()), Arc::new(Counter::default()));
    let a = Engine::new(sa, Arc::new(clock.clone()), "a").with_module(ca.clone());
    let b = Engine::new(sb.clone(), Arc::new(clock.clone()), "b").with_module(cb.clone());
    for _ in 0..3 {
        a.cycle().await.unwrap();
        b.cycle().await.unwrap();
        clock.advance(SignedDuration::from_secs(10));
    }
    assert_eq!((*ca.0.lock().unwrap(), *cb.0.lock().unwrap()), (3, 0));
    // `a` dies without releasing: `b` takes over once the lock expires.
    clock.advance(SignedDuration::from_secs(31));
    b.cycle().await.unwrap();
    assert_eq!(*cb.0.lock().unwrap(), 1);
    // `b` releases on a clean stop: `a` takes over at once.
    sb.release_lock("test.singleton", "b").await.unwrap();
    a.cycle().await.unwrap();
    assert_eq!(*ca.0.lock().unwrap(), 4);
}
on_both_backends!(singleton_modules_run_on_one_engine_at_a_time);

// --- Escalation on the engine --------------------------------------------

/// "Incident at 10:00, nobody acks: level 1 pages whoever is on call; at
/// 10:10 level 2 pages the team (alice, bob, carol); ack at 10:11, nothing
/// more": on time, once,
/// with each step and person on the timeline and the notification intents
/// stored by each person's rules.
async fn escalation_pages_on_time_and_stops_on_ack(db: Db) {
    let store = db.open(true).await;
    let (clock, incident) = demo_incident(&store, "2026-03-02T10:00:00Z").await;
    let e = escalator_engine(&store, &clock, "one");
    assert_eq!(e.cycle().await.unwrap().completed, 1, "level 1 at once");
    // Mon 2 Mar, 11:00 Paris: carol's week in payments-primary.
    assert_eq!(
        pages(&store, incident).await,
        ["carol@2026-03-02T10:00:00Z"]
    );
    clock.set(at("2026-03-02T10:09:59Z"));
    assert_eq!(e.cycle().await.unwrap().jobs(), 0, "not before its delay");
    clock.set(at("2026-03-02T10:10:00Z"));
    assert_eq!(e.cycle().await.unwrap().completed, 1, "level 2 on time");
    let paged = pages(&store, incident).await;
    assert_eq!(
        paged.len(),
        4,
        "carol, then the team (carol too): {paged:?}"
    );
    assert!(
        paged.contains(&"alice@2026-03-02T10:10:00Z".to_owned()),
        "{paged:?}"
    );
    // Alice's rules: the console and phone at once, email after 5 minutes.
    let intents = store.incident_intents(incident).await.unwrap();
    let alice: Vec<(String, Timestamp)> = intents
        .iter()
        .filter(|i| i.user.as_ref().is_some_and(|u| u.as_str() == "alice"))
        .map(|i| (i.contact.to_string(), i.due_at))
        .collect();
    assert_eq!(
        alice,
        [
            ("console".to_owned(), at("2026-03-02T10:10:00Z")),
            ("phone".to_owned(), at("2026-03-02T10:10:00Z")),
            ("work-email".to_owned(), at("2026-03-02T10:15:00Z"))
        ]
    );
    // A step that runs again (a lost lease) writes nothing twice.
    let timeline = store.incident_timeline(incident).await.unwrap().len();
    tocsin_core::escalation::run_step(
        store.as_ref(),
        incident,
        0,
        tocsin_domain::escalation::Step { level: 1, cycle: 0 },
        at("2026-03-02T10:10:30Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        store.incident_timeline(incident).await.unwrap().len(),
        timeline
    );
    assert_eq!(
        store.incident_intents(incident).await.unwrap().len(),
        intents.len()
    );
    // Acknowledged at 10:11: the repeat due at 10:25 stops, on the timeline.
    clock.set(at("2026-03-02T10:11:00Z"));
    checkout_incident(&store, clock.now(), "ack").await;
    clock.set(at("2026-03-02T10:25:00Z"));
    assert_eq!(e.cycle().await.unwrap().completed, 1);
    assert_eq!(pages(&store, incident).await.len(), 4, "nothing more");
    let last = store.incident_timeline(incident).await.unwrap();
    let last = last.last().unwrap();
    assert_eq!(
        (last.kind.as_str(), last.detail["reason"].as_str()),
        ("escalation.stopped", Some("acknowledged"))
    );
    clock.set(at("2026-03-02T12:00:00Z"));
    assert_eq!(e.cycle().await.unwrap().jobs(), 0, "the run is over");
    store.close().await;
}
on_both_backends!(escalation_pages_on_time_and_stops_on_ack);

/// A hand-off during an open escalation: the schedule level pages whoever
/// is on call when it fires, not when the incident opened.
async fn a_handoff_mid_escalation_pages_the_new_person(db: Db) {
    let store = db.open(true).await;
    // Mon 9 Mar, 08:55 Paris: still carol's week; the hand-off to alice is
    // at 09:00 Paris (08:00 UTC).
    let (clock, incident) = demo_incident(&store, "2026-03-09T07:55:00Z").await;
    let e = escalator_engine(&store, &clock, "one");
    e.cycle().await.unwrap();
    clock.set(at("2026-03-09T08:05:00Z"));
    e.cycle().await.unwrap();
    // The policy repeats: level 1 again 15 minutes after level 2.
    clock.set(at("2026-03-09T08:20:00Z"));
    e.cycle().await.unwrap();
    let paged = pages(&store, incident).await;
    assert_eq!(paged.first().unwrap(), "carol@2026-03-09T07:55:00Z");
    assert_eq!(
        paged.last().unwrap(),
        "alice@2026-03-09T08:20:00Z",
        "{paged:?}"
    );
    store.close().await;
}
on_both_backends!(a_handoff_mid_escalation_pages_the_new_person);

/// Two engines on one database: every step runs once, nobody is paged twice.
async fn two_engines_page_once(db: Db) {
    let first = db.open(true).await;
    let second = db.open(false).await;
    let (clock, incident) = demo_incident(&first, "2026-03-02T10:00:00Z").await;
    let a = escalator_engine(&first, &clock, "a");
    let b = escalator_engine(&second, &clock, "b");
    for minute in [0, 10, 25, 35] {
        clock.set(at("2026-03-02T10:00:00Z") + SignedDuration::from_mins(minute));
        let (ra, rb) = tokio::join!(a.cycle(), b.cycle());
        ra.unwrap();
        rb.unwrap();
    }
    let paged = pages(&first, incident).await;
    let unique: HashSet<&String> = paged.iter().collect();
    assert_eq!(unique.len(), paged.len(), "paged twice: {paged:?}");
    // Level 1, level 2 (3 people), level 1 again, level 2 again.
    assert_eq!(paged.len(), 1 + 3 + 1 + 3, "{paged:?}");
    first.close().await;
    second.close().await;
}
on_both_backends!(two_engines_page_once);

/// A responder escalates by hand at 10:02: level 2 fires at once, the
/// policy's next step comes 15 minutes after that, and the level-2 step
/// that was due at 10:10 finds its work done (nobody paged twice).
async fn a_manual_escalation_fires_the_next_level_now(db: Db) {
    use tocsin_domain::access::{Principal, Role};
    let store = db.open(true).await;
    let (clock, incident) = demo_incident(&store, "2026-03-02T10:00:00Z").await;
    let e = escalator_engine(&store, &clock, "one");
    e.cycle().await.unwrap();
    clock.set(at("2026-03-02T10:02:00Z"));
    let alice = Principal {
        user: Some(tocsin_domain::Name::parse("alice").unwrap()),
        label: "alice".into(),
        role: Role::Responder,
        teams: [tocsin_domain::Name::parse("payments").unwrap()].into(),
    };
    let viewer = Principal {
        role: Role::Viewer,
        ..alice.clone()
    };
    assert!(matches!(
        tocsin_core::escalation::escalate(store.as_ref(), api(&viewer), incident, clock.now())
            .await,
        Err(tocsin_core::escalation::EscalateError::Denied(_))
    ));
    let step =
        tocsin_core::escalation::escalate(store.as_ref(), api(&alice), incident, clock.now())
            .await
            .unwrap();
    assert_eq!((step.level, step.cycle), (1, 0), "level 2, first cycle");
    assert_eq!(
        pages(&store, incident).await.len(),
        4,
        "carol, then the team now"
    );
    clock.set(at("2026-03-02T10:10:00Z"));
    e.cycle().await.unwrap();
    assert_eq!(
        pages(&store, incident).await.len(),
        4,
        "the 10:10 step found its work done"
    );
    clock.set(at("2026-03-02T10:17:00Z"));
    e.cycle().await.unwrap();
    let paged = pages(&store, incident).await;
    assert_eq!(
        paged.len(),
        5,
        "level 1 again 15 min after the manual step: {paged:?}"
    );
    let manual = store
        .incident_timeline(incident)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.kind == "escalation.manual")
        .unwrap();
    assert_eq!(manual.actor, "alice");
    store.close().await;
}
on_both_backends!(a_manual_escalation_fires_the_next_level_now);

/// Resolved by hand at 10:02: its alerts resolve, the 10:10 step stops;
/// reopened at 10:20: escalation starts again at level 1 at once (a new
/// run), and level 2 follows at 10:30.
async fn a_reopened_incident_escalates_again_from_level_one(db: Db) {
    use tocsin_core::incident;
    use tocsin_domain::alerting::IncidentStatus;
    let store = db.open(true).await;
    let (clock, number) = demo_incident(&store, "2026-03-02T10:00:00Z").await;
    let e = escalator_engine(&store, &clock, "one");
    e.cycle().await.unwrap();
    let alice = responder("alice");
    clock.set(at("2026-03-02T10:02:00Z"));
    let inc = incident::resolve(
        store.as_ref(),
        api(&alice),
        number,
        Some("rolled back"),
        clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(inc.status, IncidentStatus::Resolved);
    assert_eq!(inc.open_alerts, 0);
    assert!(
        store
            .incident_alerts(number)
            .await
            .unwrap()
            .iter()
            .all(|a| a.status == tocsin_domain::alerting::AlertStatus::Resolved),
        "resolving by hand resolves the alerts"
    );
    assert!(matches!(
        incident::resolve(store.as_ref(), api(&alice), number, None, clock.now()).await,
        Err(tocsin_core::escalation::EscalateError::Conflict(_))
    ));
    assert!(
        store
            .job_by_key(&format!("incident.resolved:{number}"))
            .await
            .unwrap()
            .is_some(),
        "the resolution is to be notified"
    );
    clock.set(at("2026-03-02T10:10:00Z"));
    e.cycle().await.unwrap();
    assert_eq!(pages(&store, number).await, ["carol@2026-03-02T10:00:00Z"]);
    clock.set(at("2026-03-02T10:20:00Z"));
    let inc = incident::reopen(
        store.as_ref(),
        api(&alice),
        number,
        Some("errors are back"),
        clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        (inc.status, inc.escalation_run),
        (IncidentStatus::Triggered, 1)
    );
    assert_eq!(e.cycle().await.unwrap().completed, 1, "level 1 at once");
    assert_eq!(
        pages(&store, number).await,
        ["carol@2026-03-02T10:00:00Z", "carol@2026-03-02T10:20:00Z"]
    );
    clock.set(at("2026-03-02T10:30:00Z"));
    e.cycle().await.unwrap();
    assert_eq!(
        pages(&store, number).await.len(),
        5,
        "level 2: the team of three"
    );
    let kinds: Vec<String> = store
        .incident_timeline(number)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.kind)
        .collect();
    assert!(kinds.contains(&"incident.resolved".to_owned()), "{kinds:?}");
    assert!(kinds.contains(&"incident.reopened".to_owned()), "{kinds:?}");
    store.close().await;
}
on_both_backends!(a_reopened_incident_escalates_again_from_level_one);

/// A manager's run-time override (alice covers carol 09:00–12:00 UTC) is
/// who escalation pages: the override made in the UI or API, not only
/// those in manifests.
async fn a_runtime_override_is_who_gets_paged(db: Db) {
    use tocsin_domain::access::{Principal, Role};
    let store = db.open(true).await;
    let clock = ManualClock::new(at("2026-03-02T09:30:00Z"));
    tocsin_core::demo::load_if_empty(store.as_ref(), clock.now())
        .await
        .unwrap();
    let admin = Principal {
        user: None,
        label: "admin".into(),
        role: Role::Admin,
        teams: Default::default(),
    };
    let req = tocsin_core::oncall::NewOverride {
        name: Some("alice-covers".into()),
        user: "alice".into(),
        replaces: Some("carol".into()),
        start: "2026-03-02T09:00:00Z".into(),
        end: "2026-03-02T12:00:00Z".into(),
        reason: Some("carol at the dentist".into()),
    };
    let schedule = tocsin_domain::Name::parse("payments-primary").unwrap();
    tocsin_core::oncall::create_override(
        store.as_ref(),
        &admin,
        &tocsin_core::audit::Actor::system(),
        &schedule,
        req,
        clock.now(),
    )
    .await
    .unwrap();
    clock.set(at("2026-03-02T10:00:00Z"));
    let incident = checkout_incident(&store, clock.now(), "trigger")
        .await
        .unwrap();
    let e = escalator_engine(&store, &clock, "one");
    e.cycle().await.unwrap();
    assert_eq!(
        pages(&store, incident).await,
        ["alice@2026-03-02T10:00:00Z"]
    );
    store.close().await;
}
on_both_backends!(a_runtime_override_is_who_gets_paged);

/// Acknowledged at 10:01, reassigned to bob at 10:03: bob is paged now,
/// the incident is triggered again, the old run's 10:10 step does nothing,
/// and the policy starts over at 10:13 (10 minutes later) since nobody
/// acknowledged; bob's acknowledgement at 10:14 stops it before level 2.
async fn a_reassigned_incident_pages_the_new_person_and_escalates_if_ignored(db: Db) {
    use tocsin_core::incident;
    use tocsin_domain::alerting::IncidentStatus;
    use tocsin_domain::catalog::Target;
    let store = db.open(true).await;
    let (clock, number) = demo_incident(&store, "2026-03-02T10:00:00Z").await;
    let e = escalator_engine(&store, &clock, "one");
    e.cycle().await.unwrap();
    let carol = responder("carol");
    clock.set(at("2026-03-02T10:01:00Z"));
    incident::acknowledge(store.as_ref(), api(&carol), number, clock.now())
        .await
        .unwrap();
    assert!(
        matches!(
            incident::acknowledge(store.as_ref(), api(&carol), number, clock.now()).await,
            Err(tocsin_core::escalation::EscalateError::Conflict(_))
        ),
        "a second acknowledgement is refused, not written twice"
    );
    clock.set(at("2026-03-02T10:03:00Z"));
    let bob = Target::User(tocsin_domain::Name::parse("bob").unwrap());
    let nobody = Target::User(tocsin_domain::Name::parse("nobody").unwrap());
    assert!(matches!(
        incident::reassign(
            store.as_ref(),
            api(&carol),
            number,
            &nobody,
            None,
            clock.now()
        )
        .await,
        Err(tocsin_core::escalation::EscalateError::NotFound(_))
    ));
    let inc = incident::reassign(
        store.as_ref(),
        api(&carol),
        number,
        &bob,
        Some("going off shift"),
        clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(
        (inc.status, inc.escalation_run),
        (IncidentStatus::Triggered, 1)
    );
    let timeline = store.incident_timeline(number).await.unwrap();
    assert!(
        timeline
            .iter()
            .any(|t| t.kind == "responder.page" && t.detail["user"] == "bob"),
        "bob paged at once"
    );
    clock.set(at("2026-03-02T10:10:00Z"));
    e.cycle().await.unwrap();
    assert_eq!(
        pages(&store, number).await,
        ["carol@2026-03-02T10:00:00Z"],
        "the old run's level 2 is superseded"
    );
    clock.set(at("2026-03-02T10:13:00Z"));
    e.cycle().await.unwrap();
    assert_eq!(
        pages(&store, number).await,
        ["carol@2026-03-02T10:00:00Z", "carol@2026-03-02T10:13:00Z"],
        "nobody acknowledged: level 1 of the new run"
    );
    clock.set(at("2026-03-02T10:14:00Z"));
    incident::acknowledge(store.as_ref(), api(&responder("bob")), number, clock.now())
        .await
        .unwrap();
    clock.set(at("2026-03-02T10:23:00Z"));
    e.cycle().await.unwrap();
    assert_eq!(
        pages(&store, number).await.len(),
        2,
        "acknowledged: nothing more"
    );
    let viewer = tocsin_domain::access::Principal {
        role: tocsin_domain::access::Role::Viewer,
        ..responder("dave")
    };
    assert!(matches!(
        incident::resolve(store.as_ref(), api(&viewer), number, None, clock.now()).await,
        Err(tocsin_core::escalation::EscalateError::Denied(_))
    ));
    store.close().await;
}
on_both_backends!(a_reassigned_incident_pages_the_new_person_and_escalates_if_ignored);

/// Housekeeping's purge: run-time silences and overrides that ended over a
/// week ago go (audited); recent ones and config-managed ones stay.
async fn ended_runtime_objects_are_purged(db: Db) {
    use tocsin_core::noise::{self, NewSilence};
    use tocsin_domain::access::{Principal, Role};
    use tocsin_domain::catalog::Kind;
    let store = db.open(true).await;
    let now = at("2026-03-02T10:00:00Z");
    tocsin_core::demo::load_if_empty(store.as_ref(), now)
        .await
        .unwrap();
    let admin = Principal {
        user: None,
        label: "admin".into(),
        role: Role::Admin,
        teams: Default::default(),
    };
    let actor = tocsin_core::audit::Actor::system();
    for (name, start, end) in [
        ("old", "2026-02-01T00:00:00Z", "2026-02-10T00:00:00Z"),
        ("recent", "2026-02-20T00:00:00Z", "2026-03-01T00:00:00Z"),
    ] {
        let req = NewSilence {
            name: Some(name.into()),
            matchers: vec!["alertname=Disk".into()],
            starts_at: Some(start.into()),
            ends_at: Some(end.into()),
            ..NewSilence::default()
        };
        noise::create_silence(store.as_ref(), &admin, &actor, req, now)
            .await
            .unwrap();
    }
    let req = tocsin_core::oncall::NewOverride {
        name: Some("old-cover".into()),
        user: "alice".into(),
        replaces: Some("carol".into()),
        start: "2026-01-20T00:00:00Z".into(),
        end: "2026-01-21T00:00:00Z".into(),
        reason: None,
    };
    let schedule = tocsin_domain::Name::parse("payments-primary").unwrap();
    tocsin_core::oncall::create_override(store.as_ref(), &admin, &actor, &schedule, req, now)
        .await
        .unwrap();
    let week = SignedDuration::from_hours(24 * 7);
    assert_eq!(
        noise::purge_ended(store.as_ref(), now, week).await.unwrap(),
        2
    );
    let silences: Vec<String> = store
        .list_objects(Some(Kind::Silence))
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.name.to_string())
        .collect();
    assert_eq!(silences, ["recent", "staging-kafka-lag"]);
    assert!(
        store
            .list_objects(Some(Kind::ScheduleOverride))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        noise::purge_ended(store.as_ref(), now, week).await.unwrap(),
        0
    );
    store.close().await;
}
on_both_backends!(ended_runtime_objects_are_purged);
