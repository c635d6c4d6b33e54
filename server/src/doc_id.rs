//! Document ids, parsed once at the edge: a workshop doc is `{wid}`, one of its boards is
//! `{wid}.{bid}`, and the contributions one device holds back on that board (hidden or anonymous
//! notes, readable only by that device and the facilitator) are `{wid}.{bid}~{device}`. Everything past the HTTP layer holds a [`DocId`] and asks it, instead of
//! looking for dots in strings. No IO.

use std::fmt;
use std::sync::Arc;

/// Longest document id accepted on the wire.
pub const MAX_LEN: usize = 128;

/// Why a string is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocIdError {
    /// Empty, longer than [`MAX_LEN`], a character outside `[A-Za-z0-9._-~]`, or a `~` anywhere
    /// but once between a board and a device.
    #[error(
        "document ids are 1-128 characters of A-Z a-z 0-9 . _ - (and `~` once, after a board)"
    )]
    Invalid,
}

/// The kinds of documents, each with its own write policy (see [`crate::policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A workshop's own doc: agenda, participants, the facilitator's control state.
    Workshop,
    /// One board of a workshop.
    Board,
    /// One device's held-back contributions to a board (`{wid}.{bid}~{device}`).
    Held,
    /// A document outside any workshop (`--open-docs`: plain y-websocket use, benchmarks).
    Open,
}

/// A validated document id. Cheap to clone (shared string). Compares and hashes as its string.
#[derive(Clone)]
pub struct DocId {
    raw: Arc<str>,
    /// Byte index of the first `.`, which separates the workshop from the board.
    dot: Option<usize>,
    /// Byte index of the `~` that separates a held doc's board from its device.
    tilde: Option<usize>,
}

impl DocId {
    /// Parses a document id as sent by a client (`/ws/{doc}`).
    pub fn parse(s: &str) -> Result<DocId, DocIdError> {
        let valid = (1..=MAX_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'~'));
        if !valid {
            return Err(DocIdError::Invalid);
        }
        let dot = s.find('.');
        let tilde = s.find('~');
        if let Some(t) = tilde {
            // Only `{wid}.{bid}~{device}`, with a board and a device that are not empty and
            // carry no second separator.
            let well_formed = dot.is_some_and(|d| d + 1 < t)
                && t + 1 < s.len()
                && !s[t + 1..].contains(['~', '.']);
            if !well_formed {
                return Err(DocIdError::Invalid);
            }
        }
        Ok(DocId {
            raw: Arc::from(s),
            dot,
            tilde,
        })
    }

    /// The held doc of device `device` on board `bid` of workshop `wid`.
    pub fn held_of(wid: &str, bid: &str, device: &str) -> Result<DocId, DocIdError> {
        DocId::parse(&format!("{wid}.{bid}~{device}"))
    }

    /// The prefix every held doc of board `bid` of workshop `wid` starts with (for listing).
    pub fn held_prefix(wid: &str, bid: &str) -> String {
        format!("{wid}.{bid}~")
    }

    /// The id of board `bid` of workshop `wid`.
    pub fn board_of(wid: &str, bid: &str) -> Result<DocId, DocIdError> {
        DocId::parse(&format!("{wid}.{bid}"))
    }

    /// The whole id, as stored and as clients name it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The shared string (for maps keyed by id).
    pub fn as_arc(&self) -> &Arc<str> {
        &self.raw
    }

    /// The workshop this doc belongs to, or would belong to (the part before the first `.`).
    pub fn workshop(&self) -> &str {
        match self.dot {
            Some(i) => &self.raw[..i],
            None => &self.raw,
        }
    }

    /// The board part (after the first `.`, before a `~`), for a board or held doc.
    pub fn board(&self) -> Option<&str> {
        let end = self.tilde.unwrap_or(self.raw.len());
        self.dot.map(|i| &self.raw[i + 1..end])
    }

    /// The device part of a held doc (after the `~`).
    pub fn device(&self) -> Option<&str> {
        self.tilde.map(|t| &self.raw[t + 1..])
    }

    /// The board doc a held doc belongs to (itself for a board doc; `None` for a workshop doc).
    pub fn board_doc(&self) -> Option<DocId> {
        let dot = self.dot?;
        match self.tilde {
            None => Some(self.clone()),
            Some(t) => Some(DocId {
                raw: Arc::from(&self.raw[..t]),
                dot: Some(dot),
                tilde: None,
            }),
        }
    }

    /// The id of the workshop doc this doc belongs to (itself for a workshop doc).
    pub fn workshop_doc(&self) -> DocId {
        match self.dot {
            None => self.clone(),
            Some(i) => DocId {
                raw: Arc::from(&self.raw[..i]),
                dot: None,
                tilde: None,
            },
        }
    }

    /// The kind this id has inside a workshop: `{wid}` is the workshop doc, `{wid}.{bid}` a board,
    /// `{wid}.{bid}~{device}` a held doc. Whether the workshop exists (else the doc is
    /// [`DocKind::Open`]) is the caller's to know.
    pub fn kind_in_workshop(&self) -> DocKind {
        match (self.dot, self.tilde) {
            (_, Some(_)) => DocKind::Held,
            (Some(_), None) => DocKind::Board,
            (None, None) => DocKind::Workshop,
        }
    }
}

impl PartialEq for DocId {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for DocId {}

impl PartialOrd for DocId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DocId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.raw.cmp(&other.raw)
    }
}

impl std::hash::Hash for DocId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Same as `str`'s hash, as `Borrow<str>` requires.
        self.raw.hash(state);
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl fmt::Debug for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocId({})", self.raw)
    }
}

impl std::str::FromStr for DocId {
    type Err = DocIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocId::parse(s)
    }
}

impl AsRef<str> for DocId {
    fn as_ref(&self) -> &str {
        &self.raw
    }
}

impl std::borrow::Borrow<str> for DocId {
    fn borrow(&self) -> &str {
        &self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workshop_and_board_ids_split_at_the_first_dot() {
        let w = DocId::parse("w1").expect("valid");
        assert_eq!(w.workshop(), "w1");
        assert_eq!(w.board(), None);
        assert_eq!(w.kind_in_workshop(), DocKind::Workshop);
        assert_eq!(w.workshop_doc(), w);

        let b = DocId::parse("w1.b-2").expect("valid");
        assert_eq!(b.workshop(), "w1");
        assert_eq!(b.board(), Some("b-2"));
        assert_eq!(b.kind_in_workshop(), DocKind::Board);
        assert_eq!(b.workshop_doc(), w);
        assert_eq!(DocId::board_of("w1", "b-2"), Ok(b));

        let deep = DocId::parse("a.b.c").expect("valid");
        assert_eq!((deep.workshop(), deep.board()), ("a", Some("b.c")));
    }

    #[test]
    fn held_ids_name_their_board_and_device() {
        let h = DocId::parse("w1.b-2~Dev_ice-9").expect("valid");
        assert_eq!(h.kind_in_workshop(), DocKind::Held);
        assert_eq!(h.workshop(), "w1");
        assert_eq!(h.board(), Some("b-2"));
        assert_eq!(h.device(), Some("Dev_ice-9"));
        assert_eq!(h.board_doc(), DocId::parse("w1.b-2").ok());
        assert_eq!(h.workshop_doc(), DocId::parse("w1").expect("valid"));
        assert_eq!(DocId::held_of("w1", "b-2", "Dev_ice-9"), Ok(h.clone()));
        assert!(h.as_str().starts_with(&DocId::held_prefix("w1", "b-2")));
        let b = DocId::parse("w1.b-2").expect("valid");
        assert_eq!((b.device(), b.board_doc()), (None, Some(b.clone())));
        assert_eq!(DocId::parse("w1").expect("valid").board_doc(), None);
        for bad in ["w~d", "w.~d", "w.b~", "w.b~d~e", "w.b~d.e", "~", "w.b~~d"] {
            assert_eq!(DocId::parse(bad), Err(DocIdError::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn bad_ids_are_refused() {
        for bad in ["", "a b", "é", "a/b", "a?b", &"x".repeat(MAX_LEN + 1)] {
            assert_eq!(DocId::parse(bad), Err(DocIdError::Invalid), "{bad:?}");
        }
        assert!(DocId::parse(&"x".repeat(MAX_LEN)).is_ok());
    }

    #[test]
    fn equal_ids_hash_alike_and_borrow_as_str() {
        let mut set = std::collections::HashSet::new();
        set.insert(DocId::parse("w.b").expect("valid"));
        assert!(set.contains("w.b"));
    }
}
