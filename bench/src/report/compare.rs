//! The comparisons across servers: each metric as a ratio to the reference server of the same
//! run, and the goals the issues set, met or not.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::*;

/// Key metrics by server, for ratios and goals.
#[derive(Default)]
struct Key {
    w1_p99: Option<f64>,
    w1_us: Option<f64>,
    w1_delivered: Option<f64>,
    w2_kb: Option<f64>,
    w3_p99: Option<f64>,
    w4_ups: Option<f64>,
}

fn keys(runs: &Runs<'_>) -> BTreeMap<(usize, String), Key> {
    let mut m: BTreeMap<(usize, String), Key> = BTreeMap::new();
    for (i, r) in &runs.w1 {
        let k = m.entry((rank(&i.server), i.server.clone())).or_default();
        k.w1_p99 = Some(r.latency.p99_ms);
        k.w1_us = r.server_us_per_delivery;
        k.w1_delivered = Some(r.delivered_pct);
    }
    for (i, r) in &runs.w2 {
        m.entry((rank(&i.server), i.server.clone()))
            .or_default()
            .w2_kb = r.kb_per_connection;
    }
    for (i, r) in &runs.w3 {
        if r.synced > 0 {
            m.entry((rank(&i.server), i.server.clone()))
                .or_default()
                .w3_p99 = Some(r.time_to_sync.p99_ms);
        }
    }
    for (i, r) in &runs.w4 {
        m.entry((rank(&i.server), i.server.clone()))
            .or_default()
            .w4_ups = Some(r.updates_per_s);
    }
    m
}

type Metric = (&'static str, fn(&Key) -> Option<f64>, bool);

const METRICS: [Metric; 5] = [
    ("W1 p99 latency", |k| k.w1_p99, false),
    ("W1 server CPU per delivery", |k| k.w1_us, false),
    ("W2 memory per connection", |k| k.w2_kb, false),
    ("W3 p99 time to sync", |k| k.w3_p99, false),
    ("W4 updates/s acknowledged", |k| k.w4_ups, true),
];

pub(super) fn render_ratios(s: &mut String, runs: &Runs<'_>) {
    let keys = keys(runs);
    let subjects: Vec<&String> = keys
        .keys()
        .map(|(_, n)| n)
        .filter(|n| n.starts_with("palabre"))
        .collect();
    let peers: Vec<&String> = keys
        .keys()
        .map(|(_, n)| n)
        .filter(|n| !n.starts_with("palabre"))
        .collect();
    // Without Palabre in the run, compare the reference server with the floor.
    let subjects = if subjects.is_empty() {
        peers
            .iter()
            .copied()
            .filter(|n| n.as_str() != "relay")
            .collect()
    } else {
        subjects
    };
    if subjects.is_empty() || peers.is_empty() {
        return;
    }
    let _ = writeln!(s, "### Ratios within this run\n");
    let _ = writeln!(s, "Each cell is the server's value divided by the peer's, measured minutes apart on the same machine. Below 1 is better except for updates/s.\n");
    let mut header = String::from("| server | metric |");
    let mut rule = String::from("|---|---|");
    for p in &peers {
        let _ = write!(header, " ÷ {} |", label(p));
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "{header}\n{rule}");
    for subject in &subjects {
        let Some(sk) = keys
            .iter()
            .find(|((_, n), _)| n == *subject)
            .map(|(_, k)| k)
        else {
            continue;
        };
        for (name, get, _higher_is_better) in METRICS {
            let Some(v) = get(sk) else { continue };
            let mut row = format!("| {} | {name} |", label(subject));
            for p in &peers {
                let pk = keys.iter().find(|((_, n), _)| n == *p).map(|(_, k)| k);
                let cell = match pk.and_then(get) {
                    Some(pv) if pv > 0.0 && *p != *subject => format!(" {:.2}× |", v / pv),
                    _ => " — |".into(),
                };
                row.push_str(&cell);
            }
            let _ = writeln!(s, "{row}");
        }
    }
    s.push('\n');
}

pub(super) fn render_goals(s: &mut String, runs: &Runs<'_>) {
    let keys = keys(runs);
    let get = |server: &str| keys.iter().find(|((_, n), _)| n == server).map(|(_, k)| k);
    let cell = |server: &str, f: &dyn Fn(&Key) -> Option<String>| {
        get(server).and_then(f).unwrap_or_else(|| "—".into())
    };
    let w1 = |k: &Key| {
        let p99 = k.w1_p99?;
        Some(format!(
            "p99 {}, {}, {:.0} % delivered",
            ms(p99),
            k.w1_us
                .map(|u| format!("{u:.1} µs/delivery"))
                .unwrap_or_else(|| "CPU n/a".into()),
            k.w1_delivered.unwrap_or(0.0)
        ))
    };
    let w2 = |k: &Key| k.w2_kb.map(|v| format!("{v:.1} KB each"));
    let w3 = |k: &Key| k.w3_p99.map(|v| format!("p99 {}", ms(v)));
    let w4 = |k: &Key| k.w4_ups.map(|v| format!("{v:.0} updates/s"));
    let strict = get("palabre-strict");
    let met = |ok: Option<bool>| match ok {
        Some(true) => "met",
        Some(false) => "not met",
        None => "not measured",
    };
    let w1_ok = strict.and_then(|k| Some(k.w1_p99? <= 50.0 && k.w1_us? <= 5.0));
    let w2_ok = strict.and_then(|k| Some(k.w2_kb? <= 8.0));
    let w3_ok = strict.and_then(|k| Some(k.w3_p99? <= 150.0));
    let w4_ok = strict.and_then(|k| Some(k.w4_ups? >= 50_000.0));
    let _ = writeln!(s, "### Goals, measured in this run\n");
    let _ = writeln!(s, "| workload | bare relay | y-sweet | @y/websocket-server | Palabre relaxed | Palabre strict | goal (strict) | |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|---|");
    type Row<'r> = (
        &'r str,
        &'r dyn Fn(&Key) -> Option<String>,
        &'r str,
        Option<bool>,
    );
    let rows: [Row<'_>; 4] = [
        (
            "W1 plenary",
            &w1,
            "p99 ≤ 50 ms, ≤ 5 µs CPU per delivery",
            w1_ok,
        ),
        ("W2 idle connections", &w2, "≤ 8 KB each", w2_ok),
        ("W3 join storm", &w3, "p99 ≤ 150 ms", w3_ok),
        ("W4 durable writes", &w4, "≥ 50 000 updates/s", w4_ok),
    ];
    for (name, f, goal, ok) in rows {
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {} | {} | {} | {goal} | {} |",
            cell("relay", f),
            cell("y-sweet", f),
            cell("y-websocket", f),
            cell("palabre-relaxed", f),
            cell("palabre-strict", f),
            met(ok)
        );
    }
    s.push('\n');
}
