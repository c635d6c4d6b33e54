//! The room's surface to the rest of the server: what the hub hands a room ([`RoomParts`],
//! [`RoomConfig`]), what its inbox accepts ([`RoomMsg`]), what a connection is to it
//! ([`Subscriber`]) and what its server-side operations fail with ([`RoomError`]). Types only:
//! the actor that acts on them is `room.rs`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use yrs::Doc;

use super::FanOut;
use crate::config::Durability;
use crate::conn::{CloseReason, ConnId};
use crate::metrics::Metrics;
use crate::policy::{Peer, WritePolicy};
use crate::protocol;
use crate::store::{Store, StoreError};

/// A connection as the room sees it: where to send frames and how to close it.
#[derive(Debug)]
pub struct Subscriber {
    /// The connection's id.
    pub id: ConnId,
    /// Bounded queue of encoded frames; when it is full the connection is too slow.
    pub outbox: crate::outbox::OutboxSender,
    /// Fired once to make the connection close with a code and reason.
    pub close: oneshot::Sender<CloseReason>,
    /// Who the connection is, for the doc's write policy.
    pub peer: Peer,
}

/// Errors of server-side operations on a room.
#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    /// The room stopped (evicted or shutting down) before handling the request.
    #[error("the document is closing, try again")]
    Closed,
    /// The store failed to load or persist the document.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A server-side edit produced an update the document rejected.
    #[error("edit rejected by the document: {0}")]
    Rejected(String),
}

pub(super) type Job = Box<dyn FnOnce(&Doc) + Send>;
pub(super) type Waiter = oneshot::Sender<Result<(), RoomError>>;

/// Messages a room's inbox accepts.
pub(crate) enum RoomMsg {
    /// A connection joins; `joined` fires once it is registered.
    Join {
        sub: Subscriber,
        joined: oneshot::Sender<()>,
    },
    /// A connection left (its socket closed).
    Leave { conn: ConnId },
    /// A decoded message from a connection.
    Frame {
        conn: ConnId,
        msg: protocol::Message,
    },
    /// A server-side change; `done` fires once it is durable.
    Edit { job: Job, done: Waiter },
    /// A read of the current state; runs off the async threads while the room waits.
    Read { job: Job },
    /// A durable update another node published: applied and relayed here, not stored again.
    Remote { update: Bytes },
    /// Presence another node published (cluster mode): relayed here, never published again.
    RemotePresence {
        update: yrs::sync::awareness::AwarenessUpdate,
    },
    /// Close every connection matching the predicate (e.g. a revoked credential).
    Kick {
        which: Box<dyn Fn(ConnId) -> bool + Send>,
        reason: CloseReason,
    },
    /// Flush, compact and stop; `done` fires when finished.
    Shutdown { done: oneshot::Sender<()> },
}

/// Tunables of a room, derived from the server configuration.
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// Strict or relaxed durability.
    pub durability: Durability,
    /// How long updates are gathered before one commit and one relayed frame.
    pub coalesce: Duration,
    /// Compaction threshold in log bytes.
    pub compact_bytes: u64,
    /// Compaction threshold in log entries.
    pub compact_updates: u64,
    /// Idle time with no connection before eviction.
    pub idle: Duration,
    /// Awareness states not renewed for this long are dropped.
    pub awareness_timeout: Duration,
    /// Longest coalescing window, reached by crowded rooms.
    pub coalesce_max: Duration,
    /// Largest presence state kept, in bytes.
    pub presence_state_bytes: usize,
    /// Most presence bytes one doc keeps (and sends a newcomer).
    pub presence_doc_bytes: usize,
}

/// Called by the room when it stops, so the hub forgets it (only if it is still the same room).
pub(crate) type OnExit = Box<dyn FnOnce() + Send>;

/// What a room is given besides its doc: where to store, what rules to apply, where to fan out.
pub(crate) struct RoomParts {
    pub(crate) cfg: Arc<RoomConfig>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) policy: Arc<dyn WritePolicy>,
    pub(crate) fanout: Arc<dyn FanOut>,
}
