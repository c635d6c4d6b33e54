//! The workshop and board model: Y.Doc schema (docs/board-schema.md), templates, writers, a plain
//! view and the exports built from it. No IO, no async: pure functions over yrs docs.
//!
//! Layout:
//! - [`schema`]: root and field names, [`BoardKind`], ids, palette;
//! - [`order`]: fractional order keys; [`dates`]: French date labels to sort keys;
//! - [`workshop`]: creating a workshop, its agenda and the facilitator's control state;
//! - [`people`]: the facilitator's groups, the people present, phones asking to be listed;
//! - [`phase`]: what participants may change under a board's phase and accelerator stage;
//! - `grid`, `timeline`, `accelerator`, `interview`, `icebreaker`: writers per kind, the Rust
//!   twin of the web client's writers. Test-only (`cfg(test)` or the `test-support` feature the
//!   integration tests enable): the server itself never edits a board's items, people do, and
//!   fixtures and tests build realistic boards with them; `discussion` likewise (sub-points of
//!   grid notes, who ran an interview group);
//! - [`templates`]: workshop and board templates (the "Journée bilan" day);
//! - [`held`]: contributions held back in a device's own doc until the facilitator reveals
//!   them (icebreakers, hidden or anonymous grids), and the server's reveal writer;
//! - [`census`]: what the write policies read (board locks, item counts);
//! - [`ownership`]: who owns each item of a board (what the ownership policy compares);
//! - [`bin`]: deleted items kept for the facilitator to restore (the one root the server writes);
//! - [`view`]: a consistent plain-data view of a workshop and its boards (the JSON export);
//! - [`export`]: Markdown, HTML and CSV reports rendered from that view;
//! - `fixtures` (test-only too): the seed-day scenario shared by unit and integration tests;
//! - `gen_ts` (tests only): renders the schema's names as `web/src/lib/model/schema.gen.ts`
//!   and fails when the checked-in file drifts.

#[cfg(any(test, feature = "test-support"))]
pub mod accelerator;
pub mod bin;
pub mod census;
pub mod dates;
#[cfg(any(test, feature = "test-support"))]
pub mod discussion;
pub mod export;
mod fields;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod fixtures;
#[cfg(test)]
pub(crate) mod gen_ts;
#[cfg(any(test, feature = "test-support"))]
pub mod grid;
pub mod held;
#[cfg(any(test, feature = "test-support"))]
pub mod icebreaker;
#[cfg(any(test, feature = "test-support"))]
pub mod interview;
pub mod order;
pub mod ownership;
pub mod people;
pub mod phase;
pub mod schema;
pub mod templates;
#[cfg(any(test, feature = "test-support"))]
pub mod timeline;
pub mod view;
pub mod workshop;

#[cfg(test)]
mod tests;

pub use fields::{doc_from_update, encode_doc};
pub use schema::{Author, BoardKind, ParticipantGroup, Stage};
pub use templates::{BoardTemplate, WorkshopTemplate};
pub use view::{read_workshop, BoardContent, BoardView, WorkshopView};
pub use workshop::{
    add_board, mark_links_renewed, move_board, new_workshop, remove_board, rename_board, NewBoard,
    NewWorkshop, WorkshopParams,
};

/// Why a board operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    /// The template id names no known template.
    #[error("unknown template `{0}`")]
    UnknownTemplate(String),
    /// The board template makes boards of another kind than the one asked for.
    #[error("template `{template}` makes {template_kind} boards, not {kind}")]
    TemplateKind {
        /// Template asked for.
        template: String,
        /// Kind the template makes.
        template_kind: BoardKind,
        /// Kind asked for.
        kind: BoardKind,
    },
    /// An id is empty, too long or uses characters outside `[A-Za-z0-9_-]`.
    #[error("invalid id `{0}`")]
    InvalidId(String),
    /// A field value is not acceptable (empty title, too long text …).
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// Field name.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The item to change does not exist (or is not a map) in the doc.
    #[error("{what} `{id}` not found")]
    NotFound {
        /// Kind of item looked for.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// An item with this id already exists.
    #[error("{what} `{id}` already exists")]
    AlreadyExists {
        /// Kind of item.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The voter already placed every vote the board allows.
    #[error("vote limit reached ({limit} per person)")]
    VoteLimit {
        /// Votes per person on this board.
        limit: u32,
    },
    /// The doc is not the kind of board the operation expects.
    #[error("board is a {found} board, expected {expected}")]
    WrongKind {
        /// Kind the operation needs.
        expected: BoardKind,
        /// Kind stored in the doc (or in the agenda).
        found: String,
    },
    /// Bytes given as a yrs v1 update could not be decoded.
    #[error("malformed update: {0}")]
    Decode(#[from] yrs::encoding::read::Error),
    /// A decoded update could not be applied to a doc.
    #[error("update could not be applied: {0}")]
    Apply(#[from] yrs::error::UpdateError),
}
