//! Names of roots and fields of docs/board-schema.md, the board kinds, ids and the colour palette.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::BoardError;

/// Schema version written in every doc's meta map.
pub const VERSION: i64 = 1;

/// Roots of a workshop doc.
pub mod workshop_root {
    /// Meta map: title, date, place, objectives, projected board …
    pub const META: &str = "workshop";
    /// Participants keyed by id.
    pub const PARTICIPANTS: &str = "participants";
    /// Agenda entries keyed by board id.
    pub const AGENDA: &str = "agenda";
    /// Control state keyed by board id.
    pub const CONTROL: &str = "control";
}

/// Roots of a board doc.
pub mod board_root {
    /// Meta map: version, kind, workshop, id and the kind's header fields.
    pub const META: &str = "board";
    /// Grid columns.
    pub const COLUMNS: &str = "columns";
    /// Grid and icebreaker notes.
    pub const NOTES: &str = "notes";
    /// Grid note groups and interview groups.
    pub const GROUPS: &str = "groups";
    /// Timeline cards.
    pub const CARDS: &str = "cards";
    /// Accelerator stage items.
    pub const ITEMS: &str = "items";
    /// Interview questions.
    pub const QUESTIONS: &str = "questions";
    /// Interview answers.
    pub const ANSWERS: &str = "answers";
}

/// Field names (shared by several maps where the meaning is the same).
pub mod field {
    #![allow(missing_docs)]
    pub const VERSION: &str = "version";
    pub const ID: &str = "id";
    pub const KIND: &str = "kind";
    pub const WORKSHOP: &str = "workshop";
    pub const TITLE: &str = "title";
    pub const DATE: &str = "date";
    pub const PLACE: &str = "place";
    pub const OBJECTIVES: &str = "objectives";
    pub const TEMPLATE: &str = "template";
    pub const CREATED_AT: &str = "createdAt";
    pub const PROJECTED: &str = "projected";
    pub const NAME: &str = "name";
    pub const ROLE: &str = "role";
    pub const ORGANISATION: &str = "organisation";
    pub const GROUP: &str = "group";
    pub const ORDER: &str = "order";
    pub const METHOD: &str = "method";
    pub const LOCKED: &str = "locked";
    pub const REVEAL_ALL: &str = "revealAll";
    pub const REVEALED: &str = "revealed";
    pub const TIMER_END: &str = "timerEnd";
    pub const VOTES_PER_PERSON: &str = "votesPerPerson";
    pub const AUTHOR_ID: &str = "authorId";
    pub const AUTHOR_NAME: &str = "authorName";
    pub const AUTHOR_ORG: &str = "authorOrg";
    pub const COLOUR: &str = "colour";
    pub const COLUMN: &str = "column";
    pub const TEXT: &str = "text";
    pub const VOTES: &str = "votes";
    pub const WHEN: &str = "when";
    pub const SORT_KEY: &str = "sortKey";
    pub const PERSON: &str = "person";
    pub const QUOTE: &str = "quote";
    pub const OWNER: &str = "owner";
    pub const OWNER_ORG: &str = "ownerOrg";
    pub const QUESTION: &str = "question";
    pub const CONTEXT: &str = "context";
    pub const STATEMENT: &str = "statement";
    pub const REFORMULATION: &str = "reformulation";
    pub const STAGE: &str = "stage";
    pub const WHO: &str = "who";
    pub const NEXT: &str = "next";
    pub const PROMPT: &str = "prompt";
    pub const PHASE: &str = "phase";
    pub const FOCUS: &str = "focus";
    pub const DISPLAY: &str = "display";
    pub const JOIN_PANEL: &str = "joinPanel";
}

/// The kinds of board a workshop agenda can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BoardKind {
    /// Columns of post-its with dot votes and optional grouping.
    Grid,
    /// Dated cards with person, organisation and quote.
    Timeline,
    /// One person's problem walked to an action plan.
    Accelerator,
    /// Fixed questions, answers per group.
    Interview,
    /// Anonymous notes revealed by the facilitator.
    Icebreaker,
}

impl BoardKind {
    /// Every kind, in the order the UI lists them.
    pub const ALL: [BoardKind; 5] = [
        BoardKind::Grid,
        BoardKind::Timeline,
        BoardKind::Accelerator,
        BoardKind::Interview,
        BoardKind::Icebreaker,
    ];

    /// The name stored in docs and used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            BoardKind::Grid => "grid",
            BoardKind::Timeline => "timeline",
            BoardKind::Accelerator => "accelerator",
            BoardKind::Interview => "interview",
            BoardKind::Icebreaker => "icebreaker",
        }
    }

    /// French label shown in reports.
    pub fn label_fr(self) -> &'static str {
        match self {
            BoardKind::Grid => "Tableau de post-it",
            BoardKind::Timeline => "Frise chronologique",
            BoardKind::Accelerator => "Accélérateur de projet",
            BoardKind::Interview => "Entretiens croisés",
            BoardKind::Icebreaker => "Brise-glace",
        }
    }
}

impl fmt::Display for BoardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BoardKind {
    type Err = BoardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BoardKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(BoardError::InvalidField {
                field: "kind",
                reason: "unknown board kind",
            })
    }
}

/// Which side of the day a participant is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantGroup {
    /// The facilitation team.
    Facilitation,
    /// The accompanied organisations.
    Accompanied,
    /// Guests from outside.
    Guests,
}

impl ParticipantGroup {
    /// Every group, in report order.
    pub const ALL: [ParticipantGroup; 3] = [
        ParticipantGroup::Facilitation,
        ParticipantGroup::Accompanied,
        ParticipantGroup::Guests,
    ];

    /// The name stored in docs.
    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantGroup::Facilitation => "facilitation",
            ParticipantGroup::Accompanied => "accompanied",
            ParticipantGroup::Guests => "guests",
        }
    }

    /// Reads a stored name; anything unknown is a guest, as the schema says.
    pub fn parse_lenient(s: &str) -> Self {
        ParticipantGroup::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .unwrap_or(ParticipantGroup::Guests)
    }

    /// French heading used in reports.
    pub fn label_fr(self) -> &'static str {
        match self {
            ParticipantGroup::Facilitation => "Animation",
            ParticipantGroup::Accompanied => "Structures accompagnées",
            ParticipantGroup::Guests => "Invités",
        }
    }
}

/// Stages of an accelerator that hold items (reformulation is a single text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// Clarifying questions.
    Questions,
    /// Ideas from the group.
    Ideas,
    /// Action plan items (what / who / next step).
    Actions,
}

impl Stage {
    /// The name stored in docs.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Questions => "questions",
            Stage::Ideas => "ideas",
            Stage::Actions => "actions",
        }
    }

    /// Reads a stored name; `None` for anything unknown (such items are ignored).
    pub fn parse(s: &str) -> Option<Self> {
        [Stage::Questions, Stage::Ideas, Stage::Actions]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// Who writes an item: stored on every authored note, card, item and answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Participant id (also the voter id).
    pub id: String,
    /// Display name at the time of writing.
    pub name: String,
    /// Organisation at the time of writing.
    pub organisation: String,
}

impl Author {
    /// Builds an author from borrowed parts.
    pub fn new(id: &str, name: &str, organisation: &str) -> Self {
        Author {
            id: id.to_owned(),
            name: name.to_owned(),
            organisation: organisation.to_owned(),
        }
    }
}

/// Palette colours, the only ones stored or rendered.
pub const PALETTE: [&str; 7] = [
    "yellow", "orange", "pink", "purple", "blue", "green", "grey",
];

/// Keeps a palette colour, maps anything else to `default` (colours reach HTML/CSS, so only
/// known names may pass).
pub fn palette_colour<'a>(stored: &str, default: &'a str) -> &'a str {
    PALETTE
        .into_iter()
        .find(|c| *c == stored)
        .unwrap_or(default)
}

/// Longest note, card, answer or item text accepted.
pub const MAX_TEXT: usize = 20_000;

/// Longest id accepted.
pub const MAX_ID_LEN: usize = 64;

/// Checks an id against `[A-Za-z0-9_-]{1,64}`.
pub fn check_id(id: &str) -> Result<(), BoardError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(BoardError::InvalidId(id.chars().take(80).collect()))
    }
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn random_base32(rng: &mut impl Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(BASE32[rng.random_range(0..BASE32.len())]))
        .collect()
}

/// A workshop id: 16 lowercase base32 characters (80 random bits).
pub fn new_workshop_id(rng: &mut impl Rng) -> String {
    random_base32(rng, 16)
}

/// A board or item id: 12 lowercase base32 characters (60 random bits).
pub fn new_item_id(rng: &mut impl Rng) -> String {
    random_base32(rng, 12)
}

/// The doc id of board `bid` of workshop `wid`.
pub fn board_doc_id(wid: &str, bid: &str) -> String {
    format!("{wid}.{bid}")
}

/// Splits a board doc id into (workshop id, board id); `None` for a workshop doc id.
pub fn split_doc_id(doc_id: &str) -> Option<(&str, &str)> {
    doc_id.split_once('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn ids_are_checked() {
        assert!(check_id("abc_DEF-09").is_ok());
        for bad in ["", "a.b", "é", "a b", &"x".repeat(65)] {
            assert!(check_id(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn generated_ids_are_valid_and_distinct() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let a = new_workshop_id(&mut rng);
        let b = new_workshop_id(&mut rng);
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
        assert!(check_id(&a).is_ok());
        assert!(a.bytes().all(|c| BASE32.contains(&c)));
        assert!(check_id(&new_item_id(&mut rng)).is_ok());
    }

    #[test]
    fn kinds_round_trip() {
        for k in BoardKind::ALL {
            assert_eq!(k.as_str().parse::<BoardKind>().ok(), Some(k));
            assert_eq!(
                serde_json::to_string(&k).ok(),
                Some(format!("\"{}\"", k.as_str()))
            );
        }
        assert!("Grid".parse::<BoardKind>().is_err());
        assert_eq!(
            ParticipantGroup::parse_lenient("??"),
            ParticipantGroup::Guests
        );
        assert_eq!(palette_colour("red;}", "yellow"), "yellow");
        assert_eq!(palette_colour("blue", "yellow"), "blue");
    }
}
