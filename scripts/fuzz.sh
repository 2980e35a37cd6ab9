#!/usr/bin/env bash
# Fuzzes untrusted model files for SECONDS (default 600; examples/fuzz_models/main.rs says how).
# Each problem found is saved as tests/fixtures/fuzz/found-*.onnx, which the CI then runs
# (tests/integration/fuzz_corpus.rs): commit it with its fix. Exit status 1 when something was found.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --example fuzz_models
exec target/release/examples/fuzz_models "${1:-600}"
