//! W2 many rooms: many docs with a few clients each, 5 % of the clients writing once a second.
//!
//! Memory per connection is `(server RSS with every client connected − RSS before) / connections`,
//! taken after the joins have settled; it includes each doc's own state, as a real server's would.
//! CPU is the server's while the rooms are mostly idle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::w1::percent;
use super::{
    close_all, connect_many, drive, dropped, require_synced, wait_until, Ctx, Outcome, Record,
    Resources, Window, WorkloadError,
};
use crate::client::LatencySink;
use crate::stats::{summarize, Latency};

/// Sizes of a W2 run.
#[derive(Debug, Clone, Copy)]
pub struct W2Sizes {
    /// Docs (rooms).
    pub docs: usize,
    /// Clients per doc.
    pub clients_per_doc: usize,
    /// One client in `writer_every` writes once a second (20 → 5 %).
    pub writer_every: usize,
    /// Seconds of the mostly idle phase.
    pub seconds: u64,
}

impl W2Sizes {
    /// `make bench`.
    pub fn quick() -> Self {
        Self {
            docs: 100,
            clients_per_doc: 20,
            writer_every: 20,
            seconds: 8,
        }
    }

    /// `make bench-full`: 10 000 connections.
    pub fn full() -> Self {
        Self {
            docs: 500,
            clients_per_doc: 20,
            writer_every: 20,
            seconds: 30,
        }
    }
}

/// What W2 measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct W2Result {
    /// Docs.
    pub docs: usize,
    /// Clients per doc.
    pub clients_per_doc: usize,
    /// Connections asked for.
    pub connections: usize,
    /// Connections that synced.
    pub connected: usize,
    /// Connections that failed to connect or sync.
    pub connect_failures: usize,
    /// Connections that ended during the run.
    pub dropped: usize,
    /// Seconds to connect and sync everyone.
    pub connect_s: f64,
    /// Server RSS before any connection, KiB.
    pub rss_before_kb: Option<u64>,
    /// Server RSS with every connection open and settled, KiB.
    pub rss_connected_kb: Option<u64>,
    /// `(rss_connected − rss_before) / connected`, KiB.
    pub kb_per_connection: Option<f64>,
    /// Writers (one note per second each).
    pub writers: usize,
    /// Notes sent in the idle phase.
    pub notes_sent: u64,
    /// Deliveries expected: notes × (clients per doc − 1).
    pub expected: u64,
    /// Deliveries seen.
    pub delivered: u64,
    /// `delivered / expected`, percent.
    pub delivered_pct: f64,
    /// Edit-to-delivery latency.
    pub latency: Latency,
    /// Server CPU in the mostly idle phase, percent of one core.
    pub server_idle_cpu_pct: Option<f64>,
    /// CPU and memory of the mostly idle phase.
    pub resources: Resources,
}

/// Runs W2.
pub async fn run(ctx: &Ctx, sizes: W2Sizes) -> Result<Record, WorkloadError> {
    let sink = Arc::new(LatencySink::default());
    let rss_before_kb = ctx
        .server_pid
        .map(|pid| ctx.proc.process(Some(pid)))
        .transpose()?
        .map(|s| s.rss_kb);
    let mut options = Vec::with_capacity(sizes.docs * sizes.clients_per_doc);
    let mut ids = ctx.client_ids();
    for d in 0..sizes.docs {
        let doc = format!("bench-w2-{d:04}");
        ctx.target.prepare(&doc).await?;
        let url = ctx.target.url(&doc);
        for _ in 0..sizes.clients_per_doc {
            options.push(drive::measured(ctx, &url, ids.next().unwrap_or(1), &sink));
        }
    }
    let connections = options.len();
    eprintln!(
        "w2: connecting {connections} clients to {} docs",
        sizes.docs
    );
    let started = Instant::now();
    let clients = connect_many(options, 128, Duration::from_secs(120)).await;
    let connect_s = started.elapsed().as_secs_f64();
    let (clients, connect_failures) = require_synced(clients, 0.5)?;
    let connected = clients.len();
    // Joins broadcast awareness to each room; let that and allocator growth settle first.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected_kb = ctx
        .server_pid
        .map(|pid| ctx.proc.process(Some(pid)))
        .transpose()?
        .map(|s| s.rss_kb);
    let kb_per_connection = match (rss_before_kb, rss_connected_kb) {
        (Some(a), Some(b)) if connected > 0 => Some((b as f64 - a as f64) / connected as f64),
        _ => None,
    };
    sink.take();
    sink.deliveries.store(0, Ordering::Relaxed);

    let writer_every = sizes.writer_every.max(1);
    let writers: Vec<_> = clients.iter().step_by(writer_every).collect();
    let writer_count = writers.len();
    let sent = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now() + Duration::from_millis(200);
    let drivers = drive::once_a_second(writers.into_iter(), &sent, t0, sizes.seconds);
    eprintln!(
        "w2: {connected} connected, {writer_count} writers × 1 note/s for {} s",
        sizes.seconds
    );
    tokio::time::sleep_until(t0).await;
    let window = Window::start(ctx)?;
    for d in drivers {
        let _ = d.await;
    }
    let notes_sent = sent.load(Ordering::Relaxed);
    let expected = notes_sent * (sizes.clients_per_doc as u64).saturating_sub(1);
    wait_until(Instant::now() + Duration::from_secs(1), || {
        sink.deliveries.load(Ordering::Relaxed) >= expected
    })
    .await;
    let resources = window.finish(ctx)?;
    let delivered = sink.deliveries.load(Ordering::Relaxed);
    let mut samples = sink.take();
    let ends = close_all(clients).await;

    let result = W2Result {
        docs: sizes.docs,
        clients_per_doc: sizes.clients_per_doc,
        connections,
        connected,
        connect_failures,
        dropped: dropped(&ends),
        connect_s,
        rss_before_kb,
        rss_connected_kb,
        kb_per_connection,
        writers: writer_count,
        notes_sent,
        expected,
        delivered,
        delivered_pct: percent(delivered, expected),
        latency: summarize(&mut samples),
        server_idle_cpu_pct: resources.server_cores.map(|c| c * 100.0),
        resources,
    };
    Ok(Record {
        info: ctx.info("w2"),
        outcome: Outcome::W2(result),
    })
}
