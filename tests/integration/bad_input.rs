//! Hostile and broken input: each bad frame closes only the connection that sent it, with
//! the right close code; the document is unchanged and everyone else keeps syncing.
//! Allocation bombs are refused without the allocation; random short frames never hurt
//! (`bad_input/bounds.rs`).

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Map, ReadTxn, Transact, Update};

use crate::client::{Closed, Snapshot, TestClient, NOTES};
use crate::harness::{io, seed, ChildServer, TestResult, TestServer, WAIT};

#[path = "bad_input/bounds.rs"]
mod bounds;

/// Frames above this are refused in these tests.
const MAX_MESSAGE: usize = 64 * 1024;
const DOC: &str = "atelier.board-bad-input";

/// A server with two well-behaved clients sharing a doc that already holds some notes.
struct Scene {
    server: TestServer,
    alice: TestClient,
    bob: TestClient,
    before: Snapshot,
    checks: usize,
}

impl Scene {
    async fn new() -> TestResult<Self> {
        let server = TestServer::start_with(|c| c.max_message_bytes = MAX_MESSAGE).await?;
        let mut alice = TestClient::connect(&server.ws_url(DOC)).await?;
        let bob = TestClient::connect(&server.ws_url(DOC)).await?;
        for n in 0..20 {
            alice.add_note(&format!("before-{n}"), "ce qui marche bien");
        }
        let before = alice.snapshot();
        bob.wait_until("bob to have alice's notes", WAIT, |d| {
            Snapshot::of(d) == before
        })
        .await?;
        Ok(Scene {
            server,
            alice,
            bob,
            before,
            checks: 0,
        })
    }

    /// Connects an offender (after a normal handshake), sends `frame`, returns how it was closed.
    async fn offend(&self, frame: Vec<u8>) -> TestResult<Closed> {
        let offender = TestClient::connect(&self.server.ws_url(DOC)).await?;
        offender.send_raw(frame);
        offender.wait_closed().await
    }

    /// The doc is as before, alice and bob are still connected and still sync both ways.
    async fn assert_unharmed(&mut self, case: &str) -> TestResult {
        let fresh = TestClient::connect(&self.server.ws_url(DOC)).await?;
        assert_eq!(
            fresh.snapshot(),
            self.before,
            "{case}: the stored doc is unchanged"
        );
        assert!(
            self.alice.is_connected() && self.bob.is_connected(),
            "{case}: the others stay connected"
        );
        self.checks += 1;
        let (a, b) = (
            format!("alice-after-{}", self.checks),
            format!("bob-after-{}", self.checks),
        );
        self.alice.add_note(&a, "toujours là");
        self.bob.add_note(&b, "moi aussi");
        for client in [&self.alice, &self.bob] {
            client
                .wait_until(&format!("{case}: both notes to sync"), WAIT, |d| {
                    let ids = crate::client::note_ids(d);
                    ids.contains(&a) && ids.contains(&b)
                })
                .await?;
        }
        self.before = self.alice.snapshot();
        Ok(())
    }

    async fn rejected(&self, reason: &str) -> TestResult<f64> {
        Ok(self
            .server
            .metrics()
            .await?
            .value(&format!("palabre_rejected_total{{reason=\"{reason}\"}}")))
    }
}

fn varuint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn var_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    varuint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A one-item v1 update written by hand: `client`/`clock`, content kind `info` (no origins,
/// parent = root text `t`), followed by `content`, and an empty delete set.
fn handmade_update(client: u64, clock: u64, info: u8, content: &[u8]) -> Vec<u8> {
    let mut u = vec![1, 1];
    varuint(client, &mut u);
    varuint(clock, &mut u);
    u.push(info);
    u.push(1);
    var_bytes(b"t", &mut u);
    u.extend_from_slice(content);
    u.push(0);
    u
}

/// A y-protocols sync frame of `subtype` carrying `payload`.
fn sync_frame(subtype: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0, subtype];
    var_bytes(payload, &mut f);
    f
}

fn awareness_frame(payload: &[u8]) -> Vec<u8> {
    let mut f = vec![1];
    var_bytes(payload, &mut f);
    f
}

/// A valid update frame adding one note, `len` bytes of text long.
fn note_update_frame(id: &str, len: usize) -> Vec<u8> {
    let doc = Doc::new();
    let notes = doc.get_or_insert_map(NOTES);
    let mut txn = doc.transact_mut();
    notes.insert(&mut txn, id, "x".repeat(len));
    palabre::protocol::encode_update(&txn.encode_update_v1()).to_vec()
}

#[test]
fn handmade_updates_are_well_formed() {
    // Guards the tests below: the same bytes with sane values are a valid update.
    let mut content = Vec::new();
    var_bytes(b"ok", &mut content);
    let update = handmade_update(7, 0, 4, &content);
    let doc = Doc::new();
    let text = doc.get_or_insert_text("t");
    let decoded = Update::decode_v1(&update).map_err(|e| e.to_string());
    assert!(decoded.is_ok(), "{decoded:?}");
    if let Ok(decoded) = decoded {
        let applied = doc
            .transact_mut()
            .apply_update(decoded)
            .map_err(|e| e.to_string());
        assert!(applied.is_ok(), "{applied:?}");
    }
    assert_eq!(text.get_string(&doc.transact()), "ok");
}

#[tokio::test]
async fn garbage_bytes_close_only_that_connection_with_1007() -> TestResult {
    let mut scene = Scene::new().await?;
    let mut bad_presence = Vec::new();
    varuint(1, &mut bad_presence);
    varuint(42, &mut bad_presence);
    varuint(1, &mut bad_presence);
    var_bytes(b"{\"user\": oops", &mut bad_presence);
    let cases: [(&str, Vec<u8>); 7] = [
        (
            "awareness state that is not JSON",
            awareness_frame(&bad_presence),
        ),
        (
            "random-looking bytes",
            b"\xde\xad\xbe\xef not y-protocols".to_vec(),
        ),
        ("unknown message type", vec![9, 1, 2, 3]),
        ("unknown sync type", vec![0, 7, 1, 0]),
        ("empty frame", Vec::new()),
        ("trailing bytes after query-awareness", vec![3, 0, 0]),
        ("overlong varint", vec![0xff; 12]),
    ];
    for (case, frame) in cases {
        let closed = scene.offend(frame).await?;
        assert_eq!(closed.code, Some(1007), "{case}: {closed:?}");
        scene.assert_unharmed(case).await?;
    }
    assert!(
        scene.rejected("unknown_message_type").await? >= 1.0,
        "rejections are counted by reason"
    );
    Ok(())
}

#[tokio::test]
async fn truncated_messages_close_only_that_connection_with_1007() -> TestResult {
    let mut scene = Scene::new().await?;
    let update = note_update_frame("never-stored", 40);
    let step1 =
        palabre::protocol::encode_sync_step1(&scene.alice.doc().transact().state_vector()).to_vec();
    let mut awareness = Vec::new();
    varuint(1, &mut awareness);
    varuint(42, &mut awareness);
    varuint(1, &mut awareness);
    var_bytes(br#"{"name":"Camille"}"#, &mut awareness);
    let awareness = awareness_frame(&awareness);
    for (case, frame) in [
        ("update", &update),
        ("sync step 1", &step1),
        ("awareness", &awareness),
    ] {
        for cut in [1, frame.len() / 2, frame.len() - 1] {
            let closed = scene
                .offend(frame.get(..cut).unwrap_or_default().to_vec())
                .await?;
            assert_eq!(closed.code, Some(1007), "{case} cut at {cut}: {closed:?}");
        }
        scene.assert_unharmed(case).await?;
    }
    Ok(())
}

#[tokio::test]
async fn malformed_updates_close_only_that_connection_with_1007() -> TestResult {
    let mut scene = Scene::new().await?;
    let mut bad_json = Vec::new();
    var_bytes(b"{not json", &mut bad_json);
    let mut text = Vec::new();
    var_bytes(b"hello", &mut text);
    let mut invalid_utf8 = Vec::new();
    var_bytes(&[0xff, 0xfe, 0xfd], &mut invalid_utf8);
    let cases: [(&str, Vec<u8>); 7] = [
        ("garbage payload", sync_frame(2, b"\x05\x04\x03\x02\x01")),
        ("garbage sync step 2", sync_frame(1, b"\x01\x01\x01")),
        // Passes every structural check; only yrs's JSON parser refuses it.
        (
            "embed with invalid JSON",
            sync_frame(2, &handmade_update(7, 0, 5, &bad_json)),
        ),
        (
            "client id past 53 bits",
            sync_frame(2, &handmade_update(1 << 60, 0, 4, &text)),
        ),
        (
            "clock past u32",
            sync_frame(2, &handmade_update(7, 1 << 33, 4, &text)),
        ),
        (
            "invalid UTF-8 string",
            sync_frame(2, &handmade_update(7, 0, 4, &invalid_utf8)),
        ),
        (
            "unknown content kind",
            sync_frame(2, &handmade_update(7, 0, 11, &text)),
        ),
    ];
    for (case, frame) in cases {
        let closed = scene.offend(frame).await?;
        assert_eq!(closed.code, Some(1007), "{case}: {closed:?}");
        scene.assert_unharmed(case).await?;
    }
    Ok(())
}

/// Two items from one client: a string in root text `t`, then an item whose parent is that
/// string. yrs integrates the first, then fails on the second ("invalid parent").
fn half_valid_update(client: u64) -> Vec<u8> {
    let mut u = vec![1, 2];
    varuint(client, &mut u);
    u.push(0);
    u.extend_from_slice(&[4, 1]);
    var_bytes(b"t", &mut u);
    var_bytes(b"HALF", &mut u);
    // Parent given by id (client, clock 0): the string above, which cannot hold children.
    u.extend_from_slice(&[4, 0]);
    varuint(client, &mut u);
    u.push(0);
    var_bytes(b"child", &mut u);
    u.push(0);
    u
}

#[test]
fn half_valid_update_fails_after_changing_a_doc() {
    // Guards the test below: yrs really does apply the first item before refusing the second.
    let doc = Doc::new();
    let text = doc.get_or_insert_text("t");
    let decoded = Update::decode_v1(&half_valid_update(7)).map_err(|e| e.to_string());
    assert!(decoded.is_ok(), "it decodes: {decoded:?}");
    if let Ok(update) = decoded {
        let applied = doc.transact_mut().apply_update(update);
        assert!(applied.is_err(), "yrs refuses it");
    }
    assert_eq!(
        text.get_string(&doc.transact()),
        "HALF",
        "after changing the doc"
    );
}

#[tokio::test]
async fn update_refused_half_way_leaves_the_doc_unchanged() -> TestResult {
    let mut scene = Scene::new().await?;
    for round in 0..3 {
        // Alice's edit right before the bad update must survive the server's recovery.
        scene
            .alice
            .add_note(&format!("just-before-{round}"), "gardée");
        let closed = scene
            .offend(sync_frame(2, &half_valid_update(1000 + round)))
            .await?;
        assert_eq!(closed.code, Some(1007), "{closed:?}");
        let before = scene.alice.snapshot();
        scene
            .bob
            .wait_until("bob to have alice's last note", WAIT, |d| {
                Snapshot::of(d) == before
            })
            .await?;
        scene.before = before;
        scene.assert_unharmed("an update refused half-way").await?;
        let text = scene.alice.snapshot().text;
        assert!(
            !text.contains("HALF"),
            "the half-applied item never shows: {text:?}"
        );
    }
    assert!(scene.rejected("update_rejected").await? >= 3.0);
    Ok(())
}

#[tokio::test]
async fn text_frame_closes_only_that_connection_with_1003() -> TestResult {
    let mut scene = Scene::new().await?;
    let offender = TestClient::connect(&scene.server.ws_url(DOC)).await?;
    offender.send_text("{\"type\":\"sync\"}");
    let closed = offender.wait_closed().await?;
    assert_eq!(closed.code, Some(1003), "{closed:?}");
    scene.assert_unharmed("text frame").await?;
    assert!(scene.rejected("text_frame").await? >= 1.0);
    Ok(())
}

#[tokio::test]
async fn oversized_frames_close_only_that_connection_with_1009() -> TestResult {
    let mut scene = Scene::new().await?;
    // Just over our limit, over the WebSocket layer's own ceiling too, and far over.
    for len in [MAX_MESSAGE + 1024, MAX_MESSAGE + MAX_MESSAGE / 4, 1 << 20] {
        let closed = scene.offend(note_update_frame("too-big", len)).await?;
        assert_eq!(closed.code, Some(1009), "a {len}-byte note: {closed:?}");
        scene.assert_unharmed(&format!("{len}-byte frame")).await?;
    }
    // Just under the limit is fine and reaches everyone.
    scene
        .alice
        .send_raw(note_update_frame("just-fits", MAX_MESSAGE - 1024));
    scene
        .bob
        .wait_until("the largest allowed note", WAIT, |d| {
            crate::client::note_ids(d).contains("just-fits")
        })
        .await?;
    Ok(())
}
