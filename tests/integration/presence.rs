//! Awareness (presence): relayed to everyone, given to late joiners, removed when the client
//! that announced it leaves, and expired when not renewed.

use std::time::Duration;

use crate::client::{Presence, TestClient};
use crate::harness::{TestResult, TestServer, WAIT};

fn state_of(client: &TestClient, id: u64) -> Option<Presence> {
    client.state().awareness.get(&id).cloned()
}

#[tokio::test]
async fn awareness_is_relayed_and_removed_when_its_client_leaves() -> TestResult {
    let server = TestServer::start().await?;
    let url = server.ws_url("presence");
    let mut alice = TestClient::connect(&url).await?;
    let bob = TestClient::connect(&url).await?;
    let alice_id = alice.client_id();
    alice.set_awareness(r##"{"user":{"name":"Alice","color":"#e4572e"}}"##);
    bob.wait_state("alice's presence", WAIT, |s| {
        s.awareness
            .get(&alice_id)
            .is_some_and(|p| p.state.as_deref().is_some_and(|j| j.contains("Alice")))
    })
    .await?;

    // A late joiner is told who is here as part of joining.
    let carol = TestClient::connect(&url).await?;
    carol
        .wait_state("alice's presence on join", WAIT, |s| {
            s.awareness
                .get(&alice_id)
                .is_some_and(|p| p.state.is_some())
        })
        .await?;

    // Query-awareness gets the current states too.
    let dave = TestClient::connect_raw(&url).await?;
    dave.send_raw(palabre::protocol::encode_query_awareness());
    dave.wait_state("an answer to query-awareness", WAIT, |s| {
        s.awareness.contains_key(&alice_id)
    })
    .await?;

    let clock = state_of(&bob, alice_id)
        .map(|p| p.clock)
        .unwrap_or_default();
    alice.disconnect_abruptly();
    for (name, client) in [("bob", &bob), ("carol", &carol)] {
        client
            .wait_state(&format!("{name} to see alice removed"), WAIT, |s| {
                s.awareness
                    .get(&alice_id)
                    .is_some_and(|p| p.state.is_none())
            })
            .await?;
        let removal = state_of(client, alice_id);
        assert_eq!(
            removal,
            Some(Presence {
                clock: clock + 1,
                state: None
            }),
            "removal bumps the clock"
        );
    }

    // Clearing one's own state explicitly is relayed as well.
    let mut erin = TestClient::connect(&url).await?;
    let erin_id = erin.client_id();
    erin.set_awareness(r#"{"user":{"name":"Erin"}}"#);
    bob.wait_state("erin's presence", WAIT, |s| {
        s.awareness.get(&erin_id).is_some_and(|p| p.state.is_some())
    })
    .await?;
    erin.clear_awareness();
    bob.wait_state("erin's removal", WAIT, |s| {
        s.awareness.get(&erin_id).is_some_and(|p| p.state.is_none())
    })
    .await?;
    let newcomer = TestClient::connect(&url).await?;
    let known = newcomer.state().awareness;
    assert!(
        known.values().all(|p| p.state.is_some())
            && !known.contains_key(&alice_id)
            && !known.contains_key(&erin_id),
        "a newcomer is not told about departed clients: {known:?}"
    );
    Ok(())
}

#[tokio::test]
async fn awareness_not_renewed_expires() -> TestResult {
    let server = TestServer::start_with(|c| c.awareness_timeout = Duration::from_secs(1)).await?;
    let url = server.ws_url("presence-expiry");
    let mut quiet = TestClient::connect(&url).await?;
    let mut busy = TestClient::connect(&url).await?;
    let observer = TestClient::connect(&url).await?;
    let (quiet_id, busy_id) = (quiet.client_id(), busy.client_id());
    quiet.set_awareness(r#"{"user":{"name":"quiet"}}"#);
    busy.set_awareness(r#"{"user":{"name":"busy","n":0}}"#);
    observer
        .wait_state("both presences", WAIT, |s| {
            [quiet_id, busy_id]
                .iter()
                .all(|id| s.awareness.get(id).is_some_and(|p| p.state.is_some()))
        })
        .await?;
    // `busy` renews ten times per timeout period (as y-protocols does, with a new clock);
    // `quiet` stays connected but never renews.
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut n = 0;
    loop {
        let s = observer.state();
        if s.awareness
            .get(&quiet_id)
            .is_some_and(|p| p.state.is_none())
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "quiet's presence never expired"
        );
        n += 1;
        busy.set_awareness(&format!(r#"{{"user":{{"name":"busy","n":{n}}}}}"#));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = observer.state();
    assert!(
        s.awareness.get(&busy_id).is_some_and(|p| p.state.is_some()),
        "a renewed presence stays: {s:?}"
    );
    assert!(
        quiet.is_connected(),
        "expiry removes the presence, not the connection"
    );
    Ok(())
}
