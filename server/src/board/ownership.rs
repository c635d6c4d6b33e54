//! Who owns what on a board, as data the ownership policy compares before and after a
//! participant's update (docs/board-schema.md §3 "Who may write what"). Pure: no IO.
//!
//! A [`Snapshot`] splits a board doc in three:
//! - the *authored items* (grid notes, timeline cards, accelerator items, interview answers):
//!   per item its `authorId`, its content without votes, and its votes per voter;
//! - the accelerator's *problem* (the header fields its owner may write, and `ownerDevice`);
//! - everything else, which only the facilitator writes (columns, questions, groups, the header,
//!   the bin, any unknown root).
//!
//! Contents are rendered as JSON values (Y.Text as `{"~text": …}`), so two snapshots compare
//! exactly and a deleted item's content can be kept in the bin and re-created from it.

use std::collections::BTreeMap;

use serde_json::{json, Map as JsonMap, Value};
use yrs::types::GetString;
use yrs::{Any, Doc, Map, MapRef, Out, ReadTxn, Transact};

use super::fields::str_of;
use super::schema::{board_root, field, BoardKind};

/// Key under which a Y.Text is rendered (a plain string stays a JSON string).
pub const TEXT_TAG: &str = "~text";

/// The header fields of an accelerator that the person bringing the problem may write.
pub const PROBLEM_FIELDS: [&str; 6] = [
    field::OWNER,
    field::OWNER_ORG,
    field::QUESTION,
    field::CONTEXT,
    field::STATEMENT,
    field::REFORMULATION,
];

/// The root holding a kind's authored items; `None` for the icebreaker, whose notes carry no
/// author (anonymous: held contributions keep them off the shared doc, issue #12 part B).
pub fn authored_root(kind: BoardKind) -> Option<&'static str> {
    match kind {
        BoardKind::Grid => Some(board_root::NOTES),
        BoardKind::Timeline => Some(board_root::CARDS),
        BoardKind::Accelerator => Some(board_root::ITEMS),
        BoardKind::Interview => Some(board_root::ANSWERS),
        BoardKind::Icebreaker => None,
    }
}

/// One authored item as the policy sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its `authorId` (`""` when absent or not a string).
    pub author: String,
    /// Every field but `votes`, rendered.
    pub body: Value,
    /// Its `votes` map as voter → stored value (rendered, so a non-number is seen too).
    pub votes: BTreeMap<String, Value>,
}

impl Item {
    /// The item's whole content (body and votes), as the bin keeps it.
    pub fn content(&self) -> Value {
        let mut body = self.body.clone();
        if let Value::Object(fields) = &mut body {
            if !self.votes.is_empty() {
                let votes: JsonMap<String, Value> = self
                    .votes
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                fields.insert(field::VOTES.to_owned(), Value::Object(votes));
            }
        }
        body
    }
}

/// A board split by who may write each part.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// The root of the authored items (`None`: the kind has none).
    pub root: Option<&'static str>,
    /// Authored items by id.
    pub items: BTreeMap<String, Item>,
    /// Entries of the authored root that are not maps (only the facilitator writes those).
    pub stray: BTreeMap<String, Value>,
    /// The accelerator's problem fields (absent ones omitted).
    pub problem: BTreeMap<String, Value>,
    /// The accelerator's `ownerDevice` (`""`: nobody claimed the problem yet).
    pub owner_device: String,
    /// Every other root, rendered whole, by name (the facilitator's part).
    pub others: BTreeMap<String, Value>,
}

/// The board's own kind, from its header.
pub fn kind_of(board: &Doc) -> Option<BoardKind> {
    let txn = board.transact();
    let meta = txn.get_map(board_root::META)?;
    str_of(&txn, &meta, field::KIND).parse().ok()
}

/// Splits `board` (of kind `kind`; `None` = read it from the header) for the ownership check.
pub fn snapshot(board: &Doc, kind: Option<BoardKind>) -> Snapshot {
    let kind = kind.or_else(|| kind_of(board));
    let authored = kind.and_then(authored_root);
    let accelerator = kind == Some(BoardKind::Accelerator);
    let txn = board.transact();
    let mut snap = Snapshot {
        root: authored,
        ..Snapshot::default()
    };
    for (name, value) in txn.root_refs() {
        let value = match value {
            // A root not read as a map since it was loaded is still untyped: it is one.
            Out::UndefinedRef(branch) => Out::YMap(MapRef::from(branch)),
            other => other,
        };
        match (&value, name) {
            (Out::YMap(map), n) if Some(n) == authored => {
                for (id, entry) in map.iter(&txn) {
                    match entry {
                        Out::YMap(m) => {
                            snap.items.insert(id.to_owned(), item(&txn, &m));
                        }
                        other => {
                            snap.stray.insert(id.to_owned(), render(&txn, &other));
                        }
                    }
                }
            }
            // Anonymous papers: no author to check (held contributions take them off the
            // shared doc, issue #12 part B); the phase rules and caps still apply.
            (_, board_root::NOTES) if kind == Some(BoardKind::Icebreaker) => {}
            (Out::YMap(map), board_root::META) if accelerator => {
                let mut rest = JsonMap::new();
                for (key, v) in map.iter(&txn) {
                    if key == field::OWNER_DEVICE {
                        if let Out::Any(Any::String(s)) = &v {
                            snap.owner_device = s.to_string();
                        } else {
                            rest.insert(key.to_owned(), render(&txn, &v));
                        }
                    } else if PROBLEM_FIELDS.contains(&key) {
                        snap.problem.insert(key.to_owned(), render(&txn, &v));
                    } else {
                        rest.insert(key.to_owned(), render(&txn, &v));
                    }
                }
                if !rest.is_empty() {
                    snap.others.insert(name.to_owned(), Value::Object(rest));
                }
            }
            _ => {
                let rendered = render(&txn, &value);
                // An empty root and a missing one are the same: creating one changes nothing.
                if rendered != json!({}) {
                    snap.others.insert(name.to_owned(), rendered);
                }
            }
        }
    }
    snap
}

fn item<T: ReadTxn>(txn: &T, m: &MapRef) -> Item {
    let mut body = JsonMap::new();
    let mut votes = BTreeMap::new();
    let mut author = String::new();
    for (key, v) in m.iter(txn) {
        match (key, &v) {
            (field::VOTES, Out::YMap(vm)) => {
                for (voter, n) in vm.iter(txn) {
                    votes.insert(voter.to_owned(), render(txn, &n));
                }
            }
            _ => {
                if key == field::AUTHOR_ID {
                    if let Out::Any(Any::String(s)) = &v {
                        author = s.to_string();
                    }
                }
                body.insert(key.to_owned(), render(txn, &v));
            }
        }
    }
    Item {
        author,
        body: Value::Object(body),
        votes,
    }
}

/// Renders any value of a doc as JSON: maps as objects, Y.Text as `{"~text": …}`.
pub fn render<T: ReadTxn>(txn: &T, value: &Out) -> Value {
    match value {
        Out::Any(any) => render_any(any),
        Out::YText(t) => json!({ TEXT_TAG: t.get_string(txn) }),
        Out::YMap(m) => Value::Object(
            m.iter(txn)
                .map(|(k, v)| (k.to_owned(), render(txn, &v)))
                .collect(),
        ),
        Out::UndefinedRef(b) => render(txn, &Out::YMap(MapRef::from(*b))),
        other => json!({ "~other": other.clone().to_string(txn) }),
    }
}

fn render_any(any: &Any) -> Value {
    match any {
        Any::Null | Any::Undefined => Value::Null,
        Any::Bool(b) => Value::Bool(*b),
        Any::Number(yrs::Number::Int(i)) => json!(i),
        Any::Number(yrs::Number::Float(f)) => {
            // Integral floats (what JS writes) compare equal to the same integer.
            if f.fract() == 0.0 && f.abs() < 9.0e15 {
                json!(*f as i64)
            } else {
                serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
            }
        }
        Any::String(s) => Value::String(s.to_string()),
        Any::Buffer(b) => json!({ "~bytes": b.len() }),
        Any::Array(items) => Value::Array(items.iter().map(render_any).collect()),
        Any::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), render_any(v))).collect()),
    }
}
