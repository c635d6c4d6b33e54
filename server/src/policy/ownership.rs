//! A participant changes only what is theirs: the verdict on a board update, from the
//! [`Snapshot`]s before and after it (docs/board-schema.md §3 "Who may write what"). Pure.
//!
//! A participant's update may create items whose `authorId` is its own device id, change or
//! delete only items it owns (and never re-author them), write only its own vote key, with
//! positive whole counts, within the board's `votesPerPerson`; on an accelerator, the device that
//! claimed the problem (`ownerDevice`, first come, the facilitator can clear it) writes the
//! problem fields. Everything else on a board is the facilitator's. A connection without a device
//! id changes no authored item at all.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::board::ownership::{Item, Snapshot};

/// Told to a participant touching someone else's item.
pub const NOT_YOURS: &str = "you can only change or delete your own contributions";
/// Told to a participant creating an item under another author id.
pub const NOT_YOUR_ID: &str = "a new contribution must carry your own device id as its author";
/// Told to a participant writing another voter's key, or a count that is not a small whole number.
pub const NOT_YOUR_VOTE: &str = "you can only place your own votes (a whole number of dots)";
/// Told to a participant voting past the board's budget.
pub const OVER_BUDGET: &str = "you have used all your votes on this board";
/// Told to a connection without a device id writing an authored item.
pub const NO_DEVICE: &str = "this connection has no device id: it cannot write contributions";
/// Told to a participant changing what only the facilitator writes.
pub const FACILITATOR_ONLY: &str = "only the facilitator changes this part of the board";
/// Told to a participant writing the accelerator's problem without having claimed it.
pub const NOT_YOUR_PROBLEM: &str =
    "only the person who brings the problem (or the facilitator) writes it";

/// Told to a participant writing a kind of shared type the board schema has no use for.
pub const UNSUPPORTED: &str = "this kind of content is not supported on a board";

pub use crate::board::ownership::MAX_DOTS_PER_NOTE;

/// Whether the update that turned `before` into `after`, sent by a participant holding
/// `device`, stays within what is theirs. `budget` is the board's `votesPerPerson` (0 = no
/// limit). `before` and `after` may be the whole board or the same part of it (what the update
/// touched); `my_dots` is the dots `device` had on the whole board before.
pub fn verdict(
    device: Option<&str>,
    budget: u32,
    before: &Snapshot,
    after: &Snapshot,
    my_dots: i64,
) -> Result<(), &'static str> {
    if after.opaque.iter().any(|e| !before.opaque.contains(e)) {
        return Err(UNSUPPORTED);
    }
    if before.others != after.others || before.stray != after.stray {
        return Err(FACILITATOR_ONLY);
    }
    problem(device, before, after)?;
    let keys: BTreeSet<&String> = before.items.keys().chain(after.items.keys()).collect();
    let mut changed = false;
    for id in keys {
        match (before.items.get(id), after.items.get(id)) {
            (Some(b), Some(a)) if b == a => {}
            (b, a) => {
                changed = true;
                let Some(me) = device else {
                    return Err(NO_DEVICE);
                };
                item(me, b, a)?;
            }
        }
    }
    if changed && budget > 0 {
        if let Some(me) = device {
            let now = my_dots - before.dots_of(me) + after.dots_of(me);
            if now > my_dots && now > i64::from(budget) {
                return Err(OVER_BUDGET);
            }
        }
    }
    Ok(())
}

fn problem(device: Option<&str>, before: &Snapshot, after: &Snapshot) -> Result<(), &'static str> {
    let same_problem = before.problem == after.problem;
    if same_problem && before.owner_device == after.owner_device {
        return Ok(());
    }
    let Some(me) = device else {
        return Err(NOT_YOUR_PROBLEM);
    };
    let claim = before.owner_device.is_empty() && after.owner_device == me;
    let owner = before.owner_device == me && after.owner_device == me;
    // Claiming and writing in one update is fine; giving the problem away is the facilitator's.
    if claim || owner {
        Ok(())
    } else {
        Err(NOT_YOUR_PROBLEM)
    }
}

fn item(me: &str, before: Option<&Item>, after: Option<&Item>) -> Result<(), &'static str> {
    match (before, after) {
        (Some(b), None) if b.author == me => Ok(()),
        (Some(_), None) => Err(NOT_YOURS),
        (None, Some(a)) => {
            if a.author != me {
                return Err(NOT_YOUR_ID);
            }
            votes(me, &Default::default(), &a.votes)
        }
        (Some(b), Some(a)) => {
            if b.body != a.body && (b.author != me || a.author != me) {
                return Err(NOT_YOURS);
            }
            votes(me, &b.votes, &a.votes)
        }
        (None, None) => Ok(()),
    }
}

/// Only `me`'s key may differ, and it holds a whole count in 1..=MAX_DOTS_PER_NOTE.
fn votes(
    me: &str,
    before: &std::collections::BTreeMap<String, Value>,
    after: &std::collections::BTreeMap<String, Value>,
) -> Result<(), &'static str> {
    let voters: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for voter in voters {
        let (b, a) = (before.get(voter), after.get(voter));
        if b == a {
            continue;
        }
        if voter != me {
            return Err(NOT_YOUR_VOTE);
        }
        if let Some(a) = a {
            match a.as_i64() {
                Some(n) if (1..=MAX_DOTS_PER_NOTE).contains(&n) => {}
                _ => return Err(NOT_YOUR_VOTE),
            }
        }
    }
    Ok(())
}

/// The items `after` no longer holds, with their content (what the bin keeps).
pub fn deleted<'a>(before: &'a Snapshot, after: &Snapshot) -> Vec<(&'a str, &'a Item)> {
    before
        .items
        .iter()
        .filter(|(id, _)| !after.items.contains_key(*id))
        .map(|(id, item)| (id.as_str(), item))
        .collect()
}

/// The item ids `after` holds that `before` did not (a restore or an undo brings one back).
pub fn created<'a>(before: &Snapshot, after: &'a Snapshot) -> Vec<&'a str> {
    after
        .items
        .keys()
        .filter(|id| !before.items.contains_key(*id))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
#[path = "ownership_tests.rs"]
mod tests;
