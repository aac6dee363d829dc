#!/usr/bin/env bash
# The CPU comparison the README's performance table comes from, in one run on one machine:
# the numpy loop (benches/numpy_mlp.py) and `mlpc bench` (compiled and autodiff steps on flex
# and ndarray), MNIST 784-128-10, plain SGD, batch 64 and 512; prints each program's steady
# samples/s and its ratio to numpy at the same batch size.
#
# Usage: bash benches/cpu.sh [EPOCHS]   (needs numpy: pip install numpy; builds mlpc in release)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${1:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/mlpc-target}"
cargo build --release -q -p mlpc-cli
mlpc="$CARGO_TARGET_DIR/release/mlpc"
results=$(mktemp)
python3 benches/numpy_mlp.py --batch-sizes 64,512 --epochs "$epochs" >> "$results"
for batch in 64 512; do
  "$mlpc" bench benches/mnist-bench.mlp --backends flex,ndarray --steps compiled,autodiff \
    --epochs "$epochs" --batch-size "$batch" --json \
    | python3 -c "import json,sys; [print(json.dumps(dict(row, batch=$batch))) for row in json.load(sys.stdin)]" >> "$results"
done
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
numpy = {row["batch"]: row["samples_per_sec"] for row in rows if row.get("program") == "numpy"}
print(f"{'program':<22} {'batch':>5} {'samples/s':>10} {'vs numpy':>9} {'accuracy':>9}")
for row in rows:
    name = row.get("program") or f"mlpc {row['backend']} {row['step']}"
    accuracy = row.get("test_accuracy")
    accuracy = f"{accuracy * 100:.2f}%" if accuracy is not None else "-"
    ratio = row["samples_per_sec"] / numpy[row["batch"]]
    print(f"{name:<22} {row['batch']:>5} {row['samples_per_sec']:>10.0f} {ratio:>8.2f}x {accuracy:>9}")
PY
