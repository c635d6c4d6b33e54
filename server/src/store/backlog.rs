//! What the store's writer has accepted but not yet made durable: bytes and writes queued or in
//! the transaction being committed, and whether that backlog is past its high-water mark.
//!
//! Each queued write carries a [`Ticket`] that counts it in and counts it out when it is dropped,
//! which is when its waiter has been answered (committed or failed) or the writer has gone. The
//! HTTP layer reads [`Backlog::saturated`] (one atomic load) before letting a client's update
//! bytes in, and waits for [`Backlog::resumed`] while it is set. No IO, no blocking.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;

use tokio::sync::Notify;

/// The backlog's two marks: saturated from `high` bytes on, until it is back to `low` or less
/// (hysteresis, so that the writer never idles between two pauses and a pause is not switched
/// on and off by every commit). `high == 0` turns the signal off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marks {
    /// Bytes queued from which new update bytes are no longer read.
    pub high: u64,
    /// Bytes queued at or below which reading resumes.
    pub low: u64,
}

impl Marks {
    /// 32 MiB / 16 MiB (see ARCHITECTURE.md, Threat model).
    pub const DEFAULT: Marks = Marks {
        high: 32 << 20,
        low: 16 << 20,
    };

    /// Whether a backlog of `bytes` is saturated, given whether it `was`: the hysteresis itself.
    pub fn saturated(self, was: bool, bytes: u64) -> bool {
        if self.high == 0 {
            return false;
        }
        if was {
            bytes > self.low.min(self.high)
        } else {
            bytes >= self.high
        }
    }
}

/// The writer's backlog, shared by the store's queue, its writer and whoever reads the signal.
#[derive(Debug)]
pub struct Backlog {
    bytes: AtomicU64,
    writes: AtomicU64,
    high: AtomicU64,
    low: AtomicU64,
    saturated: AtomicBool,
    resumed: Notify,
}

impl Default for Backlog {
    fn default() -> Self {
        Backlog::new(Marks::DEFAULT)
    }
}

impl Backlog {
    /// An empty backlog with these marks.
    pub fn new(marks: Marks) -> Self {
        Backlog {
            bytes: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            high: AtomicU64::new(marks.high),
            low: AtomicU64::new(marks.low),
            saturated: AtomicBool::new(false),
            resumed: Notify::new(),
        }
    }

    /// Bytes accepted by the writer's queue and not yet durable.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(SeqCst)
    }

    /// Writes accepted by the writer's queue and not yet durable.
    pub fn writes(&self) -> u64 {
        self.writes.load(SeqCst)
    }

    /// Past the high-water mark and not yet back to the low one. One atomic load.
    pub fn saturated(&self) -> bool {
        self.saturated.load(SeqCst)
    }

    /// The marks now in force.
    pub fn marks(&self) -> Marks {
        Marks {
            high: self.high.load(SeqCst),
            low: self.low.load(SeqCst),
        }
    }

    /// Sets the marks (the server's options, once at start).
    pub fn set_marks(&self, marks: Marks) {
        self.high.store(marks.high, SeqCst);
        self.low.store(marks.low, SeqCst);
        self.update();
    }

    /// Resolves once the backlog is not saturated (at once if it is not).
    pub async fn resumed(&self) {
        loop {
            let notified = self.resumed.notified();
            tokio::pin!(notified);
            // Registered before the check, so a resume between the check and the wait is seen.
            notified.as_mut().enable();
            if !self.saturated() {
                return;
            }
            notified.await;
        }
    }

    /// Counts a write of `bytes` in until the ticket is dropped.
    pub(crate) fn enter(self: &Arc<Self>, bytes: u64) -> Ticket {
        self.bytes.fetch_add(bytes, SeqCst);
        self.writes.fetch_add(1, SeqCst);
        self.update();
        Ticket {
            backlog: Arc::clone(self),
            bytes,
        }
    }

    /// Brings the flag in line with the bytes. Whoever changes the flag checks again with fresh
    /// values, so the last one to touch the counters leaves the flag right: a pause can never
    /// outlive the backlog that caused it.
    fn update(&self) {
        loop {
            let was = self.saturated.load(SeqCst);
            let now = self.marks().saturated(was, self.bytes.load(SeqCst));
            if now == was {
                return;
            }
            if self
                .saturated
                .compare_exchange(was, now, SeqCst, SeqCst)
                .is_ok()
            {
                if now {
                    tracing::warn!(
                        bytes = self.bytes(),
                        "the store's writer is behind: client updates wait until it catches up"
                    );
                } else {
                    tracing::info!(bytes = self.bytes(), "the store's writer caught up");
                    self.resumed.notify_waiters();
                }
            }
        }
    }
}

/// One queued write's place in the [`Backlog`]; leaves it when dropped.
#[derive(Debug)]
pub(crate) struct Ticket {
    backlog: Arc<Backlog>,
    bytes: u64,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.backlog.bytes.fetch_sub(self.bytes, SeqCst);
        self.backlog.writes.fetch_sub(1, SeqCst);
        self.backlog.update();
    }
}

/// How many bytes a queued write holds (what the backlog counts).
pub(crate) trait Weigh {
    /// Bytes of payload this write holds in memory until it is durable.
    fn weight(&self) -> u64;
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARKS: Marks = Marks { high: 100, low: 40 };

    /// Runs the hysteresis over a series of backlog sizes, from not saturated.
    fn run(marks: Marks, levels: &[u64]) -> Vec<bool> {
        let mut was = false;
        levels
            .iter()
            .map(|&bytes| {
                was = marks.saturated(was, bytes);
                was
            })
            .collect()
    }

    #[test]
    fn saturated_from_the_high_mark_until_back_to_the_low_one() {
        assert_eq!(
            run(MARKS, &[0, 99, 100, 99, 41, 40, 41, 99, 150, 0]),
            [false, false, true, true, true, false, false, false, true, false]
        );
    }

    #[test]
    fn a_zero_high_mark_turns_the_signal_off_and_a_low_above_high_acts_as_high() {
        let off = Marks { high: 0, low: 0 };
        assert!(run(off, &[0, u64::MAX, 1 << 40]).iter().all(|s| !s));
        // A misconfigured low mark above the high one: no hysteresis, never stuck.
        let inverted = Marks { high: 10, low: 50 };
        assert_eq!(run(inverted, &[10, 11, 10, 9]), [true, true, false, false]);
    }

    #[test]
    fn tickets_count_in_and_out_and_the_flag_follows() {
        let b = Arc::new(Backlog::new(MARKS));
        let first = b.enter(60);
        assert!(!b.saturated());
        let second = b.enter(60);
        assert!(b.saturated());
        assert_eq!((b.bytes(), b.writes()), (120, 2));
        drop(first);
        assert!(b.saturated(), "60 > low: still saturated");
        drop(second);
        assert!(!b.saturated());
        assert_eq!((b.bytes(), b.writes()), (0, 0));
        // The marks can be changed at run time, and the flag follows at once.
        let big = b.enter(50);
        b.set_marks(Marks { high: 50, low: 10 });
        assert!(b.saturated());
        b.set_marks(Marks { high: 0, low: 0 });
        assert!(!b.saturated());
        drop(big);
    }

    #[tokio::test]
    async fn waiters_resume_when_the_backlog_drains() {
        let b = Arc::new(Backlog::new(MARKS));
        b.resumed().await;
        let ticket = b.enter(200);
        let waiter = tokio::spawn({
            let b = Arc::clone(&b);
            async move { b.resumed().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(ticket);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the waiter resumes")
            .expect("the waiter ran");
    }

    #[test]
    fn concurrent_tickets_never_leave_a_stale_pause() {
        let b = Arc::new(Backlog::new(Marks { high: 64, low: 32 }));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let b = Arc::clone(&b);
                std::thread::spawn(move || {
                    for n in 0..20_000u64 {
                        let t = b.enter(n % 50);
                        drop(t);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        assert_eq!(b.bytes(), 0);
        assert!(!b.saturated());
    }
}
