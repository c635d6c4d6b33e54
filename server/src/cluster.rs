//! Cluster mode: the [`FanOut`] that relays every node's durable updates to the other nodes
//! through one Redis stream per document.
//!
//! Data flow (ARCHITECTURE.md, "Cluster"): a room commits a batch to PostgreSQL, relays it to
//! its own connections, then hands the merged update to [`RedisFanOut::publish`]; the
//! [`publish`] task appends it to the stream `palabre:doc:{id}` (`XADD … MAXLEN ~`). Each node's
//! [`relay`] task reads the streams of the docs it has open from its last id and gives other
//! nodes' entries to [`Hub::apply_remote`] (applied and relayed, not stored again). Nothing
//! reaches Redis before it is in PostgreSQL, so nothing reaches any client anywhere before
//! it is durable.
//!
//! Redis is a relay, never the truth: whenever a node may have missed entries (a doc just
//! opened, the Redis connection lost, its position trimmed away, a peer that could not
//! publish), it catches up from PostgreSQL — the store's state minus what the room already
//! has — before relaying anything newer.

mod bus;
mod follow;
mod guesses;
mod held;
mod publish;
mod relay;

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use crate::auth::{GuessLimiter, Registry, Role};
use crate::doc_id::DocId;
use crate::hub::Hub;
use crate::metrics::ClusterStatus;
use crate::room::FanOut;
use crate::store::Store;

/// Entries kept per stream (approximately: `MAXLEN ~`). A node further behind than this
/// catches up from PostgreSQL instead.
pub const STREAM_MAXLEN: usize = 1000;

/// Streams of documents nobody writes expire after this long.
pub const STREAM_TTL: Duration = Duration::from_secs(3600);

/// Errors of cluster mode.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The Redis URL does not parse.
    #[error("bad Redis URL: {0}")]
    Url(String),
}

/// What the rooms tell the relay.
#[derive(Debug)]
enum Control {
    Opened(DocId),
    Closed(DocId),
}

/// One published update: a doc's merged, durable update.
#[derive(Debug)]
struct Outgoing {
    doc: DocId,
    update: Bytes,
}

/// The fan-out of a cluster node. Its methods only queue (they run on room tasks).
pub struct RedisFanOut {
    control: mpsc::UnboundedSender<Control>,
    outgoing: mpsc::Sender<Outgoing>,
    presence: mpsc::Sender<bus::PresenceOut>,
    dirty: Arc<Dirty>,
    status: Arc<ClusterStatus>,
}

/// Docs with durable updates that did not reach their stream: the publisher appends a resync
/// marker for each once Redis takes entries again, and every peer reading it catches up from
/// PostgreSQL.
#[derive(Debug, Default)]
struct Dirty {
    /// A std mutex: held only to insert or drain, never across an await.
    docs: std::sync::Mutex<std::collections::HashSet<DocId>>,
}

impl Dirty {
    fn mark(&self, doc: DocId) {
        if let Ok(mut docs) = self.docs.lock() {
            docs.insert(doc);
        }
    }

    fn mark_all(&self, docs: impl IntoIterator<Item = DocId>) {
        if let Ok(mut set) = self.docs.lock() {
            set.extend(docs);
        }
    }

    fn take(&self) -> Vec<DocId> {
        self.docs
            .lock()
            .map(|mut docs| docs.drain().collect())
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for RedisFanOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisFanOut")
            .field("node", &self.status.node())
            .finish()
    }
}

/// Starts the relay tasks once the hub exists (the hub needs the fan-out first).
pub struct Starter {
    client: redis::Client,
    control: mpsc::UnboundedReceiver<Control>,
    outgoing: mpsc::Receiver<Outgoing>,
    presence: mpsc::Receiver<bus::PresenceOut>,
    dirty: Arc<Dirty>,
    status: Arc<ClusterStatus>,
}

/// Most published updates queued for Redis; past it, the doc is marked for a peer resync
/// instead (nothing is lost: the updates are in PostgreSQL).
const OUTGOING_QUEUE: usize = 8192;

impl RedisFanOut {
    /// A fan-out through the Redis at `url`; nothing connects until [`Starter::start`].
    pub fn new(url: &str) -> Result<(Arc<RedisFanOut>, Starter), ClusterError> {
        let client = redis::Client::open(url).map_err(|e| ClusterError::Url(e.to_string()))?;
        let node = format!("{:016x}", rand::random::<u64>());
        let status = Arc::new(ClusterStatus::new(node));
        let (control_tx, control) = mpsc::unbounded_channel();
        let (outgoing_tx, outgoing) = mpsc::channel(OUTGOING_QUEUE);
        let (presence_tx, presence) = mpsc::channel(bus::PRESENCE_QUEUE);
        let dirty = Arc::new(Dirty::default());
        let fanout = Arc::new(RedisFanOut {
            control: control_tx,
            outgoing: outgoing_tx,
            presence: presence_tx,
            dirty: Arc::clone(&dirty),
            status: Arc::clone(&status),
        });
        Ok((
            fanout,
            Starter {
                client,
                control,
                outgoing,
                presence,
                dirty,
                status,
            },
        ))
    }

    /// Counters and state, for `/metrics` and `/healthz`.
    pub fn status(&self) -> Arc<ClusterStatus> {
        Arc::clone(&self.status)
    }
}

impl FanOut for RedisFanOut {
    fn opened(&self, doc: &DocId) {
        let _ = self.control.send(Control::Opened(doc.clone()));
    }

    fn publish(&self, doc: &DocId, update: &Bytes) {
        let outgoing = Outgoing {
            doc: doc.clone(),
            update: update.clone(),
        };
        if let Err(error) = self.outgoing.try_send(outgoing) {
            // Redis is too slow or away: the update is durable; the peers will be told to
            // catch up from PostgreSQL once Redis takes entries again.
            self.status.publish_failures.fetch_add(1, Relaxed);
            let doc = match error {
                mpsc::error::TrySendError::Full(o) | mpsc::error::TrySendError::Closed(o) => o.doc,
            };
            self.dirty.mark(doc);
        }
    }

    fn closed(&self, doc: &DocId) {
        let _ = self.control.send(Control::Closed(doc.clone()));
    }

    fn presence(&self, doc: &DocId, update: &yrs::sync::awareness::AwarenessUpdate) {
        // Lossy: a full queue drops it; renewals follow every few seconds.
        let _ = self
            .presence
            .try_send((doc.clone(), crate::protocol::encode_awareness(update)));
    }
}

/// The fan-out `config` asks for: through Redis with `--redis` (its status registered in
/// `metrics`), else none (one node).
pub fn fan_out(
    config: &crate::config::Config,
    metrics: &crate::metrics::Metrics,
) -> Result<(Arc<dyn FanOut>, Option<Starter>), ClusterError> {
    let Some(url) = &config.redis_url else {
        return Ok((Arc::new(crate::room::LocalOnly), None));
    };
    let (fanout, starter) = RedisFanOut::new(url)?;
    let _ = metrics.cluster.set(fanout.status());
    tracing::info!(
        node = fanout.status().node(),
        "cluster node: relaying through Redis"
    );
    Ok((fanout, Some(starter)))
}

impl Starter {
    /// Spawns the publisher, the relay reader and the pub/sub publisher; they run until the
    /// process exits. The returned handle wires the rest once the HTTP state exists.
    pub fn start(self, hub: Hub, store: Arc<dyn Store>) -> Shared {
        let node = self.status.node().to_owned();
        let publisher =
            publish::Publisher::new(self.client.clone(), self.dirty, Arc::clone(&self.status));
        tokio::spawn(publisher.run(self.outgoing));
        let held = Arc::new(held::RedisHeld::new(self.client.clone()));
        tokio::spawn(Arc::clone(&held).run());
        hub.held_counts().share(held);
        let reader = relay::Relay::new(self.client.clone(), hub.clone(), store, self.status);
        tokio::spawn(reader.run(self.control));
        let (credentials, changed) = mpsc::unbounded_channel();
        tokio::spawn(bus::publish(
            self.client.clone(),
            node.clone(),
            self.presence,
            changed,
        ));
        Shared {
            client: self.client,
            node,
            hub,
            credentials,
        }
    }
}

/// What the cluster needs of the workshops this node serves: the credentials cache their
/// connections were let in by, and a way to close the connections opened with a role's secret.
/// The HTTP side's state implements it, so the cluster never names HTTP.
pub trait Sessions: Send + Sync + 'static {
    /// This node's credentials cache: re-read when another node changes a workshop's.
    fn registry(&self) -> &Registry;

    /// Closes (4001) the connections to workshop `wid` opened with a role `which` selects.
    fn close_sessions<'a>(
        &'a self,
        wid: &'a str,
        which: &'a (dyn Fn(Role) -> bool + Sync),
    ) -> BoxFuture<'a, ()>;
}

/// What makes credentials, guess limits and presence hold cluster-wide, once attached to the
/// node's sessions (see [`bus`] and [`guesses`]).
pub struct Shared {
    client: redis::Client,
    node: String,
    hub: Hub,
    credentials: mpsc::UnboundedSender<String>,
}

impl Shared {
    /// Tells other nodes of this node's credential changes, follows theirs and presence, and
    /// counts join-code failures in Redis.
    pub fn attach(self, sessions: Arc<dyn Sessions>, guesses: &GuessLimiter) {
        let credentials = self.credentials;
        sessions.registry().set_notifier(Box::new(move |wid| {
            let _ = credentials.send(wid.to_owned());
        }));
        guesses.share(Arc::new(guesses::RedisGuesses::new(self.client.clone())));
        tokio::spawn(bus::listen(self.client, self.node, self.hub, sessions));
    }
}

/// Stream key of a doc.
fn stream_key(doc: &DocId) -> String {
    format!("palabre:doc:{}", doc.as_str())
}

/// A stream entry id `ms-seq`, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
struct EntryId(u64, u64);

impl EntryId {
    fn parse(s: &str) -> Option<EntryId> {
        let (ms, seq) = s.split_once('-')?;
        Some(EntryId(ms.parse().ok()?, seq.parse().ok()?))
    }

    fn millis(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.0, self.1)
    }
}

/// Milliseconds since the epoch (stream ids are Redis' clock; nodes share the host's here,
/// and NTP elsewhere: the lag is an estimate).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// The connection of `cell`, opened from `client` on first use (each request then gives up after
/// `timeout`), shared after: what the cluster's Redis-backed tables (guesses, held counts) use.
async fn lazy_conn(
    client: &redis::Client,
    cell: &tokio::sync::OnceCell<redis::aio::ConnectionManager>,
    timeout: Duration,
) -> Result<redis::aio::ConnectionManager, redis::RedisError> {
    let client = client.clone();
    cell.get_or_try_init(|| async move {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout));
        redis::aio::ConnectionManager::new_with_config(client, config).await
    })
    .await
    .cloned()
}

#[cfg(test)]
mod tests {
    use super::EntryId;

    #[test]
    fn entry_ids_order_by_time_then_sequence() {
        let a = EntryId::parse("1700000000000-5").expect("parse");
        let b = EntryId::parse("1700000000000-12").expect("parse");
        let c = EntryId::parse("1700000000001-0").expect("parse");
        assert!(a < b && b < c);
        assert_eq!(b.to_string(), "1700000000000-12");
        assert_eq!(EntryId::parse("nonsense"), None);
        assert_eq!(EntryId::parse("12-x"), None);
    }
}
