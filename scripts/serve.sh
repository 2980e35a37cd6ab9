#!/usr/bin/env bash
# Serves the page at http://127.0.0.1:8080/, rebuilding it when a source changes; installs what is
# missing first (the first run compiles Trunk: about 8 min). Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

ensure_web_tools
step "Serving the page at http://127.0.0.1:8080/ (trunk serve)"
exec trunk serve --skip-version-check
