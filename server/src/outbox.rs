//! A connection's outgoing queue, bounded in bytes rather than frames.
//!
//! The room pushes encoded frames with [`OutboxSender::try_send`] and never waits; the
//! connection's writer pops them and reports what reached the socket with
//! [`OutboxReceiver::written`]. A frame counts from the moment it is queued until the write that
//! carries it has been flushed, so a client that stops reading pins at most the budget (plus one
//! frame), like Redis's `client-output-buffer-limit`. A frame larger than the whole budget is
//! still accepted into an empty queue, so a join always fits whatever the doc's size.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

pub use tokio::sync::mpsc::error::TrySendError;

/// A byte-bounded queue of frames: the room's end and the connection's end.
pub fn channel(budget: usize) -> (OutboxSender, OutboxReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let queued = Arc::new(AtomicUsize::new(0));
    (
        OutboxSender {
            tx,
            queued: queued.clone(),
            budget: budget.max(1),
        },
        OutboxReceiver { rx, queued },
    )
}

/// The room's end of a connection's queue.
#[derive(Debug, Clone)]
pub struct OutboxSender {
    tx: mpsc::UnboundedSender<Bytes>,
    queued: Arc<AtomicUsize>,
    budget: usize,
}

impl OutboxSender {
    /// Queues `frame` unless that would put more than the budget in flight (`Full`: the
    /// connection is too slow) or the connection is gone (`Closed`).
    pub fn try_send(&self, frame: Bytes) -> Result<(), TrySendError<Bytes>> {
        let len = frame.len();
        let before = self.queued.fetch_add(len, Ordering::AcqRel);
        if before > 0 && before.saturating_add(len) > self.budget {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            return Err(TrySendError::Full(frame));
        }
        self.tx.send(frame).map_err(|e| {
            self.queued.fetch_sub(len, Ordering::AcqRel);
            TrySendError::Closed(e.0)
        })
    }

    /// Bytes queued or being written right now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

/// The connection's end of its queue.
#[derive(Debug)]
pub struct OutboxReceiver {
    rx: mpsc::UnboundedReceiver<Bytes>,
    queued: Arc<AtomicUsize>,
}

impl OutboxReceiver {
    /// The next frame; `None` once the room dropped its end and the queue is empty.
    pub async fn recv(&mut self) -> Option<Bytes> {
        self.rx.recv().await
    }

    /// The next frame if one is queued already.
    pub fn try_recv(&mut self) -> Option<Bytes> {
        self.rx.try_recv().ok()
    }

    /// `bytes` of popped frames reached the socket: they no longer count against the budget.
    pub fn written(&self, bytes: usize) {
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| {
                Some(q.saturating_sub(bytes))
            });
    }

    /// Bytes queued or being written right now.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: usize) -> Bytes {
        Bytes::from(vec![0u8; n])
    }

    #[test]
    fn counts_bytes_until_written_and_refuses_past_the_budget() {
        let (tx, mut rx) = channel(100);
        assert!(tx.try_send(frame(60)).is_ok());
        assert!(tx.try_send(frame(40)).is_ok());
        assert!(matches!(tx.try_send(frame(1)), Err(TrySendError::Full(_))));
        assert_eq!(tx.queued(), 100);
        // Popped but not yet on the socket: still counted.
        let first = rx.try_recv().map_or(0, |f| f.len());
        assert!(matches!(tx.try_send(frame(1)), Err(TrySendError::Full(_))));
        rx.written(first);
        assert_eq!(rx.queued(), 40);
        assert!(tx.try_send(frame(60)).is_ok());
    }

    #[test]
    fn an_empty_queue_takes_one_frame_larger_than_the_budget() {
        let (tx, mut rx) = channel(10);
        assert!(tx.try_send(frame(500)).is_ok(), "a big join still fits");
        assert!(matches!(tx.try_send(frame(1)), Err(TrySendError::Full(_))));
        let n = rx.try_recv().map_or(0, |f| f.len());
        rx.written(n);
        assert_eq!(tx.queued(), 0);
        assert!(tx.try_send(frame(5)).is_ok());
    }

    #[test]
    fn a_closed_connection_releases_the_reservation() {
        let (tx, rx) = channel(10);
        drop(rx);
        assert!(matches!(
            tx.try_send(frame(5)),
            Err(TrySendError::Closed(_))
        ));
        assert_eq!(tx.queued(), 0);
    }
}
