//! The workshop's meta (title, date, place, objectives, notes link, what reports do with empty
//! activities) and each board's notes (method, results, next steps).

use serde::{Deserialize, Serialize};
use yrs::{Doc, Transact};

use crate::board::fields::{check_label, check_len, item, root_mut, set_int, set_str, set_text};
use crate::board::schema::{field, workshop_root};
use crate::board::BoardError;

use super::MAX_LONG_TEXT;
use crate::board::templates::MAX_TITLE;

/// Changes to the workshop's meta fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPatch {
    /// New title.
    #[serde(default)]
    pub title: Option<String>,
    /// New date.
    #[serde(default)]
    pub date: Option<String>,
    /// New place.
    #[serde(default)]
    pub place: Option<String>,
    /// New objectives, one per entry.
    #[serde(default)]
    pub objectives: Option<Vec<String>>,
    /// New link to an external notes document (`""` removes it).
    #[serde(default)]
    pub notes_url: Option<String>,
    /// Whether reports show or leave out activities where nothing was noted.
    #[serde(default)]
    pub empty_boards: Option<EmptyBoards>,
}

/// What reports do with an activity where nothing was noted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EmptyBoards {
    /// Shown once, with a line saying nothing was noted.
    #[default]
    Show,
    /// Left out of the report.
    Omit,
}

impl EmptyBoards {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            EmptyBoards::Show => "show",
            EmptyBoards::Omit => "omit",
        }
    }

    /// Reads a stored name; anything else is `Show`.
    pub fn parse_lenient(s: &str) -> Self {
        if s == "omit" {
            EmptyBoards::Omit
        } else {
            EmptyBoards::Show
        }
    }
}

/// Whether a link to a notes document is acceptable: empty, or an http(s) URL.
fn check_url(url: &str) -> Result<(), BoardError> {
    let u = url.trim();
    let lower = u.to_ascii_lowercase();
    if u.is_empty() || lower.starts_with("https://") || lower.starts_with("http://") {
        check_len("notesUrl", u, 2_000)
    } else {
        Err(BoardError::InvalidField {
            field: "notesUrl",
            reason: "must be an http(s) link",
        })
    }
}

/// Updates the workshop's title, date, place or objectives.
pub fn set_meta(workshop: &Doc, patch: &MetaPatch) -> Result<(), BoardError> {
    if let Some(t) = &patch.title {
        check_label("title", t, MAX_TITLE)?;
    }
    for (name, v) in [("date", &patch.date), ("place", &patch.place)] {
        if let Some(v) = v {
            check_len(name, v, MAX_TITLE)?;
        }
    }
    if let Some(u) = &patch.notes_url {
        check_url(u)?;
    }
    let objectives = patch.objectives.as_ref().map(|o| o.join("\n"));
    if let Some(o) = &objectives {
        check_len("objectives", o, MAX_LONG_TEXT)?;
    }
    let mut txn = workshop.transact_mut();
    let meta = root_mut(&mut txn, workshop_root::META);
    let fields = [
        (field::TITLE, &patch.title),
        (field::DATE, &patch.date),
        (field::PLACE, &patch.place),
        (field::NOTES_URL, &patch.notes_url),
    ];
    for (key, value) in fields {
        if let Some(v) = value {
            set_str(&mut txn, &meta, key, v.trim());
        }
    }
    if let Some(o) = &objectives {
        set_text(&mut txn, &meta, field::OBJECTIVES, o);
    }
    if let Some(e) = patch.empty_boards {
        set_str(&mut txn, &meta, field::REPORT_EMPTY, e.as_str());
    }
    Ok(())
}

/// Rewrites an activity's synthesis (Markdown source) or side remarks, merging with concurrent
/// edits: what the facilitator and note-takers typed during the discussion.
pub fn set_board_notes(
    workshop: &Doc,
    bid: &str,
    synthesis: Option<&str>,
    remarks: Option<&str>,
) -> Result<(), BoardError> {
    for (name, v) in [("synthesis", synthesis), ("remarks", remarks)] {
        if let Some(v) = v {
            check_len(name, v, MAX_LONG_TEXT)?;
        }
    }
    let mut txn = workshop.transact_mut();
    let agenda = root_mut(&mut txn, workshop_root::AGENDA);
    let entry = item(&txn, &agenda, "board", bid)?;
    if let Some(v) = synthesis {
        set_text(&mut txn, &entry, field::SYNTHESIS, v);
    }
    if let Some(v) = remarks {
        set_text(&mut txn, &entry, field::REMARKS, v);
    }
    Ok(())
}

/// Records that the participant link and join code were renewed at `now_ms`: screens that keep
/// their own link (the projector) watch this field and fetch the new public join info.
pub fn mark_links_renewed(workshop: &Doc, now_ms: i64) {
    let mut txn = workshop.transact_mut();
    let meta = root_mut(&mut txn, workshop_root::META);
    set_int(&mut txn, &meta, field::LINKS_RENEWED, now_ms);
}
