//! Contributions held by the server (board-schema §6), as participants and the facilitator use
//! them through the real server: a participant's hidden notes live in its own held doc, which no
//! other participant nor the projector can open; a raw client connected to everything a
//! participant may open receives no byte of anyone else's unrevealed text (every frame is
//! scanned for a marker); a reveal writes a new item as the server (its client id, its time, a
//! fresh id, no author); discards never reach anyone; a restart in between loses nothing
//! (those scenarios over a paper's life are in `held/lifecycle.rs`).
//!
//! Over 400 lines by a few: the privacy scenarios and the spy that scans every frame belong together.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use palabre::board::held::{self, HeldNote, Holding};
use palabre::board::schema::{board_root, field};
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Map, Out, ReadTxn, StateVector, Transact, Update};

use crate::api::{
    edit_doc, get, model, send_json, server_state, upgrade, wait_denied, wait_server_has, Workshop,
};
use crate::client::TestClient;
use crate::harness::{eventually, TestError, TestResult, TestServer, WAIT};

#[path = "held/lifecycle.rs"]
mod lifecycle;

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
        let mut ws = crate::api::ask_everything(url).await?;
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

pub(crate) fn held_path(w: &Workshop, bid: &str, tail: &str) -> String {
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
/// The facilitator discards or reveals, through `w`'s node, every held note (`None`) or those
/// whose text holds one of `texts`; the count done.
pub(crate) async fn act(
    w: &Workshop,
    bid: &str,
    action: &str,
    texts: Option<&[&str]>,
) -> TestResult<u64> {
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
    palabre::board::doc_from_update(&bytes).map_err(|e| TestError::Protocol(e.to_string()))
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
