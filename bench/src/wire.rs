//! y-websocket wire format: lib0 varuint framing, the y-protocols messages and awareness payloads.
//!
//! Written here rather than taken from `yrs::sync` so that the generator states exactly what it
//! puts on the wire and can count what it receives without trusting the server under test; only the
//! update and state-vector payloads themselves are encoded by yrs.

use thiserror::Error;

/// Top-level message tag for document sync.
const MSG_SYNC: u64 = 0;
/// Top-level message tag for awareness.
const MSG_AWARENESS: u64 = 1;
/// Top-level message tag for auth (permission denied).
const MSG_AUTH: u64 = 2;
/// Top-level message tag asking peers to resend their awareness.
const MSG_QUERY_AWARENESS: u64 = 3;

const SYNC_STEP1: u64 = 0;
const SYNC_STEP2: u64 = 1;
const SYNC_UPDATE: u64 = 2;

/// A frame that could not be decoded.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    /// The frame ended in the middle of a field.
    #[error("frame truncated")]
    Truncated,
    /// A varuint had more than 64 bits of payload.
    #[error("varuint overflows 64 bits")]
    Overflow,
    /// A length prefix announced more bytes than the frame holds.
    #[error("length {0} exceeds the {1} bytes left in the frame")]
    Length(u64, usize),
    /// The top-level or sync message tag is not one y-websocket defines.
    #[error("unknown message tag {0}")]
    UnknownTag(u64),
    /// A string field was not UTF-8.
    #[error("string is not UTF-8")]
    Utf8,
}

/// One y-websocket message, borrowing its payload from the frame it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message<'a> {
    /// Sync step 1: the sender's state vector (v1 encoding).
    SyncStep1(&'a [u8]),
    /// Sync step 2: the updates the receiver of a step 1 lacks (v1 encoding).
    SyncStep2(&'a [u8]),
    /// An incremental document update (v1 encoding).
    Update(&'a [u8]),
    /// An awareness update payload (see [`AwarenessEntry`]).
    Awareness(&'a [u8]),
    /// The server refused access, with its reason.
    AuthDenied(&'a str),
    /// A request to resend the local awareness state.
    QueryAwareness,
}

impl<'a> Message<'a> {
    /// Reads one message from a whole WebSocket frame.
    pub fn decode(frame: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(frame);
        match r.var_uint()? {
            MSG_SYNC => match r.var_uint()? {
                SYNC_STEP1 => Ok(Message::SyncStep1(r.var_bytes()?)),
                SYNC_STEP2 => Ok(Message::SyncStep2(r.var_bytes()?)),
                SYNC_UPDATE => Ok(Message::Update(r.var_bytes()?)),
                other => Err(WireError::UnknownTag(other)),
            },
            MSG_AWARENESS => Ok(Message::Awareness(r.var_bytes()?)),
            MSG_AUTH => {
                // The only auth sub-message y-protocols defines is "permission denied" (0).
                let _kind = r.var_uint()?;
                Ok(Message::AuthDenied(r.var_str()?))
            }
            MSG_QUERY_AWARENESS => Ok(Message::QueryAwareness),
            other => Err(WireError::UnknownTag(other)),
        }
    }

    /// Writes this message as one frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.payload_len() + 12);
        match self {
            Message::SyncStep1(p) => sync(&mut out, SYNC_STEP1, p),
            Message::SyncStep2(p) => sync(&mut out, SYNC_STEP2, p),
            Message::Update(p) => sync(&mut out, SYNC_UPDATE, p),
            Message::Awareness(p) => {
                put_var_uint(&mut out, MSG_AWARENESS);
                put_var_bytes(&mut out, p);
            }
            Message::AuthDenied(reason) => {
                put_var_uint(&mut out, MSG_AUTH);
                put_var_uint(&mut out, 0);
                put_var_bytes(&mut out, reason.as_bytes());
            }
            Message::QueryAwareness => put_var_uint(&mut out, MSG_QUERY_AWARENESS),
        }
        out
    }

    fn payload_len(&self) -> usize {
        match self {
            Message::SyncStep1(p)
            | Message::SyncStep2(p)
            | Message::Update(p)
            | Message::Awareness(p) => p.len(),
            Message::AuthDenied(r) => r.len(),
            Message::QueryAwareness => 0,
        }
    }
}

fn sync(out: &mut Vec<u8>, kind: u64, payload: &[u8]) {
    put_var_uint(out, MSG_SYNC);
    put_var_uint(out, kind);
    put_var_bytes(out, payload);
}

/// One client's entry in an awareness update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwarenessEntry {
    /// The Yjs client id that owns the state.
    pub client_id: u64,
    /// Incremented at every change or renewal; peers keep the highest.
    pub clock: u64,
    /// The state as JSON text, `null` when the client left.
    pub state_json: String,
}

/// Encodes an awareness update payload (the bytes inside a [`Message::Awareness`]).
pub fn encode_awareness(entries: &[AwarenessEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    put_var_uint(&mut out, entries.len() as u64);
    for e in entries {
        put_var_uint(&mut out, e.client_id);
        put_var_uint(&mut out, e.clock);
        put_var_bytes(&mut out, e.state_json.as_bytes());
    }
    out
}

/// Decodes an awareness update payload, refusing counts the payload cannot hold.
pub fn decode_awareness(payload: &[u8]) -> Result<Vec<AwarenessEntry>, WireError> {
    let mut r = Reader::new(payload);
    let count = r.var_uint()?;
    // Each entry takes at least three bytes, so a larger count is a lie, not a reason to allocate.
    let plausible = r.remaining() / 3;
    if count > plausible as u64 {
        return Err(WireError::Length(count, r.remaining()));
    }
    let mut entries = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let client_id = r.var_uint()?;
        let clock = r.var_uint()?;
        let state_json = r.var_str()?.to_owned();
        entries.push(AwarenessEntry {
            client_id,
            clock,
            state_json,
        });
    }
    Ok(entries)
}

/// Appends a lib0 varuint (7 bits per byte, least significant first).
pub fn put_var_uint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-prefixed byte string.
pub fn put_var_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_var_uint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// A cursor over a frame that never reads past its end.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn var_uint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        let mut shift = 0u32;
        loop {
            let byte = *self.buf.get(self.pos).ok_or(WireError::Truncated)?;
            self.pos += 1;
            let bits = u64::from(byte & 0x7f);
            if shift >= 64 || (shift == 63 && bits > 1) {
                return Err(WireError::Overflow);
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
            shift += 7;
        }
    }

    fn var_bytes(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.var_uint()?;
        let left = self.remaining();
        if len > left as u64 {
            return Err(WireError::Length(len, left));
        }
        let start = self.pos;
        self.pos += len as usize;
        self.buf.get(start..self.pos).ok_or(WireError::Truncated)
    }

    fn var_str(&mut self) -> Result<&'a str, WireError> {
        std::str::from_utf8(self.var_bytes()?).map_err(|_| WireError::Utf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varuint_matches_lib0_bytes() {
        let mut out = Vec::new();
        put_var_uint(&mut out, 0);
        put_var_uint(&mut out, 127);
        put_var_uint(&mut out, 128);
        put_var_uint(&mut out, 300);
        assert_eq!(out, vec![0x00, 0x7f, 0x80, 0x01, 0xac, 0x02]);
    }

    #[test]
    fn messages_round_trip() {
        let msgs = [
            Message::SyncStep1(&[0]),
            Message::SyncStep2(&[1, 2, 3]),
            Message::Update(&[9; 200]),
            Message::Awareness(&[1, 5, 1, 2, b'{', b'}']),
            Message::AuthDenied("no"),
            Message::QueryAwareness,
        ];
        for m in msgs {
            let frame = m.encode();
            assert_eq!(Message::decode(&frame), Ok(m));
        }
    }

    #[test]
    fn sync_step1_is_the_bytes_y_protocols_sends() {
        // y-protocols writes [messageSync=0, step1=0, len, ...sv]; an empty doc's sv is [0].
        assert_eq!(Message::SyncStep1(&[0]).encode(), vec![0, 0, 1, 0]);
    }

    #[test]
    fn truncated_and_lying_frames_are_errors() {
        assert_eq!(Message::decode(&[]), Err(WireError::Truncated));
        assert_eq!(Message::decode(&[0, 2, 5, 1]), Err(WireError::Length(5, 1)));
        assert_eq!(Message::decode(&[0, 7, 0]), Err(WireError::UnknownTag(7)));
        assert_eq!(Message::decode(&[9]), Err(WireError::UnknownTag(9)));
        assert_eq!(Message::decode(&[0x80; 11]), Err(WireError::Overflow));
        // 2^27 entries declared in four bytes must fail before any allocation.
        assert!(matches!(
            decode_awareness(&[0x80, 0x80, 0x80, 0x40]),
            Err(WireError::Length(_, 0))
        ));
    }

    #[test]
    fn awareness_round_trips() {
        let entries = vec![
            AwarenessEntry {
                client_id: 42,
                clock: 3,
                state_json: r#"{"user":{"name":"Poste 42"}}"#.into(),
            },
            AwarenessEntry {
                client_id: u64::from(u32::MAX),
                clock: 0,
                state_json: "null".into(),
            },
        ];
        assert_eq!(decode_awareness(&encode_awareness(&entries)), Ok(entries));
    }
}
