//! The JSON API: the route table (every route of `/api`, in one place), who calls
//! (`Caller`: the workshop in the path and the role its secret grants) and the helpers the
//! handlers share. The handlers live by concern in `api/`: `workshops` (create, show), `links`
//! (read, renew), `boards` (the agenda), `export` (the day's report), `join` (join codes) and
//! `admin` (deletion, retention, listing requests).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use serde::Deserialize;

use super::{role_in, ApiError, ApiJson, AppState};
use crate::auth::Role;
use crate::board::BoardError;
use crate::doc_id::DocId;

mod admin;
mod boards;
mod export;
mod join;
mod links;
pub(crate) use links::close_sessions;
#[cfg(test)]
mod ts;
mod workshops;

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
        .route("/api/workshops", post(workshops::create))
        .route(
            "/api/workshops/{wid}",
            get(workshops::show).delete(admin::delete_workshop),
        )
        .route("/api/workshops/{wid}/links", get(links::links))
        .route("/api/workshops/{wid}/rotate", post(links::rotate))
        .route(
            "/api/workshops/{wid}/rotate-facilitator",
            post(links::rotate_facilitator),
        )
        .route("/api/workshops/{wid}/boards", post(boards::add_board))
        .route("/api/workshops/{wid}/boards/order", put(boards::reorder))
        .route(
            "/api/workshops/{wid}/boards/{bid}",
            delete(boards::remove_board),
        )
        .route("/api/workshops/{wid}/retention", get(admin::retention))
        .route("/api/workshops/{wid}/requests", post(admin::request))
        .route("/api/workshops/{wid}/{file}", get(export::export))
        .route("/api/join/{code}", get(join::join))
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
    bearer(headers).or(query.token.as_deref())
}

/// The value of `Authorization: Bearer …`, if any.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
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

/// 429 (or any error) with a Retry-After of `wait`, in whole seconds.
pub(super) fn retry_after(error: ApiError, wait: std::time::Duration) -> Response {
    let mut r = error.into_response();
    if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
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
