//! Group commit, shared by both backends: the queue the store handle writes into, the loop that
//! folds what is queued into batches, and what a batch's outcome means for its waiters. The
//! engine (SQLite's writer thread, PostgreSQL's writer task) only runs one batch of its own
//! writes in one transaction, behind [`Engine`].
//!
//! The decisions made here, once for both:
//! - a batch is everything queued when the first command is taken, up to `max_batch`, cut
//!   short by a shutdown (commands queued behind it are dropped, their waiters see
//!   [`StoreError::Closed`]);
//! - a batch of flushes alone touches no database: everything before it was committed by
//!   earlier batches;
//! - every waiter is answered only once the engine's `COMMIT` returned, appends with their
//!   sequence numbers in queue order; a failed batch fails every command in it, with the same
//!   reason, and the engine hears of it ([`Engine::rolled_back`]) to forget what it cached.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::backlog::{Backlog, Ticket, Weigh};
use super::sqlite::stats::Counters;
use super::{Seq, StoreError};

/// Where a command's outcome goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A request to the writer, answered once the transaction holding it has committed (or failed).
pub(crate) enum Command<W> {
    /// One write in the engine's own terms, counted in the backlog until it is answered.
    Write {
        op: W,
        reply: Answer,
        _ticket: Ticket,
    },
    /// Reply once everything queued before is durable.
    Flush { reply: Reply<()> },
    /// Commit what is queued before, close the engine and stop.
    Shutdown { reply: Reply<()> },
}

/// Who waits for a write: an append for its sequence number, any other write for "done".
pub(crate) enum Answer {
    /// Gets the next of the batch's sequence numbers ([`Applied::seqs`]).
    Seq(Reply<Seq>),
    /// Gets `Ok(())`.
    Done(Reply<()>),
}

impl Answer {
    fn fail(self, error: StoreError) {
        // A waiter that gave up (dropped its future) is not an error worth reporting.
        match self {
            Answer::Seq(reply) => drop(reply.send(Err(error))),
            Answer::Done(reply) => drop(reply.send(Err(error))),
        }
    }
}

/// What a committed batch produced.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Sequence numbers of the batch's appends ([`Answer::Seq`] writes), in queue order.
    pub(crate) seqs: Vec<Seq>,
    /// Log rows written.
    pub(crate) rows: u64,
    /// Bytes of those rows.
    pub(crate) bytes: u64,
    /// Compactions carried out in the batch.
    pub(crate) compactions: u64,
}

/// The engine-specific part of a writer.
pub(crate) trait Engine {
    /// One write, without its reply.
    type Op: Send + 'static;

    /// Runs `ops` (never empty) in one transaction and commits it. An error means nothing of
    /// the batch is stored.
    fn apply(&mut self, ops: &[&Self::Op]) -> impl Future<Output = Result<Applied, StoreError>>;

    /// The batch of `ops` failed and was rolled back: forget anything cached about it.
    fn rolled_back(&mut self, ops: &[&Self::Op]);

    /// Called once, after the last batch, when the store shuts down.
    fn close(self) -> impl Future<Output = Result<(), StoreError>>;
}

/// Serves commands until [`Command::Shutdown`] or until every sender is gone, then marks the
/// store closed (also if the engine panics).
///
/// When the last sender is dropped, the channel ends only after the commands already queued
/// have been received, so they are still committed and answered.
pub(crate) async fn run<E: Engine>(
    mut engine: E,
    mut commands: mpsc::UnboundedReceiver<Command<E::Op>>,
    max_batch: usize,
    counters: Arc<Counters>,
    closed: Arc<AtomicBool>,
) {
    let _exit = MarkClosedOnExit(closed);
    let max_batch = max_batch.max(1);
    while let Some(first) = commands.recv().await {
        let mut batch = Vec::new();
        let mut shutdown = None;
        let mut next = Some(first);
        while let Some(command) = next.take() {
            if let Command::Shutdown { reply } = command {
                shutdown = Some(reply);
                break;
            }
            batch.push(command);
            if batch.len() >= max_batch {
                break;
            }
            // Empty or disconnected: either way the batch is complete.
            next = commands.try_recv().ok();
        }
        commit(&mut engine, batch, &counters).await;
        if let Some(reply) = shutdown {
            drop(reply.send(engine.close().await));
            return;
        }
    }
    tracing::debug!("every store handle dropped; the writer stops");
}

/// Commits one batch and answers every command in it.
async fn commit<E: Engine>(engine: &mut E, batch: Vec<Command<E::Op>>, counters: &Counters) {
    let ops: Vec<&E::Op> = batch
        .iter()
        .filter_map(|command| match command {
            Command::Write { op, .. } => Some(op),
            Command::Flush { .. } | Command::Shutdown { .. } => None,
        })
        .collect();
    let outcome = if ops.is_empty() {
        Ok(None)
    } else {
        let started = Instant::now();
        match engine.apply(&ops).await {
            Ok(applied) => Ok(Some((applied, started.elapsed()))),
            Err(error) => {
                engine.rolled_back(&ops);
                Err(error)
            }
        }
    };
    drop(ops);
    match outcome {
        Ok(applied) => {
            let mut seqs = Vec::new().into_iter();
            if let Some((applied, latency)) = applied {
                counters.record_commit(latency, applied.rows, applied.bytes, applied.compactions);
                tracing::trace!(
                    commands = batch.len(),
                    latency_us = latency.as_micros(),
                    "group commit"
                );
                seqs = applied.seqs.into_iter();
            }
            for command in batch {
                answer(command, &mut seqs);
            }
        }
        Err(error) => {
            counters.record_failed_batch();
            tracing::warn!(
                commands = batch.len(),
                error = %error,
                "group commit failed and was rolled back"
            );
            let reason = match error {
                StoreError::Database(reason) => reason,
                other => other.to_string(),
            };
            for command in batch {
                let error = StoreError::Database(reason.clone());
                match command {
                    // The ticket leaves the backlog with the command, once its waiter knows.
                    Command::Write { reply, .. } => reply.fail(error),
                    Command::Flush { reply } | Command::Shutdown { reply } => {
                        drop(reply.send(Err(error)));
                    }
                }
            }
        }
    }
}

/// Sends a committed command's outcome to its waiter.
fn answer<W>(command: Command<W>, seqs: &mut impl Iterator<Item = Seq>) {
    match command {
        Command::Write {
            reply: Answer::Seq(reply),
            ..
        } => {
            let outcome = seqs.next().ok_or_else(|| {
                StoreError::Database("append committed without a sequence number".to_owned())
            });
            drop(reply.send(outcome));
        }
        Command::Write {
            reply: Answer::Done(reply),
            ..
        }
        | Command::Flush { reply }
        | Command::Shutdown { reply } => drop(reply.send(Ok(()))),
    }
}

/// The store handle's side of the writer's queue.
///
/// Unbounded on purpose: a write is queued when it is called (rooms rely on the call order) and
/// never refused for load; what bounds the queue is [`Backlog`], which the HTTP layer reads
/// before it lets more client bytes in.
pub(crate) struct Queue<W> {
    sender: mpsc::UnboundedSender<Command<W>>,
    /// Set by `shutdown` and when the writer ends; checked before queueing anything.
    closed: Arc<AtomicBool>,
    /// Bytes and writes queued and not yet answered.
    backlog: Arc<Backlog>,
}

impl<W: Weigh + Send + 'static> Queue<W> {
    /// A queue counting what it holds in `backlog`, and the receiver its writer serves ([`run`]).
    pub(crate) fn new(
        closed: Arc<AtomicBool>,
        backlog: Arc<Backlog>,
    ) -> (Self, mpsc::UnboundedReceiver<Command<W>>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        (
            Self {
                sender,
                closed,
                backlog,
            },
            receiver,
        )
    }

    /// Queues an append; resolves with its sequence number once durable.
    pub(crate) fn append(&self, op: W) -> BoxFuture<'static, Result<Seq, StoreError>> {
        let ticket = self.backlog.enter(op.weight());
        self.send(|reply| Command::Write {
            op,
            reply: Answer::Seq(reply),
            _ticket: ticket,
        })
    }

    /// Queues any other write; resolves once durable.
    pub(crate) fn write(&self, op: W) -> BoxFuture<'static, Result<(), StoreError>> {
        let ticket = self.backlog.enter(op.weight());
        self.send(|reply| Command::Write {
            op,
            reply: Answer::Done(reply),
            _ticket: ticket,
        })
    }

    /// Resolves when everything queued before is durable.
    pub(crate) fn flush(&self) -> BoxFuture<'static, Result<(), StoreError>> {
        self.send(|reply| Command::Flush { reply })
    }

    /// Commits what is queued, closes the engine and stops the writer. The caller has already
    /// marked the store closed (so nothing new is queued), which is why this does not check.
    pub(crate) async fn shutdown(&self) -> Result<(), StoreError> {
        let (reply, done) = oneshot::channel();
        self.sender
            .send(Command::Shutdown { reply })
            .map_err(|_| StoreError::Closed)?;
        done.await.map_err(|_| StoreError::Closed)?
    }

    fn send<T: Send + 'static>(
        &self,
        command: impl FnOnce(Reply<T>) -> Command<W>,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        submit(&self.closed, command, |c| self.sender.send(c).is_ok())
    }
}

/// Queues `command` now (not on first poll, so commands reach the worker in call order) unless
/// the store is closed, and returns the future of its reply. `send` reports whether the worker
/// still listens.
pub(crate) fn submit<T: Send + 'static, C>(
    closed: &AtomicBool,
    command: impl FnOnce(Reply<T>) -> C,
    send: impl FnOnce(C) -> bool,
) -> BoxFuture<'static, Result<T, StoreError>> {
    let (reply, outcome) = oneshot::channel();
    let queued = !closed.load(Ordering::Acquire) && send(command(reply));
    Box::pin(async move {
        if !queued {
            return Err(StoreError::Closed);
        }
        outcome.await.map_err(|_| StoreError::Closed)?
    })
}

/// Marks the store closed when a worker ends, whether it returns or panics, so later calls fail
/// fast with `StoreError::Closed`; waiters of unanswered commands see their reply channel
/// dropped, which [`submit`] maps to the same error. The SQLite reader thread holds one too.
pub(crate) struct MarkClosedOnExit(pub(crate) Arc<AtomicBool>);

impl Drop for MarkClosedOnExit {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
        if std::thread::panicking() {
            tracing::error!(
                thread = std::thread::current().name().unwrap_or("store"),
                "store worker panicked; the store is closed"
            );
        }
    }
}

#[cfg(test)]
mod tests;
