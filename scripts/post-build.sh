#!/usr/bin/env bash
# Trunk runs this after each build of the page (Trunk.toml [[hooks]]), in `trunk serve` and
# `trunk build --release` alike, on its staging folder:
# 1. the threaded engine worker (feature `threads`): WebAssembly threads need the standard library
#    rebuilt with atomics, i.e. the nightly toolchain that tools.sh names (THREADS_TOOLCHAIN).
#    Without one the page ships without it and runs the plain worker on one thread, as it does on
#    a page that is not cross-origin isolated;
# 2. the service worker's build stamp (web/sw.js): a hash of the build's files.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
staging=${TRUNK_STAGING_DIR:?"run by trunk (Trunk.toml [[hooks]]): TRUNK_STAGING_DIR is not set"}

threaded_worker() {
    if ! ensure_threads_toolchain; then
        echo "post-build: no $THREADS_TOOLCHAIN toolchain; the page will run the engine on one thread" >&2
        return
    fi
    local profile=dev folder=debug
    [[ ${TRUNK_PROFILE:-debug} == release ]] && profile=web-release folder=web-release
    build_threaded_worker "$profile" --quiet
    wasm-bindgen --target web --no-typescript --out-dir "$staging" --out-name worker_threads \
        "target/threads/wasm32-unknown-unknown/$folder/worker.wasm"
    if [[ $profile == web-release ]]; then
        ensure_wasm_opt
        wasm-opt -O1 --enable-threads --enable-bulk-memory --enable-simd --enable-relaxed-simd --enable-nontrapping-float-to-int \
            --enable-sign-ext --enable-mutable-globals "$staging/worker_threads_bg.wasm" -o "$staging/worker_threads_bg.wasm"
    fi
    cp web/worker_threads_loader.js "$staging/"
}

stamp_service_worker() {
    local stamp
    stamp=$(cd "$staging" && find . -type f ! -name sw.js -print0 | sort -z | xargs -0 cat | sha256sum | cut -c1-16)
    sed -i "s/^const BUILD = 'unstamped';/const BUILD = '$stamp';/" "$staging/sw.js"
}

threaded_worker
stamp_service_worker
