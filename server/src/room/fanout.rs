//! The relay step's seam to other nodes. A room relays every durable merged update to its own
//! connections and hands it to its [`FanOut`], which may publish it elsewhere (a Redis stream
//! keyed by doc id, for instance). Updates other nodes published come back in through
//! [`crate::hub::Hub::apply_remote`]: the room applies them and relays them to its connections
//! without storing them again (they are durable where they were committed).

use bytes::Bytes;

use crate::doc_id::DocId;

/// Where a room's durable updates go besides its own connections. Called on the room's task:
/// implementations must not block (queue the work, return).
pub trait FanOut: Send + Sync + 'static {
    /// A room for `doc` was loaded on this node (subscribe to what others publish for it).
    fn opened(&self, _doc: &DocId) {}

    /// `update` (yrs v1, one merged batch) of `doc` is durable and was relayed locally. In
    /// strict durability this is only ever called after the commit; never for a failed one,
    /// and never for an update that came from [`crate::hub::Hub::apply_remote`].
    fn publish(&self, doc: &DocId, update: &Bytes);

    /// The room for `doc` stopped on this node (unsubscribe).
    fn closed(&self, _doc: &DocId) {}

    /// Presence changes or renewals of `doc`'s local connections, as relayed to them (never
    /// what came from other nodes). Lossy: an implementation may drop them when busy.
    fn presence(&self, _doc: &DocId, _update: &yrs::sync::awareness::AwarenessUpdate) {}
}

/// One node: nothing to publish.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalOnly;

impl FanOut for LocalOnly {
    fn publish(&self, _doc: &DocId, _update: &Bytes) {}
}
