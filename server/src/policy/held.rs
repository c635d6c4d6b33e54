//! The policy of a held doc `{wid}.{bid}~{device}` (board-schema §6): only the device named in
//! the id and the facilitator write it (reading is decided at upgrade, on the same rule: see
//! `http/ws.rs`); the board's agenda standing, lock and closed phase apply like on the board;
//! its size and notes are capped; it counts toward the workshop's quota; presence is never
//! relayed (nobody but the writer and the facilitator should even learn who is there).
//!
//! Every change publishes the doc's note count into [`HeldCounts`], which the counts endpoint
//! reads: how many papers are held, never what they say; in a cluster it also hands them to
//! the shared counts ([`SharedHeld`], implemented with Redis in `cluster/held.rs`). No IO.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use dashmap::{DashMap, DashSet};
use yrs::Doc;

use super::kinds::{within_quota, LOCKED, NOT_ON_AGENDA, NO_ROLE, REMOVED, VIEWER};
use super::locks::Standing;
use super::{Context, Judged, Limits, Locks, Refusal, Touched, Usage, Verdict, WritePolicy};
use crate::auth::Role;
use crate::board::held::{held_count, MAX_HELD_NOTES};
use crate::doc_id::{DocId, DocKind};

/// Told to a connection writing another device's held doc (never granted by `http` anyway).
pub const NOT_YOURS: &str = "these notes belong to another device";

/// Notes held per device on one board (device id → notes, no zeros).
pub type DeviceCounts = BTreeMap<String, usize>;

/// A board's counts as a cluster's shared counts answer them: `Ok(None)` when this caller is
/// to count the board's stored held docs (then [`SharedHeld::mark_complete`]), `Err` when
/// they cannot be read (the caller falls back to this node's own counts).
pub type SharedRead<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Arc<DeviceCounts>>, String>> + Send + 'a>>;

/// Where a cluster keeps every node's held counts (`cluster/held.rs`), so that a count read
/// on one node includes what phones write through the others. Absent on a single node.
pub trait SharedHeld: Send + Sync + std::fmt::Debug {
    /// Queues held doc `held`'s new count for every node. Called on room tasks: never blocks.
    fn publish(&self, held: &DocId, n: usize);
    /// Notes held on board doc `board` per device, every node's writes included.
    fn read<'a>(&'a self, board: &'a DocId) -> SharedRead<'a>;
    /// Records that every stored held doc of `board` has been published (`counts` of them),
    /// after the counts published before this call.
    fn mark_complete(&self, board: &DocId, counts: DeviceCounts);
    /// The count that `read` asked for failed: another reader may try.
    fn recount_failed(&self, board: &DocId);
    /// Drops every count of workshop `wid`, which was deleted.
    fn forget_workshop(&self, wid: &str);
}

/// Held notes per board and device, as last published by the held docs' policies.
#[derive(Debug, Default)]
pub struct HeldCounts {
    /// Board doc → device → notes held.
    counts: DashMap<DocId, DeviceCounts>,
    /// Boards whose every stored held doc has been counted since start.
    complete: DashSet<DocId>,
    /// The cluster's counts, when this node is one of several.
    shared: OnceLock<Arc<dyn SharedHeld>>,
}

impl HeldCounts {
    /// Records that held doc `held` now holds `n` notes.
    pub fn set(&self, held: &DocId, n: usize) {
        let (Some(board), Some(device)) = (held.board_doc(), held.device()) else {
            return;
        };
        if let Some(shared) = self.shared.get() {
            shared.publish(held, n);
        }
        let mut entry = self.counts.entry(board).or_default();
        if n == 0 {
            entry.remove(device);
        } else {
            entry.insert(device.to_string(), n);
        }
    }

    /// Notes held on board doc `board`, all devices together, as this node counted them.
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

    /// Takes a board's counts as the cluster last knew them (not published again): what
    /// this node answers if the cluster's counts cannot be read later.
    pub fn absorb(&self, board: &DocId, devices: &DeviceCounts) {
        self.counts.insert(board.clone(), devices.clone());
        self.complete.insert(board.clone());
    }

    /// Shares every count with the other nodes of a cluster from now on (set once).
    pub fn share(&self, shared: Arc<dyn SharedHeld>) {
        let _ = self.shared.set(shared);
    }

    /// The cluster's counts, if this node is one of several.
    pub fn shared(&self) -> Option<&Arc<dyn SharedHeld>> {
        self.shared.get()
    }

    /// Forgets the counts of workshop `wid` (deleted), here and in the cluster's.
    pub fn forget_workshop(&self, wid: &str) {
        self.counts.retain(|board, _| board.workshop() != wid);
        self.complete.retain(|board| board.workshop() != wid);
        if let Some(shared) = self.shared.get() {
            shared.forget_workshop(wid);
        }
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
        Verdict::AcceptThenCheck(Box::new(move |after: &Doc, _: &Touched| {
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

    fn changed(&self, doc: &Doc, _touched: &Touched) {
        self.counts.set(&self.id, held_count(doc));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::held::{add_held, HeldNote};
    use crate::device::{derive, DeviceId};
    use crate::policy::{Peer, PeerState, Policies};

    const LIMITS: Limits = Limits {
        workshop_quota_bytes: u64::MAX,
        max_doc_bytes: 1000,
        max_items: 3,
    };

    fn alice() -> DeviceId {
        derive("w", "alice-secret-00000000").expect("secret")
    }

    fn held_doc() -> DocId {
        DocId::held_of("w", "b1", alice().as_str()).expect("id")
    }

    fn verdict(
        policy: &dyn WritePolicy,
        role: Role,
        device: Option<DeviceId>,
        doc: &Doc,
        msg: Judged<'_>,
    ) -> Verdict {
        let peer = Peer {
            conn: 1,
            role: Some(role),
            device,
        };
        let mut state = PeerState::default();
        policy.judge(
            Context {
                peer: &peer,
                state: &mut state,
                doc,
                doc_bytes: 10,
            },
            msg,
        )
    }

    fn metric(v: &Verdict) -> &'static str {
        match v {
            Verdict::Accept => "accept",
            Verdict::AcceptThenCheck(_) => "checked",
            Verdict::Refuse(r) => r.metric,
            Verdict::Ignore => "ignore",
            Verdict::Close(_) => "close",
        }
    }

    const UPDATE: Judged<'static> = Judged::Update { bytes: &[1, 2, 3] };

    #[test]
    fn only_the_device_in_the_id_and_the_facilitator_write_and_nobody_announces_presence() {
        let policies = Policies::new(LIMITS);
        policies.locks().publish_agenda("w", ["b1".to_string()]);
        let p = policies.for_doc(&held_doc(), DocKind::Held);
        assert_eq!(p.kind(), DocKind::Held);
        let doc = Doc::new();
        let bob = derive("w", "bob-secret-0000000000").expect("secret");
        let cases = [
            (Role::Facilitator, None, "accept"),
            (Role::Participant, Some(alice()), "checked"),
            (Role::Participant, Some(bob), "held_denied"),
            (Role::Participant, None, "held_denied"),
            (Role::Viewer, Some(alice()), "write_denied"),
        ];
        for (role, device, want) in cases {
            let v = verdict(&*p, role, device.clone(), &doc, UPDATE);
            assert_eq!(metric(&v), want, "{role:?} {device:?}");
            let presence = verdict(&*p, role, device, &doc, Judged::Awareness { len: 9 });
            assert_eq!(metric(&presence), "ignore");
        }
    }

    #[test]
    fn the_boards_agenda_and_lock_apply_and_notes_are_capped() {
        let policies = Policies::new(LIMITS);
        let p = policies.for_doc(&held_doc(), DocKind::Held);
        let doc = Doc::new();
        let v = verdict(&*p, Role::Participant, Some(alice()), &doc, UPDATE);
        assert_eq!(metric(&v), "not_on_agenda");
        policies.locks().publish_agenda("w", ["b1".to_string()]);
        policies.locks().publish("w", [("b1".to_string(), true)]);
        let v = verdict(&*p, Role::Participant, Some(alice()), &doc, UPDATE);
        assert_eq!(metric(&v), "write_denied");
        policies.locks().publish("w", [("b1".to_string(), false)]);

        for i in 0..3 {
            let note = HeldNote {
                id: format!("n{i}"),
                text: "x".into(),
                ..HeldNote::default()
            };
            add_held(&doc, &note, 1).expect("add");
        }
        let Verdict::AcceptThenCheck(check) =
            verdict(&*p, Role::Participant, Some(alice()), &Doc::new(), UPDATE)
        else {
            panic!("a writer's update is checked");
        };
        // Three notes fit (max_items); the fourth does not.
        assert!(check(&doc, &Touched::everything()).is_ok());
        let before_full = Doc::new();
        let Verdict::AcceptThenCheck(check) =
            verdict(&*p, Role::Participant, Some(alice()), &before_full, UPDATE)
        else {
            panic!("a writer's update is checked");
        };
        let note = HeldNote {
            id: "n3".into(),
            text: "x".into(),
            ..HeldNote::default()
        };
        add_held(&doc, &note, 1).expect("add");
        assert_eq!(
            check(&doc, &Touched::everything()).err().map(|r| r.metric),
            Some("too_many_items")
        );
    }

    #[test]
    fn counts_are_published_per_board_without_texts() {
        let policies = Policies::new(LIMITS);
        let p = policies.for_doc(&held_doc(), DocKind::Held);
        let doc = Doc::new();
        for id in ["a", "b"] {
            let note = HeldNote {
                id: id.into(),
                text: "secret".into(),
                ..HeldNote::default()
            };
            add_held(&doc, &note, 1).expect("add");
        }
        p.changed(&doc, &Touched::everything());
        let board = DocId::board_of("w", "b1").expect("id");
        assert_eq!(policies.held().total(&board), 2);
        let other = DocId::held_of("w", "b1", "other-device").expect("id");
        policies.held().set(&other, 3);
        assert_eq!(policies.held().total(&board), 5);
        policies.held().set(&other, 0);
        assert_eq!(policies.held().total(&board), 2);
        assert!(!policies.held().is_complete(&board));
    }
}
