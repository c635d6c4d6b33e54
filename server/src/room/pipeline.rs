//! The commit pipeline as a plain state machine: the room feeds it [`Event`]s and carries out the
//! [`Action`]s it returns. No tokio, no socket, no store, no clock: everything it decides is
//! unit-tested with shuffled event orders (`pipeline/tests.rs`).
//!
//! What it decides:
//! - **batching**: applied updates join the open batch; the coalescing window (timed by the room)
//!   closes it; up to [`MAX_INFLIGHT`] batches are in the store at once.
//! - **durable before relay** (strict): a batch is relayed, and its edit waiters answered, only
//!   once it and every batch before it are committed, so relays keep commit order even if the
//!   store completes them out of order.
//! - **held replies**: a sync reply computed while batch `e` was applied is released only once
//!   batch `e` is durable.
//! - **failure**: a failed commit is never relayed and never revealed by a held reply: every
//!   connection is closed (1011), then, once nothing is in flight, the doc is reloaded from disk.
//! - **recovery** after a refused-after-apply update (the doc holds a change no batch has): what
//!   was valid is committed first, then the doc is reloaded; no message is handled meanwhile.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::config::Durability;
use crate::conn::{CloseReason, ConnId};
use crate::store::Seq;

#[cfg(test)]
mod tests;

/// Batches a room may have in the store's queue at once (group commit does the rest).
pub(crate) const MAX_INFLIGHT: usize = 8;

/// Merges a batch's updates into as few as possible (one, normally).
pub(crate) type Merge = fn(Vec<Bytes>) -> Vec<Bytes>;

/// Something that happened to the room.
#[derive(Debug)]
pub(crate) enum Event<W> {
    /// An update was applied to the doc (and accepted by the policy); `waiter` wants to know when
    /// it is durable.
    Applied { update: Bytes, waiter: Option<W> },
    /// The coalescing window opened by [`Action::ArmWindow`] is over.
    Window,
    /// The store answered the appends of batch `epoch`: each entry's sequence and size, or an
    /// error. Completions may come in any order.
    Committed {
        epoch: u64,
        result: Result<Vec<(Seq, u64)>, String>,
    },
    /// A sync reply to `conn` that reveals the doc as it is now.
    Reply { conn: ConnId, frame: Bytes },
    /// `conn` left: its held replies are dropped.
    Left { conn: ConnId },
    /// The doc was changed in a way no batch holds (a refused or half-applied update) and must be
    /// rebuilt from disk once everything valid before it is committed.
    Poisoned,
    /// Commit everything now (shutdown, eviction).
    Drain,
    /// The doc was rebuilt from disk after [`Action::Reload`].
    Reloaded,
}

/// What the room must do, in order.
#[derive(Debug, PartialEq)]
pub(crate) enum Action<W> {
    /// Start the coalescing window; send [`Event::Window`] when it is over.
    ArmWindow,
    /// Append these updates of batch `epoch` to the store now, in this order; report with
    /// [`Event::Committed`].
    Append { epoch: u64, updates: Vec<Bytes> },
    /// Relay these updates to every connection (strict: they are durable).
    Relay(Vec<Bytes>),
    /// These updates are durable: hand them to the fan-out.
    Publish(Vec<Bytes>),
    /// Send a held reply now.
    Send { conn: ConnId, frame: Bytes },
    /// Tell an edit's waiter it is durable (`Ok`) or failed (`Err`).
    Resolve {
        waiter: W,
        result: Result<(), String>,
    },
    /// Close every connection.
    CloseAll(CloseReason),
    /// Rebuild the doc from disk, then send [`Event::Reloaded`]. Nothing else may touch the doc
    /// until then ([`Pipeline::accepting`] is false).
    Reload,
    /// The log grew past the thresholds: fold entries up to `upto` into a snapshot.
    Compact { upto: Seq },
}

struct Batch<W> {
    epoch: u64,
    updates: Vec<Bytes>,
    waiters: Vec<W>,
    /// The window is over but the store's queue was full: submit at the next completion.
    due: bool,
}

struct InFlight<W> {
    epoch: u64,
    /// Kept for relaying once durable (strict) and for the fan-out.
    updates: Vec<Bytes>,
    waiters: Vec<W>,
    result: Option<Result<Vec<(Seq, u64)>, String>>,
}

/// Log thresholds past which the room compacts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CompactAt {
    pub(crate) entries: u64,
    pub(crate) bytes: u64,
}

/// Why the pipeline is not taking messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Running,
    /// Poisoned or failed: committing what is valid, then [`Action::Reload`].
    Recovering,
    /// [`Action::Reload`] was emitted; waiting for [`Event::Reloaded`].
    Reloading,
}

/// One room's batches, commits, held replies and recovery state.
pub(crate) struct Pipeline<W> {
    durability: Durability,
    merge: Merge,
    compact_at: CompactAt,
    open: Option<Batch<W>>,
    inflight: VecDeque<InFlight<W>>,
    next_epoch: u64,
    /// Every batch up to this one is durable (or, after a failure, settled).
    durable: u64,
    held: Vec<(u64, ConnId, Bytes)>,
    mode: Mode,
    /// A commit failed since the last reload: nothing more is relayed until then.
    failed: bool,
    draining: bool,
    log_entries: u64,
    log_bytes: u64,
    last_seq: Seq,
}

impl<W> Pipeline<W> {
    /// A pipeline for a doc whose log holds `log_entries` entries up to `last_seq`.
    pub(crate) fn new(
        durability: Durability,
        merge: Merge,
        compact_at: CompactAt,
        log_entries: u64,
        last_seq: Seq,
    ) -> Self {
        Pipeline {
            durability,
            merge,
            compact_at,
            open: None,
            inflight: VecDeque::new(),
            next_epoch: 1,
            durable: 0,
            held: Vec::new(),
            mode: Mode::Running,
            failed: false,
            draining: false,
            log_entries,
            log_bytes: 0,
            last_seq,
        }
    }

    /// False while recovering: the room must not apply, reply or read until [`Event::Reloaded`].
    pub(crate) fn accepting(&self) -> bool {
        self.mode == Mode::Running
    }

    /// Nothing open, nothing in flight.
    pub(crate) fn idle(&self) -> bool {
        self.open.is_none() && self.inflight.is_empty()
    }

    /// Batches in the store now.
    #[cfg(test)]
    pub(crate) fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Log entries written since the last compaction.
    pub(crate) fn log_entries(&self) -> u64 {
        self.log_entries
    }

    /// Counts a compaction up to the current sequence as started (it folds everything logged).
    pub(crate) fn compacting(&mut self) -> Seq {
        self.log_entries = 0;
        self.log_bytes = 0;
        self.last_seq
    }

    /// Feeds one event; returns what to do, in order.
    pub(crate) fn handle(&mut self, event: Event<W>) -> Vec<Action<W>> {
        let mut out = Vec::new();
        match event {
            Event::Applied { update, waiter } => self.applied(update, waiter, &mut out),
            Event::Window => {
                if let Some(batch) = self.open.as_mut() {
                    batch.due = true;
                }
                self.submit_due(&mut out);
            }
            Event::Committed { epoch, result } => {
                if result.is_err() {
                    self.fail(&mut out);
                }
                if let Some(f) = self.inflight.iter_mut().find(|f| f.epoch == epoch) {
                    f.result = Some(result);
                }
                self.settle(&mut out);
                self.submit_due(&mut out);
                self.maybe_reload(&mut out);
            }
            Event::Reply { conn, frame } => {
                let applied = self.open.as_ref().map_or(self.next_epoch - 1, |b| b.epoch);
                if self.durability == Durability::Strict && applied > self.durable {
                    self.held.push((applied, conn, frame));
                } else {
                    out.push(Action::Send { conn, frame });
                }
            }
            Event::Left { conn } => self.held.retain(|(_, c, _)| *c != conn),
            Event::Poisoned => {
                if self.mode == Mode::Running {
                    self.mode = Mode::Recovering;
                }
                self.submit_due(&mut out);
                self.maybe_reload(&mut out);
            }
            Event::Drain => {
                self.draining = true;
                self.submit_due(&mut out);
            }
            Event::Reloaded => {
                self.mode = Mode::Running;
                self.failed = false;
                // Everything applied is now either on disk or gone with the old doc.
                self.durable = self.next_epoch - 1;
            }
        }
        out
    }

    fn applied(&mut self, update: Bytes, waiter: Option<W>, out: &mut Vec<Action<W>>) {
        if self.open.is_none() {
            let epoch = self.next_epoch;
            self.next_epoch += 1;
            self.open = Some(Batch {
                epoch,
                updates: Vec::new(),
                waiters: Vec::new(),
                due: self.draining || self.mode != Mode::Running,
            });
            out.push(Action::ArmWindow);
        }
        if let Some(batch) = self.open.as_mut() {
            batch.updates.push(update);
            batch.waiters.extend(waiter);
        }
        self.submit_due(out);
    }

    /// Hands the open batch to the store if its window is over (or we are draining) and the
    /// store's queue has room.
    fn submit_due(&mut self, out: &mut Vec<Action<W>>) {
        let urgent = self.draining || self.mode != Mode::Running;
        let due = self.open.as_ref().is_some_and(|b| b.due || urgent);
        if !due || self.inflight.len() >= MAX_INFLIGHT {
            return;
        }
        let Some(batch) = self.open.take() else {
            return;
        };
        let updates = if batch.updates.len() == 1 {
            batch.updates
        } else {
            (self.merge)(batch.updates)
        };
        out.push(Action::Append {
            epoch: batch.epoch,
            updates: updates.clone(),
        });
        if self.durability == Durability::Relaxed && !self.failed {
            out.push(Action::Relay(updates.clone()));
        }
        self.inflight.push_back(InFlight {
            epoch: batch.epoch,
            updates,
            waiters: batch.waiters,
            result: None,
        });
    }

    /// Completes, oldest first, every batch whose commit has answered.
    fn settle(&mut self, out: &mut Vec<Action<W>>) {
        while self.inflight.front().is_some_and(|f| f.result.is_some()) {
            let Some(InFlight {
                epoch,
                updates,
                waiters,
                result: Some(result),
            }) = self.inflight.pop_front()
            else {
                break;
            };
            self.durable = epoch;
            match result {
                Ok(entries) => {
                    for (seq, len) in entries {
                        self.last_seq = self.last_seq.max(seq);
                        self.log_entries += 1;
                        self.log_bytes += len;
                    }
                    if !self.failed {
                        if self.durability == Durability::Strict {
                            out.push(Action::Relay(updates.clone()));
                        }
                        self.release_held(out);
                    }
                    out.push(Action::Publish(updates));
                    for waiter in waiters {
                        out.push(Action::Resolve {
                            waiter,
                            result: Ok(()),
                        });
                    }
                    // Never while the doc may hold what the disk must not (a refused update,
                    // a failed batch): the snapshot is the doc.
                    let clean = !self.failed && self.mode == Mode::Running;
                    if clean
                        && (self.log_entries >= self.compact_at.entries
                            || self.log_bytes >= self.compact_at.bytes)
                    {
                        let upto = self.compacting();
                        out.push(Action::Compact { upto });
                    }
                }
                Err(e) => {
                    for waiter in waiters {
                        out.push(Action::Resolve {
                            waiter,
                            result: Err(e.clone()),
                        });
                    }
                    // `fail` ran when the error came in.
                }
            }
        }
    }

    /// A commit failed: what it holds is not durable, so it must never be relayed nor revealed
    /// by a held reply. Every connection is closed (clients resend what the server lacks when
    /// they reconnect) and the doc is rebuilt from disk once nothing is in flight.
    fn fail(&mut self, out: &mut Vec<Action<W>>) {
        if self.mode == Mode::Running {
            self.mode = Mode::Recovering;
        }
        if !self.failed {
            self.failed = true;
            self.held.clear();
            out.push(Action::CloseAll(CloseReason::new(
                1011,
                "storage error, reconnect shortly",
            )));
        }
    }

    fn release_held(&mut self, out: &mut Vec<Action<W>>) {
        let durable = self.durable;
        let mut kept = Vec::with_capacity(self.held.len());
        for (epoch, conn, frame) in self.held.drain(..) {
            if epoch <= durable {
                out.push(Action::Send { conn, frame });
            } else {
                kept.push((epoch, conn, frame));
            }
        }
        self.held = kept;
    }

    fn maybe_reload(&mut self, out: &mut Vec<Action<W>>) {
        if self.mode == Mode::Recovering && self.idle() {
            self.mode = Mode::Reloading;
            out.push(Action::Reload);
        }
    }
}
