//! Who owns what on a board, as data the ownership policy compares before and after a
//! participant's update (docs/board-schema.md §3 "Who may write what"). Pure: no IO.
//!
//! A [`Snapshot`] splits a board doc (or the part of it a change touched) in three:
//! - the *authored items* (grid notes, timeline cards, accelerator items, interview answers):
//!   per item its `authorId`, its content without votes, and its votes per voter;
//! - the accelerator's *problem* (the header fields its owner may write, and `ownerDevice`);
//! - everything else, which only the facilitator writes (columns, questions, groups, the header,
//!   the bin, any unknown root).
//!
//! Contents are rendered as JSON values (Y.Text as `{"~text": …}`), so two snapshots compare
//! exactly and a deleted item's content can be kept in the bin and re-created from it.
//!
//! The board policy keeps the whole snapshot of its board and, per update, compares only the
//! entries the update touched ([`crate::touched`]): `part.rs` cuts a snapshot to those entries,
//! reads them from a doc, and puts fresh ones back.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map as JsonMap, Value};
use yrs::types::GetString;
use yrs::{Any, Doc, Map, MapRef, Out, ReadTxn, Transact};

use super::fields::str_of;
use super::schema::{board_root, field, BoardKind};

mod part;
pub use part::Scope;

/// Key under which a Y.Text is rendered (a plain string stays a JSON string).
pub const TEXT_TAG: &str = "~text";

/// The header fields of an accelerator that the person bringing the problem may write. The
/// reformulation is not among them: the method has the facilitator reformulate (issue #10).
pub const PROBLEM_FIELDS: [&str; 5] = [
    field::OWNER,
    field::OWNER_ORG,
    field::QUESTION,
    field::CONTEXT,
    field::STATEMENT,
];

/// The root holding a kind's authored items; `None` for the icebreaker, whose papers carry no
/// author: a participant writes them into its held doc, and only the server's reveal (the
/// facilitator's edit) puts them on the shared doc, so the icebreaker's `notes` root is the
/// facilitator's like every other unauthored root.
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

    /// The dots `voter` put on this item (a value that is not a whole number counts 0).
    pub fn dots_of(&self, voter: &str) -> i64 {
        self.votes
            .get(voter)
            .and_then(Value::as_i64)
            .map_or(0, |n| n.clamp(0, MAX_DOTS_PER_NOTE))
    }
}

/// Most dots one voter may put on one note, whatever the budget.
pub const MAX_DOTS_PER_NOTE: i64 = 100;

/// An entry of a board: a root and one of its keys (`""` for a root that is not a map).
pub type Entry = (String, String);

/// A board split by who may write each part: the whole board, or the part of it a change
/// touched ([`Snapshot::read_part`], [`Snapshot::part`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// The kind it was read as.
    pub kind: Option<BoardKind>,
    /// The root of the authored items (`None`: the kind has none).
    pub root: Option<&'static str>,
    /// Authored items by id.
    pub items: BTreeMap<String, Item>,
    /// Entries of the authored root that are not maps (only the facilitator writes those).
    pub stray: BTreeMap<String, Value>,
    /// The accelerator's problem fields (absent ones omitted).
    pub problem: BTreeMap<String, Value>,
    /// The accelerator's `ownerDevice` (`""`: nobody claimed the problem yet). Always read,
    /// even in a part: who owns the problem decides who may write it.
    pub owner_device: String,
    /// Every other entry, rendered (the facilitator's part).
    pub others: BTreeMap<Entry, Value>,
    /// Entries holding a nested type yrs reports no changes in (`Out::UndefinedRef`: an XML
    /// hook, a type ref it does not know): what touched them cannot be known, so every part
    /// includes them ([`crate::touched`]).
    pub opaque: BTreeSet<Entry>,
    /// Dots per voter over the items held.
    pub dots: BTreeMap<String, i64>,
}

/// The board's own kind, from its header.
pub fn kind_of(board: &Doc) -> Option<BoardKind> {
    let txn = board.transact();
    let meta = txn.get_map(board_root::META)?;
    str_of(&txn, &meta, field::KIND).parse().ok()
}

/// Splits the whole of `board` (of kind `kind`; `None` = read it from the header).
pub fn snapshot(board: &Doc, kind: Option<BoardKind>) -> Snapshot {
    let kind = kind.or_else(|| kind_of(board));
    let mut snap = Snapshot::empty(kind);
    let txn = board.transact();
    for (name, value) in txn.root_refs() {
        match as_map(value) {
            Ok(map) => {
                for (key, v) in map.iter(&txn) {
                    snap.put(&txn, name, key, v);
                }
            }
            Err(other) => snap.put_root(&txn, name, &other),
        }
    }
    snap.read_owner(&txn);
    snap
}

/// A root as a map: roots are maps (schema §1), and one yrs was never told the type of is one.
fn as_map(value: Out) -> Result<MapRef, Out> {
    match value {
        Out::YMap(map) => Ok(map),
        Out::UndefinedRef(branch) => Ok(MapRef::from(branch)),
        other => Err(other),
    }
}

impl Snapshot {
    fn empty(kind: Option<BoardKind>) -> Snapshot {
        Snapshot {
            kind,
            root: kind.and_then(authored_root),
            ..Snapshot::default()
        }
    }

    fn accelerator(&self) -> bool {
        self.kind == Some(BoardKind::Accelerator)
    }

    /// Reads entry `key` of root `name` holding `value`.
    fn put<T: ReadTxn>(&mut self, txn: &T, name: &str, key: &str, value: Out) {
        let mut opaque = false;
        if Some(name) == self.root {
            match value {
                Out::YMap(m) => {
                    let item = item(txn, &m, &mut opaque);
                    add_dots(&mut self.dots, &item);
                    self.items.insert(key.to_owned(), item);
                }
                other => {
                    let v = render_marking(txn, &other, &mut opaque);
                    self.stray.insert(key.to_owned(), v);
                }
            }
        } else if name == board_root::META && self.accelerator() && key != field::OWNER_DEVICE {
            let v = render_marking(txn, &value, &mut opaque);
            if PROBLEM_FIELDS.contains(&key) {
                self.problem.insert(key.to_owned(), v);
            } else {
                self.others.insert((name.to_owned(), key.to_owned()), v);
            }
        } else if !(name == board_root::META
            && self.accelerator()
            && matches!(value, Out::Any(Any::String(_))))
        {
            // (A string `ownerDevice` is read by `read_owner`.)
            let v = render_marking(txn, &value, &mut opaque);
            self.others.insert((name.to_owned(), key.to_owned()), v);
        }
        if opaque {
            self.opaque.insert((name.to_owned(), key.to_owned()));
        }
    }

    /// A root that is not a map, read whole under key `""`.
    fn put_root<T: ReadTxn>(&mut self, txn: &T, name: &str, value: &Out) {
        let mut opaque = false;
        let v = render_marking(txn, value, &mut opaque);
        let entry = (name.to_owned(), String::new());
        if opaque {
            self.opaque.insert(entry.clone());
        }
        self.others.insert(entry, v);
    }

    fn read_owner<T: ReadTxn>(&mut self, txn: &T) {
        self.owner_device = String::new();
        if !self.accelerator() {
            return;
        }
        if let Some(meta) = txn.get_map(board_root::META) {
            if let Some(Out::Any(Any::String(s))) = meta.get(txn, field::OWNER_DEVICE) {
                self.owner_device = s.to_string();
            }
        }
    }

    /// How many entries of [`super::census::ITEM_ROOTS`] it holds: on a whole board, what
    /// [`super::census::item_count`] counts on the doc.
    pub fn item_count(&self) -> usize {
        super::census::ITEM_ROOTS
            .iter()
            .map(|root| {
                if Some(*root) == self.root {
                    self.items.len() + self.stray.len()
                } else {
                    self.others_of(root).count()
                }
            })
            .sum()
    }

    /// The dots `voter` placed on the items held.
    pub fn dots_of(&self, voter: &str) -> i64 {
        self.dots.get(voter).copied().unwrap_or(0)
    }
}

/// Adds the dots on `item` to `dots` (voters with none are not counted).
fn add_dots(dots: &mut BTreeMap<String, i64>, item: &Item) {
    for voter in item.votes.keys() {
        let n = item.dots_of(voter);
        if n != 0 {
            *dots.entry(voter.clone()).or_default() += n;
        }
    }
}

fn item<T: ReadTxn>(txn: &T, m: &MapRef, opaque: &mut bool) -> Item {
    let mut body = JsonMap::new();
    let mut votes = BTreeMap::new();
    let mut author = String::new();
    for (key, v) in m.iter(txn) {
        match (key, &v) {
            (field::VOTES, Out::YMap(vm)) => {
                for (voter, n) in vm.iter(txn) {
                    votes.insert(voter.to_owned(), render_marking(txn, &n, opaque));
                }
            }
            _ => {
                if key == field::AUTHOR_ID {
                    if let Out::Any(Any::String(s)) = &v {
                        author = s.to_string();
                    }
                }
                body.insert(key.to_owned(), render_marking(txn, &v, opaque));
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
    render_marking(txn, value, &mut false)
}

/// Like [`render`], setting `opaque` when it meets a type yrs reports no changes in.
fn render_marking<T: ReadTxn>(txn: &T, value: &Out, opaque: &mut bool) -> Value {
    match value {
        Out::Any(any) => render_any(any),
        Out::YText(t) => json!({ TEXT_TAG: t.get_string(txn) }),
        Out::YMap(m) => Value::Object(
            m.iter(txn)
                .map(|(k, v)| (k.to_owned(), render_marking(txn, &v, opaque)))
                .collect(),
        ),
        Out::UndefinedRef(b) => {
            *opaque = true;
            render_marking(txn, &Out::YMap(MapRef::from(*b)), opaque)
        }
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
        Any::Buffer(b) => {
            json!({ "~bytes": b.iter().map(|x| format!("{x:02x}")).collect::<String>() })
        }
        Any::Array(items) => Value::Array(items.iter().map(render_any).collect()),
        Any::Map(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), render_any(v))).collect()),
    }
}
