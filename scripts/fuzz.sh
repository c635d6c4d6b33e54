#!/usr/bin/env bash
# Runs the cargo-fuzz targets (all, or those named as arguments) for FUZZ_SECONDS each (default 60).
# Slow (-timeout) and memory-hungry (-rss_limit_mb) inputs count as findings, like crashes;
# every finding is written into tests/fuzz-corpus/<target>/, which `cargo test` replays.
# Works on the stable toolchain: RUSTC_BOOTSTRAP lets it accept cargo-fuzz's -Z flags.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=(frame update_apply awareness); fi
sanitizer="${FUZZ_SANITIZER:-address}"

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

findings=0
for target in "${targets[@]}"; do
    work="fuzz/corpus/$target"
    keep="tests/fuzz-corpus/$target"
    mkdir -p "$work" "$keep"
    before=$(find "$keep" -type f | wc -l)
    echo "== fuzzing $target for ${seconds}s (sanitizer: $sanitizer)"
    # New coverage goes to the scratch corpus (first dir); the checked-in one only seeds it.
    # -fork with -ignore_* keeps fuzzing after a finding, so one run can report several.
    cargo fuzz run --fuzz-dir fuzz --sanitizer "$sanitizer" "$target" "$work" "$keep" -- \
        -timeout=2 -rss_limit_mb=512 -max_total_time="$seconds" \
        -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -artifact_prefix="$keep/" -print_final_stats=1 || true
    after=$(find "$keep" -type f | wc -l)
    new=$((after - before))
    findings=$((findings + new))
    echo "== $target: $new new finding(s) in $keep"
done

if [ "$findings" -gt 0 ]; then
    echo "$findings finding(s): commit them and make 'cargo test -p palabre fuzz_corpus' pass" >&2
    exit 1
fi
