//! Operations surface: /healthz and the Prometheus /metrics series the issue names.

use crate::client::TestClient;
use crate::harness::{http_get, TestResult, TestServer, WAIT};

#[tokio::test]
async fn health_and_metrics_endpoints_answer() -> TestResult {
    let server = TestServer::start().await?;
    let (status, body) = http_get(server.addr(), "/healthz").await?;
    assert_eq!((status, body.trim()), (200, "ok"));

    let mut writer = TestClient::connect(&server.ws_url("metrics")).await?;
    let reader = TestClient::connect(&server.ws_url("metrics")).await?;
    writer.add_note("n1", "compte");
    reader
        .wait_until("the note", WAIT, |d| {
            crate::client::note_ids(d).contains("n1")
        })
        .await?;
    let m = server.metrics().await?;
    for series in [
        "palabre_connections",
        "palabre_rooms_loaded",
        "palabre_updates_in_total",
        "palabre_frames_relayed_total",
        "palabre_bytes_in_total",
        "palabre_evictions_total",
        "palabre_commit_latency_seconds_count",
        "palabre_commit_latency_seconds_bucket{le=\"+Inf\"}",
    ] {
        assert!(m.has(series), "/metrics exposes {series}");
    }
    assert_eq!(m.value("palabre_connections"), 2.0);
    assert_eq!(m.value("palabre_rooms_loaded"), 1.0);
    assert!(m.value("palabre_updates_in_total") >= 1.0);
    assert!(
        m.value("palabre_frames_relayed_total") >= 2.0,
        "relayed to both connections"
    );
    assert!(m.value("palabre_commit_latency_seconds_count") >= 1.0);
    Ok(())
}
