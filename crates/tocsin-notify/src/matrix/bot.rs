//! The Matrix ChatOps bot: a bot account that long-polls `/sync`, joins
//! the rooms it is invited to, and answers the commands typed there by
//! running them through [`tocsin_core::chatops`] as the person who typed
//! them (their Matrix user id is a `matrix` contact method of a catalog
//! user with an account).
//!
//! A command is an `m.room.message` of type `m.text` whose body starts
//! with `!tocsin`, or addresses the bot (`@tocsin:example.org: ack 8`,
//! `tocsin, ack 8`), or any text in a room where the bot is alone with
//! one person (a direct chat). The answer is an `m.notice` replying to
//! the command.
//!
//! Invariants:
//! - A command is run at most once, however many instances sync and
//!   however often an event is seen: `ChatStore::receive_once` with
//!   `matrix:<event id>` is recorded before anything runs, and the answer's
//!   transaction id derives from the command's event id (a retried send
//!   is one event).
//! - The sync position is saved (`matrix.since`) after every batch is
//!   handled, so a restart resumes where the last one stopped: nothing
//!   typed while the hub was down is missed (a gap the homeserver cuts
//!   short, `limited`, is read back with `/messages`), nothing answered is
//!   answered again. The very first start saves the position without
//!   acting on the backlog.
//! - The bot never reacts to itself, to notices (other bots), to edits,
//!   or to messages sent in a room before it joined; a command older than
//!   [`STALE_AFTER`] is answered, not run.
//! - A failing homeserver or database never ends the bot: it backs off
//!   and tries again (slowly, with an error in the log each time, when the
//!   access token is refused).

use super::client::{Client, Failure, is_user_id};
use super::{Config, ConfigError};
use jiff::{SignedDuration, Timestamp};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tocsin_core::chat_identity::{Member, member, user_named_by};
use tocsin_core::chatops::{self, Answer};
use tocsin_core::clock::Clock;
use tocsin_core::runbook::{CONFIRM_VALIDITY, Runbooks};
use tocsin_domain::catalog::ContactKind;
use tocsin_domain::response::Interface;
use tocsin_store::{Store, StoreError};
use tokio::sync::watch;

/// Where the bot's sync position is kept (`ChatStore::chat_cursor`).
pub const CURSOR: &str = "matrix.since";

/// How long one `/sync` waits for something to happen.
pub const POLL: Duration = Duration::from_secs(30);

/// A command older than this (by the homeserver's timestamp) is not run:
/// typed while the hub was unreachable, it may no longer be wanted.
pub const STALE_AFTER: SignedDuration = SignedDuration::from_mins(15);

/// The word that starts a command in a room.
pub const PREFIX: &str = "!tocsin";

/// The content field of a confirmation prompt holding its token and who
/// asked (`{"token": …, "user": "@alice:example.org"}`).
pub const CONFIRM_FIELD: &str = "org.tocsin.confirm";

/// What confirms a prompt when replying to it.
const CONFIRM_WORDS: [&str; 2] = ["confirm", "yes"];

/// How many pages of a room's gap (`limited`) are read back.
const GAP_PAGES: usize = 10;

/// Events per room per sync (and per page of a gap), unless set.
pub const TIMELINE_LIMIT: u32 = 100;

/// Tries to post one answer before giving up on it.
const ANSWER_TRIES: u32 = 3;

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// The pause after the homeserver refused the token: an operator must act.
const BAD_TOKEN_BACKOFF: Duration = Duration::from_secs(300);

/// Why one sync did not complete; the bot tries again after a pause.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    /// The homeserver refused the access token.
    #[error(
        "matrix bot: the homeserver {homeserver} refused the access token ({reason}); \
         give tocsin a valid access token of the bot account (--matrix-token, TOCSIN_MATRIX_TOKEN)"
    )]
    BadToken { homeserver: String, reason: String },
    /// The homeserver failed or could not be reached; worth trying soon.
    #[error("matrix bot: {reason}")]
    Homeserver {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// The homeserver refused something else the bot needs.
    #[error("matrix bot: the homeserver refused: {0}")]
    Refused(String),
    /// tocsin's database failed.
    #[error("matrix bot: the database failed: {0}")]
    Store(#[from] StoreError),
}

impl From<Failure> for BotError {
    fn from(f: Failure) -> Self {
        if f.bad_token() {
            return BotError::BadToken {
                homeserver: String::new(),
                reason: f.error.to_string(),
            };
        }
        match f.error {
            tocsin_core::notify::SendError::Transient {
                reason,
                retry_after,
            } => BotError::Homeserver {
                reason,
                retry_after,
            },
            tocsin_core::notify::SendError::Permanent { reason } => BotError::Refused(reason),
        }
    }
}

impl BotError {
    /// How long to wait before the next try, given how many tries in a
    /// row have failed.
    fn pause(&self, failures: u32) -> Duration {
        let doubling = FIRST_BACKOFF
            .saturating_mul(1 << failures.saturating_sub(1).min(16))
            .min(MAX_BACKOFF);
        match self {
            BotError::BadToken { .. } => BAD_TOKEN_BACKOFF,
            BotError::Homeserver {
                retry_after: Some(d),
                ..
            } => (*d).max(FIRST_BACKOFF),
            BotError::Refused(_) => MAX_BACKOFF,
            _ => doubling,
        }
    }
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// The first sync of this hub: the position was saved, the backlog
    /// left alone.
    pub skipped_backlog: bool,
    /// Rooms joined on invitation.
    pub joined: Vec<String>,
    /// The event ids of the commands answered.
    pub answered: Vec<String>,
    /// Commands seen again and left alone (answered before, or by another
    /// instance).
    pub already_answered: usize,
}

/// The ChatOps bot on one homeserver. Drive it with [`MatrixBot::run`]
/// (until shutdown), or step by step with [`MatrixBot::sync_once`].
pub struct MatrixBot {
    client: Client,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// What `run` may start on this hub.
    runbooks: Runbooks,
    /// How long a `/sync` waits.
    poll: Duration,
    /// Events per room per sync and per page of a gap.
    timeline_limit: u32,
    /// The sync position, once read from the store.
    since: Option<Option<String>>,
    /// Joined members per room, to tell a direct chat; forgotten when a
    /// membership changes in the room.
    members: HashMap<String, usize>,
    /// The names the bot answers to, once known.
    names: Option<Vec<String>>,
}

impl std::fmt::Debug for MatrixBot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MatrixBot")
            .field("homeserver", &self.client.homeserver())
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// One `/sync` answer, not yet acted on.
struct Batch {
    next: String,
    body: Value,
    /// The position it was asked from (`None`: the first sync ever).
    from: Option<String>,
}

/// One message the bot may answer.
struct Incoming<'a> {
    room: &'a str,
    event: &'a Value,
}

impl Incoming<'_> {
    fn id(&self) -> &str {
        self.event["event_id"].as_str().unwrap_or_default()
    }

    fn sender(&self) -> &str {
        self.event["sender"].as_str().unwrap_or_default()
    }

    fn body(&self) -> &str {
        self.event["content"]["body"].as_str().unwrap_or_default()
    }

    /// The event this message replies to, if it is a reply.
    fn reply_to(&self) -> Option<&str> {
        self.event["content"]["m.relates_to"]["m.in_reply_to"]["event_id"].as_str()
    }
}

impl MatrixBot {
    /// The bot of `config`'s account, acting on `store`, with `clock` as
    /// its "now" (for the timeline, staleness, receipts); `runbooks` says
    /// what `run` may start (the hub's one [`Runbooks`]).
    pub fn new(
        config: &Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        runbooks: Runbooks,
    ) -> Result<MatrixBot, ConfigError> {
        Ok(MatrixBot {
            client: Client::new(config)?,
            store,
            clock,
            runbooks,
            poll: POLL,
            timeline_limit: TIMELINE_LIMIT,
            since: None,
            members: HashMap::new(),
            names: None,
        })
    }

    /// How long one `/sync` waits for news ([`POLL`] unless set; tests use
    /// zero so that [`MatrixBot::sync_once`] returns at once).
    pub fn with_poll(mut self, poll: Duration) -> MatrixBot {
        self.poll = poll;
        self
    }

    /// How many events of a room one sync (or one page of a gap read
    /// back) holds ([`TIMELINE_LIMIT`] unless set; at least 1). A room
    /// with more news than that in one sync has its gap read back.
    pub fn with_timeline_limit(mut self, limit: u32) -> MatrixBot {
        self.timeline_limit = limit.max(1);
        self
    }

    /// Syncs until `shutdown` turns true (or its sender is dropped),
    /// answering commands as they come; failures are logged and retried
    /// after a pause. A command being answered when shutdown comes is
    /// finished first.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(homeserver = %self.client.homeserver(), "matrix bot started");
        let mut failures: u32 = 0;
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Only the wait for news is cut short by a shutdown, never the
            // handling of what arrived.
            let polled = tokio::select! {
                polled = self.poll() => polled,
                _ = shutdown.changed() => break,
            };
            let step = match polled {
                Ok(batch) => self.handle(batch).await.map(|_| ()),
                Err(e) => Err(e),
            };
            match step {
                Ok(()) => failures = 0,
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let pause = e.pause(failures);
                    match &e {
                        BotError::BadToken { .. } => tracing::error!(
                            retry_in_s = pause.as_secs(),
                            "{}",
                            self.with_homeserver(e)
                        ),
                        _ => tracing::warn!(retry_in_s = pause.as_secs(), "{e}"),
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => break,
                    }
                }
            }
        }
        tracing::info!("matrix bot stopped");
    }

    fn with_homeserver(&self, e: BotError) -> BotError {
        match e {
            BotError::BadToken { reason, .. } => BotError::BadToken {
                homeserver: self.client.homeserver().to_owned(),
                reason,
            },
            e => e,
        }
    }

    /// One sync: waits up to the poll time for news, joins the rooms the
    /// bot was invited to, answers the commands, and saves the position.
    pub async fn sync_once(&mut self) -> Result<SyncReport, BotError> {
        let batch = self.poll().await.map_err(|e| self.with_homeserver(e))?;
        self.handle(batch)
            .await
            .map_err(|e| self.with_homeserver(e))
    }

    /// Asks the homeserver what happened since the saved position.
    async fn poll(&mut self) -> Result<Batch, BotError> {
        let me = self.client.whoami().await?;
        let from = match &self.since {
            Some(since) => since.clone(),
            None => {
                let stored = self.store.chat_cursor(CURSOR).await?;
                self.since = Some(stored.clone());
                stored
            }
        };
        let filter = filter(self.timeline_limit).to_string();
        // The first sync only learns the position: no wait.
        let wait = if from.is_some() {
            self.poll
        } else {
            Duration::ZERO
        };
        let wait_ms = wait.as_millis().to_string();
        let mut query = vec![("filter", filter.as_str()), ("timeout", wait_ms.as_str())];
        if let Some(since) = &from {
            query.push(("since", since));
        }
        let body = self
            .client
            .call_with(
                Method::GET,
                &["sync"],
                &query,
                None,
                Some(wait + Duration::from_secs(20)),
            )
            .await?;
        let next = body["next_batch"]
            .as_str()
            .ok_or_else(|| BotError::Homeserver {
                reason: format!("/sync answered without next_batch (as {me})"),
                retry_after: None,
            })?
            .to_owned();
        Ok(Batch { next, body, from })
    }

    /// Acts on one sync answer, then saves the position after it.
    async fn handle(&mut self, batch: Batch) -> Result<SyncReport, BotError> {
        let me = self.client.whoami().await?;
        let mut report = SyncReport::default();
        if let Some(invites) = batch.body["rooms"]["invite"].as_object() {
            for room in invites.keys() {
                if self.join(room).await? {
                    report.joined.push(room.clone());
                }
            }
        }
        match &batch.from {
            None => report.skipped_backlog = true,
            Some(since) => {
                if let Some(joined) = batch.body["rooms"]["join"].as_object() {
                    for (room, data) in joined {
                        let events = self.room_events(room, data, since, &me).await?;
                        for event in &events {
                            self.consider(Incoming { room, event }, &me, &mut report)
                                .await?;
                        }
                    }
                }
            }
        }
        let now = self.clock.now();
        self.store.set_chat_cursor(CURSOR, &batch.next, now).await?;
        self.since = Some(Some(batch.next));
        Ok(report)
    }

    /// Joins a room the bot was invited to; `false` when the invitation
    /// cannot be taken (withdrawn, a server that refuses): logged, skipped.
    async fn join(&self, room: &str) -> Result<bool, BotError> {
        match self
            .client
            .call(Method::POST, &["join", room], Some(&json!({})))
            .await
        {
            Ok(_) => {
                tracing::info!(room, "matrix bot: joined a room it was invited to");
                Ok(true)
            }
            Err(f) if f.transient() || f.bad_token() => Err(f.into()),
            Err(f) => {
                tracing::warn!(room, error = %f, "matrix bot: could not join a room it was invited to");
                Ok(false)
            }
        }
    }

    /// A joined room's new events, oldest first: the gap read back when
    /// the homeserver cut the timeline short, and nothing from before the
    /// bot's own join.
    async fn room_events(
        &mut self,
        room: &str,
        data: &Value,
        since: &str,
        me: &str,
    ) -> Result<Vec<Value>, BotError> {
        let timeline = &data["timeline"];
        let mut events: Vec<Value> = Vec::new();
        if timeline["limited"].as_bool() == Some(true)
            && let Some(prev) = timeline["prev_batch"].as_str()
        {
            events = self.gap(room, prev, since).await?;
        }
        events.extend(
            timeline["events"]
                .as_array()
                .map(|e| e.as_slice())
                .unwrap_or_default()
                .iter()
                .cloned(),
        );
        if events.iter().any(|e| e["type"] == "m.room.member") {
            self.members.remove(room);
        }
        // Anything said before the bot came in was not said to it.
        if let Some(joined_at) = events.iter().rposition(|e| own_join(e, me)) {
            events.drain(..=joined_at);
        }
        Ok(events)
    }

    /// The messages of a gap between `since` and `prev`, oldest first, at
    /// most [`GAP_PAGES`] pages.
    async fn gap(&self, room: &str, prev: &str, since: &str) -> Result<Vec<Value>, BotError> {
        let limit = self.timeline_limit.to_string();
        let filter = json!({ "types": ["m.room.message", "m.room.member"] }).to_string();
        let mut from = prev.to_owned();
        let mut missed: Vec<Value> = Vec::new();
        for _ in 0..GAP_PAGES {
            let page = self
                .client
                .call_with(
                    Method::GET,
                    &["rooms", room, "messages"],
                    &[
                        ("dir", "b"),
                        ("from", &from),
                        ("to", since),
                        ("limit", &limit),
                        ("filter", &filter),
                    ],
                    None,
                    None,
                )
                .await?;
            let chunk = page["chunk"].as_array().cloned().unwrap_or_default();
            let empty = chunk.is_empty();
            missed.extend(chunk);
            match page["end"].as_str() {
                Some(end) if !empty && end != from => from = end.to_owned(),
                _ => {
                    missed.reverse();
                    return Ok(missed);
                }
            }
        }
        tracing::warn!(
            room,
            pages = GAP_PAGES,
            "matrix bot: a room's gap is longer than the bot reads back; older commands in it are not answered"
        );
        missed.reverse();
        Ok(missed)
    }

    /// The names the bot answers to, its display name asked once.
    async fn names(&mut self, me: &str) -> Result<Vec<String>, BotError> {
        if let Some(names) = &self.names {
            return Ok(names.clone());
        }
        let display = match self
            .client
            .call(Method::GET, &["profile", me, "displayname"], None)
            .await
        {
            Ok(answer) => answer["displayname"].as_str().map(str::to_owned),
            Err(f) if f.transient() || f.bad_token() => return Err(f.into()),
            Err(_) => None,
        };
        let names = names_of(me, display.as_deref());
        self.names = Some(names.clone());
        Ok(names)
    }

    /// Whether the bot and one person are alone in the room.
    async fn direct(&mut self, room: &str) -> Result<bool, BotError> {
        if let Some(n) = self.members.get(room) {
            return Ok(*n <= 2);
        }
        let answer = self
            .client
            .call(Method::GET, &["rooms", room, "joined_members"], None)
            .await?;
        let n = answer["joined"].as_object().map_or(0, |m| m.len());
        self.members.insert(room.to_owned(), n);
        Ok(n <= 2)
    }

    /// Answers `message` if it is a command (or a confirmation) for the bot.
    async fn consider(
        &mut self,
        message: Incoming<'_>,
        me: &str,
        report: &mut SyncReport,
    ) -> Result<(), BotError> {
        let e = message.event;
        if e["type"] != "m.room.message"
            || message.sender() == me
            || e["content"]["msgtype"] != "m.text"
            || e["content"]["m.relates_to"]["rel_type"] == "m.replace"
            || message.id().is_empty()
        {
            return Ok(());
        }
        let Some(request) = self.request(&message, me).await? else {
            return Ok(());
        };
        if !self
            .store
            .receive_once(&format!("matrix:{}", message.id()), self.clock.now())
            .await?
        {
            report.already_answered += 1;
            return Ok(());
        }
        let answer = self.answer(&message, request).await;
        self.reply(&message, &answer).await;
        report.answered.push(message.id().to_owned());
        Ok(())
    }

    /// What a message asks of the bot, if anything: a command line (with
    /// `!tocsin` or the bot's name, or anything in a direct chat), or a
    /// confirmation (`confirm` / `yes` replying to the bot's prompt).
    async fn request(
        &mut self,
        message: &Incoming<'_>,
        me: &str,
    ) -> Result<Option<Request>, BotError> {
        let text = without_reply_fallback(message.body());
        let names = self.names(me).await?;
        let line = addressed(text, &names);
        let direct = match line {
            Some(_) => false,
            None => self.direct(message.room).await?,
        };
        let word = line.unwrap_or(text).trim();
        if CONFIRM_WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)) {
            if let Some(prompt) = message.reply_to()
                && let Some((token, asker)) = self.prompt(message.room, prompt, me).await?
            {
                return Ok(Some(Request::Confirm { token, asker }));
            }
            if line.is_some() || direct {
                return Ok(Some(Request::NothingToConfirm));
            }
            return Ok(None);
        }
        Ok(match line {
            Some(line) => Some(Request::Command(line.to_owned())),
            None if direct => Some(Request::Command(word.to_owned())),
            None => None,
        })
    }

    /// The confirmation token and the asker of the bot's prompt `event`,
    /// if `event` is one.
    async fn prompt(
        &self,
        room: &str,
        event: &str,
        me: &str,
    ) -> Result<Option<(String, String)>, BotError> {
        let prompt = match self
            .client
            .call(Method::GET, &["rooms", room, "event", event], None)
            .await
        {
            Ok(prompt) => prompt,
            Err(f) if f.transient() || f.bad_token() => return Err(f.into()),
            Err(_) => return Ok(None),
        };
        if prompt["sender"] != me {
            return Ok(None);
        }
        let field = &prompt["content"][CONFIRM_FIELD];
        Ok(field["token"]
            .as_str()
            .zip(field["user"].as_str())
            .map(|(t, u)| (t.to_owned(), u.to_owned())))
    }

    /// What the bot says to a request: runs it when the sender may.
    /// Never fails: the command is recorded as received by now, so a
    /// failure must be said in the answer, not retried.
    async fn answer(&self, message: &Incoming<'_>, request: Request) -> Answer {
        let now = self.clock.now();
        if let Some(sent) = message.event["origin_server_ts"]
            .as_i64()
            .and_then(|ms| Timestamp::from_millisecond(ms).ok())
            && now.duration_since(sent) > STALE_AFTER
        {
            return Answer::refused(format!(
                "Not run: this was sent at {sent:.0}, more than {} minutes ago, \
                 while tocsin could not read it. Send it again if it is still wanted.",
                STALE_AFTER.as_mins()
            ));
        }
        let sender = message.sender();
        if let Request::Confirm { asker, .. } = &request
            && asker != sender
        {
            return Answer::refused(format!("Only {asker}, who asked for this, can confirm it."));
        }
        if matches!(request, Request::NothingToConfirm) {
            return Answer::refused(format!(
                "Nothing to confirm: reply `{PREFIX} confirm` to tocsin's confirmation prompt \
                 (the message that says what will run)."
            ));
        }
        let who = match member(self.store.as_ref(), ContactKind::Matrix, sender).await {
            Ok(Member::Known(who)) => who,
            Ok(Member::NoAccount(user)) => {
                return Answer::refused(format!(
                    "Your Matrix account is linked to the tocsin user {user}, who has no tocsin \
                     account yet. Ask a tocsin admin to create one (`tocsin user create {user}`); \
                     then try again."
                ));
            }
            Ok(Member::Unknown) => {
                return Answer::refused(format!(
                    "tocsin does not know who you are on Matrix. To link your Matrix account, add \
                     a contact method of type `matrix` with your user id ({sender}) to your user \
                     in the manifests, e.g. `{{ name: matrix, type: matrix, address: \"{sender}\" }}`, \
                     and apply them."
                ));
            }
            Err(e) => {
                tracing::error!(error = %e, sender, "matrix bot: looking up a Matrix user");
                return Answer::refused(
                    "tocsin could not look you up just now; try again in a moment.",
                );
            }
        };
        let store = self.store.as_ref();
        match request {
            Request::Command(line) => match self.mentions_to_names(&line).await {
                Ok(line) => {
                    chatops::execute(store, &self.runbooks, &who, Interface::Matrix, &line, now)
                        .await
                }
                Err(e) => {
                    tracing::error!(error = %e, "matrix bot: reading the catalog for mentions");
                    Answer::refused(
                        "tocsin could not reach its database; nothing was changed. Try again.",
                    )
                }
            },
            Request::Confirm { token, .. } => {
                chatops::confirm(store, &self.runbooks, &who, Interface::Matrix, &token, now).await
            }
            Request::NothingToConfirm => Answer::refused("Nothing to confirm."),
        }
    }

    /// Turns the Matrix user ids in a command line into the `@name` of
    /// the catalog users they belong to (`page @bob:example.org #8` →
    /// `page @bob #8`); ids nobody has are left as they are.
    async fn mentions_to_names(&self, line: &str) -> Result<String, StoreError> {
        let mut out = String::with_capacity(line.len());
        let mut rest = line;
        while let Some(start) = rest.find('@') {
            out.push_str(&rest[..start]);
            let tail = &rest[start..];
            let end = tail
                .find(|c: char| c.is_whitespace() || c == ',' || c == ';')
                .unwrap_or(tail.len());
            let id = tail[..end].trim_end_matches(['.', ':']);
            let named = if is_user_id(id) {
                user_named_by(self.store.as_ref(), ContactKind::Matrix, id).await?
            } else {
                None
            };
            match named {
                Some(name) => {
                    out.push('@');
                    out.push_str(name.as_str());
                    rest = &tail[id.len()..];
                }
                None => {
                    out.push('@');
                    rest = &tail[1..];
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Posts the answer as a notice replying to the command; a failure is
    /// retried a few times, then logged (the command has run either way).
    async fn reply(&self, message: &Incoming<'_>, answer: &Answer) {
        let content = reply_content(message.id(), message.sender(), answer);
        let key = format!("answer:{}", message.id());
        let mut pause = FIRST_BACKOFF;
        for attempt in 1..=ANSWER_TRIES {
            match self.client.send_message(message.room, &key, &content).await {
                Ok(_) => return,
                Err(f) if f.transient() && attempt < ANSWER_TRIES => {
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2);
                }
                Err(f) => {
                    tracing::error!(
                        room = message.room,
                        event = message.id(),
                        error = %f,
                        "matrix bot: could not post the answer to a command (the command ran)"
                    );
                    return;
                }
            }
        }
    }
}

/// The answer as an `m.notice` replying to the command (mentioning its
/// sender); a prompt to confirm also carries the token and who may
/// confirm it in [`CONFIRM_FIELD`], so the confirmation can be checked
/// from the prompt itself, after a restart too.
fn reply_content(command: &str, sender: &str, answer: &Answer) -> Value {
    let mut content = json!({
        "msgtype": "m.notice",
        "body": answer.text,
        "m.relates_to": { "m.in_reply_to": { "event_id": command } },
        "m.mentions": { "user_ids": [sender] },
    });
    if let Some(token) = &answer.confirm {
        content["body"] = Value::String(format!(
            "{}\nReply `{PREFIX} confirm` to this message (within {} minutes) to run it.",
            answer.text,
            CONFIRM_VALIDITY.as_mins()
        ));
        content[CONFIRM_FIELD] = json!({ "token": token, "user": sender });
    }
    content
}

/// What a message asks of the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    /// A command line to run.
    Command(String),
    /// A confirmation of the prompt that carried `token`, asked by `asker`.
    Confirm { token: String, asker: String },
    /// A confirmation that replies to no prompt.
    NothingToConfirm,
}

/// What the bot asks `/sync` for: room messages and memberships (to tell
/// direct chats and its own join), invitations; no presence, receipts,
/// typing or account data.
fn filter(timeline_limit: u32) -> Value {
    json!({
        "presence": { "not_types": ["*"] },
        "account_data": { "not_types": ["*"] },
        "room": {
            "account_data": { "not_types": ["*"] },
            "ephemeral": { "not_types": ["*"] },
            "state": { "types": ["m.room.member"], "lazy_load_members": true },
            "timeline": {
                "types": ["m.room.message", "m.room.member"],
                "limit": timeline_limit,
            },
        },
    })
}

/// Whether `event` is the bot joining the room (not a profile change).
fn own_join(event: &Value, me: &str) -> bool {
    event["type"] == "m.room.member"
        && event["state_key"] == me
        && event["content"]["membership"] == "join"
        && event["unsigned"]["prev_content"]["membership"] != "join"
}

/// The names a message may address the bot by: its user id, `@` and its
/// localpart, its localpart, and its display name (what a client's
/// mention pill leaves in the plain body).
fn names_of(me: &str, display: Option<&str>) -> Vec<String> {
    let localpart = me
        .strip_prefix('@')
        .and_then(|m| m.split(':').next())
        .unwrap_or(me);
    let mut names = vec![me.to_owned(), format!("@{localpart}"), localpart.to_owned()];
    if let Some(display) = display.map(str::trim).filter(|d| !d.is_empty())
        && !names.iter().any(|n| n.eq_ignore_ascii_case(display))
    {
        names.push(display.to_owned());
    }
    names
}

/// The command line of a message addressed to the bot, if it is:
/// `!tocsin <line>`, or one of the bot's `names` followed by `:` or `,`
/// (`@tocsin:example.org: ack 8`, `tocsin, ack 8`).
fn addressed<'a>(body: &'a str, names: &[String]) -> Option<&'a str> {
    let body = body.trim_start();
    if let Some(rest) = strip_prefix_ignore_case(body, PREFIX)
        && (rest.is_empty() || rest.starts_with(char::is_whitespace))
    {
        return Some(rest.trim());
    }
    for name in names {
        if name.is_empty() {
            continue;
        }
        if let Some(rest) = strip_prefix_ignore_case(body, name)
            && let Some(line) = rest.strip_prefix([':', ','])
        {
            return Some(line.trim());
        }
    }
    None
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A reply's own text, without the quoted fallback some clients put
/// before it (`> <@alice:x> …` lines, then a blank line).
fn without_reply_fallback(body: &str) -> &str {
    if !body.starts_with("> ") {
        return body;
    }
    match body.find("\n\n") {
        Some(i) => &body[i + 2..],
        None => body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "@tocsin:example.org";

    #[test]
    fn commands_are_recognized_by_prefix_or_address() {
        for (body, line) in [
            ("!tocsin ack 8", Some("ack 8")),
            ("  !TOCSIN   ack 8 ", Some("ack 8")),
            ("!tocsin", Some("")),
            ("@tocsin:example.org: ack 8", Some("ack 8")),
            ("@tocsin: ack 8", Some("ack 8")),
            ("tocsin: ack 8", Some("ack 8")),
            ("Tocsin, note #8 hello", Some("note #8 hello")),
            ("!tocsinack 8", None),
            ("tocsin ack 8", None),
            ("ack 8", None),
            ("hello tocsin: ack 8", None),
            ("tocsinbot: ack 8", None),
            ("Tocsin Bot: ack 8", Some("ack 8")),
        ] {
            assert_eq!(
                addressed(body, &names_of(ME, Some("Tocsin Bot"))),
                line,
                "{body:?}"
            );
        }
        assert_eq!(names_of(ME, Some("tocsin")).len(), 3);
    }

    #[test]
    fn reply_fallbacks_are_dropped() {
        assert_eq!(
            without_reply_fallback("> <@tocsin:x> Run it?\n> more\n\n!tocsin confirm"),
            "!tocsin confirm"
        );
        assert_eq!(without_reply_fallback("plain"), "plain");
        assert_eq!(without_reply_fallback("> quote only"), "> quote only");
    }

    #[test]
    fn own_join_is_not_a_profile_change() {
        let join =
            json!({"type": "m.room.member", "state_key": ME, "content": {"membership": "join"}});
        assert!(own_join(&join, ME));
        let rename = json!({"type": "m.room.member", "state_key": ME,
            "content": {"membership": "join", "displayname": "x"},
            "unsigned": {"prev_content": {"membership": "join"}}});
        assert!(!own_join(&rename, ME));
        let other = json!({"type": "m.room.member", "state_key": "@a:x", "content": {"membership": "join"}});
        assert!(!own_join(&other, ME));
    }

    #[test]
    fn answers_reply_and_prompts_carry_their_token() {
        let answer = Answer::refused("no");
        let c = reply_content("$cmd", "@alice:x", &answer);
        assert_eq!(c["msgtype"], "m.notice");
        assert_eq!(c["body"], "no");
        assert_eq!(c["m.relates_to"]["m.in_reply_to"]["event_id"], "$cmd");
        assert_eq!(c["m.mentions"]["user_ids"], json!(["@alice:x"]));
        assert!(c.get(CONFIRM_FIELD).is_none());
        let prompt = Answer {
            confirm: Some("tok".into()),
            ..Answer::refused("Confirm: run x")
        };
        let c = reply_content("$cmd", "@alice:x", &prompt);
        assert_eq!(
            c[CONFIRM_FIELD],
            json!({"token": "tok", "user": "@alice:x"})
        );
        assert_eq!(
            c["body"],
            "Confirm: run x\nReply `!tocsin confirm` to this message (within 5 minutes) to run it."
        );
    }

    #[test]
    fn pauses_grow_and_respect_the_homeserver() {
        let e = BotError::Homeserver {
            reason: "down".into(),
            retry_after: None,
        };
        assert_eq!(e.pause(1), Duration::from_secs(1));
        assert_eq!(e.pause(3), Duration::from_secs(4));
        assert_eq!(e.pause(40), MAX_BACKOFF);
        let limited = BotError::Homeserver {
            reason: "slow down".into(),
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(limited.pause(1), Duration::from_secs(7));
        let token = BotError::BadToken {
            homeserver: "https://m.example".into(),
            reason: "M_UNKNOWN_TOKEN".into(),
        };
        assert_eq!(token.pause(1), BAD_TOKEN_BACKOFF);
        assert!(token.to_string().contains("--matrix-token"));
    }
}
