//! Contributions held by the server (docs/board-schema.md §6): a device's hidden or anonymous
//! notes live in its own held doc `{wid}.{bid}~{device}`, which only that device and the
//! facilitator can open; revealing one copies it into the shared board doc as a **new item
//! written by the server** (the room's own client id, a fresh random id, the server's time, no
//! author on an anonymous board). No IO: these are pure functions over yrs docs, run by the
//! server's edit jobs (`http/api/held.rs`) and unit-tested here.

use rand::Rng;
use serde::Serialize;
use yrs::{Doc, Map, Transact};

use super::fields::{
    bool_of, entries, map_of, new_map, new_text, order_key_at, root, root_mut, set_int, set_str,
    sorted_keys, str_of,
};
use super::schema::{board_root, check_id, field, new_item_id, palette_colour, BoardKind};
use super::BoardError;

/// Most notes one device may hold on one board (the held doc's item cap).
pub const MAX_HELD_NOTES: usize = 200;

/// How a board treats its participants' new notes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Holding {
    /// New notes go to the writer's held doc until the facilitator reveals them.
    pub hidden: bool,
    /// Revealed notes carry no author.
    pub anonymous: bool,
}

impl Holding {
    /// Whether new notes are held back at all.
    pub fn holds(self) -> bool {
        self.hidden || self.anonymous
    }
}

/// What the board doc says: an icebreaker always holds its papers back, anonymously; a grid
/// does when its facilitator turned on `hidden` and/or `anonymous` in the board's meta.
pub fn holding_of(board: &Doc) -> Holding {
    let txn = board.transact();
    let Some(meta) = root(&txn, board_root::META) else {
        return Holding::default();
    };
    match str_of(&txn, &meta, field::KIND).parse::<BoardKind>() {
        Ok(BoardKind::Icebreaker) => Holding {
            hidden: true,
            anonymous: true,
        },
        Ok(BoardKind::Grid) => Holding {
            hidden: bool_of(&txn, &meta, field::HIDDEN),
            anonymous: bool_of(&txn, &meta, field::ANONYMOUS),
        },
        _ => Holding::default(),
    }
}

/// Sets a grid's two toggles (the facilitator's screen writes the same fields).
pub fn set_holding(board: &Doc, holding: Holding) -> Result<(), BoardError> {
    let mut txn = board.transact_mut();
    let meta = root_mut(&mut txn, board_root::META);
    let kind = str_of(&txn, &meta, field::KIND);
    if kind != BoardKind::Grid.as_str() {
        return Err(BoardError::WrongKind {
            expected: BoardKind::Grid,
            found: kind.chars().take(40).collect(),
        });
    }
    meta.insert(&mut txn, field::HIDDEN, holding.hidden);
    meta.insert(&mut txn, field::ANONYMOUS, holding.anonymous);
    Ok(())
}

/// One note as its writer left it in their held doc.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct HeldNote {
    /// Its id in the held doc (never reused in the board doc).
    pub id: String,
    /// What it says.
    pub text: String,
    /// A grid's column; `""` on an icebreaker.
    pub column: String,
    /// A grid's palette colour; `""` = the column's.
    pub colour: String,
    /// Name the writer gave (kept on reveal only when the board is not anonymous).
    pub author_name: String,
    /// Organisation the writer gave (same).
    pub author_org: String,
    /// Set by the server once a reveal started: the board note id it is copied to.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub revealing: Option<String>,
}

/// The notes of a held doc, in their writer's order.
pub fn read_held(held: &Doc) -> Vec<HeldNote> {
    let txn = held.transact();
    let Some(notes) = root(&txn, board_root::NOTES) else {
        return Vec::new();
    };
    sorted_keys(&txn, &notes, |_| true)
        .into_iter()
        .filter_map(|(_, id)| {
            let m = map_of(&txn, &notes, &id)?;
            let revealing = Some(str_of(&txn, &m, field::REVEALING)).filter(|r| !r.is_empty());
            Some(HeldNote {
                text: str_of(&txn, &m, field::TEXT),
                column: str_of(&txn, &m, field::COLUMN),
                colour: str_of(&txn, &m, field::COLOUR),
                author_name: str_of(&txn, &m, field::AUTHOR_NAME),
                author_org: str_of(&txn, &m, field::AUTHOR_ORG),
                revealing,
                id,
            })
        })
        .collect()
}

/// How many notes a held doc holds (what the counts show: no text).
pub fn held_count(held: &Doc) -> usize {
    let txn = held.transact();
    root(&txn, board_root::NOTES).map_or(0, |n| entries(&txn, &n).len())
}

/// Starts revealing note `id`: records the board note id it will be copied to (a fresh random
/// one, or the one an interrupted reveal already chose, so that a retry after a crash writes
/// the same board note once). `None` when the writer deleted the note meanwhile.
pub fn begin_reveal(held: &Doc, id: &str, rng: &mut impl Rng) -> Option<String> {
    let mut txn = held.transact_mut();
    let notes = root(&txn, board_root::NOTES)?;
    let m = map_of(&txn, &notes, id)?;
    let chosen = str_of(&txn, &m, field::REVEALING);
    if check_id(&chosen).is_ok() {
        return Some(chosen);
    }
    let fresh = new_item_id(rng);
    set_str(&mut txn, &m, field::REVEALING, &fresh);
    Some(fresh)
}

/// Writes `note` into the shared board doc as board note `board_id`, as the server: the
/// server's time, and the author (`device`, the name and organisation the writer gave) only
/// when the board is not anonymous. Nothing of the held note's own id, order, time or colour
/// choice on an anonymous board is copied. Does nothing if that board note already exists
/// (a retried reveal).
pub fn write_revealed(
    board: &Doc,
    board_id: &str,
    note: &HeldNote,
    device: &str,
    now_ms: i64,
) -> Result<(), BoardError> {
    check_id(board_id)?;
    let holding = holding_of(board);
    let kind = {
        let txn = board.transact();
        root(&txn, board_root::META)
            .map(|m| str_of(&txn, &m, field::KIND))
            .unwrap_or_default()
    };
    let mut txn = board.transact_mut();
    let notes = root_mut(&mut txn, board_root::NOTES);
    if notes.contains_key(&txn, board_id) {
        return Ok(());
    }
    if kind == BoardKind::Icebreaker.as_str() {
        let order = order_key_at(&txn, &notes, None, None, |_| true);
        let m = new_map(&mut txn, &notes, board_id);
        new_text(&mut txn, &m, field::TEXT, &note.text);
        set_str(&mut txn, &m, field::ORDER, &order);
        set_int(&mut txn, &m, field::CREATED_AT, now_ms);
        return Ok(());
    }
    if kind != BoardKind::Grid.as_str() {
        return Err(BoardError::WrongKind {
            expected: BoardKind::Grid,
            found: kind.chars().take(40).collect(),
        });
    }
    let order = {
        let column = note.column.clone();
        order_key_at(&txn, &notes, None, None, |m| {
            str_of(&txn, m, field::COLUMN) == column
        })
    };
    let m = new_map(&mut txn, &notes, board_id);
    set_str(&mut txn, &m, field::COLUMN, &note.column);
    set_str(&mut txn, &m, field::ORDER, &order);
    new_text(&mut txn, &m, field::TEXT, &note.text);
    let colour = if holding.anonymous {
        ""
    } else {
        palette_colour(&note.colour, "")
    };
    set_str(&mut txn, &m, field::COLOUR, colour);
    set_str(&mut txn, &m, field::GROUP, "");
    new_map(&mut txn, &m, field::VOTES);
    if !holding.anonymous {
        set_str(&mut txn, &m, field::AUTHOR_ID, device);
        set_str(&mut txn, &m, field::AUTHOR_NAME, &note.author_name);
        set_str(&mut txn, &m, field::AUTHOR_ORG, &note.author_org);
    }
    set_int(&mut txn, &m, field::CREATED_AT, now_ms);
    Ok(())
}

/// Removes note `id` from a held doc (the end of a reveal, or a discard). Returns whether it
/// was there.
pub fn remove_held(held: &Doc, id: &str) -> bool {
    let mut txn = held.transact_mut();
    let Some(notes) = root(&txn, board_root::NOTES) else {
        return false;
    };
    notes.remove(&mut txn, id).is_some()
}

/// The writer's side (the Rust twin of `web/src/lib/model/held.ts`, for tests): adds a note to
/// a held doc.
pub fn add_held(held: &Doc, note: &HeldNote, created_at: i64) -> Result<(), BoardError> {
    check_id(&note.id)?;
    super::fields::check_len("text", &note.text, super::schema::MAX_TEXT)?;
    let mut txn = held.transact_mut();
    let notes = root_mut(&mut txn, board_root::NOTES);
    let order = order_key_at(&txn, &notes, None, None, |_| true);
    let m = super::fields::create_item(&mut txn, &notes, "note", &note.id)?;
    new_text(&mut txn, &m, field::TEXT, &note.text);
    set_str(&mut txn, &m, field::ORDER, &order);
    set_str(&mut txn, &m, field::COLUMN, &note.column);
    set_str(&mut txn, &m, field::COLOUR, &note.colour);
    set_str(&mut txn, &m, field::AUTHOR_NAME, &note.author_name);
    set_str(&mut txn, &m, field::AUTHOR_ORG, &note.author_org);
    set_int(&mut txn, &m, field::CREATED_AT, created_at);
    Ok(())
}

/// Rewrites a held note's text (the writer's edit; also a twin for tests).
pub fn edit_held(held: &Doc, id: &str, text: &str) -> Result<(), BoardError> {
    super::fields::check_len("text", text, super::schema::MAX_TEXT)?;
    let mut txn = held.transact_mut();
    let notes = root_mut(&mut txn, board_root::NOTES);
    let m = super::fields::item(&txn, &notes, "note", id)?;
    super::fields::set_text(&mut txn, &m, field::TEXT, text);
    Ok(())
}

#[cfg(test)]
#[path = "held_tests.rs"]
mod tests;
