#!/usr/bin/env bash
# Runs every test of the project on a fresh machine, installing what is missing first.
# Usage: bash scripts/test.sh        (CI runs exactly this, through .ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_rust
step "Rust tests: autodiff rules, golden tests against PyTorch, CAM maths, CLI"
cargo test --locked --all-targets
