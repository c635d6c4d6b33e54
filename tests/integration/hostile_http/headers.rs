//! What the edge asks of every page and upgrade: strict security headers, no DNS-rebinding
//! origin, the WebSocket secret in `Sec-WebSocket-Protocol`, a rotatable facilitator link.

use super::*;

fn assert_strict_headers(r: &Response, what: &str, csp_has: &str) {
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(csp.contains(csp_has), "{what}: CSP {csp:?}");
    assert!(
        csp.contains("frame-ancestors 'none'"),
        "{what}: CSP {csp:?}"
    );
    assert!(!csp.contains("unsafe-eval"), "{what}: CSP {csp:?}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{what}");
    assert_eq!(
        r.header("x-content-type-options"),
        Some("nosniff"),
        "{what}"
    );
}

#[tokio::test]
async fn app_pages_and_reports_carry_a_strict_csp_and_no_framing() -> TestResult {
    let web = tempfile::tempdir().map_err(io("creating a web dir"))?;
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>Palabre</title><div id=app></div>",
    )
    .map_err(io("writing index.html"))?;
    let web_dir = web.path().to_path_buf();
    let server = TestServer::start_with(move |c| c.web_dir = web_dir).await?;
    let addr = server.addr();
    for page in ["/", "/w/some-workshop"] {
        let r = get(addr, page, None).await?;
        assert_eq!(r.status, 200, "{page}");
        assert_strict_headers(&r, page, "script-src 'self'");
    }
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    let r = w.export("html", &w.facilitator).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_strict_headers(&r, "export.html", "default-src 'none'");
    let csp = r.header("content-security-policy").unwrap_or_default();
    assert!(
        !csp.contains("script-src"),
        "a report runs no script: {csp}"
    );
    Ok(())
}

#[tokio::test]
async fn a_dns_rebinding_origin_is_refused() -> TestResult {
    let server =
        TestServer::start_with(|c| c.public_host = vec!["board.example.org".into()]).await?;
    let port = server.addr().port();
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let url = w.ws_url(&w.board("grid", 0)?.doc_id, &w.participant);
    // The attacker's page is on its own name, which now resolves to this server: Origin and
    // Host agree, but the name is not one this server serves.
    let evil = format!("evil.example:{port}");
    let (status, body) = upgrade(
        &url,
        &[("Origin", &format!("http://{evil}")), ("Host", &evil)],
    )
    .await?;
    assert_eq!(status, 403, "{body}");
    let public = "board.example.org";
    let (status, body) = upgrade(
        &url,
        &[("Origin", &format!("https://{public}")), ("Host", public)],
    )
    .await?;
    assert_eq!(status, 101, "a --public-host: {body}");
    let own = format!("http://localhost:{port}");
    let host = format!("localhost:{port}");
    let (status, body) = upgrade(&url, &[("Origin", &own), ("Host", &host)]).await?;
    assert_eq!(status, 101, "a loopback name: {body}");
    Ok(())
}

#[tokio::test]
async fn the_websocket_secret_can_travel_in_the_subprotocol_header() -> TestResult {
    let server = TestServer::start().await?;
    let w = Workshop::create(server.addr(), "five-columns", "Bilan", "2026-05-09").await?;
    let doc = w.board("grid", 0)?.doc_id.clone();
    let url = format!("ws://{}/ws/{doc}", server.addr());
    let offer = format!("palabre, palabre.token.{}", w.participant);
    let mut req = url
        .as_str()
        .into_client_request()
        .map_err(|e| TestError::Ws {
            context: "building a request".into(),
            source: Box::new(e),
        })?;
    let value = HeaderValue::from_str(&offer)
        .map_err(|e| TestError::Protocol(format!("bad header value: {e}")))?;
    req.headers_mut().insert("sec-websocket-protocol", value);
    let (mut ws, response) = within("the upgrade", WAIT, tokio_tungstenite::connect_async(req))
        .await?
        .map_err(|e| TestError::Ws {
            context: "upgrading with the secret in the subprotocol".into(),
            source: Box::new(e),
        })?;
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("palabre"),
        "the server names the protocol, never echoes the secret"
    );
    match within("the first frame", WAIT, ws.next()).await? {
        Some(Ok(WsMessage::Binary(frame))) => assert!(matches!(
            protocol::decode_message(&frame),
            Ok(Message::SyncStep1(_))
        )),
        other => return Err(TestError::Protocol(format!("no sync step 1: {other:?}"))),
    }
    // A wrong secret in the header is refused like one in the query.
    let (status, _) = upgrade(
        &url,
        &[("Sec-WebSocket-Protocol", "palabre, palabre.token.nope")],
    )
    .await?;
    assert_eq!(status, 403);
    Ok(())
}

#[tokio::test]
async fn the_facilitator_link_can_be_rotated_and_its_old_holders_are_shown_out() -> TestResult {
    let server = TestServer::start().await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    let old_facilitator = join(&w, &w.id, &w.facilitator).await?;
    let old_viewer = join(&w, &w.id, &w.viewer).await?;
    let participant = join(&w, &w.id, &w.participant).await?;
    let r = send_json(
        addr,
        "POST",
        &format!("/api/workshops/{}/rotate-facilitator", w.id),
        Some(&w.participant),
        None,
    )
    .await?;
    r.assert_error(403, "a participant rotating the facilitator link")?;
    let r = send_json(
        addr,
        "POST",
        &format!("/api/workshops/{}/rotate-facilitator", w.id),
        Some(&w.facilitator),
        None,
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = r.json()?;
    let secret = |role: &str| {
        body.pointer(&format!("/secrets/{role}"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let fresh = secret("facilitator");
    assert!(!fresh.is_empty() && fresh != w.facilitator);
    let viewer = secret("viewer");
    assert!(
        !viewer.is_empty() && viewer != w.viewer,
        "the projector link is the facilitator's too"
    );
    assert_eq!(
        secret("participant"),
        w.participant,
        "the room keeps its link"
    );
    for (who, c) in [("facilitator", &old_facilitator), ("viewer", &old_viewer)] {
        let closed = c.wait_closed().await?;
        assert_eq!(closed.code, Some(4001), "{who}: {closed:?}");
    }
    assert!(participant.is_connected(), "participants stay");
    w.export("md", &w.viewer)
        .await?
        .assert_error(403, "an old viewer secret exporting")?;
    assert_eq!(w.export("md", &viewer).await?.status, 200);
    get(
        addr,
        &format!("/api/workshops/{}/links", w.id),
        Some(&w.facilitator),
    )
    .await?
    .assert_error(403, "the old facilitator secret")?;
    let r = get(
        addr,
        &format!("/api/workshops/{}/links", w.id),
        Some(&fresh),
    )
    .await?;
    assert_eq!(r.status, 200, "{}", r.body);
    Ok(())
}
