//! The bin: what anyone deleted from a board, kept by the server in the board doc's `bin` root
//! so the facilitator can restore it (docs/board-schema.md §3.1). The one board root the server
//! writes itself, through the room's pipeline like any edit. Pure: no IO, no clock.
//!
//! Bounded per board: at most [`MAX_ENTRIES`] entries and [`MAX_BYTES`] of kept content. Past
//! either, items their own author deleted go first (oldest first), then the oldest others — so
//! a participant deleting their own notes in a loop cannot push a wiped board out of the bin.

use serde_json::Value;
use yrs::{Any, Doc, Map, MapPrelim, Out, ReadTxn, Transact, WriteTxn};

use super::fields::{entries, int_of, str_of};
use super::schema::{board_root, field};

/// Most entries a board's bin keeps.
pub const MAX_ENTRIES: usize = 2_000;
/// Most bytes of kept content (the JSON of the items) a board's bin keeps.
pub const MAX_BYTES: usize = 4 * 1024 * 1024;
/// `deletedBy` of what the facilitator deleted.
pub const BY_FACILITATOR: &str = "facilitator";

/// An item going to the bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Deleted {
    /// Its id in its collection (and its key in the bin).
    pub id: String,
    /// The collection it was in (`notes`, `cards`, `items`, `answers`).
    pub root: String,
    /// Its `authorId` when it was deleted.
    pub author: String,
    /// Its whole content, as [`super::ownership::render`] renders it.
    pub content: Value,
}

/// A bin entry as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The item's id.
    pub id: String,
    /// Its collection.
    pub root: String,
    /// Its author's id.
    pub author: String,
    /// Who deleted it: a device id or [`BY_FACILITATOR`].
    pub deleted_by: String,
    /// When (ms since the epoch, the server's clock).
    pub deleted_at: i64,
    /// The item's content (JSON text).
    pub data: String,
}

/// Puts `items`, deleted by `by` at `now_ms`, in the bin of `board`, then trims it to its bounds.
pub fn record(board: &Doc, items: &[Deleted], by: &str, now_ms: i64) {
    let mut txn = board.transact_mut();
    let bin = txn.get_or_insert_map(board_root::BIN);
    for d in items {
        let data = d.content.to_string();
        let entry = MapPrelim::from([
            (field::ROOT.to_owned(), Any::from(d.root.as_str())),
            (field::AUTHOR_ID.to_owned(), Any::from(d.author.as_str())),
            (field::DELETED_BY.to_owned(), Any::from(by)),
            (
                field::DELETED_AT.to_owned(),
                Any::Number(yrs::Number::Int(now_ms)),
            ),
            (field::DATA.to_owned(), Any::from(data)),
        ]);
        bin.insert(&mut txn, d.id.as_str(), entry);
    }
    let mut kept: Vec<(String, bool, i64, usize)> = entries(&txn, &bin)
        .into_iter()
        .map(|(id, m)| {
            let own = str_of(&txn, &m, field::AUTHOR_ID) == str_of(&txn, &m, field::DELETED_BY);
            let at = int_of(&txn, &m, field::DELETED_AT);
            let len = str_of(&txn, &m, field::DATA).len();
            (id, own, at, len)
        })
        .collect();
    let mut bytes: usize = kept.iter().map(|k| k.3).sum();
    if kept.len() <= MAX_ENTRIES && bytes <= MAX_BYTES {
        return;
    }
    // Evicted first: self-deleted, then oldest, then by id (a stable order).
    kept.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(a.2.cmp(&b.2))
            .then_with(|| a.0.cmp(&b.0))
    });
    let mut count = kept.len();
    for (id, _, _, len) in kept {
        if count <= MAX_ENTRIES && bytes <= MAX_BYTES {
            break;
        }
        bin.remove(&mut txn, &id);
        count -= 1;
        bytes -= len;
    }
}

/// Removes the bin entries of items that are back on the board (restored, or undone).
pub fn forget(board: &Doc, ids: &[&str]) {
    let mut txn = board.transact_mut();
    let Some(bin) = txn.get_map(board_root::BIN) else {
        return;
    };
    for id in ids {
        if bin.contains_key(&txn, id) {
            bin.remove(&mut txn, id);
        }
    }
}

/// Whether any of `ids` has an entry in the bin of `board`.
pub fn holds_any(board: &Doc, ids: &[&str]) -> bool {
    let txn = board.transact();
    txn.get_map(board_root::BIN)
        .is_some_and(|bin| ids.iter().any(|id| bin.contains_key(&txn, id)))
}

/// Every entry of the bin, newest first.
pub fn read(board: &Doc) -> Vec<Entry> {
    let txn = board.transact();
    let Some(bin) = txn.get_map(board_root::BIN) else {
        return Vec::new();
    };
    let mut out: Vec<Entry> = bin
        .iter(&txn)
        .filter_map(|(id, v)| match v {
            Out::YMap(m) => Some(Entry {
                id: id.to_owned(),
                root: str_of(&txn, &m, field::ROOT),
                author: str_of(&txn, &m, field::AUTHOR_ID),
                deleted_by: str_of(&txn, &m, field::DELETED_BY),
                deleted_at: int_of(&txn, &m, field::DELETED_AT),
                data: str_of(&txn, &m, field::DATA),
            }),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| b.deleted_at.cmp(&a.deleted_at).then(a.id.cmp(&b.id)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gone(id: &str, author: &str) -> Deleted {
        Deleted {
            id: id.into(),
            root: "notes".into(),
            author: author.into(),
            content: json!({"text": {"~text": id}, "authorId": author}),
        }
    }

    #[test]
    fn keeps_and_forgets() {
        let doc = Doc::new();
        record(&doc, &[gone("a", "alice"), gone("b", "bob")], "bob", 10);
        let bin = read(&doc);
        assert_eq!(bin.len(), 2);
        assert_eq!(bin[0].deleted_by, "bob");
        assert!(bin[0].data.contains("\"~text\""));
        assert!(holds_any(&doc, &["a"]));
        forget(&doc, &["a", "zzz"]);
        assert_eq!(read(&doc).len(), 1);
        assert!(!holds_any(&doc, &["a"]));
    }

    #[test]
    fn self_deleted_items_are_evicted_first() {
        let doc = Doc::new();
        // A wiped board: someone else's notes, deleted by mallory.
        let wiped: Vec<Deleted> = (0..10).map(|i| gone(&format!("w{i}"), "alice")).collect();
        record(&doc, &wiped, "mallory", 1);
        // Then mallory floods the bin with her own notes.
        for round in 0..(MAX_ENTRIES / 100 + 1) {
            let own: Vec<Deleted> = (0..100)
                .map(|i| gone(&format!("m{round}-{i}"), "mallory"))
                .collect();
            record(&doc, &own, "mallory", 2 + round as i64);
        }
        let bin = read(&doc);
        assert_eq!(bin.len(), MAX_ENTRIES);
        for i in 0..10 {
            assert!(bin.iter().any(|e| e.id == format!("w{i}")), "w{i} evicted");
        }
    }
}
