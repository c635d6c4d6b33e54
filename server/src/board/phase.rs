//! What a participant may change on a board, given the facilitator's control state
//! (docs/board-schema.md §2 `control`: `locked`, `phase`, `stage`). Pure: no IO.
//!
//! A board's rules come from the workshop doc (which only the facilitator writes). For a
//! participant's update, the room takes a [`Protected`] digest of everything the rules put out of
//! the participant's reach, applies the update, takes it again and refuses the update (rebuilding
//! the doc from disk) when the two differ — see [`verdict`]. Rules that forbid every write
//! (locked, closed) are refused before applying ([`BoardRules::forbids_all`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use yrs::{Any, Doc, Map, MapRef, Out, ReadTxn, Transact};

use super::fields::{bool_of, int_of, str_of};
#[cfg(any(test, feature = "test-support"))]
use super::fields::{item, map_of, new_map, root_mut, set_str};
use super::schema::{board_root, field, workshop_root, BoardKind};
#[cfg(any(test, feature = "test-support"))]
use super::BoardError;

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

/// A canonical rendering of everything a participant may not change under some rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected(String);

/// Everything `rules` put out of a participant's reach on `board`, rendered canonically.
pub fn protected(board: &Doc, rules: &BoardRules) -> Protected {
    let txn = board.transact();
    let mut out = String::new();
    let mut roots: Vec<(String, Out)> = txn
        .root_refs()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
    roots.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, value) in roots {
        // A root not yet read as a map since it was loaded is still untyped: it is one.
        let value = match value {
            Out::UndefinedRef(branch) => Out::YMap(MapRef::from(branch)),
            other => other,
        };
        let Out::YMap(map) = value else {
            // Roots are maps (schema §1); anything else is guarded whole.
            let _ = write!(out, "{name}={:?};", value.clone().to_string(&txn));
            continue;
        };
        let guard = guard_of(rules, &name);
        if guard == Guard::Free {
            continue;
        }
        // An empty root and a missing one are the same: creating an empty map changes nothing.
        let mut inner = String::new();
        let mut entries: Vec<(String, Out)> =
            map.iter(&txn).map(|(k, v)| (k.to_string(), v)).collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, value) in entries {
            match (&guard, &value) {
                // The problem's owner writes these (policy::ownership checks who).
                (Guard::AllButProblem, _) if is_owner_field(&key) => continue,
                (Guard::AllButVotes, Out::YMap(note)) => {
                    let _ = write!(inner, "{key}:");
                    render_map(&txn, note, Some(field::VOTES), &mut inner);
                }
                (Guard::ItemsOutside(open), Out::YMap(item))
                    if str_of(&txn, item, field::STAGE) == *open =>
                {
                    continue;
                }
                _ => {
                    let _ = write!(inner, "{key}:");
                    render(&txn, &value, &mut inner);
                }
            }
            inner.push(',');
        }
        if !inner.is_empty() {
            let _ = write!(out, "{name}{{{inner}}};");
        }
    }
    Protected(out)
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

#[derive(Debug, PartialEq, Eq)]
enum Guard {
    /// Participants change this root freely.
    Free,
    /// Participants change nothing in it.
    All,
    /// An accelerator's header: nothing but the problem, which `policy::ownership` guards.
    AllButProblem,
    /// Participants change only `votes` maps of its entries (notes while voting).
    AllButVotes,
    /// Participants change only the entries whose `stage` is this one (accelerator items).
    ItemsOutside(&'static str),
}

fn guard_of(rules: &BoardRules, root: &str) -> Guard {
    // The header (kind, ids, the accelerator's problem and reformulation, the icebreaker's
    // prompt) is the facilitator's, always.
    if root == board_root::META {
        return if rules.kind == Some(BoardKind::Accelerator) && rules.phase != Phase::Voting {
            Guard::AllButProblem
        } else {
            Guard::All
        };
    }
    match rules.kind {
        Some(BoardKind::Grid) => match root {
            board_root::COLUMNS => Guard::All,
            board_root::NOTES if rules.phase == Phase::Voting => Guard::AllButVotes,
            _ if rules.phase == Phase::Voting => Guard::All,
            _ => Guard::Free,
        },
        Some(BoardKind::Interview) => match root {
            board_root::QUESTIONS | board_root::GROUPS => Guard::All,
            _ if rules.phase == Phase::Voting => Guard::All,
            _ => Guard::Free,
        },
        Some(BoardKind::Accelerator) => match (root, rules.stage.item_stage()) {
            _ if rules.phase == Phase::Voting => Guard::All,
            (board_root::ITEMS, Some(open)) => Guard::ItemsOutside(open),
            _ => Guard::All,
        },
        Some(BoardKind::Timeline | BoardKind::Icebreaker) | None => {
            if rules.phase == Phase::Voting {
                Guard::All
            } else {
                Guard::Free
            }
        }
    }
}

fn is_owner_field(key: &str) -> bool {
    key == field::OWNER_DEVICE || super::ownership::PROBLEM_FIELDS.contains(&key)
}

fn render<T: ReadTxn>(txn: &T, value: &Out, out: &mut String) {
    match value {
        Out::YMap(m) => render_map(txn, m, None, out),
        Out::Any(any) => render_any(any, out),
        other => {
            let _ = write!(out, "{:?}", other.clone().to_string(txn));
        }
    }
}

fn render_map<T: ReadTxn>(txn: &T, map: &MapRef, skip: Option<&str>, out: &mut String) {
    let mut entries: Vec<(String, Out)> = map
        .iter(txn)
        .filter(|(k, _)| Some(*k) != skip)
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    out.push('{');
    for (k, v) in entries {
        let _ = write!(out, "{k:?}:");
        render(txn, &v, out);
        out.push(',');
    }
    out.push('}');
}

fn render_any(any: &Any, out: &mut String) {
    match any {
        Any::Map(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for k in keys {
                let _ = write!(out, "{k:?}:");
                if let Some(v) = m.get(k) {
                    render_any(v, out);
                }
                out.push(',');
            }
            out.push('}');
        }
        Any::Array(items) => {
            out.push('[');
            for v in items.iter() {
                render_any(v, out);
                out.push(',');
            }
            out.push(']');
        }
        other => {
            let _ = write!(out, "{other:?}");
        }
    }
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
