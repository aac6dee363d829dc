#!/usr/bin/env bash
# Runs on the GPU host (see prepare.sh), all results written to $OUT: the wgpu steps (replay,
# eager compiled, autodiff) at batch 64 and 512 in one process each, the flagship through
# replay, and PyTorch on the same loop, plain and with the whole step in a CUDA graph.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
out="${OUT:-/tmp/out}"; mkdir -p "$out"
bin=$(mktemp -d)/mlpc; xz -dc .carry/mlpc.xz > "$bin" && chmod +x "$bin"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$out/gpu.txt" 2>&1
"$bin" backends --json > "$out/backends.json" 2>&1
# A machine that has never run mlpc: the first epoch includes all kernel tuning, each tuning
# decision and its candidates' times logged by cubecl (read from a cubecl.toml in the working
# folder) to say where the first epoch goes.
export MLPC_KERNEL_CACHE=$(mktemp -d)
repo=$(pwd); logged=$(mktemp -d)
printf '[autotune]\nlogger = { level = "minimal", file = "%s" }\n' "$out/autotune-64.log" > "$logged/cubecl.toml"
(cd "$logged" && timeout 150 "$bin" bench "$repo/benches/mnist-bench.mlp" --backends wgpu --steps replay,compiled,autodiff --epochs 3 --json > "$out/bench-64.json" 2> "$out/bench-64.err")
timeout 100 "$bin" bench benches/mnist-bench.mlp --backends wgpu --steps replay,compiled,autodiff --epochs 3 --batch-size 512 --json > "$out/bench-512.json" 2> "$out/bench-512.err"
# The first epoch with cubecl's quickest tuning, on another fresh store.
MLPC_KERNEL_CACHE=$(mktemp -d) CUBECL_AUTOTUNE_LEVEL=minimal timeout 60 "$bin" bench benches/mnist-bench.mlp --backends wgpu --steps replay --epochs 3 --json > "$out/bench-64-minimal.json" 2> "$out/bench-64-minimal.err"
# The flagship, each epoch's line also stamped with the seconds since the start (what a user
# waits for: loading, the first epoch's tuning and the evaluation's included).
start=$(date +%s.%N)
timeout 120 "$bin" run models/mnist.mlp --backend wgpu --no-save --json 2> "$out/mnist-wgpu.err" | tee "$out/mnist-wgpu.jsonl" \
  | python3 -c 'import json, sys, time
for line in sys.stdin:
    print(json.dumps(dict(json.loads(line), wall_seconds=round(time.time() - float(sys.argv[1]), 3))), flush=True)' "$start" > "$out/mnist-wgpu-wall.jsonl"
timeout 90 python3 benches/gpu/pytorch_mnist.py > "$out/pytorch.json" 2> "$out/pytorch.err"
ls -la "$out"
