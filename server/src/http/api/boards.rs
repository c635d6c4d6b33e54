//! Editing a workshop's agenda (facilitator): add a board, reorder the boards, remove one.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use super::workshops::BoardSummary;
use super::{doc, now_ms, ApiError, ApiJson, AppState, Caller};
use crate::auth::Role;
use crate::board::{self, BoardError};

/// `POST /api/workshops/{wid}/boards` (facilitator) `{kind, title, template, …}`.
pub(super) async fn add_board(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(spec): ApiJson<board::templates::BoardSpec>,
) -> Result<Response, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    let wid = caller.wid;
    let max = state.config.max_boards;
    let boards = state
        .hub
        .read(&doc(&wid)?, crate::board::census::agenda_boards)
        .await?
        .len();
    if boards >= max {
        state.metrics.reject("too_many_boards");
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("this workshop already has {boards} boards, the most one may have ({max}): remove one first"),
        ));
    }
    crate::http::refresh_usage(&state, &wid).await?;
    let usage = state.hub.usage();
    if usage.over(&wid) {
        state.metrics.reject("workshop_quota");
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "this workshop has used its storage quota ({} of {} MiB): nothing more can be saved",
                usage.used(&wid) >> 20,
                usage.quota() >> 20
            ),
        ));
    }
    let now = now_ms();
    let w = wid.clone();
    let new_board = state
        .hub
        .edit(&doc(&wid)?, move |doc| {
            board::add_board(doc, &w, &spec, now, &mut rand::rng())
        })
        .await??;
    // Through the board's room: a client that saw the agenda entry may already be connected.
    let initial = new_board.update.clone();
    state
        .hub
        .edit(&doc(&new_board.doc_id)?, move |doc| apply(doc, &initial))
        .await?
        .map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(BoardSummary::from(&new_board))).into_response())
}

fn apply(doc: &Doc, update: &[u8]) -> Result<(), String> {
    let update = Update::decode_v1(update).map_err(|e| e.to_string())?;
    doc.transact_mut()
        .apply_update(update)
        .map_err(|e| e.to_string())
}

#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct Order {
    order: Vec<String>,
}

/// `PUT /api/workshops/{wid}/boards/order` (facilitator) `{order: [bid, …]}`.
pub(super) async fn reorder(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(order): ApiJson<Order>,
) -> Result<StatusCode, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    let wid = caller.wid;
    state
        .hub
        .edit(&doc(&wid)?, move |doc| -> Result<(), BoardError> {
            for (index, bid) in order.order.iter().enumerate() {
                board::move_board(doc, bid, index)?;
            }
            Ok(())
        })
        .await??;
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE /api/workshops/{wid}/boards/{bid}` (facilitator).
pub(super) async fn remove_board(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, bid)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    let wid = caller.wid;
    state
        .hub
        .edit(&doc(&wid)?, move |doc| board::remove_board(doc, &bid))
        .await??;
    Ok(StatusCode::NO_CONTENT)
}
