#!/usr/bin/env bash
# Runs every test of the project on a fresh machine, installing what is missing first.
# Usage: bash scripts/test.sh        (CI runs exactly this, through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_rust
ensure_vulkan
step "Rust tests: autodiff rules, golden tests against PyTorch, CAM maths (CPU and GPU), CLI"
cargo test --locked --all-targets

ensure_wasm_target
ensure_wasm_bindgen
ensure_chromium
step "Rust tests in Chromium (wasm-bindgen-test): tract, the CAM maths and the WGSL kernels through WebGPU"
# webdriver.json turns WebGPU on (SwiftShader where there is no GPU); --nocapture prints the figures.
WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/web/tests/webdriver.json" WASM_BINDGEN_TEST_TIMEOUT=600 \
    CHROMEDRIVER=/usr/bin/chromedriver cargo test --locked --target wasm32-unknown-unknown \
    --test web -- --nocapture

step "Page: release build of dist/, then a smoke test in Chromium (node --test web/tests/)"
bash scripts/build-web.sh
ensure_node_deps
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory dist "$port" >/dev/null 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
LAYERCAM_URL="http://127.0.0.1:$port/" LAYERCAM_ARTIFACTS=target/web-artifacts node --test --test-concurrency=1 web/tests/
steps_done
