//! The JSON API: create and read workshops, edit their agenda, rotate links, resolve join
//! codes, and export the day (Markdown, HTML, CSV, JSON).

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use yrs::updates::decoder::Decode;
use yrs::{Doc, Transact, Update};

use super::{client_addr, role_in, ApiError, ApiJson, AppState};
use crate::auth::{code_expiry, Credentials, Gate, Role};
use crate::board::{self, BoardError, BoardView, NewBoard, WorkshopParams};
use crate::doc_id::DocId;
use crate::room::CloseReason;

mod admin;
mod held;
#[cfg(test)]
mod ts;

/// Deletes the workshops whose retention ran out (`--retention`); returns how many.
pub async fn retention_sweep(state: &AppState) -> usize {
    admin::sweep(state).await
}

/// Sweeps for expired workshops every hour, in the background.
pub fn spawn_retention(state: AppState) {
    admin::spawn_sweeper(state);
}

/// The API's routes.
pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/workshops", post(create))
        .route(
            "/api/workshops/{wid}",
            get(show).delete(admin::delete_workshop),
        )
        .route("/api/workshops/{wid}/links", get(links))
        .route("/api/workshops/{wid}/rotate", post(rotate))
        .route(
            "/api/workshops/{wid}/rotate-facilitator",
            post(rotate_facilitator),
        )
        .route("/api/workshops/{wid}/boards", post(add_board))
        .route("/api/workshops/{wid}/boards/order", put(reorder))
        .route("/api/workshops/{wid}/boards/{bid}", delete(remove_board))
        .route("/api/workshops/{wid}/{file}", get(export))
        .route("/api/join/{code}", get(join))
        .merge(admin::routes())
        .merge(held::routes())
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl From<BoardError> for ApiError {
    fn from(e: BoardError) -> Self {
        match e {
            BoardError::NotFound { .. } => ApiError::not_found(e.to_string()),
            other => ApiError::bad_request(other.to_string()),
        }
    }
}

/// A doc id the server built (workshop ids are checked, board ids come from the agenda).
fn doc(id: &str) -> Result<DocId, ApiError> {
    DocId::parse(id).map_err(|e| ApiError::bad_request(e.to_string()))
}

impl From<crate::hub::HubError> for ApiError {
    fn from(e: crate::hub::HubError) -> Self {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
    }
}

/// `?token=` on links that must work as plain downloads.
#[derive(Debug, Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// The secret from `Authorization: Bearer …`, else from `?token=`.
fn token<'a>(headers: &'a HeaderMap, query: &'a TokenQuery) -> Option<&'a str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .or(query.token.as_deref())
}

/// Who calls a workshop route: the workshop id from the path (checked) and the role its
/// secret grants (Bearer header, or `?token=` for plain download links).
struct Caller {
    wid: String,
    role: Role,
}

impl axum::extract::FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, ApiError> {
        let Path(params) =
            Path::<std::collections::HashMap<String, String>>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let wid = params.get("wid").cloned().unwrap_or_default();
        valid_wid(&wid)?;
        let Query(query) = Query::<TokenQuery>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let role = role_in(state, &wid, token(&parts.headers, &query)).await?;
        Ok(Caller { wid, role })
    }
}

impl Caller {
    /// Refuses (403) a caller whose role is not among `allowed`.
    fn allow(&self, state: &AppState, allowed: &[Role]) -> Result<(), ApiError> {
        if allowed.contains(&self.role) {
            return Ok(());
        }
        state.metrics.reject("role_forbidden");
        Err(ApiError::forbidden(format!(
            "a {} link cannot do this",
            role_name(self.role)
        )))
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Facilitator => "facilitator",
        Role::Participant => "participant",
        Role::Viewer => "viewer",
    }
}

/// The three secrets, the page links that carry them (in the fragment) and the join code.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
struct Links {
    secrets: Secrets,
    links: Secrets,
    join_code: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
struct Secrets {
    facilitator: String,
    participant: String,
    viewer: String,
}

fn links_of(c: &Credentials) -> Links {
    let wid = &c.workshop;
    Links {
        links: Secrets {
            facilitator: format!("/w/{wid}/animer#{}", c.facilitator),
            participant: format!("/w/{wid}#{}", c.participant),
            viewer: format!("/w/{wid}/ecran#{}", c.viewer),
        },
        secrets: Secrets {
            facilitator: c.facilitator.clone(),
            participant: c.participant.clone(),
            viewer: c.viewer.clone(),
        },
        join_code: c.join_code.clone(),
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
struct BoardSummary {
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
struct Created {
    id: String,
    boards: Vec<BoardSummary>,
    #[serde(flatten)]
    links: Links,
}

/// `POST /api/workshops`: anyone may start a workshop on their server; they get its
/// facilitator link.
async fn create(
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
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
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

/// 429 (or any error) with a Retry-After of `wait`, in whole seconds.
fn retry_after(error: ApiError, wait: std::time::Duration) -> Response {
    let mut r = error.into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
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
struct Shown {
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

fn valid_wid(wid: &str) -> Result<(), ApiError> {
    let ok = (1..=64).contains(&wid.len())
        && wid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request("invalid workshop id"))
    }
}

/// `GET /api/workshops/{wid}` with any of the three secrets: what the client needs to choose a
/// screen.
async fn show(State(state): State<AppState>, caller: Caller) -> Result<Json<Shown>, ApiError> {
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

/// `GET /api/workshops/{wid}/links` (facilitator): the links to hand out.
async fn links(State(state): State<AppState>, caller: Caller) -> Result<Json<Links>, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    let wid = caller.wid;
    let creds = state.registry.get(&wid).await.map_err(ApiError::internal)?;
    let creds = creds.ok_or_else(|| ApiError::not_found("no such workshop"))?;
    Ok(Json(links_of(&creds)))
}

/// `POST /api/workshops/{wid}/rotate` (facilitator): new participant and viewer secrets and
/// join code; everyone connected with the old ones is disconnected.
async fn rotate(State(state): State<AppState>, caller: Caller) -> Result<Json<Links>, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    let wid = caller.wid;
    let creds = state.registry.get(&wid).await.map_err(ApiError::internal)?;
    let mut creds = creds
        .ok_or_else(|| ApiError::not_found("no such workshop"))?
        .as_ref()
        .clone();
    creds.rotate();
    state
        .registry
        .put(creds.clone())
        .await
        .map_err(ApiError::internal)?;
    close_sessions(&state, &wid, |role| role != Role::Facilitator).await;
    tracing::info!(workshop = %wid, "links rotated");
    Ok(Json(links_of(&creds)))
}

/// `POST /api/workshops/{wid}/rotate-facilitator` (facilitator): a new facilitator secret;
/// every connection opened with the old one is closed (4001), this caller's included.
async fn rotate_facilitator(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Links>, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    let wid = caller.wid;
    let creds = state.registry.get(&wid).await.map_err(ApiError::internal)?;
    let mut creds = creds
        .ok_or_else(|| ApiError::not_found("no such workshop"))?
        .as_ref()
        .clone();
    creds.rotate_facilitator();
    state
        .registry
        .put(creds.clone())
        .await
        .map_err(ApiError::internal)?;
    close_sessions(&state, &wid, |role| role == Role::Facilitator).await;
    tracing::info!(workshop = %wid, "facilitator link rotated");
    Ok(Json(links_of(&creds)))
}

/// Closes (4001) the connections to workshop `wid` opened with a role `which` selects.
async fn close_sessions(state: &AppState, wid: &str, which: impl Fn(Role) -> bool) {
    let revoked: Vec<(u64, DocId)> = state
        .sessions
        .iter()
        .filter(|s| s.workshop == wid && which(s.role))
        .map(|s| (*s.key(), s.doc.clone()))
        .collect();
    for (conn, doc) in revoked {
        state
            .hub
            .kick(
                &doc,
                Box::new(move |c| c == conn),
                CloseReason::new(4001, "this link was renewed by the facilitator"),
            )
            .await;
    }
}

/// `POST /api/workshops/{wid}/boards` (facilitator) `{kind, title, template, …}`.
async fn add_board(
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
    super::refresh_usage(&state, &wid).await?;
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
struct Order {
    order: Vec<String>,
}

/// `PUT /api/workshops/{wid}/boards/order` (facilitator) `{order: [bid, …]}`.
async fn reorder(
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
async fn remove_board(
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
        .filter_map(|id| DocId::parse(id).ok()?.board().map(str::to_string))
        .collect();
    let held = held::held_totals(state, wid, &bids).await?;
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
async fn export(
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
        HeaderValue::from_static(super::edge::EXPORT_CSP),
    );
    Ok(response)
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
struct Joined {
    workshop_id: String,
    link: String,
}

/// `?pow=` on a join-code lookup: the proof of work asked past the free attempts.
#[derive(Debug, Deserialize)]
struct PowQuery {
    pow: Option<String>,
}

/// `GET /api/join/{code}`: the participant link behind a join code. Past its free wrong
/// attempts an address must send a proof of work with each lookup (see `auth::guess`): a right
/// code with its proof is always accepted.
async fn join(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<PowQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<Joined>, Response> {
    let addr = client_addr(&state, peer, &headers);
    let normalised = crate::auth::normalise_code(&code);
    match state.guesses.gate(addr, &normalised, query.pow.as_deref()) {
        Gate::Open => {}
        Gate::Paused(wait) => {
            state.metrics.reject("join_paused");
            return Err(retry_after(
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many wrong codes on this server: use the link or QR code, or wait",
                ),
                wait,
            ));
        }
        Gate::Pow { challenge, bits } => {
            state.metrics.reject("join_pow_required");
            let body = serde_json::json!({
                "error": "too many wrong codes from your network: your device must prove some work first",
                "pow": { "challenge": challenge, "bits": bits },
            });
            return Err((StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response());
        }
    }
    let found = state
        .registry
        .resolve_code(&normalised, now_ms())
        .await
        .map_err(|e| ApiError::internal(e).into_response())?;
    match found {
        Some(creds) => Ok(Json(Joined {
            link: format!("/w/{}#{}", creds.workshop, creds.participant),
            workshop_id: creds.workshop.clone(),
        })),
        None => {
            state.metrics.reject("join_code_wrong");
            state.guesses.fail(addr);
            Err(ApiError::not_found("unknown or expired code").into_response())
        }
    }
}
