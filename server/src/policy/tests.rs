//! Each policy's table of verdicts: role × doc kind × message.

use yrs::{Doc, Map, MapPrelim, Transact};

use super::*;
use crate::board::schema::{board_root, field, workshop_root};

const LIMITS: Limits = Limits {
    workshop_quota_bytes: u64::MAX,
    max_doc_bytes: 1000,
    max_items: 2,
};

/// What a verdict comes down to, for comparing with a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V {
    Accept,
    /// Accepted, with a check after applying.
    Checked,
    Refuse(&'static str),
    Ignore,
}

fn squash(v: &Verdict) -> V {
    match v {
        Verdict::Accept => V::Accept,
        Verdict::AcceptThenCheck(_) => V::Checked,
        Verdict::Refuse(r) => V::Refuse(r.metric),
        Verdict::Ignore => V::Ignore,
        Verdict::Close(_) => panic!("no policy closes today"),
    }
}

fn judge(
    policy: &dyn WritePolicy,
    role: Option<Role>,
    doc: &Doc,
    bytes: u64,
    msg: Judged<'_>,
) -> Verdict {
    let peer = Peer {
        conn: 1,
        role,
        device: None,
    };
    let mut state = PeerState::default();
    policy.judge(
        Context {
            peer: &peer,
            state: &mut state,
            doc,
            doc_bytes: bytes,
        },
        msg,
    )
}

const ROLES: [Option<Role>; 4] = [
    Some(Role::Facilitator),
    Some(Role::Participant),
    Some(Role::Viewer),
    None,
];

fn id(s: &str) -> DocId {
    DocId::parse(s).expect("valid id")
}

/// Verdicts on (update, awareness, sync request) for each role, in `ROLES` order.
fn table(policy: &dyn WritePolicy, doc: &Doc, bytes: u64) -> Vec<[V; 3]> {
    ROLES
        .iter()
        .map(|role| {
            [
                squash(&judge(
                    policy,
                    *role,
                    doc,
                    bytes,
                    Judged::Update { bytes: &[1, 2, 3] },
                )),
                squash(&judge(
                    policy,
                    *role,
                    doc,
                    bytes,
                    Judged::Awareness { len: 10 },
                )),
                squash(&judge(policy, *role, doc, bytes, Judged::SyncRequest)),
            ]
        })
        .collect()
}

const DENIED: V = V::Refuse("write_denied");

#[test]
fn workshop_doc_verdicts() {
    let policies = Policies::new(LIMITS);
    let p = policies.for_doc(&id("w"), DocKind::Workshop);
    assert_eq!(p.kind(), DocKind::Workshop);
    let doc = Doc::new();
    assert_eq!(
        table(p.as_ref(), &doc, 0),
        vec![
            [V::Accept, V::Accept, V::Accept], // facilitator
            [DENIED, V::Accept, V::Accept],    // participant: agenda is read-only, presence shown
            [DENIED, V::Ignore, V::Accept],    // viewer: read-only, presence not relayed
            [DENIED, V::Accept, V::Accept],    // no role (never granted by http)
        ]
    );
}

#[test]
fn board_doc_verdicts_unlocked_locked_full() {
    let policies = Policies::new(LIMITS);
    let p = policies.for_doc(&id("w.b1"), DocKind::Board);
    assert_eq!(p.kind(), DocKind::Board);
    policies.locks().publish_agenda("w", ["b1".to_string()]);
    let doc = Doc::new();
    let unlocked = vec![
        [V::Checked, V::Accept, V::Accept], // facilitator: never capped, deletions binned
        [V::Checked, V::Accept, V::Accept], // participant: item cap checked after applying
        [DENIED, V::Ignore, V::Accept],     // viewer
        [DENIED, V::Accept, V::Accept],     // no role
    ];
    assert_eq!(table(p.as_ref(), &doc, 0), unlocked);

    policies.locks().publish("w", [("b1".to_string(), true)]);
    let locked = table(p.as_ref(), &doc, 0);
    assert_eq!(locked[0], [V::Checked, V::Accept, V::Accept]);
    assert_eq!(locked[1], [DENIED, V::Accept, V::Accept]);
    assert_eq!(locked[2], [DENIED, V::Ignore, V::Accept]);

    policies.locks().publish("w", []);
    assert_eq!(table(p.as_ref(), &doc, 0), unlocked);

    // 998 bytes + a 3-byte update is past the 1000-byte cap: participants only.
    let full = table(p.as_ref(), &doc, 998);
    assert_eq!(full[0][0], V::Checked);
    assert_eq!(full[1][0], V::Refuse("doc_too_large"));
}

#[test]
fn open_doc_verdicts() {
    let p = Policies::new(LIMITS).for_doc(&id("anything"), DocKind::Open);
    assert_eq!(p.kind(), DocKind::Open);
    let doc = Doc::new();
    let all = table(p.as_ref(), &doc, u64::MAX);
    assert!(all.iter().flatten().all(|v| *v == V::Accept), "{all:?}");
}

fn add_notes(doc: &Doc, ids: &[&str]) {
    let notes = doc.get_or_insert_map(board_root::NOTES);
    let mut txn = doc.transact_mut();
    for nid in ids {
        notes.insert(&mut txn, *nid, MapPrelim::default());
    }
}

#[test]
fn the_item_cap_refuses_growth_past_it_but_not_edits_of_a_full_board() {
    let policies = Policies::new(LIMITS);
    policies.locks().publish_agenda("w", ["b".to_string()]);
    let p = policies.for_doc(&id("w.b"), DocKind::Board);
    let doc = Doc::new();
    add_notes(&doc, &["n1", "n2"]);
    let Verdict::AcceptThenCheck(check) = judge(
        p.as_ref(),
        Some(Role::Participant),
        &doc,
        0,
        Judged::Update { bytes: &[1] },
    ) else {
        panic!("participant updates are checked after applying");
    };
    add_notes(&doc, &["n3"]);
    assert_eq!(
        check(&doc, &crate::touched::Touched::everything()).map_err(|r| r.metric),
        Err("too_many_items")
    );

    // Already over the cap (the facilitator added), a participant's edit that adds nothing passes.
    // (The room tells the policy of every change it keeps; here the refused one is kept.)
    p.changed(&doc, &crate::touched::Touched::everything());
    let Verdict::AcceptThenCheck(check) = judge(
        p.as_ref(),
        Some(Role::Participant),
        &doc,
        0,
        Judged::Update { bytes: &[1] },
    ) else {
        panic!("participant updates are checked after applying");
    };
    assert_eq!(check(&doc, &crate::touched::Touched::everything()), Ok(()));
}

#[test]
fn a_workshop_docs_changes_publish_its_boards_locks() {
    let policies = Policies::new(LIMITS);
    let workshop = policies.for_doc(&id("w"), DocKind::Workshop);
    let board = id("w.b1");
    assert!(!policies.locks().knows("w"));
    let doc = Doc::new();
    workshop.changed(&doc, &crate::touched::Touched::everything());
    assert!(policies.locks().knows("w"));
    assert!(!policies.locks().is_locked(&board));

    let control = doc.get_or_insert_map(workshop_root::CONTROL);
    {
        let mut txn = doc.transact_mut();
        let entry = control.insert(&mut txn, "b1", MapPrelim::default());
        entry.insert(&mut txn, field::LOCKED, true);
    }
    workshop.changed(&doc, &crate::touched::Touched::everything());
    assert!(policies.locks().is_locked(&board));
    assert!(!policies.locks().is_locked(&id("w.b2")));
    assert!(!policies.locks().is_locked(&id("other.b1")));
}

#[test]
fn only_boards_on_the_agenda_take_writes_but_from_the_facilitator() {
    let policies = Policies::new(LIMITS);
    let doc = Doc::new();
    let stray = policies.for_doc(&id("w.notaboard"), DocKind::Board);
    let kept = policies.for_doc(&id("w.b1"), DocKind::Board);
    let dropped = policies.for_doc(&id("w.b2"), DocKind::Board);
    policies
        .locks()
        .publish_agenda("w", ["b1".to_string(), "b2".to_string()]);
    assert_eq!(policies.locks().boards("w"), 2);
    policies.locks().publish_agenda("w", ["b1".to_string()]);
    assert_eq!(policies.locks().standing(&id("w.b2")), Standing::Removed);
    assert_eq!(
        policies.locks().standing(&id("w.notaboard")),
        Standing::Unknown
    );
    let update = |p: &Arc<dyn WritePolicy>, role| {
        squash(&judge(
            p.as_ref(),
            Some(role),
            &doc,
            0,
            Judged::Update { bytes: &[1] },
        ))
    };
    assert_eq!(update(&kept, Role::Participant), V::Checked);
    assert_eq!(
        update(&dropped, Role::Participant),
        V::Refuse("board_removed")
    );
    assert_eq!(
        update(&stray, Role::Participant),
        V::Refuse("not_on_agenda")
    );
    assert_eq!(update(&dropped, Role::Facilitator), V::Checked);
    assert_eq!(update(&stray, Role::Facilitator), V::Checked);
    // Put back on the agenda, a removed board takes writes again.
    policies
        .locks()
        .publish_agenda("w", ["b1".to_string(), "b2".to_string()]);
    assert_eq!(update(&dropped, Role::Participant), V::Checked);
}

#[test]
fn a_workshop_over_its_quota_takes_writes_from_nobody() {
    let policies = Policies::new(Limits {
        workshop_quota_bytes: 10,
        ..LIMITS
    });
    policies.locks().publish_agenda("w", ["b1".to_string()]);
    let doc = Doc::new();
    let board = policies.for_doc(&id("w.b1"), DocKind::Board);
    let workshop = policies.for_doc(&id("w"), DocKind::Workshop);
    policies.usage().set("w", 4, std::time::Instant::now());
    let update = |p: &Arc<dyn WritePolicy>, role, bytes: &[u8]| {
        squash(&judge(
            p.as_ref(),
            Some(role),
            &doc,
            0,
            Judged::Update { bytes },
        ))
    };
    assert_eq!(update(&board, Role::Participant, &[0; 5]), V::Checked);
    assert_eq!(update(&workshop, Role::Facilitator, &[0; 1]), V::Accept);
    // 4 stored + 6 accepted: at the quota.
    assert_eq!(
        update(&board, Role::Facilitator, &[0; 1]),
        V::Refuse("workshop_quota")
    );
    assert_eq!(
        update(&workshop, Role::Facilitator, &[0; 1]),
        V::Refuse("workshop_quota")
    );
    // Reading goes on.
    let sync = squash(&judge(
        board.as_ref(),
        Some(Role::Participant),
        &doc,
        0,
        Judged::SyncRequest,
    ));
    assert_eq!(sync, V::Accept);
}
