//! Join-code guess limits over a cluster: wrong codes sent through different nodes count
//! against the same per-address and global limits, and a proof of work asked by one node is
//! good on another (the counts and the challenge live in the cluster's Redis).

use serde_json::Value;

use crate::api::{request, Workshop};
use crate::cluster_sync::Cluster;
use crate::harness::TestResult;

/// Leading-zero proof of work for `challenge` and `code`, as a phone computes it.
fn solve(challenge: &str, code: &str, bits: u32) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|n| palabre::auth::pow_zero_bits(challenge, code, n) >= bits)
        .unwrap_or_default()
}

/// A code of the join alphabet that differs from `code` at every position.
fn wrong_code(code: &str, k: usize) -> String {
    const ALPHABET: &str = "ACDEFGHJKMNPQRTUVWXY34679";
    code.chars()
        .map(|c| {
            let i = ALPHABET.find(c).unwrap_or(0);
            let shifted = (i + 1 + k % (ALPHABET.len() - 1)) % ALPHABET.len();
            ALPHABET.chars().nth(shifted).unwrap_or('A')
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_code_guesses_spread_over_the_nodes_meet_the_same_limits() -> TestResult {
    const ATTEMPTS: usize = 3;
    const GLOBAL: usize = 6;
    let Some(cluster) = Cluster::start(
        "guesses",
        3,
        &[
            "--join-attempts",
            "3",
            "--join-global-per-hour",
            "6",
            "--trusted-proxies",
            "127.0.0.1",
        ],
    )
    .await?
    else {
        return Ok(());
    };
    let addr = |i: usize| cluster.nodes[i % 3].addr();
    let w = Workshop::create(addr(0), "five-columns", "Bilan", "2026-05-09").await?;
    let guesser = [("X-Forwarded-For", "10.0.0.1")];
    // One wrong code through each node: together they spend the address's free attempts.
    for k in 0..ATTEMPTS {
        let path = format!("/api/join/{}", wrong_code(&w.join_code, k));
        request(addr(k), "GET", &path, &guesser, None)
            .await?
            .assert_error(404, &format!("wrong guess {} on node {k}", k + 1))?;
    }
    let path = format!("/api/join/{}", w.join_code);
    let r = request(addr(ATTEMPTS), "GET", &path, &guesser, None).await?;
    r.assert_error(
        429,
        "a fourth lookup, through yet another node, without work",
    )?;
    let pow = r.json()?;
    let challenge = pow
        .pointer("/pow/challenge")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let bits = pow
        .pointer("/pow/bits")
        .and_then(Value::as_u64)
        .unwrap_or(99) as u32;
    // A proof asked by one node is good on another: the challenge is the cluster's.
    let nonce = solve(challenge, &w.join_code, bits);
    let r = request(
        addr(1),
        "GET",
        &format!("{path}?pow={nonce}"),
        &guesser,
        None,
    )
    .await?;
    assert_eq!(
        r.status, 200,
        "the right code with its proof through node 1: {}",
        r.body
    );

    // Everyone together: wrong codes from other addresses over every node reach the cap.
    for k in ATTEMPTS..GLOBAL {
        let from = format!("10.0.1.{k}");
        let path = format!("/api/join/{}", wrong_code(&w.join_code, k));
        request(
            addr(k),
            "GET",
            &path,
            &[("X-Forwarded-For", from.as_str())],
            None,
        )
        .await?
        .assert_error(404, &format!("wrong guess {} from {from}", k + 1))?;
    }
    for node in 0..3 {
        let r = request(
            addr(node),
            "GET",
            &path,
            &[("X-Forwarded-For", "10.0.2.1")],
            None,
        )
        .await?;
        r.assert_error(429, &format!("a lookup on node {node} past the global cap"))?;
        assert!(r.header("retry-after").is_some(), "{:?}", r.headers);
    }
    Ok(())
}
