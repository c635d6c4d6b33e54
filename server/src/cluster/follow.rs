//! Which streams a node reads: every doc open here, and the workshop doc of every board open
//! here even when that workshop doc's room is not (no IO).
//!
//! A board's policy checks the locks, phases and agenda that its *workshop* doc's policy
//! publishes on this node (`policy::Locks`). The workshop doc may be edited on another node
//! while no one here has it open: reading its stream on behalf of the boards is what keeps
//! those locks current. When such an entry arrives (or a resync finds the workshop room
//! unloaded) the relay loads the workshop room from PostgreSQL, whose policy publishes the
//! current locks.

use std::collections::HashSet;

use crate::doc_id::{DocId, DocKind};

/// Rooms open on this node, and the workshop docs their boards imply.
#[derive(Debug, Default)]
pub(super) struct FollowSet {
    open: HashSet<DocId>,
    /// Workshop docs followed for boards (open or not as rooms themselves).
    implied: HashSet<DocId>,
}

/// What changed in the set of docs to read.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Change {
    /// Start reading these (from a resync).
    pub(super) follow: Vec<DocId>,
    /// Stop reading these.
    pub(super) drop: Vec<DocId>,
}

impl FollowSet {
    /// Room `doc` opened here. `is_workshop(wid)` says whether `wid` is a real workshop (its
    /// policy has published on this node), so that an open doc named `a.b` implies nothing.
    pub(super) fn opened(&mut self, doc: DocId, is_workshop: impl Fn(&str) -> bool) -> Change {
        let mut change = Change::default();
        let implied = (doc.kind_in_workshop() == DocKind::Board && is_workshop(doc.workshop()))
            .then(|| doc.workshop_doc());
        if !self.followed(&doc) {
            change.follow.push(doc.clone());
        }
        self.open.insert(doc);
        if let Some(ws) = implied {
            if !self.followed(&ws) {
                change.follow.push(ws.clone());
            }
            self.implied.insert(ws);
        }
        change
    }

    /// Room `doc` stopped here.
    pub(super) fn closed(&mut self, doc: &DocId) -> Change {
        let mut change = Change::default();
        self.open.remove(doc);
        if doc.kind_in_workshop() == DocKind::Board {
            let ws = doc.workshop_doc();
            let still = self
                .open
                .iter()
                .any(|d| d.kind_in_workshop() == DocKind::Board && d.workshop() == ws.as_str());
            if !still && self.implied.remove(&ws) && !self.open.contains(&ws) {
                change.drop.push(ws);
            }
        }
        if !self.followed(doc) {
            change.drop.push(doc.clone());
        }
        change
    }

    /// Whether `doc` is read only on behalf of boards (its own room may be unloaded).
    pub(super) fn is_implied(&self, doc: &DocId) -> bool {
        self.implied.contains(doc)
    }

    fn followed(&self, doc: &DocId) -> bool {
        self.open.contains(doc) || self.implied.contains(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> DocId {
        DocId::parse(s).unwrap_or_else(|_| panic!("bad id {s}"))
    }

    #[test]
    fn a_board_brings_its_workshop_doc_along_until_the_last_board_closes() {
        let mut f = FollowSet::default();
        let c = f.opened(id("w.b1"), |_| true);
        assert_eq!(c.follow, vec![id("w.b1"), id("w")]);
        let c = f.opened(id("w.b2"), |_| true);
        assert_eq!(c.follow, vec![id("w.b2")]);
        assert!(f.is_implied(&id("w")));
        assert_eq!(f.closed(&id("w.b1")).drop, vec![id("w.b1")]);
        assert_eq!(f.closed(&id("w.b2")).drop, vec![id("w"), id("w.b2")]);
        assert!(!f.is_implied(&id("w")));
    }

    #[test]
    fn an_open_workshop_room_outlives_its_boards_and_the_other_way_round() {
        let mut f = FollowSet::default();
        assert_eq!(f.opened(id("w"), |_| true).follow, vec![id("w")]);
        assert_eq!(f.opened(id("w.b"), |_| true).follow, vec![id("w.b")]);
        // The workshop room closes: still read for the board.
        assert_eq!(f.closed(&id("w")), Change::default());
        assert_eq!(f.closed(&id("w.b")).drop, vec![id("w"), id("w.b")]);
        // The board closes while the workshop room is open: the workshop doc stays.
        f.opened(id("w"), |_| true);
        f.opened(id("w.b"), |_| true);
        assert_eq!(f.closed(&id("w.b")).drop, vec![id("w.b")]);
    }

    #[test]
    fn an_open_doc_named_like_a_board_implies_nothing() {
        let mut f = FollowSet::default();
        assert_eq!(
            f.opened(id("cluster.doc"), |_| false).follow,
            vec![id("cluster.doc")]
        );
        assert!(!f.is_implied(&id("cluster")));
    }
}
