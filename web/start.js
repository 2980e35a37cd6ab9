// Starts the page's WebAssembly (src/bin/app.rs). Trunk's default is an inline <script>, which the
// page's Content-Security-Policy (index.html) refuses; Trunk.toml's pattern_script loads this file
// instead. The names are stable: Trunk.toml sets filehash = false.
import init from './app.js';

await init({ module_or_path: './app_bg.wasm' });
