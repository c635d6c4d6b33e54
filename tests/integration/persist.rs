//! Durability without crashes: graceful restarts (in-process and SIGTERM of the binary),
//! compaction along the way, and idle eviction followed by a rejoin.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yrs::{Map, Text};

use crate::client::{Snapshot, TestClient};
use crate::harness::{eventually, seed, ChildServer, TestError, TestResult, TestServer, WAIT};

/// Writes notes and text from `client`, then waits until `witness` has received all of it,
/// which proves the server committed it. Returns the agreed snapshot.
async fn write_and_confirm(
    client: &mut TestClient,
    witness: &TestClient,
    rng: &mut StdRng,
    tag: &str,
    n: usize,
) -> TestResult<Snapshot> {
    let doc = client.doc().clone();
    let text = doc.get_or_insert_text("t");
    let map = doc.get_or_insert_map("m");
    for i in 0..n {
        if i % 10 == 9 {
            // Gaps between bursts make several commits (and log entries) rather than one.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        client.add_note(&format!("{tag}-{i}"), "idée");
        let word = format!("{tag}{i} ");
        let key = format!("k{}", rng.random_range(0..10));
        client.edit(|txn| {
            let at = rng.random_range(0..=text.len(txn));
            text.insert(txn, at, &word);
            map.insert(txn, key, i as i64);
        });
    }
    let expected = client.snapshot();
    witness
        .wait_until(&format!("the witness to receive {tag}"), WAIT, |d| {
            Snapshot::of(d) == expected
        })
        .await?;
    Ok(expected)
}

#[tokio::test]
async fn graceful_restart_keeps_everything() -> TestResult {
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0101));
    // A small compaction threshold so the restarts recover a snapshot plus a log tail.
    let mut server = TestServer::start_with(|c| c.compact_updates = 3).await?;
    let doc = "restart.board";
    let mut writer = TestClient::connect(&server.ws_url(doc)).await?;
    let mut witness = TestClient::connect(&server.ws_url(doc)).await?;
    let mut expected = write_and_confirm(&mut writer, &witness, &mut rng, "before", 100).await?;
    let mut compactions = 0.0;
    for round in 0..2 {
        compactions += server.metrics().await?.value("palabre_compactions_total");
        server.restart().await?;
        for client in [&writer, &witness] {
            let closed = client.wait_closed().await?;
            assert_eq!(
                closed.code,
                Some(1001),
                "shutdown closes with 1001 (going away): {closed:?}"
            );
        }
        let fresh = TestClient::connect(&server.ws_url(doc)).await?;
        assert_eq!(
            fresh.snapshot(),
            expected,
            "round {round}: a fresh client gets everything"
        );
        writer.reconnect_to(&server.ws_url(doc)).await?;
        witness.reconnect_to(&server.ws_url(doc)).await?;
        expected = write_and_confirm(
            &mut writer,
            &witness,
            &mut rng,
            &format!("after{round}"),
            60,
        )
        .await?;
    }
    compactions += server.metrics().await?.value("palabre_compactions_total");
    assert!(
        compactions >= 2.0,
        "the log was compacted while serving ({compactions} times)"
    );
    Ok(())
}

#[tokio::test]
async fn eviction_then_rejoin_keeps_everything() -> TestResult {
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0102));
    let server = TestServer::start_with(|c| c.room_idle = Duration::from_millis(200)).await?;
    let url = server.ws_url("evicted");
    let mut expected = None;
    for round in 0..3u32 {
        let mut writer = TestClient::connect(&url).await?;
        let mut witness = TestClient::connect(&url).await?;
        if let Some(expected) = &expected {
            assert_eq!(
                &writer.snapshot(),
                expected,
                "round {round}: the rejoin brings back everything"
            );
        }
        let snap =
            write_and_confirm(&mut writer, &witness, &mut rng, &format!("r{round}"), 40).await?;
        expected = Some(snap);
        writer.close().await;
        witness.close().await;
        let before = server.metrics().await?.value("palabre_evictions_total");
        eventually("the idle room to be evicted", WAIT, || async {
            match server.metrics().await {
                Ok(m) => {
                    m.value("palabre_evictions_total") > before
                        && m.value("palabre_rooms_loaded") == 0.0
                }
                Err(_) => false,
            }
        })
        .await?;
    }
    let last = TestClient::connect(&url).await?;
    assert_eq!(
        Some(last.snapshot()),
        expected,
        "after the last eviction too"
    );
    Ok(())
}

#[tokio::test]
async fn sigterm_exits_zero_and_keeps_everything() -> TestResult {
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0103));
    let dir = tempfile::tempdir().map_err(crate::harness::io("creating a data dir"))?;
    let server = ChildServer::start(dir.path(), dir.path(), &[]).await?;
    let url = server.ws_url("sigterm");
    let mut writer = TestClient::connect(&url).await?;
    let witness = TestClient::connect(&url).await?;
    let expected = write_and_confirm(&mut writer, &witness, &mut rng, "t", 80).await?;
    let log = server.log();
    let status = server.terminate().await?;
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM is a clean exit; log:\n{log}"
    );
    let closed = witness.wait_closed().await?;
    assert_eq!(closed.code, Some(1001), "{closed:?}");
    let server = ChildServer::start(dir.path(), dir.path(), &[]).await?;
    let fresh = TestClient::connect(&server.ws_url("sigterm")).await?;
    assert_eq!(
        fresh.snapshot(),
        expected,
        "everything is back after the restart"
    );
    Ok(())
}

#[tokio::test]
async fn joins_racing_evictions_lose_nothing() -> TestResult {
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0104));
    let server = TestServer::start_with(|c| c.room_idle = Duration::from_millis(50)).await?;
    let url = server.ws_url("churn");
    let mut written = Vec::new();
    for n in 0..40 {
        let mut client = TestClient::connect(&url).await?;
        let id = format!("churn-{n}");
        client.add_note(&id, "arrivée, départ");
        // The only writer: the first relayed update is our note, now durable.
        client
            .wait_state("the note's relay", WAIT, |s| s.updates_received >= 1)
            .await?;
        let missing: Vec<&String> = written
            .iter()
            .filter(|w| !client.note_ids().contains(*w))
            .collect();
        assert!(
            missing.is_empty(),
            "join {n} is missing earlier notes: {missing:?}"
        );
        written.push(id);
        if rng.random_bool(0.5) {
            client.close().await;
        } else {
            client.disconnect_abruptly();
        }
        // Around the idle time, so some joins land just as the room is being evicted.
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..120))).await;
    }
    let evictions = server.metrics().await?.value("palabre_evictions_total");
    eprintln!("40 joins, {evictions} evictions");
    assert!(
        evictions >= 5.0,
        "the room was evicted between joins ({evictions} times)"
    );
    let last = TestClient::connect(&url).await?;
    assert_eq!(last.note_ids().len(), 40);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_updates_survive_eviction_and_restart() -> TestResult {
    use yrs::updates::decoder::Decode;
    use yrs::Transact;

    let mut server = TestServer::start_with(|c| c.room_idle = Duration::from_millis(100)).await?;
    let url = server.ws_url("out-of-order");
    // Three updates from one author: u2 and u3 both depend on u1 (u3 deletes what u1 wrote).
    let author = yrs::Doc::new();
    let notes = author.get_or_insert_map(crate::client::NOTES);
    let text = author.get_or_insert_text("t");
    let step = |f: &dyn Fn(&mut yrs::TransactionMut<'_>)| {
        let mut txn = author.transact_mut();
        f(&mut txn);
        txn.encode_update_v1()
    };
    let u1 = step(&|txn| {
        notes.insert(txn, "first", "à supprimer");
        text.insert(txn, 0, "bonjour ");
    });
    let u2 = step(&|txn| {
        notes.insert(txn, "second", "reste");
        text.insert(txn, 8, "à tous");
    });
    let u3 = step(&|txn| {
        notes.remove(txn, "first");
        text.remove_range(txn, 0, 8);
    });

    // The dependants arrive first and can only wait, pending, on the server.
    let mut early = TestClient::connect_raw(&url).await?;
    early.send_update(&u3);
    early.send_update(&u2);
    // Relays keep their order: once this later note is back, u3 and u2 were committed.
    let barrier = yrs::Doc::new();
    let barrier_notes = barrier.get_or_insert_map(crate::client::NOTES);
    let barrier_update = {
        let mut txn = barrier.transact_mut();
        barrier_notes.insert(&mut txn, "barrier", "après u3 et u2");
        txn.encode_update_v1()
    };
    early.send_update(&barrier_update);
    early
        .wait_until("the barrier's relay", WAIT, |d| {
            crate::client::note_ids(d).contains("barrier")
        })
        .await?;
    early.close().await;
    eventually("the room to be evicted", WAIT, || async {
        server
            .metrics()
            .await
            .is_ok_and(|m| m.value("palabre_evictions_total") >= 1.0)
    })
    .await?;
    server.restart().await?;

    // What everyone must end with: all four updates integrated.
    let reference = yrs::Doc::new();
    for u in [&u3, &u2, &barrier_update, &u1] {
        let update = yrs::Update::decode_v1(u).map_err(|e| TestError::Protocol(e.to_string()))?;
        reference
            .transact_mut()
            .apply_update(update)
            .map_err(|e| TestError::Protocol(e.to_string()))?;
    }
    let expected = Snapshot::of(&reference);
    assert!(expected.text == "à tous" && crate::client::note_ids(&reference).len() == 2);
    let url = server.ws_url("out-of-order");
    let late = TestClient::connect(&url).await?;
    late.send_update(&u1);
    late.wait_until("the pending updates to integrate", WAIT, |d| {
        Snapshot::of(d) == expected
    })
    .await?;
    let fresh = TestClient::connect(&url).await?;
    assert_eq!(
        fresh.snapshot(),
        expected,
        "u1 + the kept-pending u2 and u3"
    );
    // The same holds once everything is folded into a snapshot again.
    drop((late, fresh));
    server.restart().await?;
    let after = TestClient::connect(&server.ws_url("out-of-order")).await?;
    assert_eq!(after.snapshot(), expected);
    Ok(())
}

#[tokio::test]
async fn a_corrupt_stored_update_is_skipped_and_the_rest_loads() -> TestResult {
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0105));
    let dir = tempfile::tempdir().map_err(crate::harness::io("creating a data dir"))?;
    let doc = "corrupt.board";
    let server = ChildServer::start(dir.path(), dir.path(), &[]).await?;
    let mut writer = TestClient::connect(&server.ws_url(doc)).await?;
    let witness = TestClient::connect(&server.ws_url(doc)).await?;
    write_and_confirm(&mut writer, &witness, &mut rng, "kept", 10).await?;
    let status = server.terminate().await?;
    assert_eq!(status.code(), Some(0));

    // Append to the log behind the server's back: garbage, a cut-off update, then a good one.
    let later = yrs::Doc::new();
    let later_notes = later.get_or_insert_map(crate::client::NOTES);
    let good = {
        use yrs::Transact;
        let mut txn = later.transact_mut();
        later_notes.insert(&mut txn, "after-the-damage", "toujours lisible");
        txn.encode_update_v1()
    };
    let cut = good.get(..good.len() / 2).unwrap_or_default().to_vec();
    {
        let db = rusqlite::Connection::open(dir.path().join("palabre.db"))
            .map_err(|e| crate::harness::TestError::Server(format!("opening the database: {e}")))?;
        let next: u64 = db
            .query_row(
                "SELECT max(coalesce((SELECT max(seq) FROM updates WHERE doc = ?1), 0), \
                 coalesce((SELECT snapshot_seq FROM docs WHERE doc = ?1), 0)) + 1",
                [doc],
                |r| r.get(0),
            )
            .map_err(|e| crate::harness::TestError::Server(format!("reading the log: {e}")))?;
        let rows: [(u64, Vec<u8>); 3] = [
            (next, vec![0xde, 0xad, 0xbe, 0xef]),
            (next + 1, cut),
            (next + 2, good),
        ];
        for (seq, data) in rows {
            db.execute(
                "INSERT INTO updates (doc, seq, data) VALUES (?1, ?2, ?3)",
                rusqlite::params![doc, seq, data],
            )
            .map_err(|e| crate::harness::TestError::Server(format!("writing the log: {e}")))?;
        }
    }

    let server = ChildServer::start(dir.path(), dir.path(), &[]).await?;
    let ids = TestClient::connect(&server.ws_url(doc)).await?.note_ids();
    assert!(
        (0..10).all(|i| ids.contains(&format!("kept-{i}"))),
        "the earlier notes load: {ids:?}"
    );
    assert!(
        ids.contains("after-the-damage"),
        "entries after the damaged ones load: {ids:?}"
    );
    let log = server.log();
    assert!(
        log.contains(doc),
        "the damage is reported with the doc id:\n{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
    Ok(())
}
