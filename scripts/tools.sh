# Shared by scripts/test.sh and scripts/serve.sh: install what is missing, nothing else.
# Only crates.io, npm, PyPI and Debian's packages can be reached from these machines.

step() { printf '\n==> %s\n' "$*"; }

ensure_rust() {
    command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }
}
