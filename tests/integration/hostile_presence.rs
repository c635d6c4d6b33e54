//! Presence stays small (issue 13): a doc keeps at most its presence budget, a newcomer's first
//! presence frame stays under it, and a presence flood is throttled, then closed.

use std::time::Duration;

use crate::client::TestClient;
use crate::harness::{eventually, TestResult, TestServer, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomers_first_presence_stays_under_the_docs_budget() -> TestResult {
    const BUDGET: usize = 64 * 1024;
    const CONNS: usize = 20;
    let server = TestServer::start_with(|c| {
        c.presence_doc_bytes = BUDGET;
        c.presence_state_bytes = 4 * 1024;
    })
    .await?;
    let url = server.ws_url("presence-budget");
    // Twenty connections, each announcing a 3 KiB state: 60 KiB wanted against 64 KiB, then a
    // second round of 6 KiB states (over the per-state cap), then more people than fit.
    let mut crowd = Vec::new();
    for i in 0..CONNS {
        let mut c = TestClient::connect(&url).await?;
        c.set_awareness(&format!(
            "{{\"name\":\"{i}\",\"pad\":\"{}\"}}",
            "p".repeat(3000)
        ));
        crowd.push(c);
    }
    let mut big = TestClient::connect(&url).await?;
    big.set_awareness(&format!("{{\"pad\":\"{}\"}}", "b".repeat(6000)));
    for i in 0..10 {
        let mut c = TestClient::connect(&url).await?;
        c.set_awareness(&format!(
            "{{\"late\":\"{i}\",\"pad\":\"{}\"}}",
            "l".repeat(3000)
        ));
        crowd.push(c);
    }
    eventually("the drops to be counted", WAIT, || async {
        server.metrics().await.is_ok_and(|m| {
            m.value("palabre_rejected_total{reason=\"presence_doc_full\"}") >= 1.0
                && m.value("palabre_rejected_total{reason=\"presence_state_too_big\"}") >= 1.0
        })
    })
    .await?;

    let newcomer = TestClient::connect(&url).await?;
    newcomer
        .wait_state("the first presence frame", WAIT, |s| {
            !s.awareness.is_empty()
        })
        .await?;
    let shown: usize = newcomer
        .state()
        .awareness
        .values()
        .filter_map(|p| p.state.as_ref())
        .map(String::len)
        .sum();
    eprintln!("a newcomer was sent {shown} bytes of presence (budget {BUDGET})");
    assert!(shown <= BUDGET, "{shown} bytes of presence past {BUDGET}");
    assert!(
        shown > BUDGET / 2,
        "and presence still works: {shown} bytes"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presence_flood_is_throttled_then_closed() -> TestResult {
    let server = TestServer::start_with(|c| {
        c.flood_grace = Duration::from_secs(1);
    })
    .await?;
    let url = server.ws_url("presence-flood");
    let witness = TestClient::connect(&url).await?;
    let mut flooder = TestClient::connect(&url).await?;
    for i in 0..5000 {
        flooder.set_awareness(&format!("{{\"cursor\":{i}}}"));
        if i % 100 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let closed = flooder.wait_closed().await?;
    eprintln!("the flooder was closed: {closed:?}");
    assert_eq!(closed.code, Some(1008), "closed as a flood");
    let m = server.metrics().await?;
    assert!(
        m.value("palabre_rejected_total{reason=\"throttled\"}") >= 1.0,
        "throttled first"
    );
    assert!(m.value("palabre_rejected_total{reason=\"flood\"}") >= 1.0);
    assert!(witness.is_connected(), "others stay");
    Ok(())
}
