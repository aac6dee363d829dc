#!/usr/bin/env bash
# Run on the build machine before a GPU check: builds mlpc, packs it for the GPU host
# (.carry/mlpc.xz) and fetches the Vulkan/GL loader packages it lacks (.gl/*.deb).
# Both folders are listed in .git/info/exclude; name both in the device tool's `carry`.
set -euo pipefail
cd "$(dirname "$0")/../.."
grep -qx '.gl/' .git/info/exclude || echo '.gl/' >> .git/info/exclude
grep -qx '.carry/' .git/info/exclude || echo '.carry/' >> .git/info/exclude
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/mlpc-target}"
cargo build --release -p mlpc-cli
mkdir -p .carry .gl
strip -o .carry/mlpc "$CARGO_TARGET_DIR/release/mlpc"
xz -T2 -6 -f .carry/mlpc
if ! ls .gl/*.deb >/dev/null 2>&1; then
  lists=$(mktemp -d); mkdir -p "$lists/partial"
  o="-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=$lists"
  apt-get $o update -qq
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh .carry .gl
