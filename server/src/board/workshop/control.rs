//! The facilitator's control state of each board: lock, reveal, timer, votes per person, and
//! which board is projected.

use yrs::{Doc, Map, MapRef, Transact, TransactionMut};

use crate::board::fields::{item, map_of, new_map, root_mut, set_int, set_str};
use crate::board::schema::{check_id, field, workshop_root};
use crate::board::BoardError;

use super::init_control;

/// The control map of board `bid`. A board without one (only in a damaged doc, since
/// `add_board` creates it with the agenda entry) gets a fresh one.
fn control_of(txn: &mut TransactionMut, bid: &str) -> Result<MapRef, BoardError> {
    let agenda = root_mut(txn, workshop_root::AGENDA);
    item(txn, &agenda, "board", bid)?;
    let control = root_mut(txn, workshop_root::CONTROL);
    match map_of(txn, &control, bid) {
        Some(c) => Ok(c),
        None => {
            let c = new_map(txn, &control, bid);
            init_control(txn, &c);
            Ok(c)
        }
    }
}

/// Locks or unlocks a board.
pub fn set_locked(workshop: &Doc, bid: &str, locked: bool) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    c.insert(&mut txn, field::LOCKED, locked);
    Ok(())
}

/// Reveals (or hides again) every icebreaker note of a board at once.
pub fn set_reveal_all(workshop: &Doc, bid: &str, all: bool) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    c.insert(&mut txn, field::REVEAL_ALL, all);
    Ok(())
}

/// Reveals one icebreaker note, or hides it again.
pub fn set_note_revealed(
    workshop: &Doc,
    bid: &str,
    note_id: &str,
    revealed: bool,
) -> Result<(), BoardError> {
    check_id(note_id)?;
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    let map = match map_of(&txn, &c, field::REVEALED) {
        Some(m) => m,
        None => new_map(&mut txn, &c, field::REVEALED),
    };
    if revealed {
        map.insert(&mut txn, note_id, true);
    } else {
        map.remove(&mut txn, note_id);
    }
    Ok(())
}

/// Sets the end of the board's countdown (ms since the epoch); `0` removes the timer.
pub fn set_timer(workshop: &Doc, bid: &str, end_ms: i64) -> Result<(), BoardError> {
    if end_ms < 0 {
        return Err(BoardError::InvalidField {
            field: "timerEnd",
            reason: "must not be negative",
        });
    }
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    set_int(&mut txn, &c, field::TIMER_END, end_ms);
    Ok(())
}

/// Sets how many dot votes each person may place on a board; `0` = unlimited.
pub fn set_votes_per_person(workshop: &Doc, bid: &str, votes: u32) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let c = control_of(&mut txn, bid)?;
    set_int(&mut txn, &c, field::VOTES_PER_PERSON, i64::from(votes));
    Ok(())
}

/// Projects a board (`None` = nothing projected).
pub fn set_projected(workshop: &Doc, bid: Option<&str>) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    if let Some(bid) = bid {
        let agenda = root_mut(&mut txn, workshop_root::AGENDA);
        item(&txn, &agenda, "board", bid)?;
    }
    let meta = root_mut(&mut txn, workshop_root::META);
    set_str(&mut txn, &meta, field::PROJECTED, bid.unwrap_or(""));
    Ok(())
}

/// The votes-per-person limit of a board (0 = unlimited), to pass to `grid::vote`.
pub fn votes_per_person(workshop: &Doc, bid: &str) -> u32 {
    let txn = workshop.transact();
    crate::board::fields::root(&txn, workshop_root::CONTROL)
        .and_then(|c| map_of(&txn, &c, bid))
        .map(|c| crate::board::fields::int_of(&txn, &c, field::VOTES_PER_PERSON))
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
}
