//! Honest clients under attack (issue 13): the same small plenary is measured twice in one run,
//! first alone, then while hostile clients run, and the report gives the ratio of the p99s.
//!
//! Attacks:
//! - `step1`: clients that never read, each sending sync step 1 flat out on the honest doc (a
//!   5 000-note board), claiming a different part of it each time;
//! - `stray`: clients writing 16 KiB notes into ever new doc ids (disk pressure; on a workshop's
//!   docs Palabre refuses these at upgrade, on open docs it stores them);
//! - `slowloris`: hundreds of TCP connections that send an HTTP request one header byte at a time.
//!
//! The attackers connect from [`ATTACKER_IP`], the honest clients from 127.0.0.1: on the internet
//! an attacker is another address than the workshops it hurts, and the server's per-address
//! budgets must tell them apart here too (Linux routes all of 127.0.0.0/8 to loopback).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::updates::encoder::Encode;
use yrs::{Map, StateVector, Transact};

use super::w1::percent;
use super::{
    close_all, connect_many, drive, require_synced, wait_until, Ctx, Outcome, Record, WorkloadError,
};
use crate::client::{ClientOptions, Command, LatencySink};
use crate::stats::{summarize, Latency};
use crate::wire::Message;

/// Where the attackers' connections come from.
pub const ATTACKER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Which attack runs in the second phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Attack {
    /// Non-reading clients flooding sync step 1 on the honest doc.
    Step1,
    /// Writes into ever new doc ids.
    Stray,
    /// Half-sent HTTP requests.
    Slowloris,
}

/// Sizes of an attack run.
#[derive(Debug, Clone, Copy)]
pub struct AttackSizes {
    /// Honest clients on the doc.
    pub clients: usize,
    /// Of which writing, one note every 200 ms.
    pub writers: usize,
    /// Notes on the board before measuring.
    pub notes: usize,
    /// Seconds of each phase.
    pub seconds: u64,
    /// Hostile connections (slowloris: ×50).
    pub attackers: usize,
}

impl AttackSizes {
    /// `make bench`.
    pub fn quick() -> Self {
        Self {
            clients: 50,
            writers: 10,
            notes: 5000,
            seconds: 6,
            attackers: 8,
        }
    }
}

/// What an attack run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttackResult {
    /// The attack.
    pub attack: Attack,
    /// Hostile connections.
    pub attackers: usize,
    /// Honest clients connected.
    pub connected: usize,
    /// Honest edit-to-delivery latency without the attack.
    pub baseline: Latency,
    /// The same under attack.
    pub attacked: Latency,
    /// `attacked.p99 / baseline.p99`.
    pub p99_ratio: f64,
    /// Honest deliveries seen / expected, without and with the attack, percent.
    pub delivered_pct: (f64, f64),
    /// Frames (or bytes, for slowloris) the attackers got out before being stopped or closed.
    pub attack_sent: u64,
}

/// Runs one attack workload.
pub async fn run(ctx: &Ctx, sizes: AttackSizes, attack: Attack) -> Result<Record, WorkloadError> {
    let doc = "bench-attack";
    ctx.target.prepare(doc).await?;
    let sink = Arc::new(LatencySink::default());
    let url = ctx.target.url(doc);
    let mut ids = ctx.client_ids();
    let filler_id = ids.next().unwrap_or(1);
    let options: Vec<ClientOptions> = std::iter::once(filler_id)
        .chain(ids.take(sizes.clients))
        .map(|client_id| drive::measured(ctx, &url, client_id, &sink))
        .collect();
    let clients = connect_many(options, 32, Duration::from_secs(60)).await;
    let (clients, _) = require_synced(clients, 0.9)?;
    let connected = clients.len();
    if let Some(filler) = clients.first() {
        let (reply, written) = oneshot::channel();
        let cmd = Command::Write {
            notes: sizes.notes,
            reply: Some(reply),
        };
        if filler.commands.send(cmd).await.is_ok() {
            let _ = written.await;
        }
    }
    // Every honest client must have the whole board before anything is measured.
    let board = (sizes.notes as u64) * (connected as u64).saturating_sub(1);
    wait_until(Instant::now() + Duration::from_secs(60), || {
        sink.deliveries.load(Ordering::Relaxed) >= board
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    let (baseline, base_pct) = phase(&clients, &sink, sizes).await;
    eprintln!("attack {attack:?}: baseline p99 {:.2} ms", baseline.p99_ms);
    let sent = Arc::new(AtomicU64::new(0));
    let attackers = match attack {
        Attack::Slowloris => sizes.attackers * 50,
        _ => sizes.attackers,
    };
    let tasks: Vec<JoinHandle<()>> = (0..attackers)
        .map(|a| {
            let url = url.clone();
            let template = ctx.target.url_template.clone();
            let sent = sent.clone();
            tokio::spawn(async move {
                // An attacker ends when the server closes it; that is the server's defence.
                match attack {
                    Attack::Step1 => drop(step1_flood(&url, filler_id, a as u32, &sent).await),
                    Attack::Stray => drop(stray_writes(&template, a, &sent).await),
                    Attack::Slowloris => drop(slowloris(&url, &sent).await),
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (attacked, attack_pct) = phase(&clients, &sink, sizes).await;
    for t in &tasks {
        t.abort();
    }
    let _ = close_all(clients).await;
    let p99_ratio = if baseline.p99_ms > 0.0 {
        attacked.p99_ms / baseline.p99_ms
    } else {
        0.0
    };
    let result = AttackResult {
        attack,
        attackers,
        connected,
        baseline,
        attacked,
        p99_ratio,
        delivered_pct: (base_pct, attack_pct),
        attack_sent: sent.load(Ordering::Relaxed),
    };
    Ok(Record {
        info: ctx.info("attack"),
        outcome: Outcome::Attack(result),
    })
}

/// Writers add one note every 200 ms for `seconds`; returns the latencies and the delivery rate.
async fn phase(
    clients: &[crate::client::ClientHandle],
    sink: &Arc<LatencySink>,
    sizes: AttackSizes,
) -> (Latency, f64) {
    sink.take();
    sink.deliveries.store(0, Ordering::Relaxed);
    let sent = Arc::new(AtomicU64::new(0));
    let writers = sizes.writers.min(clients.len().saturating_sub(1));
    let t0 = Instant::now() + Duration::from_millis(100);
    let ticks = sizes.seconds * 5;
    let mut drivers = Vec::new();
    for (w, handle) in clients.iter().skip(1).take(writers).enumerate() {
        let offset = Duration::from_millis(200 * w as u64 / writers.max(1) as u64);
        drivers.push(drive::paced(
            handle.commands.clone(),
            sent.clone(),
            t0 + offset,
            Duration::from_millis(200),
            ticks,
        ));
    }
    for d in drivers {
        let _ = d.await;
    }
    let expected = sent.load(Ordering::Relaxed) * (clients.len() as u64).saturating_sub(1);
    wait_until(Instant::now() + Duration::from_secs(10), || {
        sink.deliveries.load(Ordering::Relaxed) >= expected
    })
    .await;
    let delivered = sink.deliveries.load(Ordering::Relaxed);
    let mut samples = sink.take();
    (summarize(&mut samples), percent(delivered, expected))
}

/// `ws://host:port/path` → (`host:port`, `/path`).
pub(super) fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("ws://")?;
    let slash = rest.find('/')?;
    Some((&rest[..slash], &rest[slash..]))
}

/// A TCP connection to `host` (`host:port`) from [`ATTACKER_IP`], with a 4 KiB receive buffer
/// when `small_buffer`.
pub(super) async fn attacker_tcp(host: &str, small_buffer: bool) -> std::io::Result<TcpStream> {
    let addr = tokio::net::lookup_host(host)
        .await?
        .find(SocketAddr::is_ipv4)
        .ok_or_else(|| std::io::Error::other(format!("{host}: no IPv4 address")))?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    // Off loopback 127.0.0.2 does not exist: fall back to the default source address.
    if addr.ip().is_loopback() {
        socket.bind(SocketAddr::new(ATTACKER_IP, 0))?;
    }
    if small_buffer {
        socket.set_recv_buffer_size(4096)?;
    }
    socket.connect(addr).await
}

/// A WebSocket opened by hand with a 4 KiB receive buffer, never read after the upgrade.
async fn raw_upgrade(url: &str) -> std::io::Result<TcpStream> {
    let bad = || std::io::Error::other(format!("not a ws:// URL: {url}"));
    let (host, path) = split_url(url).ok_or_else(bad)?;
    let mut stream = attacker_tcp(host, true).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    Ok(stream)
}

fn masked(payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x82u8];
    let len = payload.len();
    if len < 126 {
        frame.push(0x80 | len as u8);
    } else if len <= usize::from(u16::MAX) {
        frame.push(0x80 | 126);
        frame.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        frame.push(0x80 | 127);
        frame.extend_from_slice(&(len as u64).to_be_bytes());
    }
    let mask = [0x5au8, 0x17, 0xc3, 0x2e];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

async fn step1_flood(url: &str, victim: u64, seed: u32, sent: &AtomicU64) -> std::io::Result<()> {
    let mut stream = raw_upgrade(url).await?;
    for k in 0u32.. {
        let mut sv = StateVector::default();
        sv.set_max(
            yrs::ClientID::new(victim),
            k.wrapping_mul(7).wrapping_add(seed) % 5000,
        );
        let frame = masked(&Message::SyncStep1(&sv.encode_v1()).encode());
        stream.write_all(&frame).await?;
        sent.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

async fn stray_writes(template: &str, who: usize, sent: &AtomicU64) -> anyhow::Result<()> {
    let body = "s".repeat(16 * 1024);
    for n in 0u64.. {
        let url = template.replace("{doc}", &format!("bench-stray-{who}-{n}"));
        let host = split_url(&url)
            .map(|(h, _)| h.to_string())
            .ok_or_else(|| anyhow::anyhow!("not a ws:// URL: {url}"))?;
        let tcp = attacker_tcp(&host, false).await?;
        let (mut ws, _) = tokio_tungstenite::client_async(url.as_str(), tcp).await?;
        let doc = yrs::Doc::new();
        let notes = doc.get_or_insert_map("notes");
        for i in 0..20 {
            let update = {
                let mut txn = doc.transact_mut();
                notes.insert(&mut txn, format!("n{i}"), body.as_str());
                txn.encode_update_v1()
            };
            ws.send(WsMessage::Binary(Message::Update(&update).encode().into()))
                .await?;
            sent.fetch_add(1, Ordering::Relaxed);
        }
        let _ = ws.close(None).await;
    }
    Ok(())
}

async fn slowloris(url: &str, sent: &AtomicU64) -> std::io::Result<()> {
    let bad = || std::io::Error::other(format!("not a ws:// URL: {url}"));
    let (host, _) = split_url(url).ok_or_else(bad)?;
    loop {
        let mut stream = attacker_tcp(host, false).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await?;
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if stream.write_all(b"X").await.is_err() {
                break;
            }
            sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}
