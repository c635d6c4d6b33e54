//! Fuzz target: any bytes as one WebSocket frame through `decode_message`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let _ = palabre::protocol::decode_message(frame);
});
