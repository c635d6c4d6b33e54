//! Membership and fan-out to the room's own connections: join (handshake), leave, close, and
//! pushing one encoded frame to every bounded outbox. A full outbox disconnects that client
//! (1013) instead of delaying the others.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::pipeline::Event;
use super::{CloseReason, Conn, ConnId, Room, Subscriber};
use crate::policy::PeerState;
use crate::protocol;

impl Room {
    pub(super) fn join(&mut self, sub: Subscriber, joined: oneshot::Sender<()>) {
        use yrs::{ReadTxn, Transact};
        let mut conn = Conn {
            outbox: sub.outbox,
            close: Some(sub.close),
            peer: sub.peer,
            state: PeerState::default(),
            deferred_sync: None,
        };
        // Like the reference server: announce our state vector so the client sends what we lack,
        // then the presence of everyone already here.
        let sv = self.doc.transact().state_vector();
        let mut ok = conn
            .outbox
            .try_send(protocol::encode_sync_step1(&sv))
            .is_ok();
        if let Some(everyone) = self.presence.snapshot() {
            ok &= conn
                .outbox
                .try_send(protocol::encode_awareness(&everyone))
                .is_ok();
        }
        if let Some(elsewhere) = self.remote_presence.snapshot() {
            ok &= conn
                .outbox
                .try_send(protocol::encode_awareness(&elsewhere))
                .is_ok();
        }
        if !ok {
            if let Some(close) = conn.close.take() {
                let _ = close.send(CloseReason::new(1013, "too slow"));
            }
            return;
        }
        self.conns.insert(sub.id, conn);
        self.empty_since = None;
        let _ = joined.send(());
    }

    pub(super) fn leave(&mut self, id: ConnId) {
        if self.conns.remove(&id).is_some() && self.presence.forget_conn(id, Instant::now()) {
            self.schedule_flush();
        }
        self.forget(id);
    }

    pub(super) fn disconnect(&mut self, id: ConnId, reason: CloseReason) {
        if let Some(mut conn) = self.conns.remove(&id) {
            if let Some(close) = conn.close.take() {
                let _ = close.send(reason);
            }
            if self.presence.forget_conn(id, Instant::now()) {
                self.schedule_flush();
            }
        }
        self.forget(id);
    }

    fn forget(&mut self, id: ConnId) {
        // Dropping a connection's held replies yields no action.
        let _ = self.pipeline.handle(Event::Left { conn: id });
        if self.conns.is_empty() {
            self.empty_since = Some(Instant::now());
        }
    }

    pub(super) fn kick_all(&mut self, reason: CloseReason) {
        let ids: Vec<ConnId> = self.conns.keys().copied().collect();
        for id in ids {
            self.disconnect(id, reason.clone());
        }
    }

    /// Pushes one frame to every connection's queue.
    pub(super) fn broadcast(&mut self, frame: Bytes) {
        let mut slow = Vec::new();
        for (id, conn) in &self.conns {
            match conn.outbox.try_send(frame.clone()) {
                Ok(()) => {}
                Err(crate::outbox::TrySendError::Full(_)) => slow.push(*id),
                Err(crate::outbox::TrySendError::Closed(_)) => {}
            }
        }
        let n = (self.conns.len() - slow.len()) as u64;
        self.metrics.frames_relayed.fetch_add(n, Relaxed);
        self.metrics
            .bytes_out
            .fetch_add(n * frame.len() as u64, Relaxed);
        for id in slow {
            self.too_slow(id);
        }
    }

    pub(super) fn send_to(&mut self, id: ConnId, frame: Bytes) {
        let Some(conn) = self.conns.get(&id) else {
            return;
        };
        let len = frame.len() as u64;
        match conn.outbox.try_send(frame) {
            Ok(()) => {
                self.metrics.bytes_out.fetch_add(len, Relaxed);
            }
            Err(crate::outbox::TrySendError::Full(_)) => self.too_slow(id),
            Err(crate::outbox::TrySendError::Closed(_)) => {}
        }
    }

    fn too_slow(&mut self, id: ConnId) {
        self.metrics.slow_disconnects.fetch_add(1, Relaxed);
        tracing::info!(doc = %self.doc_id, conn = id, "disconnecting a client that fell behind");
        self.disconnect(id, CloseReason::new(1013, "too slow: reconnect to resync"));
    }
}
