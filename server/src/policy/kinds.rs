//! Three of the policies: a workshop's own doc, one of its boards, and a doc outside any
//! workshop (a board's held docs have theirs in `held.rs`).
//!
//! Just over 400 lines: the board policy's checks, its kept snapshot and the bin's stash are one
//! piece of reasoning (what a participant's update may change, judged on what it touched).

use std::sync::{Arc, Mutex};

use yrs::Doc;

use super::locks::Standing;
use super::ownership;
use super::{
    Context, FollowUp, Judged, Limits, Locks, Refusal, Touched, Usage, Verdict, WritePolicy,
};
use crate::auth::Role;
use crate::board::bin::{self, Deleted};
use crate::board::ownership::{kind_of, snapshot, Scope, Snapshot};
use crate::board::BoardKind;
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

    fn changed(&self, doc: &Doc, _touched: &Touched) {
        self.locks
            .publish_agenda(self.id.workshop(), census::agenda_boards(doc));
        self.locks
            .publish(self.id.workshop(), census::locked_boards(doc));
        self.locks
            .publish_rules(self.id.workshop(), crate::board::phase::rules_of(doc));
    }
}

/// A board: participants write unless the facilitator locked it, within the size and item caps,
/// their phase, and what is theirs; the facilitator is never capped.
#[derive(Debug)]
pub struct BoardPolicy {
    id: DocId,
    locks: Arc<Locks>,
    limits: Limits,
    usage: Option<Arc<Usage>>,
    /// What the last accepted update deleted or brought back, for the bin ([`bin`]).
    bin: Arc<Mutex<BinChange>>,
    /// The board as the ownership and phase checks see it, kept in step with every change
    /// ([`WritePolicy::changed`]), so that an update's check reads only what it touched.
    kept: Kept,
}

/// The kept [`Snapshot`] of a board: `None` until an update needs it, and after a reload.
type Kept = Arc<Mutex<Option<Snapshot>>>;

/// Told when the kept snapshot cannot be read (a panic elsewhere poisoned its lock).
const UNAVAILABLE: Refusal = Refusal::new(
    "policy_unavailable",
    "the server cannot check this change right now; try again",
);

/// What the last accepted update must tell the bin.
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

/// The board before and after an update, as far as `touched` reaches (the whole board when it
/// says everything), and the dots `device` had on the whole board before.
struct Compared {
    before: Snapshot,
    after: Snapshot,
    my_dots: i64,
    /// The items on the whole board before (what `max_items` caps).
    board_items: usize,
}

impl Compared {
    fn of(
        kept: &Kept,
        after: &Doc,
        touched: &Touched,
        device: Option<&str>,
    ) -> Result<Self, Refusal> {
        let kept = kept.lock().map_err(|_| UNAVAILABLE)?;
        let Some(kept) = kept.as_ref() else {
            return Err(UNAVAILABLE);
        };
        let my_dots = device.map_or(0, |me| kept.dots_of(me));
        let board_items = kept.item_count();
        if touched.is_everything() {
            return Ok(Compared {
                before: kept.clone(),
                after: snapshot(after, kept.kind),
                my_dots,
                board_items,
            });
        }
        let scope = Scope::of(touched, &kept.opaque);
        Ok(Compared {
            before: kept.part(&scope),
            after: Snapshot::read_part(after, kept.kind, &scope),
            my_dots,
            board_items,
        })
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
            kept: Arc::default(),
        }
    }

    /// Also refuses writes once the workshop has used its storage quota.
    pub fn with_usage(mut self, usage: Arc<Usage>) -> Self {
        self.usage = Some(usage);
        self
    }

    /// Makes sure the kept snapshot is of `doc` read as `kind` (the agenda's kind of the board,
    /// else its header's): read whole the first time, and again if the kind changed.
    fn keep(&self, doc: &Doc, kind: Option<BoardKind>) {
        let kind = kind.or_else(|| kind_of(doc));
        if let Ok(mut kept) = self.kept.lock() {
            if kept.as_ref().is_none_or(|k| k.kind != kind) {
                *kept = Some(snapshot(doc, kind));
            }
        }
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
        let max = self.limits.max_items;
        let budget = rules.as_ref().map_or(0, |r| r.votes_per_person);
        self.keep(cx.doc, rules.as_ref().and_then(|r| r.kind));
        let device = cx.peer.device.as_ref().map(|d| d.as_str().to_owned());
        let pending = self.bin.clone();
        let kept = self.kept.clone();
        Verdict::AcceptThenCheck(Box::new(move |after: &Doc, touched: &Touched| {
            let me = device.as_deref();
            let c = Compared::of(&kept, after, touched, me)?;
            let count =
                (c.board_items + c.after.item_count()).saturating_sub(c.before.item_count());
            if count > c.board_items && count > max {
                return Err(Refusal::new("too_many_items", "this board is full"));
            }
            if let Some(rules) = rules {
                let (was, now) = (
                    phase::protected_part(&c.before, &rules),
                    phase::protected_part(&c.after, &rules),
                );
                phase::verdict_for(&rules, &was, &now)
                    .map_err(|reason| Refusal::new(PHASE_DENIED, reason))?;
            }
            ownership::verdict(me, budget, &c.before, &c.after, c.my_dots)
                .map_err(|reason| Refusal::new(OWNERSHIP_DENIED, reason))?;
            stash(&pending, me.unwrap_or_default(), &c.before, &c.after);
            Ok(())
        }))
    }

    /// The facilitator changes anything; what they delete still goes to the bin.
    fn facilitator_update(&self, cx: &Context<'_>) -> Verdict {
        self.keep(cx.doc, self.locks.rules(&self.id).and_then(|r| r.kind));
        let pending = self.bin.clone();
        let kept = self.kept.clone();
        Verdict::AcceptThenCheck(Box::new(move |after: &Doc, touched: &Touched| {
            // The facilitator's change is never refused: without a kept board, no bin entry.
            if let Ok(c) = Compared::of(&kept, after, touched, None) {
                stash(&pending, bin::BY_FACILITATOR, &c.before, &c.after);
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

    /// Keeps the kept snapshot in step: the entries `touched` names are read again; a reload
    /// drops it (read whole again by the next update).
    fn changed(&self, doc: &Doc, touched: &Touched) {
        let Ok(mut kept) = self.kept.lock() else {
            return;
        };
        if touched.is_everything() {
            *kept = None;
            return;
        }
        if let Some(k) = kept.as_mut() {
            let scope = Scope::of(touched, &k.opaque);
            if !scope.is_empty() {
                let fresh = Snapshot::read_part(doc, k.kind, &scope);
                k.replace(&scope, fresh);
            }
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
