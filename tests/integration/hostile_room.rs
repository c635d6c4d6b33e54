//! Hostile clients at the room level (issue 13): clients that never read, floods of sync step 1
//! on a big board, a room that panics, a full disk (`hostile_room/full_disk.rs`). Honest clients must keep receiving
//! everything (counted, never timed) and the server's memory must stay bounded.

use std::net::SocketAddr;
use std::time::Duration;

use palabre::protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yrs::{Map, StateVector};

use crate::client::{note_ids, TestClient, NOTES};
use crate::harness::{
    eventually, io, within, ChildServer, RawWebSocket, TestError, TestResult, TestServer, WAIT,
};

#[path = "hostile_room/full_disk.rs"]
mod full_disk;

/// A client that opens a WebSocket by hand, writes whatever it is told and never reads: its
/// receive buffer is tiny, so the server's writes to it back up at once.
pub(crate) struct Attacker {
    stream: TcpStream,
}

impl Attacker {
    /// Upgrades `path` on `addr` with a 4 KiB receive buffer.
    pub(crate) async fn connect(addr: SocketAddr, path: &str) -> TestResult<Self> {
        let socket = tokio::net::TcpSocket::new_v4().map_err(io("creating a socket"))?;
        socket
            .set_recv_buffer_size(4096)
            .map_err(io("setting the receive buffer"))?;
        let mut stream = socket.connect(addr).await.map_err(io("connecting"))?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(io("sending the upgrade"))?;
        // Read the response head only (byte by byte, so nothing after it is consumed).
        let mut head = Vec::new();
        within("the upgrade response", WAIT, async {
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") {
                let n = stream
                    .read(&mut byte)
                    .await
                    .map_err(io("reading the upgrade"))?;
                if n == 0 {
                    return Err(TestError::Protocol("closed during the upgrade".into()));
                }
                head.push(byte[0]);
            }
            Ok(())
        })
        .await??;
        if !head.starts_with(b"HTTP/1.1 101") {
            return Err(TestError::Protocol(format!(
                "upgrade refused: {}",
                String::from_utf8_lossy(&head)
            )));
        }
        Ok(Attacker { stream })
    }

    /// Writes one masked binary frame; errors once the server has closed the connection.
    pub(crate) async fn send(&mut self, payload: &[u8]) -> std::io::Result<()> {
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
        let mask = [0x12u8, 0x34, 0x56, 0x78];
        frame.extend_from_slice(&mask);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).await
    }
}

fn open_connections(m: &crate::harness::Metrics) -> f64 {
    m.value("palabre_connections")
}

/// A note text of about 100 bytes, like a real post-it.
fn note_text(i: usize) -> String {
    format!("{i:05} idée de l'atelier : mieux accueillir les nouveaux bénévoles le samedi matin ok")
}

/// Puts `n` notes on `doc` in a few big transactions (so the update rate limit is not in play).
async fn fill_board(url: &str, n: usize) -> TestResult<TestClient> {
    let mut writer = TestClient::connect(url).await?;
    let notes = writer.doc().get_or_insert_map(NOTES);
    for chunk in 0..n.div_ceil(1000) {
        writer.edit(|txn| {
            for i in chunk * 1000..((chunk + 1) * 1000).min(n) {
                notes.insert(txn, format!("n{i}"), note_text(i));
            }
        });
    }
    Ok(writer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step1_floods_from_clients_that_never_read_stay_bounded_and_honest_clients_flow(
) -> TestResult {
    const NOTES_ON_BOARD: usize = 5000;
    const ATTACKERS: usize = 8;
    const HONEST_NOTES: usize = 60;
    let data = tempfile::tempdir().map_err(io("creating a data dir"))?;
    let logs = tempfile::tempdir().map_err(io("creating a log dir"))?;
    let server = ChildServer::start(data.path(), logs.path(), &["--write-stall", "2s"]).await?;
    let doc = "big-board";
    let url = server.ws_url(doc);
    let mut writer = fill_board(&url, NOTES_ON_BOARD).await?;
    let reader = TestClient::connect(&url).await?;
    reader
        .wait_until("the whole board to reach the reader", WAIT, |d| {
            note_ids(d).len() == NOTES_ON_BOARD
        })
        .await?;
    let writer_id = writer.client_id();
    let before = server.peak_rss_kib()?;
    let honest = crate::harness::metrics_of(server.addr()).await?;
    let honest_conns = open_connections(&honest);

    // Each attacker asks for the board again and again, claiming a different part of it each
    // time, and never reads a byte of the replies.
    let mut floods = Vec::new();
    for a in 0..ATTACKERS {
        let mut attacker = Attacker::connect(server.addr(), &format!("/ws/{doc}")).await?;
        floods.push(tokio::spawn(async move {
            let mut sent = 0u32;
            for k in 0..100_000u32 {
                let mut sv = StateVector::default();
                sv.set_max(
                    yrs::ClientID::new(writer_id),
                    (k * 7 + a as u32) % (NOTES_ON_BOARD as u32),
                );
                let frame = protocol::encode_sync_step1(&sv);
                match tokio::time::timeout(Duration::from_secs(1), attacker.send(&frame)).await {
                    Ok(Ok(())) => sent += 1,
                    // Closed by the server, or not read any more (throttled): either way done.
                    Ok(Err(_)) => break,
                    Err(_) => {}
                }
            }
            // Out of requests before the server acted: keep the connection open (and unread)
            // like a real attacker would, until the test ends; dropping it would let the
            // attacker leave on its own and prove nothing.
            let _held = attacker;
            std::future::pending::<u32>().await;
            sent
        }));
    }

    // Meanwhile honest work goes on, one note at a time; the reader must get every one.
    for i in 0..HONEST_NOTES {
        writer.add_note(&format!("honest-{i}"), "pendant l'attaque");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reader
        .wait_until("every honest note to reach the reader", WAIT, |d| {
            let ids = note_ids(d);
            (0..HONEST_NOTES).all(|i| ids.contains(&format!("honest-{i}")))
        })
        .await?;

    // Every attacker is closed by its byte budget or the write stall, well before the idle
    // timeout (40 s) could be the reason.
    eventually("every attacker to be closed", WAIT, || async {
        crate::harness::metrics_of(server.addr())
            .await
            .is_ok_and(|m| open_connections(&m) <= honest_conns)
    })
    .await?;
    let m = crate::harness::metrics_of(server.addr()).await?;
    let budget_or_stall = m.value("palabre_slow_disconnects_total");
    assert!(
        budget_or_stall >= ATTACKERS as f64,
        "attackers closed as too slow: {budget_or_stall} of {ATTACKERS}"
    );
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"idle_timeout\"}"),
        0.0,
        "not by the idle timeout"
    );
    assert!(reader.is_connected() && writer.is_connected());
    let after = server.peak_rss_kib()?;
    let grown_mib = after.saturating_sub(before) / 1024;
    eprintln!(
        "peak RSS {} MiB before the flood, {} MiB after (+{grown_mib} MiB); {budget_or_stall} slow disconnects; {} throttled",
        before / 1024,
        after / 1024,
        m.value("palabre_rejected_total{reason=\"throttled\"}")
    );
    assert!(
        grown_mib < 200,
        "the server's memory grew by {grown_mib} MiB under the flood"
    );
    for f in floods {
        f.abort();
    }
    Ok(())
}

/// Adds big notes until the connection that never reads has its socket full.
async fn fill_a_stalled_socket(writer: &mut TestClient, witness: &TestClient) -> TestResult {
    let body = "w".repeat(64 * 1024);
    for i in 0..64 {
        writer.add_note(&format!("big-{i}"), &body);
    }
    witness
        .wait_until("the big notes to reach the witness", WAIT, |d| {
            note_ids(d).len() >= 64
        })
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_does_not_drain_closes_the_connection_after_the_write_stall() -> TestResult {
    let server = TestServer::start_with(|c| {
        // A budget the stalled client will never reach: only the stall can close it.
        c.send_queue_bytes = 1 << 30;
        c.write_stall = Duration::from_millis(500);
        c.update_burst = 1000.0;
    })
    .await?;
    let doc = "write-stall";
    let stalled = RawWebSocket::connect(server.addr(), &format!("/ws/{doc}"), Some(4096)).await?;
    let mut writer = TestClient::connect(&server.ws_url(doc)).await?;
    let witness = TestClient::connect(&server.ws_url(doc)).await?;
    fill_a_stalled_socket(&mut writer, &witness).await?;
    eventually("the stalled writer to be given up", WAIT, || async {
        server
            .metrics()
            .await
            .is_ok_and(|m| m.value("palabre_rejected_total{reason=\"write_stall\"}") >= 1.0)
    })
    .await?;
    assert!(writer.is_connected() && witness.is_connected());
    let (code, frames) = stalled.read_until_close().await?;
    eprintln!("the stalled client read {frames} frames, then {code:?}");
    if let Some(code) = code {
        assert_eq!(code, 1013);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_timeout_fires_while_the_writer_is_stuck() -> TestResult {
    let server = TestServer::start_with(|c| {
        c.send_queue_bytes = 1 << 30;
        // Longer than the test: if the connection ends, it is the idle check that ended it.
        c.write_stall = Duration::from_secs(600);
        c.ping_interval = Duration::from_millis(100);
        c.idle_timeout = Duration::from_millis(1500);
        c.update_burst = 1000.0;
    })
    .await?;
    let doc = "idle-while-stuck";
    let stalled = RawWebSocket::connect(server.addr(), &format!("/ws/{doc}"), Some(4096)).await?;
    let mut writer = TestClient::connect(&server.ws_url(doc)).await?;
    let witness = TestClient::connect(&server.ws_url(doc)).await?;
    fill_a_stalled_socket(&mut writer, &witness).await?;
    eventually(
        "the silent, stuck connection to be dropped",
        WAIT,
        || async {
            server
                .metrics()
                .await
                .is_ok_and(|m| m.value("palabre_rejected_total{reason=\"idle_timeout\"}") >= 1.0)
        },
    )
    .await?;
    let m = server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"write_stall\"}"),
        0.0
    );
    assert!(writer.is_connected() && witness.is_connected());
    drop(stalled);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_that_panics_is_dropped_and_the_next_join_has_everything_committed() -> TestResult {
    let server = TestServer::start().await?;
    let doc = "heals-after-panic";
    let url = server.ws_url(doc);
    let mut writer = TestClient::connect(&url).await?;
    let witness = TestClient::connect(&url).await?;
    for i in 0..50 {
        writer.add_note(&format!("before-{i}"), "committed");
    }
    // Relayed means durable (strict mode).
    witness
        .wait_until("the notes to be relayed", WAIT, |d| note_ids(d).len() == 50)
        .await?;

    palabre::testing::panic_on_next_update(doc);
    writer.add_note("trigger", "the update the room panics on");
    let closed = witness.wait_closed().await?;
    eprintln!("the witness was closed: {closed:?}");
    eventually("the panic to be counted", WAIT, || async {
        server
            .metrics()
            .await
            .is_ok_and(|m| m.value("palabre_room_panics_total") >= 1.0)
    })
    .await?;

    // The next join loads the doc from the store: everything committed is there.
    let newcomer = TestClient::connect(&url).await?;
    let ids = newcomer.note_ids();
    let missing = (0..50)
        .filter(|i| !ids.contains(&format!("before-{i}")))
        .count();
    assert_eq!(missing, 0, "{missing} committed notes were lost");
    // The writer still has the note the room died on; reconnecting sends it.
    writer.reconnect().await?;
    newcomer
        .wait_until("the trigger note after the writer reconnects", WAIT, |d| {
            note_ids(d).contains("trigger")
        })
        .await?;
    let m = server.metrics().await?;
    assert_eq!(m.value("palabre_room_panics_total"), 1.0);
    // The healed room accepts writes as before.
    writer.add_note("after", "healed");
    newcomer
        .wait_until("a note written after healing", WAIT, |d| {
            note_ids(d).contains("after")
        })
        .await?;
    Ok(())
}
