//! Lenient readers and small writers over yrs maps and texts: a field of the wrong type reads as
//! its default, so a buggy or hostile client can never make a reader panic.

use yrs::types::GetString;
use yrs::updates::decoder::Decode;
use yrs::{
    Any, Doc, Map, MapPrelim, MapRef, Out, ReadTxn, StateVector, TextPrelim, Transact,
    TransactionMut, Update, WriteTxn,
};

use super::order;

mod text;

#[cfg(any(test, feature = "test-support"))]
pub(crate) use super::schema::MAX_TEXT;
#[cfg(any(test, feature = "test-support"))]
use super::schema::{board_root, BoardKind};
use super::schema::{field, Author};
use super::BoardError;
pub(crate) use text::set_text;

/// A new doc holding the state of a yrs v1 update.
pub fn doc_from_update(update: &[u8]) -> Result<Doc, BoardError> {
    let doc = Doc::new();
    let decoded = Update::decode_v1(update)?;
    doc.transact_mut().apply_update(decoded)?;
    Ok(doc)
}

/// The full state of a doc as a yrs v1 update.
pub fn encode_doc(doc: &Doc) -> Vec<u8> {
    doc.transact()
        .encode_state_as_update_v1(&StateVector::default())
}

/// A string field: a plain string, or the content of a Y.Text; `""` otherwise.
pub(crate) fn str_of<T: ReadTxn>(txn: &T, map: &MapRef, key: &str) -> String {
    match map.get(txn, key) {
        Some(Out::Any(Any::String(s))) => s.to_string(),
        Some(Out::YText(t)) => t.get_string(txn),
        _ => String::new(),
    }
}

/// An integer field (JS number); `0` when absent, not a number, or not finite.
pub(crate) fn int_of<T: ReadTxn>(txn: &T, map: &MapRef, key: &str) -> i64 {
    match map.get(txn, key) {
        Some(Out::Any(Any::Number(n))) => number_to_i64(n),
        _ => 0,
    }
}

fn number_to_i64(n: yrs::Number) -> i64 {
    match n {
        yrs::Number::Int(i) => i,
        // Saturating float-to-int cast, NaN becomes 0: exactly the lenient default we want.
        yrs::Number::Float(f) => f as i64,
    }
}

/// A boolean field; `false` unless it is the boolean `true`.
pub(crate) fn bool_of<T: ReadTxn>(txn: &T, map: &MapRef, key: &str) -> bool {
    matches!(map.get(txn, key), Some(Out::Any(Any::Bool(true))))
}

/// A nested map field, if it is one.
pub(crate) fn map_of<T: ReadTxn>(txn: &T, map: &MapRef, key: &str) -> Option<MapRef> {
    match map.get(txn, key) {
        Some(Out::YMap(m)) => Some(m),
        _ => None,
    }
}

/// Entries of a collection map whose values are maps, as (id, map); other values are skipped.
pub(crate) fn entries<T: ReadTxn>(txn: &T, map: &MapRef) -> Vec<(String, MapRef)> {
    map.iter(txn)
        .filter_map(|(k, v)| match v {
            Out::YMap(m) => Some((k.to_owned(), m)),
            _ => None,
        })
        .collect()
}

/// Votes map read as (voter id, count) with positive counts only, sorted by voter id.
pub(crate) fn counts_of<T: ReadTxn>(
    txn: &T,
    map: &MapRef,
    key: &str,
) -> std::collections::BTreeMap<String, u32> {
    let Some(votes) = map_of(txn, map, key) else {
        return Default::default();
    };
    votes
        .iter(txn)
        .filter_map(|(voter, v)| match v {
            Out::Any(Any::Number(n)) => {
                let count = u32::try_from(number_to_i64(n).clamp(0, i64::from(u32::MAX))).ok()?;
                (count > 0).then(|| (voter.to_owned(), count))
            }
            _ => None,
        })
        .collect()
}

/// A root map of a doc, read-only; `None` if nothing was ever written under that name.
pub(crate) fn root<T: ReadTxn>(txn: &T, name: &str) -> Option<MapRef> {
    txn.get_map(name)
}

/// Sets a plain string field.
pub(crate) fn set_str(txn: &mut TransactionMut, map: &MapRef, key: &str, value: &str) {
    map.insert(txn, key, value);
}

/// Sets an integer field (written so that Yjs reads a plain JS number).
pub(crate) fn set_int(txn: &mut TransactionMut, map: &MapRef, key: &str, value: i64) {
    map.insert(txn, key, Any::Number(yrs::Number::Int(value)));
}

/// Creates a Y.Text field holding `value`.
pub(crate) fn new_text(txn: &mut TransactionMut, map: &MapRef, key: &str, value: &str) {
    map.insert(txn, key, TextPrelim::new(value));
}

/// Creates an empty nested map field.
pub(crate) fn new_map(txn: &mut TransactionMut, map: &MapRef, key: &str) -> MapRef {
    map.insert(txn, key, MapPrelim::default())
}

/// Writes the author fields and creation time of a new item.
#[cfg(any(test, feature = "test-support"))]
pub(crate) fn set_author(txn: &mut TransactionMut, map: &MapRef, author: &Author, created_at: i64) {
    set_str(txn, map, field::AUTHOR_ID, &author.id);
    set_str(txn, map, field::AUTHOR_NAME, &author.name);
    set_str(txn, map, field::AUTHOR_ORG, &author.organisation);
    set_int(txn, map, field::CREATED_AT, created_at);
}

/// Reads the author fields of an item.
pub(crate) fn author_of<T: ReadTxn>(txn: &T, map: &MapRef) -> Author {
    Author {
        id: str_of(txn, map, field::AUTHOR_ID),
        name: str_of(txn, map, field::AUTHOR_NAME),
        organisation: str_of(txn, map, field::AUTHOR_ORG),
    }
}

/// The root collection `name`, creating it if the doc has none yet.
pub(crate) fn root_mut(txn: &mut TransactionMut, name: &str) -> MapRef {
    txn.get_or_insert_map(name)
}

/// The item `id` of collection `root`, or `NotFound`.
pub(crate) fn item(
    txn: &TransactionMut,
    root: &MapRef,
    what: &'static str,
    id: &str,
) -> Result<MapRef, BoardError> {
    map_of(txn, root, id).ok_or_else(|| BoardError::NotFound {
        what,
        id: id.to_owned(),
    })
}

/// Creates item `id` in `root` (refusing to overwrite one), returning its map.
pub(crate) fn create_item(
    txn: &mut TransactionMut,
    root: &MapRef,
    what: &'static str,
    id: &str,
) -> Result<MapRef, BoardError> {
    super::schema::check_id(id)?;
    if root.contains_key(txn, id) {
        return Err(BoardError::AlreadyExists {
            what,
            id: id.to_owned(),
        });
    }
    Ok(new_map(txn, root, id))
}

/// Deletes item `id` of `root`, or `NotFound`.
pub(crate) fn delete_item(
    txn: &mut TransactionMut,
    root: &MapRef,
    what: &'static str,
    id: &str,
) -> Result<(), BoardError> {
    match root.remove(txn, id) {
        Some(_) => Ok(()),
        None => Err(BoardError::NotFound {
            what,
            id: id.to_owned(),
        }),
    }
}

/// Sorted (order key, id) of the items of `root` that satisfy `keep`, as displayed.
pub(crate) fn sorted_keys<T: ReadTxn>(
    txn: &T,
    root: &MapRef,
    keep: impl Fn(&MapRef) -> bool,
) -> Vec<(String, String)> {
    let mut keys: Vec<(String, String)> = entries(txn, root)
        .into_iter()
        .filter(|(_, m)| keep(m))
        .map(|(id, m)| (str_of(txn, &m, field::ORDER), id))
        .collect();
    keys.sort();
    keys
}

/// Order key placing an item at `index` (or the end) among the items of `root` that satisfy
/// `keep`, leaving out item `moving`.
pub(crate) fn order_key_at(
    txn: &TransactionMut,
    root: &MapRef,
    moving: Option<&str>,
    index: Option<usize>,
    keep: impl Fn(&MapRef) -> bool,
) -> String {
    let keys = sorted_keys(txn, root, keep);
    let refs: Vec<&str> = keys
        .iter()
        .filter(|(_, id)| Some(id.as_str()) != moving)
        .map(|(k, _)| k.as_str())
        .collect();
    match index {
        Some(i) => order::key_at(&refs, i),
        None => order::append_key(&refs),
    }
}

/// Checks a human-entered label: trimmed, non-empty, at most `max` chars.
pub(crate) fn check_label(field: &'static str, value: &str, max: usize) -> Result<(), BoardError> {
    if value.trim().is_empty() {
        return Err(BoardError::InvalidField {
            field,
            reason: "must not be empty",
        });
    }
    check_len(field, value, max)
}

/// Checks that a text is at most `max` chars.
pub(crate) fn check_len(field: &'static str, value: &str, max: usize) -> Result<(), BoardError> {
    if value.chars().count() > max {
        return Err(BoardError::InvalidField {
            field,
            reason: "too long",
        });
    }
    Ok(())
}

/// Opens a write transaction on a board doc after checking that it is a board of `kind`.
#[cfg(any(test, feature = "test-support"))]
pub(crate) fn open_board(doc: &Doc, kind: BoardKind) -> Result<TransactionMut<'_>, BoardError> {
    let txn = doc.transact_mut();
    let found = root(&txn, board_root::META)
        .map(|m| str_of(&txn, &m, field::KIND))
        .unwrap_or_default();
    if found != kind.as_str() {
        return Err(BoardError::WrongKind {
            expected: kind,
            found: found.chars().take(40).collect(),
        });
    }
    Ok(txn)
}

/// Sets a text field when the patch has a value for it.
#[cfg(any(test, feature = "test-support"))]
pub(crate) fn patch_text(
    txn: &mut TransactionMut,
    map: &MapRef,
    key: &str,
    value: Option<&String>,
) {
    if let Some(v) = value {
        set_text(txn, map, key, v);
    }
}

/// Sets a string field when the patch has a value for it.
#[cfg(any(test, feature = "test-support"))]
pub(crate) fn patch_str(txn: &mut TransactionMut, map: &MapRef, key: &str, value: Option<&String>) {
    if let Some(v) = value {
        set_str(txn, map, key, v.trim());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_read_as_defaults() {
        let doc = Doc::new();
        let map = doc.get_or_insert_map("m");
        let mut txn = doc.transact_mut();
        set_int(&mut txn, &map, "s", 3);
        set_str(&mut txn, &map, "n", "x");
        map.insert(&mut txn, "f", Any::Number(yrs::Number::Float(f64::NAN)));
        new_map(&mut txn, &map, "b");
        assert_eq!(str_of(&txn, &map, "s"), "");
        assert_eq!(int_of(&txn, &map, "n"), 0);
        assert_eq!(int_of(&txn, &map, "f"), 0);
        assert!(!bool_of(&txn, &map, "b"));
        assert!(map_of(&txn, &map, "s").is_none());
        assert!(counts_of(&txn, &map, "s").is_empty());
    }

    #[test]
    fn garbage_update_is_an_error() {
        assert!(doc_from_update(&[0xff, 0x00, 0x13]).is_err());
        assert!(doc_from_update(&[]).is_err());
    }
}
