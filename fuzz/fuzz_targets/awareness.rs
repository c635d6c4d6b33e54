//! Fuzz target: bytes as an awareness update payload, decoded then applied to a yrs Awareness
//! that already knows a local and a remote client.
#![no_main]

use libfuzzer_sys::fuzz_target;
use yrs::sync::Awareness;
use yrs::Doc;

fuzz_target!(|payload: &[u8]| {
    let Ok(update) = palabre::protocol::decode_awareness_update(payload) else {
        return;
    };
    let mut awareness = Awareness::new(Doc::with_client_id(1));
    awareness.set_local_state_raw(r#"{"user":{"name":"server"}}"#);
    let _ = awareness.apply_update(update);
    let _ = awareness.update();
});
