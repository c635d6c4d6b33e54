//! Allocation bombs: a few bytes declaring 2^27 elements, and the other structures yrs would
//! wrap, assert or over-allocate on, refused by the walkers before yrs runs.

use super::*;

fn update_bombs() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("update client count", BOMB_COUNT.to_vec()),
        ("block count", frame(&[&[1], &BOMB_COUNT, &[1, 0]])),
        ("delete set client count", frame(&[&[0], &BOMB_COUNT])),
        ("delete set range count", frame(&[&[0, 1, 1], &BOMB_COUNT])),
        // One item under root "a" holding ContentAny with 2^27 values.
        (
            "Any content count",
            frame(&[&[1, 1, 1, 0, 8, 1, 1, b'a'], &BOMB_COUNT]),
        ),
        // ContentAny with one Any::Array of 2^27 items, then one Any::Map of 2^27 entries.
        (
            "Any array count",
            frame(&[&[1, 1, 1, 0, 8, 1, 1, b'a', 1, 117], &BOMB_COUNT]),
        ),
        (
            "Any map count",
            frame(&[&[1, 1, 1, 0, 8, 1, 1, b'a', 1, 118], &BOMB_COUNT]),
        ),
    ]
}

#[test]
fn update_bombs_are_rejected_before_yrs() {
    for (what, bomb) in update_bombs() {
        let error = bounds::check_update_v1(&bomb).expect_err(what);
        assert!(
            matches!(error, BoundsError::CountExceedsInput { .. }),
            "{what}: {error:?}"
        );
        assert_eq!(
            decode_update(&bomb).map(drop).map_err(|e| e.reason()),
            Err("count_exceeds_input"),
            "{what}"
        );
        for subtype in [1, 2] {
            assert_eq!(
                malformed_reason(decode_message(&sync_payload_frame(subtype, &bomb))),
                "count_exceeds_input",
                "{what}"
            );
        }
    }
}

#[test]
fn state_vector_and_awareness_bombs_are_rejected_before_yrs() {
    assert!(matches!(
        bounds::check_state_vector_v1(&BOMB_COUNT),
        Err(BoundsError::CountExceedsInput { .. })
    ));
    assert!(matches!(
        bounds::check_awareness_update_v1(&BOMB_COUNT),
        Err(BoundsError::CountExceedsInput { .. })
    ));
    assert_eq!(
        malformed_reason(decode_message(&sync_payload_frame(0, &BOMB_COUNT))),
        "count_exceeds_input"
    );
    assert_eq!(
        malformed_reason(decode_message(&awareness_frame(&BOMB_COUNT))),
        "count_exceeds_input"
    );
}

#[test]
fn counts_are_checked_against_the_smallest_possible_element() {
    // Three state vector entries need at least six bytes; five are not enough even though
    // a naive "count <= remaining" check would pass.
    let short = [3, 1, 1, 2, 2, 3];
    assert!(matches!(
        bounds::check_state_vector_v1(&short),
        Err(BoundsError::CountExceedsInput { count: 3, .. })
    ));
    assert!(bounds::check_state_vector_v1(&[3, 1, 1, 2, 2, 3, 3]).is_ok());
}

#[test]
fn deep_any_nesting_is_rejected() {
    // ContentAny holding arrays nested MAX_ANY_DEPTH + 1 deep: [[[ ... ]]].
    let build = |depth: usize| {
        let mut update = vec![1, 1, 1, 0, 8, 1, 1, b'a', 1];
        for _ in 0..depth - 1 {
            update.extend([117, 1]);
        }
        update.extend([117, 0, 0]);
        update
    };
    let accepted = build(MAX_ANY_DEPTH);
    assert_eq!(bounds::check_update_v1(&accepted), Ok(()));
    assert!(decode_update(&accepted).is_ok());
    assert_eq!(
        bounds::check_update_v1(&build(MAX_ANY_DEPTH + 1)),
        Err(BoundsError::AnyTooDeep)
    );
    // 100k levels in 200 KB would overflow the stack of yrs's recursive decoder.
    assert_eq!(
        bounds::check_update_v1(&build(100_000)),
        Err(BoundsError::AnyTooDeep)
    );
}

#[test]
fn delete_ranges_must_be_sorted_disjoint_and_non_empty() {
    // One client (7) with the given (clock, len) ranges, no structs.
    let ds = |ranges: &[(u8, u8)]| {
        let mut update = vec![0, 1, 7, ranges.len() as u8];
        for &(clock, len) in ranges {
            update.extend([clock, len]);
        }
        update
    };
    assert_eq!(
        bounds::check_update_v1(&ds(&[(0, 2), (2, 1), (9, 3)])),
        Ok(())
    );
    for bad in [&[(0, 0)][..], &[(5, 2), (1, 1)], &[(0, 4), (3, 2)]] {
        assert_eq!(
            bounds::check_update_v1(&ds(bad)),
            Err(BoundsError::InvalidDeleteRange),
            "{bad:?}"
        );
    }
}

#[test]
fn client_sections_must_be_in_decreasing_client_order() {
    // Client sections with one GC block each, then an empty delete set.
    let sections = |clients: &[u8]| {
        let mut update = vec![clients.len() as u8];
        for &client in clients {
            update.extend([1, client, 0, 0, 1]);
        }
        update.push(0);
        update
    };
    assert_eq!(bounds::check_update_v1(&sections(&[9, 4, 1])), Ok(()));
    for bad in [&[1, 9][..], &[4, 4]] {
        assert_eq!(
            bounds::check_update_v1(&sections(bad)),
            Err(BoundsError::UnsortedClients),
            "{bad:?}"
        );
    }
}

#[test]
fn legacy_json_content_is_rejected() {
    // One item under root "a" holding ContentJSON ["1"], which yrs would read as two strings.
    let update = [1, 1, 1, 0, 2, 1, 1, b'a', 1, 1, b'1', 1, b'2', 0];
    assert_eq!(
        bounds::check_update_v1(&update),
        Err(BoundsError::LegacyJsonContent)
    );
}

#[test]
fn values_yrs_would_wrap_or_assert_on_are_rejected() {
    // A block clock run that passes u32::MAX.
    let mut update = vec![1, 2];
    update.extend(varuint(1));
    update.extend(varuint(u64::from(u32::MAX) - 1));
    update.extend([0, 1, 0, 5, 0]);
    assert_eq!(
        bounds::check_update_v1(&update),
        Err(BoundsError::ClockOverflow)
    );
    // A delete range whose end passes u32::MAX.
    let mut ds = vec![0, 1, 1, 1];
    ds.extend(varuint(u64::from(u32::MAX)));
    ds.push(1);
    assert_eq!(
        bounds::check_update_v1(&ds),
        Err(BoundsError::ClockOverflow)
    );
    // A state vector clock above u32.
    let mut sv = vec![1, 1];
    sv.extend(varuint(1 << 32));
    assert!(matches!(
        bounds::check_state_vector_v1(&sv),
        Err(BoundsError::OutOfRange { .. })
    ));
    // Signed varint longer than 8 bytes inside an Any integer (yrs shifts past 64 bits).
    let mut long_int = vec![1, 1, 1, 0, 8, 1, 1, b'a', 1, 125];
    long_int.extend([0x80; 10]);
    long_int.extend([0, 0]);
    assert_eq!(
        bounds::check_update_v1(&long_int),
        Err(BoundsError::OverlongVarint)
    );
    // Empty GC block.
    assert_eq!(
        bounds::check_update_v1(&[1, 1, 1, 0, 0, 0, 0]),
        Err(BoundsError::EmptyBlock)
    );
    // Weak link type ref (needs yrs's `weak` feature).
    assert_eq!(
        bounds::check_update_v1(&[1, 1, 1, 0, 7, 1, 1, b'a', 7, 0]),
        Err(BoundsError::UnknownTypeRef(7))
    );
    // Type refs yrs decodes but no Yjs client can: a subdoc type (9) and an "undefined" one (15).
    for type_ref in [9, 15] {
        assert_eq!(
            bounds::check_update_v1(&[1, 1, 1, 0, 7, 1, 1, b'a', type_ref, 0]),
            Err(BoundsError::UnknownTypeRef(type_ref))
        );
    }
}
