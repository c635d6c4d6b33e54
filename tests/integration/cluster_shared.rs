//! What a node decides holds on every node of a cluster (three `palabre` processes, one
//! PostgreSQL, one Redis of the test's own): board locks, link rotation, join-code guess
//! limits (`cluster_guesses.rs`), presence, and exports that are byte-identical whichever node
//! renders them.

use std::time::{Duration, Instant};

use palabre::board::grid::{self, NoteInput};
use palabre::board::schema::board_root;
use palabre::board::workshop;
use palabre::board::Author;
use yrs::{Doc, Map, ReadTxn, Transact};

use serde_json::Value;

use crate::api::{
    denials, edit_doc, get, join, model, send_json, upgrade, wait_server_has, Workshop,
};
use crate::cluster_sync::Cluster;
use crate::harness::{TestResult, WAIT};

/// How soon a lock set on one node must refuse writes on another (issue 14).
const LOCK_REACHES: Duration = Duration::from_secs(1);

/// A note by the device every [`join`] holds (participants may only write their own).
fn note(w: &Workshop, id: &str) -> NoteInput {
    NoteInput {
        id: id.to_string(),
        column: "creer".to_string(),
        text: "une-note-du-groupe".to_string(),
        colour: String::new(),
        author: Author::new(&w.me(), "Camille", "Structure"),
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
    edit_doc(&participant, |d| {
        grid::add_note(d, &note(&w, "before"), None)
    })?
    .map_err(model)?;
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
        edit_doc(&participant, |d| grid::add_note(d, &note(&w, &id), None))?.map_err(model)?;
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
    edit_doc(&watcher, |d| {
        grid::add_note(d, &note(&w, "facilitator"), None)
    })?
    .map_err(model)?;
    participant
        .wait_until("the facilitator's note through A", WAIT, |d| {
            has_note(d, "facilitator")
        })
        .await?;
    assert!(!has_note(watcher.doc(), &format!("try-{tries}")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_on_node_a_closes_the_old_links_on_node_c_which_refuses_them() -> TestResult {
    let Some(cluster) = Cluster::start("rotation", 3, &[]).await? else {
        return Ok(());
    };
    let w = Workshop::create(
        cluster.nodes[0].addr(),
        "five-columns",
        "Bilan",
        "2026-05-09",
    )
    .await?;
    let (a, c) = (on(&cluster, &w, 0), on(&cluster, &w, 2));
    let board = w.board("grid", 0)?.doc_id.clone();
    // Node C has every role's secret cached and a connection opened with each.
    let participant = join(&c, &board, &w.participant).await?;
    let viewer = join(&c, &w.id, &w.viewer).await?;
    let facilitator = join(&c, &w.id, &w.facilitator).await?;
    assert_eq!(
        get(c.addr, &format!("/api/join/{}", w.join_code), None)
            .await?
            .status,
        200
    );

    let r = send_json(
        a.addr,
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
    let new_participant = secret("participant");
    assert_eq!(
        secret("viewer"),
        w.viewer,
        "renewing the links keeps the projector's"
    );

    let closed = participant
        .wait_closed()
        .await
        .inspect_err(|_| eprintln!("{}", cluster.logs()))?;
    assert_eq!(closed.code, Some(4001), "participant on node C: {closed:?}");
    assert!(
        facilitator.is_connected(),
        "the facilitator's secret did not change"
    );
    for doc in [w.id.as_str(), board.as_str()] {
        let (status, _) = upgrade(&c.ws_url(doc, &w.participant), &[]).await?;
        assert_eq!(
            status, 403,
            "the old participant secret on {doc} through node C"
        );
        for kept in [&new_participant, &w.viewer] {
            let (status, body) = upgrade(&c.ws_url(doc, kept), &[]).await?;
            assert_eq!(
                status, 101,
                "a current secret on {doc} through node C: {body}"
            );
        }
    }
    assert!(
        viewer.is_connected(),
        "the projector stays connected through a renewal"
    );
    get(c.addr, &format!("/api/join/{}", w.join_code), None)
        .await?
        .assert_error(404, "the old join code on node C")?;

    // The facilitator's own rotation through C closes its old connections on A.
    let on_a = join(&a, &w.id, &w.facilitator).await?;
    let r = send_json(
        c.addr,
        "POST",
        &format!("/api/workshops/{}/rotate-facilitator", w.id),
        Some(&w.facilitator),
        None,
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(on_a.wait_closed().await?.code, Some(4001));
    let (status, _) = upgrade(&a.ws_url(&w.id, &w.facilitator), &[]).await?;
    assert_eq!(status, 403, "the old facilitator secret through node A");
    // Renewing the facilitator's link renews the projector's with it: a leaked viewer link
    // can be revoked, on every node.
    assert_eq!(
        viewer.wait_closed().await?.code,
        Some(4001),
        "the old projector link on C"
    );
    let (status, _) = upgrade(&a.ws_url(&w.id, &w.viewer), &[]).await?;
    assert_eq!(status, 403, "the old viewer secret through node A");
    Ok(())
}

fn presence_of(client: &crate::client::TestClient, id: u64) -> Option<Option<String>> {
    client.state().awareness.get(&id).map(|p| p.state.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_on_node_b_is_seen_on_node_a_and_leaves_with_its_client_or_node() -> TestResult {
    let Some(mut cluster) = Cluster::start("presence", 2, &["--awareness-timeout", "6s"]).await?
    else {
        return Ok(());
    };
    let doc = "cluster.presence";
    let projector = crate::client::TestClient::connect(&cluster.url(0, doc)).await?;
    let mut alice = crate::client::TestClient::connect(&cluster.url(1, doc)).await?;
    let alice_id = alice.client_id();
    alice.set_awareness(r#"{"user":{"name":"Alice"}}"#);
    projector
        .wait_state("Alice (on B) on A's projector", WAIT, |s| {
            s.awareness
                .get(&alice_id)
                .is_some_and(|p| p.state.as_deref().is_some_and(|j| j.contains("Alice")))
        })
        .await
        .inspect_err(|_| eprintln!("{}", cluster.logs()))?;
    // A newcomer on A is told at once, as part of joining.
    let late = crate::client::TestClient::connect(&cluster.url(0, doc)).await?;
    late.wait_state("Alice in a late joiner's first presence", WAIT, |s| {
        s.awareness
            .get(&alice_id)
            .is_some_and(|p| p.state.is_some())
    })
    .await?;
    alice.close().await;
    for (who, client) in [("projector", &projector), ("late joiner", &late)] {
        client
            .wait_state(&format!("Alice removed from the {who}"), WAIT, |s| {
                s.awareness
                    .get(&alice_id)
                    .is_some_and(|p| p.state.is_none())
            })
            .await?;
    }

    // A node that dies sends no removal: its presences expire on the others.
    let mut bob = crate::client::TestClient::connect(&cluster.url(1, doc)).await?;
    let bob_id = bob.client_id();
    bob.set_awareness(r#"{"user":{"name":"Bob"}}"#);
    projector
        .wait_state("Bob (on B) on A", WAIT, |s| {
            s.awareness.get(&bob_id).is_some_and(|p| p.state.is_some())
        })
        .await?;
    let node_b = cluster.nodes.remove(1);
    node_b.kill().await?;
    projector
        .wait_state("Bob expired after his node died", WAIT, |s| {
            s.awareness.get(&bob_id).is_some_and(|p| p.state.is_none())
        })
        .await?;
    assert_eq!(presence_of(&projector, alice_id), Some(None));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_of_a_workshop_written_through_every_node_are_byte_identical() -> TestResult {
    let Some(cluster) = Cluster::start("exports", 3, &[]).await? else {
        return Ok(());
    };
    let w = Workshop::create(
        cluster.nodes[0].addr(),
        "five-columns",
        "Bilan",
        "2026-05-09",
    )
    .await?;
    let board = w.board("grid", 0)?.doc_id.clone();
    let mut writers = Vec::new();
    for i in 0..3 {
        writers.push(join(&on(&cluster, &w, i), &board, &w.participant).await?);
    }
    let mut ids = Vec::new();
    for round in 0..4 {
        for (i, writer) in writers.iter().enumerate() {
            let id = format!("n{round}-{i}");
            edit_doc(writer, |d| grid::add_note(d, &note(&w, &id), None))?.map_err(model)?;
            ids.push(id);
        }
    }
    for writer in &writers {
        let want = ids.clone();
        writer
            .wait_until("every note on every node", WAIT, move |d| {
                want.iter().all(|id| has_note(d, id))
            })
            .await?;
    }
    for ext in ["md", "csv", "json", "html"] {
        let mut bodies = Vec::new();
        for i in 0..3 {
            let body = on(&cluster, &w, i).export_ok(ext).await?;
            assert_eq!(
                body.matches("une-note-du-groupe").count(),
                ids.len(),
                "export.{ext} from node {i} holds every note"
            );
            bodies.push(body);
        }
        assert!(
            bodies.windows(2).all(|p| p[0] == p[1]),
            "export.{ext} differs between nodes"
        );
    }
    Ok(())
}
