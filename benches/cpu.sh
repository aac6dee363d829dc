#!/usr/bin/env bash
# The CPU comparison the README's performance table comes from, in one run on one machine:
# the numpy loop (benches/numpy_mlp.py) and `mlpc bench` (compiled and autodiff steps on flex
# and ndarray), MNIST 784-128-10, plain SGD, batch 64 and 512. The whole comparison is repeated
# ROUNDS times, interleaved, and each program's figure is the median over rounds of its steady
# samples/s (itself the median epoch after the first): shared machines are noisy. Prints the
# ratio of each to numpy at the same batch size, and compiled against autodiff.
#
# Usage: bash benches/cpu.sh [EPOCHS] [ROUNDS]   (needs numpy: pip install numpy)
#        MLPC_PROFILE=release-lto bash benches/cpu.sh   (the LTO build; see Cargo.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-6}"
rounds="${2:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/mlpc-target}"
# MLPC_PROFILE=release-lto measures the build with link-time optimisation (Cargo.toml).
profile="${MLPC_PROFILE:-release}"
cargo build --profile "$profile" -q -p mlpc-cli
mlpc="$CARGO_TARGET_DIR/$profile/mlpc"
results=$(mktemp)
for round in $(seq "$rounds"); do
  python3 benches/numpy_mlp.py --batch-sizes 64,512 --epochs "$epochs" >> "$results"
  for batch in 64 512; do
    "$mlpc" bench benches/mnist-bench.mlp --backends flex,ndarray --steps compiled,autodiff \
      --epochs "$epochs" --batch-size "$batch" --json \
      | python3 -c "import json,sys; [print(json.dumps(dict(row, batch=$batch))) for row in map(json.loads, sys.stdin)]" >> "$results"
  done
done
python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
name = lambda row: row.get("program") or f"mlpc {row['backend']} {row['step']}"
figures = {}
for row in rows:
    figures.setdefault((name(row), row["batch"]), []).append(row["samples_per_sec"])
speed = {key: statistics.median(values) for key, values in figures.items()}
print(f"{'program':<22} {'batch':>5} {'samples/s':>10} {'vs numpy':>9} {'vs autodiff':>12}")
for (program, batch), value in speed.items():
    autodiff = speed.get((program.replace("compiled", "autodiff"), batch))
    versus = f"{value / autodiff:.2f}x" if "compiled" in program and autodiff else ""
    print(f"{program:<22} {batch:>5} {value:>10.0f} {value / speed[('numpy', batch)]:>8.2f}x {versus:>12}")
PY
