//! The policy of a held doc `{wid}.{bid}~{device}` (board-schema §6): only the device named in
//! the id and the facilitator write it (reading is decided at upgrade, on the same rule: see
//! `http/ws.rs`); the board's agenda standing, lock and closed phase apply like on the board;
//! its size and notes are capped; it counts toward the workshop's quota; presence is never
//! relayed (nobody but the writer and the facilitator should even learn who is there).
//!
//! Every change publishes the doc's note count into [`HeldCounts`], which the counts endpoint
//! reads: how many papers are held, never what they say. No IO.

use std::collections::BTreeMap;
use std::sync::Arc;

use dashmap::{DashMap, DashSet};
use yrs::Doc;

use super::kinds::{within_quota, LOCKED, NOT_ON_AGENDA, NO_ROLE, REMOVED, VIEWER};
use super::locks::Standing;
use super::{Context, Judged, Limits, Locks, Refusal, Usage, Verdict, WritePolicy};
use crate::auth::Role;
use crate::board::held::{held_count, MAX_HELD_NOTES};
use crate::doc_id::{DocId, DocKind};

/// Told to a connection writing another device's held doc (never granted by `http` anyway).
pub const NOT_YOURS: &str = "these notes belong to another device";

/// Held notes per board and device, as last published by the held docs' policies.
#[derive(Debug, Default)]
pub struct HeldCounts {
    /// Board doc → device → notes held.
    counts: DashMap<DocId, BTreeMap<String, usize>>,
    /// Boards whose every stored held doc has been counted since start.
    complete: DashSet<DocId>,
}

impl HeldCounts {
    /// Records that held doc `held` now holds `n` notes.
    pub fn set(&self, held: &DocId, n: usize) {
        let (Some(board), Some(device)) = (held.board_doc(), held.device()) else {
            return;
        };
        let mut entry = self.counts.entry(board).or_default();
        if n == 0 {
            entry.remove(device);
        } else {
            entry.insert(device.to_string(), n);
        }
    }

    /// Notes held on board doc `board`, all devices together.
    pub fn total(&self, board: &DocId) -> usize {
        self.counts
            .get(board)
            .map_or(0, |devices| devices.values().sum())
    }

    /// Whether every stored held doc of `board` has been counted since start.
    pub fn is_complete(&self, board: &DocId) -> bool {
        self.complete.contains(board)
    }

    /// Marks `board` as counted (live rooms keep it up to date from then on).
    pub fn mark_complete(&self, board: &DocId) {
        self.complete.insert(board.clone());
    }
}

/// One device's held notes on one board.
#[derive(Debug)]
pub struct HeldPolicy {
    id: DocId,
    board: DocId,
    locks: Arc<Locks>,
    limits: Limits,
    usage: Option<Arc<Usage>>,
    counts: Arc<HeldCounts>,
}

impl HeldPolicy {
    /// The policy of held doc `id` (its board's locks, the caps, the shared counts). An id that
    /// names no device (never built by the hub) is written by the facilitator only.
    pub fn new(id: DocId, locks: Arc<Locks>, limits: Limits, counts: Arc<HeldCounts>) -> Self {
        let board = id.board_doc().unwrap_or_else(|| id.clone());
        HeldPolicy {
            id,
            board,
            locks,
            limits,
            usage: None,
            counts,
        }
    }

    /// Also refuses writes once the workshop has used its storage quota.
    pub fn with_usage(mut self, usage: Arc<Usage>) -> Self {
        self.usage = Some(usage);
        self
    }

    fn writer_update(&self, cx: &Context<'_>, bytes: &[u8]) -> Verdict {
        let mine = cx
            .peer
            .device
            .as_ref()
            .is_some_and(|d| Some(d.as_str()) == self.id.device());
        if !mine {
            return Verdict::Refuse(Refusal::new("held_denied", NOT_YOURS));
        }
        match self.locks.standing(&self.board) {
            Standing::OnAgenda => {}
            Standing::Removed => return Verdict::Refuse(Refusal::new("board_removed", REMOVED)),
            Standing::Unknown => {
                return Verdict::Refuse(Refusal::new("not_on_agenda", NOT_ON_AGENDA))
            }
        }
        if self.locks.is_locked(&self.board) {
            return Verdict::Refuse(Refusal::new("write_denied", LOCKED));
        }
        if let Some(reason) = self
            .locks
            .rules(&self.board)
            .as_ref()
            .and_then(|r| r.forbids_all())
        {
            return Verdict::Refuse(Refusal::new("phase_denied", reason));
        }
        if cx.doc_bytes.saturating_add(bytes.len() as u64) > self.limits.max_doc_bytes {
            return Verdict::Refuse(Refusal::new(
                "doc_too_large",
                "the document has reached its size limit",
            ));
        }
        let before = held_count(cx.doc);
        let max = MAX_HELD_NOTES.min(self.limits.max_items);
        Verdict::AcceptThenCheck(Box::new(move |after: &Doc| {
            let count = held_count(after);
            if count > before && count > max {
                return Err(Refusal::new(
                    "too_many_items",
                    "you hold as many notes as a board allows: wait for a reveal",
                ));
            }
            Ok(())
        }))
    }
}

impl WritePolicy for HeldPolicy {
    fn kind(&self) -> DocKind {
        DocKind::Held
    }

    fn judge(&self, cx: Context<'_>, msg: Judged<'_>) -> Verdict {
        match msg {
            Judged::Update { bytes } => {
                let verdict = match cx.peer.role {
                    Some(Role::Facilitator) => Verdict::Accept,
                    Some(Role::Participant) => self.writer_update(&cx, bytes),
                    Some(Role::Viewer) => Verdict::Refuse(Refusal::new("write_denied", VIEWER)),
                    None => Verdict::Refuse(Refusal::new("write_denied", NO_ROLE)),
                };
                within_quota(
                    self.usage.as_deref(),
                    self.id.workshop(),
                    bytes.len(),
                    verdict,
                )
            }
            Judged::Awareness { .. } => Verdict::Ignore,
            Judged::SyncRequest => Verdict::Accept,
        }
    }

    fn changed(&self, doc: &Doc) {
        self.counts.set(&self.id, held_count(doc));
    }
}
