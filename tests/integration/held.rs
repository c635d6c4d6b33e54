//! Contributions held by the server (board-schema §6), as participants and the facilitator use
//! them through the real server: a participant's hidden notes live in its own held doc, which no
//! other participant nor the projector can open; a raw client connected to everything a
//! participant may open receives no byte of anyone else's unrevealed text (every frame is
//! scanned for a marker); a reveal writes a new item as the server (its client id, its time, a
//! fresh id, no author); discards never reach anyone; a restart in between loses nothing.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use palabre::board::held::{self, HeldNote, Holding};
use palabre::board::schema::{board_root, field};
use palabre::protocol;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Map, Out, ReadTxn, StateVector, Transact, Update};

use crate::api::{
    edit_doc, get, model, send_json, server_state, upgrade, wait_denied, wait_server_has, Workshop,
};
use crate::client::TestClient;
use crate::harness::{eventually, within, TestError, TestResult, TestServer, WAIT};

const ALICE: &str = "alice-secret-0000000000";
const BOB: &str = "bob-secret-000000000000";
const CAROL: &str = "carol-secret-0000000000";

fn device(w: &Workshop, secret: &str) -> TestResult<String> {
    palabre::device::derive(&w.id, secret)
        .map(|d| d.as_str().to_string())
        .map_err(|e| TestError::Protocol(format!("device: {e}")))
}

/// The held doc id of `secret`'s device on board `bid`.
fn held_id(w: &Workshop, bid: &str, secret: &str) -> TestResult<String> {
    Ok(format!("{}.{bid}~{}", w.id, device(w, secret)?))
}

/// The URL a participant's phone opens for `doc`: its link's token and its device's secret.
fn phone_url(w: &Workshop, doc: &str, secret: &str) -> String {
    format!("{}&device={secret}", w.ws_url(doc, &w.participant))
}

fn paper(id: &str, text: &str) -> HeldNote {
    HeldNote {
        id: id.into(),
        text: text.into(),
        ..HeldNote::default()
    }
}

/// Every byte the server sends on one connection, kept for scanning. The spy asks for the
/// whole doc (sync step 1 with an empty state vector) and then only listens.
struct Spy {
    seen: Arc<Mutex<Vec<u8>>>,
    task: JoinHandle<()>,
}

impl Spy {
    async fn open(url: &str) -> TestResult<Spy> {
        let (mut ws, _) = within(
            &format!("a WebSocket to {url}"),
            WAIT,
            tokio_tungstenite::connect_async(url),
        )
        .await?
        .map_err(|e| TestError::Ws {
            context: format!("connecting to {url}"),
            source: Box::new(e),
        })?;
        let step1 = protocol::encode_sync_step1(&StateVector::default());
        ws.send(WsMessage::Binary(step1))
            .await
            .map_err(|e| TestError::Ws {
                context: "sending sync step 1".into(),
                source: Box::new(e),
            })?;
        let seen: Arc<Mutex<Vec<u8>>> = Arc::default();
        let sink = seen.clone();
        let task = tokio::spawn(async move {
            while let Some(Ok(msg)) = ws.next().await {
                let bytes = match msg {
                    WsMessage::Binary(b) => b.to_vec(),
                    WsMessage::Text(t) => t.as_bytes().to_vec(),
                    _ => continue,
                };
                if let Ok(mut s) = sink.lock() {
                    s.extend_from_slice(&bytes);
                    // A separator, so that two frames cannot make a marker by being adjacent.
                    s.push(0);
                }
            }
        });
        Ok(Spy { seen, task })
    }

    fn saw(&self, marker: &str) -> bool {
        let seen = self.seen.lock().map(|s| s.clone()).unwrap_or_default();
        seen.windows(marker.len()).any(|w| w == marker.as_bytes())
    }
}

impl Drop for Spy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A one-board workshop of `template`, its board id.
async fn workshop(server: &TestServer, template: &str) -> TestResult<(Workshop, String)> {
    let w = Workshop::create(server.addr(), template, "Atelier", "2026-12-02").await?;
    let bid = w
        .boards
        .first()
        .map(|b| b.id.clone())
        .ok_or_else(|| TestError::Protocol("no board".into()))?;
    Ok((w, bid))
}

fn held_path(w: &Workshop, bid: &str, tail: &str) -> String {
    format!("/api/workshops/{}/boards/{bid}/held{tail}", w.id)
}

async fn list(w: &Workshop, bid: &str) -> TestResult<Vec<Value>> {
    let r = get(w.addr, &held_path(w, bid, ""), Some(&w.facilitator)).await?;
    if r.status != 200 {
        return Err(TestError::Server(format!("list: {} {}", r.status, r.body)));
    }
    Ok(r.json()?["notes"].as_array().cloned().unwrap_or_default())
}

async fn count(w: &Workshop, bid: &str, token: &str) -> TestResult<u64> {
    let r = get(w.addr, &held_path(w, bid, "/count"), Some(token)).await?;
    if r.status != 200 {
        return Err(TestError::Server(format!("count: {} {}", r.status, r.body)));
    }
    Ok(r.json()?["held"].as_u64().unwrap_or(u64::MAX))
}

/// The facilitator reveals (or discards) the held notes whose text contains one of `texts`,
/// or all of them.
async fn act(w: &Workshop, bid: &str, action: &str, texts: Option<&[&str]>) -> TestResult<u64> {
    let body = match texts {
        None => json!({ "all": true }),
        Some(texts) => {
            let notes: Vec<Value> = list(w, bid)
                .await?
                .into_iter()
                .filter(|n| {
                    let t = n["text"].as_str().unwrap_or_default();
                    texts.iter().any(|m| t.contains(m))
                })
                .map(|n| json!({ "device": n["device"], "id": n["id"] }))
                .collect();
            json!({ "notes": notes })
        }
    };
    let path = held_path(w, bid, &format!("/{action}"));
    let r = send_json(w.addr, "POST", &path, Some(&w.facilitator), Some(&body)).await?;
    if r.status != 200 {
        return Err(TestError::Server(format!(
            "{action}: {} {}",
            r.status, r.body
        )));
    }
    Ok(r.json()?["done"].as_u64().unwrap_or(0))
}

/// The server's copy of `doc`, decoded.
async fn server_doc(w: &Workshop, doc: &str) -> TestResult<Doc> {
    let bytes = server_state(&w.ws_url(doc, &w.facilitator)).await?;
    let d = Doc::new();
    let update = Update::decode_v1(&bytes).map_err(|e| TestError::Protocol(e.to_string()))?;
    d.transact_mut()
        .apply_update(update)
        .map_err(|e| TestError::Protocol(e.to_string()))?;
    Ok(d)
}

/// (id, sorted field names, text, createdAt) of every note of a board doc.
fn board_notes(doc: &Doc) -> Vec<(String, Vec<String>, String, i64)> {
    let txn = doc.transact();
    let Some(notes) = txn.get_map(board_root::NOTES) else {
        return Vec::new();
    };
    notes
        .iter(&txn)
        .filter_map(|(id, v)| {
            let Out::YMap(m) = v else { return None };
            let mut keys: Vec<String> = m.keys(&txn).map(str::to_string).collect();
            keys.sort();
            let text = m
                .get(&txn, field::TEXT)
                .map(|t| t.to_string(&txn))
                .unwrap_or_default();
            let at = match m.get(&txn, field::CREATED_AT) {
                Some(Out::Any(yrs::Any::Number(yrs::Number::Int(n)))) => n,
                Some(Out::Any(yrs::Any::Number(yrs::Number::Float(f)))) => f as i64,
                _ => 0,
            };
            Some((id.to_string(), keys, text, at))
        })
        .collect()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[tokio::test]
async fn a_participant_receives_no_byte_of_an_unrevealed_paper_until_its_own_reveal() -> TestResult
{
    let server = TestServer::start().await?;
    let (w, bid) = workshop(&server, "icebreaker").await?;
    let board = format!("{}.{bid}", w.id);

    // Alice writes a paper only she and the facilitator may read.
    let alice = TestClient::connect(&phone_url(&w, &held_id(&w, &bid, ALICE)?, ALICE)).await?;
    edit_doc(&alice, |d| {
        held::add_held(d, &paper("a1", "MARK-ALICE-SECRET"), 1)
    })?
    .map_err(model)?;
    wait_server_has(
        &w.ws_url(&held_id(&w, &bid, ALICE)?, &w.facilitator),
        &alice,
    )
    .await?;

    // Bob: a raw client on every doc his link and device may open, his own papers too.
    let bob_board = Spy::open(&phone_url(&w, &board, BOB)).await?;
    let bob_workshop = Spy::open(&phone_url(&w, &w.id, BOB)).await?;
    let bob_held = Spy::open(&phone_url(&w, &held_id(&w, &bid, BOB)?, BOB)).await?;
    let projector = Spy::open(&w.ws_url(&board, &w.viewer)).await?;
    let bob = TestClient::connect(&phone_url(&w, &held_id(&w, &bid, BOB)?, BOB)).await?;
    edit_doc(&bob, |d| {
        held::add_held(d, &paper("b1", "MARK-BOB-PAPER"), 2)
    })?
    .map_err(model)?;
    let carol = TestClient::connect(&phone_url(&w, &held_id(&w, &bid, CAROL)?, CAROL)).await?;
    edit_doc(&carol, |d| {
        held::add_held(d, &paper("c1", "MARK-CAROL-PAPER"), 3)
    })?
    .map_err(model)?;
    wait_server_has(
        &w.ws_url(&held_id(&w, &bid, CAROL)?, &w.facilitator),
        &carol,
    )
    .await?;
    eventually("bob's own paper echoed to his raw client", WAIT, || async {
        bob_held.saw("MARK-BOB-PAPER")
    })
    .await?;

    // Neither Bob's phone nor the projector may open Alice's held doc, with or without a device.
    let alice_doc = held_id(&w, &bid, ALICE)?;
    for url in [
        phone_url(&w, &alice_doc, BOB),
        w.ws_url(&alice_doc, &w.participant),
        w.ws_url(&alice_doc, &w.viewer),
    ] {
        let (status, _) = upgrade(&url, &[]).await?;
        assert_eq!(status, 403, "{url} was let in");
    }
    assert_eq!(count(&w, &bid, &w.viewer).await?, 3);

    // Other papers are revealed while Alice keeps editing hers.
    assert_eq!(act(&w, &bid, "reveal", Some(&["MARK-BOB"])).await?, 1);
    edit_doc(&alice, |d| {
        held::edit_held(d, "a1", "MARK-ALICE-SECRET, amended")
    })?
    .map_err(model)?;
    assert_eq!(act(&w, &bid, "reveal", Some(&["MARK-CAROL"])).await?, 1);
    wait_server_has(&w.ws_url(&alice_doc, &w.facilitator), &alice).await?;
    eventually("the revealed papers to reach the board", WAIT, || async {
        bob_board.saw("MARK-CAROL-PAPER") && projector.saw("MARK-CAROL-PAPER")
    })
    .await?;
    assert!(bob_board.saw("MARK-BOB-PAPER"));
    for (name, spy) in [
        ("board", &bob_board),
        ("workshop", &bob_workshop),
        ("own held doc", &bob_held),
        ("projector", &projector),
    ] {
        assert!(!spy.saw("MARK-ALICE"), "Alice's paper reached Bob's {name}");
    }
    assert_eq!(count(&w, &bid, &w.participant).await?, 1);

    // Her own reveal: now the text arrives, as amended.
    assert_eq!(act(&w, &bid, "reveal", Some(&["MARK-ALICE"])).await?, 1);
    eventually("Alice's paper to reach Bob once revealed", WAIT, || async {
        bob_board.saw("MARK-ALICE-SECRET, amended") && projector.saw("MARK-ALICE-SECRET")
    })
    .await?;
    assert!(!bob_held.saw("MARK-ALICE"));
    assert_eq!(count(&w, &bid, &w.viewer).await?, 0);
    Ok(())
}

#[tokio::test]
async fn two_anonymous_papers_from_one_phone_carry_nothing_that_links_them() -> TestResult {
    let server = TestServer::start().await?;
    let (w, bid) = workshop(&server, "icebreaker").await?;
    let board = format!("{}.{bid}", w.id);
    let before = server_doc(&w, &board).await?;
    let before_clients: Vec<u64> = before
        .transact()
        .state_vector()
        .iter()
        .map(|(c, _)| c.get())
        .collect();

    let phone = Doc::with_client_id(0x5eed);
    let url = phone_url(&w, &held_id(&w, &bid, ALICE)?, ALICE);
    let alice = TestClient::connect_with_doc(&url, phone).await?;
    // The phone's clock is an hour off: its skew must not reach the board.
    let skewed = now_ms() - 3_600_000;
    edit_doc(&alice, |d| {
        held::add_held(d, &paper("p1", "premier papier"), skewed)?;
        held::add_held(d, &paper("p2", "second papier"), skewed + 7)
    })?
    .map_err(model)?;
    wait_server_has(
        &w.ws_url(&held_id(&w, &bid, ALICE)?, &w.facilitator),
        &alice,
    )
    .await?;

    let t0 = now_ms();
    assert_eq!(act(&w, &bid, "reveal", None).await?, 2);
    let t1 = now_ms();
    let after = server_doc(&w, &board).await?;
    let notes = board_notes(&after);
    assert_eq!(notes.len(), 2, "{notes:?}");
    for (id, keys, _, at) in &notes {
        assert_eq!(keys, &["createdAt", "order", "text"], "fields of {id}");
        assert!(id != "p1" && id != "p2", "the held id was reused");
        assert!(
            (t0..=t1).contains(at),
            "createdAt {at} is not the server's time"
        );
    }
    let mut texts: Vec<&str> = notes.iter().map(|n| n.2.as_str()).collect();
    texts.sort_unstable();
    assert_eq!(texts, ["premier papier", "second papier"]);
    // Whoever wrote them, both papers are the server's: one client id, new to the board, and
    // not the phone's.
    let sv = after.transact().state_vector();
    let new_clients: Vec<u64> = sv
        .iter()
        .map(|(c, _)| c.get())
        .filter(|c| !before_clients.contains(c))
        .collect();
    assert_eq!(new_clients.len(), 1, "{new_clients:?}");
    assert_ne!(new_clients[0], 0x5eed);
    let workshop = server_doc(&w, &w.id).await?;
    for doc in [&after, &workshop] {
        assert_eq!(
            doc.transact()
                .state_vector()
                .get(&yrs::block::ClientID::new(0x5eed)),
            0,
            "the phone's client id reached a shared doc"
        );
    }
    Ok(())
}

#[tokio::test]
async fn the_writer_keeps_its_papers_across_reload_offline_and_restarts_and_discards_reach_nobody(
) -> TestResult {
    let mut server = TestServer::start().await?;
    let (w0, bid) = workshop(&server, "icebreaker").await?;
    let alice_doc = held_id(&w0, &bid, ALICE)?;

    // Three papers, then a reload: a fresh page finds them on the server.
    let first = TestClient::connect(&phone_url(&w0, &alice_doc, ALICE)).await?;
    edit_doc(&first, |d| {
        held::add_held(d, &paper("n1", "un"), 1)?;
        held::add_held(d, &paper("n2", "deux"), 2)?;
        held::add_held(d, &paper("n3", "DISCARD-ME-INSULT"), 3)
    })?
    .map_err(model)?;
    wait_server_has(&w0.ws_url(&alice_doc, &w0.facilitator), &first).await?;
    drop(first);
    let reloaded = TestClient::connect(&phone_url(&w0, &alice_doc, ALICE)).await?;
    assert_eq!(held::read_held(reloaded.doc()).len(), 3);
    edit_doc(&reloaded, |d| held::edit_held(d, "n1", "un, revu"))?.map_err(model)?;
    wait_server_has(&w0.ws_url(&alice_doc, &w0.facilitator), &reloaded).await?;

    // Offline: the phone edits its copy, the next connection carries it.
    let cached = Doc::new();
    {
        let state = reloaded
            .doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let u = Update::decode_v1(&state).map_err(|e| TestError::Protocol(e.to_string()))?;
        cached
            .transact_mut()
            .apply_update(u)
            .map_err(|e| TestError::Protocol(e.to_string()))?;
    }
    drop(reloaded);
    held::edit_held(&cached, "n2", "deux, écrit hors ligne").map_err(model)?;

    server.restart().await?;
    let w = Workshop {
        addr: server.addr(),
        ..w0
    };
    let back = TestClient::connect_with_doc(&phone_url(&w, &alice_doc, ALICE), cached).await?;
    wait_server_has(&w.ws_url(&alice_doc, &w.facilitator), &back).await?;
    let texts: Vec<String> = list(&w, &bid)
        .await?
        .iter()
        .map(|n| n["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        texts,
        ["un, revu", "deux, écrit hors ligne", "DISCARD-ME-INSULT"]
    );

    // Another participant cannot write it, even forging a connection without a device.
    let (status, _) = upgrade(&phone_url(&w, &alice_doc, BOB), &[]).await?;
    assert_eq!(status, 403);

    let board = format!("{}.{bid}", w.id);
    let bob_board = Spy::open(&phone_url(&w, &board, BOB)).await?;
    let bob_workshop = Spy::open(&phone_url(&w, &w.id, BOB)).await?;
    let projector = Spy::open(&w.ws_url(&board, &w.viewer)).await?;

    // Discard one: it leaves Alice's phone too, and never reaches anyone else.
    assert_eq!(act(&w, &bid, "discard", Some(&["DISCARD-ME"])).await?, 1);
    back.wait_until("the discard to reach the writer", WAIT, |d| {
        held::read_held(d).len() == 2
    })
    .await?;
    // The export counts what is still held, without its text.
    let md = w.export_ok("md").await?;
    assert!(md.contains("2 papiers non révélés"), "{md}");
    assert!(!md.contains("deux"));

    // Reveal one, restart, then all.
    assert_eq!(act(&w, &bid, "reveal", Some(&["un, revu"])).await?, 1);
    server.restart().await?;
    let w = Workshop {
        addr: server.addr(),
        ..w
    };
    assert_eq!(count(&w, &bid, &w.viewer).await?, 1);
    assert_eq!(act(&w, &bid, "reveal", None).await?, 1);
    let texts: Vec<String> = board_notes(&server_doc(&w, &board).await?)
        .into_iter()
        .map(|n| n.2)
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(texts.contains(&"un, revu".to_string()));
    assert!(texts.contains(&"deux, écrit hors ligne".to_string()));
    assert!(list(&w, &bid).await?.is_empty());
    assert_eq!(count(&w, &bid, &w.viewer).await?, 0);
    let md = w.export_ok("md").await?;
    assert!(
        md.contains("un, revu") && !md.contains("non révélé"),
        "{md}"
    );
    for spy in [&bob_board, &bob_workshop, &projector] {
        assert!(!spy.saw("DISCARD-ME"), "a discarded paper reached someone");
    }
    Ok(())
}

#[tokio::test]
async fn a_hidden_signed_grid_reveals_notes_with_their_writer_as_author() -> TestResult {
    let server = TestServer::start().await?;
    let (w, bid) = workshop(&server, "feedback").await?;
    let board = format!("{}.{bid}", w.id);
    let facilitator = TestClient::connect(&w.ws_url(&board, &w.facilitator)).await?;
    edit_doc(&facilitator, |d| {
        held::set_holding(
            d,
            Holding {
                hidden: true,
                anonymous: false,
            },
        )
    })?
    .map_err(model)?;
    wait_server_has(&w.ws_url(&board, &w.facilitator), &facilitator).await?;
    // Participants cannot turn it off: the board header is the facilitator's.
    let sneaky = TestClient::connect(&phone_url(&w, &board, BOB)).await?;
    let before = server_state(&w.ws_url(&board, &w.facilitator)).await?;
    edit_doc(&sneaky, |d| held::set_holding(d, Holding::default()))?.map_err(model)?;
    wait_denied(&sneaky, 0).await?;
    assert_eq!(
        server_state(&w.ws_url(&board, &w.facilitator)).await?,
        before
    );
    let column = {
        let txn = facilitator.doc().transact();
        let cols = txn.get_map(board_root::COLUMNS);
        cols.and_then(|c| c.keys(&txn).next().map(str::to_string))
            .unwrap_or_default()
    };
    let alice = TestClient::connect(&phone_url(&w, &held_id(&w, &bid, ALICE)?, ALICE)).await?;
    let note = HeldNote {
        column: column.clone(),
        author_name: "Alice".into(),
        author_org: "CCAS".into(),
        ..paper("g1", "une idée signée")
    };
    edit_doc(&alice, |d| held::add_held(d, &note, 1))?.map_err(model)?;
    wait_server_has(
        &w.ws_url(&held_id(&w, &bid, ALICE)?, &w.facilitator),
        &alice,
    )
    .await?;
    let r = get(w.addr, &held_path(&w, &bid, ""), Some(&w.facilitator)).await?;
    assert_eq!(
        r.json()?["holding"],
        json!({ "hidden": true, "anonymous": false })
    );
    // The projector cannot list the held notes.
    let r = get(w.addr, &held_path(&w, &bid, ""), Some(&w.viewer)).await?;
    assert_eq!(r.status, 403);
    assert_eq!(act(&w, &bid, "reveal", None).await?, 1);
    let after = server_doc(&w, &board).await?;
    let txn = after.transact();
    let notes = txn
        .get_map(board_root::NOTES)
        .ok_or_else(|| TestError::Protocol("no notes".into()))?;
    let (_, Out::YMap(m)) = notes
        .iter(&txn)
        .next()
        .ok_or_else(|| TestError::Protocol("no revealed note".into()))?
    else {
        return Err(TestError::Protocol("not a map".into()));
    };
    let s = |k: &str| {
        m.get(&txn, k)
            .map(|v| v.to_string(&txn))
            .unwrap_or_default()
    };
    assert_eq!(s(field::AUTHOR_ID), device(&w, ALICE)?);
    assert_eq!(s(field::AUTHOR_NAME), "Alice");
    assert_eq!(s(field::COLUMN), column);
    assert_eq!(s(field::TEXT), "une idée signée");
    Ok(())
}

#[tokio::test]
async fn a_reveal_cut_short_by_a_failed_commit_is_finished_by_the_next_once() -> TestResult {
    let server = TestServer::start().await?;
    let (w, bid) = workshop(&server, "icebreaker").await?;
    let board = format!("{}.{bid}", w.id);
    let alice = TestClient::connect(&phone_url(&w, &held_id(&w, &bid, ALICE)?, ALICE)).await?;
    edit_doc(&alice, |d| {
        held::add_held(d, &paper("r1", "premier"), 1)?;
        held::add_held(d, &paper("r2", "second"), 2)
    })?
    .map_err(model)?;
    wait_server_has(
        &w.ws_url(&held_id(&w, &bid, ALICE)?, &w.facilitator),
        &alice,
    )
    .await?;

    // Step (1) is durable, then the board's commit fails: nothing is copied yet.
    palabre::store::faults::fail_appends(&board, 1);
    let path = held_path(&w, &bid, "/reveal");
    let body = json!({ "all": true });
    let r = send_json(w.addr, "POST", &path, Some(&w.facilitator), Some(&body)).await?;
    assert!(r.status >= 500, "a failed commit answered {}", r.status);
    let marked = list(&w, &bid).await?;
    assert_eq!(marked.len(), 2);
    assert!(
        marked.iter().all(|n| n["revealing"].is_string()),
        "{marked:?}"
    );

    // Once the store takes writes again, the same reveal finishes: each paper once, same ids.
    eventually("the storage fault to clear", WAIT, || async {
        crate::harness::http_get(w.addr, "/healthz")
            .await
            .is_ok_and(|(status, _)| status == 200)
    })
    .await?;
    let chosen: Vec<String> = marked
        .iter()
        .filter_map(|n| n["revealing"].as_str().map(str::to_string))
        .collect();
    let mut done = 0;
    for _ in 0..20 {
        let r = send_json(w.addr, "POST", &path, Some(&w.facilitator), Some(&body)).await?;
        if r.status == 200 {
            done = r.json()?["done"].as_u64().unwrap_or(0);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(done, 2);
    let notes = board_notes(&server_doc(&w, &board).await?);
    let mut ids: Vec<String> = notes.iter().map(|n| n.0.clone()).collect();
    ids.sort();
    let mut want = chosen.clone();
    want.sort();
    assert_eq!(
        ids, want,
        "each paper is on the board once, under the id chosen first"
    );
    assert!(list(&w, &bid).await?.is_empty());
    Ok(())
}

/// Papers reach the shared doc only through the server's reveal: a forged phone writing one
/// straight into the icebreaker's board doc is refused, and the doc stays byte-identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paper_written_straight_into_the_shared_icebreaker_is_refused() -> TestResult {
    let server = TestServer::start().await?;
    let (w, bid) = workshop(&server, "icebreaker").await?;
    let board = format!("{}.{bid}", w.id);
    let facilitator_url = w.ws_url(&board, &w.facilitator);
    let before = server_state(&facilitator_url).await?;
    let forger = TestClient::connect(&phone_url(&w, &board, ALICE)).await?;
    edit_doc(&forger, |d| {
        palabre::board::icebreaker::add_note(d, "forged", "pas par le serveur", now_ms())
    })?
    .map_err(model)?;
    let denied = wait_denied(&forger, 0).await?;
    assert!(
        denied.iter().any(|d| d.contains("only the facilitator")),
        "{denied:?}"
    );
    assert_eq!(
        server_state(&facilitator_url).await?,
        before,
        "the shared icebreaker changed"
    );
    Ok(())
}
