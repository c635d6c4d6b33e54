//! Phones asking to be listed among the people present: a request per phone (renewed, not
//! repeated), which the facilitator accepts into a group or dismisses.

use serde::{Deserialize, Serialize};
use yrs::{Doc, Map, Transact};

use super::{check_person, check_room, upsert_participant, ParticipantInput};
use crate::board::fields::{
    delete_item, item, map_of, new_map, root_mut, set_int, set_str, str_of,
};
use crate::board::schema::{check_id, field, workshop_root};
use crate::board::BoardError;

/// A phone asking to be listed among the people present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingRequest {
    /// The phone's participant (voter) id; becomes the participant id once accepted.
    pub id: String,
    /// Name as the person typed it.
    pub name: String,
    /// Role.
    #[serde(default)]
    pub role: String,
    /// Organisation.
    #[serde(default)]
    pub organisation: String,
}

/// Records (or renews) a phone's request to be listed; the facilitator accepts it.
pub fn request_listing(
    workshop: &Doc,
    r: &ListingRequest,
    created_at: i64,
) -> Result<(), BoardError> {
    check_id(&r.id)?;
    check_person(&r.name, &r.role, &r.organisation)?;
    let mut txn = workshop.transact_mut();
    let root = root_mut(&mut txn, workshop_root::REQUESTS);
    check_room(&txn, &root, &r.id)?;
    let m = match map_of(&txn, &root, &r.id) {
        Some(m) => m,
        None => new_map(&mut txn, &root, &r.id),
    };
    set_str(&mut txn, &m, field::NAME, r.name.trim());
    set_str(&mut txn, &m, field::ROLE, r.role.trim());
    set_str(&mut txn, &m, field::ORGANISATION, r.organisation.trim());
    set_int(&mut txn, &m, field::CREATED_AT, created_at);
    Ok(())
}

/// Accepts a request: the person joins the list in `group`, the request goes away.
pub fn accept_request(workshop: &Doc, id: &str, group: &str) -> Result<(), BoardError> {
    let request = {
        let mut txn = workshop.transact_mut();
        let root = root_mut(&mut txn, workshop_root::REQUESTS);
        let m = item(&txn, &root, "request", id)?;
        let r = ParticipantInput {
            id: id.to_owned(),
            name: str_of(&txn, &m, field::NAME),
            role: str_of(&txn, &m, field::ROLE),
            organisation: str_of(&txn, &m, field::ORGANISATION),
            group: group.to_owned(),
            phone: true,
        };
        root.remove(&mut txn, id);
        r
    };
    upsert_participant(workshop, &request)
}

/// Dismisses a request without listing the person.
pub fn dismiss_request(workshop: &Doc, id: &str) -> Result<(), BoardError> {
    let mut txn = workshop.transact_mut();
    let root = root_mut(&mut txn, workshop_root::REQUESTS);
    delete_item(&mut txn, &root, "request", id)
}
