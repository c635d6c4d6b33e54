//! Every contribution belongs to a device (issue #12): forged yrs clients holding the participant
//! link and a device secret of their own try to change what is someone else's. Each attempt is
//! refused with a reason, leaves the server's doc byte-identical and reaches no other client,
//! while the owner's own edits still go through. And whatever anyone deletes lands in the bin.

use palabre::board::bin;
use palabre::board::grid::{self, NoteInput};
use palabre::board::schema::{board_root, field};
use palabre::board::workshop::set_votes_per_person;
use palabre::board::{Author, BoardError};
use yrs::{Doc, Map, Out, ReadTxn, Transact, WriteTxn};

use crate::api::{
    denials, edit_doc, join, join_device, model, server_state, wait_denied, wait_server_has,
    Workshop,
};
use crate::client::TestClient;
use crate::harness::{TestResult, TestServer, WAIT};

const ALICE: &str = "alice-secret-000000000000";
const BOB: &str = "bob-secret-00000000000000";

fn note(author: &str, id: &str) -> NoteInput {
    NoteInput {
        id: id.to_string(),
        column: "creer".to_string(),
        text: format!("note {id}"),
        colour: String::new(),
        author: Author::new(author, "Quelqu'un", "Structure"),
        created_at: 1_700_000_000_000,
    }
}

fn text_of(doc: &Doc, id: &str) -> Option<String> {
    let txn = doc.transact();
    match txn.get_map(board_root::NOTES)?.get(&txn, id)? {
        Out::YMap(n) => n.get(&txn, field::TEXT).map(|t| t.to_string(&txn)),
        _ => None,
    }
}

/// A grid board with a note by Alice, Alice and Bob on their own devices, and a bystander.
struct Board {
    _server: TestServer,
    w: Workshop,
    doc_id: String,
    bid: String,
    alice: TestClient,
    facilitator: TestClient,
    bystander: TestClient,
}

impl Board {
    async fn new() -> TestResult<Self> {
        let server = TestServer::start().await?;
        let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
        let b = w.board("grid", 0)?.clone();
        let alice = join_device(&w, &b.doc_id, &w.participant, ALICE).await?;
        let facilitator = join(&w, &b.doc_id, &w.facilitator).await?;
        let bystander = join(&w, &b.doc_id, &w.participant).await?;
        let a = w.device_id(ALICE);
        edit_doc(&alice, |d| grid::add_note(d, &note(&a, "a1"), None))?.map_err(model)?;
        bystander
            .wait_until("alice's note", WAIT, |d| text_of(d, "a1").is_some())
            .await?;
        Ok(Board {
            _server: server,
            w,
            doc_id: b.doc_id,
            bid: b.id,
            alice,
            facilitator,
            bystander,
        })
    }

    /// Bob's fresh connection makes `edit`: refused with `reason`, the doc byte-identical.
    async fn bob_refused(
        &self,
        reason: &str,
        edit: impl FnOnce(&Doc) -> Result<(), BoardError>,
    ) -> TestResult {
        let bob = join_device(&self.w, &self.doc_id, &self.w.participant, BOB).await?;
        let url = self.w.ws_url(&self.doc_id, &self.w.facilitator);
        let before = server_state(&url).await?;
        edit_doc(&bob, edit)?.map_err(model)?;
        let denied = wait_denied(&bob, 0).await?;
        let last = denied.last().cloned().unwrap_or_default();
        assert!(
            last.contains(reason),
            "denial {last:?} should say {reason:?}"
        );
        assert_eq!(server_state(&url).await?, before, "the doc changed");
        assert!(
            bob.is_connected(),
            "one refusal does not cost the connection"
        );
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_changes_only_their_own_notes() -> TestResult {
    let b = Board::new().await?;
    let (a, bob) = (b.w.device_id(ALICE), b.w.device_id(BOB));
    b.bob_refused("your own", |d| grid::edit_note(d, "a1", "piraté"))
        .await?;
    b.bob_refused("your own", |d| grid::delete_note(d, "a1"))
        .await?;
    b.bob_refused("your own", |d| grid::move_note(d, "a1", "arreter", 0))
        .await?;
    b.bob_refused("your own", |d| {
        let mut txn = d.transact_mut();
        let notes = txn.get_or_insert_map(board_root::NOTES);
        if let Some(Out::YMap(n)) = notes.get(&txn, "a1") {
            n.insert(&mut txn, field::AUTHOR_ID, bob.as_str());
            n.insert(&mut txn, field::AUTHOR_NAME, "Bob");
        }
        Ok(())
    })
    .await?;
    b.bob_refused("your own device id", |d| {
        grid::add_note(d, &note(&a, "forged"), None)
    })
    .await?;
    b.bob_refused("own votes", |d| grid::vote(d, "a1", &a, 0).map(|_| ()))
        .await?;
    // A connection with no device id writes no contribution at all.
    let anonymous =
        crate::client::TestClient::connect(&b.w.ws_url(&b.doc_id, &b.w.participant)).await?;
    edit_doc(&anonymous, |d| grid::add_note(d, &note("", "anon"), None))?.map_err(model)?;
    let denied = wait_denied(&anonymous, 0).await?;
    assert!(
        denied.iter().any(|d| d.contains("no device id")),
        "{denied:?}"
    );

    // Nothing of it reached the bystander; Alice's own edit still goes through, and Bob votes
    // on Alice's note under his own key.
    edit_doc(&b.alice, |d| {
        grid::edit_note(d, "a1", "reformulée par Alice")
    })?
    .map_err(model)?;
    b.bystander
        .wait_until("alice's own edit", WAIT, |d| {
            text_of(d, "a1").as_deref() == Some("reformulée par Alice")
        })
        .await?;
    let bob_phone = join_device(&b.w, &b.doc_id, &b.w.participant, BOB).await?;
    edit_doc(&bob_phone, |d| grid::vote(d, "a1", &bob, 0).map(|_| ()))?.map_err(model)?;
    wait_server_has(&b.w.ws_url(&b.doc_id, &b.w.facilitator), &bob_phone).await?;
    assert!(denials(&bob_phone).is_empty(), "{:?}", denials(&bob_phone));
    assert!(denials(&b.alice).is_empty(), "{:?}", denials(&b.alice));
    assert!(text_of(b.bystander.doc(), "forged").is_none());
    assert!(b.bystander.is_connected());
    // The facilitator may change anything.
    edit_doc(&b.facilitator, |d| grid::edit_note(d, "a1", "modérée"))?.map_err(model)?;
    b.bystander
        .wait_until("the facilitator's edit", WAIT, |d| {
            text_of(d, "a1").as_deref() == Some("modérée")
        })
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_vote_past_a_budget_of_one_is_refused() -> TestResult {
    let b = Board::new().await?;
    let workshop = join(&b.w, &b.w.id, &b.w.facilitator).await?;
    edit_doc(&workshop, |d| set_votes_per_person(d, &b.bid, 1))?.map_err(model)?;
    wait_server_has(&b.w.ws_url(&b.w.id, &b.w.facilitator), &workshop).await?;
    let bob = b.w.device_id(BOB);
    let bob_phone = join_device(&b.w, &b.doc_id, &b.w.participant, BOB).await?;
    edit_doc(&bob_phone, |d| {
        grid::add_note(d, &note(&bob, "b1"), None)?;
        grid::vote(d, "a1", &bob, 0).map(|_| ())
    })?
    .map_err(model)?;
    wait_server_has(&b.w.ws_url(&b.doc_id, &b.w.facilitator), &bob_phone).await?;
    assert!(denials(&bob_phone).is_empty(), "{:?}", denials(&bob_phone));
    // The writer would refuse a second dot (limit 1); a forger passes no limit.
    b.bob_refused("all your votes", |d| {
        grid::vote(d, "b1", &bob, 0).map(|_| ())
    })
    .await?;
    b.bob_refused("all your votes", |d| {
        grid::vote(d, "a1", &bob, 0).map(|_| ())
    })
    .await?;
    // Taking the dot back and placing it elsewhere is fine.
    edit_doc(&bob_phone, |d| {
        grid::unvote(d, "a1", &bob)?;
        grid::vote(d, "b1", &bob, 1).map(|_| ())
    })?
    .map_err(model)?;
    wait_server_has(&b.w.ws_url(&b.doc_id, &b.w.facilitator), &bob_phone).await?;
    assert!(denials(&bob_phone).is_empty(), "{:?}", denials(&bob_phone));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_notes_go_to_the_bin_and_come_back_from_it() -> TestResult {
    let b = Board::new().await?;
    let a = b.w.device_id(ALICE);
    edit_doc(&b.alice, |d| grid::add_note(d, &note(&a, "a2"), None))?.map_err(model)?;
    // Alice deletes her own note; the facilitator deletes the other one.
    edit_doc(&b.alice, |d| grid::delete_note(d, "a2"))?.map_err(model)?;
    b.facilitator
        .wait_until("a2 in the bin", WAIT, |d| {
            bin::read(d).iter().any(|e| e.id == "a2")
        })
        .await?;
    edit_doc(&b.facilitator, |d| grid::delete_note(d, "a1"))?.map_err(model)?;
    b.bystander
        .wait_until("a1 in the bin", WAIT, |d| {
            bin::read(d).iter().any(|e| e.id == "a1")
        })
        .await?;
    let kept = bin::read(b.bystander.doc());
    let a1 = kept
        .iter()
        .find(|e| e.id == "a1")
        .cloned()
        .unwrap_or_else(|| panic!("{kept:?}"));
    assert_eq!(a1.author, a);
    assert_eq!(a1.deleted_by, bin::BY_FACILITATOR);
    assert!(a1.data.contains("note a1"), "{}", a1.data);
    let a2 = kept
        .iter()
        .find(|e| e.id == "a2")
        .cloned()
        .unwrap_or_else(|| panic!("{kept:?}"));
    assert_eq!(a2.deleted_by, a);

    // A participant cannot empty the bin.
    b.bob_refused("only the facilitator", |d| {
        let mut txn = d.transact_mut();
        let bin = txn.get_or_insert_map(board_root::BIN);
        bin.remove(&mut txn, "a1");
        Ok(())
    })
    .await?;

    // Alice brings her own note back (what her phone's undo does): its bin entry goes.
    edit_doc(&b.alice, |d| grid::add_note(d, &note(&a, "a2"), None))?.map_err(model)?;
    b.bystander
        .wait_until("a2 back, out of the bin", WAIT, |d| {
            text_of(d, "a2").is_some() && !bin::read(d).iter().any(|e| e.id == "a2")
        })
        .await?;
    assert!(denials(&b.alice).is_empty(), "{:?}", denials(&b.alice));
    Ok(())
}

/// The server checks a participant's update against the board as it keeps it, read again only
/// where each change touched it: whatever changed the board before — the facilitator, a
/// server-side edit, a refused forgery and the reload after it — must be what the next check
/// sees. Each step below passes only if the kept board followed the one before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_follows_every_change_to_the_board() -> TestResult {
    let b = Board::new().await?;
    let (a, bob) = (b.w.device_id(ALICE), b.w.device_id(BOB));
    let bob_phone = join_device(&b.w, &b.doc_id, &b.w.participant, BOB).await?;
    let fac_url = b.w.ws_url(&b.doc_id, &b.w.facilitator);
    let reauthor = |to: String| {
        move |d: &Doc| {
            let mut txn = d.transact_mut();
            let notes = txn.get_or_insert_map(board_root::NOTES);
            if let Some(Out::YMap(n)) = notes.get(&txn, "a1") {
                n.insert(&mut txn, field::AUTHOR_ID, to.as_str());
            }
            Ok::<(), BoardError>(())
        }
    };
    // The facilitator hands Alice's note to Bob: Bob may now edit it, Alice no longer.
    edit_doc(&b.facilitator, reauthor(bob.clone()))?.map_err(model)?;
    wait_server_has(&fac_url, &b.facilitator).await?;
    bob_phone
        .wait_until("the note is Bob's", WAIT, |d| {
            let txn = d.transact();
            let note = txn
                .get_map(board_root::NOTES)
                .and_then(|n| n.get(&txn, "a1"));
            let author = match note {
                Some(Out::YMap(m)) => m.get(&txn, field::AUTHOR_ID).map(|v| v.to_string(&txn)),
                _ => None,
            };
            author.as_deref() == Some(bob.as_str())
        })
        .await?;
    edit_doc(&bob_phone, |d| grid::edit_note(d, "a1", "à Bob maintenant"))?.map_err(model)?;
    wait_server_has(&fac_url, &bob_phone).await?;
    assert!(denials(&bob_phone).is_empty(), "{:?}", denials(&bob_phone));
    edit_doc(&b.alice, |d| grid::edit_note(d, "a1", "encore à moi ?"))?.map_err(model)?;
    let denied = wait_denied(&b.alice, 0).await?;
    assert!(denied.iter().any(|d| d.contains("your own")), "{denied:?}");

    // That refusal rebuilt the doc from disk; Bob's note is still his, Alice's new one hers.
    let alice = join_device(&b.w, &b.doc_id, &b.w.participant, ALICE).await?;
    edit_doc(&alice, |d| grid::add_note(d, &note(&a, "a2"), None))?.map_err(model)?;
    wait_server_has(&fac_url, &alice).await?;
    assert!(denials(&alice).is_empty(), "{:?}", denials(&alice));
    b.bob_refused("your own", |d| grid::edit_note(d, "a2", "piraté"))
        .await?;
    assert_eq!(
        text_of(
            &palabre::board::doc_from_update(&server_state(&fac_url).await?).map_err(model)?,
            "a1"
        )
        .as_deref(),
        Some("à Bob maintenant")
    );

    // The facilitator deletes Bob's note (a server-written bin entry follows), then gives it
    // back to Alice by re-creating it under her id: she edits it, Bob cannot.
    edit_doc(&b.facilitator, |d| grid::delete_note(d, "a1"))?.map_err(model)?;
    b.facilitator
        .wait_until("a1 in the bin", WAIT, |d| {
            bin::read(d).iter().any(|e| e.id == "a1")
        })
        .await?;
    edit_doc(&b.facilitator, |d| grid::add_note(d, &note(&a, "a1"), None))?.map_err(model)?;
    alice
        .wait_until("a1 back", WAIT, |d| text_of(d, "a1").is_some())
        .await?;
    edit_doc(&alice, |d| grid::edit_note(d, "a1", "rendue à Alice"))?.map_err(model)?;
    wait_server_has(&fac_url, &alice).await?;
    assert!(denials(&alice).is_empty(), "{:?}", denials(&alice));
    b.bob_refused("your own", |d| grid::edit_note(d, "a1", "piraté"))
        .await?;
    Ok(())
}

/// A refusal after applying is undone by rebuilding the doc from disk (what the doc weighs):
/// one connection gets three a minute, then it is closed; the others keep writing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forger_refused_again_and_again_is_shown_the_door() -> TestResult {
    let b = Board::new().await?;
    let bob = join_device(&b.w, &b.doc_id, &b.w.participant, BOB).await?;
    // Each forgery from a fresh client id on the server's state, as a forger that wants each
    // one judged (its own client's next updates would wait on the refused one forever).
    let base = server_state(&b.w.ws_url(&b.doc_id, &b.w.facilitator)).await?;
    let forge = |i: usize| -> TestResult<Vec<u8>> {
        let doc = palabre::board::doc_from_update(&base).map_err(model)?;
        let sv = doc.transact().state_vector();
        grid::edit_note(&doc, "a1", &format!("piraté {i}")).map_err(model)?;
        let update = doc.transact().encode_state_as_update_v1(&sv);
        Ok(palabre::protocol::encode_update(&update).to_vec())
    };
    for i in 0..3 {
        bob.send_raw(forge(i)?);
        wait_denied(&bob, i).await?;
    }
    assert!(bob.is_connected(), "three refusals keep the connection");
    bob.send_raw(forge(3)?);
    let closed = bob.wait_closed().await?;
    assert_eq!(closed.code, Some(1008), "{closed:?}");
    let m = b._server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"undone_flood\"}"),
        1.0
    );
    // Alice, on the same board, still writes.
    edit_doc(&b.alice, |d| grid::edit_note(d, "a1", "toujours à Alice"))?.map_err(model)?;
    b.bystander
        .wait_until("alice's edit", WAIT, |d| {
            text_of(d, "a1").as_deref() == Some("toujours à Alice")
        })
        .await?;
    Ok(())
}

/// Sends a presence state for any client id and clock, as a forger would.
fn forge_presence(client: &TestClient, id: u64, clock: u32, json: &str) {
    use yrs::sync::awareness::{AwarenessUpdate, AwarenessUpdateEntry};
    let mut clients = std::collections::HashMap::new();
    clients.insert(
        yrs::ClientID::new(id),
        AwarenessUpdateEntry {
            clock,
            json: std::sync::Arc::from(json),
        },
    );
    client.send_raw(palabre::protocol::encode_awareness(&AwarenessUpdate {
        clients,
    }));
}

fn shown(client: &TestClient, id: u64) -> Option<String> {
    client
        .state()
        .awareness
        .get(&id)
        .and_then(|p| p.state.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_overwrites_someone_elses_presence_or_poses_as_the_projector() -> TestResult {
    let b = Board::new().await?;
    let (a, bob) = (b.w.device_id(ALICE), b.w.device_id(BOB));
    let mut alice = join_device(&b.w, &b.w.id, &b.w.participant, ALICE).await?;
    let watcher = join(&b.w, &b.w.id, &b.w.facilitator).await?;
    let honest = format!(r#"{{"id":"{a}","name":"Alice","screen":"participant"}}"#);
    alice.set_awareness(&honest);
    let alice_id = alice.client_id();
    watcher
        .wait_state("alice's presence", WAIT, |s| {
            s.awareness
                .get(&alice_id)
                .is_some_and(|p| p.state.as_deref() == Some(honest.as_str()))
        })
        .await?;

    // Bob overwrites Alice's client id with a newer clock, removes it, poses as the projector,
    // and as Alice's device: all dropped.
    let mallory = join_device(&b.w, &b.w.id, &b.w.participant, BOB).await?;
    let slur =
        format!(r#"{{"id":"{a}","name":"Alice (I hate this workshop)","screen":"participant"}}"#);
    forge_presence(&mallory, alice_id, 100, &slur);
    forge_presence(&mallory, alice_id, 101, "null");
    let own_id = mallory.client_id();
    forge_presence(
        &mallory,
        own_id,
        1,
        &format!(r#"{{"id":"{bob}","name":"Projecteur","screen":"projector"}}"#),
    );
    forge_presence(
        &mallory,
        own_id,
        2,
        &format!(r#"{{"id":"{a}","name":"Alice bis","screen":"participant"}}"#),
    );
    // Then an honest state: once it arrives, anything accepted before it would have too.
    let bobs = format!(r#"{{"id":"{bob}","name":"Bob","screen":"participant"}}"#);
    forge_presence(&mallory, own_id, 3, &bobs);
    watcher
        .wait_state("bob's honest presence", WAIT, |s| {
            s.awareness
                .get(&own_id)
                .is_some_and(|p| p.state.as_deref() == Some(bobs.as_str()))
        })
        .await?;
    assert_eq!(shown(&watcher, alice_id).as_deref(), Some(honest.as_str()));
    let m = b._server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"presence_not_owner\"}") >= 2.0);
    assert!(m.value("palabre_rejected_total{reason=\"presence_forged\"}") >= 2.0);

    // Alice's phone reconnecting on a new socket (same device) takes its client id over.
    let again = format!(r#"{{"id":"{a}","name":"Alice","screen":"participant","board":"x"}}"#);
    let phone = join_device(&b.w, &b.w.id, &b.w.participant, ALICE).await?;
    forge_presence(&phone, alice_id, 50, &again);
    watcher
        .wait_state("alice's presence from her new socket", WAIT, |s| {
            s.awareness
                .get(&alice_id)
                .is_some_and(|p| p.state.as_deref() == Some(again.as_str()))
        })
        .await?;
    Ok(())
}
