//! Hostile and broken input: each bad frame closes only the connection that sent it, with
//! the right close code; the document is unchanged and everyone else keeps syncing.
//! Allocation bombs are refused without the allocation; random short frames never hurt.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yrs::updates::decoder::Decode;
use yrs::{Doc, GetString, Map, ReadTxn, Transact, Update};

use crate::client::{Closed, Snapshot, TestClient, NOTES};
use crate::harness::{io, seed, ChildServer, TestResult, TestServer, WAIT};

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

/// A varuint of 2^27 in four bytes: the declared count of every bomb below.
const HUGE_COUNT: [u8; 4] = [0x80, 0x80, 0x80, 0x40];

#[tokio::test]
async fn allocation_bombs_are_refused_without_the_allocation() -> TestResult {
    let dir = tempfile::tempdir().map_err(io("creating a data dir"))?;
    let server = ChildServer::start(dir.path(), dir.path(), &[]).await?;
    let url = server.ws_url("bombs");
    let mut alice = TestClient::connect(&url).await?;
    let bob = TestClient::connect(&url).await?;
    let baseline = server.peak_rss_kib()?;
    let one_client_huge_blocks = {
        let mut u = vec![1];
        u.extend_from_slice(&HUGE_COUNT);
        u.extend_from_slice(&[7, 0]);
        u
    };
    let huge_delete_set = {
        let mut u = vec![0];
        u.extend_from_slice(&HUGE_COUNT);
        u
    };
    let bombs: [(&str, Vec<u8>); 6] = [
        ("state vector", sync_frame(0, &HUGE_COUNT)),
        ("update clients (step 2)", sync_frame(1, &HUGE_COUNT)),
        ("update clients", sync_frame(2, &HUGE_COUNT)),
        ("update blocks", sync_frame(2, &one_client_huge_blocks)),
        ("delete set", sync_frame(2, &huge_delete_set)),
        ("awareness entries", awareness_frame(&HUGE_COUNT)),
    ];
    for round in 0..5 {
        for (case, frame) in &bombs {
            let offender = TestClient::connect_raw(&url).await?;
            offender.send_raw(frame.clone());
            let closed = offender.wait_closed().await?;
            assert_eq!(
                closed.code,
                Some(1007),
                "{case} bomb, round {round}: {closed:?}"
            );
        }
    }
    let peak = server.peak_rss_kib()?;
    eprintln!("peak RSS {baseline} KiB before 30 bombs, {peak} KiB after");
    // One unchecked bomb reserves well over 100 MiB; thirty would show whatever the allocator does.
    assert!(
        peak < baseline + 64 * 1024,
        "peak RSS went from {baseline} KiB to {peak} KiB"
    );
    alice.add_note("still-serving", "oui");
    bob.wait_until("the server to keep relaying", WAIT, |d| {
        crate::client::note_ids(d).contains("still-serving")
    })
    .await?;
    let rejected = crate::harness::metrics_of(server.addr()).await?;
    let counted: f64 = ["count_exceeds_input", "truncated"]
        .iter()
        .map(|r| rejected.value(&format!("palabre_rejected_total{{reason=\"{r}\"}}")))
        .sum();
    assert!(
        counted >= 30.0,
        "every bomb is counted as a rejection ({counted})"
    );
    let log = server.log();
    assert!(!log.contains("panicked"), "no panic:\n{log}");
    Ok(())
}

#[tokio::test]
async fn random_short_frames_never_take_the_server_down() -> TestResult {
    let mut rng = StdRng::seed_from_u64(seed(0x5eed_0301));
    let server = TestServer::start().await?;
    let url = server.ws_url("fuzzed");
    let mut alice = TestClient::connect(&url).await?;
    let bob = TestClient::connect(&url).await?;
    let mut offender = TestClient::connect_raw(&url).await?;
    let (mut closes, mut sent) = (0, 0);
    for _ in 0..400 {
        if !offender.is_connected() {
            offender = TestClient::connect_raw(&url).await?;
        }
        // Mostly well-typed headers so the payload decoders, not just the header, get exercised.
        let len = rng.random_range(1..24);
        let mut frame: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if let Some(first) = frame.first_mut() {
            *first = rng.random_range(0..4);
        }
        if let (Some(0), Some(second)) = (frame.first().copied(), frame.get_mut(1)) {
            *second = rng.random_range(0..3);
        }
        offender.send_raw(frame);
        sent += 1;
        // Give the server a moment to answer before deciding whether to reconnect.
        if offender
            .wait_state("a close", Duration::from_millis(20), |s| s.closed.is_some())
            .await
            .is_ok()
        {
            closes += 1;
        }
    }
    eprintln!("{sent} random frames, {closes} connections closed for them");
    assert!(
        closes > sent / 2,
        "most random frames are refused ({closes} of {sent})"
    );
    alice.add_note("after-fuzz", "ça tient");
    bob.wait_until("relay after the fuzzing", WAIT, |d| {
        crate::client::note_ids(d).contains("after-fuzz")
    })
    .await?;
    let fresh = TestClient::connect(&url).await?;
    let (a, b) = (alice.snapshot(), bob.snapshot());
    fresh
        .wait_until("a fresh client to agree", WAIT, |d| Snapshot::of(d) == a)
        .await?;
    assert_eq!(a, b, "alice and bob agree");
    Ok(())
}

/// An awareness frame announcing `count` fresh client ids starting at `first`.
fn awareness_flood_frame(first: u64, count: u64) -> bytes::Bytes {
    let clients = (first..first + count)
        .map(|id| {
            let entry = yrs::sync::awareness::AwarenessUpdateEntry {
                clock: 1,
                json: std::sync::Arc::from("{}"),
            };
            (yrs::block::ClientID::new(id), entry)
        })
        .collect();
    palabre::protocol::encode_awareness(&yrs::sync::awareness::AwarenessUpdate { clients })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_awareness_flood_does_not_stall_the_document() -> TestResult {
    // The real binary: a room stuck in a CPU loop must not freeze the test's own runtime.
    let dir = tempfile::tempdir().map_err(io("creating a data dir"))?;
    let server = ChildServer::start(dir.path(), dir.path(), &[]).await?;
    let url = server.ws_url("flooded");
    let mut alice = TestClient::connect(&url).await?;
    let bob = TestClient::connect(&url).await?;
    let flooder = TestClient::connect_raw(&url).await?;
    // Frames of ~360 KB, well under the 1 MiB message limit, each announcing 30 000 new ids,
    // then small ones announcing 100 ids each: a browser tab has one id, so neither is relayed
    // beyond a handful of states, and the room stays free for the notes.
    const PER_FRAME: u64 = 30_000;
    for frame in 0..10 {
        flooder.send_raw(awareness_flood_frame(1 + frame * PER_FRAME, PER_FRAME));
    }
    for frame in 0..10 {
        flooder.send_raw(awareness_flood_frame(1_000_000 + frame * 100, 100));
    }
    for n in 0..20 {
        alice.add_note(&format!("during-the-flood-{n}"), "ça passe ?");
    }
    bob.wait_until("the notes to get through the flood", WAIT, |d| {
        crate::client::note_ids(d).len() == 20
    })
    .await?;
    let announced = bob.state().awareness.len();
    assert!(
        announced <= 8 + 2,
        "the flood reached the others: {announced} presence states"
    );
    crate::harness::eventually(
        "the oversized presence frames to be counted",
        WAIT,
        || async {
            crate::harness::metrics_of(server.addr())
                .await
                .is_ok_and(|m| {
                    m.value("palabre_rejected_total{reason=\"awareness_too_big\"}") >= 10.0
                })
        },
    )
    .await?;
    let log = server.log();
    assert!(!log.contains("panicked"), "{log}");
    Ok(())
}

/// A chain of nested maps grown one level per message: every change up to the limit (64 nested
/// types above it) is accepted, the first one landing deeper is refused and leaves no trace.
/// Without the guard, enough links make yrs recurse past a thread's stack when the chain is
/// deleted. (One message can still carry a brand-new long chain, seen only when the next
/// change attaches to it: ARCHITECTURE.md, threat model.)
#[tokio::test]
async fn nesting_deeper_than_the_limit_is_refused() -> TestResult {
    use yrs::{Map, MapPrelim, MapRef, Out, Transact};
    /// The server's limit: a change may land in a map with at most this many maps above it.
    const LIMIT: usize = 64;
    /// Maps in the chain under the root (the root map `deep` not counted).
    fn depth(doc: &yrs::Doc) -> usize {
        let txn = doc.transact();
        let mut depth = 0;
        let mut cur = txn.get_map("deep").and_then(|m| m.get(&txn, "k"));
        while let Some(Out::YMap(m)) = cur {
            depth += 1;
            cur = m.get(&txn, "k");
        }
        depth
    }
    let server = TestServer::start().await?;
    let url = server.ws_url("deep");
    let attacker = TestClient::connect(&url).await?;
    let witness = TestClient::connect(&url).await?;
    let local = yrs::Doc::new();
    let root = local.get_or_insert_map("deep");
    let tip = || -> TestResult<MapRef> {
        let txn = local.transact();
        let mut cur = match root.get(&txn, "k") {
            Some(Out::YMap(m)) => m,
            _ => return Err(crate::harness::TestError::Server("no chain yet".into())),
        };
        while let Some(Out::YMap(next)) = cur.get(&txn, "k") {
            cur = next;
        }
        Ok(cur)
    };
    // A first chain of 60 maps in one message (its changes land in the root).
    let first = {
        let mut txn = local.transact_mut();
        let mut cur = root.insert(&mut txn, "k", MapPrelim::default());
        for _ in 1..60 {
            cur = cur.insert(&mut txn, "k", MapPrelim::default());
        }
        txn.encode_update_v1()
    };
    attacker.send_update(&first);
    witness
        .wait_until("the first 60 levels", WAIT, |d| depth(d) == 60)
        .await?;
    // One level per message: a change in the map at depth `above` has `above` maps over it.
    for above in 60..=LIMIT {
        let end = tip()?;
        let update = {
            let mut txn = local.transact_mut();
            end.insert(&mut txn, "k", MapPrelim::default());
            txn.encode_update_v1()
        };
        attacker.send_update(&update);
        witness
            .wait_until(
                &format!("a change under {above} maps to be accepted"),
                WAIT,
                |d| depth(d) == above + 1,
            )
            .await?;
    }
    assert!(
        attacker.state().violations.is_empty(),
        "nothing up to the limit is refused: {:?}",
        attacker.state().violations
    );
    // The next change would land under LIMIT + 1 maps.
    let end = tip()?;
    let too_deep = {
        let mut txn = local.transact_mut();
        end.insert(&mut txn, "k", MapPrelim::default());
        txn.encode_update_v1()
    };
    attacker.send_update(&too_deep);
    crate::harness::eventually("the deeper link to be refused", WAIT, || async {
        attacker
            .state()
            .violations
            .iter()
            .any(|v| v.contains("nested too deeply"))
    })
    .await?;
    let fresh = TestClient::connect(&url).await?;
    assert_eq!(
        depth(fresh.doc()),
        LIMIT + 1,
        "the server keeps every accepted level and not the refused one"
    );
    assert_eq!(depth(witness.doc()), LIMIT + 1, "nor relayed it");
    Ok(())
}
