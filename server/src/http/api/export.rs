//! The day's report (Markdown, HTML, CSV, JSON) for the facilitator and the projector.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::{doc, ApiError, AppState, Caller};
use crate::auth::Role;
use crate::board::{self, BoardError};

/// A consistent view of the whole day: the workshop doc, then each of its boards' current state.
/// Each doc's snapshot is taken inside its room (off the async threads); decoding them, building
/// the view and `render` run on a blocking thread too.
async fn workshop_view<T: Send + 'static>(
    state: &AppState,
    wid: &str,
    render: impl FnOnce(&board::WorkshopView) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let (workshop, board_ids) = state
        .hub
        .read(&doc(wid)?, |d| {
            (board::encode_doc(d), board::workshop::board_doc_ids(d))
        })
        .await?;
    let bids: Vec<String> = board_ids
        .iter()
        .filter_map(|id| {
            crate::doc_id::DocId::parse(id)
                .ok()?
                .board()
                .map(str::to_string)
        })
        .collect();
    // Notes still held back in their writers' held docs: counted, never shown (schema §6).
    let held = super::held::held_totals(state, wid, &bids).await?;
    let mut boards = Vec::new();
    for doc_id in board_ids {
        let bytes = state.hub.read(&doc(&doc_id)?, board::encode_doc).await?;
        boards.push((doc_id, bytes));
    }
    let rendered = tokio::task::spawn_blocking(move || -> Result<T, BoardError> {
        let workshop = board::doc_from_update(&workshop)?;
        let boards = boards
            .into_iter()
            .map(|(id, bytes)| Ok((id, board::doc_from_update(&bytes)?)))
            .collect::<Result<Vec<_>, BoardError>>()?;
        let mut view = board::read_workshop(&workshop, &boards);
        board::view::add_held(&mut view, &held);
        Ok(render(&view))
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(rendered?)
}

/// `GET /api/workshops/{wid}/export.{md,html,csv,json}` (facilitator or viewer): the day's report.
pub(super) async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path((_, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let format = file
        .strip_prefix("export.")
        .and_then(|ext| ext.parse::<board::export::Format>().ok())
        .filter(|f| file == format!("export.{}", f.ext()))
        .ok_or_else(|| ApiError::not_found("no such export (export.md, .html, .csv or .json)"))?;
    caller.allow(&state, &[Role::Facilitator, Role::Viewer])?;
    let wid = caller.wid;
    let (body, name) = workshop_view(&state, &wid, move |view| {
        (format.render(view), format.file_name(view))
    })
    .await?;
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.mime()),
    );
    if format != board::export::Format::Html {
        let disposition = format!("attachment; filename=\"{name}\"");
        if let Ok(v) = HeaderValue::from_str(&disposition) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(crate::http::edge::EXPORT_CSP),
    );
    Ok(response)
}
