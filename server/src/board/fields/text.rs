//! Editing a Y.Text in place: the smallest replacement that turns its content into the new
//! value, in the doc's own offset unit, so that a concurrent edit elsewhere in it survives.

use yrs::types::GetString;
use yrs::{Map, MapRef, Out, Text, TextRef, TransactionMut};

use super::new_text;

/// Makes a text field equal to `value`, touching only the part that changed so that a concurrent
/// edit elsewhere in the same text survives. A field that is not a Y.Text (bad data) is replaced
/// by a fresh Y.Text.
pub(crate) fn set_text(txn: &mut TransactionMut, map: &MapRef, key: &str, value: &str) {
    let Some(Out::YText(text)) = map.get(txn, key) else {
        new_text(txn, map, key, value);
        return;
    };
    let current = text.get_string(txn);
    if current == value {
        return;
    }
    let prefix = common_prefix(&current, value);
    let suffix = common_suffix(&current[prefix..], &value[prefix..]);
    let removed = &current[prefix..current.len() - suffix];
    let inserted = &value[prefix..value.len() - suffix];
    let kind = txn.doc().offset_kind();
    let at = offset_len(&current[..prefix], kind);
    replace_range(txn, &text, at, offset_len(removed, kind), inserted);
}

fn replace_range(txn: &mut TransactionMut, text: &TextRef, at: u32, len: u32, inserted: &str) {
    if len > 0 {
        text.remove_range(txn, at, len);
    }
    if !inserted.is_empty() {
        text.insert(txn, at, inserted);
    }
}

/// Length in the doc's offset unit (bytes or UTF-16 code units).
fn offset_len(s: &str, kind: yrs::OffsetKind) -> u32 {
    let len = match kind {
        yrs::OffsetKind::Bytes => s.len(),
        yrs::OffsetKind::Utf16 => s.encode_utf16().count(),
    };
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Byte length of the longest common prefix, on a char boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, ca), cb)| ca != cb)
        .map(|((i, _), _)| i)
        .unwrap_or_else(|| a.len().min(b.len()))
}

/// Byte length of the longest common suffix, on a char boundary.
fn common_suffix(a: &str, b: &str) -> usize {
    a.chars()
        .rev()
        .zip(b.chars().rev())
        .take_while(|(ca, cb)| ca == cb)
        .map(|(c, _)| c.len_utf8())
        .sum()
}

#[cfg(test)]
mod tests {
    use yrs::updates::decoder::Decode;
    use yrs::{Doc, Transact, Update};

    use super::*;
    use crate::board::fields::{encode_doc, str_of};

    fn text_doc(kind: yrs::OffsetKind, initial: &str) -> (Doc, MapRef) {
        let mut opts = yrs::Options::with_client_id(yrs::ClientID::new(1));
        opts.offset_kind = kind;
        let doc = Doc::with_options(opts);
        let map = doc.get_or_insert_map("m");
        {
            let mut txn = doc.transact_mut();
            new_text(&mut txn, &map, "t", initial);
        }
        (doc, map)
    }

    #[test]
    fn set_text_edits_in_place_for_both_offset_kinds() {
        for kind in [yrs::OffsetKind::Bytes, yrs::OffsetKind::Utf16] {
            let (doc, map) = text_doc(kind, "héllo 👋 wörld");
            for next in ["héllo 👋 wörld!", "👋 wörld!", "", "é", "é👋é"] {
                let mut txn = doc.transact_mut();
                set_text(&mut txn, &map, "t", next);
                assert_eq!(str_of(&txn, &map, "t"), next);
            }
        }
    }

    #[test]
    fn concurrent_edits_in_different_places_both_survive() {
        let (a, map_a) = text_doc(yrs::OffsetKind::Bytes, "des formations régulières");
        let b = Doc::with_client_id(2);
        let map_b = b.get_or_insert_map("m");
        b.transact_mut()
            .apply_update(Update::decode_v1(&encode_doc(&a)).unwrap_or_default())
            .ok();
        set_text(
            &mut a.transact_mut(),
            &map_a,
            "t",
            "Des formations régulières",
        );
        set_text(
            &mut b.transact_mut(),
            &map_b,
            "t",
            "des formations plus régulières",
        );
        let ua = encode_doc(&a);
        let ub = encode_doc(&b);
        for (doc, u) in [(&a, &ub), (&b, &ua)] {
            let upd = Update::decode_v1(u);
            assert!(upd.is_ok());
            if let Ok(upd) = upd {
                assert!(doc.transact_mut().apply_update(upd).is_ok());
            }
        }
        assert_eq!(
            str_of(&a.transact(), &map_a, "t"),
            "Des formations plus régulières"
        );
        assert_eq!(
            str_of(&b.transact(), &map_b, "t"),
            "Des formations plus régulières"
        );
    }
}
