//! Phases and accelerator stages, enforced by the server: forged yrs clients holding the
//! participant link try what the facilitator's control state forbids; each attempt is refused
//! and leaves the server's doc byte-identical, while what the phase allows still goes through.

use palabre::board::accelerator::{self, HeaderPatch, ItemInput};
use palabre::board::grid::{self, NoteInput};
use palabre::board::phase::{self, AccStage, Phase};
use palabre::board::schema::{board_root, field, workshop_root, Stage};
use palabre::board::{Author, BoardError};
use yrs::{Doc, Map, Out, ReadTxn, Transact};

use crate::api::{
    denials, edit_doc, join, model, server_state, wait_denied, wait_server_has, Workshop,
};
use crate::client::TestClient;
use crate::harness::{TestResult, TestServer, WAIT};

/// Camille, on the device every `join` holds (`me` = `Workshop::me`).
fn author(me: &str) -> Author {
    Author::new(me, "Camille", "Structure")
}

fn note(me: &str, id: &str) -> NoteInput {
    NoteInput {
        id: id.to_string(),
        column: "creer".to_string(),
        text: format!("note {id}"),
        colour: String::new(),
        author: author(me),
        created_at: 1_700_000_000_000,
    }
}

fn item(me: &str, id: &str, stage: Stage) -> ItemInput {
    ItemInput {
        id: id.to_string(),
        stage,
        text: format!("item {id}"),
        who: String::new(),
        next: String::new(),
        author: author(me),
        created_at: 1_700_000_000_000,
    }
}

fn has(doc: &Doc, root: &str, id: &str) -> bool {
    let txn = doc.transact();
    txn.get_map(root).is_some_and(|m| m.get(&txn, id).is_some())
}

fn votes_on(doc: &Doc, note: &str) -> usize {
    let txn = doc.transact();
    let Some(Out::YMap(n)) = txn
        .get_map(board_root::NOTES)
        .and_then(|m| m.get(&txn, note))
    else {
        return 0;
    };
    match n.get(&txn, field::VOTES) {
        Some(Out::YMap(v)) => v.len(&txn) as usize,
        _ => 0,
    }
}

fn control_str(doc: &Doc, bid: &str, key: &str) -> String {
    let txn = doc.transact();
    let Some(Out::YMap(c)) = txn
        .get_map(workshop_root::CONTROL)
        .and_then(|m| m.get(&txn, bid))
    else {
        return String::new();
    };
    c.get(&txn, key)
        .map(|v| v.to_string(&txn))
        .unwrap_or_default()
}

/// A journée-bilan workshop, the facilitator on the workshop doc and a participant watching it.
struct Room {
    _server: TestServer,
    w: Workshop,
    facilitator: TestClient,
    watcher: TestClient,
}

impl Room {
    async fn new() -> TestResult<Self> {
        let server = TestServer::start().await?;
        let w = Workshop::create(server.addr(), "journee-bilan", "Bilan", "2026-05-09").await?;
        let facilitator = join(&w, &w.id, &w.facilitator).await?;
        let watcher = join(&w, &w.id, &w.participant).await?;
        Ok(Room {
            _server: server,
            w,
            facilitator,
            watcher,
        })
    }

    /// The facilitator sets `key` of board `bid`'s control state; returns once participants see it
    /// (the server published it before relaying it).
    async fn control(
        &self,
        bid: &str,
        key: &str,
        value: &str,
        write: impl FnOnce(&Doc) -> Result<(), BoardError>,
    ) -> TestResult {
        edit_doc(&self.facilitator, write)?.map_err(model)?;
        self.watcher
            .wait_until(
                &format!("{key} = {value} to reach participants"),
                WAIT,
                |d| control_str(d, bid, key) == value,
            )
            .await
    }

    /// A fresh participant connection makes `edit`; the server must refuse it with a reason
    /// containing `reason` and keep `doc` byte-identical.
    async fn refused(
        &self,
        doc: &str,
        reason: &str,
        edit: impl FnOnce(&Doc) -> Result<(), BoardError>,
    ) -> TestResult {
        let forged = join(&self.w, doc, &self.w.participant).await?;
        let url = self.w.ws_url(doc, &self.w.facilitator);
        let before = server_state(&url).await?;
        edit_doc(&forged, edit)?.map_err(model)?;
        let denied = wait_denied(&forged, 0).await?;
        let last = denied.last().cloned().unwrap_or_default();
        assert!(
            last.contains(reason),
            "denial {last:?} should say {reason:?}"
        );
        assert_eq!(
            server_state(&url).await?,
            before,
            "{doc} changed after a refusal"
        );
        Ok(())
    }

    /// A fresh participant connection makes `edit`; `seen` must become true for `observer`.
    async fn accepted(
        &self,
        doc: &str,
        observer: &TestClient,
        what: &str,
        edit: impl FnOnce(&Doc) -> Result<(), BoardError>,
        seen: impl Fn(&Doc) -> bool,
    ) -> TestResult {
        let writer = join(&self.w, doc, &self.w.participant).await?;
        edit_doc(&writer, edit)?.map_err(model)?;
        observer.wait_until(what, WAIT, seen).await?;
        assert!(
            denials(&writer).is_empty(),
            "{what}: {:?}",
            denials(&writer)
        );
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voting_refuses_new_notes_and_closed_refuses_votes() -> TestResult {
    let room = Room::new().await?;
    let me = room.w.me();
    let b = room.w.board("grid", 0)?.clone();
    let fac_board = join(&room.w, &b.doc_id, &room.w.facilitator).await?;
    edit_doc(&fac_board, |d| grid::add_note(d, &note(&me, "n1"), None))?.map_err(model)?;
    wait_server_has(&room.w.ws_url(&b.doc_id, &room.w.facilitator), &fac_board).await?;

    // Writing: a participant adds a note, but may not rename a column.
    room.accepted(
        &b.doc_id,
        &fac_board,
        "a note while writing",
        |d| grid::add_note(d, &note(&me, "w1"), None),
        |d| has(d, board_root::NOTES, "w1"),
    )
    .await?;
    room.refused(&b.doc_id, "only the facilitator", |d| {
        grid::rename_column(d, "creer", "Piraté")
    })
    .await?;

    room.control(&b.id, field::PHASE, "voting", |d| {
        phase::set_phase(d, &b.id, Phase::Voting)
    })
    .await?;
    room.refused(&b.doc_id, "voting", |d| {
        grid::add_note(d, &note(&me, "v1"), None)
    })
    .await?;
    room.refused(&b.doc_id, "voting", |d| {
        grid::edit_note(d, "n1", "réécrite")
    })
    .await?;
    room.accepted(
        &b.doc_id,
        &fac_board,
        "a vote while voting",
        |d| grid::vote(d, "n1", &me, 0).map(|_| ()),
        |d| votes_on(d, "n1") == 1,
    )
    .await?;
    assert!(!has(fac_board.doc(), board_root::NOTES, "v1"), "relayed");

    room.control(&b.id, field::PHASE, "closed", |d| {
        phase::set_phase(d, &b.id, Phase::Closed)
    })
    .await?;
    room.refused(&b.doc_id, "closed", |d| {
        grid::vote(d, "n1", "p-other", 0).map(|_| ())
    })
    .await?;
    // The facilitator still writes while closed; a fresh participant sees the refused note nowhere.
    edit_doc(&fac_board, |d| grid::add_note(d, &note(&me, "f1"), None))?.map_err(model)?;
    let fresh = join(&room.w, &b.doc_id, &room.w.participant).await?;
    fresh
        .wait_until("the facilitator's note", WAIT, |d| {
            has(d, board_root::NOTES, "f1")
        })
        .await?;
    assert!(!has(fresh.doc(), board_root::NOTES, "v1"));
    assert_eq!(votes_on(fresh.doc(), "n1"), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accelerator_stages_are_opened_by_the_facilitator_and_the_problem_is_theirs() -> TestResult
{
    let room = Room::new().await?;
    let me = room.w.me();
    let b = room.w.board("accelerator", 0)?.clone();
    let fac_board = join(&room.w, &b.doc_id, &room.w.facilitator).await?;
    let overwrite = |d: &Doc| {
        accelerator::set_header(
            d,
            &HeaderPatch {
                statement: Some("Piraté".into()),
                reformulation: Some("Piraté aussi".into()),
                ..HeaderPatch::default()
            },
        )
    };

    // Stage 1 (problem): the facilitator writes it; participants neither overwrite it nor
    // jump ahead.
    edit_doc(&fac_board, |d| {
        accelerator::set_header(
            d,
            &HeaderPatch {
                statement: Some("Trouver des bénévoles".into()),
                ..HeaderPatch::default()
            },
        )
    })?
    .map_err(model)?;
    wait_server_has(&room.w.ws_url(&b.doc_id, &room.w.facilitator), &fac_board).await?;
    room.refused(&b.doc_id, "brings the problem", overwrite)
        .await?;
    room.refused(&b.doc_id, "only the facilitator", |d| {
        accelerator::add_item(d, &item(&me, "q0", Stage::Questions), None)
    })
    .await?;

    room.control(&b.id, field::STAGE, "questions", |d| {
        phase::set_stage(d, &b.id, AccStage::Questions)
    })
    .await?;
    room.accepted(
        &b.doc_id,
        &fac_board,
        "a question while questions are open",
        |d| accelerator::add_item(d, &item(&me, "q1", Stage::Questions), None),
        |d| has(d, board_root::ITEMS, "q1"),
    )
    .await?;
    room.refused(&b.doc_id, "only the facilitator", |d| {
        accelerator::add_item(d, &item(&me, "i0", Stage::Ideas), None)
    })
    .await?;
    room.refused(&b.doc_id, "brings the problem", overwrite)
        .await?;

    room.control(&b.id, field::STAGE, "ideas", |d| {
        phase::set_stage(d, &b.id, AccStage::Ideas)
    })
    .await?;
    room.accepted(
        &b.doc_id,
        &fac_board,
        "an idea while ideas are open",
        |d| accelerator::add_item(d, &item(&me, "i1", Stage::Ideas), None),
        |d| has(d, board_root::ITEMS, "i1"),
    )
    .await?;
    // Questions are closed now: not even their author edits or deletes one.
    room.refused(&b.doc_id, "only the facilitator", |d| {
        accelerator::delete_item_of(d, "q1")
    })
    .await?;
    Ok(())
}
