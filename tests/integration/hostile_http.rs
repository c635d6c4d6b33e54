//! The HTTP edge under hostile strangers: half-open requests, forged X-Forwarded-For, join-code
//! guessers sharing a venue's address, workshop-creation floods, DNS rebinding; security
//! headers; the WebSocket secret in `Sec-WebSocket-Protocol`; rotating the facilitator link.

use std::time::Duration;

use futures_util::StreamExt;
use palabre::protocol::{self, Message};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::api::{get, join, request, send_json, upgrade, Response, Workshop};
use crate::harness::{eventually, http_get, io, within, TestError, TestResult, TestServer, WAIT};

#[path = "hostile_http/headers.rs"]
mod headers;

/// The reverse proxy in front of the server, as `--trusted-proxies 127.0.0.1` gives it.
fn behind_proxy(c: &mut palabre::Config) {
    c.trusted_proxies = vec![ipnet::IpNet::from(std::net::IpAddr::from([127, 0, 0, 1]))];
}

async fn lookup(
    addr: std::net::SocketAddr,
    code: &str,
    xff: &str,
    pow: Option<&str>,
) -> TestResult<Response> {
    let path = match pow {
        Some(p) => format!("/api/join/{code}?pow={p}"),
        None => format!("/api/join/{code}"),
    };
    request(addr, "GET", &path, &[("X-Forwarded-For", xff)], None).await
}

/// A code of the right shape that is not `code` (symbol `k` shifted).
fn wrong_code(code: &str, k: usize) -> String {
    const ALPHABET: &str = "ACDEFGHJKMNPQRTUVWXY34679";
    code.chars()
        .enumerate()
        .map(|(i, c)| {
            let idx = ALPHABET.find(c).unwrap_or(0);
            let shift = if i == k % code.len() {
                1 + k / code.len()
            } else {
                0
            };
            ALPHABET
                .chars()
                .nth((idx + shift) % ALPHABET.len())
                .unwrap_or('A')
        })
        .collect()
}

/// The challenge and bits of a "prove work first" answer.
fn pow_asked(r: &Response) -> TestResult<(String, u32)> {
    assert_eq!(r.status, 429, "{}", r.body);
    let json = r.json()?;
    let challenge = json.pointer("/pow/challenge").and_then(Value::as_str);
    let bits = json.pointer("/pow/bits").and_then(Value::as_u64);
    match (challenge, bits) {
        (Some(c), Some(b)) => Ok((c.to_string(), u32::try_from(b).unwrap_or(64))),
        _ => Err(TestError::Protocol(format!(
            "no proof of work asked: {json}"
        ))),
    }
}

/// What a phone does when asked: find a nonce with enough leading zero bits.
fn solve(challenge: &str, code: &str, bits: u32) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|n| palabre::auth::pow_zero_bits(challenge, code, n) >= bits)
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_requests_neither_starve_healthz_nor_stay_open() -> TestResult {
    const HALF_OPEN: usize = 1500;
    // Each half-open request costs two descriptors here (client and in-process server).
    let limit = rlimit::increase_nofile_limit(16_384).map_err(io("raising the fd limit"))?;
    if limit < (2 * HALF_OPEN as u64) + 1024 {
        eprintln!("skipped: the open-files limit ({limit}) is too low for {HALF_OPEN} connections");
        return Ok(());
    }
    let server = TestServer::start_with(|c| {
        c.header_timeout = Duration::from_secs(2);
        // All from one address here: this is about the header timeout and the global pool
        // (hostile_writes.rs tests the per-address cap).
        c.max_unauthenticated_per_addr = 2 * HALF_OPEN;
    })
    .await?;
    let addr = server.addr();
    let mut sockets = Vec::with_capacity(HALF_OPEN);
    for _ in 0..HALF_OPEN {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(io("opening a half-open request"))?;
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .map_err(io("sending half a request head"))?;
        sockets.push(s);
    }
    let (status, body) = http_get(addr, "/healthz").await?;
    assert_eq!(status, 200, "/healthz during the attack: {body}");

    // Every half-open connection is closed by the server once the header timeout passes.
    let mut waiting = JoinSet::new();
    for mut s in sockets {
        waiting.spawn(async move {
            let mut buf = [0u8; 512];
            loop {
                match tokio::time::timeout(WAIT, s.read(&mut buf)).await {
                    Ok(Ok(0)) | Ok(Err(_)) => return true,
                    Ok(Ok(_)) => continue,
                    Err(_) => return false,
                }
            }
        });
    }
    let mut closed = 0;
    while let Some(done) = waiting.join_next().await {
        if done.unwrap_or(false) {
            closed += 1;
        }
    }
    assert_eq!(
        closed, HALF_OPEN,
        "half-open connections closed by the server"
    );
    let (status, _) = http_get(addr, "/healthz").await?;
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test]
async fn a_request_whose_body_never_ends_is_answered_408() -> TestResult {
    let server = TestServer::start_with(|c| c.request_timeout = Duration::from_secs(1)).await?;
    let mut s = TcpStream::connect(server.addr())
        .await
        .map_err(io("connecting"))?;
    s.write_all(
        b"POST /api/workshops HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"title\":",
    )
    .await
    .map_err(io("sending the start of a body"))?;
    let mut raw = Vec::new();
    within(
        "the server to give up on the body",
        WAIT,
        s.read_to_end(&mut raw),
    )
    .await?
    .map_err(io("reading the answer"))?;
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 408"), "{text:?}");
    Ok(())
}

#[tokio::test]
async fn a_forged_forwarded_for_does_not_hide_the_real_address() -> TestResult {
    let server = TestServer::start_with(|c| {
        behind_proxy(c);
        c.join_attempts = 3;
    })
    .await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    // The client writes whatever it likes on the left; the proxy appends the real peer.
    for k in 0..3 {
        let xff = format!("10.9.{k}.1, 198.51.100.7");
        lookup(addr, &wrong_code(&w.join_code, k), &xff, None)
            .await?
            .assert_error(404, "a wrong code")?;
    }
    let r = lookup(
        addr,
        &wrong_code(&w.join_code, 3),
        "10.9.99.1, 198.51.100.7",
        None,
    )
    .await?;
    pow_asked(&r)?;
    // Another real address is not affected.
    let r = lookup(addr, &w.join_code, "10.9.99.1, 198.51.100.8", None).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    Ok(())
}

/// The status of `GET path` sent from local address `from` (another loopback address).
async fn status_from(
    from: [u8; 4],
    to: std::net::SocketAddr,
    path: &str,
    xff: &str,
) -> TestResult<u16> {
    within(&format!("GET {path} from {from:?}"), WAIT, async {
        let socket = tokio::net::TcpSocket::new_v4().map_err(io("making a socket"))?;
        socket
            .bind(std::net::SocketAddr::from((from, 0)))
            .map_err(io("binding another loopback address"))?;
        let mut s = socket.connect(to).await.map_err(io("connecting"))?;
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {to}\r\nX-Forwarded-For: {xff}\r\nConnection: close\r\n\r\n"
        );
        s.write_all(head.as_bytes())
            .await
            .map_err(io("sending a request"))?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw)
            .await
            .map_err(io("reading the answer"))?;
        let text = String::from_utf8_lossy(&raw);
        text.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| TestError::Protocol(format!("not an HTTP answer: {text:?}")))
    })
    .await?
}

#[tokio::test]
async fn without_a_trusted_peer_the_forwarded_header_is_ignored() -> TestResult {
    let server = TestServer::start_with(|c| {
        behind_proxy(c);
        c.join_attempts = 2;
    })
    .await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    // 127.0.0.2 is not the proxy: whatever it claims, it is 127.0.0.2.
    const STRANGER: [u8; 4] = [127, 0, 0, 2];
    for k in 0..2 {
        let path = format!("/api/join/{}", wrong_code(&w.join_code, k));
        let xff = format!("10.7.{k}.1");
        assert_eq!(status_from(STRANGER, addr, &path, &xff).await?, 404);
    }
    let path = format!("/api/join/{}", w.join_code);
    assert_eq!(
        status_from(STRANGER, addr, &path, "10.7.99.1").await?,
        429,
        "a new forged address does not buy fresh attempts"
    );
    Ok(())
}

#[tokio::test]
async fn twenty_wrong_codes_from_a_venue_do_not_stop_a_right_code_from_it() -> TestResult {
    let server = TestServer::start_with(behind_proxy).await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    const VENUE: &str = "203.0.113.50";
    let mut asked = 0;
    for k in 0..20 {
        let code = wrong_code(&w.join_code, k);
        let r = lookup(addr, &code, VENUE, None).await?;
        if r.status == 429 {
            // The guesser pays for each further guess.
            let (challenge, bits) = pow_asked(&r)?;
            asked += 1;
            let nonce = solve(&challenge, &code, bits);
            lookup(addr, &code, VENUE, Some(&nonce))
                .await?
                .assert_error(404, "a wrong code with its proof")?;
        } else {
            r.assert_error(404, "a free wrong code")?;
        }
    }
    assert_eq!(asked, 10, "the first 10 wrong codes are free");

    // A phone at the venue types the right code: asked for work, it proves it and gets in.
    let r = lookup(addr, &w.join_code, VENUE, None).await?;
    let (challenge, bits) = pow_asked(&r)?;
    let r = lookup(
        addr,
        &w.join_code,
        VENUE,
        Some(&solve(&challenge, &w.join_code, bits)),
    )
    .await?;
    assert_eq!(r.status, 200, "the right code with its proof: {}", r.body);
    let link = r.json()?;
    assert_eq!(
        link.get("link").and_then(Value::as_str),
        Some(format!("/w/{}#{}", w.id, w.participant).as_str())
    );
    // A proof is bound to its code: it does not pay for another guess.
    let reused = solve(&challenge, &w.join_code, bits);
    pow_asked(&lookup(addr, &wrong_code(&w.join_code, 40), VENUE, Some(&reused)).await?)?;
    let m = server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"join_code_wrong\"}"),
        20.0
    );
    Ok(())
}

#[tokio::test]
async fn the_proof_of_work_window_ends_after_the_last_failure() -> TestResult {
    let server = TestServer::start_with(|c| {
        behind_proxy(c);
        c.join_attempts = 2;
        c.join_lockout = Duration::from_secs(1);
    })
    .await?;
    let addr = server.addr();
    let w = Workshop::create(addr, "five-columns", "Bilan", "2026-05-09").await?;
    const GUESSER: &str = "198.51.100.20";
    for k in 0..3 {
        lookup(addr, &wrong_code(&w.join_code, k), GUESSER, None).await?;
    }
    pow_asked(&lookup(addr, &w.join_code, GUESSER, None).await?)?;
    let code = w.join_code.clone();
    eventually("the window to end", WAIT, || {
        let code = code.clone();
        async move {
            lookup(addr, &code, GUESSER, None)
                .await
                .is_ok_and(|r| r.status == 200)
        }
    })
    .await
}

#[tokio::test]
async fn workshop_creation_is_rate_limited_per_address_and_overall() -> TestResult {
    let server = TestServer::start_with(|c| {
        behind_proxy(c);
        c.create_per_hour = 3;
        c.create_global_per_hour = 5;
    })
    .await?;
    let addr = server.addr();
    let body = r#"{"template":"five-columns","title":"Bilan","date":"2026-05-09"}"#;
    let create = |xff: &'static str| async move {
        request(
            addr,
            "POST",
            "/api/workshops",
            &[("X-Forwarded-For", xff)],
            Some(body),
        )
        .await
    };
    for _ in 0..3 {
        assert_eq!(create("198.51.100.1").await?.status, 201);
    }
    let r = create("198.51.100.1").await?;
    r.assert_error(429, "a 4th workshop from one address")?;
    assert!(r.header("retry-after").is_some());
    assert_eq!(create("198.51.100.2").await?.status, 201);
    assert_eq!(create("198.51.100.3").await?.status, 201);
    create("198.51.100.4")
        .await?
        .assert_error(429, "past the server-wide cap")?;
    let m = server.metrics().await?;
    assert_eq!(
        m.value("palabre_rejected_total{reason=\"create_rate\"}"),
        2.0
    );
    Ok(())
}

#[tokio::test]
async fn a_creation_token_gates_new_workshops() -> TestResult {
    let server = TestServer::start_with(|c| c.create_token = Some("our-venue-2026".into())).await?;
    let addr = server.addr();
    let body =
        serde_json::json!({"template": "five-columns", "title": "Bilan", "date": "2026-05-09"});
    let body = Some(&body);
    let r = send_json(addr, "POST", "/api/workshops", None, body).await?;
    r.assert_error(401, "no creation token")?;
    assert_eq!(
        r.json()?.get("need").and_then(Value::as_str),
        Some("createToken")
    );
    send_json(addr, "POST", "/api/workshops", Some("guess"), body)
        .await?
        .assert_error(403, "a wrong creation token")?;
    let r = send_json(addr, "POST", "/api/workshops", Some("our-venue-2026"), body).await?;
    assert_eq!(r.status, 201, "{}", r.body);
    Ok(())
}
