//! What a connection may change in the doc it is attached to, decided per message.
//!
//! The HTTP layer maps a credential's [`crate::auth::Role`] and the doc kind to an [`Access`]
//! once, at upgrade time; the room asks [`Access::may_write`] for every update. Board locks are
//! facilitator control state kept in the workshop doc: the workshop's room republishes them into
//! [`Locks`] after every change, so a board's room can check them without reading another doc.

use dashmap::DashMap;

use crate::board::schema::{board_root, field, workshop_root};

/// A connection's write rights on one doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// May change anything (facilitator, or an open doc outside any workshop).
    Full,
    /// May change nothing; the reason is told to the client when it tries.
    ReadOnly(&'static str),
    /// A participant on a board: may write unless the facilitator locked the board.
    UnlessLocked,
}

/// Why a write was refused; sent to the client as a y-protocols permission-denied message.
pub const LOCKED: &str = "this board is locked by the facilitator";

impl Access {
    /// Whether an update to `doc_id` is allowed now.
    pub fn may_write(&self, doc_id: &str, locks: &Locks) -> Result<(), &'static str> {
        match self {
            Access::Full => Ok(()),
            Access::ReadOnly(reason) => Err(reason),
            Access::UnlessLocked if locks.is_locked(doc_id) => Err(LOCKED),
            Access::UnlessLocked => Ok(()),
        }
    }

    /// Whether presence (awareness) may be announced: everyone but a read-only viewer.
    pub fn may_announce(&self) -> bool {
        !matches!(self, Access::ReadOnly(reason) if *reason == VIEWER)
    }
}

/// Reason given to a viewer (projector link) that tries to write.
pub const VIEWER: &str = "this link is read-only (projector)";
/// Reason given to a participant that tries to change the workshop doc.
pub const WORKSHOP_DOC: &str = "only the facilitator can change the agenda and controls";

/// Board doc id -> locked, as last published by the workshop rooms.
#[derive(Debug, Default)]
pub struct Locks {
    locked: DashMap<String, bool>,
    /// Workshops whose locks have been published at least once since start.
    known: dashmap::DashSet<String>,
}

impl Locks {
    /// Whether the board doc `doc_id` is locked.
    pub fn is_locked(&self, doc_id: &str) -> bool {
        self.locked.get(doc_id).is_some_and(|l| *l)
    }

    /// Whether workshop `wid` has published its locks since start.
    pub fn knows(&self, wid: &str) -> bool {
        self.known.contains(wid)
    }

    /// Replaces the lock state of every board of workshop `wid`.
    pub fn publish(&self, wid: &str, boards: impl IntoIterator<Item = (String, bool)>) {
        if !self.known.contains(wid) {
            self.known.insert(wid.to_string());
        }
        let prefix = format!("{wid}.");
        self.locked.retain(|doc, _| !doc.starts_with(&prefix));
        for (bid, locked) in boards {
            if locked {
                self.locked.insert(format!("{prefix}{bid}"), true);
            }
        }
    }
}

/// The lock state of every board listed in a workshop doc's `control` map
/// (docs/board-schema.md §2). Anything malformed reads as unlocked.
pub fn locked_boards(workshop: &yrs::Doc) -> Vec<(String, bool)> {
    use yrs::{Map, Out, ReadTxn, Transact};
    let txn = workshop.transact();
    let Some(control) = txn.get_map(workshop_root::CONTROL) else {
        return Vec::new();
    };
    control
        .iter(&txn)
        .map(|(bid, entry)| {
            let locked = match entry {
                Out::YMap(m) => {
                    matches!(
                        m.get(&txn, field::LOCKED),
                        Some(Out::Any(yrs::Any::Bool(true)))
                    )
                }
                _ => false,
            };
            (bid.to_string(), locked)
        })
        .collect()
}

/// How many items people have put on a board: notes, cards, accelerator items, answers
/// (docs/board-schema.md §4), the quantity the `max_items` limit caps.
pub fn item_count(board: &yrs::Doc) -> usize {
    use yrs::{Map, ReadTxn, Transact};
    let txn = board.transact();
    [
        board_root::NOTES,
        board_root::CARDS,
        board_root::ITEMS,
        board_root::ANSWERS,
    ]
    .iter()
    .filter_map(|root| txn.get_map(*root))
    .map(|m| m.len(&txn) as usize)
    .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participants_write_until_the_board_is_locked() {
        let locks = Locks::default();
        assert!(Access::UnlessLocked.may_write("w.b1", &locks).is_ok());
        locks.publish("w", [("b1".to_string(), true), ("b2".to_string(), false)]);
        assert_eq!(Access::UnlessLocked.may_write("w.b1", &locks), Err(LOCKED));
        assert!(Access::UnlessLocked.may_write("w.b2", &locks).is_ok());
        assert!(Access::Full.may_write("w.b1", &locks).is_ok());
        locks.publish("w", []);
        assert!(Access::UnlessLocked.may_write("w.b1", &locks).is_ok());
    }

    #[test]
    fn viewers_never_write_nor_announce() {
        let locks = Locks::default();
        assert!(Access::ReadOnly(VIEWER).may_write("w", &locks).is_err());
        assert!(!Access::ReadOnly(VIEWER).may_announce());
        assert!(Access::ReadOnly(WORKSHOP_DOC).may_announce());
    }
}
