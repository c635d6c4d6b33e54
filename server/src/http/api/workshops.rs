//! Starting a workshop (with its first boards and its three secrets) and reading what a link
//! holder needs to choose a screen.

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::links::{links_of, Links};
use super::{bearer, doc, now_ms, retry_after, ApiError, ApiJson, AppState, Caller};
use crate::auth::{code_expiry, Credentials, Role};
use crate::board::{self, BoardView, NewBoard, WorkshopParams};
use crate::http::client_addr;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct BoardSummary {
    id: String,
    doc_id: String,
    kind: board::BoardKind,
    title: String,
}

impl From<&NewBoard> for BoardSummary {
    fn from(b: &NewBoard) -> Self {
        BoardSummary {
            id: b.id.clone(),
            doc_id: b.doc_id.clone(),
            kind: b.kind,
            title: b.title.clone(),
        }
    }
}

impl BoardSummary {
    fn of(wid: &str, b: &BoardView) -> Self {
        BoardSummary {
            id: b.id.clone(),
            doc_id: format!("{wid}.{}", b.id),
            kind: b.kind,
            title: b.title.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct Created {
    id: String,
    boards: Vec<BoardSummary>,
    #[serde(flatten)]
    links: Links,
}

/// `POST /api/workshops`: anyone may start a workshop on their server; they get its
/// facilitator link.
pub(super) async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(params): ApiJson<WorkshopParams>,
) -> Result<Response, Response> {
    if state.shutting_down.load(Relaxed) {
        return Err(
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "server is restarting").into_response(),
        );
    }
    let addr = client_addr(&state, peer, &headers);
    if let Err(wait) = state.edge.may_create(addr) {
        state.metrics.reject("create_rate");
        return Err(retry_after(
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many workshops created: wait before creating another",
            ),
            wait,
        ));
    }
    if let Some(required) = state.config.create_token.as_deref() {
        let given = bearer(&headers);
        let ok = given.is_some_and(|g| bool::from(g.as_bytes().ct_eq(required.as_bytes())));
        if !ok {
            state.metrics.reject(if given.is_some() {
                "bad_create_token"
            } else {
                "no_create_token"
            });
            let (status, message) = match given {
                None => (
                    StatusCode::UNAUTHORIZED,
                    "this server needs its creation token to start a workshop",
                ),
                Some(_) => (StatusCode::FORBIDDEN, "wrong creation token"),
            };
            let body = serde_json::json!({ "error": message, "need": "createToken" });
            return Err((status, Json(body)).into_response());
        }
    }
    create_workshop(&state, &params)
        .await
        .map_err(IntoResponse::into_response)
}

async fn create_workshop(state: &AppState, params: &WorkshopParams) -> Result<Response, ApiError> {
    let now = now_ms();
    let created = board::new_workshop(params, now, &mut rand::rng())?;
    // The docs are brand new and their id unguessable, so no room can hold them yet: writing
    // straight to the store is safe, and they are stored before any credential points at them.
    let store = state.store.clone();
    store
        .append(&created.id, created.update.clone().into())
        .await
        .map_err(ApiError::internal)?;
    for b in &created.boards {
        store
            .append(&b.doc_id, b.update.clone().into())
            .await
            .map_err(ApiError::internal)?;
    }
    let creds = Credentials::generate(&created.id, code_expiry(&params.date, now));
    state
        .registry
        .put(creds.clone())
        .await
        .map_err(ApiError::internal)?;
    tracing::info!(workshop = %created.id, boards = created.boards.len(), "workshop created");
    let body = Created {
        id: created.id.clone(),
        boards: created.boards.iter().map(BoardSummary::from).collect(),
        links: links_of(&creds),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct Shown {
    id: String,
    role: Role,
    title: String,
    date: String,
    place: String,
    projected: Option<String>,
    boards: Vec<BoardSummary>,
    /// The join code, for the screens that display it (facilitator and projector).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    join_code: Option<String>,
}

/// `GET /api/workshops/{wid}` with any of the three secrets: what the client needs to choose a
/// screen.
pub(super) async fn show(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Shown>, ApiError> {
    let Caller { wid, role } = caller;
    let view = state
        .hub
        .read(&doc(&wid)?, |doc| board::read_workshop(doc, &[]))
        .await?;
    let join_code = match role {
        Role::Facilitator | Role::Viewer => {
            let creds = state.registry.get(&wid).await.map_err(ApiError::internal)?;
            creds.map(|c| c.join_code.clone())
        }
        Role::Participant => None,
    };
    Ok(Json(Shown {
        join_code,
        role,
        title: view.title,
        date: view.date,
        place: view.place,
        projected: view.projected,
        boards: view
            .boards
            .iter()
            .map(|b| BoardSummary::of(&wid, b))
            .collect(),
        id: wid,
    }))
}
