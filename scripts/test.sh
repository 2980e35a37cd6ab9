#!/usr/bin/env bash
# Runs every test of the project on a fresh machine, installing what is missing first.
# Usage: bash scripts/test.sh        (CI runs exactly this, through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
# Each crate is built once per run here: no incremental caches, which took 0.7 GB of a fresh
# machine's disk (a CI machine ran out of disk in this script's last build).
export CARGO_INCREMENTAL=0
# Whatever this script left running (the background build, the page's server) stops with it.
stop_children() { kill -- ${THREADS_PID:+-$THREADS_PID} ${SERVER_PID:-} 2>/dev/null || true; }
trap stop_children EXIT

ensure_rust
ensure_vulkan
step "Rust tests: autodiff rules, golden tests against PyTorch, CAM maths (CPU and GPU), CLI"
cargo test --locked --all-targets

make_room target/debug
# The page's threaded worker (its own build of every crate, with atomics) compiles in the background
# from here on, on the core that the next stages leave idle (Chromium's runs, wasm-opt, links);
# the page's build hook then waits for it and finds it built. Its output: target/threads.log.
if ensure_threads_toolchain; then
    mkdir -p target
    setsid bash -c 'source scripts/tools.sh && build_threaded_worker web-release' >target/threads.log 2>&1 &
    THREADS_PID=$!
fi
ensure_wasm_target
ensure_wasm_bindgen
ensure_chromium
step "Rust tests in Chromium (wasm-bindgen-test): tract, the CAM maths and the WGSL kernels through WebGPU"
# Built with the page's profile: the page's worker below then reuses every crate compiled here
# (8 min on 2 cores) instead of compiling them a second time. webdriver.json turns WebGPU on
# (SwiftShader where there is no GPU); --nocapture prints the figures.
WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/web/tests/webdriver.json" WASM_BINDGEN_TEST_TIMEOUT=600 \
    CHROMEDRIVER=/usr/bin/chromedriver cargo test --locked --target wasm32-unknown-unknown --profile web-release \
    --test web -- --nocapture

step "Page: release build of dist/, then a smoke test in Chromium (node --test web/tests/)"
bash scripts/build-web.sh
ensure_node_deps
# dist/ served with the cross-origin isolation headers, as `trunk serve` and dist/_headers serve it
# (web/tests/threads.test.mjs serves it plainly, with and without the service worker).
# `exec`: SERVER_PID is then the server itself, which the exit trap stops (else the subshell only).
coproc SERVER { exec node web/tests/serve.mjs dist --isolated; }
read -r url <&"${SERVER[0]}"
LAYERCAM_URL="$url" LAYERCAM_DIST=dist LAYERCAM_ARTIFACTS=target/web-artifacts node --test --test-concurrency=1 web/tests/
steps_done
