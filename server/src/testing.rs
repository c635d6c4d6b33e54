//! Fault injection for the integration tests, compiled only with the `test-hooks` feature
//! (which only the tests crate enables): nothing a client sends can reach it.

use std::collections::HashSet;
use std::sync::Mutex;

static ARMED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// The room of `doc` panics on the next client update it accepts (once).
pub fn panic_on_next_update(doc: &str) {
    let mut armed = ARMED.lock().unwrap_or_else(|p| p.into_inner());
    armed
        .get_or_insert_with(HashSet::new)
        .insert(doc.to_string());
}

/// Panics if a test armed a panic for `doc`.
pub(crate) fn maybe_panic(doc: &str) {
    let hit = {
        let mut armed = ARMED.lock().unwrap_or_else(|p| p.into_inner());
        armed.as_mut().is_some_and(|set| set.remove(doc))
    };
    if hit {
        panic!("test-injected panic in the room of {doc}");
    }
}
