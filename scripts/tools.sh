# Shared by scripts/test.sh and scripts/serve.sh: install what is missing, nothing else.
# Only crates.io, npm, PyPI and Debian's packages can be reached from these machines.

# step TEXT: starts a stage; each stage's time, and the total, are printed when the next one starts.
STEP_NAME='' STEP_START=$SECONDS
step() {
    [[ -n "$STEP_NAME" ]] && printf '==> %ds: %s\n' $((SECONDS - STEP_START)) "$STEP_NAME"
    STEP_NAME="$*" STEP_START=$SECONDS
    printf '\n==> %s (disk: %s free)\n' "$*" "$(df -h --output=avail . | tail -1 | tr -d ' ')"
}
# steps_done: the last stage's time and the whole run's (bash's SECONDS counts from the start).
steps_done() {
    step "done"
    printf '==> total %dm%02ds\n' $((SECONDS / 60)) $((SECONDS % 60))
}

# make_room FOLDER...: where the disk is nearly full (under 10 GB free: a CI machine ran out of
# disk in the page's last build), removes build folders that the stages still to come do not need,
# and says so. Elsewhere they stay, for the next run to reuse.
make_room() {
    local free_gb
    free_gb=$(df --output=avail -BG . | tail -1 | tr -dc '0-9')
    ((free_gb >= 10)) && return
    echo "only ${free_gb} GB of disk free: removing $* (the finished stages' builds; the next run rebuilds them)"
    rm -rf "$@"
}

ensure_rust() {
    command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }
}

# apt_install PACKAGE...: Debian packages, with one `apt-get update` per run (a fresh machine has no lists).
apt_install() {
    [[ -n "${APT_UPDATED:-}" ]] || { apt-get update -qq; APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_wasm_target() {
    rustup target list --installed | grep -qx wasm32-unknown-unknown && return
    step "Installing the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
}

# The toolchain of the page's threaded worker (scripts/post-build.sh): WebAssembly threads
# need `-Z build-std`, a nightly feature. Checked with the nightly of THREADS_NIGHTLY_DATE.
THREADS_TOOLCHAIN=nightly
THREADS_NIGHTLY_DATE=2026-05-19
ensure_threads_toolchain() {
    local version
    version=$(rustup run "$THREADS_TOOLCHAIN" rustc --version 2>/dev/null) || return 1
    [[ $version == *"$THREADS_NIGHTLY_DATE"* ]] || echo "note: the threaded worker is checked with nightly $THREADS_NIGHTLY_DATE; building with $version" >&2
    rustup component list --installed --toolchain "$THREADS_TOOLCHAIN" | grep -q '^rust-src' \
        || rustup component add rust-src --toolchain "$THREADS_TOOLCHAIN" >&2 || return 1
    rustup target list --installed --toolchain "$THREADS_TOOLCHAIN" | grep -qx wasm32-unknown-unknown \
        || rustup target add wasm32-unknown-unknown --toolchain "$THREADS_TOOLCHAIN" >&2 || return 1
}

# cargo_install ARG...: `cargo install` of a build tool, built for a quick build rather than a fast
# binary: Trunk's own release profile (fat LTO, one codegen unit) took 8 min on 2 cores, this 4.
cargo_install() {
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=1 \
        cargo install --quiet "$@"
}

# build_threaded_worker PROFILE [CARGO ARG...]: cargo's build of the page's threaded worker into
# target/threads (scripts/post-build.sh, after ensure_threads_toolchain). Shared memory, imported
# from the page's side (the pool's threads share it); wasm-bindgen needs the TLS symbols and, since
# nightly 2026-05, __heap_base exported. simd128 as in .cargo/config.toml, whose rustflags this
# variable replaces, and relaxed-simd: tract's matrix kernels then multiply-add in one instruction
# (the page 143-147 -> 128-133 ms a click). A browser without it (Safari, Firefox before 145) cannot
# compile this build, and runs the plain worker (src/web/bridge.rs).
build_threaded_worker() {
    local profile=$1 flags="-C target-feature=+atomics,+bulk-memory,+simd128,+relaxed-simd" arg
    shift
    for arg in --shared-memory --import-memory --max-memory=4294967296 --export=__wasm_init_tls --export=__tls_size \
        --export=__tls_align --export=__tls_base --export=__heap_base; do
        flags+=" -C link-arg=$arg"
    done
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags" \
        cargo "+$THREADS_TOOLCHAIN" build --locked "$@" --target wasm32-unknown-unknown -Z build-std=panic_abort,std \
        --profile "$profile" --bin worker --features threads --target-dir target/threads
}

# Trunk 0.22 needs a newer rustc than the machine's 1.95. Without its default features: no TLS and
# no update check, which only its downloads and HTTPS serving need (it downloads nothing here).
TRUNK_VERSION=0.21.14
ensure_trunk() {
    [[ "$(trunk --version 2>/dev/null)" == "trunk $TRUNK_VERSION" ]] && return
    step "Installing trunk $TRUNK_VERSION (about 4 min on 2 cores)"
    cargo_install --locked --no-default-features "trunk@$TRUNK_VERSION"
}

# The CLI must equal the wasm-bindgen crate of Cargo.lock exactly, or Trunk tries a download that fails.
wasm_bindgen_version() {
    awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock
}
ensure_wasm_bindgen() {
    local version
    version=$(wasm_bindgen_version)
    [[ "$(wasm-bindgen --version 2>/dev/null)" == "wasm-bindgen $version" ]] && return
    step "Installing wasm-bindgen-cli $version (also wasm-bindgen-test-runner)"
    # No --locked: its lockfile wants a webpki-roots version that crates.io lacks.
    cargo_install --force wasm-bindgen-cli --version "$version"
}

# web/package.json pins binaryen (wasm-opt) and playwright-core; `npm ci` only when the lockfile changed.
ensure_node_deps() {
    command -v npm >/dev/null || apt_install nodejs npm
    [[ web/node_modules/.package-lock.json -nt web/package-lock.json ]] && return
    step "Installing web/package.json (npm ci)"
    (cd web && npm ci --silent --no-audit --no-fund)
}

# wasm-opt 132 from npm: Debian's binaryen (108) emits a .wasm that dies at load (WebAssembly.Table.set).
ensure_wasm_opt() {
    ensure_node_deps
    case ":$PATH:" in *":$PWD/web/node_modules/.bin:"*) ;; *) export PATH="$PWD/web/node_modules/.bin:$PATH" ;; esac
}

# Debian's Chromium and its matching ChromeDriver, for the page tests and wasm-bindgen-test.
ensure_chromium() {
    [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]] && return
    step "Installing chromium and chromium-driver"
    apt_install chromium chromium-driver
}

# A Vulkan driver for the native GPU tests: Mesa's lavapipe runs the WGSL kernels on the CPU where
# there is no GPU (wgpu picks a real GPU first when there is one).
ensure_vulkan() {
    compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null && return
    step "Installing mesa-vulkan-drivers (lavapipe, software Vulkan)"
    apt_install mesa-vulkan-drivers
}

# Everything `trunk build` needs (scripts/build-web.sh, scripts/serve.sh).
ensure_web_tools() {
    ensure_rust
    ensure_wasm_target
    ensure_trunk
    ensure_wasm_bindgen
    ensure_wasm_opt
}
