//! Document ids, parsed once at the edge: a workshop doc is `{wid}`, one of its boards is
//! `{wid}.{bid}`. Everything past the HTTP layer holds a [`DocId`] and asks it, instead of
//! looking for dots in strings. No IO.

use std::fmt;
use std::sync::Arc;

/// Longest document id accepted on the wire.
pub const MAX_LEN: usize = 128;

/// Why a string is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocIdError {
    /// Empty, longer than [`MAX_LEN`], or a character outside `[A-Za-z0-9._-]`.
    #[error("document ids are 1-128 characters of A-Z a-z 0-9 . _ -")]
    Invalid,
}

/// The three kinds of documents, each with its own write policy (see [`crate::policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocKind {
    /// A workshop's own doc: agenda, participants, the facilitator's control state.
    Workshop,
    /// One board of a workshop.
    Board,
    /// A document outside any workshop (`--open-docs`: plain y-websocket use, benchmarks).
    Open,
}

/// A validated document id. Cheap to clone (shared string). Compares and hashes as its string.
#[derive(Clone)]
pub struct DocId {
    raw: Arc<str>,
    /// Byte index of the first `.`, which separates the workshop from the board.
    dot: Option<usize>,
}

impl DocId {
    /// Parses a document id as sent by a client (`/ws/{doc}`).
    pub fn parse(s: &str) -> Result<DocId, DocIdError> {
        let valid = (1..=MAX_LEN).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid {
            return Err(DocIdError::Invalid);
        }
        Ok(DocId {
            raw: Arc::from(s),
            dot: s.find('.'),
        })
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

    /// The board part (after the first `.`), for a board doc.
    pub fn board(&self) -> Option<&str> {
        self.dot.map(|i| &self.raw[i + 1..])
    }

    /// The id of the workshop doc this doc belongs to (itself for a workshop doc).
    pub fn workshop_doc(&self) -> DocId {
        match self.dot {
            None => self.clone(),
            Some(i) => DocId {
                raw: Arc::from(&self.raw[..i]),
                dot: None,
            },
        }
    }

    /// The kind this id has inside a workshop: `{wid}` is the workshop doc, `{wid}.{bid}` a board.
    /// Whether the workshop exists (else the doc is [`DocKind::Open`]) is the caller's to know.
    pub fn kind_in_workshop(&self) -> DocKind {
        if self.dot.is_some() {
            DocKind::Board
        } else {
            DocKind::Workshop
        }
    }
}

impl PartialEq for DocId {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Eq for DocId {}

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
