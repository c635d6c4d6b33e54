//! The presence table's rules, without sockets.
use super::*;

fn update(client: u64, clock: u32, json: &str) -> AwarenessUpdate {
    let mut clients = HashMap::new();
    clients.insert(
        ClientID::new(client),
        AwarenessUpdateEntry {
            clock,
            json: Arc::from(json),
        },
    );
    AwarenessUpdate { clients }
}

fn state(p: &Presence, client: u64) -> Option<(u32, String)> {
    p.snapshot().and_then(|u| {
        u.clients
            .get(&ClientID::new(client))
            .map(|e| (e.clock, e.json.to_string()))
    })
}

#[test]
fn a_late_echo_does_not_resurrect_a_departed_client() {
    let mut p = Presence::default();
    let now = Instant::now();
    p.apply(
        1,
        &PresenceRights::open(),
        update(7, 3, r#"{"n":"a"}"#),
        now,
    );
    p.take_changes();
    p.forget_conn(1, now);
    let removal = p.take_changes().expect("removal relayed");
    assert_eq!(
        removal.clients.get(&ClientID::new(7)).map(|e| e.clock),
        Some(4)
    );
    // Another peer echoes the old state.
    assert!(!p.apply(
        2,
        &PresenceRights::open(),
        update(7, 3, r#"{"n":"a"}"#),
        now
    ));
    assert_eq!(state(&p, 7), None);
    assert!(p.take_changes().is_none());
}

#[test]
fn a_client_id_belongs_to_its_device_and_states_match_the_role() {
    let mut p = Presence::default();
    let now = Instant::now();
    let phone = |device: &str| PresenceRights {
        device: Some(Arc::from(device)),
        screens: Some(&["participant"]),
        strict: true,
    };
    let alice = r#"{"id":"A","screen":"participant"}"#;
    assert!(p.apply(1, &phone("A"), update(7, 1, alice), now));
    p.take_changes();
    // Another device: neither overwrite nor removal.
    assert!(!p.apply(2, &phone("B"), update(7, 9, r#"{"id":"B"}"#), now));
    assert!(!p.apply(2, &phone("B"), update(7, 10, "null"), now));
    // Posing as the projector, or as another device.
    let projector = r#"{"id":"B","screen":"projector"}"#;
    assert!(!p.apply(2, &phone("B"), update(8, 1, projector), now));
    assert!(!p.apply(2, &phone("B"), update(8, 1, r#"{"id":"A"}"#), now));
    assert_eq!(p.take_drops(), [NOT_OWNER, NOT_OWNER, FORGED, FORGED]);
    assert_eq!(state(&p, 7), Some((1, alice.to_string())));
    // The same device on a new socket takes its id over.
    assert!(p.apply(3, &phone("A"), update(7, 2, r#"{"id":"A","n":2}"#), now));
    assert_eq!(state(&p, 7).map(|s| s.0), Some(2));
}

#[test]
fn an_old_connection_closing_keeps_a_state_renewed_elsewhere() {
    let mut p = Presence::default();
    let now = Instant::now();
    p.apply(1, &PresenceRights::open(), update(7, 1, r#"{"n":1}"#), now);
    p.apply(2, &PresenceRights::open(), update(7, 2, r#"{"n":2}"#), now);
    p.take_changes();
    assert!(!p.forget_conn(1, now));
    assert_eq!(state(&p, 7), Some((2, r#"{"n":2}"#.to_string())));
    p.forget_conn(2, now);
    assert_eq!(state(&p, 7), None);
}

#[test]
fn renewals_wait_for_the_bulk_relay_but_ride_along_with_changes() {
    let mut p = Presence::default();
    let t0 = Instant::now();
    p.apply(1, &PresenceRights::open(), update(7, 1, r#"{"n":1}"#), t0);
    p.take_changes();
    assert!(
        !p.apply(1, &PresenceRights::open(), update(7, 2, r#"{"n":1}"#), t0),
        "a renewal is not urgent"
    );
    assert!(
        p.take_renewals(t0, Duration::from_secs(5)).is_some(),
        "first bulk relay is due"
    );
    assert!(!p.apply(1, &PresenceRights::open(), update(7, 3, r#"{"n":1}"#), t0));
    assert!(p
        .take_renewals(t0 + Duration::from_secs(1), Duration::from_secs(5))
        .is_none());
    assert!(p.apply(1, &PresenceRights::open(), update(8, 1, r#"{"m":1}"#), t0));
    let both = p.take_changes().expect("changes");
    assert_eq!(both.clients.len(), 2, "the pending renewal rides along");
}

#[test]
fn states_expire_and_tombstones_are_forgotten_later() {
    let mut p = Presence::default();
    let t0 = Instant::now();
    let timeout = Duration::from_secs(30);
    p.apply(1, &PresenceRights::open(), update(7, 1, "{}"), t0);
    p.take_changes();
    assert!(!p.expire(t0 + Duration::from_secs(29), timeout));
    assert!(p.expire(t0 + Duration::from_secs(30), timeout));
    assert_eq!(state(&p, 7), None);
    p.expire(t0 + Duration::from_secs(91), timeout);
    assert!(p.entries.is_empty());
}

#[test]
fn one_connection_cannot_announce_a_crowd() {
    let mut p = Presence::default();
    let now = Instant::now();
    for id in 1..=100u64 {
        p.apply(1, &PresenceRights::open(), update(id, 1, "{}"), now);
    }
    assert_eq!(p.snapshot().map_or(0, |u| u.clients.len()), MAX_OWNED);
    p.forget_conn(1, now);
    assert!(p.snapshot().is_none());
    assert!(p.owned.is_empty());
    // Its place is free again for a newcomer.
    assert!(p.apply(2, &PresenceRights::open(), update(500, 1, "{}"), now));
}

#[test]
fn a_removal_with_the_same_clock_wins_over_the_state() {
    let mut p = Presence::default();
    let now = Instant::now();
    p.apply(1, &PresenceRights::open(), update(7, 5, "{}"), now);
    assert!(p.apply(1, &PresenceRights::open(), update(7, 5, "null"), now));
    assert_eq!(state(&p, 7), None);
}

#[test]
fn states_past_the_budgets_are_dropped_with_a_reason() {
    let mut p = Presence::with_limits(PresenceLimits {
        state_bytes: 10,
        doc_bytes: 25,
    });
    let t = Instant::now();
    assert!(!p.apply(1, &PresenceRights::open(), update(1, 1, &"x".repeat(11)), t));
    assert_eq!(p.take_drops(), vec![STATE_TOO_BIG]);
    assert!(p.apply(1, &PresenceRights::open(), update(1, 1, &"a".repeat(10)), t));
    assert!(p.apply(2, &PresenceRights::open(), update(2, 1, &"b".repeat(10)), t));
    p.apply(3, &PresenceRights::open(), update(3, 1, &"c".repeat(10)), t);
    assert_eq!(p.take_drops(), vec![DOC_FULL]);
    assert_eq!(p.bytes(), 20);
    // Replacing a state counts the difference; leaving frees its bytes.
    p.apply(1, &PresenceRights::open(), update(1, 2, "aa"), t);
    assert_eq!(p.bytes(), 12);
    p.forget_conn(2, t);
    assert_eq!(p.bytes(), 2);
    p.apply(3, &PresenceRights::open(), update(3, 1, &"c".repeat(10)), t);
    assert!(p.take_drops().is_empty());
    let shown: usize = p
        .snapshot()
        .map_or(0, |s| s.clients.values().map(|e| e.json.len()).sum());
    assert!(shown <= 25, "a newcomer is sent at most the budget");
}
