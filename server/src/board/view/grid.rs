//! A grid's view: columns in order with their notes, groups, and sub-points untangled into a
//! forest of bounded depth.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use yrs::ReadTxn;

use super::in_order;
use crate::board::fields::{author_of, counts_of, entries, int_of, root, str_of};
use crate::board::schema::{board_root, field, palette_colour, Author};

/// A grid: columns in order, each with its notes in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GridView {
    /// Columns in order; a trailing column with an empty id holds notes whose column is gone.
    pub columns: Vec<ColumnView>,
    /// Groups in order.
    pub groups: Vec<GroupView>,
    /// Notes still held back by their writers (board-schema §6), not in the board doc.
    #[serde(skip_serializing_if = "is_zero")]
    pub held: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A grid column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ColumnView {
    /// Column id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Palette colour.
    pub colour: String,
    /// Notes in order.
    pub notes: Vec<NoteView>,
}

/// A group of notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupView {
    /// Group id.
    pub id: String,
    /// Title.
    pub title: String,
}

/// A post-it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteView {
    /// Note id.
    pub id: String,
    /// Text.
    pub text: String,
    /// Palette colour (the column's when the note has none).
    pub colour: String,
    /// Group id, when grouped (and the group exists).
    pub group: Option<String>,
    /// The note this one is a sub-point of (when that note exists on the board).
    pub parent: Option<String>,
    /// Total dot votes.
    pub votes: u32,
    /// Dot votes per voter id.
    pub voters: BTreeMap<String, u32>,
    /// Who wrote it.
    pub author: Author,
    /// When (ms).
    pub created_at: i64,
}

/// A timeline: cards in date order.
pub(super) fn read_grid<T: ReadTxn>(txn: &T) -> GridView {
    let groups: Vec<GroupView> = root(txn, board_root::GROUPS)
        .map(|g| {
            in_order(txn, &g, |_| true)
                .into_iter()
                .map(|(id, m)| GroupView {
                    title: str_of(txn, &m, field::TITLE),
                    id,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut columns: Vec<ColumnView> = root(txn, board_root::COLUMNS)
        .map(|c| {
            in_order(txn, &c, |_| true)
                .into_iter()
                .map(|(id, m)| ColumnView {
                    title: str_of(txn, &m, field::TITLE),
                    colour: palette_colour(&str_of(txn, &m, field::COLOUR), "grey").to_owned(),
                    notes: Vec::new(),
                    id,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut orphans = Vec::new();
    let note_ids: BTreeSet<String> = root(txn, board_root::NOTES)
        .map(|n| entries(txn, &n).into_iter().map(|(id, _)| id).collect())
        .unwrap_or_default();
    if let Some(notes) = root(txn, board_root::NOTES) {
        // Notes sort by (order, id) globally, so each column receives its notes in order.
        for (id, m) in in_order(txn, &notes, |_| true) {
            let column = str_of(txn, &m, field::COLUMN);
            let target = columns.iter_mut().find(|c| c.id == column);
            let default_colour = target.as_ref().map_or("yellow", |c| c.colour.as_str());
            let colour = palette_colour(&str_of(txn, &m, field::COLOUR), default_colour);
            let group = Some(str_of(txn, &m, field::GROUP))
                .filter(|g| groups.iter().any(|known| &known.id == g));
            let voters = counts_of(txn, &m, field::VOTES);
            let parent =
                Some(str_of(txn, &m, field::PARENT)).filter(|p| *p != id && note_ids.contains(p));
            let note = NoteView {
                text: str_of(txn, &m, field::TEXT),
                colour: colour.to_owned(),
                group,
                parent,
                votes: voters.values().copied().fold(0u32, u32::saturating_add),
                voters,
                author: author_of(txn, &m),
                created_at: int_of(txn, &m, field::CREATED_AT),
                id,
            };
            match target {
                Some(c) => c.notes.push(note),
                None => orphans.push(note),
            }
        }
    }
    untangle_parents(&mut orphans, &mut columns);
    if !orphans.is_empty() {
        columns.push(ColumnView {
            id: String::new(),
            // Reports name it in their language ("Sans colonne").
            title: String::new(),
            colour: "grey".to_owned(),
            notes: orphans,
        });
    }
    GridView {
        columns,
        groups,
        held: 0,
    }
}

/// Most levels of sub-points under one note (writers refuse deeper; readers flatten).
pub const MAX_SUBPOINT_DEPTH: usize = 8;

/// Sub-points form a forest: a note whose chain of parents loops (two clients nesting notes
/// under each other at once) or runs too deep is shown as a note of its own.
fn untangle_parents(orphans: &mut [NoteView], columns: &mut [ColumnView]) {
    let parent_of: std::collections::HashMap<String, Option<String>> = columns
        .iter()
        .flat_map(|c| &c.notes)
        .chain(orphans.iter())
        .map(|n| (n.id.clone(), n.parent.clone()))
        .collect();
    let rooted = |id: &str| {
        let mut at = parent_of.get(id).cloned().flatten();
        for _ in 0..MAX_SUBPOINT_DEPTH {
            match at {
                None => return true,
                Some(p) if p == id => return false,
                Some(p) => at = parent_of.get(&p).cloned().flatten(),
            }
        }
        false
    };
    for note in columns
        .iter_mut()
        .flat_map(|c| c.notes.iter_mut())
        .chain(orphans.iter_mut())
    {
        if note.parent.is_some() && !rooted(&note.id) {
            note.parent = None;
        }
    }
}
