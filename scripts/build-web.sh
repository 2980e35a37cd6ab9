#!/usr/bin/env bash
# Builds the page into dist/ (release: LTO, then wasm-opt), installing what is missing first.
# dist/ is static and uses relative URLs: serve it from any path.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_web_tools
step "Building the page into dist/ (trunk build --release)"
trunk build --release --skip-version-check
