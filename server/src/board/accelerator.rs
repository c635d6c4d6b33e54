//! Writers for accelerator boards: the problem's owner and statement, then clarifying
//! questions, reformulation, ideas and the action plan.

use serde::{Deserialize, Serialize};
use yrs::{Doc, MapRef};

use super::fields::{
    check_len, create_item, delete_item, item, new_text, open_board, order_key_at, patch_str,
    patch_text, root_mut, set_author, set_str, str_of, MAX_TEXT,
};
use super::schema::{board_root, field, Author, BoardKind, Stage};
use super::templates::MAX_TITLE;
use super::BoardError;

/// Changes to the accelerator's header; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderPatch {
    /// Who brings the problem.
    #[serde(default)]
    pub owner: Option<String>,
    /// Their organisation.
    #[serde(default)]
    pub owner_org: Option<String>,
    /// Short question, the accelerator's title.
    #[serde(default)]
    pub question: Option<String>,
    /// Context of the problem.
    #[serde(default)]
    pub context: Option<String>,
    /// The problem as its owner states it.
    #[serde(default)]
    pub statement: Option<String>,
    /// The problem as the group reformulates it.
    #[serde(default)]
    pub reformulation: Option<String>,
}

/// Updates the header fields.
pub fn set_header(board: &Doc, patch: &HeaderPatch) -> Result<(), BoardError> {
    let short = [
        ("owner", &patch.owner),
        ("ownerOrg", &patch.owner_org),
        ("question", &patch.question),
    ];
    for (name, v) in short {
        if let Some(v) = v {
            check_len(name, v, MAX_TITLE)?;
        }
    }
    let long = [
        ("context", &patch.context),
        ("statement", &patch.statement),
        ("reformulation", &patch.reformulation),
    ];
    for (name, v) in long {
        if let Some(v) = v {
            check_len(name, v, MAX_TEXT)?;
        }
    }
    let mut txn = open_board(board, BoardKind::Accelerator)?;
    let meta = root_mut(&mut txn, board_root::META);
    patch_str(&mut txn, &meta, field::OWNER, patch.owner.as_ref());
    patch_str(&mut txn, &meta, field::OWNER_ORG, patch.owner_org.as_ref());
    patch_str(&mut txn, &meta, field::QUESTION, patch.question.as_ref());
    patch_text(&mut txn, &meta, field::CONTEXT, patch.context.as_ref());
    patch_text(&mut txn, &meta, field::STATEMENT, patch.statement.as_ref());
    patch_text(
        &mut txn,
        &meta,
        field::REFORMULATION,
        patch.reformulation.as_ref(),
    );
    Ok(())
}

/// A new item of a stage (a question, an idea or an action).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemInput {
    /// Item id.
    pub id: String,
    /// Stage it belongs to.
    pub stage: Stage,
    /// The question, the idea, or what to do.
    pub text: String,
    /// Actions: who does it.
    #[serde(default)]
    pub who: String,
    /// Actions: next step.
    #[serde(default)]
    pub next: String,
    /// Who wrote it.
    pub author: Author,
    /// When (ms since the epoch).
    pub created_at: i64,
}

/// Changes to an item; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemPatch {
    /// New text.
    #[serde(default)]
    pub text: Option<String>,
    /// New "who".
    #[serde(default)]
    pub who: Option<String>,
    /// New next step.
    #[serde(default)]
    pub next: Option<String>,
}

fn in_stage<T: yrs::ReadTxn>(txn: &T, stage: Stage) -> impl Fn(&MapRef) -> bool + '_ {
    move |m: &MapRef| str_of(txn, m, field::STAGE) == stage.as_str()
}

/// Adds an item at `index` of its stage (or at the end).
pub fn add_item(board: &Doc, input: &ItemInput, index: Option<usize>) -> Result<(), BoardError> {
    check_len("text", &input.text, MAX_TEXT)?;
    check_len("who", &input.who, MAX_TITLE)?;
    check_len("next", &input.next, MAX_TEXT)?;
    let mut txn = open_board(board, BoardKind::Accelerator)?;
    let items = root_mut(&mut txn, board_root::ITEMS);
    let order = order_key_at(&txn, &items, None, index, in_stage(&txn, input.stage));
    let m = create_item(&mut txn, &items, "item", &input.id)?;
    set_str(&mut txn, &m, field::STAGE, input.stage.as_str());
    set_str(&mut txn, &m, field::ORDER, &order);
    new_text(&mut txn, &m, field::TEXT, &input.text);
    set_str(&mut txn, &m, field::WHO, input.who.trim());
    set_str(&mut txn, &m, field::NEXT, input.next.trim());
    set_author(&mut txn, &m, &input.author, input.created_at);
    Ok(())
}

/// Changes an item's text, who or next step.
pub fn edit_item(board: &Doc, item_id: &str, patch: &ItemPatch) -> Result<(), BoardError> {
    if let Some(t) = &patch.text {
        check_len("text", t, MAX_TEXT)?;
    }
    if let Some(w) = &patch.who {
        check_len("who", w, MAX_TITLE)?;
    }
    if let Some(n) = &patch.next {
        check_len("next", n, MAX_TEXT)?;
    }
    let mut txn = open_board(board, BoardKind::Accelerator)?;
    let items = root_mut(&mut txn, board_root::ITEMS);
    let m = item(&txn, &items, "item", item_id)?;
    patch_text(&mut txn, &m, field::TEXT, patch.text.as_ref());
    patch_str(&mut txn, &m, field::WHO, patch.who.as_ref());
    patch_str(&mut txn, &m, field::NEXT, patch.next.as_ref());
    Ok(())
}

/// Moves an item to position `index` within its stage.
pub fn move_item(board: &Doc, item_id: &str, index: usize) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Accelerator)?;
    let items = root_mut(&mut txn, board_root::ITEMS);
    let m = item(&txn, &items, "item", item_id)?;
    let stage = str_of(&txn, &m, field::STAGE);
    let order = order_key_at(&txn, &items, Some(item_id), Some(index), |other| {
        str_of(&txn, other, field::STAGE) == stage
    });
    set_str(&mut txn, &m, field::ORDER, &order);
    Ok(())
}

/// Deletes an item.
pub fn delete_item_of(board: &Doc, item_id: &str) -> Result<(), BoardError> {
    let mut txn = open_board(board, BoardKind::Accelerator)?;
    let items = root_mut(&mut txn, board_root::ITEMS);
    delete_item(&mut txn, &items, "item", item_id)
}
