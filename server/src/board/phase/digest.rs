//! The digest of a board: everything a board's rules put out of a participant's reach, taken
//! from the board's ownership [`Snapshot`] (the whole board, or the part an update touched), and
//! the table of which root each rule guards how (`Guard`). Pure: no IO; the room compares two
//! digests with [`super::verdict`].

use std::collections::BTreeMap;

use serde_json::Value;
use yrs::Doc;

use super::super::ownership::{snapshot, Entry, Snapshot};
use super::super::schema::{board_root, field, BoardKind};
use super::{BoardRules, Phase};

/// Everything a participant may not change under some rules, entry by entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected(BTreeMap<Entry, Value>);

/// Everything `rules` put out of a participant's reach on the whole of `board`.
pub fn protected(board: &Doc, rules: &BoardRules) -> Protected {
    protected_part(&snapshot(board, rules.kind), rules)
}

/// Everything `rules` put out of a participant's reach in `snap` (a board or a part of one).
pub fn protected_part(snap: &Snapshot, rules: &BoardRules) -> Protected {
    let mut out = BTreeMap::new();
    let mut keep = |root: &str, key: &str, value: Option<Value>| {
        if let Some(v) = value {
            out.insert((root.to_owned(), key.to_owned()), v);
        }
    };
    if let Some(root) = snap.root {
        let guard = guard_of(rules, root);
        for (id, item) in &snap.items {
            let value = match &guard {
                Guard::Free => None,
                Guard::AllButVotes => Some(item.body.clone()),
                Guard::ItemsOutside(open) if item.body[field::STAGE] == *open => None,
                _ => Some(item.content()),
            };
            keep(root, id, value);
        }
        for (id, v) in &snap.stray {
            keep(root, id, (guard != Guard::Free).then(|| v.clone()));
        }
    }
    let meta = guard_of(rules, board_root::META);
    if meta != Guard::AllButProblem {
        for (key, v) in &snap.problem {
            keep(board_root::META, key, Some(v.clone()));
        }
        if !snap.owner_device.is_empty() {
            let owner = Value::String(snap.owner_device.clone());
            keep(board_root::META, field::OWNER_DEVICE, Some(owner));
        }
    }
    for ((root, key), v) in &snap.others {
        let value = match guard_of(rules, root) {
            Guard::Free => None,
            Guard::AllButProblem if is_owner_field(key) => None,
            Guard::AllButVotes => Some(without_votes(v)),
            Guard::ItemsOutside(open) if v[field::STAGE] == *open => None,
            _ => Some(v.clone()),
        };
        keep(root, key, value);
    }
    Protected(out)
}

fn without_votes(v: &Value) -> Value {
    let mut v = v.clone();
    if let Value::Object(fields) = &mut v {
        fields.remove(field::VOTES);
    }
    v
}

#[derive(Debug, PartialEq, Eq)]
enum Guard {
    /// Participants change this root freely.
    Free,
    /// Participants change nothing in it.
    All,
    /// An accelerator's header: nothing but the problem, which `policy::ownership` guards.
    AllButProblem,
    /// Participants change only `votes` maps of its entries (notes while voting).
    AllButVotes,
    /// Participants change only the entries whose `stage` is this one (accelerator items).
    ItemsOutside(&'static str),
}

fn guard_of(rules: &BoardRules, root: &str) -> Guard {
    // The header (kind, ids, the accelerator's problem and reformulation, the icebreaker's
    // prompt) is the facilitator's, always.
    if root == board_root::META {
        return if rules.kind == Some(BoardKind::Accelerator) && rules.phase != Phase::Voting {
            Guard::AllButProblem
        } else {
            Guard::All
        };
    }
    match rules.kind {
        Some(BoardKind::Grid) => match root {
            board_root::COLUMNS => Guard::All,
            board_root::NOTES if rules.phase == Phase::Voting => Guard::AllButVotes,
            _ if rules.phase == Phase::Voting => Guard::All,
            _ => Guard::Free,
        },
        Some(BoardKind::Interview) => match root {
            board_root::QUESTIONS | board_root::GROUPS => Guard::All,
            _ if rules.phase == Phase::Voting => Guard::All,
            _ => Guard::Free,
        },
        Some(BoardKind::Accelerator) => match (root, rules.stage.item_stage()) {
            _ if rules.phase == Phase::Voting => Guard::All,
            (board_root::ITEMS, Some(open)) => Guard::ItemsOutside(open),
            _ => Guard::All,
        },
        Some(BoardKind::Timeline | BoardKind::Icebreaker) | None => {
            if rules.phase == Phase::Voting {
                Guard::All
            } else {
                Guard::Free
            }
        }
    }
}

fn is_owner_field(key: &str) -> bool {
    key == field::OWNER_DEVICE || super::super::ownership::PROBLEM_FIELDS.contains(&key)
}
