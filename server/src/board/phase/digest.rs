//! The digest of a board: a canonical rendering of everything a board's rules put out of a
//! participant's reach, and the table of which root each rule guards how (`Guard`). Pure: no
//! IO; the room compares two digests with [`super::verdict`].

use std::fmt::Write as _;

use yrs::{Any, Doc, Map, MapRef, Out, ReadTxn, Transact};

use super::super::fields::str_of;
use super::super::schema::{board_root, field, BoardKind};
use super::{BoardRules, Phase};

/// A canonical rendering of everything a participant may not change under some rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected(String);

/// Everything `rules` put out of a participant's reach on `board`, rendered canonically.
pub fn protected(board: &Doc, rules: &BoardRules) -> Protected {
    let txn = board.transact();
    let mut out = String::new();
    let mut roots: Vec<(String, Out)> = txn
        .root_refs()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    roots.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in roots {
        // A root not yet read as a map since it was loaded is still untyped: it is one.
        let value = match value {
            Out::UndefinedRef(branch) => Out::YMap(MapRef::from(branch)),
            other => other,
        };
        let Out::YMap(map) = value else {
            // Roots are maps (schema §1); anything else is guarded whole.
            let _ = write!(out, "{name}={:?};", value.clone().to_string(&txn));
            continue;
        };
        let guard = guard_of(rules, &name);
        if guard == Guard::Free {
            continue;
        }
        // An empty root and a missing one are the same: creating an empty map changes nothing.
        let mut inner = String::new();
        let mut entries: Vec<(String, Out)> =
            map.iter(&txn).map(|(k, v)| (k.to_string(), v)).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in entries {
            match (&guard, &value) {
                // The problem's owner writes these (policy::ownership checks who).
                (Guard::AllButProblem, _) if is_owner_field(&key) => continue,
                (Guard::AllButVotes, Out::YMap(note)) => {
                    let _ = write!(inner, "{key}:");
                    render_map(&txn, note, Some(field::VOTES), &mut inner);
                }
                (Guard::ItemsOutside(open), Out::YMap(item))
                    if str_of(&txn, item, field::STAGE) == *open =>
                {
                    continue;
                }
                _ => {
                    let _ = write!(inner, "{key}:");
                    render(&txn, &value, &mut inner);
                }
            }
            inner.push(',');
        }
        if !inner.is_empty() {
            let _ = write!(out, "{name}{{{inner}}};");
        }
    }
    Protected(out)
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

fn render<T: ReadTxn>(txn: &T, value: &Out, out: &mut String) {
    match value {
        Out::YMap(m) => render_map(txn, m, None, out),
        Out::Any(any) => render_any(any, out),
        other => {
            let _ = write!(out, "{:?}", other.clone().to_string(txn));
        }
    }
}

fn render_map<T: ReadTxn>(txn: &T, map: &MapRef, skip: Option<&str>, out: &mut String) {
    let mut entries: Vec<(String, Out)> = map
        .iter(txn)
        .filter(|(k, _)| Some(*k) != skip)
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    out.push('{');
    for (k, v) in entries {
        let _ = write!(out, "{k:?}:");
        render(txn, &v, out);
        out.push(',');
    }
    out.push('}');
}

fn render_any(any: &Any, out: &mut String) {
    match any {
        Any::Map(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                let _ = write!(out, "{k:?}:");
                if let Some(v) = m.get(k) {
                    render_any(v, out);
                }
                out.push(',');
            }
            out.push('}');
        }
        Any::Array(items) => {
            out.push('[');
            for v in items.iter() {
                render_any(v, out);
                out.push(',');
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other:?}");
        }
    }
}
