//! Allocation-free structural checks of yrs v1 payloads, run before any yrs decoder sees them.
//!
//! yrs 0.28.1 pre-reserves collections sized by the first count it reads, so a 4-byte payload
//! declaring 2^27 entries costs hundreds of megabytes before the decoder notices the input is
//! short. These walkers follow exactly the byte layout yrs's `DecoderV1` reads (`Update::decode`,
//! `ItemContent::decode`, `Any::decode`, `IdSet::decode`, `StateVector::decode`,
//! `AwarenessUpdate::decode`) and check every declared count and length against the bytes that
//! remain. Once a payload passes, every reservation yrs makes while decoding it is proportional
//! to its length. They also reject what would make yrs panic in a debug build (client ids past
//! 53 bits, clocks past `u32`) or recurse without bound (deeply nested `Any`).

pub use super::bounds_error::{BoundsError, MAX_ANY_DEPTH};
use super::lib0::Reader;

const BLOCK_GC: u8 = 0;
const BLOCK_SKIP: u8 = 10;
const HAS_ORIGIN: u8 = 0b1000_0000;
const HAS_RIGHT_ORIGIN: u8 = 0b0100_0000;
const HAS_PARENT_SUB: u8 = 0b0010_0000;
/// Not a flag in Yjs or yrs; Yjs reads it as part of the content ref and fails.
const UNUSED_INFO_BIT: u8 = 0b0001_0000;
const CONTENT_REF_MASK: u8 = 0b0000_1111;

const CONTENT_DELETED: u8 = 1;
const CONTENT_JSON: u8 = 2;
const CONTENT_BINARY: u8 = 3;
const CONTENT_STRING: u8 = 4;
const CONTENT_EMBED: u8 = 5;
const CONTENT_FORMAT: u8 = 6;
const CONTENT_TYPE: u8 = 7;
const CONTENT_ANY: u8 = 8;
const CONTENT_DOC: u8 = 9;

const TYPE_XML_ELEMENT: u8 = 3;
/// Type refs without a payload that Yjs reads (array, map, text, fragment, hook, xml text). yrs
/// also decodes a subdoc ref (9) and an "undefined" one (15), but no Yjs client can (`typeRefs`
/// stops at 6: one such update would break every browser it reaches), and changes inside a type
/// of either are invisible to yrs's observers; the weak-link ref (7) needs yrs's `weak` feature,
/// which we do not enable. All three are refused.
const PAYLOADLESS_TYPE_REFS: [u8; 6] = [0, 1, 2, 4, 5, 6];

const ANY_UNDEFINED: u8 = 127;
const ANY_NULL: u8 = 126;
const ANY_INTEGER: u8 = 125;
const ANY_FLOAT32: u8 = 124;
const ANY_FLOAT64: u8 = 123;
const ANY_BIGINT: u8 = 122;
const ANY_FALSE: u8 = 121;
const ANY_TRUE: u8 = 120;
const ANY_STRING: u8 = 119;
const ANY_MAP: u8 = 118;
const ANY_ARRAY: u8 = 117;
const ANY_BUFFER: u8 = 116;

/// What a structurally valid update holds, for callers that enforce a policy on top.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpdateShape {
    /// Blocks (items, GC and skip ranges) across all clients.
    pub blocks: u64,
    /// Items whose content is a subdocument.
    pub subdocuments: u64,
    /// Ranges in the delete set.
    pub delete_ranges: u64,
}

/// Checks a whole yrs/Yjs v1 update (block sets then delete set), with nothing after it.
pub fn check_update_v1(bytes: &[u8]) -> Result<(), BoundsError> {
    scan_update_v1(bytes).map(drop)
}

/// [`check_update_v1`], also telling what the update holds.
pub fn scan_update_v1(bytes: &[u8]) -> Result<UpdateShape, BoundsError> {
    let mut shape = UpdateShape::default();
    let mut r = Reader::new(bytes);
    // Smallest client section: block count, client id, start clock.
    let clients = r.read_count("update client", 3)?;
    let mut previous_client = None;
    for _ in 0..clients {
        // Smallest block: an info byte and a one-byte length.
        let blocks = r.read_count("block", 2)?;
        let client = r.read_varuint()?;
        if previous_client.is_some_and(|previous| client >= previous) {
            return Err(BoundsError::UnsortedClients);
        }
        previous_client = Some(client);
        let mut clock = u64::from(r.read_varuint_u32("block clock")?);
        for _ in 0..blocks {
            clock += u64::from(check_block(&mut r, &mut shape)?);
            if clock > u64::from(u32::MAX) {
                return Err(BoundsError::ClockOverflow);
            }
        }
    }
    shape.delete_ranges = check_delete_set(&mut r)?;
    r.finish()?;
    Ok(shape)
}

/// Checks a v1 state vector: a count of (client id, clock) pairs, with nothing after it.
pub fn check_state_vector_v1(bytes: &[u8]) -> Result<(), BoundsError> {
    let mut r = Reader::new(bytes);
    let entries = r.read_count("state vector entry", 2)?;
    for _ in 0..entries {
        r.read_varuint()?;
        r.read_varuint_u32("state vector clock")?;
    }
    r.finish()
}

/// Checks a v1 awareness update: a count of (client id, clock, JSON string), with nothing after.
/// The JSON itself is not parsed here.
pub fn check_awareness_update_v1(bytes: &[u8]) -> Result<(), BoundsError> {
    let mut r = Reader::new(bytes);
    let entries = r.read_count("awareness entry", 3)?;
    for _ in 0..entries {
        r.read_varuint()?;
        r.read_varuint_u32("awareness clock")?;
        r.read_string()?;
    }
    r.finish()
}

/// Walks one block and returns the clock length yrs will give it.
fn check_block(r: &mut Reader<'_>, shape: &mut UpdateShape) -> Result<u32, BoundsError> {
    shape.blocks += 1;
    let info = r.read_u8()?;
    if info == BLOCK_GC || info == BLOCK_SKIP {
        let len = r.read_varuint_u32("block length")?;
        return if len == 0 {
            Err(BoundsError::EmptyBlock)
        } else {
            Ok(len)
        };
    }
    let content_ref = info & CONTENT_REF_MASK;
    if info & UNUSED_INFO_BIT != 0 || !(CONTENT_DELETED..=CONTENT_DOC).contains(&content_ref) {
        return Err(BoundsError::UnknownContentRef(info));
    }
    if info & HAS_ORIGIN != 0 {
        check_id(r)?;
    }
    if info & HAS_RIGHT_ORIGIN != 0 {
        check_id(r)?;
    }
    if info & (HAS_ORIGIN | HAS_RIGHT_ORIGIN) == 0 {
        // yrs reads the parent info as a u32 and compares it to 1, so it must not wrap.
        if r.read_varuint_u32("parent info")? == 1 {
            r.read_string()?;
        } else {
            check_id(r)?;
        }
        if info & HAS_PARENT_SUB != 0 {
            r.read_string()?;
        }
    }
    if content_ref == CONTENT_DOC {
        shape.subdocuments += 1;
    }
    check_content(r, content_ref)
}

fn check_id(r: &mut Reader<'_>) -> Result<(), BoundsError> {
    r.read_varuint()?;
    r.read_varuint_u32("id clock")?;
    Ok(())
}

/// Walks item content and returns its length in yrs's clock units (UTF-16 units for strings).
fn check_content(r: &mut Reader<'_>, content_ref: u8) -> Result<u32, BoundsError> {
    match content_ref {
        CONTENT_DELETED => r.read_varuint_u32("deleted length"),
        CONTENT_JSON => Err(BoundsError::LegacyJsonContent),
        CONTENT_BINARY => r.read_var_bytes().map(|_| 1),
        CONTENT_STRING => {
            let text = r.read_string()?;
            let units: usize = text.chars().map(char::len_utf16).sum();
            u32::try_from(units).map_err(|_| BoundsError::ClockOverflow)
        }
        CONTENT_EMBED => r.read_string().map(|_| 1),
        CONTENT_FORMAT => {
            r.read_string()?;
            r.read_string().map(|_| 1)
        }
        CONTENT_TYPE => {
            let type_ref = r.read_u8()?;
            if type_ref == TYPE_XML_ELEMENT {
                r.read_string()?;
            } else if !PAYLOADLESS_TYPE_REFS.contains(&type_ref) {
                return Err(BoundsError::UnknownTypeRef(type_ref));
            }
            Ok(1)
        }
        CONTENT_ANY => {
            let values = r.read_count("Any content value", 1)?;
            for _ in 0..values {
                check_any(r, 1)?;
            }
            Ok(values)
        }
        CONTENT_DOC => {
            r.read_string()?;
            check_any(r, 1)?;
            Ok(1)
        }
        other => Err(BoundsError::UnknownContentRef(other)),
    }
}

/// Walks one lib0 `Any` value; `depth` counts this value's own level, starting at 1.
fn check_any(r: &mut Reader<'_>, depth: usize) -> Result<(), BoundsError> {
    if depth > MAX_ANY_DEPTH {
        return Err(BoundsError::AnyTooDeep);
    }
    match r.read_u8()? {
        ANY_UNDEFINED | ANY_NULL | ANY_FALSE | ANY_TRUE => Ok(()),
        ANY_INTEGER => r.skip_varint(),
        ANY_FLOAT32 => r.read_exact(4).map(drop),
        ANY_FLOAT64 | ANY_BIGINT => r.read_exact(8).map(drop),
        ANY_STRING => r.read_string().map(drop),
        ANY_MAP => {
            // Smallest entry: an empty key and a one-byte value.
            let entries = r.read_count("Any map entry", 2)?;
            for _ in 0..entries {
                r.read_string()?;
                check_any(r, depth + 1)?;
            }
            Ok(())
        }
        ANY_ARRAY => {
            let items = r.read_count("Any array item", 1)?;
            for _ in 0..items {
                check_any(r, depth + 1)?;
            }
            Ok(())
        }
        ANY_BUFFER => r.read_var_bytes().map(drop),
        tag => Err(BoundsError::UnknownAnyTag(tag)),
    }
}

/// Walks a v1 delete set: clients, each with sorted, disjoint, non-empty (clock, length) ranges.
/// Returns how many ranges it holds.
fn check_delete_set(r: &mut Reader<'_>) -> Result<u64, BoundsError> {
    let mut total = 0;
    // Smallest client entry: client id and a range count.
    let clients = r.read_count("delete set client", 2)?;
    for _ in 0..clients {
        r.read_varuint()?;
        let ranges = r.read_count("delete set range", 2)?;
        let mut previous_end = 0;
        for _ in 0..ranges {
            let clock = r.read_varuint_u32("delete set clock")?;
            let len = r.read_varuint_u32("delete set length")?;
            let end = clock.checked_add(len).ok_or(BoundsError::ClockOverflow)?;
            if len == 0 || clock < previous_end {
                return Err(BoundsError::InvalidDeleteRange);
            }
            previous_end = end;
        }
        total += u64::from(ranges);
    }
    Ok(total)
}
