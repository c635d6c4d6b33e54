//! Durability without crashes: graceful restarts (in-process and SIGTERM of the binary),
//! compaction along the way, and idle eviction followed by a rejoin.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yrs::{Map, Text};

use crate::client::{Snapshot, TestClient};
use crate::harness::{eventually, seed, ChildServer, TestResult, TestServer, WAIT};

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
