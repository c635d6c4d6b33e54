//! Contributions held by the server (board-schema §6): the facilitator lists a board's held
//! notes, discards some and reveals one, a chosen set or all; everyone may read the counts,
//! which carry no text.
//!
//! A reveal is four durable server edits, each idempotent, so that a crash anywhere between
//! them loses nothing and duplicates nothing: (1) in each held doc, mark the notes `revealing`
//! with a fresh board note id (or keep the one an interrupted reveal chose); (2) write them into
//! the board doc as the server's own items, in a shuffled order; (3) on an icebreaker, mark them
//! revealed in the workshop doc's control map (the projector's reveal reads it); (4) remove them
//! from the held docs. A retry after a crash redoes the same ids.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use super::{doc, now_ms, ApiError, ApiJson, AppState, Caller};
use crate::auth::Role;
use crate::board::held::{self, HeldNote, Holding};
use crate::board::schema::check_id;
use crate::board::workshop::set_note_revealed;
use crate::board::BoardKind;
use crate::doc_id::DocId;
use crate::policy::{DeviceCounts, Standing};

/// Most notes one reveal or discard request may name.
pub(super) const MAX_TARGETS: usize = 500;

/// Routes of this file.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/workshops/{wid}/boards/{bid}/held", get(list))
        .route("/api/workshops/{wid}/boards/{bid}/held/count", get(count))
        .route(
            "/api/workshops/{wid}/boards/{bid}/held/reveal",
            post(reveal),
        )
        .route(
            "/api/workshops/{wid}/boards/{bid}/held/discard",
            post(discard),
        )
}

/// One held note as the facilitator sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct HeldEntry {
    /// The writer's device id (which notes share a writer; never who it is).
    pub(super) device: String,
    /// The note as it is in the held doc.
    #[serde(flatten)]
    pub(super) note: HeldNote,
}

/// `GET …/held`: every note held back on a board.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct HeldList {
    /// How the board holds notes back.
    pub(super) holding: Holding,
    /// The notes, grouped by device (a device's in its writer's order).
    pub(super) notes: Vec<HeldEntry>,
}

/// `GET …/held/count`: how many notes are held back (no text, for every role).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct HeldCount {
    /// Notes held back.
    pub(super) held: u32,
}

/// One note a request names.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct HeldRef {
    /// Its writer's device id.
    pub(super) device: String,
    /// Its id in the held doc.
    pub(super) id: String,
}

/// `POST …/held/reveal` and `…/held/discard`: the notes to act on, or all of them (reveal).
#[derive(Debug, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct HeldRequest {
    /// The notes named one by one.
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<Vec<HeldRef>>", optional))]
    pub(super) notes: Vec<HeldRef>,
    /// Every note held back on the board ("Tout dévoiler").
    #[serde(default)]
    #[cfg_attr(test, ts(as = "Option<bool>", optional))]
    pub(super) all: bool,
}

/// What a reveal or discard did.
#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct HeldDone {
    /// Notes revealed or discarded (notes their writer deleted meanwhile are not counted).
    pub(super) done: u32,
}

/// The board doc of `bid`, refused unless it is on the agenda.
async fn board_doc(state: &AppState, wid: &str, bid: &str) -> Result<DocId, ApiError> {
    check_id(bid)?;
    let board = DocId::board_of(wid, bid).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !state.hub.locks().knows(wid) {
        let _ = state.hub.read(&doc(wid)?, |_| ()).await;
    }
    if state.hub.locks().standing(&board) != Standing::OnAgenda {
        return Err(ApiError::not_found(
            "no such board on this workshop's agenda",
        ));
    }
    Ok(board)
}

/// Every stored held doc of a board.
async fn held_docs(state: &AppState, wid: &str, bid: &str) -> Result<Vec<DocId>, ApiError> {
    let ids = state
        .store
        .list_docs(&DocId::held_prefix(wid, bid))
        .await
        .map_err(ApiError::internal)?;
    Ok(ids.iter().filter_map(|id| DocId::parse(id).ok()).collect())
}

/// Notes held back on each of `boards` (what exports count), counting each board's held docs
/// once since start.
pub(super) async fn held_totals(
    state: &AppState,
    wid: &str,
    boards: &[String],
) -> Result<HashMap<String, u32>, ApiError> {
    let mut totals = HashMap::new();
    for bid in boards {
        let Ok(board) = DocId::board_of(wid, bid) else {
            continue;
        };
        totals.insert(bid.clone(), total(state, wid, bid, &board).await?);
    }
    Ok(totals)
}

/// Notes held on `board`: in a cluster, every node's counts (the stored held docs counted once
/// into them when they lack this board); on one node, or while Redis cannot answer, this
/// node's own, counting the stored held docs once since start.
async fn total(state: &AppState, wid: &str, bid: &str, board: &DocId) -> Result<u32, ApiError> {
    let counts = state.hub.held_counts();
    if let Some(shared) = counts.shared() {
        match shared.read(board).await {
            Ok(Some(devices)) => {
                counts.absorb(board, &devices);
                return Ok(sum(devices.values()));
            }
            Ok(None) => {
                let devices = match count_stored(state, wid, bid).await {
                    Ok(devices) => devices,
                    Err(e) => {
                        shared.recount_failed(board);
                        return Err(e);
                    }
                };
                let total = sum(devices.values());
                counts.absorb(board, &devices);
                shared.mark_complete(board, devices);
                return Ok(total);
            }
            // Logged by the shared counts; this node's own answer meanwhile.
            Err(_) => {}
        }
    }
    if !counts.is_complete(board) {
        count_stored(state, wid, bid).await?;
        counts.mark_complete(board);
    }
    Ok(u32::try_from(counts.total(board)).unwrap_or(u32::MAX))
}

/// Loads every stored held doc of a board (its policy publishes its count, to every node in a
/// cluster) and counts its notes.
async fn count_stored(state: &AppState, wid: &str, bid: &str) -> Result<DeviceCounts, ApiError> {
    let counts = state.hub.held_counts();
    let mut devices = DeviceCounts::new();
    for id in held_docs(state, wid, bid).await? {
        let n = state.hub.read(&id, held::held_count).await?;
        counts.set(&id, n);
        if let (Some(device), true) = (id.device(), n > 0) {
            devices.insert(device.to_owned(), n);
        }
    }
    Ok(devices)
}

fn sum<'a>(counts: impl Iterator<Item = &'a usize>) -> u32 {
    u32::try_from(counts.fold(0usize, |a, n| a.saturating_add(*n))).unwrap_or(u32::MAX)
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, bid)): Path<(String, String)>,
) -> Result<Json<HeldList>, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    let board = board_doc(&state, &caller.wid, &bid).await?;
    let holding = state.hub.read(&board, held::holding_of).await?;
    let mut notes = Vec::new();
    for id in held_docs(&state, &caller.wid, &bid).await? {
        let device = id.device().unwrap_or_default().to_string();
        for note in state.hub.read(&id, held::read_held).await? {
            notes.push(HeldEntry {
                device: device.clone(),
                note,
            });
        }
    }
    Ok(Json(HeldList { holding, notes }))
}

async fn count(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, bid)): Path<(String, String)>,
) -> Result<Json<HeldCount>, ApiError> {
    caller.allow(
        &state,
        &[Role::Facilitator, Role::Participant, Role::Viewer],
    )?;
    let board = board_doc(&state, &caller.wid, &bid).await?;
    let held = total(&state, &caller.wid, &bid, &board).await?;
    Ok(Json(HeldCount { held }))
}

/// The notes a request names, grouped by held doc; checked and bounded.
fn targets(
    wid: &str,
    bid: &str,
    refs: &[HeldRef],
) -> Result<BTreeMap<DocId, Vec<String>>, ApiError> {
    if refs.len() > MAX_TARGETS {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_TARGETS} notes per request"
        )));
    }
    let mut by_doc: BTreeMap<DocId, Vec<String>> = BTreeMap::new();
    for r in refs {
        check_id(&r.id)?;
        check_id(&r.device)?;
        let id = DocId::held_of(wid, bid, &r.device)
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
        by_doc.entry(id).or_default().push(r.id.clone());
    }
    Ok(by_doc)
}

async fn reveal(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, bid)): Path<(String, String)>,
    ApiJson(req): ApiJson<HeldRequest>,
) -> Result<Json<HeldDone>, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    let wid = caller.wid;
    let board = board_doc(&state, &wid, &bid).await?;
    let by_doc = if req.all {
        let mut all = BTreeMap::new();
        for id in held_docs(&state, &wid, &bid).await? {
            let ids: Vec<String> = state
                .hub
                .read(&id, |d| {
                    held::read_held(d).into_iter().map(|n| n.id).collect()
                })
                .await?;
            all.insert(id, ids);
        }
        all
    } else {
        targets(&wid, &bid, &req.notes)?
    };
    // (1) Choose (or find) each note's board id, durably, in its held doc.
    let mut chosen: Vec<(String, String, HeldNote)> = Vec::new();
    for (id, notes) in &by_doc {
        let device = id.device().unwrap_or_default().to_string();
        let notes = notes.clone();
        let begun = state
            .hub
            .edit(id, move |d| {
                let mut rng = rand::rng();
                let board_ids: Vec<(String, String)> = notes
                    .iter()
                    .filter_map(|n| held::begin_reveal(d, n, &mut rng).map(|b| (n.clone(), b)))
                    .collect();
                let all = held::read_held(d);
                board_ids
                    .into_iter()
                    .filter_map(|(n, b)| all.iter().find(|h| h.id == n).map(|h| (b, h.clone())))
                    .collect::<Vec<_>>()
            })
            .await?;
        chosen.extend(begun.into_iter().map(|(b, h)| (device.clone(), b, h)));
    }
    // (2) Into the board doc, as the server, in an order that says nothing of who wrote what.
    chosen.shuffle(&mut rand::rng());
    let now = now_ms();
    let written = chosen.clone();
    let kind = state
        .hub
        .edit(&board, move |d| -> Result<Option<BoardKind>, ApiError> {
            for (device, board_id, note) in &written {
                held::write_revealed(d, board_id, note, device, now)?;
            }
            Ok(crate::board::census::board_kind(d))
        })
        .await??;
    // (3) The icebreaker's reveal state, which the projector's spotlight follows.
    if kind == Some(BoardKind::Icebreaker) && !chosen.is_empty() {
        let ids: Vec<String> = chosen.iter().map(|(_, b, _)| b.clone()).collect();
        let bid = bid.clone();
        state
            .hub
            .edit(&doc(&wid)?, move |d| -> Result<(), ApiError> {
                for id in &ids {
                    set_note_revealed(d, &bid, id, true)?;
                }
                Ok(())
            })
            .await??;
    }
    // (4) Out of the held docs.
    let done = remove(&state, &chosen_by_doc(&wid, &bid, &chosen)).await?;
    Ok(Json(HeldDone { done }))
}

fn chosen_by_doc(
    wid: &str,
    bid: &str,
    chosen: &[(String, String, HeldNote)],
) -> BTreeMap<DocId, Vec<String>> {
    let mut by_doc: BTreeMap<DocId, Vec<String>> = BTreeMap::new();
    for (device, _, note) in chosen {
        if let Ok(id) = DocId::held_of(wid, bid, device) {
            by_doc.entry(id).or_default().push(note.id.clone());
        }
    }
    by_doc
}

/// Removes notes from their held docs; returns how many were there.
async fn remove(state: &AppState, by_doc: &BTreeMap<DocId, Vec<String>>) -> Result<u32, ApiError> {
    let mut done = 0u32;
    for (id, notes) in by_doc {
        let notes = notes.clone();
        let n = state
            .hub
            .edit(id, move |d| {
                notes.iter().filter(|n| held::remove_held(d, n)).count()
            })
            .await?;
        done = done.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
    }
    Ok(done)
}

async fn discard(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, bid)): Path<(String, String)>,
    ApiJson(req): ApiJson<HeldRequest>,
) -> Result<Json<HeldDone>, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    board_doc(&state, &caller.wid, &bid).await?;
    if req.all {
        return Err(ApiError::bad_request(
            "name the notes to discard one by one",
        ));
    }
    let by_doc = targets(&caller.wid, &bid, &req.notes)?;
    let done = remove(&state, &by_doc).await?;
    Ok(Json(HeldDone { done }))
}
