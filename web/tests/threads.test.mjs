// The engine on every core (WebAssembly threads) and where it cannot be: the built page (dist/)
// served three ways, as its hosts serve it. Each prints the click → last painted map timeline from
// the details panel, and the class switch's. Timings are diagnostics, not assertions.
// - with the cross-origin isolation headers (`trunk serve`, dist/_headers): threads at once;
// - from a plain static host: the service worker (web/sw.js) reloads the page once, isolated;
// - plain, with service workers blocked: one thread, the page otherwise as usual;
// - isolated, in a browser without relaxed SIMD (Safari's case): the plain worker, one thread.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { FLAGS, LAPTOP } from './browser.mjs';

const dist = process.env.LAYERCAM_DIST ?? 'dist';
const cleanups = [];
after(async () => { for (const cleanup of cleanups.reverse()) await cleanup(); });

/** A fresh Chromium profile on `url`; `serviceWorkers: 'block'` to keep the page from isolating itself;
 * `withoutRelaxedSimd` to answer as Safari does (Chromium cannot turn relaxed SIMD off: V8's flag no
 * longer does since it shipped): WebAssembly.validate refuses a module with a relaxed instruction. */
async function open(url, { serviceWorkers = 'allow', withoutRelaxedSimd = false } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'layercam-threads-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', args: FLAGS, viewport: LAPTOP, serviceWorkers,
  });
  if (withoutRelaxedSimd) {
    await context.addInitScript(() => {
      const validate = WebAssembly.validate;
      // i8x16.relaxed_swizzle (0xfd 0x100): the page's probe.
      const relaxed = (bytes) => new Uint8Array(bytes.buffer ?? bytes).some((b, i, a) => b === 0xfd && a[i + 1] === 0x80 && a[i + 2] === 2);
      WebAssembly.validate = (bytes) => !relaxed(bytes) && validate(bytes);
    });
  }
  context.setDefaultTimeout(180_000);
  cleanups.push(async () => { await context.close(); rmSync(profile, { recursive: true, force: true }); });
  const page = context.pages()[0] ?? await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const started = Date.now();
  await page.goto(url);
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.startsWith('Model efficientnet_lite0.onnx ready'));
  return { page, errors, readyMs: Date.now() - started };
}

/** What a "ready" after `readyMs` was made of: the worker's own preparation, and what came before it. */
async function readiness(page, readyMs) {
  const prepare = parseFloat(await page.textContent('#prepare-ms'));
  return `${readyMs} ms: the worker parsed, differentiated, planned and ran the model once in ${prepare.toFixed(0)} ms, `
    + `after ${(readyMs - prepare).toFixed(0)} ms of page, WebAssembly and model loading`;
}

/** The details panel's timeline of the last request, one line a step. */
async function timeline(page) {
  const steps = await page.$$eval('#timeline li', (lis) => lis.map((li) => ({
    what: li.dataset.step, start: Number(li.dataset.start), end: Number(li.dataset.end), worker: li.classList.contains('worker'),
  })));
  return steps.map((s) => `${s.worker ? '    ' : ''}${s.what}: ${s.start.toFixed(1)} → ${s.end.toFixed(1)} ms`).join('\n');
}

const lastPainted = (page) => page.$eval('#timeline li:last-child', (li) => li.dataset.step === 'painted' ? Number(li.dataset.end) : NaN);

/** A sample, then another class: both timelines; returns (click → painted, class switch → painted). */
async function explainTwice(t, page) {
  await page.click('.sample >> nth=0');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.includes('looks for “tiger cat”'));
  await page.waitForFunction(() => document.querySelector('#timeline li:last-child')?.dataset.step === 'painted');
  const click = await lastPainted(page);
  t.diagnostic(`click on a sample → last map painted: ${click.toFixed(0)} ms\n${await timeline(page)}`);
  await page.click('#top li:nth-child(2) button');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.includes('looks for “Egyptian cat”'));
  await page.waitForFunction(() => document.querySelector('#timeline li')?.dataset.step === 'class picked'
    && document.querySelector('#timeline li:last-child').dataset.step === 'painted');
  const switched = await lastPainted(page);
  t.diagnostic(`class switch → last map painted: ${switched.toFixed(0)} ms\n${await timeline(page)}`);
  return [click, switched];
}

test('with the isolation headers the engine runs on every core', async (t) => {
  const server = await serve(dist, { isolated: true });
  cleanups.push(server.close);
  const { page, errors, readyMs } = await open(server.url);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.equal(await page.textContent('#engine-threads'), `WebAssembly on ${cores} threads`);
  t.diagnostic(`page ready (first visit), ${cores} threads, after ${await readiness(page, readyMs)}`);
  await explainTwice(t, page);
  // A second visit: the service worker's cache has the page, its WebAssembly and the model.
  const started = Date.now();
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.startsWith('Model efficientnet_lite0.onnx ready'));
  t.diagnostic(`page ready on a second visit after ${await readiness(page, Date.now() - started)}`);
  assert.deepEqual(errors, []);
});

test('on a plain static host the service worker isolates the page: one reload, then threads', async (t) => {
  const server = await serve(dist);
  cleanups.push(server.close);
  const { page, errors, readyMs } = await open(server.url);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the service worker added the headers');
  assert.match(await page.textContent('#engine-threads'), /^WebAssembly on \d+ threads$/);
  t.diagnostic(`page ready after ${readyMs} ms (with the service worker's reload)`);
  assert.deepEqual(errors, []);
});

test('without isolation (service workers blocked, plain host) the engine runs on one thread', async (t) => {
  const server = await serve(dist);
  cleanups.push(server.close);
  const { page, errors, readyMs } = await open(server.url, { serviceWorkers: 'block' });
  assert.equal(await page.evaluate(() => crossOriginIsolated), false);
  assert.match(await page.textContent('#engine-threads'), /^WebAssembly on 1 thread: threads need a cross-origin isolated page/);
  t.diagnostic(`page ready, one thread, after ${await readiness(page, readyMs)}`);
  await explainTwice(t, page);
  assert.deepEqual(errors, []);
});

test('isolated, but without relaxed SIMD, the plain worker runs on one thread', async (t) => {
  const server = await serve(dist, { isolated: true });
  cleanups.push(server.close);
  const { page, errors, readyMs } = await open(server.url, { withoutRelaxedSimd: true });
  assert.equal(await page.evaluate(() => crossOriginIsolated), true);
  assert.match(await page.textContent('#engine-threads'), /^WebAssembly on 1 thread: .* relaxed SIMD/);
  t.diagnostic(`page ready, one thread, after ${await readiness(page, readyMs)}`);
  await page.click('.sample >> nth=0');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.includes('looks for “tiger cat”'));
  assert.deepEqual(errors, []);
});
