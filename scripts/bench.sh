#!/usr/bin/env bash
# Runs the W1–W4 workloads of palabre-bench against every server available on this machine —
# the bare relay, @y/websocket-server, y-sweet (when Y_SWEET_BIN is set) and Palabre in strict and
# relaxed durability — each on a free loopback port, restarted fresh for every workload; then
# renders docs/benchmarks.md and bench/results/w1-latency.svg.
#
#   scripts/bench.sh            quick sizes (make bench, a few minutes)
#   scripts/bench.sh --full     the issue's sizes (make bench-full)
#
# Environment: Y_SWEET_BIN (a y-sweet binary), BENCH_SERVERS and BENCH_WORKLOADS (space-separated
# subsets, e.g. BENCH_SERVERS="relay palabre-strict" BENCH_WORKLOADS="w1").
# `palabre-strict-web` is Palabre strict driven by web-like clients (`--client web`: they ask the
# server to confirm their own notes, as the web client does), `palabre-strict-web-eager` by the
# web client as it was before issue 9; both run W1 only. BENCH_RESULTS and BENCH_DOC (a folder
# and a Markdown file) send the results and the report of a partial run somewhere else
# (BENCH_SVG_LINK: the plot as linked from that file).
# BENCH_FULLBOARD (default "owned mixed forged", " " for none) picks the full-board variants, run
# against this tree's Palabre and, when PALABRE_OLD_BIN names another palabre binary (e.g. one
# built from an older commit), against it too (`palabre-old`), in the same run.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SIZE_FLAG=()
STEP_LIMIT=240
for arg in "$@"; do
    case "$arg" in
        --full) SIZE_FLAG=(--full); STEP_LIMIT=600 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "bench: unknown argument $arg (try --help)" >&2; exit 2 ;;
    esac
done

SERVERS=${BENCH_SERVERS:-"relay y-websocket y-sweet palabre-relaxed palabre-strict palabre-strict-web"}
WORKLOADS=${BENCH_WORKLOADS:-"w1 w2 w3 w4"}
# BENCH_RESULTS / BENCH_DOC send a partial run elsewhere, leaving the committed results alone.
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
REPORT_DOC=${BENCH_DOC:-$ROOT/docs/benchmarks.md}
SCRATCH=$ROOT/bench/scratch
BENCH=$ROOT/target/release/palabre-bench
PALABRE=$ROOT/target/release/palabre
YWS_JS=$SCRATCH/node_modules/@y/websocket-server/src/server.js
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$RESULTS" "$SCRATCH"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/palabre-bench.XXXXXX")

# Thousands of sockets on each side: give the servers (children of this shell) and the generator
# as many descriptors as the hard limit allows, up to 65536.
hard=$(ulimit -Hn)
if [[ $hard == unlimited || $hard -ge 65536 ]]; then ulimit -n 65536; else ulimit -n "$hard"; fi
echo "bench: open-files limit $(ulimit -n)"

SERVER_PID=""
stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    stop_server
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench: building release binaries"
HAVE_PALABRE=no
# One cargo invocation for both, so that shared dependencies are built once with unified features.
if cargo build --release -p palabre -p palabre-bench; then
    help=$("$PALABRE" serve --help 2>&1 || true)
    if grep -q -- --durability <<<"$help" && grep -q -- --open-docs <<<"$help"; then
        HAVE_PALABRE=yes
    else
        echo "bench: palabre serve lacks --durability/--open-docs: skipping Palabre"
    fi
else
    echo "bench: palabre does not build: skipping Palabre"
    cargo build --release -p palabre-bench
fi

HAVE_YWS=no
if [[ ! -f $YWS_JS ]]; then
    echo "bench: installing @y/websocket-server@0.1.1 into bench/scratch"
    [[ -f $SCRATCH/package.json ]] || echo '{"name":"palabre-bench-scratch","private":true}' >"$SCRATCH/package.json"
    if ! timeout 300 npm install --prefix "$SCRATCH" --no-audit --no-fund \
        @y/websocket-server@0.1.1 yjs@13 >"$WORK/npm.log" 2>&1; then
        echo "bench: npm install failed (see below): skipping @y/websocket-server"
        tail -5 "$WORK/npm.log"
    fi
fi
if [[ -f $YWS_JS ]] && command -v node >/dev/null; then HAVE_YWS=yes; fi

HAVE_YSWEET=no
if [[ -n ${Y_SWEET_BIN:-} && -x ${Y_SWEET_BIN:-} ]]; then
    HAVE_YSWEET=yes
else
    echo "bench: Y_SWEET_BIN is not set to an executable: skipping y-sweet"
fi

wait_port() {
    local port=$1
    for _ in $(seq 150); do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then return 1; fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

# start_server NAME: starts it on a fresh port; sets SERVER_PID and TARGET (generator arguments).
start_server() {
    local name=$1 port log data client=()
    log=$WORK/$name.log
    case "$name" in
        palabre-strict-web) name=palabre-strict; client=(--client web) ;;
        palabre-strict-web-eager) name=palabre-strict; client=(--client web-eager) ;;
    esac
    port=$("$BENCH" free-port)
    data=$(mktemp -d "$WORK/data.XXXXXX")
    case "$name" in
        relay)
            "$BENCH" relay --bind "127.0.0.1:$port" >"$log" 2>&1 &
            TARGET=(--url "ws://127.0.0.1:$port/{doc}" --mode relay) ;;
        y-websocket)
            HOST=127.0.0.1 PORT=$port node "$YWS_JS" >"$log" 2>&1 &
            TARGET=(--url "ws://127.0.0.1:$port/{doc}") ;;
        y-sweet)
            RUST_LOG=error Y_SWEET_LOG=error "$Y_SWEET_BIN" serve "$data" --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
            TARGET=(--url "ws://127.0.0.1:$port/d/{doc}/ws/{doc}" --create-url "http://127.0.0.1:$port/doc/new") ;;
        palabre-strict|palabre-relaxed)
            # Abuse limits are lifted: the benchmark measures capacity, and one loopback address
            # opens thousands of sockets and writes far faster than a person.
            PALABRE_LOG=warn "$PALABRE" serve --bind "127.0.0.1:$port" --data-dir "$data" \
                --durability "${name#palabre-}" --open-docs \
                --max-conns-per-addr 100000 --max-conns-per-doc 100000 --max-items 100000000 \
                --updates-per-sec 1000000000 --update-burst 1000000000 \
                --addr-write-bytes-per-sec 4000000000 --addr-write-burst-bytes 4000000000 \
                --write-bytes-per-sec 4000000000 --write-burst-bytes 4000000000 \
                --doc-opens-per-min 4000000000 >"$log" 2>&1 &
            TARGET=(--url "ws://127.0.0.1:$port/ws/{doc}" "${client[@]}") ;;
        palabre-fullboard|palabre-old)
            # Default limits, except room for the honest notes beyond the 5 000 of the fill.
            local bin=$PALABRE
            [[ $name == palabre-old ]] && bin=$PALABRE_OLD_BIN
            PALABRE_LOG=error "$bin" serve --bind "127.0.0.1:$port" --data-dir "$data" \
                --open-docs --max-items 6000 >"$log" 2>&1 &
            TARGET=(--url "ws://127.0.0.1:$port/ws/{doc}") ;;
        palabre-defended)
            # Issue 13's attacks run against the default limits, as deployed.
            PALABRE_LOG=error "$PALABRE" serve --bind "127.0.0.1:$port" --data-dir "$data" \
                --open-docs >"$log" 2>&1 &
            TARGET=(--url "ws://127.0.0.1:$port/ws/{doc}") ;;
        *) echo "bench: unknown server $name" >&2; return 1 ;;
    esac
    SERVER_PID=$!
    if ! wait_port "$port"; then
        echo "bench: $name did not start; its log:"
        tail -20 "$log"
        stop_server
        return 1
    fi
}

available() {
    case "$1" in
        relay) true ;;
        y-websocket) [[ $HAVE_YWS == yes ]] ;;
        y-sweet) [[ $HAVE_YSWEET == yes ]] ;;
        palabre-*) [[ $HAVE_PALABRE == yes ]] ;;
        *) false ;;
    esac
}

started=$(date +%s)
failures=0
for server in $SERVERS; do
    if ! available "$server"; then
        echo "bench: $server not available, skipped"
        continue
    fi
    for w in $WORKLOADS; do
        if [[ $server == palabre-strict-web* && $w != w1 ]]; then continue; fi
        echo "bench: ── $w on $server"
        if ! start_server "$server"; then
            failures=$((failures + 1))
            continue
        fi
        if ! timeout "$STEP_LIMIT" "$BENCH" "$w" "${TARGET[@]}" "${SIZE_FLAG[@]}" \
            --server "$server" --server-pid "$SERVER_PID" --run-id "$RUN_ID" \
            --out "$RESULTS/$w-$server.json"; then
            echo "bench: $w on $server failed; server log tail:"
            tail -5 "$WORK/$server.log" || true
            failures=$((failures + 1))
        fi
        stop_server
    done
done
# Honest p99 under each attack, as a ratio to the same workload alone (issue 13).
ATTACKS=${BENCH_ATTACKS:-"step1 stray slowloris"}
if [[ $HAVE_PALABRE == yes ]]; then
    for kind in $ATTACKS; do
        echo "bench: ── attack $kind on palabre-defended"
        if ! start_server palabre-defended; then
            failures=$((failures + 1))
            continue
        fi
        if ! timeout "$STEP_LIMIT" "$BENCH" attack --kind "$kind" "${TARGET[@]}" \
            --server palabre-defended --server-pid "$SERVER_PID" --run-id "$RUN_ID" \
            --out "$RESULTS/attack-$kind-palabre.json"; then
            echo "bench: attack $kind failed; server log tail:"
            tail -5 "$WORK/palabre-defended.log" || true
            failures=$((failures + 1))
        fi
        stop_server
    done
fi
# Honest participants on a 5 000-note board beside checked hostile updates, new and old server.
FULLBOARD=${BENCH_FULLBOARD:-"owned mixed forged"}
FULL_SERVERS=palabre-fullboard
if [[ -n ${PALABRE_OLD_BIN:-} && -x ${PALABRE_OLD_BIN:-} ]]; then FULL_SERVERS+=" palabre-old"; fi
if [[ $HAVE_PALABRE == yes ]]; then
    for variant in $FULLBOARD; do
        for server in $FULL_SERVERS; do
            echo "bench: ── fullboard $variant on $server"
            if ! start_server "$server"; then
                failures=$((failures + 1))
                continue
            fi
            if ! timeout "$STEP_LIMIT" "$BENCH" fullboard --variant "$variant" "${TARGET[@]}" \
                --server "$server" --server-pid "$SERVER_PID" --run-id "$RUN_ID" \
                --out "$RESULTS/fullboard-$variant-$server.json"; then
                echo "bench: fullboard $variant on $server failed; server log tail:"
                tail -5 "$WORK/$server.log" || true
                failures=$((failures + 1))
            fi
            stop_server
        done
    done
fi
echo "bench: workloads took $(( $(date +%s) - started )) s, $failures failed"

"$BENCH" report --results "$RESULTS" --doc "$REPORT_DOC" \
    --svg "$RESULTS/w1-latency.svg" --svg-link "${BENCH_SVG_LINK:-../bench/results/w1-latency.svg}"
