//! Crash safety of the real binary: SIGKILL (or SIGTERM) while clients write continuously and
//! others keep joining; restart on the same data dir; every note any client had received from
//! the server — by relay or in a handshake — must be there.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yrs::{Doc, Map, Transact};

use crate::client::{TestClient, NOTES};
use crate::harness::{io, seed, within, ChildServer, TestError, TestResult, WAIT};

const DOCS: [&str; 2] = ["crash.board-a", "crash.board-b"];
const WRITERS: usize = 6;

/// Note ids each doc's clients have received from the server.
type Seen = [BTreeSet<String>; 2];

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

/// Keeps joining the docs with fresh clients and records what each handshake delivered,
/// until `stop` is set or the server is gone.
async fn join_repeatedly(
    urls: [String; 2],
    mut rng: StdRng,
    stop: Arc<AtomicBool>,
) -> (Seen, usize) {
    let mut seen = Seen::default();
    let mut joins = 0;
    while !stop.load(Ordering::Relaxed) {
        let i = rng.random_range(0..DOCS.len());
        let (Some(url), Some(set)) = (urls.get(i), seen.get_mut(i)) else {
            break;
        };
        match TestClient::connect(url).await {
            Ok(client) => {
                set.extend(client.note_ids());
                joins += 1;
            }
            Err(_) => break,
        }
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..20))).await;
    }
    (seen, joins)
}

/// How a round ends.
#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    Kill,
    Term,
}

/// Starts the server, checks that what earlier rounds saw survived, writes and joins until a
/// random moment, stops the server with `end`, and adds what the clients received to `confirmed`.
async fn round(
    dir: &Path,
    round: usize,
    end: End,
    rng: &mut StdRng,
    confirmed: &mut Seen,
) -> TestResult {
    // Some rounds compact often, so a crash can land during or right after a compaction.
    let compact = if rng.random_bool(0.5) { "15" } else { "2000" };
    let server = ChildServer::start(dir, dir, &["--compact-updates", compact]).await?;
    for (doc, seen) in DOCS.iter().zip(confirmed.iter()) {
        let check = TestClient::connect(&server.ws_url(doc)).await?;
        let ids = check.note_ids();
        let missing: Vec<&String> = seen.difference(&ids).collect();
        assert!(
            missing.is_empty(),
            "round {round}: {doc} lost {} notes it had shown, e.g. {:?}",
            missing.len(),
            missing.iter().take(10).collect::<Vec<_>>()
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for i in 0..WRITERS {
        let doc_index = i % DOCS.len();
        let url = server.ws_url(DOCS.get(doc_index).copied().unwrap_or_default());
        let w = Writer {
            doc_index,
            client: TestClient::connect(&url).await?,
            written: 0,
        };
        let task_rng = StdRng::seed_from_u64(rng.random());
        writers.push(tokio::spawn(write_continuously(
            w,
            format!("r{round}-w{i}"),
            task_rng,
            stop.clone(),
        )));
    }
    let urls = DOCS.map(|d| server.ws_url(d));
    let joiner = tokio::spawn(join_repeatedly(
        urls,
        StdRng::seed_from_u64(rng.random()),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(rng.random_range(300..1200))).await;
    match end {
        End::Kill => server.kill().await?,
        End::Term => {
            let status = server.terminate().await?;
            assert_eq!(
                status.code(),
                Some(0),
                "SIGTERM during writes is still a clean exit"
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    let (mut written, mut relayed) = (0, 0);
    let task_failed =
        |e: tokio::task::JoinError| TestError::Protocol(format!("client task failed: {e}"));
    for task in writers {
        let w = within("a writer to stop", WAIT, task)
            .await?
            .map_err(task_failed)?;
        // Frames already on the client's socket were sent before the stop: let them land.
        w.client.wait_closed().await?;
        written += w.written;
        let seen = w.client.note_ids();
        relayed += seen
            .iter()
            .filter(|id| id.starts_with(&format!("r{round}-")))
            .count();
        if let Some(set) = confirmed.get_mut(w.doc_index) {
            set.extend(seen);
        }
    }
    let (joined_seen, joins) = within("the joiner to stop", WAIT, joiner)
        .await?
        .map_err(task_failed)?;
    for (set, seen) in confirmed.iter_mut().zip(joined_seen) {
        set.extend(seen);
    }
    eprintln!(
        "round {round} ({end:?}, compact every {compact}): {written} notes written, {relayed} relay \
         receipts, {joins} joins before the stop"
    );
    assert!(
        relayed > 0 && joins > 0,
        "round {round}: clients received something before the stop"
    );
    Ok(())
}

/// After the last round: everything any client was ever shown is on disk.
async fn verify(dir: &Path, confirmed: &Seen) -> TestResult {
    let server = ChildServer::start(dir, dir, &[]).await?;
    for (doc, seen) in DOCS.iter().zip(confirmed) {
        let ids = TestClient::connect(&server.ws_url(doc)).await?.note_ids();
        let missing: Vec<&String> = seen.difference(&ids).collect();
        assert!(
            missing.is_empty(),
            "{doc} lost {} notes it had shown, e.g. {:?}",
            missing.len(),
            missing.iter().take(10).collect::<Vec<_>>()
        );
    }
    let log = server.log();
    assert!(
        !log.contains("panicked"),
        "the server never panicked:\n{log}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_any_client_had_received() -> TestResult {
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0201));
    let dir = tempfile::tempdir().map_err(io("creating a data dir"))?;
    let mut confirmed = Seen::default();
    for n in 0..3 {
        round(dir.path(), n, End::Kill, &mut rng, &mut confirmed).await?;
    }
    verify(dir.path(), &confirmed).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_writes_exits_zero_and_keeps_everything_received() -> TestResult {
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0202));
    let dir = tempfile::tempdir().map_err(io("creating a data dir"))?;
    let mut confirmed = Seen::default();
    round(dir.path(), 0, End::Term, &mut rng, &mut confirmed).await?;
    verify(dir.path(), &confirmed).await
}
