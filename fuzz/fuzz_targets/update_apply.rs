//! Fuzz target: bytes as a v1 update, decoded then applied the way the server does it, to an
//! empty doc and to a doc that already has content, then re-encoded for the next joiner.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use yrs::updates::decoder::Decode;
use yrs::{Array, Doc, Map, ReadTxn, StateVector, Text, Transact, Update, XmlFragment};

/// A board-like doc written once: maps, arrays, formatted text, XML, deletions.
fn base_update() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        let doc = Doc::with_client_id(1);
        let notes = doc.get_or_insert_map("notes");
        let order = doc.get_or_insert_array("order");
        let title = doc.get_or_insert_text("title");
        let xml = doc.get_or_insert_xml_fragment("xml");
        {
            let mut txn = doc.transact_mut();
            notes.insert(&mut txn, "n1", "Confidences et petits papiers");
            notes.insert(&mut txn, "n2", yrs::MapPrelim::from([("x", 3), ("y", 4)]));
            order.insert_range(&mut txn, 0, ["n1", "n2", "n3"]);
            title.insert(&mut txn, 0, "Journée bilan 😀");
            title.format(&mut txn, 0, 7, [("bold".into(), true.into())].into());
            xml.insert(&mut txn, 0, yrs::XmlElementPrelim::empty("p"));
        }
        {
            let mut txn = doc.transact_mut();
            order.remove(&mut txn, 1);
            title.remove_range(&mut txn, 2, 3);
        }
        doc.transact()
            .encode_state_as_update_v1(&StateVector::default())
    })
}

fn apply_and_encode(doc: &Doc, update: Update) {
    let mut txn = doc.transact_mut();
    if txn.apply_update(update).is_ok() {
        drop(txn);
        let txn = doc.transact();
        let _ = txn.encode_state_as_update_v1(&StateVector::default());
        let _ = txn.state_vector();
    }
}

fuzz_target!(|bytes: &[u8]| {
    let Ok(update) = palabre::protocol::decode_update(bytes) else {
        return;
    };
    apply_and_encode(&Doc::new(), update);

    let doc = Doc::new();
    if let Ok(base) = Update::decode_v1(base_update()) {
        let _ = doc.transact_mut().apply_update(base);
    }
    if let Ok(update) = palabre::protocol::decode_update(bytes) {
        apply_and_encode(&doc, update);
    }
});
