//! What the write policies read from a doc (docs/board-schema.md §2, §4): the lock flags in a
//! workshop's control state and the number of items on a board. Anything malformed reads as
//! unlocked / uncounted.

use yrs::{Any, Doc, Map, Out, ReadTxn, Transact};

use super::schema::{board_root, field, workshop_root};

/// The lock state of every board listed in a workshop doc's `control` map.
pub fn locked_boards(workshop: &Doc) -> Vec<(String, bool)> {
    let txn = workshop.transact();
    let Some(control) = txn.get_map(workshop_root::CONTROL) else {
        return Vec::new();
    };
    control
        .iter(&txn)
        .map(|(bid, entry)| {
            let locked = match entry {
                Out::YMap(m) => {
                    matches!(m.get(&txn, field::LOCKED), Some(Out::Any(Any::Bool(true))))
                }
                _ => false,
            };
            (bid.to_string(), locked)
        })
        .collect()
}

/// The board ids on a workshop doc's agenda (any order).
pub fn agenda_boards(workshop: &Doc) -> Vec<String> {
    let txn = workshop.transact();
    let Some(agenda) = txn.get_map(workshop_root::AGENDA) else {
        return Vec::new();
    };
    agenda.keys(&txn).map(str::to_string).collect()
}

/// The roots whose entries are what people put on a board: notes, cards, accelerator items,
/// answers.
pub const ITEM_ROOTS: [&str; 4] = [
    board_root::NOTES,
    board_root::CARDS,
    board_root::ITEMS,
    board_root::ANSWERS,
];

/// How many items people have put on a board (entries of [`ITEM_ROOTS`]) — the quantity the
/// `max_items` limit caps. The board policy counts the same from its kept split
/// ([`super::ownership::Snapshot::item_count`]).
pub fn item_count(board: &Doc) -> usize {
    let txn = board.transact();
    ITEM_ROOTS
        .iter()
        .filter_map(|root| txn.get_map(*root))
        .map(|m| m.len(&txn) as usize)
        .sum()
}

/// The kind a board doc says it is, if it says one this server knows.
pub fn board_kind(board: &Doc) -> Option<crate::board::BoardKind> {
    let txn = board.transact();
    let meta = txn.get_map(crate::board::schema::board_root::META)?;
    match meta.get(&txn, crate::board::schema::field::KIND) {
        Some(yrs::Out::Any(yrs::Any::String(s))) => s.parse().ok(),
        _ => None,
    }
}
