//! What identifies a connection and how it is told to go, shared by the room, its presence
//! table and the HTTP layer (a leaf: it imports nothing of ours).

/// Identifies one connection for the lifetime of the process.
pub type ConnId = u64;

/// A WebSocket close code and reason sent to a client the room disconnects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseReason {
    /// RFC 6455 close code.
    pub code: u16,
    /// Human-readable reason (at most 123 bytes on the wire).
    pub reason: String,
}

impl CloseReason {
    /// A close reason with the given code and text.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        CloseReason {
            code,
            reason: reason.into(),
        }
    }
}
