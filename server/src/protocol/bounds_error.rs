//! Why a payload was refused before reaching yrs ([`BoundsError`]), and the bound it names.
//!
//! A leaf of `protocol`: the lib0 reader (`lib0.rs`) and the structural walkers (`bounds.rs`)
//! both report with it, so neither needs the other's file for its errors.

/// Deepest `Any` nesting accepted; serde_json, which yrs uses for embedded JSON, stops at the same.
pub const MAX_ANY_DEPTH: usize = 128;

/// Why a payload was refused before reaching yrs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BoundsError {
    /// The input ended inside a value.
    #[error("input ends in the middle of a value")]
    Truncated,
    /// A varint longer than 8 bytes or above 2^53-1, which no JavaScript peer writes.
    #[error("variable-length integer is overlong or exceeds 53 bits")]
    OverlongVarint,
    /// A value that yrs would silently truncate or that it forbids.
    #[error("{field} value {value} is out of range")]
    OutOfRange {
        /// Which field carried the value.
        field: &'static str,
        /// The value read.
        value: u64,
    },
    /// A declared element count that the remaining bytes cannot possibly hold.
    #[error("{what} count {count} exceeds the {remaining} bytes left")]
    CountExceedsInput {
        /// What was being counted.
        what: &'static str,
        /// The declared count.
        count: u64,
        /// Bytes left in the input at that point.
        remaining: usize,
    },
    /// A declared byte length longer than what remains.
    #[error("length {len} exceeds the {remaining} bytes left")]
    LengthExceedsInput {
        /// The declared length.
        len: u64,
        /// Bytes left in the input at that point.
        remaining: usize,
    },
    /// A string that is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A block info byte whose content ref yrs does not know.
    #[error("unknown block info byte {0:#04x}")]
    UnknownContentRef(u8),
    /// Legacy `ContentJSON`: neither Yjs nor yrs writes it any more, and yrs 0.28.1 decodes one
    /// string more than it encodes, so a pending one makes yrs panic when it re-encodes the doc.
    #[error("legacy JSON content is not accepted")]
    LegacyJsonContent,
    /// A shared type ref yrs (without the `weak` feature) does not know.
    #[error("unknown shared type ref {0}")]
    UnknownTypeRef(u8),
    /// An `Any` value tag yrs does not know.
    #[error("unknown Any value tag {0}")]
    UnknownAnyTag(u8),
    /// `Any` values nested deeper than [`MAX_ANY_DEPTH`].
    #[error("Any values nested deeper than {MAX_ANY_DEPTH}")]
    AnyTooDeep,
    /// A GC or skip block of length 0, which yrs refuses.
    #[error("GC or skip block of length 0")]
    EmptyBlock,
    /// Block or delete-set clocks that run past `u32::MAX`.
    #[error("clock runs past u32::MAX")]
    ClockOverflow,
    /// Client sections not in strictly decreasing client id order, as Yjs and yrs write them;
    /// yrs 0.28.1 appends a repeated client's blocks out of clock order and then panics.
    #[error("update client sections are repeated or out of order")]
    UnsortedClients,
    /// A client's delete ranges that are empty, overlap or are out of order. Yjs and yrs always
    /// write them sorted and merged; yrs 0.28.1 corrupts a type's length on others.
    #[error("delete set ranges are empty, overlapping or unsorted")]
    InvalidDeleteRange,
    /// Bytes left over after a complete value.
    #[error("{extra} trailing bytes after a complete value")]
    TrailingBytes {
        /// How many bytes were left.
        extra: usize,
    },
}

impl BoundsError {
    /// A stable snake_case label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            BoundsError::Truncated => "truncated",
            BoundsError::OverlongVarint => "overlong_varint",
            BoundsError::OutOfRange { .. } => "value_out_of_range",
            BoundsError::CountExceedsInput { .. } => "count_exceeds_input",
            BoundsError::LengthExceedsInput { .. } => "length_exceeds_input",
            BoundsError::InvalidUtf8 => "invalid_utf8",
            BoundsError::UnknownContentRef(_) => "unknown_content_ref",
            BoundsError::LegacyJsonContent => "legacy_json_content",
            BoundsError::UnknownTypeRef(_) => "unknown_type_ref",
            BoundsError::UnknownAnyTag(_) => "unknown_any_tag",
            BoundsError::AnyTooDeep => "any_too_deep",
            BoundsError::EmptyBlock => "empty_block",
            BoundsError::ClockOverflow => "clock_overflow",
            BoundsError::UnsortedClients => "unsorted_clients",
            BoundsError::InvalidDeleteRange => "invalid_delete_range",
            BoundsError::TrailingBytes { .. } => "trailing_bytes",
        }
    }
}
