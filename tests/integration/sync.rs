//! Sync behaviour seen by yrs clients: convergence under random edits, reordering and
//! reconnects; late joiners; isolation between documents; doc id validation.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yrs::{Array, Map, Text};

use crate::client::{Snapshot, TestClient};
use crate::harness::{seed, TestError, TestResult, TestServer, WAIT};

/// Applies one random edit (map, array, text or note) to `client`'s doc; returns the id of the
/// note it added, if it added one (notes are never removed, so every one must survive).
fn random_edit(client: &mut TestClient, rng: &mut StdRng, tag: &str) -> Option<String> {
    let doc = client.doc().clone();
    let map = doc.get_or_insert_map("m");
    let array = doc.get_or_insert_array("a");
    let text = doc.get_or_insert_text("t");
    let notes = doc.get_or_insert_map(crate::client::NOTES);
    let choice = rng.random_range(0..8);
    let value: i64 = rng.random_range(-1000..1000);
    let mut added = None;
    client.edit(|txn| match choice {
        0 | 1 => {
            map.insert(txn, format!("k{}", rng.random_range(0..12)), value);
        }
        2 => {
            map.remove(txn, &format!("k{}", rng.random_range(0..12)));
        }
        3 => {
            let at = rng.random_range(0..=array.len(txn));
            array.insert(txn, at, value);
        }
        4 => {
            let len = array.len(txn);
            if len > 0 {
                let at = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - at).min(3));
                array.remove_range(txn, at, n);
            }
        }
        5 => {
            let at = rng.random_range(0..=text.len(txn));
            text.insert(txn, at, &format!("{tag}{value} "));
        }
        6 => {
            let len = text.len(txn);
            if len > 0 {
                let at = rng.random_range(0..len);
                let n = rng.random_range(1..=(len - at).min(4));
                text.remove_range(txn, at, n);
            }
        }
        _ => {
            let id = format!("{tag}-{value}-{}", rng.random::<u32>());
            notes.insert(txn, id.clone(), "post-it");
            added = Some(id);
        }
    });
    added
}

/// Waits until every client has the same snapshot; reports the disagreement otherwise.
async fn wait_converged(clients: &[TestClient], limit: Duration) -> TestResult<Snapshot> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let snapshots: Vec<Snapshot> = clients.iter().map(TestClient::snapshot).collect();
        if let Some(first) = snapshots.first() {
            if snapshots.iter().all(|s| s == first) {
                return Ok(first.clone());
            }
        }
        if tokio::time::Instant::now() >= deadline {
            let svs: Vec<String> = snapshots
                .iter()
                .map(|s| format!("{:?}", s.state_vector))
                .collect();
            return Err(TestError::Timeout {
                what: format!("convergence; state vectors:\n{}", svs.join("\n")),
                after: limit,
            });
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn assert_no_violations(clients: &[TestClient]) {
    assert_no_violations_besides(clients, &[]);
}

/// Like [`assert_no_violations`], counting also what earlier connections of the clients saw
/// (`retired`, collected by [`retire`] before each reconnect).
fn assert_no_violations_besides(clients: &[TestClient], retired: &[String]) {
    assert!(
        retired.is_empty(),
        "earlier connections saw protocol violations: {retired:?}"
    );
    for (i, c) in clients.iter().enumerate() {
        let violations = c.state().violations;
        assert!(
            violations.is_empty(),
            "client {i} saw protocol violations: {violations:?}"
        );
    }
}

/// Keeps what the client's current connection saw before that connection is replaced.
fn retire(client: &TestClient, i: usize, log: &mut Vec<String>) {
    log.extend(
        client
            .state()
            .violations
            .into_iter()
            .map(|v| format!("client {i}: {v}")),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_edits_reordering_and_reconnects_converge() -> TestResult {
    const CLIENTS: usize = 8;
    const STEPS: usize = 1500;
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0001));
    let server = TestServer::start().await?;
    let url = server.ws_url("workshop-1.board-converge");
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        clients.push(TestClient::connect(&url).await?);
    }
    let (mut reconnects, mut reorders) = (0, 0);
    let mut written = std::collections::BTreeSet::new();
    let mut retired = Vec::new();
    for step in 0..STEPS {
        let i = rng.random_range(0..CLIENTS);
        let Some(client) = clients.get_mut(i) else {
            continue;
        };
        match rng.random_range(0..100) {
            0..65 => written.extend(random_edit(client, &mut rng, &format!("c{i}s{step}"))),
            65..72 => client.hold_updates(),
            72..80 => {
                client.release_updates(&mut rng);
                reorders += 1;
            }
            80..84 if client.is_connected() => {
                retire(client, i, &mut retired);
                client.disconnect_abruptly();
            }
            84..87 if client.is_connected() => {
                retire(client, i, &mut retired);
                client.close().await;
            }
            87..94 if !client.is_connected() => {
                // A connection the server closed on its own may have seen something first.
                retire(client, i, &mut retired);
                client.reconnect().await?;
                reconnects += 1;
            }
            _ => tokio::time::sleep(Duration::from_millis(rng.random_range(0..4))).await,
        }
    }
    for (i, client) in clients.iter_mut().enumerate() {
        client.release_updates(&mut rng);
        if !client.is_connected() {
            retire(client, i, &mut retired);
            client.reconnect().await?;
        }
    }
    let agreed = wait_converged(&clients, Duration::from_secs(30)).await?;
    eprintln!(
        "{STEPS} steps, {reconnects} reconnects, {reorders} reorder releases, {} notes, {} text chars",
        agreed.notes.to_string().matches("post-it").count(),
        agreed.text.len()
    );
    assert!(
        reconnects > 0 && reorders > 0,
        "the run exercised reconnects ({reconnects}) and reorders ({reorders})"
    );
    // Every note anybody wrote — online, offline, held back, sent just before a drop — is in
    // the agreed state, and nothing else is (notes are never removed).
    let agreed_notes = clients
        .first()
        .map(TestClient::note_ids)
        .unwrap_or_default();
    assert!(!written.is_empty(), "the run wrote notes");
    assert_eq!(
        agreed_notes, written,
        "the agreed notes are exactly those written"
    );
    let late = TestClient::connect(&url).await?;
    assert_eq!(
        late.snapshot(),
        agreed,
        "a late joiner's handshake alone brings the agreed state"
    );
    assert_eq!(late.note_ids(), written);
    assert_no_violations_besides(&clients, &retired);
    Ok(())
}

#[tokio::test]
async fn late_joiner_gets_the_full_state_from_its_handshake() -> TestResult {
    let server = TestServer::start().await?;
    let url = server.ws_url("late-joiner");
    let mut writer = TestClient::connect(&url).await?;
    let witness = TestClient::connect(&url).await?;
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0002));
    for step in 0..300 {
        let _ = random_edit(&mut writer, &mut rng, &format!("w{step}"));
    }
    for n in 0..50 {
        writer.add_note(&format!("note-{n}"), "à faire : préparer la salle");
    }
    let expected = writer.snapshot();
    // Once the witness has everything, the server has committed and applied everything.
    witness
        .wait_until("the witness to receive every edit", WAIT, |doc| {
            Snapshot::of(doc) == expected
        })
        .await?;
    let late = TestClient::connect(&url).await?;
    assert_eq!(
        late.snapshot(),
        expected,
        "sync step 2 alone holds the whole doc"
    );
    let ids = late.note_ids();
    assert!(
        (0..50).all(|n| ids.contains(&format!("note-{n}"))),
        "every note is there: {ids:?}"
    );
    Ok(())
}

#[tokio::test]
async fn documents_are_isolated() -> TestResult {
    let server = TestServer::start().await?;
    let docs = ["iso", "iso.board-1", "iso.board-2", "other"];
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for doc in docs {
        writers.push(TestClient::connect(&server.ws_url(doc)).await?);
        readers.push(TestClient::connect(&server.ws_url(doc)).await?);
    }
    for (doc, writer) in docs.iter().zip(writers.iter_mut()) {
        for n in 0..20 {
            writer.add_note(&format!("{doc}/{n}"), doc);
        }
    }
    for (doc, reader) in docs.iter().zip(&readers) {
        reader
            .wait_until(&format!("the notes of {doc}"), WAIT, |d| {
                crate::client::note_ids(d).len() >= 20
            })
            .await?;
    }
    for (doc, reader) in docs.iter().zip(&readers) {
        let late = TestClient::connect(&server.ws_url(doc)).await?;
        for ids in [reader.note_ids(), late.note_ids()] {
            assert_eq!(ids.len(), 20, "{doc} holds exactly its own notes: {ids:?}");
            assert!(
                ids.iter().all(|id| id.starts_with(&format!("{doc}/"))),
                "{doc} leaked notes: {ids:?}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn invalid_document_ids_are_refused_before_the_upgrade() -> TestResult {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let server = TestServer::start().await?;
    let too_long = "a".repeat(129);
    for doc in [
        "bad%20id",
        "%C3%A9t%C3%A9",
        too_long.as_str(),
        "semi%3Bcolon",
        "dollar$",
    ] {
        match tokio_tungstenite::connect_async(server.ws_url(doc)).await {
            Err(WsError::Http(response)) => {
                assert_eq!(response.status().as_u16(), 400, "doc id {doc:?}");
            }
            Err(e) => panic!("doc id {doc:?}: expected an HTTP 400, got {e}"),
            Ok(_) => panic!("doc id {doc:?} was accepted"),
        }
    }
    let longest = "b".repeat(128);
    let mut ok = TestClient::connect(&server.ws_url(&format!("A-z_0.9{}", &longest[7..]))).await?;
    ok.add_note("n", "accepted");
    ok.wait_state("the note's relay", WAIT, |s| s.updates_received >= 1)
        .await
}

#[tokio::test]
async fn an_update_sent_just_before_closing_is_kept() -> TestResult {
    let server = TestServer::start().await?;
    let url = server.ws_url("close-right-after");
    let reader = TestClient::connect(&url).await?;
    for n in 0..20 {
        // A participant adds a post-it and closes the tab at once.
        let mut client = TestClient::connect(&url).await?;
        client.add_note(&format!("last-words-{n}"), "à bientôt");
        client.close().await;
    }
    reader
        .wait_until("every note sent right before a close", WAIT, |d| {
            crate::client::note_ids(d).len() == 20
        })
        .await?;
    let late = TestClient::connect(&url).await?;
    assert_eq!(late.note_ids().len(), 20);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_clients_on_one_doc_converge() -> TestResult {
    const CLIENTS: usize = 200;
    let server = TestServer::start().await?;
    let url = server.ws_url("amphi.board-1");
    let mut clients = Vec::with_capacity(CLIENTS);
    for _ in 0..CLIENTS {
        clients.push(TestClient::connect(&url).await?);
    }
    for (i, client) in clients.iter_mut().enumerate() {
        client.add_note(&format!("p{i}-a"), "premier post-it");
        client.add_note(&format!("p{i}-b"), "second post-it");
    }
    for (i, client) in clients.iter().enumerate() {
        client
            .wait_until(&format!("client {i} to hold every note"), WAIT, |d| {
                crate::client::note_ids(d).len() == 2 * CLIENTS
            })
            .await?;
    }
    let agreed = wait_converged(&clients, WAIT).await?;
    let late = TestClient::connect(&url).await?;
    assert_eq!(late.snapshot(), agreed);
    assert_no_violations(&clients);
    Ok(())
}
