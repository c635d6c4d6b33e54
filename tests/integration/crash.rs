//! Crash safety of the real binary: SIGKILL while clients write continuously, restart on the
//! same data dir, and every update any client had received from the server must be there.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yrs::{Doc, Map, Transact};

use crate::client::{TestClient, NOTES};
use crate::harness::{io, seed, within, ChildServer, TestResult, WAIT};

const DOCS: [&str; 2] = ["crash.board-a", "crash.board-b"];
const WRITERS: usize = 6;
const ROUNDS: usize = 3;

/// One writing client: a connection whose doc holds only what the server sent (its own
/// notes are authored in a separate doc and only come back through the server's relay).
struct Writer {
    doc_index: usize,
    client: TestClient,
    written: usize,
}

/// Writes notes `{prefix}-{n}` from a private author doc every few milliseconds until
/// `stop` is set or the connection ends.
async fn write_continuously(
    mut w: Writer,
    prefix: String,
    mut rng: StdRng,
    stop: Arc<AtomicBool>,
) -> Writer {
    let author = Doc::new();
    let notes = author.get_or_insert_map(NOTES);
    while !stop.load(Ordering::Relaxed) && w.client.is_connected() {
        let update = {
            let mut txn = author.transact_mut();
            notes.insert(
                &mut txn,
                format!("{prefix}-{}", w.written),
                "note écrite avant le crash",
            );
            txn.encode_update_v1()
        };
        w.client.send_update(&update);
        w.written += 1;
        tokio::time::sleep(Duration::from_millis(rng.random_range(1..5))).await;
    }
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_any_client_had_received() -> TestResult {
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0201));
    let dir = tempfile::tempdir().map_err(io("creating a data dir"))?;
    let mut confirmed: [BTreeSet<String>; 2] = Default::default();
    for round in 0..ROUNDS {
        let server = ChildServer::start(dir.path(), dir.path(), &[]).await?;
        // Whatever earlier rounds confirmed must have survived their crash.
        for (doc, seen) in DOCS.iter().zip(&confirmed) {
            let check = TestClient::connect(&server.ws_url(doc)).await?;
            let ids = check.note_ids();
            let missing: Vec<&String> = seen.difference(&ids).collect();
            assert!(
                missing.is_empty(),
                "round {round}: {doc} lost {} notes: {missing:?}",
                missing.len()
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for i in 0..WRITERS {
            let doc_index = i % DOCS.len();
            let url = server.ws_url(DOCS.get(doc_index).copied().unwrap_or("crash.board-a"));
            let client = TestClient::connect(&url).await?;
            let w = Writer {
                doc_index,
                client,
                written: 0,
            };
            let task_rng = StdRng::seed_from_u64(rng.random());
            tasks.push(tokio::spawn(write_continuously(
                w,
                format!("r{round}-w{i}"),
                task_rng,
                stop.clone(),
            )));
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(300..1200))).await;
        server.kill().await?;
        stop.store(true, Ordering::Relaxed);
        let mut written = 0;
        let mut received_this_round = 0;
        for task in tasks {
            let w = within("a writer to stop", WAIT, task).await?.map_err(|e| {
                crate::harness::TestError::Protocol(format!("writer task failed: {e}"))
            })?;
            // Frames already on the client's socket were sent before the kill: let them land.
            w.client.wait_closed().await?;
            written += w.written;
            let seen = w.client.note_ids();
            received_this_round += seen
                .iter()
                .filter(|id| id.starts_with(&format!("r{round}-")))
                .count();
            if let Some(set) = confirmed.get_mut(w.doc_index) {
                set.extend(seen);
            }
        }
        eprintln!(
            "round {round}: {written} notes written, {received_this_round} receipts before SIGKILL"
        );
        assert!(
            received_this_round > 0,
            "round {round}: the clients received something before the kill"
        );
    }
    let server = ChildServer::start(dir.path(), dir.path(), &[]).await?;
    for (doc, seen) in DOCS.iter().zip(&confirmed) {
        let check = TestClient::connect(&server.ws_url(doc)).await?;
        let ids = check.note_ids();
        let missing: Vec<&String> = seen.difference(&ids).collect();
        assert!(
            missing.is_empty(),
            "{doc} lost {} received notes: {missing:?}",
            missing.len()
        );
    }
    let log = server.log();
    assert!(
        !log.contains("panicked"),
        "the server never panicked:\n{log}"
    );
    Ok(())
}
