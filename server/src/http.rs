//! HTTP edge: routes, JSON errors, the WebSocket endpoint, health, metrics and the web client.

pub mod api;
pub mod edge;
pub mod limits;
pub mod serve;
pub mod ws;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::services::{ServeDir, ServeFile};

use dashmap::DashMap;

use crate::auth::{GuessLimiter, GuessLimits, Registry, Role};
use crate::config::Config;
use crate::hub::Hub;
use crate::metrics::Metrics;
use crate::store::Store;

/// Everything a request handler may need. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<AppInner>,
}

/// The shared parts behind [`AppState`].
pub struct AppInner {
    /// Live documents.
    pub hub: Hub,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The server's options.
    pub config: Arc<Config>,
    /// The store, for its statistics and for writing brand-new workshops.
    pub store: Arc<dyn Store>,
    /// Source of connection ids.
    pub next_conn: AtomicU64,
    /// Set once shutdown begins: new connections are refused.
    pub shutting_down: AtomicBool,
    /// Workshop credentials.
    pub registry: Registry,
    /// Join-code guessing limiter.
    pub guesses: GuessLimiter,
    /// Open connections per address and per doc.
    pub conn_limits: Arc<limits::ConnLimits>,
    /// Connections opened with a workshop credential, so a rotation can close them.
    pub sessions: DashMap<u64, Session>,
    /// Client addresses, origins, creation limits, upgrades in flight.
    pub edge: edge::Edge,
}

/// A WebSocket connection opened with a workshop credential.
#[derive(Debug, Clone)]
pub struct Session {
    /// The workshop whose secret was used.
    pub workshop: String,
    /// The role that secret granted.
    pub role: Role,
    /// The doc the connection is attached to.
    pub doc: crate::doc_id::DocId,
}

impl std::ops::Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.inner
    }
}

impl AppState {
    /// Bundles the server's shared parts.
    pub fn new(
        hub: Hub,
        metrics: Arc<Metrics>,
        config: Arc<Config>,
        store: Arc<dyn Store>,
    ) -> Self {
        let guesses = GuessLimiter::new(GuessLimits {
            per_address: config.join_attempts.max(1),
            window: std::time::Duration::from_secs(600),
            lockout: config.join_lockout,
            pow_bits: config.join_pow_bits,
            global_per_hour: config.join_global_per_hour.max(1),
        });
        let edge = edge::Edge::new(&config, store.backlog());
        AppState {
            inner: Arc::new(AppInner {
                hub,
                metrics,
                registry: Registry::new(store.clone(), config.credential_ttl),
                config,
                store,
                next_conn: AtomicU64::new(1),
                shutting_down: AtomicBool::new(false),
                guesses,
                conn_limits: Arc::default(),
                sessions: DashMap::new(),
                edge,
            }),
        }
    }
}

/// What the cluster's bus needs of this node's workshops: their credentials and the sessions
/// opened with them.
impl crate::cluster::Sessions for AppState {
    fn registry(&self) -> &Registry {
        &self.registry
    }

    fn close_sessions<'a>(
        &'a self,
        wid: &'a str,
        which: &'a (dyn Fn(Role) -> bool + Sync),
    ) -> futures_util::future::BoxFuture<'a, ()> {
        Box::pin(api::close_sessions(self, wid, which))
    }
}

/// Reads workshop `wid`'s stored bytes from the store when the count the policies use is stale.
pub(crate) async fn refresh_usage(state: &AppState, wid: &str) -> Result<(), ApiError> {
    let now = std::time::Instant::now();
    if state.hub.usage().stale(wid, now) {
        let stored = state
            .store
            .workshop_bytes(wid)
            .await
            .map_err(ApiError::internal)?;
        state.hub.usage().set(wid, stored, now);
    }
    Ok(())
}

/// An error answered as JSON `{"error": message}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    /// 401: no credential.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    /// 403: a credential that does not allow this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    /// 500, logged; the client only learns that it failed.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error, see the server log",
        )
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// `Json<T>` whose rejections (bad syntax, wrong types, unknown template) are answered like every
/// other API error: 400 with `{"error": …}`.
pub struct ApiJson<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError::bad_request(rejection.body_text())),
        }
    }
}

/// The role `token` grants in workshop `wid`: 401 without a token, 403 with a wrong one or for a
/// workshop that does not exist (so probing ids teaches nothing).
pub(crate) async fn role_in(
    state: &AppState,
    wid: &str,
    token: Option<&str>,
) -> Result<Role, ApiError> {
    let token = token.filter(|t| !t.is_empty()).ok_or_else(|| {
        state.metrics.reject("no_token");
        ApiError::unauthorized("this needs the link's secret (token)")
    })?;
    let creds = state.registry.get(wid).await.map_err(ApiError::internal)?;
    match creds.and_then(|c| c.role_of(token)) {
        Some(role) => Ok(role),
        None => {
            state.metrics.reject("bad_token");
            Err(ApiError::forbidden("unknown workshop or wrong link"))
        }
    }
}

/// The client's address: the peer, or the rightmost X-Forwarded-For hop that is not one of
/// the `--trusted-proxies` (see [`edge::Edge::client_addr`]).
pub(crate) fn client_addr(
    state: &AppState,
    peer: std::net::SocketAddr,
    headers: &axum::http::HeaderMap,
) -> std::net::IpAddr {
    state.edge.client_addr(peer, headers)
}

/// The whole HTTP surface of Palabre.
pub fn app(state: AppState) -> Router {
    let web_dir = state.config.web_dir.clone();
    let api = Router::new()
        .route("/ws/{doc}", get(ws::upgrade))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .merge(api::routes());
    let router = if web_dir.join("index.html").is_file() {
        // Client-side routes (/w/...) all load the same page.
        let index = ServeFile::new(web_dir.join("index.html"));
        api.fallback_service(ServeDir::new(&web_dir).fallback(index))
    } else {
        api.fallback(move || not_built(web_dir.clone()))
    };
    let timeout = state.config.request_timeout;
    edge::layers(router.with_state(state), timeout)
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state
        .shutting_down
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n").into_response();
    }
    if let Some(fault) = state.metrics.health.fault() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("storage: {fault}\n"),
        )
            .into_response();
    }
    // Still healthy without Redis (this node serves its own connections durably), and while
    // the store's writer is behind (a load, not a fault: every write still becomes durable, and
    // a 503 would have an orchestrator restart the one node holding the backlog), but say so.
    let mut notes = Vec::new();
    if let Some(cluster) = state.metrics.cluster.get() {
        if !cluster.relaying() {
            notes.push("not relaying: Redis unreachable".to_owned());
        }
    }
    let backlog = state.edge.writes.backlog();
    if backlog.saturated() {
        notes.push(format!(
            "store behind: {} KiB not yet durable, updates paused",
            backlog.bytes() / 1024
        ));
    }
    if notes.is_empty() {
        "ok\n".into_response()
    } else {
        format!("ok; {}\n", notes.join("; ")).into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let stats = state.store.stats();
    let backlog = state.edge.writes.backlog();
    let m = &state.metrics;
    m.store_backlog_bytes
        .store(backlog.bytes(), std::sync::atomic::Ordering::Relaxed);
    m.store_backlog_writes
        .store(backlog.writes(), std::sync::atomic::Ordering::Relaxed);
    m.store_saturated.store(
        u64::from(backlog.saturated()),
        std::sync::atomic::Ordering::Relaxed,
    );
    let cached = state.registry.cached() as u64;
    state
        .metrics
        .credentials_cached
        .store(cached, std::sync::atomic::Ordering::Relaxed);
    let mut body = state.metrics.render(&stats);
    if let Some(cluster) = state.metrics.cluster.get() {
        body.push_str(&cluster.render());
    }
    ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], body).into_response()
}

async fn not_built(web_dir: std::path::PathBuf) -> Response {
    let dir = Path::new(&web_dir).display().to_string();
    let dir = dir.replace('&', "&amp;").replace('<', "&lt;");
    (
        StatusCode::OK,
        Html(format!(
            "<!doctype html><html lang=\"fr\"><meta charset=\"utf-8\"><title>Palabre</title>\
             <body style=\"font-family:sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5\">\
             <h1>Palabre fonctionne</h1><p>Le client web n'est pas encore construit (<code>{dir}</code> \
             est vide). Lancez <code>make run</code> depuis la racine du dépôt : il le construit puis \
             démarre le serveur.</p><p lang=\"en\">The web client is not built yet. Run \
             <code>make run</code> from the repository root: it builds it, then starts the server.</p>\
             </body></html>"
        )),
    )
        .into_response()
}
