//! Three of the policies: a workshop's own doc, one of its boards, and a doc outside any
//! workshop (a board's held docs have theirs in `held.rs`).

use std::sync::{Arc, Mutex};

use yrs::Doc;

use super::locks::Standing;
use super::ownership;
use super::{Context, FollowUp, Judged, Limits, Locks, Refusal, Usage, Verdict, WritePolicy};
use crate::auth::Role;
use crate::board::bin::{self, Deleted};
use crate::board::ownership::{snapshot, Snapshot};
use crate::board::{census, phase};
use crate::doc_id::{DocId, DocKind};

/// Told to a viewer (projector link) that tries to write.
pub const VIEWER: &str = "this link is read-only (projector)";
/// Told to a participant that tries to change the workshop doc.
pub const WORKSHOP_DOC: &str = "only the facilitator can change the agenda and controls";
/// Told to a participant writing on a locked board.
pub const LOCKED: &str = "this board is locked by the facilitator";
/// Told to anyone but the facilitator writing on a board removed from the agenda.
pub const REMOVED: &str = "this board was removed from the agenda: it is read-only now";
/// Told to anyone but the facilitator writing on a doc that is not on the agenda.
pub const NOT_ON_AGENDA: &str = "this board is not on the workshop's agenda";
/// Told to anyone writing to a workshop that has used its storage quota.
pub const OVER_QUOTA: &str = "this workshop has used its storage quota: nothing more can be saved";
/// Told to a connection without a workshop role on a workshop's doc (never granted by `http`).
pub const NO_ROLE: &str = "this document belongs to a workshop: open it with a link";

const DENIED: &str = "write_denied";
/// Metric of writes a board's phase or accelerator stage forbids.
const PHASE_DENIED: &str = "phase_denied";
/// Metric of participant writes to what is not theirs (policy::ownership).
const OWNERSHIP_DENIED: &str = "ownership_denied";

fn refuse(reason: &'static str) -> Verdict {
    Verdict::Refuse(Refusal::new(DENIED, reason))
}

/// Applies the workshop's storage quota around a role's verdict on an update of `len` bytes.
pub(super) fn within_quota(
    usage: Option<&Usage>,
    wid: &str,
    len: usize,
    verdict: Verdict,
) -> Verdict {
    let Some(usage) = usage else {
        return verdict;
    };
    match verdict {
        Verdict::Accept | Verdict::AcceptThenCheck(_) if usage.over(wid) => {
            Verdict::Refuse(Refusal::new("workshop_quota", OVER_QUOTA))
        }
        Verdict::Accept | Verdict::AcceptThenCheck(_) => {
            usage.add(wid, len as u64);
            verdict
        }
        other => other,
    }
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
    usage: Option<Arc<Usage>>,
}

impl WorkshopPolicy {
    /// The policy of workshop doc `id`, publishing into `locks`.
    pub fn new(id: DocId, locks: Arc<Locks>) -> Self {
        WorkshopPolicy {
            id,
            locks,
            usage: None,
        }
    }

    /// Also refuses writes once the workshop has used its storage quota.
    pub fn with_usage(mut self, usage: Arc<Usage>) -> Self {
        self.usage = Some(usage);
        self
    }
}

impl WritePolicy for WorkshopPolicy {
    fn kind(&self) -> DocKind {
        DocKind::Workshop
    }

    fn judge(&self, cx: Context<'_>, msg: Judged<'_>) -> Verdict {
        match msg {
            Judged::Update { bytes } => {
                let verdict = match cx.peer.role {
                    Some(Role::Facilitator) => Verdict::Accept,
                    Some(Role::Participant) => refuse(WORKSHOP_DOC),
                    Some(Role::Viewer) => refuse(VIEWER),
                    None => refuse(NO_ROLE),
                };
                within_quota(
                    self.usage.as_deref(),
                    self.id.workshop(),
                    bytes.len(),
                    verdict,
                )
            }
            Judged::Awareness { .. } => presence(cx.peer.role),
            Judged::SyncRequest => Verdict::Accept,
        }
    }

    fn changed(&self, doc: &Doc) {
        self.locks
            .publish_agenda(self.id.workshop(), census::agenda_boards(doc));
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
    usage: Option<Arc<Usage>>,
    /// What the last accepted update deleted or brought back, for the bin ([`bin`]).
    bin: Arc<Mutex<BinChange>>,
}

/// What the bin must learn from an accepted update.
#[derive(Debug, Default)]
struct BinChange {
    deleted: Vec<Deleted>,
    by: String,
    back: Vec<String>,
}

/// After-check half of the bin: what `before` → `after` deleted or brought back, stashed.
fn stash(pending: &Mutex<BinChange>, by: &str, before: &Snapshot, after: &Snapshot) {
    let root = before.root.or(after.root).unwrap_or_default();
    let deleted: Vec<Deleted> = ownership::deleted(before, after)
        .into_iter()
        .map(|(id, item)| Deleted {
            id: id.to_owned(),
            root: root.to_owned(),
            author: item.author.clone(),
            content: item.content(),
        })
        .collect();
    let back: Vec<String> = ownership::created(before, after)
        .into_iter()
        .map(str::to_owned)
        .collect();
    if deleted.is_empty() && back.is_empty() {
        return;
    }
    if let Ok(mut p) = pending.lock() {
        *p = BinChange {
            deleted,
            by: by.to_owned(),
            back,
        };
    }
}

impl BoardPolicy {
    /// The policy of board doc `id`, reading `locks`.
    pub fn new(id: DocId, locks: Arc<Locks>, limits: Limits) -> Self {
        BoardPolicy {
            id,
            locks,
            limits,
            usage: None,
            bin: Arc::default(),
        }
    }

    /// Also refuses writes once the workshop has used its storage quota.
    pub fn with_usage(mut self, usage: Arc<Usage>) -> Self {
        self.usage = Some(usage);
        self
    }

    fn participant_update(&self, cx: &Context<'_>, bytes: &[u8]) -> Verdict {
        match self.locks.standing(&self.id) {
            Standing::OnAgenda => {}
            Standing::Removed => return Verdict::Refuse(Refusal::new("board_removed", REMOVED)),
            Standing::Unknown => {
                return Verdict::Refuse(Refusal::new("not_on_agenda", NOT_ON_AGENDA))
            }
        }
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
        let kind = guarded.as_ref().and_then(|(r, _)| r.kind);
        let budget = guarded.as_ref().map_or(0, |(r, _)| r.votes_per_person);
        let owned_before = snapshot(cx.doc, kind);
        let device = cx.peer.device.as_ref().map(|d| d.as_str().to_owned());
        let pending = self.bin.clone();
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
            let owned_after = snapshot(after, kind);
            ownership::verdict(device.as_deref(), budget, &owned_before, &owned_after)
                .map_err(|reason| Refusal::new(OWNERSHIP_DENIED, reason))?;
            stash(
                &pending,
                device.as_deref().unwrap_or_default(),
                &owned_before,
                &owned_after,
            );
            Ok(())
        }))
    }

    /// The facilitator changes anything; what they delete still goes to the bin.
    fn facilitator_update(&self, cx: &Context<'_>) -> Verdict {
        let kind = self.locks.rules(&self.id).and_then(|r| r.kind);
        let before = snapshot(cx.doc, kind);
        let pending = self.bin.clone();
        Verdict::AcceptThenCheck(Box::new(move |after: &Doc| {
            stash(
                &pending,
                bin::BY_FACILITATOR,
                &before,
                &snapshot(after, kind),
            );
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
            Judged::Update { bytes } => {
                let verdict = match cx.peer.role {
                    Some(Role::Facilitator) => self.facilitator_update(&cx),
                    Some(Role::Participant) => self.participant_update(&cx, bytes),
                    Some(Role::Viewer) => refuse(VIEWER),
                    None => refuse(NO_ROLE),
                };
                within_quota(
                    self.usage.as_deref(),
                    self.id.workshop(),
                    bytes.len(),
                    verdict,
                )
            }
            Judged::Awareness { .. } => presence(cx.peer.role),
            Judged::SyncRequest => Verdict::Accept,
        }
    }

    fn follow_up(&self) -> Option<FollowUp> {
        let change = std::mem::take(&mut *self.bin.lock().ok()?);
        if change.deleted.is_empty() && change.back.is_empty() {
            return None;
        }
        Some(Box::new(move |doc: &Doc, now: i64| {
            let back: Vec<&str> = change.back.iter().map(String::as_str).collect();
            if bin::holds_any(doc, &back) {
                bin::forget(doc, &back);
            }
            if !change.deleted.is_empty() {
                bin::record(doc, &change.deleted, &change.by, now);
            }
        }))
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
