//! What a connection may do to the doc it is attached to: one [`WritePolicy`] per kind of doc
//! (workshop doc, board doc, open doc), chosen by the hub when it opens a room.
//!
//! The room knows no roles, no schema and no doc-id convention: for every message that would
//! change or reveal something it asks its policy for a [`Verdict`] and applies it. Roles, board
//! locks, item caps and doc-size caps live here; the Y-schema readers they need live in
//! [`crate::board::census`]. No IO, no tokio.
//!
//! Plugging in later work:
//! - *per-item ownership*: [`Peer`] says who the connection is; [`Judged::Update`] carries the
//!   update's bytes and the doc before it, and [`Verdict::AcceptThenCheck`] sees the doc after it
//!   (a refusal there makes the room rebuild the doc from disk: nothing of it is kept).
//! - *phases per board*: a board policy reads the phase like it reads locks ([`Locks`] is the
//!   pattern: the workshop doc's policy publishes control state in [`WritePolicy::changed`]).
//! - *per-connection budgets*: the room keeps one [`PeerState`] per connection and hands it to
//!   every judgement mutably; byte budgets and sync-step-1 rate limits are fields there.

mod held;
mod kinds;
mod locks;
pub mod ownership;
#[cfg(test)]
mod tests;
mod usage;

use std::borrow::Cow;
use std::sync::Arc;

use yrs::Doc;

pub use held::{DeviceCounts, HeldCounts, HeldPolicy, SharedHeld, SharedRead, NOT_YOURS};
pub use kinds::{
    BoardPolicy, OpenPolicy, WorkshopPolicy, LOCKED, NOT_ON_AGENDA, NO_ROLE, OVER_QUOTA, REMOVED,
    VIEWER, WORKSHOP_DOC,
};
pub use locks::{Locks, Standing};
pub use usage::Usage;

use crate::auth::Role;
use crate::conn::{CloseReason, ConnId};
use crate::doc_id::{DocId, DocKind};
pub use crate::touched::Touched;

/// Who a connection is, as the HTTP layer established it at upgrade time. The room stores it
/// and hands it back to the policy; it never looks inside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// The connection.
    pub conn: ConnId,
    /// The role its credential grants in the doc's workshop; `None` on an open doc.
    pub role: Option<Role>,
    /// The device it proved it holds the secret of ([`crate::device`]), if it sent one.
    pub device: Option<crate::device::DeviceId>,
}

/// State a room keeps for each connection, on the policy's behalf: created when it joins,
/// dropped when it leaves, passed mutably to every judgement.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PeerState {
    /// Writes refused so far; past [`REFUSALS_BEFORE_CLOSE`] the room closes the connection.
    pub refusals: u32,
    /// Update bytes accepted from this connection (what a byte budget would cap).
    pub bytes_accepted: u64,
    /// Sync requests (step 1) answered for this connection (what a step-1 rate limit would cap).
    pub sync_requests: u64,
    /// Refusals after applying (each undone by rebuilding the doc) since `undone_since`.
    pub undone: u32,
    /// When the current minute of `undone` started.
    pub undone_since: Option<std::time::Instant>,
}

/// Refused writes tolerated on one connection before the room closes it (1008).
pub const REFUSALS_BEFORE_CLOSE: u32 = 20;

/// Refusals after applying tolerated on one connection per [`UNDONE_WINDOW`]: each is undone
/// by rebuilding the doc from disk, which costs the room what the doc weighs (tens of ms on a
/// full board), so past this the connection is closed (1008). An honest phone drops its copy of
/// a board after one such refusal and stops after a second within a minute.
pub const UNDONE_PER_WINDOW: u32 = 3;
/// The window of [`UNDONE_PER_WINDOW`].
pub const UNDONE_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// A refusal: counted under `metric` in `/metrics`, `reason` told to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Stable snake_case label for `palabre_rejected_total{reason=…}`.
    pub metric: &'static str,
    /// Sent to the client as a y-protocols permission-denied message.
    pub reason: Cow<'static, str>,
}

impl Refusal {
    /// A refusal with a fixed reason.
    pub const fn new(metric: &'static str, reason: &'static str) -> Self {
        Refusal {
            metric,
            reason: Cow::Borrowed(reason),
        }
    }
}

/// A check of the doc as it is after an accepted update was applied, told what the update
/// touched (a policy compares only that part with what it read before).
pub type AfterCheck = Box<dyn FnOnce(&Doc, &Touched) -> Result<(), Refusal> + Send>;

/// A server-side change a policy asks for once an accepted update is applied (the bin keeping
/// what it deleted): run by the room like a REST edit, with the server's clock in ms.
pub type FollowUp = Box<dyn FnOnce(&Doc, i64) + Send>;

/// What the room does with a message.
pub enum Verdict {
    /// Go ahead.
    Accept,
    /// Apply the update, then run the check on the doc after it. A refusal undoes the update
    /// (the room rebuilds its doc from disk, which never saw it) and is told to the client.
    AcceptThenCheck(AfterCheck),
    /// Not allowed: the client is told why and the connection stays, unless it keeps trying.
    /// A refused update that would change nothing (a read-only client's resync) is ignored.
    Refuse(Refusal),
    /// Dropped without a word (a viewer's presence).
    Ignore,
    /// Close the connection.
    Close(CloseReason),
}

impl std::fmt::Debug for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Accept => f.write_str("Accept"),
            Verdict::AcceptThenCheck(_) => f.write_str("AcceptThenCheck"),
            Verdict::Refuse(r) => write!(f, "Refuse({}: {})", r.metric, r.reason),
            Verdict::Ignore => f.write_str("Ignore"),
            Verdict::Close(c) => write!(f, "Close({} {})", c.code, c.reason),
        }
    }
}

/// A message a policy judges.
#[derive(Debug, Clone, Copy)]
pub enum Judged<'a> {
    /// A document update (sync step 2 or update), not yet applied; `doc` is the state before.
    Update {
        /// The update as received (yrs v1 encoding, not empty).
        bytes: &'a [u8],
    },
    /// A presence (awareness) update of `len` bytes.
    Awareness {
        /// Encoded size of the awareness payload.
        len: usize,
    },
    /// A sync step 1: the connection asks for what it lacks.
    SyncRequest,
}

/// What a policy sees with each message.
pub struct Context<'a> {
    /// Who sent it.
    pub peer: &'a Peer,
    /// That connection's state, kept by the room.
    pub state: &'a mut PeerState,
    /// The doc as it is now (before the update, for updates).
    pub doc: &'a Doc,
    /// Approximate encoded size of the doc (what was loaded plus every update since).
    pub doc_bytes: u64,
}

/// The write rules of one kind of doc. Implementations are pure: no IO, no blocking, no
/// tokio; they run on the room's task for every message.
pub trait WritePolicy: Send + Sync + 'static {
    /// The kind of doc this policy guards.
    fn kind(&self) -> DocKind;

    /// The verdict on one message from a connection.
    fn judge(&self, cx: Context<'_>, msg: Judged<'_>) -> Verdict;

    /// Called after the doc changed (an applied update, an edit, a reload) with what the change
    /// touched, and once after loading with [`Touched::everything`]: the place to publish control
    /// state other docs' policies read, and to refresh what a policy keeps of the doc.
    fn changed(&self, _doc: &Doc, _touched: &Touched) {}

    /// After an update was accepted and applied: a change the server makes in turn, if any.
    fn follow_up(&self) -> Option<FollowUp> {
        None
    }
}

/// What a connection may announce as presence: on a workshop's docs it owns the client ids it
/// set first, its states carry its device id, and its `screen` matches its role.
pub(crate) fn presence_rights(peer: &Peer) -> crate::presence::PresenceRights {
    const ANY: Option<&[&str]> = None;
    let screens = match peer.role {
        None => return crate::presence::PresenceRights::open(),
        Some(Role::Facilitator) => ANY,
        Some(Role::Participant) => Some(&["participant"][..]),
        Some(Role::Viewer) => Some(&["projector"][..]),
    };
    crate::presence::PresenceRights {
        device: peer.device.as_ref().map(|d| Arc::from(d.as_str())),
        screens,
        strict: true,
    }
}

/// Caps that apply to participants, from the server configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Stored bytes a workshop (its doc and its boards) may hold; past it, writes are refused
    /// from everyone, the facilitator included.
    pub workshop_quota_bytes: u64,
    /// A participant update that would grow the doc past this many bytes is refused.
    pub max_doc_bytes: u64,
    /// A participant update that would put more items (notes, cards…) on a board is refused.
    pub max_items: usize,
}

/// Makes the policy of each doc the hub opens. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Policies {
    locks: Arc<Locks>,
    usage: Arc<Usage>,
    held: Arc<HeldCounts>,
    limits: Limits,
}

impl Policies {
    /// Policies with these caps, sharing one lock table.
    pub fn new(limits: Limits) -> Self {
        Policies {
            locks: Arc::default(),
            usage: Arc::new(Usage::new(limits.workshop_quota_bytes)),
            held: Arc::default(),
            limits,
        }
    }

    /// Board locks as published by the workshop docs' policies.
    pub fn locks(&self) -> &Arc<Locks> {
        &self.locks
    }

    /// Stored bytes per workshop, against the quota.
    pub fn usage(&self) -> &Arc<Usage> {
        &self.usage
    }

    /// Notes held per board, as the held docs' policies publish them.
    pub fn held(&self) -> &Arc<HeldCounts> {
        &self.held
    }

    /// The policy for doc `id` of kind `kind`.
    pub fn for_doc(&self, id: &DocId, kind: DocKind) -> Arc<dyn WritePolicy> {
        match kind {
            DocKind::Workshop => Arc::new(
                WorkshopPolicy::new(id.clone(), self.locks.clone()).with_usage(self.usage.clone()),
            ),
            DocKind::Board => Arc::new(
                BoardPolicy::new(id.clone(), self.locks.clone(), self.limits)
                    .with_usage(self.usage.clone()),
            ),
            DocKind::Held => Arc::new(
                HeldPolicy::new(
                    id.clone(),
                    self.locks.clone(),
                    self.limits,
                    self.held.clone(),
                )
                .with_usage(self.usage.clone()),
            ),
            DocKind::Open => Arc::new(OpenPolicy),
        }
    }
}
