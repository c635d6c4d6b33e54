//! The store's backlog bounds what clients may have written and not yet made durable (issue 13):
//! a disk slower than what many addresses send (a test hook slows the store's commits), the
//! global budget lifted, so only the backlog signal stands between them. Update bytes stop
//! being read past the high-water mark, an honest note still becomes durable and is relayed,
//! and once the flood stops everything drains. The flood comes from 127.0.0.10 and up, the
//! honest clients from 127.0.0.1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::SinkExt;
use palabre::store::faults;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::client::TestClient;
use crate::harness::{eventually, http_get, TestResult, TestServer, WAIT};
use crate::hostile_writes::{note_frame, ws_from};

/// High and low marks, small so that the test runs in seconds.
const HIGH: u64 = 2 << 20;
const LOW: u64 = 1 << 20;
/// The slowed disk: this many bytes a second, plus a few milliseconds per commit.
const DISK_BYTES_PER_SEC: u64 = 1 << 20;
const WRITERS: u8 = 16;
/// Each flooder sends notes of this size, as fast as its per-connection bucket lets it
/// (50 a second: 16 × 50 × 32 KiB ≈ 25 MiB/s offered to a 1 MiB/s disk).
const NOTE_BYTES: usize = 32 * 1024;
const FLOOD: Duration = Duration::from_secs(6);

/// What one flood did, sampled from `/metrics` and `/proc/self/status` every 100 ms.
#[derive(Debug, Default)]
struct Seen {
    peak_backlog: u64,
    saturated: bool,
    peak_rss_kib: u64,
    frames_sent: usize,
    /// `/healthz` answered while saturated, if it was asked then.
    healthz: Option<(u16, String)>,
}

/// This process's resident memory (the in-process server and the test's clients).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `WRITERS` connections from as many addresses, each into its own doc, sending until aborted.
async fn start_flood(
    server: &TestServer,
    sent: &Arc<AtomicUsize>,
) -> TestResult<Vec<JoinHandle<()>>> {
    let body = "f".repeat(NOTE_BYTES);
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let url = server.ws_url(&format!("flood-{w}"));
        let Ok(mut ws) = ws_from([127, 0, 0, 10 + w], server.addr(), &url).await? else {
            continue;
        };
        let (body, sent) = (body.clone(), Arc::clone(sent));
        tasks.push(tokio::spawn(async move {
            for n in 0u64.. {
                let frame = note_frame(&format!("w{w}-n{n}"), &body);
                if ws.send(WsMessage::Binary(frame.into())).await.is_err() {
                    return;
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    Ok(tasks)
}

/// Floods `server` for [`FLOOD`], sampling as it goes; `during` runs meanwhile.
async fn flood_and_watch(
    server: &TestServer,
    during: impl std::future::Future<Output = TestResult>,
) -> TestResult<Seen> {
    let sent = Arc::new(AtomicUsize::new(0));
    let tasks = start_flood(server, &sent).await?;
    let mut seen = Seen::default();
    let watch = async {
        let deadline = tokio::time::Instant::now() + FLOOD;
        while tokio::time::Instant::now() < deadline {
            let m = server.metrics().await?;
            seen.peak_backlog = seen
                .peak_backlog
                .max(m.value("palabre_store_backlog_bytes") as u64);
            if m.value("palabre_store_saturated") > 0.0 {
                seen.saturated = true;
                if seen.healthz.is_none() {
                    seen.healthz = Some(http_get(server.addr(), "/healthz").await?);
                }
            }
            seen.peak_rss_kib = seen.peak_rss_kib.max(rss_kib());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        TestResult::Ok(())
    };
    let (watched, done) = tokio::join!(watch, during);
    for task in &tasks {
        task.abort();
    }
    watched?;
    done?;
    seen.frames_sent = sent.load(Ordering::Relaxed);
    Ok(seen)
}

async fn slowed_server(marks_on: bool) -> TestResult<(TestServer, faults::SlowCommits)> {
    let server = TestServer::start_with(|c| {
        c.store_backlog_bytes = if marks_on { HIGH } else { 0 };
        c.store_backlog_resume_bytes = LOW;
    })
    .await?;
    let slow = faults::slow_commits(
        server.data_dir(),
        Duration::from_millis(5),
        DISK_BYTES_PER_SEC,
    );
    Ok((server, slow))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_disk_bounds_the_backlog_an_honest_note_gets_through_and_all_drains() -> TestResult {
    let (server, slow) = slowed_server(true).await?;
    let url = server.ws_url("honest-board");
    let mut writer = TestClient::connect(&url).await?;
    let reader = TestClient::connect(&url).await?;
    let honest = async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        writer.add_note("honest", "a small note");
        // Durable before relayed: the reader seeing it means the slow disk has it.
        reader
            .wait_until("the honest note, relayed", Duration::from_secs(30), |doc| {
                crate::client::note_ids(doc).contains("honest")
            })
            .await
    };
    let seen = flood_and_watch(&server, honest).await?;
    eprintln!("with the signal: {seen:?}");
    assert!(
        seen.saturated,
        "the flood never reached the high mark: {seen:?}"
    );
    // Past the mark: what the rooms had open when it tripped (each submits its open batch
    // when one of its 8 slots frees) and one message held by each paused reader.
    let bound = 2 * HIGH + u64::from(WRITERS) * NOTE_BYTES as u64;
    assert!(
        seen.peak_backlog <= bound,
        "backlog peaked at {} bytes, bound {bound}: {seen:?}",
        seen.peak_backlog
    );
    // The flood is over: everything queued becomes durable and reading resumes.
    let drained = eventually("the backlog to drain", Duration::from_secs(30), || async {
        server.metrics().await.is_ok_and(|m| {
            m.value("palabre_store_backlog_bytes") == 0.0
                && m.value("palabre_store_saturated") == 0.0
        })
    })
    .await;
    if let Err(e) = drained {
        let m = server.metrics().await?;
        eprintln!(
            "still queued: {} bytes, saturated {}",
            m.value("palabre_store_backlog_bytes"),
            m.value("palabre_store_saturated")
        );
        return Err(e);
    }
    let m = server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"store_backlog\"}") > 0.0);
    // And new writes go through at once again.
    drop(slow);
    writer.add_note("after", "the flood");
    reader
        .wait_until("a note after the flood", WAIT, |doc| {
            crate::client::note_ids(doc).contains("after")
        })
        .await
}

/// Memory with and without the signal under the same flood (run each in its own process:
/// `cargo test -p palabre-tests --test integration store_backlog::memory_with -- --ignored
/// --nocapture`, then `…memory_without…`).
async fn memory(marks_on: bool) -> TestResult {
    let (server, _slow) = slowed_server(marks_on).await?;
    let before = rss_kib();
    let seen = flood_and_watch(&server, async { Ok(()) }).await?;
    eprintln!(
        "signal {}: RSS {before} KiB before, peak {} KiB; peak backlog {} bytes; {} frames sent",
        if marks_on { "on" } else { "off" },
        seen.peak_rss_kib,
        seen.peak_backlog,
        seen.frames_sent
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run alone with --nocapture"]
async fn memory_with_the_signal() -> TestResult {
    memory(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run alone with --nocapture"]
async fn memory_without_the_signal() -> TestResult {
    memory(false).await
}
