//! Writers for interview boards: questions, answer groups and answers.

use serde::{Deserialize, Serialize};
use yrs::{Doc, MapRef};

use super::fields::{
    check_label, check_len, create_item, delete_item, item, new_text, open_board, order_key_at,
    root_mut, set_author, set_str, set_text, str_of, MAX_TEXT,
};
use super::schema::{board_root, field, Author, BoardKind};
use super::templates::MAX_TITLE;
use super::BoardError;

/// Adds a question at `index` (or at the end).
pub fn add_question(
    board: &Doc,
    id: &str,
    text: &str,
    index: Option<usize>,
) -> Result<(), BoardError> {
    check_label("text", text, MAX_TITLE)?;
    let mut txn = open_board(board, BoardKind::Interview)?;
    let root = root_mut(&mut txn, board_root::QUESTIONS);
    let order = order_key_at(&txn, &root, None, index, |_| true);
    let m = create_item(&mut txn, &root, "question", id)?;
    set_str(&mut txn, &m, field::TEXT, text.trim());
    set_str(&mut txn, &m, field::ORDER, &order);
    Ok(())
}

/// Removes a question (its answers are no longer shown).
pub fn remove_question(board: &Doc, id: &str) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Interview)?;
    let root = root_mut(&mut txn, board_root::QUESTIONS);
    delete_item(&mut txn, &root, "question", id)
}

/// Adds an answer group at `index` (or at the end).
pub fn add_group(
    board: &Doc,
    id: &str,
    name: &str,
    index: Option<usize>,
) -> Result<(), BoardError> {
    check_label("name", name, MAX_TITLE)?;
    let mut txn = open_board(board, BoardKind::Interview)?;
    let root = root_mut(&mut txn, board_root::GROUPS);
    let order = order_key_at(&txn, &root, None, index, |_| true);
    let m = create_item(&mut txn, &root, "group", id)?;
    set_str(&mut txn, &m, field::NAME, name.trim());
    set_str(&mut txn, &m, field::ORDER, &order);
    Ok(())
}

/// Renames an answer group.
pub fn rename_group(board: &Doc, id: &str, name: &str) -> Result<(), BoardError> {
    check_label("name", name, MAX_TITLE)?;
    let mut txn = open_board(board, BoardKind::Interview)?;
    let root = root_mut(&mut txn, board_root::GROUPS);
    let m = item(&txn, &root, "group", id)?;
    set_str(&mut txn, &m, field::NAME, name.trim());
    Ok(())
}

/// A new answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnswerInput {
    /// Answer id.
    pub id: String,
    /// Question answered.
    pub question: String,
    /// Group answering.
    pub group: String,
    /// The answer.
    pub text: String,
    /// Who wrote it.
    pub author: Author,
    /// When (ms since the epoch).
    pub created_at: i64,
}

/// Adds an answer at the end of its (question, group) list.
pub fn add_answer(board: &Doc, answer: &AnswerInput) -> Result<(), BoardError> {
    check_len("text", &answer.text, MAX_TEXT)?;
    let mut txn = open_board(board, BoardKind::Interview)?;
    let questions = root_mut(&mut txn, board_root::QUESTIONS);
    item(&txn, &questions, "question", &answer.question)?;
    let groups = root_mut(&mut txn, board_root::GROUPS);
    item(&txn, &groups, "group", &answer.group)?;
    let answers = root_mut(&mut txn, board_root::ANSWERS);
    let order = order_key_at(&txn, &answers, None, None, |m: &MapRef| {
        str_of(&txn, m, field::QUESTION) == answer.question
            && str_of(&txn, m, field::GROUP) == answer.group
    });
    let m = create_item(&mut txn, &answers, "answer", &answer.id)?;
    set_str(&mut txn, &m, field::QUESTION, &answer.question);
    set_str(&mut txn, &m, field::GROUP, &answer.group);
    set_str(&mut txn, &m, field::ORDER, &order);
    new_text(&mut txn, &m, field::TEXT, &answer.text);
    set_author(&mut txn, &m, &answer.author, answer.created_at);
    Ok(())
}

/// Rewrites an answer, merging with concurrent edits.
pub fn edit_answer(board: &Doc, id: &str, text: &str) -> Result<(), BoardError> {
    check_len("text", text, MAX_TEXT)?;
    let mut txn = open_board(board, BoardKind::Interview)?;
    let answers = root_mut(&mut txn, board_root::ANSWERS);
    let m = item(&txn, &answers, "answer", id)?;
    set_text(&mut txn, &m, field::TEXT, text);
    Ok(())
}

/// Deletes an answer.
pub fn delete_answer(board: &Doc, id: &str) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Interview)?;
    let answers = root_mut(&mut txn, board_root::ANSWERS);
    delete_item(&mut txn, &answers, "answer", id)
}
