//! Writers for grid boards: columns, post-it notes, dot votes and groups.

use serde::{Deserialize, Serialize};
use yrs::{Doc, Map, MapRef, ReadTxn, TransactionMut};

use super::fields::{
    check_label, check_len, counts_of, create_item, delete_item, entries, item, map_of, new_map,
    new_text, open_board, order_key_at, root_mut, set_author, set_int, set_str, set_text, str_of,
    MAX_TEXT,
};
use super::schema::{board_root, check_id, field, Author, BoardKind, PALETTE};
use super::templates::MAX_TITLE;
use super::BoardError;

/// A new post-it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NoteInput {
    /// Note id.
    pub id: String,
    /// Column it goes in.
    pub column: String,
    /// Its text.
    pub text: String,
    /// Palette colour, `""` for the column's.
    #[serde(default)]
    pub colour: String,
    /// Who writes it.
    pub author: Author,
    /// When (ms since the epoch).
    pub created_at: i64,
}

fn check_colour(colour: &str) -> Result<(), BoardError> {
    if colour.is_empty() || PALETTE.contains(&colour) {
        Ok(())
    } else {
        Err(BoardError::InvalidField {
            field: "colour",
            reason: "not a palette colour",
        })
    }
}

fn in_column<'a>(txn: &'a TransactionMut<'_>, column: &str) -> impl Fn(&MapRef) -> bool + 'a {
    let column = column.to_owned();
    move |m: &MapRef| str_of(txn, m, field::COLUMN) == column
}

fn column_exists(txn: &TransactionMut, column: &str) -> Result<(), BoardError> {
    let columns = super::fields::root(txn, board_root::COLUMNS);
    match columns.and_then(|c| map_of(txn, &c, column)) {
        Some(_) => Ok(()),
        None => Err(BoardError::NotFound {
            what: "column",
            id: column.to_owned(),
        }),
    }
}

/// Adds a note to a column, at `index` among that column's notes (or at the end).
pub fn add_note(board: &Doc, note: &NoteInput, index: Option<usize>) -> Result<(), BoardError> {
    check_len("text", &note.text, MAX_TEXT)?;
    check_colour(&note.colour)?;
    let mut txn = open_board(board, BoardKind::Grid)?;
    column_exists(&txn, &note.column)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let order = {
        let keep = in_column(&txn, &note.column);
        order_key_at(&txn, &notes, None, index, keep)
    };
    let m = create_item(&mut txn, &notes, "note", &note.id)?;
    set_str(&mut txn, &m, field::COLUMN, &note.column);
    set_str(&mut txn, &m, field::ORDER, &order);
    new_text(&mut txn, &m, field::TEXT, &note.text);
    set_str(&mut txn, &m, field::COLOUR, &note.colour);
    set_str(&mut txn, &m, field::GROUP, "");
    new_map(&mut txn, &m, field::VOTES);
    set_author(&mut txn, &m, &note.author, note.created_at);
    Ok(())
}

/// Moves a note to position `index` of `column` (which may be its own column).
pub fn move_note(board: &Doc, note_id: &str, column: &str, index: usize) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Grid)?;
    column_exists(&txn, column)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let m = item(&txn, &notes, "note", note_id)?;
    let order = {
        let keep = in_column(&txn, column);
        order_key_at(&txn, &notes, Some(note_id), Some(index), keep)
    };
    set_str(&mut txn, &m, field::COLUMN, column);
    set_str(&mut txn, &m, field::ORDER, &order);
    Ok(())
}

/// Rewrites a note's text, merging with concurrent edits.
pub fn edit_note(board: &Doc, note_id: &str, text: &str) -> Result<(), BoardError> {
    check_len("text", text, MAX_TEXT)?;
    let mut txn = open_board(board, BoardKind::Grid)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let m = item(&txn, &notes, "note", note_id)?;
    set_text(&mut txn, &m, field::TEXT, text);
    Ok(())
}

/// Changes a note's colour (`""` = the column's).
pub fn set_note_colour(board: &Doc, note_id: &str, colour: &str) -> Result<(), BoardError> {
    check_colour(colour)?;
    let mut txn = open_board(board, BoardKind::Grid)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let m = item(&txn, &notes, "note", note_id)?;
    set_str(&mut txn, &m, field::COLOUR, colour);
    Ok(())
}

/// Deletes a note.
pub fn delete_note(board: &Doc, note_id: &str) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Grid)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    delete_item(&mut txn, &notes, "note", note_id)
}

/// Votes a voter has placed on the whole board.
pub fn votes_used<T: ReadTxn>(txn: &T, voter_id: &str) -> u32 {
    let Some(notes) = super::fields::root(txn, board_root::NOTES) else {
        return 0;
    };
    entries(txn, &notes)
        .iter()
        .filter_map(|(_, m)| counts_of(txn, m, field::VOTES).get(voter_id).copied())
        .fold(0u32, u32::saturating_add)
}

/// Places one more dot vote of `voter_id` on a note, refusing to exceed `limit` votes per
/// person on the board (`0` = unlimited). Returns the voter's count on that note.
pub fn vote(board: &Doc, note_id: &str, voter_id: &str, limit: u32) -> Result<u32, BoardError> {
    check_id(voter_id)?;
    let mut txn = open_board(board, BoardKind::Grid)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let m = item(&txn, &notes, "note", note_id)?;
    if limit > 0 && votes_used(&txn, voter_id) >= limit {
        return Err(BoardError::VoteLimit { limit });
    }
    let votes = votes_map(&mut txn, &m);
    let count = counts_of(&txn, &m, field::VOTES)
        .get(voter_id)
        .copied()
        .unwrap_or(0)
        .saturating_add(1);
    set_int(&mut txn, &votes, voter_id, i64::from(count));
    Ok(count)
}

/// Takes back one dot vote of `voter_id` from a note. Returns the voter's remaining count.
pub fn unvote(board: &Doc, note_id: &str, voter_id: &str) -> Result<u32, BoardError> {
    let mut txn = open_board(board, BoardKind::Grid)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let m = item(&txn, &notes, "note", note_id)?;
    let count = counts_of(&txn, &m, field::VOTES)
        .get(voter_id)
        .copied()
        .unwrap_or(0);
    let votes = votes_map(&mut txn, &m);
    let left = count.saturating_sub(1);
    if left == 0 {
        votes.remove(&mut txn, voter_id);
    } else {
        set_int(&mut txn, &votes, voter_id, i64::from(left));
    }
    Ok(left)
}

/// The note's votes map; a note without one (damaged doc) gets a fresh one.
fn votes_map(txn: &mut TransactionMut, note: &MapRef) -> MapRef {
    match map_of(txn, note, field::VOTES) {
        Some(v) => v,
        None => new_map(txn, note, field::VOTES),
    }
}

/// Adds a column at `index` (or at the end).
pub fn add_column(
    board: &Doc,
    id: &str,
    title: &str,
    colour: &str,
    index: Option<usize>,
) -> Result<(), BoardError> {
    check_label("title", title, MAX_TITLE)?;
    check_colour(colour)?;
    let mut txn = open_board(board, BoardKind::Grid)?;
    let columns = root_mut(&mut txn, board_root::COLUMNS);
    let order = order_key_at(&txn, &columns, None, index, |_| true);
    let m = create_item(&mut txn, &columns, "column", id)?;
    set_str(&mut txn, &m, field::TITLE, title.trim());
    set_str(&mut txn, &m, field::COLOUR, colour);
    set_str(&mut txn, &m, field::ORDER, &order);
    Ok(())
}

/// Renames a column.
pub fn rename_column(board: &Doc, id: &str, title: &str) -> Result<(), BoardError> {
    check_label("title", title, MAX_TITLE)?;
    let mut txn = open_board(board, BoardKind::Grid)?;
    let columns = root_mut(&mut txn, board_root::COLUMNS);
    let m = item(&txn, &columns, "column", id)?;
    set_str(&mut txn, &m, field::TITLE, title.trim());
    Ok(())
}

/// Changes a column's colour.
pub fn set_column_colour(board: &Doc, id: &str, colour: &str) -> Result<(), BoardError> {
    check_colour(colour)?;
    let mut txn = open_board(board, BoardKind::Grid)?;
    let columns = root_mut(&mut txn, board_root::COLUMNS);
    let m = item(&txn, &columns, "column", id)?;
    set_str(&mut txn, &m, field::COLOUR, colour);
    Ok(())
}

/// Moves a column to position `index`.
pub fn move_column(board: &Doc, id: &str, index: usize) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Grid)?;
    let columns = root_mut(&mut txn, board_root::COLUMNS);
    let m = item(&txn, &columns, "column", id)?;
    let order = order_key_at(&txn, &columns, Some(id), Some(index), |_| true);
    set_str(&mut txn, &m, field::ORDER, &order);
    Ok(())
}

/// Removes a column and the notes in it.
pub fn remove_column(board: &Doc, id: &str) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Grid)?;
    let columns = root_mut(&mut txn, board_root::COLUMNS);
    delete_item(&mut txn, &columns, "column", id)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let doomed: Vec<String> = entries(&txn, &notes)
        .into_iter()
        .filter(|(_, m)| str_of(&txn, m, field::COLUMN) == id)
        .map(|(note_id, _)| note_id)
        .collect();
    for note_id in doomed {
        notes.remove(&mut txn, &note_id);
    }
    Ok(())
}

/// Creates a group and puts `note_ids` in it.
pub fn group_notes(
    board: &Doc,
    group_id: &str,
    title: &str,
    note_ids: &[&str],
    created_at: i64,
) -> Result<(), BoardError> {
    check_label("title", title, MAX_TITLE)?;
    let mut txn = open_board(board, BoardKind::Grid)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let members = note_ids
        .iter()
        .map(|id| item(&txn, &notes, "note", id))
        .collect::<Result<Vec<_>, _>>()?;
    let groups = root_mut(&mut txn, board_root::GROUPS);
    let order = order_key_at(&txn, &groups, None, None, |_| true);
    let g = create_item(&mut txn, &groups, "group", group_id)?;
    set_str(&mut txn, &g, field::TITLE, title.trim());
    set_str(&mut txn, &g, field::ORDER, &order);
    set_int(&mut txn, &g, field::CREATED_AT, created_at);
    for m in members {
        set_str(&mut txn, &m, field::GROUP, group_id);
    }
    Ok(())
}

/// Puts a note in a group, or takes it out (`None`).
pub fn set_note_group(
    board: &Doc,
    note_id: &str,
    group_id: Option<&str>,
) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Grid)?;
    if let Some(g) = group_id {
        let groups = root_mut(&mut txn, board_root::GROUPS);
        item(&txn, &groups, "group", g)?;
    }
    let notes = root_mut(&mut txn, board_root::NOTES);
    let m = item(&txn, &notes, "note", note_id)?;
    set_str(&mut txn, &m, field::GROUP, group_id.unwrap_or(""));
    Ok(())
}

/// Renames a group.
pub fn rename_group(board: &Doc, group_id: &str, title: &str) -> Result<(), BoardError> {
    check_label("title", title, MAX_TITLE)?;
    let mut txn = open_board(board, BoardKind::Grid)?;
    let groups = root_mut(&mut txn, board_root::GROUPS);
    let g = item(&txn, &groups, "group", group_id)?;
    set_str(&mut txn, &g, field::TITLE, title.trim());
    Ok(())
}

/// Deletes a group; its notes become ungrouped.
pub fn remove_group(board: &Doc, group_id: &str) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Grid)?;
    let groups = root_mut(&mut txn, board_root::GROUPS);
    delete_item(&mut txn, &groups, "group", group_id)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let members: Vec<MapRef> = entries(&txn, &notes)
        .into_iter()
        .filter(|(_, m)| str_of(&txn, m, field::GROUP) == group_id)
        .map(|(_, m)| m)
        .collect();
    for m in members {
        set_str(&mut txn, &m, field::GROUP, "");
    }
    Ok(())
}
