#!/usr/bin/env bash
# Issue 14's benchmarks, in one run on this machine (quick sizes, a few minutes):
#   W1 plenary on one node (SQLite), one node on PostgreSQL, and a cluster of three nodes on one
#   PostgreSQL and one Redis with the clients spread over the nodes (round robin);
#   W4 durable writes on SQLite and on PostgreSQL.
# PostgreSQL runs with its defaults (fsync on, synchronous_commit on), like a deployment; it and
# Redis get their own temp dirs and free loopback ports and are removed afterwards. Results and
# their report go to bench/results/issue14-cluster/ (BENCH_RESULTS to change it).
#
#   scripts/bench-cluster.sh            (make bench-cluster)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results/issue14-cluster}
BENCH=$ROOT/target/release/palabre-bench
PALABRE=$ROOT/target/release/palabre
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
STEP_LIMIT=240
mkdir -p "$RESULTS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/palabre-bench-cluster.XXXXXX")
chmod 755 "$WORK"

hard=$(ulimit -Hn)
if [[ $hard == unlimited || $hard -ge 65536 ]]; then ulimit -n 65536; else ulimit -n "$hard"; fi

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z $PGBIN || ! -x $PGBIN/initdb || ! -x /usr/bin/redis-server ]]; then
    echo "bench-cluster: needs PostgreSQL and redis-server (apt-get install postgresql redis-server)" >&2
    exit 2
fi
ROOT_USER=no
[[ $(id -u) == 0 ]] && ROOT_USER=yes
# PostgreSQL refuses to run as root: its tools then run as the postgres user.
as_pg() { if [[ $ROOT_USER == yes ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

NODE_PIDS=()
REDIS_PID=""
stop_nodes() {
    for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${NODE_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    NODE_PIDS=()
}
cleanup() {
    stop_nodes
    if [[ -f $WORK/pg/data/postmaster.pid ]]; then
        as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [[ -n $REDIS_PID ]]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench-cluster: building release binaries"
cargo build --release -p palabre -p palabre-bench

echo "bench-cluster: starting PostgreSQL and Redis"
mkdir -p "$WORK/pg" "$WORK/redis"
[[ $ROOT_USER == yes ]] && chown postgres:postgres "$WORK/pg"
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U palabre --auth=trust -E UTF8 >"$WORK/initdb.log"
PGPORT=$("$BENCH" free-port)
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w -t 60 \
    -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
REDISPORT=$("$BENCH" free-port)
redis-server --port "$REDISPORT" --bind 127.0.0.1 --save "" --appendonly no \
    --dir "$WORK/redis" >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$REDISPORT" ping >/dev/null 2>&1 && break; sleep 0.1; done

fresh_db() {
    PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "$PGPORT" -U palabre -d postgres -q -v ON_ERROR_STOP=1 \
        -c "DROP DATABASE IF EXISTS \"$1\"" -c "CREATE DATABASE \"$1\"" >/dev/null
    echo "postgres://palabre@127.0.0.1:$PGPORT/$1"
}

wait_port() {
    local port=$1 pid=$2
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || return 1
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

URLS=""
# start_node LOG ARGS…: one `palabre serve` on a free port, its abuse limits lifted as in
# scripts/bench.sh (one loopback address opens thousands of sockets and writes fast).
start_node() {
    local log=$1 port data
    shift
    port=$("$BENCH" free-port)
    data=$(mktemp -d "$WORK/data.XXXXXX")
    PALABRE_LOG=warn "$PALABRE" serve --bind "127.0.0.1:$port" --data-dir "$data" \
        --durability strict --open-docs \
        --max-conns-per-addr 100000 --max-conns-per-doc 100000 --max-items 100000000 \
        --updates-per-sec 1000000000 --update-burst 1000000000 "$@" >>"$log" 2>&1 &
    local pid=$!
    NODE_PIDS+=("$pid")
    if ! wait_port "$port" "$pid"; then
        echo "bench-cluster: a node did not start; its log:"; tail -20 "$log"; return 1
    fi
    URLS="${URLS:+$URLS,}ws://127.0.0.1:$port/ws/{doc}"
}

# start SERVER: the nodes of one configuration.
start() {
    local server=$1 log=$WORK/$1.log url
    URLS=""
    case "$server" in
        palabre-strict) start_node "$log" ;;
        palabre-pg) url=$(fresh_db "bench_${RUN_ID,,}_$2"); start_node "$log" --postgres "$url" ;;
        palabre-cluster)
            url=$(fresh_db "bench_${RUN_ID,,}_$2")
            redis-cli -p "$REDISPORT" flushall >/dev/null
            for _ in 1 2 3; do
                start_node "$log" --postgres "$url" --redis "redis://127.0.0.1:$REDISPORT/"
            done ;;
    esac
}

failures=0
run() {
    local w=$1 server=$2 pids
    echo "bench-cluster: ── $w on $server"
    if ! start "$server" "$w"; then failures=$((failures + 1)); stop_nodes; return; fi
    pids=$(IFS=,; echo "${NODE_PIDS[*]}")
    if ! timeout "$STEP_LIMIT" "$BENCH" "$w" --url "$URLS" --server "$server" \
        --server-pid "$pids" --run-id "$RUN_ID" --out "$RESULTS/$w-$server.json"; then
        echo "bench-cluster: $w on $server failed; log tail:"
        tail -5 "$WORK/$server.log" || true
        failures=$((failures + 1))
    fi
    stop_nodes
}

started=$(date +%s)
for server in palabre-strict palabre-pg palabre-cluster; do run w1 "$server"; done
for server in palabre-strict palabre-pg; do run w4 "$server"; done
echo "bench-cluster: workloads took $(( $(date +%s) - started )) s, $failures failed"

"$BENCH" report --results "$RESULTS" --doc "$RESULTS/README.md" \
    --svg "$RESULTS/w1-latency.svg" --svg-link w1-latency.svg
exit $(( failures > 0 ))
