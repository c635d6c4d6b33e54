//! Held papers over their life: kept across reloads, offline spells and restarts, discarded
//! without reaching anyone, revealed with their writer as author on a signed grid, and a reveal
//! cut short by a failed commit finished by the next one.

use super::*;

#[tokio::test]
async fn the_writer_keeps_its_papers_across_reload_offline_and_restarts_and_discards_reach_nobody(
) -> TestResult {
    let mut server = TestServer::start().await?;
    let (w0, bid) = workshop(&server, "icebreaker").await?;
    let alice_doc = held_id(&w0, &bid, ALICE)?;

    // Three papers, then a reload: a fresh page finds them on the server.
    let first = TestClient::connect(&phone_url(&w0, &alice_doc, ALICE)).await?;
    edit_doc(&first, |d| {
        held::add_held(d, &paper("n1", "un"), 1)?;
        held::add_held(d, &paper("n2", "deux"), 2)?;
        held::add_held(d, &paper("n3", "DISCARD-ME-INSULT"), 3)
    })?
    .map_err(model)?;
    wait_server_has(&w0.ws_url(&alice_doc, &w0.facilitator), &first).await?;
    drop(first);
    let reloaded = TestClient::connect(&phone_url(&w0, &alice_doc, ALICE)).await?;
    assert_eq!(held::read_held(reloaded.doc()).len(), 3);
    edit_doc(&reloaded, |d| held::edit_held(d, "n1", "un, revu"))?.map_err(model)?;
    wait_server_has(&w0.ws_url(&alice_doc, &w0.facilitator), &reloaded).await?;

    // Offline: the phone edits its copy, the next connection carries it.
    let cached = Doc::new();
    {
        let state = reloaded
            .doc()
            .transact()
            .encode_state_as_update_v1(&StateVector::default());
        let u = Update::decode_v1(&state).map_err(|e| TestError::Protocol(e.to_string()))?;
        cached
            .transact_mut()
            .apply_update(u)
            .map_err(|e| TestError::Protocol(e.to_string()))?;
    }
    drop(reloaded);
    held::edit_held(&cached, "n2", "deux, écrit hors ligne").map_err(model)?;

    server.restart().await?;
    let w = Workshop {
        addr: server.addr(),
        ..w0
    };
    let back = TestClient::connect_with_doc(&phone_url(&w, &alice_doc, ALICE), cached).await?;
    wait_server_has(&w.ws_url(&alice_doc, &w.facilitator), &back).await?;
    let texts: Vec<String> = list(&w, &bid)
        .await?
        .iter()
        .map(|n| n["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        texts,
        ["un, revu", "deux, écrit hors ligne", "DISCARD-ME-INSULT"]
    );

    // Another participant cannot write it, even forging a connection without a device.
    let (status, _) = upgrade(&phone_url(&w, &alice_doc, BOB), &[]).await?;
    assert_eq!(status, 403);

    let board = format!("{}.{bid}", w.id);
    let bob_board = Spy::open(&phone_url(&w, &board, BOB)).await?;
    let bob_workshop = Spy::open(&phone_url(&w, &w.id, BOB)).await?;
    let projector = Spy::open(&w.ws_url(&board, &w.viewer)).await?;

    // Discard one: it leaves Alice's phone too, and never reaches anyone else.
    assert_eq!(act(&w, &bid, "discard", Some(&["DISCARD-ME"])).await?, 1);
    back.wait_until("the discard to reach the writer", WAIT, |d| {
        held::read_held(d).len() == 2
    })
    .await?;
    // The export counts what is still held, without its text.
    let md = w.export_ok("md").await?;
    assert!(md.contains("2 papiers non révélés"), "{md}");
    assert!(!md.contains("deux"));

    // Reveal one, restart, then all.
    assert_eq!(act(&w, &bid, "reveal", Some(&["un, revu"])).await?, 1);
    server.restart().await?;
    let w = Workshop {
        addr: server.addr(),
        ..w
    };
    assert_eq!(count(&w, &bid, &w.viewer).await?, 1);
    assert_eq!(act(&w, &bid, "reveal", None).await?, 1);
    let texts: Vec<String> = board_notes(&server_doc(&w, &board).await?)
        .into_iter()
        .map(|n| n.2)
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(texts.contains(&"un, revu".to_string()));
    assert!(texts.contains(&"deux, écrit hors ligne".to_string()));
    assert!(list(&w, &bid).await?.is_empty());
    assert_eq!(count(&w, &bid, &w.viewer).await?, 0);
    let md = w.export_ok("md").await?;
    assert!(
        md.contains("un, revu") && !md.contains("non révélé"),
        "{md}"
    );
    for spy in [&bob_board, &bob_workshop, &projector] {
        assert!(!spy.saw("DISCARD-ME"), "a discarded paper reached someone");
    }
    Ok(())
}

#[tokio::test]
async fn a_hidden_signed_grid_reveals_notes_with_their_writer_as_author() -> TestResult {
    let server = TestServer::start().await?;
    let (w, bid) = workshop(&server, "feedback").await?;
    let board = format!("{}.{bid}", w.id);
    let facilitator = TestClient::connect(&w.ws_url(&board, &w.facilitator)).await?;
    edit_doc(&facilitator, |d| {
        held::set_holding(
            d,
            Holding {
                hidden: true,
                anonymous: false,
            },
        )
    })?
    .map_err(model)?;
    wait_server_has(&w.ws_url(&board, &w.facilitator), &facilitator).await?;
    // Participants cannot turn it off: the board header is the facilitator's.
    let sneaky = TestClient::connect(&phone_url(&w, &board, BOB)).await?;
    let before = server_state(&w.ws_url(&board, &w.facilitator)).await?;
    edit_doc(&sneaky, |d| held::set_holding(d, Holding::default()))?.map_err(model)?;
    wait_denied(&sneaky, 0).await?;
    assert_eq!(
        server_state(&w.ws_url(&board, &w.facilitator)).await?,
        before
    );
    let column = {
        let txn = facilitator.doc().transact();
        let cols = txn.get_map(board_root::COLUMNS);
        cols.and_then(|c| c.keys(&txn).next().map(str::to_string))
            .unwrap_or_default()
    };
    let alice = TestClient::connect(&phone_url(&w, &held_id(&w, &bid, ALICE)?, ALICE)).await?;
    let note = HeldNote {
        column: column.clone(),
        author_name: "Alice".into(),
        author_org: "CCAS".into(),
        ..paper("g1", "une idée signée")
    };
    edit_doc(&alice, |d| held::add_held(d, &note, 1))?.map_err(model)?;
    wait_server_has(
        &w.ws_url(&held_id(&w, &bid, ALICE)?, &w.facilitator),
        &alice,
    )
    .await?;
    let r = get(w.addr, &held_path(&w, &bid, ""), Some(&w.facilitator)).await?;
    assert_eq!(
        r.json()?["holding"],
        json!({ "hidden": true, "anonymous": false })
    );
    // The projector cannot list the held notes.
    let r = get(w.addr, &held_path(&w, &bid, ""), Some(&w.viewer)).await?;
    assert_eq!(r.status, 403);
    assert_eq!(act(&w, &bid, "reveal", None).await?, 1);
    let after = server_doc(&w, &board).await?;
    let txn = after.transact();
    let notes = txn
        .get_map(board_root::NOTES)
        .ok_or_else(|| TestError::Protocol("no notes".into()))?;
    let (_, Out::YMap(m)) = notes
        .iter(&txn)
        .next()
        .ok_or_else(|| TestError::Protocol("no revealed note".into()))?
    else {
        return Err(TestError::Protocol("not a map".into()));
    };
    let s = |k: &str| {
        m.get(&txn, k)
            .map(|v| v.to_string(&txn))
            .unwrap_or_default()
    };
    assert_eq!(s(field::AUTHOR_ID), device(&w, ALICE)?);
    assert_eq!(s(field::AUTHOR_NAME), "Alice");
    assert_eq!(s(field::COLUMN), column);
    assert_eq!(s(field::TEXT), "une idée signée");
    Ok(())
}

#[tokio::test]
async fn a_reveal_cut_short_by_a_failed_commit_is_finished_by_the_next_once() -> TestResult {
    let server = TestServer::start().await?;
    let (w, bid) = workshop(&server, "icebreaker").await?;
    let board = format!("{}.{bid}", w.id);
    let alice = TestClient::connect(&phone_url(&w, &held_id(&w, &bid, ALICE)?, ALICE)).await?;
    edit_doc(&alice, |d| {
        held::add_held(d, &paper("r1", "premier"), 1)?;
        held::add_held(d, &paper("r2", "second"), 2)
    })?
    .map_err(model)?;
    wait_server_has(
        &w.ws_url(&held_id(&w, &bid, ALICE)?, &w.facilitator),
        &alice,
    )
    .await?;

    // Step (1) is durable, then the board's commit fails: nothing is copied yet.
    palabre::store::faults::fail_appends(&board, 1);
    let path = held_path(&w, &bid, "/reveal");
    let body = json!({ "all": true });
    let r = send_json(w.addr, "POST", &path, Some(&w.facilitator), Some(&body)).await?;
    assert!(r.status >= 500, "a failed commit answered {}", r.status);
    let marked = list(&w, &bid).await?;
    assert_eq!(marked.len(), 2);
    assert!(
        marked.iter().all(|n| n["revealing"].is_string()),
        "{marked:?}"
    );

    // Once the store takes writes again, the same reveal finishes: each paper once, same ids.
    eventually("the storage fault to clear", WAIT, || async {
        crate::harness::http_get(w.addr, "/healthz")
            .await
            .is_ok_and(|(status, _)| status == 200)
    })
    .await?;
    let chosen: Vec<String> = marked
        .iter()
        .filter_map(|n| n["revealing"].as_str().map(str::to_string))
        .collect();
    let mut done = 0;
    for _ in 0..20 {
        let r = send_json(w.addr, "POST", &path, Some(&w.facilitator), Some(&body)).await?;
        if r.status == 200 {
            done = r.json()?["done"].as_u64().unwrap_or(0);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(done, 2);
    let notes = board_notes(&server_doc(&w, &board).await?);
    let mut ids: Vec<String> = notes.iter().map(|n| n.0.clone()).collect();
    ids.sort();
    let mut want = chosen.clone();
    want.sort();
    assert_eq!(
        ids, want,
        "each paper is on the board once, under the id chosen first"
    );
    assert!(list(&w, &bid).await?.is_empty());
    Ok(())
}
