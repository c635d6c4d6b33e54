//! What the hub routes into a live room besides connections: server-side reads and edits
//! (REST), kicks, and the updates and presence other nodes published.

use bytes::Bytes;
use tokio::sync::oneshot;
use yrs::Doc;

use super::{Hub, HubError, JOIN_ATTEMPTS};
use crate::doc_id::DocId;
use crate::room::{CloseReason, ConnId, RoomMsg};

impl Hub {
    /// Runs `f` on the current state of `doc_id` if it is loaded here, whatever its kind; `None`
    /// when it is not (the cluster relay uses it: it never loads a doc).
    pub async fn read_loaded<T, F>(&self, doc_id: &DocId, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(&Doc) -> T + Send + 'static,
    {
        let entry = self.inner.rooms.get(doc_id).map(|e| e.clone())?;
        let (tx, rx) = oneshot::channel();
        let job = Box::new(move |doc: &Doc| {
            let _ = tx.send(f(doc));
        });
        entry.tx.send(RoomMsg::Read { job }).await.ok()?;
        rx.await.ok()
    }

    /// Runs `f` on the current state of workshop doc or board `doc_id` (loading it if needed)
    /// and returns its result. `f` is cloned to be retried if the room was closing when asked.
    pub async fn read<T, F>(&self, doc_id: &DocId, f: F) -> Result<T, HubError>
    where
        T: Send + 'static,
        F: FnOnce(&Doc) -> T + Clone + Send + 'static,
    {
        for _ in 0..JOIN_ATTEMPTS {
            let entry = self.entry(doc_id, doc_id.kind_in_workshop())?;
            let (tx, rx) = oneshot::channel();
            let f = f.clone();
            let job = Box::new(move |doc: &Doc| {
                let _ = tx.send(f(doc));
            });
            if entry.tx.send(RoomMsg::Read { job }).await.is_err() {
                continue;
            }
            if let Ok(v) = rx.await {
                return Ok(v);
            }
        }
        Err(HubError::Unavailable(doc_id.clone()))
    }

    /// Runs `f` as a server-side change of `doc_id`; resolves once the change is durable
    /// (and relayed to every connection of the doc). `f` is cloned to be retried if the room
    /// was closing when asked; it runs exactly once on a live document.
    pub async fn edit<T, F>(&self, doc_id: &DocId, f: F) -> Result<T, HubError>
    where
        T: Send + 'static,
        F: FnOnce(&Doc) -> T + Clone + Send + 'static,
    {
        for _ in 0..JOIN_ATTEMPTS {
            let entry = self.entry(doc_id, doc_id.kind_in_workshop())?;
            let (tx, rx) = oneshot::channel();
            let (done_tx, done_rx) = oneshot::channel();
            let f = f.clone();
            let job = Box::new(move |doc: &Doc| {
                let _ = tx.send(f(doc));
            });
            if entry
                .tx
                .send(RoomMsg::Edit { job, done: done_tx })
                .await
                .is_err()
            {
                continue;
            }
            let Ok(value) = rx.await else { continue };
            done_rx
                .await
                .map_err(|_| HubError::Unavailable(doc_id.clone()))??;
            return Ok(value);
        }
        Err(HubError::Unavailable(doc_id.clone()))
    }

    /// Closes every connection of `doc_id` for which `which` is true.
    pub async fn kick(
        &self,
        doc_id: &DocId,
        which: Box<dyn Fn(ConnId) -> bool + Send>,
        reason: CloseReason,
    ) {
        let entry = self.inner.rooms.get(doc_id).map(|e| e.clone());
        if let Some(entry) = entry {
            let _ = entry.tx.send(RoomMsg::Kick { which, reason }).await;
        }
    }

    /// Hands `update`, which another node committed durably, to the room of `doc_id` if it is
    /// loaded here: applied and relayed to its connections, not stored again. A doc not loaded
    /// here needs nothing: it will load the update from the shared store. Returns whether a
    /// room took it.
    pub async fn apply_remote(&self, doc_id: &DocId, update: Bytes) -> bool {
        let entry = self.inner.rooms.get(doc_id).map(|e| e.clone());
        match entry {
            Some(entry) => entry.tx.send(RoomMsg::Remote { update }).await.is_ok(),
            None => false,
        }
    }

    /// Hands a loaded room presence another node published (cluster mode); false when the
    /// doc is not loaded here or its room is busy (presence may be lost, never waited for).
    pub fn apply_remote_presence(
        &self,
        doc_id: &DocId,
        update: yrs::sync::awareness::AwarenessUpdate,
    ) -> bool {
        let entry = self.inner.rooms.get(doc_id).map(|e| e.clone());
        entry.is_some_and(|e| e.tx.try_send(RoomMsg::RemotePresence { update }).is_ok())
    }
}
