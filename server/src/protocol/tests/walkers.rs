//! The walkers agree with yrs on structure: mutated real bytes the walker accepts, yrs decodes;
//! arbitrary short frames never panic.

use super::*;

use super::peers::*;

/// Mutated real updates: whenever the walker accepts one, yrs must decode it too. A layout
/// disagreement between the two would show up here as yrs running out of input or meeting
/// an unknown tag where the walker saw a valid structure.
#[test]
fn whatever_the_walker_accepts_yrs_decodes() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    for seed in 0..4 {
        let mut peer_rng = StdRng::seed_from_u64(1000 + seed);
        let mut peer = Peer::new(u64::from(peer_rng.random::<u32>()));
        for _ in 0..40 {
            peer.random_edit(&mut peer_rng);
        }
        corpus.extend(peer.take_emitted());
        corpus.push(
            peer.doc
                .transact()
                .encode_state_as_update_v1(&StateVector::default()),
        );
    }
    let mut accepted = 0;
    for _ in 0..40_000 {
        let mut bytes = corpus[rng.random_range(0..corpus.len())].clone();
        for _ in 0..rng.random_range(1..4) {
            mutate(&mut bytes, &mut rng);
        }
        if bounds::check_update_v1(&bytes).is_ok() {
            accepted += 1;
            match yrs::Update::decode_v1(&bytes) {
                Ok(_) | Err(yrs::encoding::read::Error::InvalidJSON(_)) => {}
                Err(error) => panic!("walker accepted what yrs refuses ({error}): {bytes:?}"),
            }
        }
    }
    assert!(accepted > 1_000, "only {accepted} mutants were accepted");
}

#[test]
fn whatever_the_walker_accepts_yrs_decodes_for_state_vectors_and_awareness() {
    let mut rng = StdRng::seed_from_u64(7);
    let sv: StateVector = (0..5)
        .map(|i| (yrs::block::ClientID::new(1 << (i * 10)), 1 << (i * 6)))
        .collect();
    let sv = sv.encode_v1();
    let awareness = awareness_update(&[(1, 1, "null"), (300, 70_000, r#"{"a":[1,"é"]}"#)]);
    let awareness = awareness.encode_v1();
    let (mut sv_accepted, mut awareness_accepted) = (0, 0);
    for _ in 0..20_000 {
        let mut bytes = sv.clone();
        mutate(&mut bytes, &mut rng);
        if bounds::check_state_vector_v1(&bytes).is_ok() {
            sv_accepted += 1;
            assert!(StateVector::decode_v1(&bytes).is_ok(), "{bytes:?}");
        }
        let mut bytes = awareness.clone();
        mutate(&mut bytes, &mut rng);
        if bounds::check_awareness_update_v1(&bytes).is_ok() {
            awareness_accepted += 1;
            assert!(AwarenessUpdate::decode_v1(&bytes).is_ok(), "{bytes:?}");
        }
    }
    assert!(sv_accepted > 1_000 && awareness_accepted > 1_000);
}

fn mutate(bytes: &mut Vec<u8>, rng: &mut StdRng) {
    if bytes.is_empty() {
        bytes.push(rng.random());
        return;
    }
    let at = rng.random_range(0..bytes.len());
    match rng.random_range(0..5) {
        0 => bytes[at] = rng.random(),
        1 => bytes[at] ^= 1 << rng.random_range(0..8),
        2 => {
            bytes.remove(at);
        }
        3 => bytes.insert(at, rng.random()),
        _ => bytes[at] = bytes[at].wrapping_add(1),
    }
}

/// Arbitrary short frames never panic the decoder.
#[test]
fn random_short_frames_never_panic() {
    let mut rng = StdRng::seed_from_u64(42);
    let mut decoded = 0;
    for _ in 0..200_000 {
        let len = rng.random_range(1..=16);
        let mut frame = [0u8; 16];
        rng.fill_bytes(&mut frame[..len]);
        // Bias the first bytes toward valid message and sync types to reach deeper code.
        if rng.random_bool(0.75) {
            frame[0] = rng.random_range(0..4);
            if len > 1 && frame[0] == 0 {
                frame[1] = rng.random_range(0..3);
            }
        }
        if decode_message(&frame[..len]).is_ok() {
            decoded += 1;
        }
    }
    assert!(decoded > 100, "only {decoded} frames decoded");
}
