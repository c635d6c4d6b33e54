//! Writers for icebreaker boards: a prompt and anonymous notes (no author field is ever
//! written; reveal state lives in the workshop doc's control map).

use yrs::Doc;

use super::fields::{
    check_len, create_item, delete_item, item, new_text, open_board, order_key_at, root_mut,
    set_int, set_str, set_text, MAX_TEXT,
};
use super::schema::{board_root, field, BoardKind};
use super::templates::MAX_TITLE;
use super::BoardError;

/// Sets the question asked to participants.
pub fn set_prompt(board: &Doc, prompt: &str) -> Result<(), BoardError> {
    check_len("prompt", prompt, MAX_TITLE)?;
    let mut txn = open_board(board, BoardKind::Icebreaker)?;
    let meta = root_mut(&mut txn, board_root::META);
    set_str(&mut txn, &meta, field::PROMPT, prompt.trim());
    Ok(())
}

/// Adds an anonymous note at the end.
pub fn add_note(board: &Doc, id: &str, text: &str, created_at: i64) -> Result<(), BoardError> {
    check_len("text", text, MAX_TEXT)?;
    let mut txn = open_board(board, BoardKind::Icebreaker)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let order = order_key_at(&txn, &notes, None, None, |_| true);
    let m = create_item(&mut txn, &notes, "note", id)?;
    new_text(&mut txn, &m, field::TEXT, text);
    set_str(&mut txn, &m, field::ORDER, &order);
    set_int(&mut txn, &m, field::CREATED_AT, created_at);
    Ok(())
}

/// Rewrites an anonymous note.
pub fn edit_note(board: &Doc, id: &str, text: &str) -> Result<(), BoardError> {
    check_len("text", text, MAX_TEXT)?;
    let mut txn = open_board(board, BoardKind::Icebreaker)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    let m = item(&txn, &notes, "note", id)?;
    set_text(&mut txn, &m, field::TEXT, text);
    Ok(())
}

/// Deletes an anonymous note.
pub fn delete_note(board: &Doc, id: &str) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Icebreaker)?;
    let notes = root_mut(&mut txn, board_root::NOTES);
    delete_item(&mut txn, &notes, "note", id)
}
