#!/usr/bin/env bash
# Fuzzes the front end (parse → check → summary → fmt) with libFuzzer, on the stable
# toolchain: cargo-fuzz's flags are nightly-only, RUSTC_BOOTSTRAP=1 lets stable take them, and
# `--sanitizer none` needs no sanitizer runtime. The corpus starts from the shipped models and
# the invalid examples of the test suite; crashes land in fuzz/artifacts/front_end/.
#
# Usage: bash fuzz/run.sh [RUNS] [extra libFuzzer flags...]   (default 1000000 executions)
#        FUZZ_JOBS=2 bash fuzz/run.sh 500000     (two workers, RUNS each: logs in fuzz/fuzz-N.log)
#        CARGO_FUZZ_FLAGS=--no-trace-compares    (faster, less guided: after a guided run)
set -euo pipefail
cd "$(dirname "$0")"
runs="${1:-1000000}"
shift || true
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/mlpc-fuzz-target}"
corpus=corpus/front_end
mkdir -p "$corpus"
for seed in ../models/*.mlp ../tests/invalid/*.mlp ../tests/format/*.mlp; do
  [ -f "$seed" ] && cp "$seed" "$corpus/seed-$(basename "$seed")"
done
# -timeout: an input that takes over a second is a finding; -max_len: a few model files long.
jobs="${FUZZ_JOBS:-1}"
parallel=()
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
# shellcheck disable=SC2086
cargo fuzz run --sanitizer none ${CARGO_FUZZ_FLAGS:-} front_end "$corpus" -- \
  -runs="$runs" -timeout=1 -max_len=4096 -dict=front_end.dict -print_final_stats=1 \
  "${parallel[@]}" "$@"
