//! Tests of the SQLite store against real files in temporary directories (over 400 lines: one
//! test per durability and failure case, sharing their helpers).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::task::JoinSet;

use super::{writer, SqliteConfig, SqliteStore};
use crate::store::{Seq, Store, StoreError, StoredDoc};

fn db_path(dir: &Path) -> PathBuf {
    dir.join("nested").join("data").join("palabre.db")
}

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(SqliteConfig::new(path)).expect("open store")
}

fn open_error(path: &Path) -> String {
    match SqliteStore::open(SqliteConfig::new(path)) {
        Err(StoreError::Open { reason, .. }) => reason,
        Err(other) => panic!("expected StoreError::Open, got {other:?}"),
        Ok(_) => panic!("expected StoreError::Open, the store opened"),
    }
}

async fn append(store: &SqliteStore, doc: &str, data: &str) -> Seq {
    store
        .append(doc, Bytes::copy_from_slice(data.as_bytes()))
        .await
        .expect("append")
}

fn entries(doc: &StoredDoc) -> Vec<(Seq, String)> {
    doc.updates
        .iter()
        .map(|(seq, data)| (*seq, String::from_utf8_lossy(data).into_owned()))
        .collect()
}

/// Runs raw SQL on the writer connection, inside a group commit.
async fn exec(store: &SqliteStore, sql: &str) -> Result<(), StoreError> {
    let sql = sql.to_owned();
    store.inner.writes.write(writer::Op::Exec { sql }).await
}

#[tokio::test]
async fn appends_load_back_in_order_per_doc() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&db_path(dir.path()));
    assert_eq!(append(&store, "w1", "a").await, 1);
    assert_eq!(append(&store, "w1.b1", "x").await, 1);
    assert_eq!(append(&store, "w1", "b").await, 2);
    assert_eq!(append(&store, "w1", "c").await, 3);

    let doc = store.load("w1").await.expect("load");
    assert_eq!(doc.snapshot, None);
    assert_eq!(doc.snapshot_seq, 0);
    assert_eq!(
        entries(&doc),
        [(1, "a".into()), (2, "b".into()), (3, "c".into())]
    );
    let board = store.load("w1.b1").await.expect("load");
    assert_eq!(entries(&board), [(1, "x".into())]);
    assert_eq!(
        store.load("never-written").await.expect("load"),
        StoredDoc::default()
    );
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn sequence_numbers_continue_after_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    let store = open(&path);
    for data in ["a", "b", "c"] {
        append(&store, "doc", data).await;
    }
    append(&store, "emptied", "x").await;
    append(&store, "emptied", "y").await;
    // Compacting everything leaves no log entry: the next seq must come from snapshot_seq.
    store
        .compact("emptied", b"snap".to_vec(), 2)
        .await
        .expect("compact");
    store.shutdown().await.expect("shutdown");

    let store = open(&path);
    assert_eq!(append(&store, "doc", "d").await, 4);
    assert_eq!(append(&store, "emptied", "z").await, 3);
    let doc = store.load("doc").await.expect("load");
    assert_eq!(
        doc.updates.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn compaction_replaces_covered_entries_and_keeps_later_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    let store = open(&path);
    for data in ["1", "2", "3", "4", "5"] {
        append(&store, "doc", data).await;
    }
    // Queued together with appends that land after `upto`, as a live room would do.
    let compaction = store.compact("doc", b"state@3".to_vec(), 3);
    let later = store.append("doc", Bytes::from_static(b"6"));
    compaction.await.expect("compact");
    assert_eq!(later.await.expect("append"), 6);

    let doc = store.load("doc").await.expect("load");
    assert_eq!(doc.snapshot.as_deref(), Some(&b"state@3"[..]));
    assert_eq!(doc.snapshot_seq, 3);
    assert_eq!(
        entries(&doc),
        [(4, "4".into()), (5, "5".into()), (6, "6".into())]
    );

    // An older snapshot arriving late must not replace the newer one.
    store
        .compact("doc", b"state@2".to_vec(), 2)
        .await
        .expect("stale compact");
    store.shutdown().await.expect("shutdown");

    let store = open(&path);
    let reopened = store.load("doc").await.expect("load");
    assert_eq!(reopened, doc);
    assert_eq!(store.stats().compactions, 0, "counters start at open");
    store.shutdown().await.expect("shutdown");
}

/// Checks that a loaded doc is one the writer really had at some instant: its snapshot says
/// which seq it covers, and the log resumes right after it without a gap.
fn assert_consistent(doc: &StoredDoc) {
    match &doc.snapshot {
        Some(snapshot) => assert_eq!(
            String::from_utf8_lossy(snapshot),
            format!("upto {}", doc.snapshot_seq)
        ),
        None => assert_eq!(doc.snapshot_seq, 0),
    }
    for (expected, (seq, data)) in (doc.snapshot_seq + 1..).zip(&doc.updates) {
        assert_eq!(*seq, expected, "gap in the log after a compaction");
        assert_eq!(String::from_utf8_lossy(data), expected.to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loads_never_see_a_half_applied_compaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&db_path(dir.path()));
    let writer_store = store.clone();
    let writer = tokio::spawn(async move {
        // Each compaction keeps the last three entries, so a load that read the snapshot
        // before a compaction and the log after it would see a gap.
        for i in 1..=600u64 {
            let seq = append(&writer_store, "doc", &i.to_string()).await;
            assert_eq!(seq, i);
            if i % 2 == 0 && i > 3 {
                let upto = i - 3;
                writer_store
                    .compact("doc", format!("upto {upto}").into_bytes(), upto)
                    .await
                    .expect("compact");
            }
        }
    });
    let mut loads = 0;
    while !writer.is_finished() {
        assert_consistent(&store.load("doc").await.expect("load"));
        loads += 1;
    }
    writer.await.expect("writer task");
    let last = store.load("doc").await.expect("load");
    assert_consistent(&last);
    assert_eq!(last.snapshot_seq, 597);
    assert_eq!(last.updates.len(), 3);
    assert!(loads > 0);
    store.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_are_durable_and_group_committed() {
    const APPENDS: usize = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    let store = open(&path);

    // Another connection holds the write lock until every task has queued its append, so the
    // writer thread is stuck on its first batch while the rest pile up behind it. Without
    // this, grouping would depend on how fast this machine's disk and scheduler are.
    let blocker = rusqlite::Connection::open(&path).expect("open blocker");
    blocker
        .execute_batch("BEGIN IMMEDIATE")
        .expect("take write lock");

    let queued = Arc::new(AtomicUsize::new(0));
    let mut tasks = JoinSet::new();
    for task in 0..APPENDS {
        let store = store.clone();
        let queued = Arc::clone(&queued);
        tasks.spawn(async move {
            let doc = format!("doc{}", task % 4);
            let data = format!("task {task}");
            let pending = store.append(&doc, Bytes::from(data.clone()));
            queued.fetch_add(1, Ordering::SeqCst);
            let seq = pending.await.expect("append");
            (doc, seq, data)
        });
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while queued.load(Ordering::SeqCst) < APPENDS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    blocker.execute_batch("COMMIT").expect("release write lock");
    drop(blocker);

    let mut acked = Vec::new();
    while let Some(result) = tasks.join_next().await {
        acked.push(result.expect("task"));
    }
    let stats = store.stats();
    assert_eq!(stats.rows_appended, APPENDS as u64);
    assert!(
        stats.commits < APPENDS as u64,
        "{} commits for {APPENDS} appends: nothing was grouped",
        stats.commits
    );
    assert!(stats.commits <= 2, "{} commits", stats.commits);
    assert_eq!(stats.commit_latency.count, stats.commits);
    store.shutdown().await.expect("shutdown");

    let store = open(&path);
    for doc in ["doc0", "doc1", "doc2", "doc3"] {
        let stored = store.load(doc).await.expect("load");
        let mut expected: Vec<(Seq, String)> = acked
            .iter()
            .filter(|(d, _, _)| d == doc)
            .map(|(_, seq, data)| (*seq, data.clone()))
            .collect();
        expected.sort();
        assert_eq!(expected.len(), APPENDS / 4);
        assert_eq!(entries(&stored), expected);
        let seqs: Vec<Seq> = expected.iter().map(|(seq, _)| *seq).collect();
        assert_eq!(seqs, (1..=(APPENDS / 4) as Seq).collect::<Vec<_>>());
    }
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn dropping_the_last_handle_still_commits_queued_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    let store = open(&path);
    let pending: Vec<_> = (0..50)
        .map(|i| store.append("doc", Bytes::from(format!("u{i}"))))
        .collect();
    let meta = store.put_meta("registry", b"v1".to_vec());
    drop(store);
    for (i, append) in pending.into_iter().enumerate() {
        assert_eq!(append.await.expect("queued append"), i as Seq + 1);
    }
    meta.await.expect("queued put_meta");

    let store = open(&path);
    let doc = store.load("doc").await.expect("load");
    assert_eq!(doc.updates.len(), 50);
    assert_eq!(
        store.get_meta("registry").await.expect("get_meta"),
        Some(b"v1".to_vec())
    );
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn calls_after_shutdown_fail_with_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&db_path(dir.path()));
    let clone = store.clone();
    append(&store, "doc", "a").await;
    store.shutdown().await.expect("shutdown");

    assert!(matches!(
        clone.append("doc", Bytes::from_static(b"b")).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(clone.load("doc").await, Err(StoreError::Closed)));
    assert!(matches!(clone.get_meta("k").await, Err(StoreError::Closed)));
    assert!(matches!(
        clone.put_meta("k", Vec::new()).await,
        Err(StoreError::Closed)
    ));
    assert!(matches!(clone.flush().await, Err(StoreError::Closed)));
    assert!(matches!(store.shutdown().await, Err(StoreError::Closed)));
}

#[tokio::test]
async fn a_second_store_reads_the_file_after_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    let mut config = SqliteConfig::new(&path);
    config.max_batch = 8;
    let first = SqliteStore::open(config).expect("open");
    for i in 0..40 {
        append(&first, &format!("w{}", i % 3), &format!("u{i}")).await;
    }
    first
        .compact("w0", b"snap".to_vec(), 5)
        .await
        .expect("compact");
    first.put_meta("k", b"v".to_vec()).await.expect("put_meta");
    first.flush().await.expect("flush");
    first.shutdown().await.expect("shutdown");

    assert!(path.is_file(), "the database lives at the configured path");
    let wal = path.with_file_name("palabre.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "shutdown checkpoints and truncates the WAL");

    let second = open(&path);
    let w0 = second.load("w0").await.expect("load");
    assert_eq!(w0.snapshot.as_deref(), Some(&b"snap"[..]));
    assert_eq!(w0.snapshot_seq, 5);
    assert_eq!(
        w0.updates.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (6..=14).collect::<Vec<_>>()
    );
    assert_eq!(second.load("w1").await.expect("load").updates.len(), 13);
    assert_eq!(second.load("w2").await.expect("load").updates.len(), 13);
    assert_eq!(
        second.get_meta("k").await.expect("get_meta"),
        Some(b"v".to_vec())
    );
    assert!(matches!(first.load("w0").await, Err(StoreError::Closed)));
    second.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn meta_records_round_trip_and_replace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    let store = open(&path);
    assert_eq!(store.get_meta("workshops").await.expect("get"), None);
    store
        .put_meta("workshops", b"[1]".to_vec())
        .await
        .expect("put");
    store
        .put_meta("workshops", b"[1,2]".to_vec())
        .await
        .expect("put");
    store.put_meta("empty", Vec::new()).await.expect("put");
    assert_eq!(
        store.get_meta("workshops").await.expect("get"),
        Some(b"[1,2]".to_vec())
    );
    store.shutdown().await.expect("shutdown");

    let store = open(&path);
    assert_eq!(
        store.get_meta("workshops").await.expect("get"),
        Some(b"[1,2]".to_vec())
    );
    assert_eq!(
        store.get_meta("empty").await.expect("get"),
        Some(Vec::new())
    );
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn delete_removes_one_doc_entirely() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = db_path(dir.path());
    let store = open(&path);
    for data in ["a", "b", "c"] {
        append(&store, "gone", data).await;
    }
    store
        .compact("gone", b"snap".to_vec(), 2)
        .await
        .expect("compact");
    append(&store, "kept", "k").await;
    store.delete("gone").await.expect("delete");
    assert_eq!(
        store.load("gone").await.expect("load"),
        StoredDoc::default()
    );
    assert_eq!(
        entries(&store.load("kept").await.expect("load")),
        [(1, "k".into())]
    );
    // A doc re-created after deletion starts a fresh log.
    assert_eq!(append(&store, "gone", "new").await, 1);
    store.shutdown().await.expect("shutdown");

    let store = open(&path);
    assert_eq!(
        entries(&store.load("gone").await.expect("load")),
        [(1, "new".into())]
    );
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_failed_batch_fails_its_waiters_and_the_store_keeps_serving() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&db_path(dir.path()));
    assert_eq!(append(&store, "doc", "small").await, 1);
    // Cap the file at its current size: the next append that needs a new page gets
    // SQLITE_FULL, exactly as on a full disk.
    exec(&store, "PRAGMA max_page_count = 1")
        .await
        .expect("cap");
    let big = Bytes::from(vec![7u8; 64 * 1024]);
    match store.append("doc", big.clone()).await {
        Err(StoreError::Database(reason)) => assert!(reason.contains("full"), "{reason}"),
        other => panic!("expected a database error, got {other:?}"),
    }
    assert_eq!(store.stats().failed_batches, 1);

    exec(&store, "PRAGMA max_page_count = 1000000")
        .await
        .expect("uncap");
    // The rolled-back append left no hole in the sequence.
    assert_eq!(store.append("doc", big).await.expect("append"), 2);
    let doc = store.load("doc").await.expect("load");
    assert_eq!(
        doc.updates.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        [1, 2]
    );
    store.flush().await.expect("flush");
    store.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn stats_count_commits_rows_bytes_and_latency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&db_path(dir.path()));
    for _ in 0..5 {
        append(&store, "doc", "12345").await;
    }
    store
        .compact("doc", b"s".to_vec(), 5)
        .await
        .expect("compact");
    store.flush().await.expect("flush");
    let stats = store.stats();
    assert_eq!(stats.commits, 6, "a flush alone commits nothing");
    assert_eq!(stats.rows_appended, 5);
    assert_eq!(stats.bytes_appended, 25);
    assert_eq!(stats.compactions, 1);
    let histogram = &stats.commit_latency;
    assert_eq!(histogram.count, 6);
    assert_eq!(
        histogram.buckets.len(),
        super::COMMIT_LATENCY_BOUNDS.len() + 1
    );
    assert!(histogram.buckets.windows(2).all(|w| match w {
        [a, b] => a.0 < b.0 && a.1 <= b.1,
        _ => true,
    }));
    assert_eq!(histogram.buckets.last(), Some(&(f64::INFINITY, 6)));
    assert!(histogram.sum_seconds > 0.0);
    store.shutdown().await.expect("shutdown");
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("palabre.db");
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).expect("write garbage");
    let reason = open_error(&path);
    assert!(reason.contains("not a SQLite database"), "{reason}");
    assert_eq!(
        std::fs::read(&path).expect("read back"),
        garbage,
        "the file is left untouched"
    );

    std::fs::write(&path, "a short text file\n").expect("write text");
    let reason = open_error(&path);
    assert!(reason.contains("not a SQLite database"), "{reason}");

    let reason = open_error(dir.path());
    assert!(!reason.is_empty());
}

#[tokio::test]
async fn a_database_with_damaged_pages_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("palabre.db");
    let store = open(&path);
    for i in 0..200 {
        append(&store, &format!("doc{}", i % 5), &"x".repeat(500)).await;
    }
    store.shutdown().await.expect("shutdown");

    let mut bytes = std::fs::read(&path).expect("read db");
    let page = 4096;
    assert!(bytes.len() > 8 * page, "database too small to damage");
    for (i, byte) in bytes.iter_mut().enumerate().skip(page).take(6 * page) {
        *byte = (i % 251) as u8;
    }
    std::fs::write(&path, &bytes).expect("damage db");
    let reason = open_error(&path);
    assert!(
        reason.contains("corrupt") || reason.contains("malformed"),
        "{reason}"
    );
}

#[test]
fn another_applications_database_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("other.db");
    let conn = rusqlite::Connection::open(&path).expect("create");
    conn.execute_batch("CREATE TABLE notes (body TEXT)")
        .expect("create table");
    drop(conn);
    let reason = open_error(&path);
    assert!(reason.contains("not Palabre's"), "{reason}");
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("palabre.db");
    open(&path).shutdown().await.expect("shutdown");
    let conn = rusqlite::Connection::open(&path).expect("open");
    conn.pragma_update(None, "user_version", 99)
        .expect("bump version");
    drop(conn);
    let reason = open_error(&path);
    assert!(reason.contains("newer"), "{reason}");
}

const CRASH_CHILD_ENV: &str = "PALABRE_STORE_CRASH_CHILD";
const CRASH_CHILD_TEST: &str = "store::sqlite::tests::crash_child";

/// Body of the child process killed by `a_crash_loses_nothing_that_was_acknowledged`: writes
/// until killed, printing each acknowledged append as `ack <doc> <seq> <data>`.
#[test]
#[ignore = "runs only as the child process of a_crash_loses_nothing_that_was_acknowledged"]
fn crash_child() {
    let Some(path) = std::env::var_os(CRASH_CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let store = SqliteStore::open(SqliteConfig::new(PathBuf::from(path))).expect("open");
        let mut writers = JoinSet::new();
        for writer in 0..8u64 {
            let store = store.clone();
            writers.spawn(async move {
                let doc = format!("doc{}", writer % 2);
                for i in 0u64.. {
                    let data = format!("w{writer}-{i}-{}", std::process::id());
                    let seq = store
                        .append(&doc, Bytes::from(data.clone()))
                        .await
                        .expect("append");
                    println!("ack {doc} {seq} {data}");
                    if i % 20 == 19 {
                        store
                            .compact(&doc, format!("upto {seq}").into_bytes(), seq)
                            .await
                            .expect("compact");
                    }
                }
            });
        }
        writers.join_next().await;
    });
}

#[test]
fn a_crash_loses_nothing_that_was_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("palabre.db");
    let exe = std::env::current_exe().expect("test binary path");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut acked: Vec<(String, Seq, String)> = Vec::new();
    for round in 0..3 {
        let mut child = std::process::Command::new(&exe)
            .args([CRASH_CHILD_TEST, "--exact", "--ignored", "--nocapture"])
            .env(CRASH_CHILD_ENV, &path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("child stdout");
        let (lines, received) = std::sync::mpsc::channel();
        let forwarder = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let parse = |line: &str| -> Option<(String, Seq, String)> {
            let mut fields = line.strip_prefix("ack ")?.split(' ');
            Some((
                fields.next()?.to_owned(),
                fields.next()?.parse().ok()?,
                fields.next()?.to_owned(),
            ))
        };
        let before = acked.len();
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.len() - before < 300 && Instant::now() < deadline {
            match received.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => acked.extend(parse(&line)),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        child.kill().expect("SIGKILL the child");
        child.wait().expect("reap the child");
        forwarder.join().expect("forwarder thread");
        // Lines printed before the kill were acknowledged too.
        acked.extend(received.try_iter().filter_map(|line| parse(&line)));
        assert!(
            acked.len() - before >= 300,
            "round {round}: the child acknowledged only {} appends",
            acked.len() - before
        );

        runtime.block_on(async {
            let store = open(&path);
            for doc in ["doc0", "doc1"] {
                let stored = store.load(doc).await.expect("load");
                assert_consistent_crash(&stored);
                for (_, seq, data) in acked.iter().filter(|(d, _, _)| d == doc) {
                    if *seq > stored.snapshot_seq {
                        assert!(
                            stored
                                .updates
                                .iter()
                                .any(|(s, d)| s == seq && d.as_slice() == data.as_bytes()),
                            "round {round}: acknowledged {doc} #{seq} ({data}) was lost"
                        );
                    }
                }
            }
            store.shutdown().await.expect("shutdown");
        });
    }
}

/// After a crash the log still resumes right after the snapshot, with no gap.
fn assert_consistent_crash(doc: &StoredDoc) {
    if let Some(snapshot) = &doc.snapshot {
        assert_eq!(
            String::from_utf8_lossy(snapshot),
            format!("upto {}", doc.snapshot_seq)
        );
    }
    for (expected, (seq, _)) in (doc.snapshot_seq + 1..).zip(&doc.updates) {
        assert_eq!(*seq, expected, "gap in the log after a crash");
    }
}

/// `cargo test -p palabre --release --lib bench_strict -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark; run in release mode with --ignored --nocapture"]
async fn bench_strict_appends_with_50_writers() {
    const WRITERS: usize = 50;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("palabre.db"));
    let started = Instant::now();
    let until = started + Duration::from_secs(3);
    let mut writers = JoinSet::new();
    for writer in 0..WRITERS {
        let store = store.clone();
        writers.spawn(async move {
            let doc = format!("bench{}", writer % 10);
            let update = Bytes::from(vec![b'u'; 100]);
            let mut done = 0u64;
            while Instant::now() < until {
                store.append(&doc, update.clone()).await.expect("append");
                done += 1;
            }
            done
        });
    }
    let mut total = 0;
    while let Some(done) = writers.join_next().await {
        total += done.expect("writer");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stats = store.stats();
    let latency = &stats.commit_latency;
    println!(
        "strict, {WRITERS} writers, 100-byte updates: {total} appends in {elapsed:.2} s = {:.0} appends/s; \
         {} commits ({:.1} appends/commit), mean commit {:.2} ms",
        total as f64 / elapsed,
        stats.commits,
        total as f64 / stats.commits.max(1) as f64,
        latency.sum_seconds * 1000.0 / latency.count.max(1) as f64,
    );
    println!(
        "commit latency buckets (s, cumulative): {:?}",
        latency.buckets
    );
    store.shutdown().await.expect("shutdown");
}

/// The backend-independent suite (`store/conformance.rs`), on a fresh file each.
mod conformance {
    use super::{db_path, open};
    use crate::store::conformance as suite;

    async fn run<F, Fut>(test: F)
    where
        F: FnOnce(super::SqliteStore) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open(&db_path(dir.path()));
        test(store.clone()).await;
        store.shutdown().await.expect("shutdown");
    }

    #[tokio::test]
    async fn appends_load_back_in_order() {
        run(|s| async move { suite::appends_load_back_in_order(&s).await }).await;
    }

    #[tokio::test]
    async fn compaction_keeps_later_entries() {
        run(|s| async move { suite::compaction_keeps_later_entries(&s).await }).await;
    }

    #[tokio::test]
    async fn list_docs_by_prefix() {
        run(|s| async move { suite::list_docs_by_prefix(&s).await }).await;
    }

    #[tokio::test]
    async fn meta_records_round_trip() {
        run(|s| async move { suite::meta_records_round_trip(&s).await }).await;
    }

    #[tokio::test]
    async fn delete_removes_one_doc() {
        run(|s| async move { suite::delete_removes_one_doc(&s).await }).await;
    }

    #[tokio::test]
    async fn concurrent_appends_are_all_acknowledged() {
        run(|s| async move { suite::concurrent_appends_are_all_acknowledged(&s).await }).await;
    }
}
