//! Ending a workshop, as the law asks (RGPD), and listing people from their phones: delete a
//! workshop (every board, log entry, snapshot, credential and join code), say when retention will
//! delete it, the retention sweep itself, and a phone's "add me to the list of people present".

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use super::{now_ms, ApiError, ApiJson, AppState, Caller};
use crate::auth::Role;
use crate::board::people::{request_listing, ListingRequest};
use crate::doc_id::DocId;

/// `DELETE /api/workshops/{wid}` (facilitator): the workshop leaves the store; its links stop
/// working at once.
pub(super) async fn delete_workshop(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    caller.allow(&state, &[Role::Facilitator])?;
    erase(&state, &caller.wid).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes every link, closes the rooms (their last commits land first), then removes the
/// workshop's docs, credentials and join codes from the store in one transaction.
pub(crate) async fn erase(state: &AppState, wid: &str) -> Result<(), ApiError> {
    state.registry.revoke(wid);
    let revoked: Vec<u64> = state
        .sessions
        .iter()
        .filter(|s| s.workshop == wid)
        .map(|s| *s.key())
        .collect();
    for conn in revoked {
        state.sessions.remove(&conn);
    }
    state.hub.close_workshop(wid).await;
    state
        .store
        .delete_workshop(wid)
        .await
        .map_err(ApiError::internal)?;
    state.hub.held_counts().forget_workshop(wid);
    state.registry.announce(wid);
    tracing::info!(workshop = %wid, "workshop deleted");
    Ok(())
}

/// When a workshop will be deleted by the retention rule.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Retention {
    /// Days kept after the workshop's date; `null` when the server keeps workshops.
    retention_days: Option<u64>,
    /// The day it will be deleted (`yyyy-mm-dd`), `null` when never.
    deletes_on: Option<String>,
}

/// Day number (Julian) of a workshop's date, else of its creation day.
fn workshop_day(date: &str, created_at: i64) -> Option<i32> {
    let mut parts = date.trim().splitn(3, '-').map(|p| p.parse::<i32>().ok());
    let parsed = match (
        parts.next().flatten(),
        parts.next().flatten(),
        parts.next().flatten(),
    ) {
        (Some(y), Some(m), Some(d)) => u8::try_from(m)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
            .and_then(|m| time::Date::from_calendar_date(y, m, u8::try_from(d).ok()?).ok()),
        _ => None,
    };
    parsed
        .or_else(|| {
            time::OffsetDateTime::from_unix_timestamp(created_at / 1000)
                .ok()
                .filter(|_| created_at > 0)
                .map(|t| t.date())
        })
        .map(time::Date::to_julian_day)
}

fn retention_days(retention: Duration) -> u64 {
    retention.as_secs().div_ceil(86_400)
}

/// The Julian day workshop `wid` is to be deleted on, if retention is on and its date is known.
async fn deletion_day(state: &AppState, wid: &str) -> Result<Option<i32>, ApiError> {
    let Some(retention) = state.config.retention else {
        return Ok(None);
    };
    let doc = DocId::parse(wid).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (date, created) = state
        .hub
        .read(&doc, |d| {
            let v = crate::board::read_workshop(d, &[]);
            (v.date, v.created_at)
        })
        .await?;
    let days = i32::try_from(retention_days(retention)).unwrap_or(i32::MAX);
    Ok(workshop_day(&date, created).map(|day| day.saturating_add(days)))
}

fn iso_day(julian: i32) -> Option<String> {
    let d = time::Date::from_julian_day(julian).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}",
        d.year(),
        u8::from(d.month()),
        d.day()
    ))
}

/// `GET /api/workshops/{wid}/retention` (any link): when the workshop will be deleted.
pub(super) async fn retention(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Retention>, ApiError> {
    let day = deletion_day(&state, &caller.wid).await?;
    Ok(Json(Retention {
        retention_days: state.config.retention.map(retention_days),
        deletes_on: day.and_then(iso_day),
    }))
}

/// `POST /api/workshops/{wid}/requests` (participant or facilitator) `{id, name, role,
/// organisation}`: a phone asks to be listed; the facilitator sees it and accepts.
pub(super) async fn request(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ListingRequest>,
) -> Result<StatusCode, ApiError> {
    caller.allow(&state, &[Role::Participant, Role::Facilitator])?;
    let doc = DocId::parse(&caller.wid).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let now = now_ms();
    state
        .hub
        .edit(&doc, move |d| request_listing(d, &req, now))
        .await??;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes every workshop whose retention has run out; returns how many.
pub(crate) async fn sweep(state: &AppState) -> usize {
    let Some(_) = state.config.retention else {
        return 0;
    };
    let today = time::OffsetDateTime::now_utc().date().to_julian_day();
    let wids = match state.registry.workshops().await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "retention: cannot list workshops");
            return 0;
        }
    };
    let mut deleted = 0;
    for wid in wids {
        match deletion_day(state, &wid).await {
            Ok(Some(day)) if day <= today => match erase(state, &wid).await {
                Ok(()) => deleted += 1,
                Err(e) => tracing::warn!(workshop = %wid, error = ?e, "retention: delete failed"),
            },
            Ok(_) => {}
            Err(e) => tracing::warn!(workshop = %wid, error = ?e, "retention: cannot read"),
        }
    }
    if deleted > 0 {
        tracing::info!(deleted, "retention: workshops deleted");
    }
    deleted
}

/// Runs the retention sweep now and then every hour, until the process stops.
pub(crate) fn spawn_sweeper(state: AppState) {
    if state.config.retention.is_none() {
        return;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            if state
                .shutting_down
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return;
            }
            sweep(&state).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_the_workshop_date_or_its_creation() {
        let may9 = workshop_day("2023-05-09", 0).expect("a date");
        assert_eq!(iso_day(may9 + 90).as_deref(), Some("2023-08-07"));
        let created = workshop_day("printemps", 1_683_619_200_000).expect("creation day");
        assert_eq!(created, may9);
        assert_eq!(workshop_day("", 0), None);
        assert_eq!(retention_days(Duration::from_secs(90 * 86_400)), 90);
        assert_eq!(retention_days(Duration::from_secs(3600)), 1);
    }
}
