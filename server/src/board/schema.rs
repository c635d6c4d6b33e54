//! Names of roots and fields of docs/board-schema.md, the board kinds, ids and the colour palette.
//!
//! Over 400 lines: it is the one table of every name Rust and TypeScript share (`gen_ts.rs` renders
//! it as TypeScript); split, the single source would become several.

use std::fmt;
use std::str::FromStr;

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::BoardError;

/// Schema version written in every doc's meta map.
pub const VERSION: i64 = 1;

/// Declares a module of name constants plus `ALL`, the (constant name, value) pairs the
/// TypeScript generator (`board::gen_ts`) reads, so each name is written exactly once.
macro_rules! names {
    ($(#[$meta:meta])* $module:ident { $($(#[$doc:meta])* $name:ident = $value:literal;)* }) => {
        $(#[$meta])*
        pub mod $module {
            $($(#[$doc])* pub const $name: &str = $value;)*
            /// Every name of this module: (Rust constant, value).
            pub const ALL: &[(&str, &str)] = &[$((stringify!($name), $value)),*];
        }
    };
}

names! {
    /// Roots of a workshop doc.
    workshop_root {
        /// Meta map: title, date, place, objectives, projected board …
        META = "workshop";
        /// Participants keyed by id.
        PARTICIPANTS = "participants";
        /// Agenda entries keyed by board id.
        AGENDA = "agenda";
        /// Control state keyed by board id.
        CONTROL = "control";
        /// The facilitator's groups of people (named, ordered).
        GROUPS = "groups";
        /// Phones asking to be listed among the people present.
        REQUESTS = "requests";
    }
}

names! {
    /// Roots of a board doc.
    board_root {
        /// Meta map: version, kind, workshop, id and the kind's header fields.
        META = "board";
        /// Grid columns.
        COLUMNS = "columns";
        /// Grid and icebreaker notes.
        NOTES = "notes";
        /// Grid note groups and interview groups.
        GROUPS = "groups";
        /// Timeline cards.
        CARDS = "cards";
        /// Accelerator stage items.
        ITEMS = "items";
        /// Interview questions.
        QUESTIONS = "questions";
        /// Interview answers.
        ANSWERS = "answers";
        /// Deleted items the facilitator can restore, written by the server (board::bin).
        BIN = "bin";
    }
}

names! {
    /// Field names (shared by several maps where the meaning is the same).
    #[allow(missing_docs)]
    field {
        VERSION = "version";
        ID = "id";
        KIND = "kind";
        WORKSHOP = "workshop";
        TITLE = "title";
        DATE = "date";
        PLACE = "place";
        OBJECTIVES = "objectives";
        TEMPLATE = "template";
        CREATED_AT = "createdAt";
        PROJECTED = "projected";
        NAME = "name";
        ROLE = "role";
        ORGANISATION = "organisation";
        GROUP = "group";
        ORDER = "order";
        METHOD = "method";
        LOCKED = "locked";
        REVEAL_ALL = "revealAll";
        REVEALED = "revealed";
        TIMER_END = "timerEnd";
        VOTES_PER_PERSON = "votesPerPerson";
        AUTHOR_ID = "authorId";
        AUTHOR_NAME = "authorName";
        AUTHOR_ORG = "authorOrg";
        COLOUR = "colour";
        COLUMN = "column";
        TEXT = "text";
        VOTES = "votes";
        WHEN = "when";
        SORT_KEY = "sortKey";
        PERSON = "person";
        QUOTE = "quote";
        OWNER = "owner";
        OWNER_ORG = "ownerOrg";
        QUESTION = "question";
        CONTEXT = "context";
        STATEMENT = "statement";
        REFORMULATION = "reformulation";
        STAGE = "stage";
        WHO = "who";
        NEXT = "next";
        PROMPT = "prompt";
        NOTES_URL = "notesUrl";
        REPORT_EMPTY = "reportEmpty";
        SYNTHESIS = "synthesis";
        REMARKS = "remarks";
        PARENT = "parent";
        LEAD = "lead";
        PHONE = "phone";
        PHASE = "phase";
        FOCUS = "focus";
        DISPLAY = "display";
        JOIN_PANEL = "joinPanel";
        LINKS_RENEWED = "linksRenewed";
        PAGE = "page";
        PAGE_AT = "pageAt";
        PAGE_PAUSED = "pagePaused";
        HIDDEN = "hidden";
        ANONYMOUS = "anonymous";
        REVEALING = "revealing";
        OWNER_DEVICE = "ownerDevice";
        DATA = "data";
        DELETED_AT = "deletedAt";
        DELETED_BY = "deletedBy";
        ROOT = "root";
    }
}

/// The kinds of board a workshop agenda can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, derive(ts_rs::TS))]
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
    /// Every item stage, in board order.
    pub const ALL: [Stage; 3] = [Stage::Questions, Stage::Ideas, Stage::Actions];

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
        Stage::ALL.into_iter().find(|st| st.as_str() == s)
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

/// The characters of generated ids (lowercase base32).
pub const ID_ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz234567";
const BASE32: &[u8] = ID_ALPHABET.as_bytes();
/// Length of a generated workshop id (80 random bits).
pub const WORKSHOP_ID_LEN: usize = 16;
/// Length of a generated board or item id (60 random bits).
pub const ITEM_ID_LEN: usize = 12;

fn random_base32(rng: &mut impl Rng, len: usize) -> String {
    (0..len)
        .map(|_| char::from(BASE32[rng.random_range(0..BASE32.len())]))
        .collect()
}

/// A workshop id: 16 lowercase base32 characters (80 random bits).
pub fn new_workshop_id(rng: &mut impl Rng) -> String {
    random_base32(rng, WORKSHOP_ID_LEN)
}

/// A board or item id: 12 lowercase base32 characters (60 random bits).
pub fn new_item_id(rng: &mut impl Rng) -> String {
    random_base32(rng, ITEM_ID_LEN)
}

/// The doc id of board `bid` of workshop `wid`.
pub fn board_doc_id(wid: &str, bid: &str) -> String {
    format!("{wid}.{bid}")
}

/// Splits a board doc id into (workshop id, board id); `None` for a workshop doc id.
pub fn split_doc_id(doc_id: &str) -> Option<(&str, &str)> {
    // The convention lives in `DocId`; this borrows its answer from the input.
    let id = crate::doc_id::DocId::parse(doc_id).ok()?;
    let wid = id.workshop().len();
    id.board().map(|_| (&doc_id[..wid], &doc_id[wid + 1..]))
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
