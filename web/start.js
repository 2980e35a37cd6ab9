// Starts the page's WebAssembly (src/bin/app.rs). Trunk's default is an inline <script>, which the
// page's Content-Security-Policy (index.html) refuses; Trunk.toml's pattern_script loads this file
// instead. The names are stable: Trunk.toml sets filehash = false.
import init from './app.js';

await isolate();
await init({ module_or_path: './app_bg.wasm' });

/**
 * Registers the service worker (web/sw.js). A page that is not cross-origin isolated yet (a plain
 * static host) is reloaded once under it, which isolates it: the engine then has threads. Where
 * that fails (no service workers, or blocked) the page runs as it is, the engine on one thread.
 * An isolated page (headers from its host, or a page the service worker serves) does not wait for
 * the registration: shortly after an earlier visit's work, Chromium held register() for 1.5 s.
 */
async function isolate() {
  if (!('serviceWorker' in navigator)) return;
  const registering = navigator.serviceWorker.register('./sw.js').catch((err) => {
    console.warn('layercam: no service worker, the engine runs on one thread:', err);
  });
  if (crossOriginIsolated || sessionStorage.getItem('layercam-isolating')) return;
  const registration = await registering;
  // A browser that refuses service workers (a setting, a test harness) registers none.
  const worker = registration && (registration.installing ?? registration.waiting ?? registration.active);
  const activated = new Promise((ready) => setTimeout(() => ready(false), 5000));
  if (!worker || !await Promise.race([navigator.serviceWorker.ready.then(() => true), activated])) return;
  sessionStorage.setItem('layercam-isolating', 'reloaded once');
  location.reload();
  await new Promise(() => {}); // the page is going away: start nothing
}
