//! What a node decides holds on every node of a cluster (three `palabre` processes, one
//! PostgreSQL, one Redis of the test's own): board locks, link rotation, join-code guess
//! limits, presence, and exports that are byte-identical whichever node renders them.

use std::time::{Duration, Instant};

use palabre::board::grid::{self, NoteInput};
use palabre::board::schema::board_root;
use palabre::board::workshop;
use palabre::board::Author;
use yrs::{Doc, Map, ReadTxn, Transact};

use crate::api::{denials, edit_doc, join, model, wait_server_has, Workshop};
use crate::cluster_sync::Cluster;
use crate::harness::{TestResult, WAIT};

/// How soon a lock set on one node must refuse writes on another (issue 14).
const LOCK_REACHES: Duration = Duration::from_secs(1);

fn note(id: &str) -> NoteInput {
    NoteInput {
        id: id.to_string(),
        column: "creer".to_string(),
        text: "idée".to_string(),
        colour: String::new(),
        author: Author::new("p-camille", "Camille", "Structure"),
        created_at: 1_700_000_000_000,
    }
}

fn has_note(doc: &Doc, id: &str) -> bool {
    let txn = doc.transact();
    txn.get_map(board_root::NOTES)
        .is_some_and(|m| m.get(&txn, id).is_some())
}

/// The workshop `w` as seen through node `i` (same secrets, that node's address).
fn on(cluster: &Cluster, w: &Workshop, i: usize) -> Workshop {
    Workshop {
        addr: cluster.nodes[i].addr(),
        ..w.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_set_through_node_a_refuses_a_participant_on_node_b_within_a_second() -> TestResult {
    // A short idle time, so that node B's own workshop room is gone when the lock is set: B
    // must learn it from the workshop doc's stream, not from a room of its own.
    let Some(cluster) = Cluster::start("locks", 2, &["--room-idle", "1s"]).await? else {
        return Ok(());
    };
    let w = Workshop::create(
        cluster.nodes[0].addr(),
        "five-columns",
        "Bilan",
        "2026-05-09",
    )
    .await?;
    let (a, b) = (on(&cluster, &w, 0), on(&cluster, &w, 1));
    let board = w.board("grid", 0)?.clone();
    let facilitator = join(&a, &w.id, &w.facilitator).await?;
    let watcher = join(&a, &board.doc_id, &w.facilitator).await?;
    let participant = join(&b, &board.doc_id, &w.participant).await?;
    edit_doc(&participant, |d| grid::add_note(d, &note("before"), None))?.map_err(model)?;
    watcher
        .wait_until("a note written on B before the lock", WAIT, |d| {
            has_note(d, "before")
        })
        .await?;
    // B now serves the board alone: its workshop room has been evicted.
    crate::harness::eventually("node B to evict its workshop room", WAIT, || async {
        crate::harness::metrics_of(cluster.nodes[1].addr())
            .await
            .is_ok_and(|m| m.value("palabre_rooms_loaded") == 1.0)
    })
    .await?;

    edit_doc(&facilitator, |d| workshop::set_locked(d, &board.id, true))?.map_err(model)?;
    wait_server_has(&a.ws_url(&w.id, &w.facilitator), &facilitator).await?;
    let locked_at = Instant::now();
    // Poll: a participant note each round until node B refuses one.
    let mut tries = 0;
    let refused_after = loop {
        let id = format!("try-{tries}");
        let before = denials(&participant).len();
        edit_doc(&participant, |d| grid::add_note(d, &note(&id), None))?.map_err(model)?;
        let refused = participant
            .wait_state("B's verdict", Duration::from_millis(100), |s| {
                s.violations.iter().filter(|v| v.contains("Auth {")).count() > before
            })
            .await
            .is_ok();
        if refused {
            break locked_at.elapsed();
        }
        tries += 1;
        assert!(
            locked_at.elapsed() < LOCK_REACHES,
            "node B still accepts notes {:?} after the lock\n{}",
            locked_at.elapsed(),
            cluster.logs()
        );
    };
    let last = denials(&participant).last().cloned().unwrap_or_default();
    assert!(last.contains("locked"), "{last}");
    eprintln!("lock reached node B after {refused_after:?} ({tries} notes accepted meanwhile)");
    // The refused note reaches nobody; the facilitator still writes through A.
    edit_doc(&watcher, |d| grid::add_note(d, &note("facilitator"), None))?.map_err(model)?;
    participant
        .wait_until("the facilitator's note through A", WAIT, |d| {
            has_note(d, "facilitator")
        })
        .await?;
    assert!(!has_note(watcher.doc(), &format!("try-{tries}")));
    Ok(())
}
