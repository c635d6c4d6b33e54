//! Resolving a join code to the participant link, behind the guess limiter (`auth::guess`).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::{now_ms, retry_after, ApiError, AppState};
use crate::auth::Gate;
use crate::http::client_addr;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct Joined {
    workshop_id: String,
    link: String,
}

/// `?pow=` on a join-code lookup: the proof of work asked past the free attempts.
#[derive(Debug, Deserialize)]
pub(super) struct PowQuery {
    pow: Option<String>,
}

/// `GET /api/join/{code}`: the participant link behind a join code. Past its free wrong
/// attempts an address must send a proof of work with each lookup (see `auth::guess`): a right
/// code with its proof is always accepted.
pub(super) async fn join(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(query): Query<PowQuery>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<Joined>, Response> {
    let addr = client_addr(&state, peer, &headers);
    let normalised = crate::auth::normalise_code(&code);
    match state
        .guesses
        .check(addr, &normalised, query.pow.as_deref())
        .await
    {
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
            state.guesses.record_failure(addr).await;
            Err(ApiError::not_found("unknown or expired code").into_response())
        }
    }
}
