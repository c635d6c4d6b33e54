//! W4 durable writes: writers on a few docs sending notes as fast as the server takes them.
//!
//! y-protocols has no acknowledgement, so an update counts as taken ("acknowledged") the first time
//! any connection of its doc — the writer's own (servers that echo) or a co-writer's — receives a
//! frame containing it. Palabre in strict mode relays an update only once the commit holding it is
//! durable, so for Palabre this is a commit acknowledgement; for servers without durability it only
//! proves the update was processed. Each writer keeps a bounded window of unacknowledged updates.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{close_all, connect_many, dropped, require_synced, Ctx, Outcome, Record, Resources};
use super::{Window, WorkloadError};
use crate::client::{AckBoard, ClientOptions, Command, Renewal, Written};
use crate::stats::{summarize, Latency};

/// Sizes of a W4 run.
#[derive(Debug, Clone, Copy)]
pub struct W4Sizes {
    /// Docs.
    pub docs: usize,
    /// Writers per doc.
    pub writers_per_doc: usize,
    /// Unacknowledged updates a writer may have in flight.
    pub window: usize,
    /// Seconds of writing.
    pub seconds: u64,
}

impl W4Sizes {
    /// `make bench`.
    pub fn quick() -> Self {
        Self {
            docs: 10,
            writers_per_doc: 5,
            window: 8,
            seconds: 10,
        }
    }

    /// `make bench-full`: the 50 writers on 10 docs for 20 s.
    pub fn full() -> Self {
        Self {
            seconds: 20,
            ..Self::quick()
        }
    }
}

/// What W4 measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct W4Result {
    /// Docs.
    pub docs: usize,
    /// Writers in all.
    pub writers: usize,
    /// In-flight window per writer.
    pub window: usize,
    /// Seconds of writing.
    pub seconds: u64,
    /// Updates sent.
    pub sent: u64,
    /// Updates acknowledged.
    pub acked: u64,
    /// Updates never acknowledged within 10 s.
    pub unacked: u64,
    /// Acknowledged updates per second of the window.
    pub updates_per_s: f64,
    /// Send-to-acknowledgement latency (commit latency proxy).
    pub ack_latency: Latency,
    /// Connections that ended during the run.
    pub dropped: usize,
    /// CPU and memory of the window.
    pub resources: Resources,
}

struct WriterTally {
    sent: u64,
    acked: u64,
    latencies_us: Vec<u32>,
}

/// Runs W4.
pub async fn run(ctx: &Ctx, sizes: W4Sizes) -> Result<Record, WorkloadError> {
    let mut ids = ctx.client_ids();
    let mut options = Vec::new();
    let mut seen = Vec::new();
    for d in 0..sizes.docs {
        let doc = format!("bench-w4-{d:02}");
        ctx.target.prepare(&doc).await?;
        let url = ctx.target.url(&doc);
        let writer_ids: Vec<u64> = (0..sizes.writers_per_doc)
            .map(|_| ids.next().unwrap_or(1))
            .collect();
        let mut board = AckBoard::default();
        let receivers: Vec<_> = writer_ids.iter().map(|&id| board.add_writer(id)).collect();
        let board = Arc::new(board);
        for (&client_id, rx) in writer_ids.iter().zip(receivers) {
            options.push(ClientOptions {
                url: url.clone(),
                mode: ctx.target.mode,
                client_id,
                latency: None,
                acks: Some(board.clone()),
                renewal: Renewal::AfterJoin,
                behaviour: ctx.client,
            });
            seen.push(rx);
        }
    }
    let wanted = options.len();
    eprintln!("w4: connecting {wanted} writers to {} docs", sizes.docs);
    let clients = connect_many(options, 64, Duration::from_secs(30)).await;
    // Every writer matters here: the ack receivers are paired with clients by position.
    let (clients, _) = require_synced(clients, 1.0)?;
    tokio::time::sleep(Duration::from_millis(500)).await;

    let window = Window::start(ctx)?;
    let t0 = Instant::now();
    let stop_at = t0 + Duration::from_secs(sizes.seconds);
    let mut drivers = Vec::with_capacity(clients.len());
    for (handle, mut seen) in clients.iter().zip(seen) {
        let commands = handle.commands.clone();
        let window_size = sizes.window.max(1);
        drivers.push(tokio::spawn(async move {
            let mut tally = WriterTally {
                sent: 0,
                acked: 0,
                latencies_us: Vec::new(),
            };
            let mut in_flight: VecDeque<Written> = VecDeque::new();
            loop {
                let now = Instant::now();
                let sending = now < stop_at;
                if !sending && in_flight.is_empty() {
                    break;
                }
                if sending && in_flight.len() < window_size {
                    let (reply, written) = oneshot::channel();
                    let cmd = Command::Write {
                        notes: 1,
                        reply: Some(reply),
                    };
                    if commands.send(cmd).await.is_err() {
                        break;
                    }
                    match written.await {
                        Ok(w) => {
                            tally.sent += 1;
                            in_flight.push_back(w);
                        }
                        Err(_) => break,
                    }
                    continue;
                }
                // Window full, or draining after the stop: wait for acknowledgements.
                let limit = if sending {
                    stop_at.max(now + Duration::from_millis(1))
                } else {
                    stop_at + Duration::from_secs(10)
                };
                let changed = tokio::time::timeout_at(limit, seen.changed()).await;
                let s = *seen.borrow_and_update();
                while in_flight
                    .front()
                    .is_some_and(|w| w.clock_end <= s.clock_end)
                {
                    if let Some(w) = in_flight.pop_front() {
                        tally.acked += 1;
                        let us = s.at.saturating_duration_since(w.sent_at).as_micros();
                        tally.latencies_us.push(us.min(u128::from(u32::MAX)) as u32);
                    }
                }
                match changed {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) if !sending => break,
                    Err(_) => {}
                }
            }
            tally
        }));
    }
    eprintln!(
        "w4: {} writers, window {}, for {} s",
        clients.len(),
        sizes.window,
        sizes.seconds
    );
    let mut sent = 0;
    let mut acked = 0;
    let mut latencies = Vec::new();
    for d in drivers {
        if let Ok(t) = d.await {
            sent += t.sent;
            acked += t.acked;
            latencies.extend(t.latencies_us);
        }
    }
    let resources = window.finish(ctx)?;
    let ends = close_all(clients).await;
    let result = W4Result {
        docs: sizes.docs,
        writers: wanted,
        window: sizes.window,
        seconds: sizes.seconds,
        sent,
        acked,
        unacked: sent.saturating_sub(acked),
        updates_per_s: acked as f64 / resources.wall_s,
        ack_latency: summarize(&mut latencies),
        dropped: dropped(&ends),
        resources,
    };
    Ok(Record {
        info: ctx.info("w4"),
        outcome: Outcome::W4(result),
    })
}
