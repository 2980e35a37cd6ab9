// Starts the threaded build of the engine worker (scripts/post-build.sh), an ES module
// worker: its start function runs the engine (src/worker.rs), which first starts the pool of
// WebAssembly threads. The page uses it only where it is cross-origin isolated (src/web/bridge.rs).
import init from './worker_threads.js';

await init({ module_or_path: './worker_threads_bg.wasm' });
