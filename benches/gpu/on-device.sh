#!/usr/bin/env bash
# Runs on the GPU host (see prepare.sh): the backend benchmark, the flagship on wgpu, and
# PyTorch doing the same training loop, all results written to $OUT.
set -uo pipefail
for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export CUBECL_AUTOTUNE_LEVEL=minimal
out="${OUT:-/tmp/out}"; mkdir -p "$out"
bin=$(mktemp -d)/mlpc; xz -dc .carry/mlpc.xz > "$bin" && chmod +x "$bin"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$out/gpu.txt" 2>&1
"$bin" backends --json > "$out/backends.json" 2>&1
timeout 240 "$bin" bench benches/mnist-bench.mlp --backends flex,wgpu --steps compiled,autodiff --epochs 3 --json > "$out/bench-64.json" 2> "$out/bench-64.err"
timeout 120 "$bin" bench benches/mnist-bench.mlp --backends flex,wgpu --steps compiled,autodiff --epochs 3 --batch-size 512 --json > "$out/bench-512.json" 2> "$out/bench-512.err"
timeout 200 "$bin" run models/mnist.mlp --backend wgpu --no-save --json > "$out/mnist-wgpu.jsonl" 2> "$out/mnist-wgpu.err"
timeout 90 python3 benches/gpu/pytorch_mnist.py > "$out/pytorch.json" 2> "$out/pytorch.err"
ls -la "$out"
