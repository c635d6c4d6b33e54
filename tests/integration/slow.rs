//! Slow consumers: a client that stops reading is disconnected (1013) once its bounded queue
//! is full, while everyone else keeps receiving every update.

use std::time::Duration;

use crate::client::{note_ids, TestClient};
use crate::harness::{RawWebSocket, TestResult, TestServer, WAIT};

const SEND_QUEUE_BYTES: usize = 4 << 20;
const NOTE_BYTES: usize = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_the_others_get_everything() -> TestResult {
    let server = TestServer::start_with(|c| c.send_queue_bytes = SEND_QUEUE_BYTES).await?;
    let doc = "slow-consumer";
    let url = server.ws_url(doc);

    // The stalled client: a WebSocket with a small receive buffer, read far slower than the
    // writers write (8 KiB every 20 ms), so the server's writes back up and it is dropped — but
    // its socket keeps draining, so the server's close frame can get out, and must.
    let stalled = RawWebSocket::connect(server.addr(), &format!("/ws/{doc}"), Some(4096)).await?;
    let (hurry, hurry_rx) = tokio::sync::oneshot::channel();
    let stalled = tokio::spawn(stalled.read_slowly_until_close(
        8 * 1024,
        Duration::from_millis(20),
        hurry_rx,
    ));

    let readers = [
        TestClient::connect(&url).await?,
        TestClient::connect(&url).await?,
    ];
    let mut writers = [
        TestClient::connect(&url).await?,
        TestClient::connect(&url).await?,
    ];
    let body = "y".repeat(NOTE_BYTES);
    let mut expected = Vec::new();
    let mut kicked = false;
    // Write in rounds until the stalled client is dropped (bounded: ~40 MiB at most).
    for round in 0..20 {
        for (w, writer) in writers.iter_mut().enumerate() {
            for n in 0..64 {
                let id = format!("r{round}-w{w}-{n}");
                writer.add_note(&id, &body);
                expected.push(id);
            }
        }
        // Both writers' notes of the round, not only the last one sent: the server may commit
        // one writer's burst before the other's.
        for reader in &readers {
            reader
                .wait_until("a round to reach the readers", WAIT, |d| {
                    let ids = note_ids(d);
                    expected.iter().all(|id| ids.contains(id))
                })
                .await?;
        }
        if server
            .metrics()
            .await?
            .value("palabre_slow_disconnects_total")
            >= 1.0
        {
            kicked = true;
            eprintln!(
                "stalled client dropped after {} notes of {NOTE_BYTES} bytes",
                expected.len()
            );
            break;
        }
    }
    assert!(kicked, "the stalled client was never disconnected");
    for (i, reader) in readers.iter().enumerate() {
        let ids = note_ids(reader.doc());
        let missing = expected.iter().filter(|id| !ids.contains(*id)).count();
        assert_eq!(missing, 0, "reader {i} missed {missing} notes");
        assert!(reader.is_connected(), "reader {i} is still connected");
    }
    for writer in &writers {
        assert!(writer.is_connected(), "writers are still connected");
    }
    let metrics = server.metrics().await?;
    assert_eq!(
        metrics.value("palabre_slow_disconnects_total"),
        1.0,
        "only the stalled client was dropped"
    );

    // Reading at full speed now, the slow client finds what was queued, then the close frame.
    let _ = hurry.send(());
    let (end, frames) = stalled.await.map_err(|e| {
        crate::harness::TestError::Protocol(format!("the slow reader task failed: {e}"))
    })??;
    eprintln!("the slow client read {frames} frames, then close code {end:?}");
    assert_eq!(
        end,
        Some(1013),
        "a client too slow to keep up is closed with 1013 (try again later)"
    );
    Ok(())
}

#[tokio::test]
async fn silent_connections_are_dropped_and_live_ones_kept() -> TestResult {
    let server = TestServer::start_with(|c| {
        c.ping_interval = Duration::from_millis(100);
        c.idle_timeout = Duration::from_millis(1500);
    })
    .await?;
    let url = server.ws_url("liveness");
    // Never reads after the handshake, so it cannot answer pings.
    let silent = RawWebSocket::connect(server.addr(), "/ws/liveness", None).await?;
    // Reads all the time, so its WebSocket layer answers every ping.
    let live = TestClient::connect(&url).await?;
    crate::harness::eventually("the silent connection to be dropped", WAIT, || async {
        match server.metrics().await {
            Ok(m) => m.value("palabre_rejected_total{reason=\"idle_timeout\"}") >= 1.0,
            Err(_) => false,
        }
    })
    .await?;
    assert!(live.is_connected(), "a client answering pings is kept");
    let (end, _) = silent.read_until_close().await?;
    assert_eq!(end, Some(1001), "dropped with 1001 (going away)");
    let m = server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"idle_timeout\"}"),
        1.0,
        "only the silent one"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_is_not_held_up_by_a_client_that_stopped_reading() -> TestResult {
    let dir = tempfile::tempdir().map_err(crate::harness::io("creating a data dir"))?;
    // The writer sends 1000 updates flat out, which the default rate limit rightly calls a
    // flood, and its bytes exceed one address's write budget; this test is about shutdown, so
    // both are lifted.
    let lifted = [
        "--update-burst",
        "100000",
        "--addr-write-burst-bytes",
        "1000000000",
    ];
    let server = crate::harness::ChildServer::start(dir.path(), dir.path(), &lifted).await?;
    let doc = "stalled-at-shutdown";
    let url = server.ws_url(doc);
    // Never reads: once its buffers are full, the server's writes to it block.
    let _stalled = RawWebSocket::connect(server.addr(), &format!("/ws/{doc}"), Some(4096)).await?;
    let mut writer = TestClient::connect(&url).await?;
    let witness = TestClient::connect(&url).await?;
    let body = "z".repeat(NOTE_BYTES);
    for n in 0..1000 {
        writer.add_note(&format!("n{n}"), &body);
    }
    witness
        .wait_until("every note to be relayed", WAIT, |d| {
            note_ids(d).len() == 1000
        })
        .await?;
    let status = server.terminate().await?;
    assert_eq!(
        status.code(),
        Some(0),
        "a stalled client does not keep the server from stopping"
    );
    let server = crate::harness::ChildServer::start(dir.path(), dir.path(), &[]).await?;
    let ids = TestClient::connect(&server.ws_url(doc)).await?.note_ids();
    assert_eq!(ids.len(), 1000, "everything was kept");
    Ok(())
}
