//! Handing out a workshop's links: read them, and renew them (the participant link and join code,
//! or the facilitator's own with the projector's), closing the connections opened with the old
//! secrets.

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use super::{doc, now_ms, ApiError, AppState, Caller};
use crate::auth::{Credentials, Role};
use crate::board;
use crate::doc_id::DocId;
use crate::room::CloseReason;

/// The three secrets, the page links that carry them (in the fragment) and the join code.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct Links {
    secrets: Secrets,
    links: Secrets,
    join_code: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub(super) struct Secrets {
    facilitator: String,
    participant: String,
    viewer: String,
}

pub(super) fn links_of(c: &Credentials) -> Links {
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

/// `GET /api/workshops/{wid}/links` (facilitator): the links to hand out.
pub(super) async fn links(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Links>, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    let creds = state
        .registry
        .get(&caller.wid)
        .await
        .map_err(ApiError::internal)?;
    let creds = creds.ok_or_else(|| ApiError::not_found("no such workshop"))?;
    Ok(Json(links_of(&creds)))
}

/// `POST /api/workshops/{wid}/rotate` (facilitator): a new participant secret and join code;
/// participants connected with the old one are disconnected (4001). The viewer secret stays and
/// the workshop doc's `linksRenewed` is set, so a projector anywhere fetches the new code itself.
pub(super) async fn rotate(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Links>, ApiError> {
    let renewal = Renewal {
        change: Credentials::rotate,
        closes: |role| role == Role::Participant,
        what: "links rotated",
    };
    let wid = caller.wid.clone();
    let links = renew(&state, caller, renewal).await?;
    let now = now_ms();
    state
        .hub
        .edit(&doc(&wid)?, move |d| board::mark_links_renewed(d, now))
        .await?;
    Ok(links)
}

/// `POST /api/workshops/{wid}/rotate-facilitator` (facilitator): new facilitator and viewer
/// secrets (the links only the facilitator holds); every connection opened with the old ones is
/// closed (4001), this caller's included.
pub(super) async fn rotate_facilitator(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Links>, ApiError> {
    let renewal = Renewal {
        change: Credentials::rotate_facilitator,
        closes: |role| role != Role::Participant,
        what: "facilitator link rotated",
    };
    renew(&state, caller, renewal).await
}

/// One way of renewing secrets: what changes, whose connections close, what the log says.
struct Renewal {
    change: fn(&mut Credentials),
    closes: fn(Role) -> bool,
    what: &'static str,
}

/// Stores the renewed credentials first, then closes the connections the old secrets opened.
async fn renew(
    state: &AppState,
    caller: Caller,
    renewal: Renewal,
) -> Result<Json<Links>, ApiError> {
    caller.allow(state, &[Role::Facilitator])?;
    let wid = caller.wid;
    let creds = state.registry.get(&wid).await.map_err(ApiError::internal)?;
    let mut creds = creds
        .ok_or_else(|| ApiError::not_found("no such workshop"))?
        .as_ref()
        .clone();
    (renewal.change)(&mut creds);
    state
        .registry
        .put(creds.clone())
        .await
        .map_err(ApiError::internal)?;
    close_sessions(state, &wid, renewal.closes).await;
    tracing::info!(workshop = %wid, "{}", renewal.what);
    Ok(Json(links_of(&creds)))
}

/// Closes (4001) the connections to workshop `wid` opened with a role `which` selects.
pub(crate) async fn close_sessions(state: &AppState, wid: &str, which: impl Fn(Role) -> bool) {
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
