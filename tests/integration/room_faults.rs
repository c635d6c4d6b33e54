//! A room under store faults, reached for real through the `test-hooks` fault store: a commit
//! held in flight while the room goes idle, and a commit that fails (the 1011 path).

use std::time::Duration;

use palabre::store::faults;

use crate::client::{note_ids, TestClient};
use crate::harness::{eventually, TestResult, TestServer, WAIT};

#[tokio::test]
async fn an_idle_room_keeps_its_commit_in_flight_and_relays_it_before_eviction() -> TestResult {
    let server = TestServer::start_with(|c| c.room_idle = Duration::from_millis(100)).await?;
    let doc = "room-faults-in-flight";
    let url = server.ws_url(doc);
    let gate = faults::hold_appends(doc);

    let mut writer = TestClient::connect(&url).await?;
    writer.add_note("held", "written while the disk is slow");
    eventually("the room to receive the update", WAIT, || async {
        server
            .metrics()
            .await
            .is_ok_and(|m| m.value("palabre_updates_in_total") >= 1.0)
    })
    .await?;
    writer.close().await;
    // Ten idle periods with nobody connected and the commit in flight: the room must stay.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let m = server.metrics().await?;
    assert_eq!(
        m.value("palabre_evictions_total"),
        0.0,
        "evicted with a commit in flight"
    );
    assert_eq!(m.value("palabre_rooms_loaded"), 1.0);

    // A newcomer joins the same room: its sync reply would reveal what is not durable yet, so
    // the room holds it...
    let joining = tokio::spawn({
        let url = url.clone();
        async move { TestClient::connect(&url).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !joining.is_finished(),
        "a reply revealed a commit still in flight"
    );
    // ...and sends it once the commit lands.
    gate.release();
    let reader = joining
        .await
        .map_err(|e| crate::harness::TestError::Protocol(e.to_string()))??;
    assert!(reader.note_ids().contains("held"));
    assert_eq!(
        server.metrics().await?.value("palabre_evictions_total"),
        0.0,
        "the room went away with its commit in flight; the newcomer got a fresh one"
    );

    drop(reader);
    eventually("the idle room to be evicted", WAIT, || async {
        server.metrics().await.is_ok_and(|m| {
            m.value("palabre_evictions_total") >= 1.0 && m.value("palabre_rooms_loaded") == 0.0
        })
    })
    .await?;
    let later = TestClient::connect(&url).await?;
    assert!(later.note_ids().contains("held"), "lost across eviction");
    Ok(())
}

#[tokio::test]
async fn a_failed_commit_closes_the_room_with_1011_reveals_nothing_and_the_resend_lands(
) -> TestResult {
    let server = TestServer::start().await?;
    let doc = "room-faults-1011";
    let url = server.ws_url(doc);
    let mut alice = TestClient::connect(&url).await?;
    let bob = TestClient::connect(&url).await?;
    alice.add_note("kept", "before the fault");
    bob.wait_until("the first note", WAIT, |d| note_ids(d).contains("kept"))
        .await?;

    faults::fail_appends(doc, 1);
    alice.add_note("resent", "written when the disk failed");
    let (a, b) = (alice.wait_closed().await?, bob.wait_closed().await?);
    assert_eq!((a.code, b.code), (Some(1011), Some(1011)), "{a:?} {b:?}");
    assert!(
        !bob.note_ids().contains("resent"),
        "a failed commit was relayed"
    );
    let m = server.metrics().await?;
    assert!(m.value("palabre_rejected_total{reason=\"storage_error\"}") >= 1.0);

    // The room rebuilt its doc from disk: a newcomer gets what was durable, not the failed note.
    let carol = TestClient::connect(&url).await?;
    assert!(carol.note_ids().contains("kept"));
    assert!(
        !carol.note_ids().contains("resent"),
        "a failed commit was revealed"
    );

    // Alice still has her note; her reconnection resends it and this time it is stored.
    alice.reconnect().await?;
    carol
        .wait_until("alice's resent note", WAIT, |d| {
            note_ids(d).contains("resent")
        })
        .await?;
    Ok(())
}
