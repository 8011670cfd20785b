//! Building and running the HTTP server. `Server::build` binds its own
//! listener so tests can ask for port 0 and learn the real address.

use crate::problem::Problem;
use crate::{api, metrics};
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tocsin_core::clock::Clock;
use tocsin_core::ingest::{Ingestor, IngestorConfig, IntegrationIndex, RateLimit, RateLimiter};
use tocsin_core::session::Sessions;
use tocsin_store::Store;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Sev1 and Sev2 incidents need a done review before they close, unless
/// the organisation chooses otherwise.
pub const DEFAULT_REVIEW_REQUIRED: [tocsin_domain::Severity; 2] =
    [tocsin_domain::Severity::Sev1, tocsin_domain::Severity::Sev2];

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    /// Where ingestion endpoints hand their events (group commit).
    pub ingestor: Ingestor,
    /// Integration keys → integration, service, format, severity table;
    /// and the alerting policy.
    pub integrations: Arc<IntegrationIndex>,
    /// Per-integration rate limit on ingestion.
    pub ingest_limit: Arc<RateLimiter>,
    pub sessions: Arc<Sessions>,
    /// Set the Secure flag (and the `__Host-` prefix) on cookies: true
    /// when tocsin is reached over HTTPS.
    pub secure_cookies: bool,
    /// Severities whose incidents need their review done before they
    /// close (`tocsin serve --review-required`).
    pub review_required: Arc<Vec<tocsin_domain::Severity>>,
    /// The Slack app's signing secret (`tocsin serve
    /// --slack-signing-secret`); without it the Slack endpoints answer 503.
    pub slack_signing_secret: Option<Arc<String>>,
    /// The Mattermost slash command and button tokens (`tocsin serve
    /// --mattermost-token`); without any the Mattermost endpoints answer
    /// 503.
    pub mattermost_tokens: Arc<Vec<String>>,
    /// Slack's Web API with the bot token (`tocsin serve
    /// --slack-bot-token`, `--slack-api-url`): answers to Events API
    /// mentions and DMs, the email lookup of unknown members, button
    /// outcomes. Without it events are not answered.
    pub slack_api: Option<tocsin_notify::slack_api::WebApi>,
    /// Where people and chat servers reach the hub (`--public-url`):
    /// Mattermost's confirmation buttons post back to it.
    pub public_url: Option<Arc<String>>,
    /// What runbook actions may run on this hub (`tocsin serve
    /// --runbook-command`) and their HTTP client.
    pub runbooks: tocsin_core::runbook::Runbooks,
    /// Ping URLs → declared heartbeats.
    pub heartbeats: Arc<tocsin_core::heartbeat::HeartbeatIndex>,
    /// Where ping endpoints hand their pings (group commit).
    pub pinger: tocsin_core::heartbeat::Pinger,
}

impl AppState {
    /// Starts the ingest writer task: call inside a Tokio runtime. The
    /// writer drains and stops when the last clone of the state is dropped.
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> AppState {
        AppState::with_ingest(store, clock, IngestorConfig::default())
    }

    /// [`AppState::new`] with the ingest writer's settings (its batch
    /// size, queue, and the engine to wake after a batch).
    pub fn with_ingest(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: IngestorConfig,
    ) -> AppState {
        let integrations = Arc::new(IntegrationIndex::new(store.clone()));
        let heartbeats = Arc::new(tocsin_core::heartbeat::HeartbeatIndex::new(store.clone()));
        let (pinger, _ping_writer) = tocsin_core::heartbeat::Pinger::start(
            store.clone(),
            tocsin_core::heartbeat::PingerConfig {
                wake: config.wake.clone(),
                ..Default::default()
            },
        );
        let (ingestor, _writer) =
            Ingestor::start(store.clone(), integrations.clone(), clock.clone(), config);
        AppState {
            store,
            clock,
            ingestor,
            integrations,
            ingest_limit: Arc::new(RateLimiter::new(RateLimit::default())),
            sessions: Arc::new(Sessions::default()),
            secure_cookies: false,
            review_required: Arc::new(DEFAULT_REVIEW_REQUIRED.to_vec()),
            slack_signing_secret: None,
            mattermost_tokens: Arc::new(Vec::new()),
            slack_api: None,
            public_url: None,
            runbooks: tocsin_core::runbook::Runbooks::default(),
            heartbeats,
            pinger,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
}

#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
}

/// The OpenAPI document of the API, as served at `/api/v1/openapi.json`
/// and committed at `docs/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().into_openapi()
}

/// Requests that take longer than this are cut off with 408, so a stuck
/// database does not pile up connections.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Server {
    pub async fn build(config: &ServerConfig, state: AppState) -> std::io::Result<Server> {
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let (api_router, doc) = api::router().split_for_parts();
        let doc = Arc::new(doc);
        let router = Router::new()
            .route("/metrics", get(metrics::render))
            .route(
                "/api/v1/openapi.json",
                get(move || {
                    let doc = doc.clone();
                    async move { axum::Json(doc.as_ref().clone()) }
                }),
            )
            .merge(api_router)
            .merge(crate::ui::router())
            .merge(crate::ingest::routes::router())
            .merge(crate::heartbeat::router())
            .merge(crate::chat::router())
            .fallback(no_route)
            .method_not_allowed_fallback(wrong_method)
            .with_state(state)
            .layer(TimeoutLayer::with_status_code(
                axum::http::StatusCode::REQUEST_TIMEOUT,
                REQUEST_TIMEOUT,
            ))
            // Outside the timeout, so its bare 408 gets a body and is counted.
            .layer(axum::middleware::map_response(timeout_problem))
            .layer(axum::middleware::from_fn(metrics::track))
            .layer(TraceLayer::new_for_http());
        // Make sure the recorder exists before the first request.
        let _ = metrics::handle();
        Ok(Server { listener, router })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests finish.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// Unknown paths: under `/api/`, or for a client asking for JSON,
/// problem+json like every other API error; elsewhere the HTML error page,
/// since whoever asks is most likely a person following a stale link.
async fn no_route(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path();
    if is_api_path(path) || wants_json(request.headers()) {
        return Problem::not_found(format!("no route for {path}")).into_response();
    }
    crate::ui::page_not_found(&state, request).await
}

fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// An `Accept` naming JSON and not HTML: scripts and API clients. Browsers
/// always name `text/html`, so they keep getting pages.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",")
        .to_ascii_lowercase();
    accept.contains("json") && !accept.contains("text/html")
}

async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> Problem {
    Problem::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}

/// The timeout layer answers a bare 408; give it a problem body too.
async fn timeout_problem(res: Response) -> Response {
    if res.status() != axum::http::StatusCode::REQUEST_TIMEOUT
        || res.headers().contains_key("content-type")
    {
        return res;
    }
    Problem::new(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        "timeout",
        "Request timeout",
        format!(
            "the request took longer than {}s and was cut off; try again",
            REQUEST_TIMEOUT.as_secs()
        ),
    )
    .into_response()
}
