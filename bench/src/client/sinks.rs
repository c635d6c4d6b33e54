//! What the clients of a workload report into: note latencies ([`LatencySink`]) and how far
//! each writer's updates have been seen ([`AckBoard`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::watch;
use yrs::{ClientID, Update};

use super::epoch_ms;

/// Where note latencies go; shared by every client of a workload.
#[derive(Debug, Default)]
pub struct LatencySink {
    /// Notes that appeared in some receiver's doc (the writer's own doc excluded).
    pub deliveries: AtomicU64,
    samples_us: Mutex<Vec<u32>>,
}

impl LatencySink {
    /// Takes every latency sample recorded so far, in microseconds.
    pub fn take(&self) -> Vec<u32> {
        std::mem::take(
            &mut *self
                .samples_us
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// Records one delivery of a note stamped `at_ms` (ms since the Unix epoch), seen now.
    pub fn record(&self, at_ms: f64) {
        let now_ms = epoch_ms();
        let us = ((now_ms - at_ms) * 1000.0).clamp(0.0, f64::from(u32::MAX)) as u32;
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        self.samples_us
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(us);
    }
}

/// Per-doc record of how far each writer's updates have been seen by any connection of that doc:
/// the proof, for W4, that the server has taken an update (and, for Palabre in strict mode, that
/// it is durable, since Palabre relays only committed updates).
#[derive(Debug, Default)]
pub struct AckBoard {
    writers: HashMap<ClientID, watch::Sender<Seen>>,
}

/// The highest clock of one writer seen so far, and when it was first seen.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    /// Exclusive end of the writer's clock range seen.
    pub clock_end: u32,
    /// When that range was first seen.
    pub at: Instant,
}

impl AckBoard {
    /// Registers a writer and returns the receiver its driver waits on.
    pub fn add_writer(&mut self, client_id: u64) -> watch::Receiver<Seen> {
        let (tx, rx) = watch::channel(Seen {
            clock_end: 0,
            at: Instant::now(),
        });
        self.writers.insert(ClientID::new(client_id), tx);
        rx
    }

    pub(super) fn observe(&self, update: &Update) {
        let now = Instant::now();
        for (client, ranges) in update.insertions(true).iter() {
            let Some(tx) = self.writers.get(client) else {
                continue;
            };
            let Some(end) = ranges.iter().map(|r| r.end).max() else {
                continue;
            };
            tx.send_if_modified(|seen| {
                if end > seen.clock_end {
                    *seen = Seen {
                        clock_end: end,
                        at: now,
                    };
                    true
                } else {
                    false
                }
            });
        }
    }
}
