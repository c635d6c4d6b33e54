//! The part of a [`Snapshot`] a change touched: cut from a kept snapshot, read from a doc, and
//! put back into the kept one once the change is accepted. What a part holds is decided by a
//! [`Scope`]: the touched entries, plus every opaque one. Pure: no IO.

use std::collections::{BTreeMap, BTreeSet};

use yrs::{Doc, Map, ReadTxn, Transact};

use super::{as_map, BoardKind, Entry, Snapshot};
use crate::board::schema::board_root;
use crate::touched::{Keys, Touched};

/// Which entries a part holds: per root, some keys, or all of them (`None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    roots: BTreeMap<String, Option<BTreeSet<String>>>,
}

impl Scope {
    /// What `touched` names, plus the `opaque` entries (re-read every time).
    pub fn of(touched: &Touched, opaque: &BTreeSet<Entry>) -> Scope {
        let mut roots: BTreeMap<String, Option<BTreeSet<String>>> = BTreeMap::new();
        for (root, keys) in touched.roots() {
            match keys {
                Keys::Whole => {
                    roots.insert(root.to_owned(), None);
                }
                Keys::Some(ks) => {
                    let set = roots
                        .entry(root.to_owned())
                        .or_insert_with(|| Some(BTreeSet::new()));
                    if let Some(set) = set {
                        set.extend(ks.iter().map(|k| k.to_string()));
                    }
                }
            }
        }
        for (root, key) in opaque {
            let set = roots
                .entry(root.clone())
                .or_insert_with(|| Some(BTreeSet::new()));
            if let Some(set) = set {
                set.insert(key.clone());
            }
        }
        Scope { roots }
    }

    /// Whether the scope names nothing.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }
}

impl Snapshot {
    /// The entries of `board` in `scope`, read as a board of kind `kind`.
    pub fn read_part(board: &Doc, kind: Option<BoardKind>, scope: &Scope) -> Snapshot {
        let mut part = Snapshot::empty(kind);
        let txn = board.transact();
        for (name, keys) in &scope.roots {
            let Some(value) = txn.get(name) else {
                continue;
            };
            match (as_map(value), keys) {
                (Ok(map), None) => {
                    for (key, v) in map.iter(&txn) {
                        part.put(&txn, name, key, v);
                    }
                }
                (Ok(map), Some(keys)) => {
                    for key in keys {
                        if let Some(v) = map.get(&txn, key) {
                            part.put(&txn, name, key, v);
                        }
                    }
                }
                (Err(other), _) => part.put_root(&txn, name, &other),
            }
        }
        part.read_owner(&txn);
        part
    }

    /// The entries of `self` in `scope` (and its `ownerDevice`).
    pub fn part(&self, scope: &Scope) -> Snapshot {
        let mut part = Snapshot::empty(self.kind);
        part.owner_device = self.owner_device.clone();
        for (root, keys) in &scope.roots {
            for key in self.keys_in(root, keys) {
                self.copy_entry(root, &key, &mut part);
            }
        }
        part
    }

    /// Replaces the entries of `self` in `scope` with `fresh` (read with that scope).
    pub fn replace(&mut self, scope: &Scope, fresh: Snapshot) {
        for (root, keys) in &scope.roots {
            for key in self.keys_in(root, keys) {
                self.remove_entry(root, &key);
            }
        }
        for (voter, n) in fresh.dots {
            *self.dots.entry(voter).or_default() += n;
        }
        self.dots.retain(|_, n| *n != 0);
        self.items.extend(fresh.items);
        self.stray.extend(fresh.stray);
        self.problem.extend(fresh.problem);
        self.others.extend(fresh.others);
        self.opaque.extend(fresh.opaque);
        self.owner_device = fresh.owner_device;
    }

    /// The keys of `root` that `keys` names (`None`: every key `self` holds under it).
    fn keys_in(&self, root: &str, keys: &Option<BTreeSet<String>>) -> Vec<String> {
        if let Some(keys) = keys {
            return keys.iter().cloned().collect();
        }
        let mut all: BTreeSet<String> = self.others_of(root).map(|((_, k), _)| k.clone()).collect();
        if Some(root) == self.root {
            all.extend(self.items.keys().cloned());
            all.extend(self.stray.keys().cloned());
        }
        if root == board_root::META {
            all.extend(self.problem.keys().cloned());
        }
        all.into_iter().collect()
    }

    /// Copies entry `(root, key)` into `part`.
    fn copy_entry(&self, root: &str, key: &str, part: &mut Snapshot) {
        if Some(root) == self.root {
            if let Some(item) = self.items.get(key) {
                super::add_dots(&mut part.dots, item);
                part.items.insert(key.to_owned(), item.clone());
            }
            if let Some(v) = self.stray.get(key) {
                part.stray.insert(key.to_owned(), v.clone());
            }
        }
        if root == board_root::META {
            if let Some(v) = self.problem.get(key) {
                part.problem.insert(key.to_owned(), v.clone());
            }
        }
        let entry = (root.to_owned(), key.to_owned());
        if let Some(v) = self.others.get(&entry) {
            part.others.insert(entry.clone(), v.clone());
        }
        if self.opaque.contains(&entry) {
            part.opaque.insert(entry);
        }
    }

    /// Removes entry `(root, key)`, and its item's dots.
    fn remove_entry(&mut self, root: &str, key: &str) {
        if Some(root) == self.root {
            if let Some(item) = self.items.remove(key) {
                for voter in item.votes.keys() {
                    if let Some(n) = self.dots.get_mut(voter) {
                        *n -= item.dots_of(voter);
                    }
                }
            }
            self.stray.remove(key);
        }
        if root == board_root::META {
            self.problem.remove(key);
        }
        let entry = (root.to_owned(), key.to_owned());
        self.others.remove(&entry);
        self.opaque.remove(&entry);
    }

    /// The other entries under `root`.
    pub(super) fn others_of<'a>(
        &'a self,
        root: &'a str,
    ) -> impl Iterator<Item = (&'a Entry, &'a serde_json::Value)> {
        self.others
            .range((root.to_owned(), String::new())..)
            .take_while(move |((r, _), _)| r == root)
    }
}
