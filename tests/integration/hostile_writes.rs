//! Budgets that span an address's connections (issue 13): write bytes per address across
//! reconnects and docs, cold documents opened per address, unauthenticated connections per peer
//! address, upgrades being checked per address; and credentials leaving memory after their TTL.
//! The hostile side connects from 127.0.0.2, the honest side from 127.0.0.1.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use palabre::store::faults;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use yrs::{Map, Transact};

use crate::api::{upgrade, Workshop};
use crate::client::{note_ids, TestClient, NOTES};
use crate::harness::{eventually, http_get, io, within, TestError, TestResult, TestServer, WAIT};

const HOSTILE: [u8; 4] = [127, 0, 0, 2];

pub(crate) async fn tcp_from(from: [u8; 4], to: SocketAddr) -> TestResult<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().map_err(io("making a socket"))?;
    socket
        .bind(SocketAddr::from((from, 0)))
        .map_err(io("binding another loopback address"))?;
    socket.connect(to).await.map_err(io("connecting"))
}

pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A WebSocket to `url` from `from`; `Err` carries the refusal's status.
pub(crate) async fn ws_from(
    from: [u8; 4],
    to: SocketAddr,
    url: &str,
) -> TestResult<Result<Ws, u16>> {
    let tcp = tcp_from(from, to).await?;
    let outcome = within(
        "an upgrade",
        WAIT,
        tokio_tungstenite::client_async(url, MaybeTlsStream::Plain(tcp)),
    )
    .await?;
    match outcome {
        Ok((ws, _)) => Ok(Ok(ws)),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Ok(Err(r.status().as_u16())),
        Err(e) => Err(TestError::Ws {
            context: format!("upgrading {url}"),
            source: Box::new(e),
        }),
    }
}

/// One y-sync update frame adding note `id` with `body`.
pub(crate) fn note_frame(id: &str, body: &str) -> Vec<u8> {
    let doc = yrs::Doc::new();
    let notes = doc.get_or_insert_map(NOTES);
    let update = {
        let mut txn = doc.transact_mut();
        notes.insert(&mut txn, id.to_string(), body);
        txn.encode_update_v1()
    };
    palabre::protocol::encode_update(&update).to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_writing_across_reconnects_and_docs_is_held_to_its_budget() -> TestResult {
    const RATE: u32 = 64 * 1024;
    const BURST: u32 = 256 * 1024;
    let server = TestServer::start_with(|c| {
        c.addr_write_bytes_per_sec = RATE;
        c.addr_write_burst_bytes = BURST;
        c.doc_opens_per_min = 1000;
        c.flood_grace = Duration::from_secs(1);
    })
    .await?;
    let addr = server.addr();
    // An honest workshop elsewhere, from another address.
    let url = server.ws_url("honest-board");
    let mut writer = TestClient::connect(&url).await?;
    let reader = TestClient::connect(&url).await?;

    let body = "s".repeat(16 * 1024);
    let started = Instant::now();
    let mut sent = 0usize;
    let mut flood_closes = 0;
    let mut honest = 0;
    // Each connection writes into a new doc, as a stray-doc attacker does, until closed.
    for d in 0..40 {
        if flood_closes > 0 && d >= 8 {
            break;
        }
        let doc_url = server.ws_url(&format!("stray-{d}"));
        let Ok(mut ws) = ws_from(HOSTILE, addr, &doc_url).await? else {
            continue;
        };
        for n in 0..64 {
            let frame = note_frame(&format!("n{n}"), &body);
            let sending = tokio::time::timeout(
                Duration::from_secs(3),
                ws.send(WsMessage::Binary(frame.into())),
            );
            match sending.await {
                Ok(Ok(())) => sent += 1,
                // Not read any more: the server is throttling this address.
                Ok(Err(_)) | Err(_) => break,
            }
        }
        // Meanwhile the honest writer's notes keep arriving.
        let id = format!("honest-{d}");
        writer.add_note(&id, "hello");
        reader
            .wait_until("an honest note", WAIT, |doc| note_ids(doc).contains(&id))
            .await?;
        honest += 1;
        // Did the server close the hostile connection for flooding?
        let closed = tokio::time::timeout(Duration::from_secs(3), async {
            while let Some(msg) = ws.next().await {
                match msg {
                    Ok(WsMessage::Close(Some(f))) => return Some(u16::from(f.code)),
                    Ok(_) => continue,
                    Err(_) => return None,
                }
            }
            None
        })
        .await;
        if let Ok(Some(1013)) = closed {
            flood_closes += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let m = server.metrics().await?;
    assert!(
        m.value("palabre_rejected_total{reason=\"addr_write_rate\"}") > 0.0,
        "the address was throttled"
    );
    assert!(
        flood_closes > 0,
        "a connection kept waiting is closed (1013)"
    );
    // What the server took from that address: at most its burst plus its rate over the run
    // (an upper bound: a slower machine only widens it), plus one message in flight per doc.
    let received = m.value("palabre_bytes_in") as usize;
    let allowed = BURST as f64 + RATE as f64 * (elapsed + 1.0) + 40.0 * 17.0 * 1024.0;
    assert!(
        (received as f64) < allowed + 1024.0 * 1024.0,
        "received {received} bytes in {elapsed:.1} s, budget {allowed:.0}"
    );
    assert!(sent > 0 && honest > 0);
    writer.close().await;
    Ok(())
}

#[tokio::test]
async fn an_address_opening_ever_new_docs_is_refused_past_its_rate() -> TestResult {
    let server = TestServer::start_with(|c| c.doc_opens_per_min = 5).await?;
    let addr = server.addr();
    let mut open = Vec::new();
    for d in 0..5 {
        let url = server.ws_url(&format!("cold-{d}"));
        match ws_from(HOSTILE, addr, &url).await? {
            Ok(ws) => open.push(ws),
            Err(status) => return Err(TestError::Server(format!("open {d} refused: {status}"))),
        }
    }
    let url = server.ws_url("cold-5");
    assert_eq!(
        ws_from(HOSTILE, addr, &url).await?.err(),
        Some(429),
        "a sixth new doc within the minute"
    );
    // A doc already in memory costs no read: joining it is not counted.
    let url = server.ws_url("cold-0");
    assert!(ws_from(HOSTILE, addr, &url).await?.is_ok());
    // Another address has its own budget.
    let url = server.ws_url("cold-6");
    assert!(ws_from([127, 0, 0, 1], addr, &url).await?.is_ok());
    let m = server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"too_many_doc_opens\"}"),
        1.0
    );
    Ok(())
}

/// Whether the server closed `s` without answering (EOF before any byte).
async fn closed_unanswered(s: &mut TcpStream) -> TestResult<bool> {
    let mut buf = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf)).await {
        Ok(Ok(0)) | Ok(Err(_)) => Ok(true),
        Ok(Ok(_)) => Ok(false),
        // Still open, waiting for the rest of its request.
        Err(_) => Ok(false),
    }
}

#[tokio::test]
async fn unauthenticated_connections_are_capped_per_address_before_any_request() -> TestResult {
    const CAP: usize = 8;
    let server = TestServer::start_with(|c| c.max_unauthenticated_per_addr = CAP).await?;
    let addr = server.addr();
    let mut held = Vec::new();
    for _ in 0..CAP {
        let mut s = tcp_from(HOSTILE, addr).await?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .map_err(io("sending half a request head"))?;
        held.push(s);
    }
    // Once every place is taken, the next connection from that address is closed unread.
    eventually("the address's places to be taken", WAIT, || async {
        match tcp_from(HOSTILE, addr).await {
            Ok(mut s) => closed_unanswered(&mut s).await.unwrap_or(false),
            Err(_) => false,
        }
    })
    .await?;
    // Everyone else is served.
    let (status, _) = http_get(addr, "/healthz").await?;
    assert_eq!(status, 200, "another address during the flood");
    let m = server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"too_many_unauthenticated_addr\"}") >= 1.0);

    // An authorised WebSocket leaves the pool: with one place freed and taken by a WebSocket,
    // the address may still open a plain request.
    drop(held.pop());
    let url = server.ws_url("authorised");
    let ws = eventually_ws(addr, &url).await?;
    let mut s = tcp_from(HOSTILE, addr).await?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .map_err(io("sending a request"))?;
    let mut answer = Vec::new();
    within("the answer", WAIT, s.read_to_end(&mut answer))
        .await?
        .map_err(io("reading the answer"))?;
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.starts_with("HTTP/1.1 200"),
        "with a WebSocket open: {text}"
    );
    drop(ws);
    Ok(())
}

/// Opens a WebSocket from [`HOSTILE`], retrying while the server is still releasing a place.
async fn eventually_ws(addr: SocketAddr, url: &str) -> TestResult<Ws> {
    let deadline = Instant::now() + WAIT;
    loop {
        let attempt = ws_from(HOSTILE, addr, url).await;
        if let Ok(Ok(ws)) = attempt {
            return Ok(ws);
        }
        if Instant::now() > deadline {
            return Err(TestError::Server(format!(
                "no WebSocket to {url}: {attempt:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrades_being_checked_are_capped_per_address() -> TestResult {
    const CAP: usize = 3;
    let server = TestServer::start_with(|c| {
        c.max_upgrades_per_addr = CAP;
        c.open_docs = false;
    })
    .await?;
    let addr = server.addr();
    // A workshop whose credentials the store is slow to give: its upgrades stay being checked.
    let wid = "w-held-upgrades";
    let gate = faults::hold_meta_reads(&format!("workshop-credentials:{wid}"));
    let url = format!("ws://{addr}/ws/{wid}?token=whatever");
    // One more than the cap at once: the first to be answered is the one refused.
    let mut pending = tokio::task::JoinSet::new();
    for _ in 0..=CAP {
        let url = url.clone();
        pending.spawn(async move { ws_from(HOSTILE, addr, &url).await });
    }
    let first = within("the first answer", WAIT, pending.join_next())
        .await?
        .ok_or_else(|| TestError::Server("no upgrade task".into()))?
        .map_err(|e| TestError::Server(format!("upgrade task: {e}")))??;
    assert_eq!(
        first.err(),
        Some(429),
        "past the cap of upgrades being checked"
    );
    // Another address is not concerned.
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    let (status, _) = upgrade(&w.ws_url(&w.id, &w.participant), &[]).await?;
    assert_eq!(status, 101);
    let m = server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"too_many_upgrades_addr\"}") >= 1.0);
    // Released, the checks finish (an unknown workshop: 403) and free their places.
    gate.release();
    while let Some(done) = pending.join_next().await {
        let outcome = done.map_err(|e| TestError::Server(format!("upgrade task: {e}")))??;
        assert_eq!(outcome.err(), Some(403));
    }
    let other = format!("ws://{addr}/ws/w-other?token=whatever");
    assert_eq!(ws_from(HOSTILE, addr, &other).await?.err(), Some(403));
    Ok(())
}

#[tokio::test]
async fn credentials_leave_memory_after_their_ttl_and_links_keep_working() -> TestResult {
    let server = TestServer::start_with(|c| c.credential_ttl = Duration::from_millis(300)).await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    let cached = |m: &crate::harness::Metrics| m.value("palabre_credentials_cached");
    assert!(
        cached(&server.metrics().await?) >= 1.0,
        "cached once created"
    );
    eventually("the cached credentials to be swept", WAIT, || async {
        server
            .metrics()
            .await
            .map(|m| cached(&m) == 0.0)
            .unwrap_or(false)
    })
    .await?;
    // Read again from the store on the next use.
    let (status, _) = upgrade(&w.ws_url(&w.id, &w.participant), &[]).await?;
    assert_eq!(status, 101);
    assert!(cached(&server.metrics().await?) >= 1.0);
    Ok(())
}
