//! The full-board benchmark (`palabre-bench fullboard`) against the real server, without timing:
//! the board it fills is one the server takes whole, its honest participants' notes (authored
//! with their device ids) are accepted and relayed to everyone, its attackers' own edits and
//! votes pass the ownership check, and its forged deletions are refused. A bench whose traffic
//! the server refused for the wrong reason would measure nothing.

use palabre_bench::client::Mode;
use palabre_bench::procstat::Proc;
use palabre_bench::workload::fullboard::{self, FullBoardSizes, Variant};
use palabre_bench::workload::{Ctx, Outcome, Target};

use crate::harness::{TestError, TestResult, TestServer};

fn sizes() -> FullBoardSizes {
    FullBoardSizes {
        notes: 1000,
        clients: 3,
        writers: 2,
        attackers: 1,
        attack_rate: 5,
        seconds: 2,
    }
}

async fn run(server: &TestServer, variant: Variant) -> TestResult<fullboard::FullBoardResult> {
    let ctx = Ctx {
        target: Target {
            url_template: format!("ws://{}/ws/{{doc}}", server.addr()),
            mode: Mode::Crdt,
            create_url: None,
        },
        server: "palabre-test".into(),
        server_pid: Some(std::process::id()),
        other_pids: Vec::new(),
        run_id: "test".into(),
        full: false,
        client: palabre_bench::client::Behaviour::Plain,
        proc: Proc::new(),
    };
    let record = fullboard::run(&ctx, sizes(), variant)
        .await
        .map_err(|e| TestError::Server(format!("the full-board workload failed: {e}")))?;
    match record.outcome {
        Outcome::FullBoard(r) => Ok(r),
        other => Err(TestError::Protocol(format!(
            "not a full-board outcome: {other:?}"
        ))),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_board_bench_sends_what_the_server_accepts_and_forgeries_it_refuses() -> TestResult
{
    let server = TestServer::start_with(|c| c.max_items = 1200).await?;
    let owned = run(&server, Variant::Owned).await?;
    assert_eq!(
        owned.connected, 3,
        "every honest participant stays connected"
    );
    for phase in [&owned.baseline, &owned.attacked] {
        assert_eq!(
            phase.delivered_pct, 100.0,
            "every honest note reaches everyone"
        );
    }
    assert!(owned.attacked.attack_sent > 0, "the attacker sent nothing");
    assert_eq!(
        owned.attacked.attack_denied, 0,
        "own edits and votes must pass the ownership check"
    );

    let forged = run(&server, Variant::Forged).await?;
    assert!(forged.attacked.attack_sent > 0, "the attacker sent nothing");
    assert!(
        forged.attacked.attack_denied > 0,
        "forged deletions must be refused"
    );
    assert_eq!(forged.attacked.delivered_pct, 100.0);
    Ok(())
}

#[test]
fn the_bench_derives_device_ids_as_the_server_does() {
    use palabre_bench::workload::fullboard::api;
    for n in [1u64, 42, u64::from(u32::MAX)] {
        let secret = api::secret(n);
        let server = palabre::device::derive("abcdefghijklmnop", &secret)
            .map(|d| d.as_str().to_owned())
            .unwrap_or_default();
        assert_eq!(api::device_id("abcdefghijklmnop", &secret), server);
    }
}
