//! Allocation-bomb payloads cost almost nothing once they go through `palabre::protocol`.
//!
//! Its own test binary because it installs a counting global allocator and measures process-wide
//! totals: one test function, so nothing else allocates while it measures.

use std::alloc::System;

use palabre::protocol::{self, bounds};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use yrs::updates::decoder::Decode;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// 2^27 as a 4-byte LEB128 varuint.
const BOMB_COUNT: [u8; 4] = [0x80, 0x80, 0x80, 0x40];
const MIB: usize = 1 << 20;

fn framed(header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut frame = header.to_vec();
    frame.push(u8::try_from(payload.len()).expect("short test payload"));
    frame.extend_from_slice(payload);
    frame
}

/// Bytes allocated (cumulatively, not net) while `f` runs.
fn allocated_by<T>(f: impl FnOnce() -> T) -> usize {
    let region = Region::new(GLOBAL);
    let result = f();
    let allocated = region.change().bytes_allocated;
    drop(result);
    allocated
}

#[test]
fn bombs_allocate_under_a_mebibyte_through_protocol_but_hundreds_of_megabytes_in_raw_yrs() {
    let update_bombs: Vec<Vec<u8>> = vec![
        BOMB_COUNT.to_vec(),
        [&[1][..], &BOMB_COUNT, &[1, 0]].concat(),
        [&[0][..], &BOMB_COUNT].concat(),
        [&[0, 1, 1][..], &BOMB_COUNT].concat(),
        [&[1, 1, 1, 0, 8, 1, 1, b'a'][..], &BOMB_COUNT].concat(),
        [&[1, 1, 1, 0, 8, 1, 1, b'a', 1, 117][..], &BOMB_COUNT].concat(),
        [&[1, 1, 1, 0, 8, 1, 1, b'a', 1, 118][..], &BOMB_COUNT].concat(),
    ];
    for bomb in &update_bombs {
        let bytes = allocated_by(|| {
            assert!(bounds::check_update_v1(bomb).is_err());
            assert!(protocol::decode_update(bomb).is_err());
            assert!(protocol::decode_message(&framed(&[0, 2], bomb)).is_err());
            assert!(protocol::decode_message(&framed(&[0, 1], bomb)).is_err());
        });
        assert!(bytes < MIB, "{bomb:?} allocated {bytes} bytes");
    }

    let bytes = allocated_by(|| {
        assert!(bounds::check_state_vector_v1(&BOMB_COUNT).is_err());
        assert!(protocol::decode_message(&framed(&[0, 0], &BOMB_COUNT)).is_err());
        assert!(bounds::check_awareness_update_v1(&BOMB_COUNT).is_err());
        assert!(protocol::decode_message(&framed(&[1], &BOMB_COUNT)).is_err());
    });
    assert!(
        bytes < MIB,
        "state vector / awareness bombs allocated {bytes} bytes"
    );

    // The same four bytes straight into yrs: it reserves for 2^27 entries before noticing
    // that the input is empty. Counted even if the reservation itself fails.
    let bytes = allocated_by(|| yrs::StateVector::decode_v1(&BOMB_COUNT).is_err());
    assert!(
        bytes > 100 * MIB,
        "raw yrs allocated only {bytes} bytes: the bomb no longer demonstrates anything"
    );
}
