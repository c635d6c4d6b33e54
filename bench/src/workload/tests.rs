//! Every workload end to end against the bare relay and a small document server.

use super::*;
use crate::client::Mode;

async fn relay_ctx() -> (Ctx, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(crate::relay::run(listener));
    let ctx = Ctx {
        target: Target {
            url_template: format!("ws://{addr}/{{doc}}"),
            mode: Mode::Relay,
            create_url: None,
        },
        server: "relay".into(),
        server_pid: Some(std::process::id()),
        other_pids: Vec::new(),
        run_id: "test".into(),
        full: false,
        client: crate::client::Behaviour::Plain,
        proc: Proc::new(),
    };
    (ctx, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w1_through_the_relay_delivers_every_note_to_every_other_client() {
    let (ctx, server) = relay_ctx().await;
    let sizes = w1::W1Sizes {
        clients: 6,
        writers: 2,
        seconds: 2,
        drain_s: 10,
    };
    let record = w1::run(&ctx, sizes).await.expect("w1 runs");
    let Outcome::W1(r) = record.outcome else {
        panic!("not a W1 outcome");
    };
    assert_eq!(r.connected, 6);
    assert_eq!(r.notes_sent, 4);
    assert_eq!(r.expected, 4 * 5);
    assert_eq!(r.delivered, r.expected);
    assert_eq!(r.latency.count, r.expected);
    assert!(r.server_us_per_delivery.is_some());
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w4_acknowledges_through_co_writers() {
    let (ctx, server) = relay_ctx().await;
    let sizes = w4::W4Sizes {
        docs: 2,
        writers_per_doc: 2,
        window: 2,
        seconds: 1,
    };
    let record = w4::run(&ctx, sizes).await.expect("w4 runs");
    let Outcome::W4(r) = record.outcome else {
        panic!("not a W4 outcome");
    };
    assert!(r.sent > 0);
    assert_eq!(r.acked, r.sent, "every update is seen by the other writer");
    assert_eq!(r.ack_latency.count, r.acked);
    server.abort();
}

/// A minimal y-websocket server for tests: one shared yrs doc per process, step 1 on connect,
/// step 2 for every step 1, and every update applied then broadcast to all (sender included),
/// as @y/websocket-server does.
async fn crdt_server() -> (String, tokio::task::JoinHandle<()>) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message as Ws;
    use yrs::updates::decoder::Decode;
    use yrs::updates::encoder::Encode;
    use yrs::{ReadTxn, Transact};

    use crate::wire::Message;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let doc = Arc::new(std::sync::Mutex::new(yrs::Doc::new()));
    let (fanout, _) = tokio::sync::broadcast::channel::<Vec<u8>>(4096);
    let server = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let doc = doc.clone();
            let fanout = fanout.clone();
            tokio::spawn(async move {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                let (mut tx, mut rx) = ws.split();
                let mut updates = fanout.subscribe();
                let hello = {
                    let d = doc.lock().expect("doc");
                    let sv = d.transact().state_vector().encode_v1();
                    Message::SyncStep1(&sv).encode()
                };
                if tx.send(Ws::Binary(hello.into())).await.is_err() {
                    return;
                }
                loop {
                    tokio::select! {
                        frame = rx.next() => {
                            let Some(Ok(Ws::Binary(bytes))) = frame else { return };
                            let reply = match Message::decode(&bytes) {
                                Ok(Message::SyncStep1(sv)) => {
                                    let sv = yrs::StateVector::decode_v1(sv).expect("sv");
                                    let d = doc.lock().expect("doc");
                                    let diff = d.transact().encode_diff_v1(&sv);
                                    Some(Message::SyncStep2(&diff).encode())
                                }
                                Ok(Message::SyncStep2(u)) | Ok(Message::Update(u)) => {
                                    let update = yrs::Update::decode_v1(u).expect("update");
                                    let d = doc.lock().expect("doc");
                                    d.transact_mut().apply_update(update).expect("apply");
                                    let _ = fanout.send(Message::Update(u).encode());
                                    None
                                }
                                _ => None,
                            };
                            if let Some(r) = reply {
                                if tx.send(Ws::Binary(r.into())).await.is_err() {
                                    return;
                                }
                            }
                        }
                        update = updates.recv() => {
                            let Ok(u) = update else { return };
                            if tx.send(Ws::Binary(u.into())).await.is_err() {
                                return;
                            }
                        }
                    }
                }
            });
        }
    });
    (format!("ws://{addr}/{{doc}}"), server)
}

fn crdt_ctx(url_template: String) -> Ctx {
    Ctx {
        target: Target {
            url_template,
            mode: Mode::Crdt,
            create_url: None,
        },
        server: "test-crdt".into(),
        server_pid: None,
        other_pids: Vec::new(),
        run_id: "test".into(),
        full: false,
        client: crate::client::Behaviour::Plain,
        proc: Proc::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w3_joiners_sync_every_note_from_a_document_server() {
    let (url, server) = crdt_server().await;
    let ctx = crdt_ctx(url);
    let sizes = w3::W3Sizes {
        notes: 300,
        joiners: 5,
    };
    let record = w3::run(&ctx, sizes).await.expect("w3 runs");
    let Outcome::W3(r) = record.outcome else {
        panic!("not a W3 outcome");
    };
    assert_eq!((r.synced, r.failed), (5, 0), "{:?}", r.first_error);
    assert!(r.doc_bytes > 300 * 20, "300 notes take some room");
    assert!(r.time_to_open.p50_ms <= r.time_to_step2.p50_ms);
    assert!(r.time_to_step2.max_ms <= r.time_to_sync.max_ms);
    assert!(r.resources.server_cpu_s.is_none(), "no pid given");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn w1_and_w4_work_against_a_document_server_that_echoes() {
    let (url, server) = crdt_server().await;
    let ctx = crdt_ctx(url);
    let w1 = w1::W1Sizes {
        clients: 4,
        writers: 2,
        seconds: 2,
        drain_s: 10,
    };
    let Outcome::W1(r) = w1::run(&ctx, w1).await.expect("w1").outcome else {
        panic!("not a W1 outcome");
    };
    assert_eq!(r.delivered, r.notes_sent * 3);
    let w4 = w4::W4Sizes {
        docs: 1,
        writers_per_doc: 1,
        window: 3,
        seconds: 1,
    };
    let Outcome::W4(r) = w4::run(&ctx, w4).await.expect("w4").outcome else {
        panic!("not a W4 outcome");
    };
    assert!(r.sent > 0);
    assert_eq!(r.acked, r.sent, "a lone writer is acknowledged by the echo");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_clients_ask_only_about_their_own_notes() {
    use crate::client::Behaviour;
    let (url, server) = crdt_server().await;
    let sizes = w1::W1Sizes {
        clients: 6,
        writers: 2,
        seconds: 2,
        drain_s: 10,
    };
    let mut probes = Vec::new();
    for client in [Behaviour::Plain, Behaviour::Web, Behaviour::WebEager] {
        let ctx = Ctx {
            client,
            ..crdt_ctx(url.clone())
        };
        let Outcome::W1(r) = w1::run(&ctx, sizes).await.expect("w1").outcome else {
            panic!("not a W1 outcome");
        };
        assert_eq!(r.delivered, r.expected, "{client:?}");
        assert_eq!(r.client, client);
        probes.push((r.probes_sent, r.notes_sent));
    }
    let [(plain, _), (web, notes), (eager, _)] = probes[..] else {
        panic!("three runs");
    };
    assert_eq!(plain, 0, "plain y-websocket clients never ask");
    // Only writers ask, at most once per note of their own (notes close together share one).
    assert!(web > 0 && web <= notes, "web {web} for {notes} notes");
    // The old web client also asked about every note it received: six clients, not two.
    assert!(eager > web, "eager {eager} vs web {web}");
    server.abort();
}

#[tokio::test]
async fn w3_is_skipped_for_a_relay() {
    let (ctx, server) = relay_ctx().await;
    let record = w3::run(&ctx, w3::W3Sizes::quick()).await.expect("w3");
    assert!(matches!(record.outcome, Outcome::Skipped { .. }));
    server.abort();
}
