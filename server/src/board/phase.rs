//! What a participant may change on a board, given the facilitator's control state
//! (docs/board-schema.md §2 `control`: `locked`, `phase`, `stage`). Pure: no IO.
//!
//! A board's rules come from the workshop doc (which only the facilitator writes). For a
//! participant's update, the room takes a [`Protected`] digest of everything the rules put out of
//! the participant's reach, applies the update, takes it again and refuses the update (rebuilding
//! the doc from disk) when the two differ — see [`verdict`]. Rules that forbid every write
//! (locked, closed) are refused before applying ([`BoardRules::forbids_all`]).
//!
//! This file reads the rules and judges two digests; `digest` renders them (and holds the table
//! of which root each rule guards).

use std::collections::BTreeMap;

use yrs::{Doc, Map, Out, ReadTxn, Transact};

mod digest;

use super::fields::{bool_of, int_of, str_of};
#[cfg(any(test, feature = "test-support"))]
use super::fields::{item, map_of, new_map, root_mut, set_str};
use super::schema::{field, workshop_root, BoardKind};
#[cfg(any(test, feature = "test-support"))]
use super::BoardError;
pub use digest::{protected, protected_part, Protected};

/// The phase of a board (`control[bid].phase`); anything unknown reads as [`Phase::Writing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Phase {
    /// People add and edit notes; votes are open too.
    #[default]
    Writing,
    /// No new notes, no edits: only one's own dot votes change.
    Voting,
    /// Discussion: the board is read-only for participants.
    Closed,
}

impl Phase {
    /// Every phase, in the order a board goes through them.
    pub const ALL: [Phase; 3] = [Phase::Writing, Phase::Voting, Phase::Closed];

    /// The name stored in docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Writing => "writing",
            Phase::Voting => "voting",
            Phase::Closed => "closed",
        }
    }

    /// Reads a stored name leniently.
    pub fn parse_lenient(s: &str) -> Self {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .unwrap_or_default()
    }
}

/// The open stage of an accelerator (`control[bid].stage`), opened one by one by the
/// facilitator; anything unknown (or `""`) reads as [`AccStage::Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub enum AccStage {
    /// The owner states the problem (written on the facilitator's screen).
    #[default]
    Problem,
    /// Clarifying questions from the group.
    Questions,
    /// The facilitator writes the reformulation.
    Reformulation,
    /// Ideas from the group.
    Ideas,
    /// The action plan.
    Actions,
}

impl AccStage {
    /// Every stage, in the order they are opened.
    pub const ALL: [AccStage; 5] = [
        AccStage::Problem,
        AccStage::Questions,
        AccStage::Reformulation,
        AccStage::Ideas,
        AccStage::Actions,
    ];

    /// The name stored in docs.
    pub fn as_str(self) -> &'static str {
        match self {
            AccStage::Problem => "problem",
            AccStage::Questions => "questions",
            AccStage::Reformulation => "reformulation",
            AccStage::Ideas => "ideas",
            AccStage::Actions => "actions",
        }
    }

    /// Reads a stored name leniently.
    pub fn parse_lenient(s: &str) -> Self {
        AccStage::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .unwrap_or_default()
    }

    /// The item stage participants contribute to while this stage is open, if any.
    fn item_stage(self) -> Option<&'static str> {
        match self {
            AccStage::Questions => Some("questions"),
            AccStage::Ideas => Some("ideas"),
            AccStage::Actions => Some("actions"),
            AccStage::Problem | AccStage::Reformulation => None,
        }
    }
}

/// How the projector shows a board (`control.display`): as it is, sorted by votes, or as a
/// ranking. Display only: no rule depends on it.
pub const DISPLAYS: [&str; 3] = ["board", "votes", "results"];

/// A board's rules for participants, as the workshop doc states them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BoardRules {
    /// The board's kind from the agenda (`None`: unknown kind, only the header is guarded).
    pub kind: Option<BoardKind>,
    /// `control.locked`.
    pub locked: bool,
    /// `control.phase`.
    pub phase: Phase,
    /// `control.stage` (accelerators).
    pub stage: AccStage,
    /// `control.votesPerPerson` (0 = no limit), enforced by `policy::ownership`.
    pub votes_per_person: u32,
}

/// Reason told to a participant writing on a locked board.
pub const LOCKED: &str = "this board is locked by the facilitator";
/// Reason told to a participant writing on a closed board.
pub const CLOSED: &str = "this board is closed: discussion time";
/// Reason told to a participant changing more than votes while voting.
pub const VOTING: &str = "voting time: no new notes, only votes";
/// Reason told to a participant changing what only the facilitator shapes.
pub const FACILITATOR_ONLY: &str =
    "only the facilitator changes this (problem, reformulation, columns, questions or a stage not open)";

impl BoardRules {
    /// Why every participant write is refused now, if it is.
    pub fn forbids_all(&self) -> Option<&'static str> {
        if self.locked {
            Some(LOCKED)
        } else if self.phase == Phase::Closed {
            Some(CLOSED)
        } else {
            None
        }
    }
}

/// The rules of every board listed in a workshop doc (kinds from `agenda`, state from `control`).
/// Anything malformed reads as the default: writing, first stage, unlocked.
pub fn rules_of(workshop: &Doc) -> Vec<(String, BoardRules)> {
    let txn = workshop.transact();
    let kinds: BTreeMap<String, Option<BoardKind>> = txn
        .get_map(workshop_root::AGENDA)
        .map(|agenda| {
            agenda
                .iter(&txn)
                .map(|(bid, entry)| {
                    let kind = match entry {
                        Out::YMap(m) => str_of(&txn, &m, field::KIND).parse().ok(),
                        _ => None,
                    };
                    (bid.to_string(), kind)
                })
                .collect()
        })
        .unwrap_or_default();
    let control = txn.get_map(workshop_root::CONTROL);
    kinds
        .into_iter()
        .map(|(bid, kind)| {
            let c = control.as_ref().and_then(|c| match c.get(&txn, &bid) {
                Some(Out::YMap(m)) => Some(m),
                _ => None,
            });
            let rules = match c {
                Some(c) => BoardRules {
                    kind,
                    locked: bool_of(&txn, &c, field::LOCKED),
                    phase: Phase::parse_lenient(&str_of(&txn, &c, field::PHASE)),
                    stage: AccStage::parse_lenient(&str_of(&txn, &c, field::STAGE)),
                    votes_per_person: u32::try_from(int_of(&txn, &c, field::VOTES_PER_PERSON))
                        .unwrap_or(0),
                },
                None => BoardRules {
                    kind,
                    ..BoardRules::default()
                },
            };
            (bid, rules)
        })
        .collect()
}

/// Whether a participant's update that turned `before` into `after` is allowed.
pub fn verdict(before: &Protected, after: &Protected) -> Result<(), &'static str> {
    if before == after {
        Ok(())
    } else {
        Err(FACILITATOR_ONLY)
    }
}

/// Like [`verdict`], naming the phase when it is what forbids the change.
pub fn verdict_for(
    rules: &BoardRules,
    before: &Protected,
    after: &Protected,
) -> Result<(), &'static str> {
    verdict(before, after).map_err(|reason| {
        if rules.phase == Phase::Voting {
            VOTING
        } else {
            reason
        }
    })
}

/// Sets a board's phase (facilitator). Test-only, like the other writers: the web client writes it.
#[cfg(any(test, feature = "test-support"))]
pub fn set_phase(workshop: &Doc, bid: &str, phase: Phase) -> Result<(), BoardError> {
    set_control_str(workshop, bid, field::PHASE, phase.as_str())
}

/// Opens an accelerator's stage (facilitator).
#[cfg(any(test, feature = "test-support"))]
pub fn set_stage(workshop: &Doc, bid: &str, stage: AccStage) -> Result<(), BoardError> {
    set_control_str(workshop, bid, field::STAGE, stage.as_str())
}

#[cfg(any(test, feature = "test-support"))]
fn set_control_str(workshop: &Doc, bid: &str, key: &str, value: &str) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let agenda = root_mut(&mut txn, workshop_root::AGENDA);
    item(&txn, &agenda, "board", bid)?;
    let control = root_mut(&mut txn, workshop_root::CONTROL);
    let c = match map_of(&txn, &control, bid) {
        Some(c) => c,
        None => new_map(&mut txn, &control, bid),
    };
    set_str(&mut txn, &c, key, value);
    Ok(())
}

#[cfg(test)]
#[path = "phase_tests.rs"]
mod tests;
