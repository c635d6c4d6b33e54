//! Everything real yrs produces passes the checks and decodes.

use super::*;

use super::peers::*;

/// Passes the structural checks and decodes in yrs; `decode_update` and `decode_message` then
/// take it as is, or refuse it only for carrying subdocuments.
fn assert_update_accepted(update: &[u8], what: &str) -> bounds::UpdateShape {
    let shape =
        bounds::scan_update_v1(update).unwrap_or_else(|e| panic!("{what}: {e}: {update:?}"));
    assert!(yrs::Update::decode_v1(update).is_ok(), "{what}");
    if shape.subdocuments > 0 {
        assert!(matches!(
            decode_update(update),
            Err(ProtocolError::SubdocumentContent)
        ));
        assert_eq!(
            malformed_reason(decode_message(&encode_update(update))),
            "subdocument_content"
        );
        return shape;
    }
    assert!(decode_update(update).is_ok(), "{what}");
    match decode_message(&encode_update(update)) {
        Ok(Message::Update(bytes)) => assert_eq!(bytes.as_ref(), update),
        other => panic!("{what}: {other:?}"),
    }
    shape
}

fn assert_state_vector_accepted(sv: &StateVector, what: &str) {
    let bytes = sv.encode_v1();
    assert_eq!(bounds::check_state_vector_v1(&bytes), Ok(()), "{what}");
    match decode_message(&encode_sync_step1(sv)) {
        Ok(Message::SyncStep1(decoded)) => assert_eq!(&decoded, sv, "{what}"),
        other => panic!("{what}: {other:?}"),
    }
}

/// Random multi-peer editing sessions; every byte string yrs emits along the way is accepted.
#[test]
fn everything_yrs_emits_passes_the_checks_and_decodes() {
    let (mut checked_updates, mut with_subdocuments, mut with_deletions) = (0, 0, 0);
    for seed in 0..24u64 {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut peers: Vec<Peer> = (0..3)
            .map(|_| {
                // Mostly 32-bit ids like Yjs, sometimes the full 53 bits yrs may pick.
                let id = if rng.random_bool(0.3) {
                    rng.random_range(0..=(1u64 << 53) - 1)
                } else {
                    u64::from(rng.random::<u32>())
                };
                Peer::new(id)
            })
            .collect();
        let mut all_updates: Vec<Vec<u8>> = Vec::new();

        for _ in 0..60 {
            let author = rng.random_range(0..peers.len());
            for _ in 0..rng.random_range(1..4) {
                peers[author].random_edit(&mut rng);
            }
            // Occasionally sync two peers through diffs computed from state vectors.
            if rng.random_bool(0.3) {
                let from = rng.random_range(0..peers.len());
                let to = rng.random_range(0..peers.len());
                let sv = peers[to].doc.transact().state_vector();
                assert_state_vector_accepted(&sv, "state vector");
                let diff = peers[from].doc.transact().encode_state_as_update_v1(&sv);
                assert_update_accepted(&diff, "diff");
                let update = yrs::Update::decode_v1(&diff).expect("checked above");
                peers[to]
                    .doc
                    .transact_mut()
                    .apply_update(update)
                    .expect("yrs applies its own diff");
                checked_updates += 1;
            }
            for peer in &peers {
                for update in peer.take_emitted() {
                    let shape = assert_update_accepted(&update, "incremental update");
                    with_subdocuments += usize::from(shape.subdocuments > 0);
                    with_deletions += usize::from(shape.delete_ranges > 0);
                    checked_updates += 1;
                    all_updates.push(update);
                }
            }
        }

        for peer in &peers {
            let txn = peer.doc.transact();
            assert_update_accepted(
                &txn.encode_state_as_update_v1(&StateVector::default()),
                "full state",
            );
            assert_state_vector_accepted(&txn.state_vector(), "final state vector");
        }
        for _ in 0..4 {
            let picked: Vec<&Vec<u8>> = all_updates
                .iter()
                .filter(|_| rng.random_bool(0.5))
                .collect();
            let merged = yrs::merge_updates_v1(&picked).expect("yrs merges its own updates");
            assert_update_accepted(&merged, "merged update");
            checked_updates += 1;
        }

        // Convergence: replaying every incremental update into a fresh doc gives peer state.
        let replica = utf16_doc();
        for update in &all_updates {
            let update = yrs::Update::decode_v1(update).expect("checked above");
            replica
                .transact_mut()
                .apply_update(update)
                .expect("applies");
        }
        // A garbage-collecting replica's state carries GC blocks, which peers never emit.
        assert_update_accepted(
            &replica
                .transact()
                .encode_state_as_update_v1(&StateVector::default()),
            "garbage-collected state",
        );
        let text = replica.get_or_insert_text("text");
        let full = yrs::merge_updates_v1(&all_updates).expect("merges");
        let merged_doc = utf16_doc();
        merged_doc
            .transact_mut()
            .apply_update(yrs::Update::decode_v1(&full).expect("checked"))
            .expect("applies");
        assert_eq!(
            text.get_string(&replica.transact()),
            merged_doc
                .get_or_insert_text("text")
                .get_string(&merged_doc.transact())
        );
    }
    assert!(
        checked_updates > 2_000,
        "only {checked_updates} updates checked"
    );
    assert!(
        with_subdocuments > 10 && with_deletions > 100,
        "{with_subdocuments} {with_deletions}"
    );
}

#[test]
fn awareness_from_yrs_passes_the_checks() {
    let doc = Doc::with_client_id(5);
    let mut awareness = Awareness::new(doc);
    awareness
        .set_local_state(serde_json::json!({"user": {"name": "Ana", "color": "#f80"}}))
        .expect("serialisable");
    let update = awareness.update().expect("local state exists");
    let payload = update.encode_v1();
    assert_eq!(bounds::check_awareness_update_v1(&payload), Ok(()));
    assert!(matches!(
        decode_message(&encode_awareness(&update)),
        Ok(Message::Awareness { .. })
    ));
    awareness.clean_local_state();
    let removal = awareness.update().expect("removal is an update");
    assert!(matches!(
        decode_message(&encode_awareness(&removal)),
        Ok(Message::Awareness { update, .. }) if update.clients.values().all(|e| &*e.json == "null")
    ));
}
