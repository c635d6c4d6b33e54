//! W1 plenary: one doc, many phones connected, some of them adding a note every second.
//!
//! Latency is measured at every receiver: the time between the note's embedded send time and the
//! moment the note appears in that receiver's doc. Delivered % compares the notes that appeared with
//! `notes sent × (connected clients − 1)`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{
    close_all, connect_many, drive, dropped, require_synced, wait_until, Ctx, Outcome, Record,
    Resources, Window, WorkloadError,
};
use crate::client::{Behaviour, ClientOptions, LatencySink};
use crate::stats::{summarize, Latency};

/// Sizes of a W1 run.
#[derive(Debug, Clone, Copy)]
pub struct W1Sizes {
    /// Connected clients.
    pub clients: usize,
    /// Clients that write one note per second.
    pub writers: usize,
    /// Seconds of writing.
    pub seconds: u64,
    /// Longest wait for late deliveries after the last note, seconds.
    pub drain_s: u64,
}

impl W1Sizes {
    /// `make bench`.
    pub fn quick() -> Self {
        Self {
            clients: 300,
            writers: 30,
            seconds: 10,
            drain_s: 5,
        }
    }

    /// `make bench-full`: the plenary.
    pub fn full() -> Self {
        Self {
            clients: 1000,
            writers: 100,
            seconds: 30,
            drain_s: 15,
        }
    }
}

/// What W1 measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct W1Result {
    /// Clients asked for.
    pub clients: usize,
    /// Writers asked for.
    pub writers: usize,
    /// Seconds of writing.
    pub seconds: u64,
    /// Clients that synced.
    pub connected: usize,
    /// Clients that failed to connect or sync.
    pub connect_failures: usize,
    /// Clients whose connection ended during the run.
    pub dropped: usize,
    /// Notes sent by the writers.
    pub notes_sent: u64,
    /// Deliveries expected: notes × (connected − 1).
    pub expected: u64,
    /// Notes that appeared in a receiver's doc.
    pub delivered: u64,
    /// `delivered / expected`, percent.
    pub delivered_pct: f64,
    /// Deliveries per second of the measurement window.
    pub deliveries_per_s: f64,
    /// Edit-to-delivery latency at the receivers.
    pub latency: Latency,
    /// Server CPU microseconds per delivery (= CPU seconds per million deliveries).
    pub server_us_per_delivery: Option<f64>,
    /// CPU and memory in the window (from the first note to the end of the drain).
    pub resources: Resources,
    /// What the clients sent besides the protocol (`plain` in runs before issue 9).
    #[serde(default)]
    pub client: Behaviour,
    /// Confirmation requests (sync step 1 after the handshake) sent by all clients, whole run.
    #[serde(default)]
    pub probes_sent: u64,
}

/// Runs W1.
pub async fn run(ctx: &Ctx, sizes: W1Sizes) -> Result<Record, WorkloadError> {
    let doc = "bench-w1";
    ctx.target.prepare(doc).await?;
    let sink = Arc::new(LatencySink::default());
    let options: Vec<ClientOptions> = ctx
        .client_ids()
        .take(sizes.clients)
        .enumerate()
        .map(|(i, client_id)| drive::measured(ctx, &ctx.target.url_of(doc, i), client_id, &sink))
        .collect();
    eprintln!("w1: connecting {} clients", sizes.clients);
    let clients = connect_many(options, 64, Duration::from_secs(60)).await;
    let (clients, connect_failures) = require_synced(clients, 0.5)?;
    let connected = clients.len();
    // Let the join's awareness broadcast (N² frames) settle before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    sink.take();
    sink.deliveries.store(0, Ordering::Relaxed);

    let writers = sizes.writers.min(connected);
    let stride = (connected / writers.max(1)).max(1);
    let sent = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now() + Duration::from_millis(200);
    let writing: Vec<_> = clients.iter().step_by(stride).take(writers).collect();
    let drivers = drive::once_a_second(writing.into_iter(), &sent, t0, sizes.seconds);
    eprintln!(
        "w1: {writers} writers × 1 note/s for {} s to {connected} clients",
        sizes.seconds
    );
    tokio::time::sleep_until(t0).await;
    let window = Window::start(ctx)?;
    for d in drivers {
        let _ = d.await;
    }
    let notes_sent = sent.load(Ordering::Relaxed);
    let expected = notes_sent * (connected as u64).saturating_sub(1);
    let deadline = Instant::now() + Duration::from_secs(sizes.drain_s);
    wait_until(deadline, || {
        sink.deliveries.load(Ordering::Relaxed) >= expected
    })
    .await;
    let resources = window.finish(ctx)?;
    let delivered = sink.deliveries.load(Ordering::Relaxed);
    let mut samples = sink.take();
    let ends = close_all(clients).await;

    let result = W1Result {
        clients: sizes.clients,
        writers,
        seconds: sizes.seconds,
        connected,
        connect_failures,
        dropped: dropped(&ends),
        notes_sent,
        expected,
        delivered,
        delivered_pct: percent(delivered, expected),
        deliveries_per_s: delivered as f64 / resources.wall_s,
        latency: summarize(&mut samples),
        server_us_per_delivery: resources
            .server_cpu_s
            .filter(|_| delivered > 0)
            .map(|cpu| cpu / delivered as f64 * 1e6),
        resources,
        client: ctx.client,
        probes_sent: ends.iter().map(|e| e.probes_sent).sum(),
    };
    Ok(Record {
        info: ctx.info("w1"),
        outcome: Outcome::W1(result),
    })
}

/// `part / whole` in percent, 0 when nothing was expected.
pub(crate) fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
