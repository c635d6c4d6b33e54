//! Full board: the ownership and phase check under load (docs/benchmarks.md, "Full board").
//!
//! A grid board of a real workshop (`POST /api/workshops`) is filled to 5 000 notes through the
//! facilitator link, each authored by one of the participants' devices. Honest participants, each
//! with its own device secret, then add notes (one per second per writer, every update checked by
//! the server) and measure write-to-relay latency twice in one run: while nobody attacks, then
//! while a few participants with their own devices send checked updates as fast as the per-
//! connection budget lets them: edits of their own notes and dot votes (accepted), and forged
//! deletions of others' notes (refused: the room then rebuilds the doc from disk).
//!
//! Variants: `owned` (own edits and votes only), `mixed` (own edit, vote, forgery in turn),
//! `forged` (forgeries only: what a refusal costs).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::w1::percent;
use super::{wait_until, Ctx, Outcome, Record, Resources, Window, WorkloadError};
use crate::client::LatencySink;
use crate::stats::{summarize, Latency};

pub mod api;
pub mod peer;

use peer::{Op, Peer, PeerSpec};

/// What the attackers send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// Edits of their own notes and votes, every one accepted.
    Owned,
    /// Own edit, vote and forged deletion in turn.
    Mixed,
    /// Forged deletions only, every one refused.
    Forged,
}

/// Sizes of a full-board run.
#[derive(Debug, Clone, Copy)]
pub struct FullBoardSizes {
    /// Notes the facilitator puts on the board.
    pub notes: usize,
    /// Honest participants.
    pub clients: usize,
    /// Of which writing one note per second.
    pub writers: usize,
    /// Attacking participants.
    pub attackers: usize,
    /// Updates per second each attacker sends (the server's default budget is 50).
    pub attack_rate: u32,
    /// Seconds of each phase.
    pub seconds: u64,
}

impl FullBoardSizes {
    /// `make bench`.
    pub fn quick() -> Self {
        Self {
            notes: 5000,
            clients: 20,
            writers: 5,
            attackers: 2,
            attack_rate: 40,
            seconds: 8,
        }
    }
}

/// One phase: honest latency and the server's resources.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Phase {
    /// Honest write-to-delivery latency.
    pub latency: Latency,
    /// Deliveries seen / expected, percent.
    pub delivered_pct: f64,
    /// Updates the attackers sent in the phase.
    pub attack_sent: u64,
    /// Refusals the attackers received in the phase.
    pub attack_denied: u64,
    /// CPU and memory over the phase.
    pub resources: Resources,
}

/// What a full-board run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FullBoardResult {
    /// The attack variant.
    pub variant: Variant,
    /// Notes on the board before measuring.
    pub notes: usize,
    /// Honest participants synced with the whole board.
    pub connected: usize,
    /// Attacking participants.
    pub attackers: usize,
    /// Nobody attacking.
    pub baseline: Phase,
    /// Attackers running.
    pub attacked: Phase,
    /// `attacked.p50 / baseline.p50`.
    pub p50_ratio: f64,
    /// `attacked.p99 / baseline.p99`.
    pub p99_ratio: f64,
    /// Server CPU milliseconds per attacker update, beyond the baseline's CPU over as long.
    pub server_ms_per_attack_update: Option<f64>,
    /// The same per refusal (forged variants): what one refusal's rebuild from disk costs.
    pub server_ms_per_refusal: Option<f64>,
}

fn participant(w: &api::Workshop, url: &str, n: u64, sink: Option<&Arc<LatencySink>>) -> PeerSpec {
    let secret = api::secret(n);
    PeerSpec {
        url: format!("{url}?token={}&device={secret}", w.participant),
        client_id: n,
        device: api::device_id(&w.id, &secret),
        from: None,
        sink: sink.cloned(),
    }
}

/// Runs one full-board workload against a Palabre server (`ctx.target`'s host).
pub async fn run(
    ctx: &Ctx,
    sizes: FullBoardSizes,
    variant: Variant,
) -> Result<Record, WorkloadError> {
    let url = ctx.target.url("{doc}");
    let host = super::attack::split_url(&url)
        .map(|(h, _)| h.to_owned())
        .ok_or_else(|| setup(format!("not a ws:// URL: {url}")))?;
    let w = api::create(&host, "five-columns")
        .await
        .map_err(|e| setup(e.to_string()))?;
    let board_url = ctx.target.url(&w.board_doc);
    let base = u64::from(rand::random::<u32>() >> 2) + 1;
    let sink = Arc::new(LatencySink::default());
    let honest: Vec<PeerSpec> = (0..sizes.clients as u64)
        .map(|i| participant(&w, &board_url, base + 1 + i, Some(&sink)))
        .collect();
    let hostile: Vec<PeerSpec> = (0..sizes.attackers as u64)
        .map(|i| {
            let mut spec = participant(&w, &board_url, base + 1000 + i, None);
            spec.from = Some(super::attack::ATTACKER_IP);
            spec
        })
        .collect();
    let authors: Vec<String> = honest
        .iter()
        .chain(&hostile)
        .map(|s| s.device.clone())
        .collect();

    let filler_spec = PeerSpec {
        url: format!("{board_url}?token={}", w.facilitator),
        client_id: base,
        device: String::new(),
        from: None,
        sink: None,
    };
    let filler = peer::spawn(filler_spec.clone());
    wait_synced(&[&filler], Duration::from_secs(30)).await?;
    let (done, filled) = oneshot::channel();
    let fill = Op::Fill {
        count: sizes.notes,
        authors,
        done,
    };
    if filler.ops.send(fill).await.is_err() || filled.await.is_err() {
        return Err(setup(
            "the facilitator's connection ended while filling".into(),
        ));
    }
    // The server has taken the fill once a fresh connection's step 2 holds every note.
    let probe_spec = PeerSpec {
        client_id: base + 999,
        ..filler_spec
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let probe = peer::spawn(probe_spec.clone());
        let held = wait_synced(&[&probe], Duration::from_secs(30)).await;
        probe.task.abort();
        if held? >= sizes.notes as u64 {
            break;
        }
        if Instant::now() > deadline {
            return Err(setup("the server never held the whole fill".into()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Participants join the filled board: their step 2 must hold every note.
    let honest: Vec<Peer> = honest.into_iter().map(peer::spawn).collect();
    let hostile: Vec<Peer> = hostile.into_iter().map(peer::spawn).collect();
    let everyone: Vec<&Peer> = honest.iter().chain(&hostile).collect();
    let synced = wait_synced(&everyone, Duration::from_secs(60)).await?;
    if synced < sizes.notes as u64 {
        return Err(setup(format!(
            "a participant synced {synced} notes of the {} written",
            sizes.notes
        )));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;

    let baseline = phase(ctx, &honest, &[], &sink, sizes, variant).await?;
    eprintln!(
        "fullboard {variant:?}: baseline p50 {:.2} ms p99 {:.2} ms",
        baseline.latency.p50_ms, baseline.latency.p99_ms
    );
    let attacked = phase(ctx, &honest, &hostile, &sink, sizes, variant).await?;
    let connected = honest
        .iter()
        .filter(|p| p.stats.ended.load(Ordering::Relaxed) == 0)
        .count();
    for p in honest
        .iter()
        .chain(&hostile)
        .chain(std::iter::once(&filler))
    {
        p.task.abort();
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let extra_ms = match (
        attacked.resources.server_cores,
        baseline.resources.server_cores,
    ) {
        (Some(a), Some(b)) => Some((a - b) * attacked.resources.wall_s * 1000.0),
        _ => None,
    };
    let per = |n: u64| extra_ms.filter(|_| n > 0).map(|ms| ms / n as f64);
    let result = FullBoardResult {
        variant,
        notes: sizes.notes,
        connected,
        attackers: sizes.attackers,
        p50_ratio: ratio(attacked.latency.p50_ms, baseline.latency.p50_ms),
        p99_ratio: ratio(attacked.latency.p99_ms, baseline.latency.p99_ms),
        server_ms_per_attack_update: per(attacked.attack_sent),
        server_ms_per_refusal: per(attacked.attack_denied),
        baseline,
        attacked,
    };
    Ok(Record {
        info: ctx.info("fullboard"),
        outcome: Outcome::FullBoard(result),
    })
}

fn setup(why: String) -> WorkloadError {
    WorkloadError::Connect {
        connected: 0,
        wanted: 1,
        first_error: why,
    }
}

/// Waits until every peer has its sync step 2; returns the fewest notes any of them held.
async fn wait_synced(peers: &[&Peer], limit: Duration) -> Result<u64, WorkloadError> {
    let all = || {
        peers
            .iter()
            .all(|p| p.stats.synced_notes.load(Ordering::Relaxed) > 0)
    };
    wait_until(Instant::now() + limit, all).await;
    if !all() {
        return Err(setup(format!("not every peer synced within {limit:?}")));
    }
    Ok(peers
        .iter()
        .map(|p| p.stats.synced_notes.load(Ordering::Relaxed))
        .min()
        .unwrap_or(0))
}

/// Honest writers add a note a second each while `attackers` run; then the deliveries drain.
async fn phase(
    ctx: &Ctx,
    honest: &[Peer],
    attackers: &[Peer],
    sink: &Arc<LatencySink>,
    sizes: FullBoardSizes,
    variant: Variant,
) -> Result<Phase, WorkloadError> {
    sink.take();
    sink.deliveries.store(0, Ordering::Relaxed);
    let count = |f: fn(&peer::PeerStats) -> u64| attackers.iter().map(|p| f(&p.stats)).sum::<u64>();
    let (sent0, denied0) = (
        count(|s| s.sent.load(Ordering::Relaxed)),
        count(|s| s.denied.load(Ordering::Relaxed)),
    );
    let window = Window::start(ctx)?;
    let start = Instant::now() + Duration::from_millis(100);
    let end = start + Duration::from_secs(sizes.seconds);
    let mut tasks = Vec::new();
    let writers = sizes.writers.min(honest.len());
    for (i, p) in honest.iter().take(writers).enumerate() {
        let ops = p.ops.clone();
        let first = start + Duration::from_millis(1000 * i as u64 / writers.max(1) as u64);
        tasks.push(tokio::spawn(paced(
            ops,
            first,
            Duration::from_secs(1),
            end,
            None,
        )));
    }
    let period = Duration::from_secs(1) / sizes.attack_rate.max(1);
    for (i, p) in attackers.iter().enumerate() {
        let first = start + period * i as u32 / attackers.len().max(1) as u32;
        tasks.push(tokio::spawn(paced(
            p.ops.clone(),
            first,
            period,
            end,
            Some(variant),
        )));
    }
    let mut notes_sent = 0u64;
    for t in tasks {
        notes_sent += t.await.unwrap_or(0);
    }
    let expected = notes_sent * (honest.len() as u64).saturating_sub(1);
    wait_until(Instant::now() + Duration::from_secs(15), || {
        sink.deliveries.load(Ordering::Relaxed) >= expected
    })
    .await;
    let resources = window.finish(ctx)?;
    let delivered = sink.deliveries.load(Ordering::Relaxed);
    let mut samples = sink.take();
    Ok(Phase {
        latency: summarize(&mut samples),
        delivered_pct: percent(delivered, expected),
        attack_sent: count(|s| s.sent.load(Ordering::Relaxed)) - sent0,
        attack_denied: count(|s| s.denied.load(Ordering::Relaxed)) - denied0,
        resources,
    })
}

/// Sends one operation every `period` from `first` until `end`: a note (honest, `None`) or the
/// variant's attack updates. Returns the honest notes sent.
async fn paced(
    ops: tokio::sync::mpsc::Sender<Op>,
    first: Instant,
    period: Duration,
    end: Instant,
    attack: Option<Variant>,
) -> u64 {
    let mut at = first;
    let mut n = 0u64;
    while at < end {
        tokio::time::sleep_until(at).await;
        let op = match attack {
            None => Op::Note,
            Some(Variant::Owned) if n.is_multiple_of(2) => Op::OwnEdit,
            Some(Variant::Owned) => Op::Vote,
            Some(Variant::Mixed) => match n % 3 {
                0 => Op::OwnEdit,
                1 => Op::Vote,
                _ => Op::Forge,
            },
            Some(Variant::Forged) => Op::Forge,
        };
        // A full queue means the peer's socket is backed up: skip rather than pile up.
        if ops.try_send(op).is_ok() {
            n += 1;
        }
        at += period;
    }
    if attack.is_some() {
        0
    } else {
        n
    }
}
