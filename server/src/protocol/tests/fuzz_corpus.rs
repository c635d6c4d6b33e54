//! Fuzz corpus replay: every seed and every crash, timeout or OOM input the fuzzers found.

use super::yjs_frames::corpus_files;
use super::*;

/// The state a board doc might be in when a hostile update arrives.
fn doc_with_content() -> Doc {
    let doc = Doc::with_client_id(1);
    let notes = doc.get_or_insert_map("notes");
    let title = doc.get_or_insert_text("title");
    let order = doc.get_or_insert_array("order");
    let mut txn = doc.transact_mut();
    notes.insert(&mut txn, "n1", "Confidences et petits papiers");
    notes.insert(&mut txn, "n2", MapPrelim::from([("x", 3), ("y", 4)]));
    order.insert(&mut txn, 0, "n1");
    title.insert(&mut txn, 0, "Journée bilan 😀");
    drop(txn);
    doc
}

/// Mirrors fuzz/fuzz_targets/update_apply.rs: decode, apply, re-encode for the next joiner.
fn replay_update(bytes: &[u8]) {
    for doc in [Doc::new(), doc_with_content()] {
        let Ok(update) = decode_update(bytes) else {
            return;
        };
        let applied = doc.transact_mut().apply_update(update);
        if applied.is_ok() {
            let txn = doc.transact();
            txn.encode_state_as_update_v1(&StateVector::default());
            txn.state_vector();
        }
    }
}

/// Mirrors fuzz/fuzz_targets/awareness.rs.
fn replay_awareness(payload: &[u8]) {
    if let Ok(update) = decode_awareness_update(payload) {
        let mut awareness = Awareness::new(Doc::with_client_id(1));
        awareness.set_local_state_raw(r#"{"user":{"name":"server"}}"#);
        let applied = awareness.apply_update(update);
        if applied.is_ok() {
            awareness.update().expect("the local state is set");
        }
    }
}

#[test]
fn fuzz_corpus_replays_without_panicking() {
    let mut replayed = 0;
    for (dir, replay) in [
        ("frame", (|b: &[u8]| drop(decode_message(b))) as fn(&[u8])),
        ("update_apply", replay_update),
        ("awareness", replay_awareness),
    ] {
        for (_, bytes) in corpus_files(dir) {
            replay(&bytes);
            replayed += 1;
        }
    }
    // Real Yjs frames through every path, payloads unwrapped.
    for (_, frame) in corpus_files("yjs-frames") {
        match decode_message(&frame) {
            Ok(Message::SyncStep2(update) | Message::Update(update)) => replay_update(&update),
            Ok(Message::Awareness { raw, .. }) => {
                let mut r = Reader::new(&raw[1..]);
                replay_awareness(r.read_var_bytes().expect("decoded once already"));
            }
            _ => {}
        }
        replayed += 1;
    }
    assert!(replayed >= 100, "only {replayed} corpus files");
}
