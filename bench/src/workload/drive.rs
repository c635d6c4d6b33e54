//! How the note workloads drive their clients, written once: the options of a client whose note
//! latencies are measured, and a writer that sends one note per tick and counts those written.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::Ctx;
use crate::client::{ClientHandle, ClientOptions, Command, LatencySink, Renewal};

/// A client of `url` whose note latencies go to `sink`, renewing its presence spread over the
/// 15 s period like a crowd of phones.
pub fn measured(ctx: &Ctx, url: &str, client_id: u64, sink: &Arc<LatencySink>) -> ClientOptions {
    ClientOptions {
        url: url.to_owned(),
        mode: ctx.target.mode,
        client_id,
        latency: Some(sink.clone()),
        acks: None,
        renewal: Renewal::Spread,
        behaviour: ctx.client,
    }
}

/// Asks a client to write one note and waits until it has: `None` when the client is gone,
/// else whether the note was written.
pub async fn write_note(commands: &mpsc::Sender<Command>) -> Option<bool> {
    let (reply, written) = oneshot::channel();
    let cmd = Command::Write {
        notes: 1,
        reply: Some(reply),
    };
    commands.send(cmd).await.ok()?;
    Some(written.await.is_ok())
}

/// Writes `ticks` notes through `commands`, the k-th at `first + k × period`, adding each note
/// written to `sent`; stops early when the client is gone.
pub fn paced(
    commands: mpsc::Sender<Command>,
    sent: Arc<AtomicU64>,
    first: Instant,
    period: Duration,
    ticks: u64,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        for k in 0..ticks {
            let at = first + period.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX));
            tokio::time::sleep_until(at).await;
            match write_note(&commands).await {
                None => break,
                Some(true) => {
                    sent.fetch_add(1, Ordering::Relaxed);
                }
                Some(false) => {}
            }
        }
    })
}

/// One note a second through each of `writers` for `seconds`, their ticks spread evenly over
/// the second from `t0`, adding each note written to `sent`.
pub fn once_a_second<'a>(
    writers: impl ExactSizeIterator<Item = &'a ClientHandle>,
    sent: &Arc<AtomicU64>,
    t0: Instant,
    seconds: u64,
) -> Vec<JoinHandle<()>> {
    let count = writers.len().max(1);
    writers
        .enumerate()
        .map(|(w, handle)| {
            let phase = Duration::from_secs_f64(w as f64 / count as f64);
            paced(
                handle.commands.clone(),
                sent.clone(),
                t0 + phase,
                Duration::from_secs(1),
                seconds,
            )
        })
        .collect()
}
