//! The three policies: a workshop's own doc, one of its boards, and a doc outside any workshop.

use std::sync::Arc;

use yrs::Doc;

use super::{Context, Judged, Limits, Locks, Refusal, Verdict, WritePolicy};
use crate::auth::Role;
use crate::board::{census, phase};
use crate::doc_id::{DocId, DocKind};

/// Told to a viewer (projector link) that tries to write.
pub const VIEWER: &str = "this link is read-only (projector)";
/// Told to a participant that tries to change the workshop doc.
pub const WORKSHOP_DOC: &str = "only the facilitator can change the agenda and controls";
/// Told to a participant writing on a locked board.
pub const LOCKED: &str = "this board is locked by the facilitator";
/// Told to a connection without a workshop role on a workshop's doc (never granted by `http`).
pub const NO_ROLE: &str = "this document belongs to a workshop: open it with a link";

const DENIED: &str = "write_denied";
/// Metric of writes a board's phase or accelerator stage forbids.
const PHASE_DENIED: &str = "phase_denied";

fn refuse(reason: &'static str) -> Verdict {
    Verdict::Refuse(Refusal::new(DENIED, reason))
}

/// Presence: everyone but the projector may announce itself (the projector is counted, not shown).
fn presence(role: Option<Role>) -> Verdict {
    match role {
        Some(Role::Viewer) => Verdict::Ignore,
        _ => Verdict::Accept,
    }
}

/// The workshop's own doc: only the facilitator changes the agenda and the controls. Every
/// change republishes the boards' locks.
#[derive(Debug)]
pub struct WorkshopPolicy {
    id: DocId,
    locks: Arc<Locks>,
}

impl WorkshopPolicy {
    /// The policy of workshop doc `id`, publishing into `locks`.
    pub fn new(id: DocId, locks: Arc<Locks>) -> Self {
        WorkshopPolicy { id, locks }
    }
}

impl WritePolicy for WorkshopPolicy {
    fn kind(&self) -> DocKind {
        DocKind::Workshop
    }

    fn judge(&self, cx: Context<'_>, msg: Judged<'_>) -> Verdict {
        match msg {
            Judged::Update { .. } => match cx.peer.role {
                Some(Role::Facilitator) => Verdict::Accept,
                Some(Role::Participant) => refuse(WORKSHOP_DOC),
                Some(Role::Viewer) => refuse(VIEWER),
                None => refuse(NO_ROLE),
            },
            Judged::Awareness { .. } => presence(cx.peer.role),
            Judged::SyncRequest => Verdict::Accept,
        }
    }

    fn changed(&self, doc: &Doc) {
        self.locks
            .publish(self.id.workshop(), census::locked_boards(doc));
        self.locks
            .publish_rules(self.id.workshop(), crate::board::phase::rules_of(doc));
    }
}

/// A board: participants write unless the facilitator locked it, within the size and item caps;
/// the facilitator is never capped.
#[derive(Debug)]
pub struct BoardPolicy {
    id: DocId,
    locks: Arc<Locks>,
    limits: Limits,
}

impl BoardPolicy {
    /// The policy of board doc `id`, reading `locks`.
    pub fn new(id: DocId, locks: Arc<Locks>, limits: Limits) -> Self {
        BoardPolicy { id, locks, limits }
    }

    fn participant_update(&self, cx: &Context<'_>, bytes: &[u8]) -> Verdict {
        if self.locks.is_locked(&self.id) {
            return refuse(LOCKED);
        }
        if cx.doc_bytes.saturating_add(bytes.len() as u64) > self.limits.max_doc_bytes {
            return Verdict::Refuse(Refusal::new(
                "doc_too_large",
                "the document has reached its size limit",
            ));
        }
        // What the board's phase and stage put out of a participant's reach (board::phase).
        let rules = self.locks.rules(&self.id);
        if let Some(reason) = rules.as_ref().and_then(|r| r.forbids_all()) {
            return Verdict::Refuse(Refusal::new(PHASE_DENIED, reason));
        }
        let guarded = rules.map(|r| {
            let before = phase::protected(cx.doc, &r);
            (r, before)
        });
        let before = census::item_count(cx.doc);
        let max = self.limits.max_items;
        Verdict::AcceptThenCheck(Box::new(move |after: &Doc| {
            let count = census::item_count(after);
            if count > before && count > max {
                return Err(Refusal::new("too_many_items", "this board is full"));
            }
            if let Some((rules, before)) = guarded {
                let now = phase::protected(after, &rules);
                phase::verdict_for(&rules, &before, &now)
                    .map_err(|reason| Refusal::new(PHASE_DENIED, reason))?;
            }
            Ok(())
        }))
    }
}

impl WritePolicy for BoardPolicy {
    fn kind(&self) -> DocKind {
        DocKind::Board
    }

    fn judge(&self, cx: Context<'_>, msg: Judged<'_>) -> Verdict {
        match msg {
            Judged::Update { bytes } => match cx.peer.role {
                Some(Role::Facilitator) => Verdict::Accept,
                Some(Role::Participant) => self.participant_update(&cx, bytes),
                Some(Role::Viewer) => refuse(VIEWER),
                None => refuse(NO_ROLE),
            },
            Judged::Awareness { .. } => presence(cx.peer.role),
            Judged::SyncRequest => Verdict::Accept,
        }
    }
}

/// A doc outside any workshop (`--open-docs`): anyone connected may change anything.
#[derive(Debug)]
pub struct OpenPolicy;

impl WritePolicy for OpenPolicy {
    fn kind(&self) -> DocKind {
        DocKind::Open
    }

    fn judge(&self, _cx: Context<'_>, _msg: Judged<'_>) -> Verdict {
        Verdict::Accept
    }
}
