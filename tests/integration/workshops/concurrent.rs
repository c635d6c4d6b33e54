//! Concurrent edits of one grid through the server: two clients moving the same note at once,
//! fifty clients adding notes at once; every replica and the export end with each note exactly
//! once, in one place.

use std::collections::BTreeSet;

use palabre::board::grid;
use palabre::board::schema::{board_root, field};
use palabre::board::Author;
use serde_json::Value;
use yrs::{Any, Doc, Map, Out, ReadTxn, Transact};

use super::note;
use crate::api::{edit_doc, edit_docs, join, model, wait_server_has, Workshop};
use crate::client::TestClient;
use crate::harness::{eventually, TestError, TestResult, TestServer, WAIT};

/// Columns of the five-column review template.
const FIVE: [&str; 5] = ["creer", "maintenir", "amplifier", "reduire", "arreter"];

/// A grid note's column and order key as a replica sees them.
fn note_place(doc: &Doc, id: &str) -> Option<(String, String)> {
    let txn = doc.transact();
    let notes = txn.get_map(board_root::NOTES)?;
    let Some(Out::YMap(note)) = notes.get(&txn, id) else {
        return None;
    };
    let text = |key: &str| match note.get(&txn, key) {
        Some(Out::Any(Any::String(s))) => Some(s.to_string()),
        _ => None,
    };
    Some((text(field::COLUMN)?, text(field::ORDER)?))
}

/// Every note id of a grid board in an export.json, with its column id, once per occurrence.
fn exported_notes(export: &Value, board_id: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let boards = export.get("boards").and_then(Value::as_array);
    let board = boards.and_then(|bs| {
        bs.iter()
            .find(|b| b.get("id").and_then(Value::as_str) == Some(board_id))
    });
    let columns = board
        .and_then(|b| b.pointer("/content/columns"))
        .and_then(Value::as_array);
    for column in columns.into_iter().flatten() {
        let cid = column
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("(none)")
            .to_string();
        for note in column
            .get("notes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = note.get("id").and_then(Value::as_str) {
                out.push((id.to_string(), cid.clone()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_moving_the_same_note_at_once_leave_one_note_in_one_place() -> TestResult {
    let server = TestServer::start().await?;
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let board = w.board("grid", 0)?.clone();
    let alice = join(&w, &board.doc_id, &w.participant).await?;
    let bob = join(&w, &board.doc_id, &w.participant).await?;
    // Alice's two phones (one device): only the author moves her notes.
    let author = Author::new(&w.me(), "Alice", "Centre social");
    let ids = ["disputed-1", "disputed-2", "disputed-3"];
    edit_doc(&alice, |d| {
        ids.iter()
            .try_for_each(|id| grid::add_note(d, &note(id, "creer", "Une idée", &author), None))
    })?
    .map_err(model)?;
    bob.wait_until("bob to see alice's notes", WAIT, |d| {
        ids.iter().all(|id| note_place(d, id).is_some())
    })
    .await?;

    for round in 0..5 {
        // Both move every note before either hears of the other's moves.
        edit_docs(&[&alice, &bob], || {
            ids.iter().enumerate().try_for_each(|(k, id)| {
                let to_a = FIVE[(round + k) % 5];
                let to_b = FIVE[(round + k + 2) % 5];
                grid::move_note(alice.doc(), id, to_a, 0)?;
                grid::move_note(bob.doc(), id, to_b, 1)
            })
        })?
        .map_err(model)?;
        // Both replicas settle on the same single place for each note.
        let (a, b) = (&alice, &bob);
        eventually(
            "alice and bob to agree on every note",
            WAIT,
            || async move {
                ids.iter()
                    .all(|id| note_place(a.doc(), id) == note_place(b.doc(), id))
            },
        )
        .await?;
        for (k, id) in ids.iter().enumerate() {
            let (column, _) = note_place(alice.doc(), id)
                .ok_or_else(|| TestError::Protocol(format!("{id} vanished")))?;
            let allowed = [FIVE[(round + k) % 5], FIVE[(round + k + 2) % 5]];
            assert!(
                allowed.contains(&column.as_str()),
                "{id} ended in {column}, neither mover's target {allowed:?}"
            );
        }
    }
    wait_server_has(&w.ws_url(&board.doc_id, &w.facilitator), &alice).await?;
    wait_server_has(&w.ws_url(&board.doc_id, &w.facilitator), &bob).await?;

    // The server's report, and a newcomer, see each note once, where alice and bob see it.
    let export = w.export_json().await?;
    let exported = exported_notes(&export, &board.id);
    let newcomer = join(&w, &board.doc_id, &w.viewer).await?;
    for id in ids {
        let places: Vec<&String> = exported
            .iter()
            .filter(|(n, _)| n == id)
            .map(|(_, c)| c)
            .collect();
        let here = note_place(alice.doc(), id).map(|(c, _)| c);
        assert_eq!(places.len(), 1, "{id} exported {} times", places.len());
        assert_eq!(places.first().copied(), here.as_ref(), "{id}'s column");
        assert_eq!(note_place(newcomer.doc(), id), note_place(alice.doc(), id));
    }
    assert_eq!(exported.len(), ids.len(), "no other note appeared");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_adding_notes_at_once_all_land_exactly_once() -> TestResult {
    const CLIENTS: usize = 50;
    const EACH: usize = 2;
    let server = TestServer::start().await?;
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let board = w.board("grid", 0)?.clone();
    let mut connecting = tokio::task::JoinSet::new();
    // Fifty people, fifty devices: each writes notes carrying its own device id.
    let secret = |i: usize| format!("integration-test-device-{i:02}");
    for i in 0..CLIENTS {
        let url = format!(
            "{}&device={}",
            w.ws_url(&board.doc_id, &w.participant),
            secret(i)
        );
        connecting.spawn(async move { (i, TestClient::connect(&url).await) });
    }
    let mut joined_all = Vec::new();
    while let Some(joined) = connecting.join_next().await {
        let (i, client) = joined.map_err(|e| TestError::Server(format!("connect task: {e}")))?;
        joined_all.push((i, client?));
    }
    joined_all.sort_by_key(|(i, _)| *i);
    let clients: Vec<TestClient> = joined_all.into_iter().map(|(_, c)| c).collect();
    // Every client writes its notes before any of them is sent: all additions are concurrent,
    // most at the very same position (the top of "Créer").
    let all: Vec<&TestClient> = clients.iter().collect();
    let mut expected = BTreeSet::new();
    edit_docs(&all, || {
        clients.iter().enumerate().try_for_each(|(i, c)| {
            let who = Author::new(
                &w.device_id(&secret(i)),
                &format!("Personne {i}"),
                "Structure",
            );
            (0..EACH).try_for_each(|k| {
                let id = format!("c{i:02}-{k}");
                expected.insert(id.clone());
                let column = if k == 0 { "creer" } else { FIVE[i % 5] };
                grid::add_note(c.doc(), &note(&id, column, "idée", &who), Some(0))
            })
        })
    })?
    .map_err(model)?;

    for (i, c) in clients.iter().enumerate() {
        c.wait_until(
            &format!("client {i} to hold all {} notes", CLIENTS * EACH),
            WAIT,
            |d| {
                let txn = d.transact();
                txn.get_map(board_root::NOTES)
                    .is_some_and(|m| m.len(&txn) as usize == CLIENTS * EACH)
            },
        )
        .await?;
    }
    for c in &clients {
        wait_server_has(&w.ws_url(&board.doc_id, &w.facilitator), c).await?;
    }
    let exported = exported_notes(&w.export_json().await?, &board.id);
    let ids: Vec<&String> = exported.iter().map(|(id, _)| id).collect();
    let distinct: BTreeSet<String> = ids.iter().map(|s| s.to_string()).collect();
    assert_eq!(ids.len(), CLIENTS * EACH, "notes in the export");
    assert_eq!(distinct, expected, "each note exactly once");
    Ok(())
}
