//! Who may do what, seen from the wire: forged yrs clients of each role are refused and leave
//! the server's doc byte-identical; tokens, rotation, join-code guessing, Origin checks, floods,
//! size and item caps, and a venue's 200 phones behind one address.
//!
//! Over 400 lines: one short forged-client scenario per refused shape, kept together so that they
//! read as the threat model's checklist of role rules.

use std::time::Duration;

use palabre::board::grid::{self, NoteInput};
use palabre::board::schema::{board_root, field, workshop_root};
use palabre::board::workshop::{self, MetaPatch};
use palabre::board::{Author, BoardError};
use serde_json::Value;
use yrs::{Any, Doc, Map, Out, ReadTxn, Transact};

use crate::api::{
    denials, edit_doc, get, join, model, request, resync_cached, send_json, server_state, upgrade,
    wait_denied, wait_server_has, Workshop,
};
use crate::client::TestClient;
use crate::harness::{eventually, TestError, TestResult, TestServer, WAIT};

/// Camille, on the device every `join` holds (`me` = `Workshop::me`).
fn note(me: &str, id: &str, column: &str, text: &str) -> NoteInput {
    NoteInput {
        id: id.to_string(),
        column: column.to_string(),
        text: text.to_string(),
        colour: String::new(),
        author: Author::new(me, "Camille", "Structure"),
        created_at: 1_700_000_000_000,
    }
}

/// Whether a replica of a grid board holds note `id`.
fn has_note(doc: &Doc, id: &str) -> bool {
    let txn = doc.transact();
    txn.get_map(board_root::NOTES)
        .is_some_and(|m| m.get(&txn, id).is_some())
}

fn note_count(doc: &Doc) -> usize {
    let txn = doc.transact();
    txn.get_map(board_root::NOTES)
        .map_or(0, |m| m.len(&txn) as usize)
}

/// Whether a replica of a workshop doc has board `bid` locked.
fn is_locked(doc: &Doc, bid: &str) -> bool {
    let txn = doc.transact();
    let Some(control) = txn.get_map(workshop_root::CONTROL) else {
        return false;
    };
    let Some(Out::YMap(entry)) = control.get(&txn, bid) else {
        return false;
    };
    matches!(
        entry.get(&txn, field::LOCKED),
        Some(Out::Any(Any::Bool(true)))
    )
}

fn title_of(doc: &Doc) -> String {
    let txn = doc.transact();
    txn.get_map(workshop_root::META)
        .and_then(|m| m.get(&txn, field::TITLE))
        .map(|t| t.to_string(&txn))
        .unwrap_or_default()
}

/// A workshop with one grid board, a facilitator on both docs and a participant on the board.
struct Scene {
    server: TestServer,
    w: Workshop,
    board: String,
    bid: String,
    facilitator_ws: TestClient,
    facilitator_board: TestClient,
    bystander: TestClient,
}

impl Scene {
    async fn new() -> TestResult<Self> {
        Self::with(|_| {}).await
    }

    async fn with(tweak: impl FnOnce(&mut palabre::Config)) -> TestResult<Self> {
        let server = TestServer::start_with(tweak).await?;
        let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
        let b = w.board("grid", 0)?.clone();
        let facilitator_ws = join(&w, &w.id, &w.facilitator).await?;
        let facilitator_board = join(&w, &b.doc_id, &w.facilitator).await?;
        let bystander = join(&w, &b.doc_id, &w.participant).await?;
        Ok(Scene {
            server,
            w,
            board: b.doc_id,
            bid: b.id,
            facilitator_ws,
            facilitator_board,
            bystander,
        })
    }

    /// The server's encoding of `doc`, read with the facilitator's secret.
    async fn state(&self, doc: &str) -> TestResult<Vec<u8>> {
        server_state(&self.w.ws_url(doc, &self.w.facilitator)).await
    }

    /// Has `forged` (already connected to `doc`) make `edit`, and checks the refusal: a
    /// permission-denied message naming `reason`, the server's doc byte-identical, the forged
    /// client still connected and still receiving others' edits.
    async fn assert_refused(
        &mut self,
        doc: &str,
        forged: &TestClient,
        reason: &str,
        edit: impl FnOnce(&Doc) -> Result<(), BoardError>,
    ) -> TestResult {
        let before = self.state(doc).await?;
        let denied_before = denials(forged).len();
        edit_doc(forged, edit)?.map_err(model)?;
        let denied = wait_denied(forged, denied_before).await?;
        let last = denied.last().cloned().unwrap_or_default();
        assert!(
            last.contains(reason),
            "denial {last:?} should say {reason:?}"
        );
        assert_eq!(
            self.state(doc).await?,
            before,
            "the server's {doc} changed after a refused update"
        );
        assert!(
            forged.is_connected(),
            "one refusal does not cost the connection"
        );
        Ok(())
    }

    /// The facilitator writes a note on the board; every listed client receives it.
    async fn board_still_syncs(&mut self, tag: &str, also: &[&TestClient]) -> TestResult {
        let id = format!("after-{tag}");
        let me = self.w.me();
        edit_doc(&self.facilitator_board, |d| {
            grid::add_note(d, &note(&me, &id, "creer", "toujours là"), None)
        })?
        .map_err(model)?;
        for c in std::iter::once(&self.bystander).chain(also.iter().copied()) {
            c.wait_until(&format!("{id} to arrive"), WAIT, |d| has_note(d, &id))
                .await?;
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewers_updates_are_refused_and_leave_the_docs_byte_identical() -> TestResult {
    let mut s = Scene::new().await?;
    let me = s.w.me();
    let board = s.board.clone();
    let wid = s.w.id.clone();
    let viewer_board = join(&s.w, &board, &s.w.viewer).await?;
    let viewer_ws = join(&s.w, &wid, &s.w.viewer).await?;

    s.assert_refused(&board, &viewer_board, "read-only", |d| {
        grid::add_note(
            d,
            &note(&me, "forged-by-viewer", "creer", "je projette et j'écris"),
            None,
        )
    })
    .await?;
    s.assert_refused(&wid, &viewer_ws, "read-only", |d| {
        workshop::set_meta(
            d,
            &MetaPatch {
                title: Some("Piraté".into()),
                date: None,
                place: None,
                objectives: None,
                ..MetaPatch::default()
            },
        )
    })
    .await?;

    s.board_still_syncs("viewer", &[&viewer_board]).await?;
    assert!(!has_note(s.bystander.doc(), "forged-by-viewer"), "relayed");
    assert_eq!(title_of(s.facilitator_ws.doc()), "Bilan");
    let fresh = join(&s.w, &board, &s.w.participant).await?;
    assert!(!has_note(fresh.doc(), "forged-by-viewer"), "stored");

    // A viewer that keeps trying is eventually shown the door.
    let mut stubborn = join(&s.w, &board, &s.w.viewer).await?;
    for i in 0..30 {
        stubborn.add_note(&format!("spam-{i}"), "encore");
    }
    let closed = stubborn.wait_closed().await?;
    assert_eq!(closed.code, Some(1008), "{closed:?}");
    let m = s.server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"write_denied\"}") >= 22.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participants_edits_of_the_workshop_doc_are_refused() -> TestResult {
    let mut s = Scene::new().await?;
    let me = s.w.me();
    let wid = s.w.id.clone();
    let bid = s.bid.clone();
    let forged = join(&s.w, &wid, &s.w.participant).await?;
    s.assert_refused(&wid, &forged, "facilitator", |d| {
        workshop::set_locked(d, &bid, true)
    })
    .await?;
    s.assert_refused(&wid, &forged, "facilitator", |d| {
        workshop::set_projected(d, Some(&bid))
    })
    .await?;
    s.assert_refused(&wid, &forged, "facilitator", |d| {
        workshop::remove_board(d, &bid)
    })
    .await?;

    // The facilitator's own change still reaches the forger (whose replica now differs from the
    // server's, having kept its refused edits) and the board it tried to lock and remove is
    // still on the agenda and writable.
    edit_doc(&s.facilitator_ws, |d| {
        workshop::set_meta(
            d,
            &MetaPatch {
                title: Some("Bilan collectif".into()),
                date: None,
                place: None,
                objectives: None,
                ..MetaPatch::default()
            },
        )
    })?
    .map_err(model)?;
    forged
        .wait_until("the facilitator's title", WAIT, |d| {
            title_of(d) == "Bilan collectif"
        })
        .await?;
    let shown = get(
        s.w.addr,
        &format!("/api/workshops/{wid}"),
        Some(&s.w.facilitator),
    )
    .await?
    .json()?;
    assert_eq!(
        crate::api::boards_of(&shown)?.len(),
        1,
        "the board is still on the agenda"
    );
    let writer = join(&s.w, &s.board, &s.w.participant).await?;
    edit_doc(&writer, |d| {
        grid::add_note(d, &note(&me, "still-open", "creer", "ok"), None)
    })?
    .map_err(model)?;
    s.bystander
        .wait_until("a participant's note on the unlocked board", WAIT, |d| {
            has_note(d, "still-open")
        })
        .await?;
    s.board_still_syncs("workshop-doc", &[]).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participants_note_on_a_locked_board_is_refused() -> TestResult {
    let mut s = Scene::new().await?;
    let me = s.w.me();
    let board = s.board.clone();
    let bid = s.bid.clone();
    let lock_watcher = join(&s.w, &s.w.id, &s.w.participant).await?;
    let forged = join(&s.w, &board, &s.w.participant).await?;

    edit_doc(&forged, |d| {
        grid::add_note(d, &note(&me, "before-lock", "creer", "avant"), None)
    })?
    .map_err(model)?;
    s.bystander
        .wait_until("a note written before the lock", WAIT, |d| {
            has_note(d, "before-lock")
        })
        .await?;

    edit_doc(&s.facilitator_ws, |d| workshop::set_locked(d, &bid, true))?.map_err(model)?;
    lock_watcher
        .wait_until("the lock to reach participants", WAIT, |d| {
            is_locked(d, &bid)
        })
        .await?;

    s.assert_refused(&board, &forged, "locked", |d| {
        grid::add_note(d, &note(&me, "after-lock", "creer", "pendant"), None)
    })
    .await?;
    s.assert_refused(&board, &forged, "locked", |d| {
        grid::delete_note(d, "before-lock")
    })
    .await?;
    // The facilitator still writes on a locked board, and everyone (the refused client too)
    // receives it.
    s.board_still_syncs("locked", &[&forged]).await?;
    assert!(!has_note(s.bystander.doc(), "after-lock"));
    assert!(has_note(s.bystander.doc(), "before-lock"));

    // Unlocked again, participants write again.
    edit_doc(&s.facilitator_ws, |d| workshop::set_locked(d, &bid, false))?.map_err(model)?;
    lock_watcher
        .wait_until("the unlock to reach participants", WAIT, |d| {
            !is_locked(d, &bid)
        })
        .await?;
    let writer = join(&s.w, &board, &s.w.participant).await?;
    edit_doc(&writer, |d| {
        grid::add_note(d, &note(&me, "after-unlock", "creer", "après"), None)
    })?
    .map_err(model)?;
    s.bystander
        .wait_until("a note written after the unlock", WAIT, |d| {
            has_note(d, "after-unlock")
        })
        .await?;
    assert!(denials(&writer).is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_clients_resyncing_a_cached_doc_are_not_refused() -> TestResult {
    // A projector or a phone reloads with the workshop doc cached (y-indexeddb) and answers the
    // server's sync step 1 with what it holds beyond the server's state vector: nothing new, but
    // the encoding always carries the doc's whole delete set. That is no write.
    let s = Scene::new().await?;
    let bid = s.bid.clone();
    // Overwriting a field leaves a deletion in the doc.
    edit_doc(&s.facilitator_ws, |d| {
        workshop::set_locked(d, &bid, true)?;
        workshop::set_locked(d, &bid, false)
    })?
    .map_err(model)?;
    let ws_url = s.w.ws_url(&s.w.id, &s.w.facilitator);
    wait_server_has(&ws_url, &s.facilitator_ws).await?;
    let before = s.state(&s.w.id).await?;
    for (who, token) in [("viewer", &s.w.viewer), ("participant", &s.w.participant)] {
        let mut visit = join(&s.w, &s.w.id, token).await?;
        visit.close().await;
        let denied = resync_cached(&s.w.ws_url(&s.w.id, token), visit.doc()).await?;
        assert_eq!(
            denied,
            Vec::<String>::new(),
            "a {who} reconnecting was refused"
        );
    }
    assert_eq!(s.state(&s.w.id).await?, before);
    Ok(())
}

#[tokio::test]
async fn websockets_need_a_valid_token_for_the_docs_workshop() -> TestResult {
    let server = TestServer::start().await?;
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let other = Workshop::create(server.addr(), "five-columns", "Autre", "2026-05-09").await?;
    let board = w.board("grid", 0)?.doc_id.clone();
    let base = format!("ws://{}/ws", server.addr());
    for doc in [w.id.as_str(), board.as_str()] {
        let (status, body) = upgrade(&format!("{base}/{doc}"), &[]).await?;
        assert_eq!(status, 401, "no token on {doc}: {body}");
        let (status, _) = upgrade(&format!("{base}/{doc}?token="), &[]).await?;
        assert_eq!(status, 401, "empty token on {doc}");
        let (status, body) = upgrade(&w.ws_url(doc, "AAAAAAAAAAAAAAAAAAAAAA"), &[]).await?;
        assert_eq!(status, 403, "wrong token on {doc}: {body}");
        let (status, _) = upgrade(&w.ws_url(doc, &other.facilitator), &[]).await?;
        assert_eq!(status, 403, "another workshop's facilitator token on {doc}");
        let (status, _) = upgrade(&w.ws_url(doc, &other.participant), &[]).await?;
        assert_eq!(status, 403, "another workshop's participant token on {doc}");
        for token in [&w.facilitator, &w.participant, &w.viewer] {
            let (status, body) = upgrade(&w.ws_url(doc, token), &[]).await?;
            assert_eq!(status, 101, "own token on {doc}: {body}");
        }
    }
    // The refusal body follows the API's error contract.
    let (_, body) = upgrade(&w.ws_url(&board, &other.viewer), &[]).await?;
    let json: Value = serde_json::from_str(&body)
        .map_err(|e| TestError::Protocol(format!("refusal body {body:?}: {e}")))?;
    assert!(
        json.get("error").and_then(Value::as_str).is_some(),
        "{json}"
    );
    let m = server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"no_token\"}") >= 4.0);
    assert!(m.value("palabre_rejected_total{reason=\"bad_token\"}") >= 7.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_links_are_refused_and_their_holders_disconnected() -> TestResult {
    let s = Scene::new().await?;
    let w = s.w.clone();
    let addr = w.addr;
    let viewer = join(&w, &w.id, &w.viewer).await?;
    let old_code = w.join_code.clone();

    let r = send_json(
        addr,
        "POST",
        &format!("/api/workshops/{}/rotate", w.id),
        Some(&w.facilitator),
        None,
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let fresh = r.json()?;
    let secret = |role: &str| {
        fresh
            .pointer(&format!("/secrets/{role}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let participant = secret("participant");
    assert!(!participant.is_empty() && participant != w.participant);
    assert_eq!(secret("viewer"), w.viewer, "the projector keeps its link");
    assert_eq!(
        secret("facilitator"),
        w.facilitator,
        "the facilitator keeps theirs"
    );

    // Holders of the old participant secret are shown out with 4001; the facilitator and the
    // projector stay, and the projector is told through the workshop doc that links changed.
    let closed = s.bystander.wait_closed().await?;
    assert_eq!(closed.code, Some(4001), "participant: {closed:?}");
    assert!(s.facilitator_ws.is_connected() && s.facilitator_board.is_connected());
    viewer
        .wait_until("the projector to see linksRenewed", WAIT, |d| {
            let txn = d.transact();
            txn.get_map(workshop_root::META)
                .and_then(|m| m.get(&txn, field::LINKS_RENEWED))
                .is_some()
        })
        .await?;
    assert!(viewer.is_connected(), "the projector stays connected");

    // The old participant secret is refused everywhere; the new one works.
    for doc in [w.id.as_str(), s.board.as_str()] {
        let (status, _) = upgrade(&w.ws_url(doc, &w.participant), &[]).await?;
        assert_eq!(status, 403, "an old secret on {doc}");
        for new in [&participant, &w.viewer] {
            let (status, body) = upgrade(&w.ws_url(doc, new), &[]).await?;
            assert_eq!(status, 101, "a current secret on {doc}: {body}");
        }
    }
    get(
        addr,
        &format!("/api/workshops/{}", w.id),
        Some(&w.participant),
    )
    .await?
    .assert_error(403, "an old participant secret on the API")?;
    let shown = get(
        addr,
        &format!("/api/workshops/{}", w.id),
        Some(&participant),
    )
    .await?
    .json()?;
    assert_eq!(
        shown.get("role").and_then(Value::as_str),
        Some("participant")
    );

    // The old join code is dead, the new one leads to the new participant link; the projector
    // reads the new code with the link it kept.
    let new_code = fresh
        .get("joinCode")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    assert_ne!(new_code, old_code);
    let seen = get(addr, &format!("/api/workshops/{}", w.id), Some(&w.viewer))
        .await?
        .json()?;
    assert_eq!(
        seen.get("joinCode").and_then(Value::as_str),
        Some(new_code.as_str())
    );
    get(addr, &format!("/api/join/{old_code}"), None)
        .await?
        .assert_error(404, "the old join code")?;
    let joined = get(addr, &format!("/api/join/{new_code}"), None)
        .await?
        .json()?;
    assert_eq!(
        joined.get("link").and_then(Value::as_str),
        Some(format!("/w/{}#{participant}", w.id).as_str())
    );
    Ok(())
}

/// A code of the join alphabet that differs from `code` at every position.
fn wrong_code(code: &str, k: usize) -> String {
    const ALPHABET: &str = "ACDEFGHJKMNPQRTUVWXY34679";
    code.chars()
        .map(|c| {
            let i = ALPHABET.find(c).unwrap_or(0);
            let shifted = (i + 1 + k % (ALPHABET.len() - 1)) % ALPHABET.len();
            ALPHABET.chars().nth(shifted).unwrap_or('A')
        })
        .collect()
}

#[tokio::test]
async fn join_code_guessers_must_prove_work_past_their_free_attempts() -> TestResult {
    const ATTEMPTS: u32 = 3;
    let server = TestServer::start_with(|c| {
        c.join_attempts = ATTEMPTS;
        c.trust_forwarded_for = true;
    })
    .await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    let guesser = [("X-Forwarded-For", "10.0.0.1")];
    for k in 0..ATTEMPTS as usize {
        let r = request(
            addr,
            "GET",
            &format!("/api/join/{}", wrong_code(&w.join_code, k)),
            &guesser,
            None,
        )
        .await?;
        r.assert_error(404, &format!("wrong guess {}", k + 1))?;
    }
    // Past them, every lookup from that address (the right code too) is asked for work first,
    // not refused: the right code with its proof gets in (hostile_http.rs proves it).
    let r = request(
        addr,
        "GET",
        &format!("/api/join/{}", w.join_code),
        &guesser,
        None,
    )
    .await?;
    r.assert_error(429, "the right code from a guesser's address, without work")?;
    let pow = r.json()?;
    assert!(
        pow.pointer("/pow/bits")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            >= 16,
        "{pow}"
    );

    // Someone at another address types the right code and gets in at once.
    let r = request(
        addr,
        "GET",
        &format!("/api/join/{}", w.join_code),
        &[("X-Forwarded-For", "10.0.0.2")],
        None,
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let joined = r.json()?;
    assert_eq!(
        joined.get("workshopId").and_then(Value::as_str),
        Some(w.id.as_str())
    );
    let link = joined
        .get("link")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert_eq!(link, format!("/w/{}#{}", w.id, w.participant));
    let m = server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"join_code_wrong\"}"),
        f64::from(ATTEMPTS)
    );
    assert!(m.value("palabre_rejected_total{reason=\"join_pow_required\"}") >= 1.0);
    Ok(())
}

#[tokio::test]
async fn websocket_origin_must_be_the_servers_own_or_allowed() -> TestResult {
    const ALLOWED: &str = "https://board.example.org";
    let server = TestServer::start_with(|c| c.allowed_origins = vec![ALLOWED.to_string()]).await?;
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let url = w.ws_url(&w.board("grid", 0)?.doc_id, &w.participant);
    let own = format!("http://{}", server.addr());
    for origin in [
        "https://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
        "https://board.example.org.evil.example",
    ] {
        let (status, body) = upgrade(&url, &[("Origin", origin)]).await?;
        assert_eq!(status, 403, "Origin {origin}: {body}");
        assert!(body.contains("\"error\""), "{body}");
    }
    for origin in [own.as_str(), ALLOWED] {
        let (status, body) = upgrade(&url, &[("Origin", origin)]).await?;
        assert_eq!(status, 101, "Origin {origin}: {body}");
    }
    let (status, _) = upgrade(&url, &[]).await?;
    assert_eq!(
        status, 101,
        "a client that is not a browser sends no Origin"
    );
    let m = server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"bad_origin\"}"),
        4.0
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_updates_is_throttled_then_closed() -> TestResult {
    const BURST: usize = 5;
    let server = TestServer::start_with(|c| {
        c.update_burst = BURST as f64;
        c.updates_per_sec = 10.0;
        c.flood_grace = Duration::from_millis(300);
    })
    .await?;
    let url = server.ws_url("atelier-flood");
    let mut flooder = TestClient::connect(&url).await?;
    let bystander = TestClient::connect(&url).await?;
    for i in 0..300 {
        flooder.add_note(&format!("flood-{i}"), "encore");
    }
    let closed = flooder.wait_closed().await?;
    assert_eq!(closed.code, Some(1008), "{closed:?}");
    // The burst passed, then throttled updates still got through, slowly, until the close.
    bystander
        .wait_until("the burst and a throttled update", WAIT, |d| {
            crate::client::note_ids(d).len() > BURST
        })
        .await?;
    let fresh = TestClient::connect(&url).await?;
    let stored = fresh.note_ids().len();
    assert!(
        stored > BURST && stored < 300,
        "{stored} of 300 flooded updates stored"
    );
    // Limits are per connection: others still write.
    let mut other = TestClient::connect(&url).await?;
    other.add_note("calm", "une seule");
    bystander
        .wait_until("a calm client's note", WAIT, |d| {
            crate::client::note_ids(d).contains("calm")
        })
        .await?;
    let m = server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"throttled\"}") >= 1.0);
    assert_eq!(m.value("palabre_rejected_total{reason=\"flood\"}"), 1.0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_growing_a_board_past_its_size_cap_is_refused() -> TestResult {
    const CAP: u64 = 16 * 1024;
    let mut s = Scene::with(|c| c.max_doc_bytes = CAP).await?;
    let me = s.w.me();
    let board = s.board.clone();
    let writer = join(&s.w, &board, &s.w.participant).await?;
    edit_doc(&writer, |d| {
        grid::add_note(d, &note(&me, "small", "creer", "une idée courte"), None)
    })?
    .map_err(model)?;
    s.bystander
        .wait_until("a small note", WAIT, |d| has_note(d, "small"))
        .await?;
    let big = "x".repeat(CAP as usize + 1024);
    s.assert_refused(&board, &writer, "size limit", |d| {
        grid::add_note(d, &note(&me, "too-big", "creer", &big), None)
    })
    .await?;
    s.board_still_syncs("size-cap", &[&writer]).await?;
    assert!(!has_note(s.bystander.doc(), "too-big"));
    let m = s.server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"doc_too_large\"}"),
        1.0
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_cannot_put_more_items_on_a_board_than_its_cap() -> TestResult {
    const CAP: usize = 5;
    let mut s = Scene::with(|c| c.max_items = CAP).await?;
    let me = s.w.me();
    let board = s.board.clone();
    let writer = join(&s.w, &board, &s.w.participant).await?;
    edit_doc(&writer, |d| {
        (0..CAP).try_for_each(|i| {
            grid::add_note(d, &note(&me, &format!("n{i}"), "creer", "idée"), None)
        })
    })?
    .map_err(model)?;
    s.bystander
        .wait_until("the board to fill up", WAIT, |d| note_count(d) == CAP)
        .await?;
    s.assert_refused(&board, &writer, "full", |d| {
        grid::add_note(d, &note(&me, "one-too-many", "creer", "encore"), None)
    })
    .await?;
    // The board is still live: an edit that adds no item goes through and reaches everyone.
    let editor = join(&s.w, &board, &s.w.participant).await?;
    edit_doc(&editor, |d| grid::edit_note(d, "n0", "idée reformulée"))?.map_err(model)?;
    let bystander = &s.bystander;
    eventually("the edit to reach the bystander", WAIT, || async move {
        let txn = bystander.doc().transact();
        let text = txn
            .get_map(board_root::NOTES)
            .and_then(|m| match m.get(&txn, "n0") {
                Some(Out::YMap(n)) => n.get(&txn, field::TEXT).map(|t| t.to_string(&txn)),
                _ => None,
            });
        text.as_deref() == Some("idée reformulée")
    })
    .await?;
    assert_eq!(note_count(s.bystander.doc()), CAP);
    let fresh = join(&s.w, &board, &s.w.viewer).await?;
    assert_eq!(note_count(fresh.doc()), CAP, "stored");
    assert!(!has_note(fresh.doc(), "one-too-many"));
    let m = s.server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"too_many_items\"}"),
        1.0
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_phones_behind_one_address_all_get_in_at_default_limits() -> TestResult {
    const PHONES: usize = 200;
    let server = TestServer::start().await?;
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let url = format!(
        "{}&device={}",
        w.ws_url(&w.board("grid", 0)?.doc_id, &w.participant),
        crate::api::DEVICE
    );
    let me = w.me();
    let mut connecting = tokio::task::JoinSet::new();
    for _ in 0..PHONES {
        let url = url.clone();
        connecting.spawn(async move { TestClient::connect(&url).await });
    }
    let mut phones = Vec::new();
    while let Some(joined) = connecting.join_next().await {
        phones.push(joined.map_err(|e| TestError::Server(format!("connect task: {e}")))??);
    }
    assert_eq!(phones.len(), PHONES);
    let first = phones
        .first()
        .ok_or_else(|| TestError::Protocol("no phone".into()))?;
    edit_doc(first, |d| {
        grid::add_note(d, &note(&me, "hello-all", "creer", "Bonjour à tous"), None)
    })?
    .map_err(model)?;
    for (i, p) in phones.iter().enumerate() {
        p.wait_until(&format!("phone {i} to get the note"), WAIT, |d| {
            has_note(d, "hello-all")
        })
        .await?;
        assert!(p.is_connected(), "phone {i}");
    }
    let m = server.metrics().await?;
    assert_eq!(m.value("palabre_connections"), PHONES as f64);
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"too_many_conns_addr\"}"),
        0.0
    );
    Ok(())
}
