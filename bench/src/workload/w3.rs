//! W3 join storm: a doc already holding thousands of notes, then many clients joining within one
//! second. A joiner is synced once it has received step 2 and its doc holds every note.
//!
//! The filler client that wrote the notes stays connected through the storm, like a facilitator's
//! laptop would, so that no server can evict the doc between the fill and the storm.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{close_all, dropped, Ctx, Outcome, Record, Resources, Window, WorkloadError};
use crate::client::{self, ClientOptions, Command, Mode, Renewal, SyncState};
use crate::stats::{summarize, Latency};

/// Sizes of a W3 run.
#[derive(Debug, Clone, Copy)]
pub struct W3Sizes {
    /// Notes written before the storm.
    pub notes: usize,
    /// Clients joining within one second.
    pub joiners: usize,
}

impl W3Sizes {
    /// `make bench`.
    pub fn quick() -> Self {
        Self {
            notes: 5000,
            joiners: 100,
        }
    }

    /// `make bench-full`: the storm.
    pub fn full() -> Self {
        Self {
            notes: 5000,
            joiners: 300,
        }
    }
}

/// What W3 measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct W3Result {
    /// Notes in the doc.
    pub notes: usize,
    /// The whole doc encoded as one update, bytes.
    pub doc_bytes: usize,
    /// Joiners asked for.
    pub joiners: usize,
    /// Joiners synced with every note.
    pub synced: usize,
    /// Joiners that synced without every note, failed or timed out.
    pub failed: usize,
    /// First failure seen, if any.
    pub first_error: Option<String>,
    /// Connections that ended during the storm.
    pub dropped: usize,
    /// Time from the start of each joiner's TCP connect until synced.
    pub time_to_sync: Latency,
    /// Part of it until the WebSocket handshake completed.
    pub time_to_open: Latency,
    /// Part of it until the whole step 2 frame was read (the rest is the joiner applying it).
    pub time_to_step2: Latency,
    /// Server RSS before the storm, KiB.
    pub rss_before_kb: Option<u64>,
    /// CPU and memory from the first join until the last joiner synced.
    pub resources: Resources,
}

/// Runs W3.
pub async fn run(ctx: &Ctx, sizes: W3Sizes) -> Result<Record, WorkloadError> {
    if ctx.target.mode == Mode::Relay {
        return Ok(super::skipped(
            ctx,
            "w3",
            "a relay holds no document, so a joiner has nothing to sync from",
        ));
    }
    let doc = "bench-w3";
    ctx.target.prepare(doc).await?;
    let url = ctx.target.url(doc);
    let mut ids = ctx.client_ids();
    let mut next_client = |url: &str| ClientOptions {
        url: url.to_owned(),
        mode: ctx.target.mode,
        client_id: ids.next().unwrap_or(1),
        latency: None,
        acks: None,
        renewal: Renewal::AfterJoin,
        behaviour: ctx.client,
    };

    let mut filler = client::spawn(next_client(&url));
    if let SyncState::Failed(e) = filler.wait_synced(Duration::from_secs(30)).await {
        return Err(WorkloadError::Connect {
            connected: 0,
            wanted: 1,
            first_error: e,
        });
    }
    eprintln!("w3: writing {} notes", sizes.notes);
    let batch = 100;
    let mut left = sizes.notes;
    while left > 0 {
        let n = left.min(batch);
        let (reply, written) = oneshot::channel();
        let _ = filler
            .commands
            .send(Command::Write {
                notes: n,
                reply: Some(reply),
            })
            .await;
        let _ = written.await;
        left -= n;
    }
    let (reply, size) = oneshot::channel();
    let _ = filler.commands.send(Command::EncodedSize(reply)).await;
    let doc_bytes = size.await.unwrap_or(0);

    // Prove the server holds every note before the storm: a fresh client must sync them all.
    let ready_by = Instant::now() + Duration::from_secs(30);
    let mut have = 0;
    while Instant::now() < ready_by {
        let mut probe = client::spawn(next_client(&url));
        let state = probe.wait_synced(Duration::from_secs(10)).await;
        probe.close().await;
        if let SyncState::Synced { notes, .. } = state {
            have = notes as usize;
            if have >= sizes.notes {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    if have < sizes.notes {
        return Err(WorkloadError::Connect {
            connected: 0,
            wanted: 1,
            first_error: format!("a fresh client saw {have} of {} notes", sizes.notes),
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let rss_before_kb = ctx
        .server_pid
        .map(|pid| ctx.proc.process(Some(pid)))
        .transpose()?
        .map(|s| s.rss_kb);
    eprintln!("w3: {} clients join within 1 s", sizes.joiners);
    let window = Window::start(ctx)?;
    let t0 = Instant::now();
    let spacing = Duration::from_secs(1) / sizes.joiners.max(1) as u32;
    let mut joiners = Vec::with_capacity(sizes.joiners);
    for i in 0..sizes.joiners {
        tokio::time::sleep_until(t0 + spacing * i as u32).await;
        let handle = client::spawn(next_client(&url));
        let mut state = handle.state.clone();
        let waiter =
            tokio::spawn(
                async move { client::wait_synced(&mut state, Duration::from_secs(60)).await },
            );
        joiners.push((handle, waiter));
    }
    let mut times_us = Vec::with_capacity(sizes.joiners);
    let mut open_us = Vec::with_capacity(sizes.joiners);
    let mut step2_us = Vec::with_capacity(sizes.joiners);
    let us = |d: Duration| d.as_micros().min(u128::from(u32::MAX)) as u32;
    let mut failed = 0;
    let mut first_error = None;
    let mut handles = Vec::with_capacity(sizes.joiners);
    for (handle, waiter) in joiners {
        match waiter.await {
            Ok(SyncState::Synced {
                after,
                opened,
                received,
                notes,
            }) if notes as usize >= sizes.notes => {
                times_us.push(us(after));
                open_us.push(us(opened));
                step2_us.push(us(received));
            }
            Ok(SyncState::Synced { notes, .. }) => {
                failed += 1;
                first_error.get_or_insert(format!("synced with {notes} notes"));
            }
            Ok(SyncState::Failed(e)) => {
                failed += 1;
                first_error.get_or_insert(e);
            }
            Ok(SyncState::Pending) | Err(_) => failed += 1,
        }
        handles.push(handle);
    }
    let resources = window.finish(ctx)?;
    handles.push(filler);
    let ends = close_all(handles).await;

    let result = W3Result {
        notes: sizes.notes,
        doc_bytes,
        joiners: sizes.joiners,
        synced: times_us.len(),
        failed,
        first_error,
        dropped: dropped(&ends),
        time_to_sync: summarize(&mut times_us),
        time_to_open: summarize(&mut open_us),
        time_to_step2: summarize(&mut step2_us),
        rss_before_kb,
        resources,
    };
    Ok(Record {
        info: ctx.info("w3"),
        outcome: Outcome::W3(result),
    })
}
