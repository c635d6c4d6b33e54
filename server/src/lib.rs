//! Palabre: a realtime collaborative board server for participatory workshops.
//!
//! A tour of the crate, from the wire inwards:
//! - [`http`] — axum routes: the WebSocket endpoint, health, metrics, the web client.
//!   The only module that knows about HTTP.
//! - [`protocol`] — y-protocols frames <-> typed messages, with allocation-free bounds
//!   checks before anything reaches a yrs decoder. No IO.
//! - [`doc_id`] — document ids parsed once: workshop doc, board doc, and their kind.
//! - [`hub`] — doc id -> live [`room`]; loads on first join with the [`policy`] of its kind of
//!   doc, forgets rooms that evict themselves.
//! - [`room`] — one document's actor: sync handshake, coalescing, durable-then-relay, presence,
//!   compaction. Talks to connections through queues, to the disk through [`store::Store`], to
//!   other nodes through [`room::FanOut`]; applies its policy's verdicts without knowing roles.
//! - [`policy`] — what each connection may do to each kind of doc (roles, locks, caps). No IO.
//! - [`store`] — the durable log + snapshots (SQLite, group commit on its own thread).
//!   The only module that touches the disk.
//! - [`touched`] — what a change touched in a doc (per root, its first-level keys), from yrs's
//!   deep observers: what lets a policy re-read only that part. No IO.
//! - [`board`] — the workshop and board model (Y.Doc schema, templates, exports). No IO.
//! - [`config`], [`metrics`] — options and counters.

pub mod auth;
pub mod board;
pub mod cluster;
pub mod config;
pub mod conn;
pub mod device;
pub mod doc_id;
pub mod health;
pub mod http;
pub mod hub;
pub mod metrics;
#[cfg(test)]
mod module_graph;
pub mod outbox;
pub mod policy;
mod presence;
pub mod protocol;
mod replies;
pub mod room;
pub mod store;
#[cfg(feature = "test-hooks")]
pub mod testing;
pub mod touched;

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::{Config, Durability};

/// How often a storage fault is probed with a test write.
const PROBE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// The probe writes about as much as a big batch, so that a disk with only a few free pages
/// left is not mistaken for a recovered one.
const PROBE_BYTES: usize = 256 * 1024;

/// While storage is faulted, tries a durable write every [`PROBE_EVERY`]; the first success
/// clears the fault and rooms accept writes again (see [`health`]).
async fn probe_storage(store: Arc<dyn store::Store>, metrics: Arc<metrics::Metrics>) {
    let mut faults = metrics.health.subscribe();
    loop {
        if faults.borrow_and_update().is_none() && faults.changed().await.is_err() {
            return;
        }
        tokio::time::sleep(PROBE_EVERY).await;
        if metrics.health.fault().is_none() {
            continue;
        }
        let probe = store.put_meta("health-probe", vec![0u8; PROBE_BYTES]).await;
        let shrink = match probe {
            Ok(()) => store.put_meta("health-probe", vec![0u8]).await,
            Err(e) => Err(e),
        };
        match shrink {
            Ok(()) => metrics.health.storage_recovered(),
            Err(e) => metrics.health.storage_failed(&e.to_string()),
        }
    }
}

/// Errors that stop the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The storage could not be opened or closed cleanly.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// The listener failed.
    #[error("serving failed: {0}")]
    Io(#[from] std::io::Error),
    /// Cluster mode could not be set up.
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
}

/// Formats of a workshop export (one type for the command line and HTTP).
pub use board::export::Format as ExportFormat;

/// Errors of an offline export.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// There is no database in the data directory.
    #[error("no Palabre database at {0}")]
    NoDatabase(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// No workshop with that id is stored.
    #[error("no workshop {0} in this data directory")]
    UnknownWorkshop(String),
}

/// Renders workshop `wid` from the database in `data_dir`, without a running server.
pub async fn export_stored(
    data_dir: &std::path::Path,
    wid: &str,
    format: ExportFormat,
) -> Result<String, ExportError> {
    use store::Store as _;
    let path = data_dir.join("palabre.db");
    if !path.is_file() {
        return Err(ExportError::NoDatabase(path.display().to_string()));
    }
    let cfg = store::SqliteConfig {
        path,
        synchronous_full: true,
        max_batch: 1024,
    };
    let store = tokio::task::spawn_blocking(move || store::SqliteStore::open(cfg))
        .await
        .map_err(|e| store::StoreError::Database(format!("opening task failed: {e}")))??;
    let stored = store.load(wid).await?;
    if stored.snapshot.is_none() && stored.updates.is_empty() {
        return Err(ExportError::UnknownWorkshop(wid.to_string()));
    }
    let workshop = room::doc_from_stored(wid, &stored);
    let mut boards = Vec::new();
    // Notes still held back in their writers' held docs (board-schema §6): counted, not shown.
    let mut held = std::collections::HashMap::new();
    for doc_id in board::workshop::board_doc_ids(&workshop) {
        let stored = store.load(&doc_id).await?;
        let doc = room::doc_from_stored(&doc_id, &stored);
        if let Some(bid) = doc_id::DocId::parse(&doc_id)
            .ok()
            .and_then(|d| d.board().map(str::to_string))
        {
            let mut n = 0u32;
            for held_id in store
                .list_docs(&doc_id::DocId::held_prefix(wid, &bid))
                .await?
            {
                let stored = store.load(&held_id).await?;
                let count = board::held::held_count(&room::doc_from_stored(&held_id, &stored));
                n = n.saturating_add(u32::try_from(count).unwrap_or(u32::MAX));
            }
            held.insert(bid, n);
        }
        boards.push((doc_id, doc));
    }
    store.shutdown().await?;
    let mut view = board::read_workshop(&workshop, &boards);
    board::view::add_held(&mut view, &held);
    Ok(format.render(&view))
}

/// Opens the store the configuration names, off the async executor: PostgreSQL with
/// `--postgres`, else the embedded SQLite file under `config.data_dir`. The only place above
/// `store` that names an implementation.
pub async fn open_store(config: &Config) -> Result<Arc<dyn store::Store>, store::StoreError> {
    if let Some(url) = &config.postgres_url {
        let store = store::PostgresStore::connect(store::PgConfig::new(url.clone())).await?;
        return Ok(Arc::new(store));
    }
    let cfg = store::SqliteConfig {
        path: config.data_dir.join("palabre.db"),
        synchronous_full: config.durability == Durability::Strict,
        max_batch: 1024,
    };
    let store = tokio::task::spawn_blocking(move || store::SqliteStore::open(cfg))
        .await
        .map_err(|e| store::StoreError::Database(format!("opening task failed: {e}")))??;
    let store: Arc<dyn store::Store> = Arc::new(store);
    #[cfg(feature = "test-hooks")]
    let store: Arc<dyn store::Store> = Arc::new(store::faults::FaultyStore::new(store));
    Ok(store)
}

/// Serves Palabre on an already-bound listener until `shutdown` resolves, then closes every
/// connection, commits and compacts every open document, and closes the store.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    run_when_ready(listener, config, shutdown, |_| {}).await
}

/// [`run`], calling `ready` with the served address once the store is open and connections
/// are accepted (the binary prints "listening" there).
pub async fn run_when_ready(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
    ready: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServerError> {
    let store = open_store(&config).await?;
    store.backlog().set_marks(config.backlog_marks());
    let metrics = Arc::new(metrics::Metrics::default());
    let room_cfg = room::RoomConfig {
        durability: config.durability,
        coalesce: config.coalesce,
        coalesce_max: config.coalesce_max,
        compact_bytes: config.compact_bytes,
        compact_updates: config.compact_updates,
        idle: config.room_idle,
        awareness_timeout: config.awareness_timeout,
        presence_state_bytes: config.presence_state_bytes,
        presence_doc_bytes: config.presence_doc_bytes,
    };
    let policies = policy::Policies::new(policy::Limits {
        workshop_quota_bytes: config.workshop_quota_bytes,
        max_doc_bytes: config.max_doc_bytes,
        max_items: config.max_items,
    });
    let (fanout, relay) = cluster::fan_out(&config, &metrics)?;
    let hub = hub::Hub::new(store.clone(), room_cfg, metrics.clone(), policies, fanout);
    let shared = relay.map(|relay| relay.start(hub.clone(), store.clone()));
    let limits = http::serve::ServeLimits {
        header_timeout: config.header_timeout,
        max_connections: http::serve::fit_to_fd_limit(config.max_connections),
        max_unauthenticated: http::serve::fit_to_fd_limit(config.max_unauthenticated),
        max_unauthenticated_per_addr: config.max_unauthenticated_per_addr.max(1),
        proxies: config.proxies(),
    };
    if limits.max_connections < config.max_connections {
        tracing::warn!(
            wanted = config.max_connections,
            allowed = limits.max_connections,
            "the open-files limit caps connections below --max-connections"
        );
    }
    let probe = tokio::spawn(probe_storage(store.clone(), metrics.clone()));
    let state = http::AppState::new(
        hub.clone(),
        metrics.clone(),
        Arc::new(config),
        store.clone(),
    );
    if let Some(shared) = shared {
        shared.attach(Arc::new(state.clone()), &state.guesses);
    }
    let app = http::app(state.clone());
    // Retention runs at start-up (before the first request is served) and then hourly.
    http::api::retention_sweep(&state).await;
    http::api::spawn_retention(state.clone());
    // Cached credentials leave memory once their TTL has passed, even if nobody asks again.
    let sweeper = tokio::spawn({
        let state = state.clone();
        async move {
            let period = (state.registry.ttl() / 4).clamp(
                std::time::Duration::from_millis(100),
                std::time::Duration::from_secs(60),
            );
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                state.registry.sweep();
            }
        }
    });
    let stopping = state.clone();
    if let Ok(addr) = listener.local_addr() {
        ready(addr);
    }
    http::serve::serve(listener, app, limits, metrics, shutdown, async move {
        stopping.shutting_down.store(true, Ordering::SeqCst);
        tracing::info!("shutting down: closing connections and saving documents");
        stopping.hub.shutdown().await;
    })
    .await;
    // Rooms opened during shutdown still committed their log; fold them too.
    hub.shutdown().await;
    probe.abort();
    sweeper.abort();
    store.shutdown().await?;
    Ok(())
}
