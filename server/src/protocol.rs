//! y-protocols frames (sync, awareness, auth, query-awareness) <-> typed messages. No IO.
//!
//! One WebSocket frame carries exactly one message, as y-websocket sends them. Every payload is
//! walked by [`bounds`] before a yrs decoder sees it, so what a hostile frame costs to decode is
//! proportional to its size. Trailing bytes after a message are refused: y-websocket never
//! writes them, and accepting them would let a frame smuggle bytes past the size accounting.
//! Updates carrying subdocuments are refused too: boards never use them and yrs leaks them.

pub mod bounds;
mod bounds_error;
mod lib0;
#[cfg(test)]
mod tests;

use bytes::Bytes;
use yrs::sync::awareness::AwarenessUpdate;
use yrs::updates::decoder::Decode;
use yrs::updates::encoder::Encode;
use yrs::StateVector;

use self::bounds::BoundsError;
use self::lib0::Reader;

const MSG_SYNC: u64 = 0;
const MSG_AWARENESS: u64 = 1;
const MSG_AUTH: u64 = 2;
const MSG_QUERY_AWARENESS: u64 = 3;

const SYNC_STEP_1: u64 = 0;
const SYNC_STEP_2: u64 = 1;
const SYNC_UPDATE: u64 = 2;

const AUTH_PERMISSION_DENIED: u64 = 0;

/// One decoded y-protocols message.
#[derive(Debug)]
pub enum Message {
    /// The peer's state vector: it asks for everything it is missing.
    SyncStep1(StateVector),
    /// The answer to our step 1: a raw yrs v1 update, already bounds-checked.
    SyncStep2(Bytes),
    /// An incremental edit: a raw yrs v1 update, already bounds-checked.
    Update(Bytes),
    /// Presence (cursors, names); `raw` is the whole original frame, to relay as-is.
    Awareness {
        /// The decoded update, with every state checked to be valid JSON.
        update: AwarenessUpdate,
        /// The complete frame it came in.
        raw: Bytes,
    },
    /// The peer asks for everyone's current awareness state.
    QueryAwareness,
    /// The peer was refused access, with the server's reason.
    Auth {
        /// Human-readable reason sent with the refusal.
        denied_reason: String,
    },
}

/// Why a frame could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// A frame with no bytes at all.
    #[error("empty frame")]
    EmptyFrame,
    /// A top-level message type outside sync, awareness, auth and query-awareness.
    #[error("unknown message type {0}")]
    UnknownMessageType(u64),
    /// A sync message subtype outside step 1, step 2 and update.
    #[error("unknown sync message type {0}")]
    UnknownSyncType(u64),
    /// An auth message other than "permission denied".
    #[error("unknown auth message type {0}")]
    UnknownAuthType(u64),
    /// The frame or its payload is structurally invalid (see [`BoundsError`]).
    #[error("malformed {part}: {source}")]
    Malformed {
        /// Which part of the frame was being read.
        part: &'static str,
        /// What was wrong with it.
        source: BoundsError,
    },
    /// An update carrying a subdocument. Boards never use them, and yrs 0.28.1 leaks every
    /// subdocument's store when the doc holding it is dropped (found by fuzzing).
    #[error("subdocuments are not supported")]
    SubdocumentContent,
    /// yrs refused a payload that passed the structural checks (e.g. unparsable embedded JSON).
    #[error("yrs could not decode the {part}: {source}")]
    Yrs {
        /// Which payload yrs was decoding.
        part: &'static str,
        /// yrs's own error.
        source: yrs::encoding::read::Error,
    },
    /// An awareness state that is neither `null` nor valid JSON (JavaScript peers would throw).
    #[error("awareness state of client {client} is not valid JSON: {source}")]
    AwarenessJson {
        /// The client id the state belongs to.
        client: u64,
        /// The JSON parser's complaint.
        source: serde_json::Error,
    },
}

impl ProtocolError {
    /// A stable snake_case label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            ProtocolError::EmptyFrame => "empty_frame",
            ProtocolError::UnknownMessageType(_) => "unknown_message_type",
            ProtocolError::UnknownSyncType(_) => "unknown_sync_type",
            ProtocolError::UnknownAuthType(_) => "unknown_auth_type",
            ProtocolError::Malformed { source, .. } => source.reason(),
            ProtocolError::SubdocumentContent => "subdocument_content",
            ProtocolError::Yrs { .. } => "yrs_decode",
            ProtocolError::AwarenessJson { .. } => "invalid_awareness_json",
        }
    }
}

fn malformed(part: &'static str) -> impl FnOnce(BoundsError) -> ProtocolError {
    move |source| ProtocolError::Malformed { part, source }
}

fn yrs_error(part: &'static str) -> impl FnOnce(yrs::encoding::read::Error) -> ProtocolError {
    move |source| ProtocolError::Yrs { part, source }
}

/// Decodes one WebSocket frame into a message, refusing anything malformed or left over.
pub fn decode_message(frame: &[u8]) -> Result<Message, ProtocolError> {
    if frame.is_empty() {
        return Err(ProtocolError::EmptyFrame);
    }
    let mut r = Reader::new(frame);
    let header = malformed("frame header");
    let message = match r.read_varuint().map_err(header)? {
        MSG_SYNC => decode_sync(&mut r)?,
        MSG_AWARENESS => {
            let payload = r.read_var_bytes().map_err(malformed("awareness frame"))?;
            let update = decode_awareness_update(payload)?;
            Message::Awareness {
                update,
                raw: Bytes::copy_from_slice(frame),
            }
        }
        MSG_AUTH => match r.read_varuint().map_err(malformed("auth frame"))? {
            AUTH_PERMISSION_DENIED => {
                let reason = r.read_string().map_err(malformed("auth frame"))?;
                Message::Auth {
                    denied_reason: reason.to_owned(),
                }
            }
            other => return Err(ProtocolError::UnknownAuthType(other)),
        },
        MSG_QUERY_AWARENESS => Message::QueryAwareness,
        other => return Err(ProtocolError::UnknownMessageType(other)),
    };
    r.finish().map_err(malformed("frame"))?;
    Ok(message)
}

fn decode_sync(r: &mut Reader<'_>) -> Result<Message, ProtocolError> {
    let subtype = r.read_varuint().map_err(malformed("sync frame"))?;
    if !matches!(subtype, SYNC_STEP_1 | SYNC_STEP_2 | SYNC_UPDATE) {
        return Err(ProtocolError::UnknownSyncType(subtype));
    }
    let payload = r.read_var_bytes().map_err(malformed("sync frame"))?;
    Ok(match subtype {
        SYNC_STEP_1 => Message::SyncStep1(decode_state_vector(payload)?),
        SYNC_STEP_2 => {
            check_update(payload)?;
            Message::SyncStep2(Bytes::copy_from_slice(payload))
        }
        _ => {
            check_update(payload)?;
            Message::Update(Bytes::copy_from_slice(payload))
        }
    })
}

/// The structural checks plus Palabre's policy: no subdocuments.
fn check_update(update: &[u8]) -> Result<(), ProtocolError> {
    let shape = bounds::scan_update_v1(update).map_err(malformed("update"))?;
    if shape.subdocuments > 0 {
        return Err(ProtocolError::SubdocumentContent);
    }
    Ok(())
}

/// Bounds-checks then decodes a yrs v1 update (refusing subdocuments).
pub fn decode_update(update: &[u8]) -> Result<yrs::Update, ProtocolError> {
    check_update(update)?;
    yrs::Update::decode_v1(update).map_err(yrs_error("update"))
}

/// Bounds-checks then decodes a yrs v1 state vector.
pub fn decode_state_vector(sv: &[u8]) -> Result<StateVector, ProtocolError> {
    bounds::check_state_vector_v1(sv).map_err(malformed("state vector"))?;
    StateVector::decode_v1(sv).map_err(yrs_error("state vector"))
}

/// Bounds-checks and decodes a v1 awareness update, then checks each state is JSON or `null`.
pub fn decode_awareness_update(update: &[u8]) -> Result<AwarenessUpdate, ProtocolError> {
    bounds::check_awareness_update_v1(update).map_err(malformed("awareness update"))?;
    let decoded = AwarenessUpdate::decode_v1(update).map_err(yrs_error("awareness update"))?;
    for (client, entry) in &decoded.clients {
        serde_json::from_str::<serde::de::IgnoredAny>(&entry.json).map_err(|source| {
            ProtocolError::AwarenessJson {
                client: client.get(),
                source,
            }
        })?;
    }
    Ok(decoded)
}

fn sync_frame(subtype: u64, payload: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(payload.len() + 8);
    lib0::write_varuint(&mut out, MSG_SYNC);
    lib0::write_varuint(&mut out, subtype);
    lib0::write_var_bytes(&mut out, payload);
    Bytes::from(out)
}

/// A sync step 1 frame carrying our state vector.
pub fn encode_sync_step1(sv: &StateVector) -> Bytes {
    sync_frame(SYNC_STEP_1, &sv.encode_v1())
}

/// A sync step 2 frame carrying a v1 update (the diff the peer asked for).
pub fn encode_sync_step2(update: &[u8]) -> Bytes {
    sync_frame(SYNC_STEP_2, update)
}

/// A sync update frame carrying an incremental v1 update.
pub fn encode_update(update: &[u8]) -> Bytes {
    sync_frame(SYNC_UPDATE, update)
}

/// An awareness frame carrying a v1 awareness update.
pub fn encode_awareness(update: &AwarenessUpdate) -> Bytes {
    let payload = update.encode_v1();
    let mut out = Vec::with_capacity(payload.len() + 6);
    lib0::write_varuint(&mut out, MSG_AWARENESS);
    lib0::write_var_bytes(&mut out, &payload);
    Bytes::from(out)
}

/// A query-awareness frame (no payload).
pub fn encode_query_awareness() -> Bytes {
    let mut out = Vec::with_capacity(1);
    lib0::write_varuint(&mut out, MSG_QUERY_AWARENESS);
    Bytes::from(out)
}

/// An auth frame telling the peer it is denied, with a human-readable reason.
pub fn encode_permission_denied(reason: &str) -> Bytes {
    let mut out = Vec::with_capacity(reason.len() + 6);
    lib0::write_varuint(&mut out, MSG_AUTH);
    lib0::write_varuint(&mut out, AUTH_PERMISSION_DENIED);
    lib0::write_var_bytes(&mut out, reason.as_bytes());
    Bytes::from(out)
}
