//! The people of a day, in the workshop doc: the facilitator's own groups (named, ordered), the
//! people present (with or without a phone), the phones asking to be listed, and organisations
//! merged when they differ only in spelling.

use serde::{Deserialize, Serialize};
use yrs::{Doc, Map, Transact, TransactionMut};

use super::fields::{
    check_label, check_len, delete_item, entries, item, map_of, new_map, order_key_at, root_mut,
    set_str, str_of,
};
use super::schema::{check_id, field, workshop_root};
use super::templates::MAX_TITLE;
use super::{BoardError, WorkshopTemplate};

mod listing;

pub use listing::{accept_request, dismiss_request, request_listing, ListingRequest};

/// Most people, groups or pending requests one workshop holds.
pub const MAX_PEOPLE: usize = 500;

/// The groups a template starts with: (id, name). "Journée bilan" has the seed day's four; their
/// ids are the three historical group kinds plus one, so older participant entries land in them.
pub fn default_groups(template: WorkshopTemplate) -> &'static [(&'static str, &'static str)] {
    match template {
        WorkshopTemplate::JourneeBilan => &[
            ("facilitation", "Animation de la journée"),
            ("team", "Équipe d'Agate"),
            ("accompanied", "Structures du Transistor"),
            ("guests", "Structures externes"),
        ],
        _ => &[("facilitation", "Animation"), ("guests", "Participants")],
    }
}

/// Writes a template's default groups into a new workshop doc.
pub(crate) fn init_groups(txn: &mut TransactionMut, template: WorkshopTemplate) {
    let root = root_mut(txn, workshop_root::GROUPS);
    for (id, name) in default_groups(template) {
        let order = order_key_at(txn, &root, None, None, |_| true);
        let m = new_map(txn, &root, id);
        set_str(txn, &m, field::NAME, name);
        set_str(txn, &m, field::ORDER, &order);
    }
    root_mut(txn, workshop_root::REQUESTS);
}

pub(super) fn check_room(
    txn: &TransactionMut,
    root: &yrs::MapRef,
    id: &str,
) -> Result<(), BoardError> {
    if map_of(txn, root, id).is_none() && root.len(txn) as usize >= MAX_PEOPLE {
        return Err(BoardError::InvalidField {
            field: "id",
            reason: "too many entries in this workshop",
        });
    }
    Ok(())
}

/// Adds a group at the end, or renames it.
pub fn upsert_group(workshop: &Doc, id: &str, name: &str) -> Result<(), BoardError> {
    check_id(id)?;
    check_label("name", name, MAX_TITLE)?;
    let mut txn = workshop.transact_mut();
    let root = root_mut(&mut txn, workshop_root::GROUPS);
    check_room(&txn, &root, id)?;
    let m = match map_of(&txn, &root, id) {
        Some(m) => m,
        None => {
            let order = order_key_at(&txn, &root, None, None, |_| true);
            let m = new_map(&mut txn, &root, id);
            set_str(&mut txn, &m, field::ORDER, &order);
            m
        }
    };
    set_str(&mut txn, &m, field::NAME, name.trim());
    Ok(())
}

/// Removes a group; its people stay, listed without a group.
pub fn remove_group(workshop: &Doc, id: &str) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let root = root_mut(&mut txn, workshop_root::GROUPS);
    delete_item(&mut txn, &root, "group", id)
}

/// Moves a group to position `index` (0 = first; past the end = last).
pub fn move_group(workshop: &Doc, id: &str, index: usize) -> Result<(), BoardError> {
    move_in(workshop, workshop_root::GROUPS, "group", id, index)
}

fn move_in(
    workshop: &Doc,
    root_name: &str,
    what: &'static str,
    id: &str,
    index: usize,
) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let root = root_mut(&mut txn, root_name);
    let entry = item(&txn, &root, what, id)?;
    let key = order_key_at(&txn, &root, Some(id), Some(index), |_| true);
    set_str(&mut txn, &entry, field::ORDER, &key);
    Ok(())
}

/// A person present, as the facilitator writes them (or accepts a phone's request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantInput {
    /// Participant id (a phone's voter id when the person has one).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Role.
    #[serde(default)]
    pub role: String,
    /// Organisation.
    #[serde(default)]
    pub organisation: String,
    /// Group id (one of the workshop's groups; an unknown id lists them without a group).
    #[serde(default)]
    pub group: String,
    /// Whether the person joined with a phone.
    #[serde(default)]
    pub phone: bool,
}

pub(super) fn check_person(name: &str, role: &str, organisation: &str) -> Result<(), BoardError> {
    check_label("name", name, MAX_TITLE)?;
    check_len("role", role, MAX_TITLE)?;
    check_len("organisation", organisation, MAX_TITLE)
}

/// Adds a participant at the end of the list, or updates their fields if the id exists.
pub fn upsert_participant(workshop: &Doc, p: &ParticipantInput) -> Result<(), BoardError> {
    check_id(&p.id)?;
    check_person(&p.name, &p.role, &p.organisation)?;
    check_len("group", &p.group, MAX_TITLE)?;
    let mut txn = workshop.transact_mut();
    let root = root_mut(&mut txn, workshop_root::PARTICIPANTS);
    check_room(&txn, &root, &p.id)?;
    let entry = match map_of(&txn, &root, &p.id) {
        Some(m) => m,
        None => {
            let order = order_key_at(&txn, &root, None, None, |_| true);
            let m = new_map(&mut txn, &root, &p.id);
            set_str(&mut txn, &m, field::ORDER, &order);
            m
        }
    };
    set_str(&mut txn, &entry, field::NAME, p.name.trim());
    set_str(&mut txn, &entry, field::ROLE, p.role.trim());
    set_str(&mut txn, &entry, field::ORGANISATION, p.organisation.trim());
    set_str(&mut txn, &entry, field::GROUP, p.group.trim());
    entry.insert(&mut txn, field::PHONE, p.phone);
    Ok(())
}

/// Removes a participant.
pub fn remove_participant(workshop: &Doc, id: &str) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let root = root_mut(&mut txn, workshop_root::PARTICIPANTS);
    delete_item(&mut txn, &root, "participant", id)
}

/// Moves a participant to position `index` of the list.
pub fn move_participant(workshop: &Doc, id: &str, index: usize) -> Result<(), BoardError> {
    move_in(
        workshop,
        workshop_root::PARTICIPANTS,
        "participant",
        id,
        index,
    )
}

/// An organisation's name folded for comparison: case, accents, spaces and punctuation ignored
/// ("CCAS La Ravoire" and "ccas  la-ravoire" fold alike).
pub fn organisation_key(name: &str) -> String {
    name.chars()
        .flat_map(char::to_lowercase)
        .filter_map(|c| match c {
            'à' | 'â' | 'ä' | 'á' => Some('a'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'î' | 'ï' | 'í' => Some('i'),
            'ô' | 'ö' | 'ó' => Some('o'),
            'û' | 'ù' | 'ü' | 'ú' => Some('u'),
            'ç' => Some('c'),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Gives every participant whose organisation folds like `into` exactly that spelling; returns
/// how many entries changed.
pub fn merge_organisations(workshop: &Doc, into: &str) -> Result<usize, BoardError> {
    check_label("organisation", into, MAX_TITLE)?;
    let key = organisation_key(into);
    let mut txn = workshop.transact_mut();
    let root = root_mut(&mut txn, workshop_root::PARTICIPANTS);
    let mut changed = 0;
    for (_, m) in entries(&txn, &root) {
        let org = str_of(&txn, &m, field::ORGANISATION);
        if org != into.trim() && organisation_key(&org) == key {
            set_str(&mut txn, &m, field::ORGANISATION, into.trim());
            changed += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::view::read_workshop;
    use crate::board::{new_workshop, WorkshopParams};
    use rand::SeedableRng;

    fn workshop() -> Doc {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let params = WorkshopParams::new(
            WorkshopTemplate::JourneeBilan,
            "Journée bilan",
            "2023-05-09",
        );
        let created = new_workshop(&params, 0, &mut rng).expect("workshop");
        crate::board::doc_from_update(&created.update).expect("doc")
    }

    fn person(id: &str, name: &str, org: &str, group: &str) -> ParticipantInput {
        ParticipantInput {
            id: id.into(),
            name: name.into(),
            role: String::new(),
            organisation: org.into(),
            group: group.into(),
            phone: false,
        }
    }

    #[test]
    fn journee_bilan_starts_with_the_seed_groups_in_order() {
        let view = read_workshop(&workshop(), &[]);
        let names: Vec<&str> = view.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Animation de la journée",
                "Équipe d'Agate",
                "Structures du Transistor",
                "Structures externes"
            ]
        );
    }

    #[test]
    fn groups_are_the_facilitators_own() {
        let w = workshop();
        upsert_group(&w, "elus", "Élus").expect("test setup");
        move_group(&w, "elus", 0).expect("test setup");
        remove_group(&w, "team").expect("test setup");
        upsert_group(&w, "guests", "Invités du jour").expect("test setup");
        let view = read_workshop(&w, &[]);
        let names: Vec<&str> = view.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Élus",
                "Animation de la journée",
                "Structures du Transistor",
                "Invités du jour"
            ]
        );
        assert!(upsert_group(&w, "x", "  ").is_err());
    }

    #[test]
    fn people_without_a_phone_are_added_edited_moved_and_removed() {
        let w = workshop();
        upsert_participant(&w, &person("a", "Alice", "Agate", "team")).expect("test setup");
        upsert_participant(&w, &person("b", "Bruno", "CCAS", "accompanied")).expect("test setup");
        upsert_participant(&w, &person("c", "Chloé", "CLEF", "accompanied")).expect("test setup");
        move_participant(&w, "c", 0).expect("test setup");
        upsert_participant(&w, &person("b", "Bruno M.", "CCAS", "guests")).expect("test setup");
        remove_participant(&w, "a").expect("test setup");
        let view = read_workshop(&w, &[]);
        let list: Vec<(&str, &str)> = view
            .participants
            .iter()
            .map(|p| (p.name.as_str(), p.group.as_str()))
            .collect();
        assert_eq!(list, [("Chloé", "accompanied"), ("Bruno M.", "guests")]);
        assert!(view.participants.iter().all(|p| !p.phone));
    }

    #[test]
    fn a_phone_asks_and_the_facilitator_accepts() {
        let w = workshop();
        let r = ListingRequest {
            id: "phone-1".into(),
            name: "Dora".into(),
            role: "médiatrice".into(),
            organisation: "Régie".into(),
        };
        request_listing(&w, &r, 5).expect("test setup");
        let view = read_workshop(&w, &[]);
        assert_eq!(view.requests.len(), 1);
        assert!(view.participants.is_empty());
        accept_request(&w, "phone-1", "accompanied").expect("test setup");
        let view = read_workshop(&w, &[]);
        assert!(view.requests.is_empty());
        assert_eq!(view.participants.len(), 1);
        assert!(view.participants[0].phone);
        assert_eq!(view.participants[0].group, "accompanied");
        assert!(
            accept_request(&w, "phone-1", "guests").is_err(),
            "a request is accepted once"
        );
    }

    #[test]
    fn organisations_spelled_differently_are_merged() {
        let w = workshop();
        upsert_participant(&w, &person("a", "A", "CCAS La Ravoire", "accompanied"))
            .expect("test setup");
        upsert_participant(&w, &person("b", "B", "ccas la ravoire", "accompanied"))
            .expect("test setup");
        upsert_participant(&w, &person("c", "C", "CCAS  La-Ravoire", "accompanied"))
            .expect("test setup");
        upsert_participant(&w, &person("d", "D", "CCAS Chambéry", "accompanied"))
            .expect("test setup");
        assert_eq!(
            merge_organisations(&w, "CCAS La Ravoire").expect("test step"),
            2
        );
        let view = read_workshop(&w, &[]);
        let orgs: Vec<&str> = view
            .participants
            .iter()
            .map(|p| p.organisation.as_str())
            .collect();
        assert_eq!(
            orgs,
            [
                "CCAS La Ravoire",
                "CCAS La Ravoire",
                "CCAS La Ravoire",
                "CCAS Chambéry"
            ]
        );
    }
}
