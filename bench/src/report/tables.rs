//! The per-workload tables: W1 to W4 and the attacks, one row per server of the run.

use std::fmt::Write as _;

use super::*;

/// Honest p99 under each attack as a ratio to the same workload alone, in the same run.
pub(super) fn render_attacks(s: &mut String, runs: &Runs<'_>) {
    if runs.attack.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "### Under attack — honest p99 with and without, same run (goal ≤ 1.5×)
"
    );
    let _ = writeln!(
        s,
        "| server | attack | attackers | p99 alone | p99 attacked | ratio | delivered alone / attacked |"
    );
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for (i, x) in &runs.attack {
        let _ = writeln!(
            s,
            "| {} | {:?} | {} | {:.2} ms | {:.2} ms | {:.2}× | {:.1} % / {:.1} % |",
            i.server,
            x.attack,
            x.attackers,
            x.baseline.p99_ms,
            x.attacked.p99_ms,
            x.p99_ratio,
            x.delivered_pct.0,
            x.delivered_pct.1
        );
    }
    let _ = writeln!(s);
}

pub(super) fn render_w1(s: &mut String, runs: &Runs<'_>, svg_link: &str) {
    let Some((_, first)) = runs.w1.first() else {
        return;
    };
    let _ = writeln!(
        s,
        "### W1 plenary — 1 doc, {} clients, {} writers × 1 note/s, {} s\n",
        first.clients, first.writers, first.seconds
    );
    let _ = writeln!(s, "| server | p50 | p99 | max | deliveries/s | delivered | server CPU per delivery | server peak RSS | generator CPU | confirmation requests | limit |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for (i, r) in &runs.w1 {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.0} | {:.1} % | {} | {} | {:.2} cores | {} | {} |",
            label(&i.server),
            ms(r.latency.p50_ms),
            ms(r.latency.p99_ms),
            ms(r.latency.max_ms),
            r.deliveries_per_s,
            r.delivered_pct,
            opt(r.server_us_per_delivery, |v| format!("{v:.1} µs")),
            opt(r.resources.server_peak_rss_kb, kb),
            r.resources.generator_cores,
            r.probes_sent,
            limit(&r.resources, r.dropped + r.connect_failures),
        );
    }
    let cpu = |server: &str| {
        runs.w1
            .iter()
            .find(|(i, _)| i.server == server)
            .and_then(|(_, r)| r.server_us_per_delivery)
    };
    if let (Some(plain), Some(web)) = (cpu("palabre-strict"), cpu("palabre-strict-web")) {
        if plain > 0.0 {
            let excess = (web / plain - 1.0) * 100.0;
            let _ = writeln!(
                s,
                "\nWeb-like clients (they ask the server to confirm their own notes, as Palabre's web \
                 client does) cost {web:.1} µs of server CPU per delivered note against {plain:.1} µs \
                 for plain y-websocket clients in this run: {excess:+.0} % (goal: at most +10 %, {}).",
                if excess <= 10.0 { "met" } else { "not met" }
            );
        }
    }
    let _ = writeln!(
        s,
        "\nLatency distribution at the receivers: ![W1 latency CDF]({svg_link})\n"
    );
}

pub(super) fn render_w2(s: &mut String, runs: &Runs<'_>) {
    let Some((_, first)) = runs.w2.first() else {
        return;
    };
    let _ = writeln!(
        s,
        "### W2 many rooms — {} docs × {} clients ({} connections), 5 % writing once a second\n",
        first.docs, first.clients_per_doc, first.connections
    );
    let _ = writeln!(s, "| server | connected | memory per connection | server CPU while mostly idle | p99 delivery | delivered | server peak RSS | limit |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---|");
    for (i, r) in &runs.w2 {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.1} % | {} | {} |",
            label(&i.server),
            r.connected,
            opt(r.kb_per_connection, |v| format!("{v:.1} KB")),
            opt(r.server_idle_cpu_pct, |v| format!("{v:.1} % of a core")),
            ms(r.latency.p99_ms),
            r.delivered_pct,
            opt(r.resources.server_peak_rss_kb, kb),
            limit(&r.resources, r.dropped + r.connect_failures),
        );
    }
    s.push('\n');
}

pub(super) fn render_w3(s: &mut String, runs: &Runs<'_>) {
    let Some((_, first)) = runs.w3.first() else {
        return;
    };
    let _ = writeln!(
        s,
        "### W3 join storm — a doc of {} notes ({:.0} KB), {} clients join within 1 s\n",
        first.notes,
        first.doc_bytes as f64 / 1024.0,
        first.joiners
    );
    let _ = writeln!(
        s,
        "| server | synced with every note | p50 time to sync | p99 | max | p50 socket open / step 2 read | server CPU | server peak RSS | limit |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for (i, r) in &runs.w3 {
        let _ = writeln!(
            s,
            "| {} | {} / {} | {} | {} | {} | {} / {} | {} | {} | {} |",
            label(&i.server),
            r.synced,
            r.joiners,
            ms(r.time_to_sync.p50_ms),
            ms(r.time_to_sync.p99_ms),
            ms(r.time_to_sync.max_ms),
            ms(r.time_to_open.p50_ms),
            ms(r.time_to_step2.p50_ms),
            opt(r.resources.server_cpu_s, |c| format!("{c:.2} s")),
            opt(r.resources.server_peak_rss_kb, kb),
            limit(&r.resources, r.dropped + r.failed),
        );
    }
    s.push('\n');
}

pub(super) fn render_w4(s: &mut String, runs: &Runs<'_>) {
    let Some((_, first)) = runs.w4.first() else {
        return;
    };
    let _ = writeln!(
        s,
        "### W4 durable writes — {} writers on {} docs, window {} per writer, {} s\n",
        first.writers, first.docs, first.window, first.seconds
    );
    let _ = writeln!(s, "| server | updates/s acknowledged | p50 ack | p99 ack (commit latency proxy) | unacked | server CPU | limit |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---|");
    for (i, r) in &runs.w4 {
        let _ = writeln!(
            s,
            "| {} | {:.0} | {} | {} | {} | {} | {} |",
            label(&i.server),
            r.updates_per_s,
            ms(r.ack_latency.p50_ms),
            ms(r.ack_latency.p99_ms),
            r.unacked,
            opt(r.resources.server_cores, |c| format!("{c:.2} cores")),
            limit(&r.resources, r.dropped),
        );
    }
    s.push('\n');
}
