//! The pipeline driven by random event orders (seeded, many runs) against a model of the doc,
//! the store and the clients. Each run checks, at every action:
//! - durable before relay (strict): a relayed update is in a successful commit;
//! - relays in order: relayed updates come in the order they were applied;
//! - held replies only after the commit covering what they reveal;
//! - a failed commit is never relayed nor revealed, and is followed by closing every connection;
//! - a refused (poisoning) update is never appended, relayed, revealed or compacted, and the doc
//!   is reloaded from disk only once nothing is in flight;
//! - every waiter is answered exactly once, `Ok` only if durable.

use std::collections::{BTreeSet, HashMap, HashSet};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// Updates are ids: 8 bytes each; merging concatenates.
fn enc(ids: &[u64]) -> Bytes {
    Bytes::from(
        ids.iter()
            .flat_map(|i| i.to_be_bytes())
            .collect::<Vec<u8>>(),
    )
}

fn dec(b: &Bytes) -> Vec<u64> {
    b.chunks(8)
        .map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            u64::from_be_bytes(a)
        })
        .collect()
}

fn merge(updates: Vec<Bytes>) -> Vec<Bytes> {
    vec![Bytes::from(updates.concat())]
}

struct Model {
    rng: StdRng,
    strict: bool,
    p: Pipeline<u64>,
    next_id: u64,
    /// Ids in the live doc (applied, not yet reloaded away).
    doc: BTreeSet<u64>,
    /// Ids whose commit succeeded.
    durable: HashSet<u64>,
    /// Ids whose commit failed.
    failed: HashSet<u64>,
    /// Refused updates that reached the doc.
    poison: HashSet<u64>,
    /// Batches handed to the store and not answered: epoch -> ids.
    pending: Vec<(u64, Vec<u64>)>,
    /// Every id relayed, in order.
    relayed: Vec<u64>,
    /// Reply frames: frame id -> the doc ids it reveals.
    replies: HashMap<u64, BTreeSet<u64>>,
    next_reply: u64,
    left: HashSet<ConnId>,
    /// Waiters answered: id -> ok.
    answered: HashMap<u64, bool>,
    waiting: HashSet<u64>,
    /// A commit failed and no reload has happened since.
    broken: bool,
    closed_all_since_failure: bool,
    reloads: u32,
    compactions: u32,
    windows_armed: u32,
    windows_pending: u32,
}

impl Model {
    fn new(seed: u64, strict: bool) -> Self {
        let durability = if strict {
            Durability::Strict
        } else {
            Durability::Relaxed
        };
        Model {
            rng: StdRng::seed_from_u64(seed),
            strict,
            p: Pipeline::new(
                durability,
                merge,
                CompactAt {
                    entries: 5,
                    bytes: u64::MAX,
                },
                0,
                0,
            ),
            next_id: 1,
            doc: BTreeSet::new(),
            durable: HashSet::new(),
            failed: HashSet::new(),
            poison: HashSet::new(),
            pending: Vec::new(),
            relayed: Vec::new(),
            replies: HashMap::new(),
            next_reply: 1,
            left: HashSet::new(),
            answered: HashMap::new(),
            waiting: HashSet::new(),
            broken: false,
            closed_all_since_failure: false,
            reloads: 0,
            compactions: 0,
            windows_armed: 0,
            windows_pending: 0,
        }
    }

    fn feed(&mut self, event: Event<u64>) {
        let actions = self.p.handle(event);
        for a in actions {
            self.check(a);
        }
    }

    fn check(&mut self, action: Action<u64>) {
        match action {
            Action::ArmWindow => {
                self.windows_armed += 1;
                self.windows_pending += 1;
            }
            Action::Append { epoch, updates } => {
                let ids: Vec<u64> = updates.iter().flat_map(dec).collect();
                assert!(
                    ids.iter().all(|i| !self.poison.contains(i)),
                    "a refused update was appended"
                );
                self.pending.push((epoch, ids));
            }
            Action::Relay(updates) => {
                let ids: Vec<u64> = updates.iter().flat_map(dec).collect();
                assert!(
                    !self.broken,
                    "relayed after a failed commit, before reloading"
                );
                for id in &ids {
                    assert!(!self.poison.contains(id), "a refused update was relayed");
                    if self.strict {
                        assert!(
                            self.durable.contains(id),
                            "relayed {id} before it was durable"
                        );
                    }
                    if let Some(last) = self.relayed.last() {
                        assert!(id > last, "relays out of order: {id} after {last}");
                    }
                    self.relayed.push(*id);
                }
            }
            Action::Publish(updates) => {
                for id in updates.iter().flat_map(dec) {
                    assert!(self.durable.contains(&id), "published {id}, not durable");
                }
            }
            Action::Send { conn, frame } => {
                assert!(
                    !self.left.contains(&conn),
                    "reply sent to a connection that left"
                );
                assert!(!self.broken, "a held reply released after a failed commit");
                let reply = dec(&frame)[0];
                let reveals = &self.replies[&reply];
                for id in reveals {
                    assert!(
                        !self.poison.contains(id),
                        "a reply revealed a refused update"
                    );
                    assert!(
                        !self.failed.contains(id),
                        "a reply revealed a failed commit"
                    );
                    if self.strict {
                        assert!(
                            self.durable.contains(id),
                            "a reply revealed {id} before durable"
                        );
                    }
                }
            }
            Action::Resolve { waiter, result } => {
                assert!(
                    self.waiting.remove(&waiter),
                    "waiter {waiter} answered twice"
                );
                if result.is_ok() {
                    assert!(
                        self.durable.contains(&waiter),
                        "waiter {waiter} told Ok, not durable"
                    );
                } else {
                    assert!(self.failed.contains(&waiter));
                }
                self.answered.insert(waiter, result.is_ok());
            }
            Action::CloseAll(reason) => {
                assert_eq!(reason.code, 1011);
                assert!(self.broken);
                self.closed_all_since_failure = true;
            }
            Action::Reload => {
                assert_eq!(self.p.in_flight(), 0, "reload with commits in flight");
                assert!(self.p.idle());
                // The disk holds what was durably committed: that is the doc from now on.
                self.doc = self.durable.iter().copied().collect();
                self.reloads += 1;
            }
            Action::Compact { .. } => {
                assert!(
                    self.doc
                        .iter()
                        .all(|i| !self.poison.contains(i) && !self.failed.contains(i)),
                    "compacted a doc holding a refused update or a failed batch"
                );
                self.compactions += 1;
            }
        }
    }

    fn step(&mut self) {
        let accepting = self.p.accepting();
        let roll = self.rng.random_range(0..100);
        match roll {
            0..=34 if accepting => {
                let id = self.next_id;
                self.next_id += 1;
                self.doc.insert(id);
                let waiter = self.rng.random_bool(0.3).then_some(id);
                if let Some(w) = waiter {
                    self.waiting.insert(w);
                }
                self.feed(Event::Applied {
                    update: enc(&[id]),
                    waiter,
                });
            }
            35..=49 if self.windows_pending > 0 => {
                self.windows_pending -= 1;
                self.feed(Event::Window);
            }
            50..=74 if !self.pending.is_empty() => {
                // Any pending commit may answer first.
                let i = self.rng.random_range(0..self.pending.len());
                let (epoch, ids) = self.pending.remove(i);
                let ok = self.rng.random_bool(0.95);
                if ok {
                    self.durable.extend(ids.iter().copied());
                } else {
                    self.failed.extend(ids.iter().copied());
                    self.broken = true;
                }
                let result = if ok {
                    Ok(ids.iter().map(|i| (*i, 8)).collect())
                } else {
                    Err("disk full".to_string())
                };
                self.feed(Event::Committed { epoch, result });
            }
            75..=86 if accepting => {
                let conn = self.rng.random_range(1..6);
                if self.left.contains(&conn) {
                    return;
                }
                let reply = self.next_reply;
                self.next_reply += 1;
                self.replies.insert(reply, self.doc.clone());
                self.feed(Event::Reply {
                    conn,
                    frame: enc(&[reply]),
                });
            }
            87..=89 => {
                let conn = self.rng.random_range(1..6);
                self.left.insert(conn);
                self.feed(Event::Left { conn });
            }
            90..=92 if accepting => {
                // A refused update reached the doc (half-applied, or refused after applying).
                let id = self.next_id;
                self.next_id += 1;
                self.doc.insert(id);
                self.poison.insert(id);
                self.feed(Event::Poisoned);
            }
            _ => {}
        }
        if !self.p.accepting() && self.p.idle() && self.pending.is_empty() {
            // A reload was asked for (checked above); the room reports it done.
            if self.reload_asked() {
                self.broken = false;
                self.closed_all_since_failure = false;
                self.feed(Event::Reloaded);
            }
        }
    }

    fn reload_asked(&self) -> bool {
        self.p.mode == Mode::Reloading
    }

    /// Drains like shutdown: everything committed, everything answered.
    fn finish(&mut self) {
        self.feed(Event::Drain);
        let mut guard = 0;
        while !self.p.idle() || !self.pending.is_empty() {
            guard += 1;
            assert!(guard < 10_000, "drain does not end");
            if self.pending.is_empty() {
                self.feed(Event::Window);
                continue;
            }
            let (epoch, ids) = self.pending.remove(0);
            self.durable.extend(ids.iter().copied());
            let entries = ids.iter().map(|i| (*i, 8)).collect();
            self.feed(Event::Committed {
                epoch,
                result: Ok(entries),
            });
        }
        assert!(
            self.waiting.is_empty(),
            "waiters never answered: {:?}",
            self.waiting
        );
        if self.broken {
            assert!(
                self.closed_all_since_failure,
                "a failure did not close every connection"
            );
        }
    }
}

fn run(seed: u64, strict: bool, steps: usize) -> Model {
    let mut m = Model::new(seed, strict);
    for _ in 0..steps {
        m.step();
        assert!(m.p.in_flight() <= MAX_INFLIGHT);
    }
    m.finish();
    m
}

#[test]
fn random_interleavings_keep_every_invariant_in_strict_mode() {
    let (mut relayed, mut reloads, mut compactions, mut failures) = (0, 0, 0, 0);
    for seed in 0..400 {
        let m = run(seed, true, 300);
        relayed += m.relayed.len();
        reloads += m.reloads;
        compactions += m.compactions;
        failures += m.failed.len();
    }
    // The runs reach every path, or the test proves nothing.
    assert!(relayed > 10_000, "{relayed}");
    assert!(reloads > 100, "{reloads}");
    assert!(compactions > 100, "{compactions}");
    assert!(failures > 100, "{failures}");
}

#[test]
fn random_interleavings_in_relaxed_mode_relay_at_once_and_never_after_a_failure() {
    for seed in 0..200 {
        run(seed, false, 300);
    }
}

#[test]
fn relays_wait_for_the_oldest_commit_even_when_a_later_one_answers_first() {
    let mut p: Pipeline<u64> = Pipeline::new(
        Durability::Strict,
        merge,
        CompactAt {
            entries: 100,
            bytes: u64::MAX,
        },
        0,
        0,
    );
    let mut appends = Vec::new();
    for id in 1..=2 {
        p.handle(Event::Applied {
            update: enc(&[id]),
            waiter: None,
        });
        for a in p.handle(Event::Window) {
            if let Action::Append { epoch, .. } = a {
                appends.push(epoch);
            }
        }
    }
    assert_eq!(appends, vec![1, 2]);
    let later = p.handle(Event::Committed {
        epoch: 2,
        result: Ok(vec![(2, 8)]),
    });
    assert!(
        later.is_empty(),
        "batch 2 relayed before batch 1: {later:?}"
    );
    let both = p.handle(Event::Committed {
        epoch: 1,
        result: Ok(vec![(1, 8)]),
    });
    let relayed: Vec<u64> = both
        .iter()
        .filter_map(|a| match a {
            Action::Relay(u) => Some(u.iter().flat_map(dec).collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    assert_eq!(relayed, vec![1, 2]);
}

#[test]
fn a_held_reply_waits_for_its_batch_and_a_failure_drops_it() {
    let mut p: Pipeline<u64> = Pipeline::new(
        Durability::Strict,
        merge,
        CompactAt {
            entries: 100,
            bytes: u64::MAX,
        },
        0,
        0,
    );
    p.handle(Event::Applied {
        update: enc(&[1]),
        waiter: Some(1),
    });
    assert!(p
        .handle(Event::Reply {
            conn: 7,
            frame: enc(&[0])
        })
        .is_empty());
    p.handle(Event::Window);
    let failed = p.handle(Event::Committed {
        epoch: 1,
        result: Err("io".into()),
    });
    assert!(failed
        .iter()
        .all(|a| !matches!(a, Action::Send { .. } | Action::Relay(_))));
    assert!(failed.contains(&Action::Resolve {
        waiter: 1,
        result: Err("io".into())
    }));
    assert!(failed.iter().any(|a| matches!(a, Action::CloseAll(_))));
    assert!(failed.contains(&Action::Reload));
    assert!(!p.accepting());
    p.handle(Event::Reloaded);
    assert!(p.accepting());
    // After the reload nothing is pending: a reply goes at once.
    assert_eq!(
        p.handle(Event::Reply {
            conn: 7,
            frame: enc(&[0])
        }),
        vec![Action::Send {
            conn: 7,
            frame: enc(&[0])
        }]
    );
}

#[test]
fn a_poisoned_doc_commits_what_was_valid_then_reloads() {
    let mut p: Pipeline<u64> = Pipeline::new(
        Durability::Strict,
        merge,
        CompactAt {
            entries: 1,
            bytes: u64::MAX,
        },
        0,
        0,
    );
    p.handle(Event::Applied {
        update: enc(&[1]),
        waiter: None,
    });
    // The window has not passed, but poisoning submits the valid batch at once.
    let actions = p.handle(Event::Poisoned);
    assert_eq!(
        actions,
        vec![Action::Append {
            epoch: 1,
            updates: vec![enc(&[1])]
        }]
    );
    assert!(!p.accepting());
    let done = p.handle(Event::Committed {
        epoch: 1,
        result: Ok(vec![(1, 8)]),
    });
    assert_eq!(
        done,
        vec![
            Action::Relay(vec![enc(&[1])]),
            Action::Publish(vec![enc(&[1])]),
            Action::Reload
        ],
        "no compaction of a poisoned doc, and the reload comes last"
    );
}
