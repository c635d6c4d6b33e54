//! Frames that declare more than they carry or nest deeper than allowed: allocation bombs,
//! random short frames, awareness floods, nesting past the depth limit.

use super::*;

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
