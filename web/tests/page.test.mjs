// The built page (dist/) in Debian's Chromium, driven by playwright-core, as a student would use it.
// scripts/test.sh builds and serves dist/ and sets LAYERCAM_URL; screenshots go to LAYERCAM_ARTIFACTS.
// Timings are printed as diagnostics (they are measurements, not assertions).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, readdirSync, statSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const url = process.env.LAYERCAM_URL;
const dist = process.env.LAYERCAM_DIST ?? 'dist';
const artifacts = process.env.LAYERCAM_ARTIFACTS ?? 'target/web-artifacts';
const FLAGS = ['--headless', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--enable-unsafe-webgpu'];

let profile, context, page;
const requests = [];
const errors = [];

before(async () => {
  assert.ok(url, 'LAYERCAM_URL is not set: run bash scripts/test.sh');
  mkdirSync(artifacts, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'layercam-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', args: FLAGS, viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(120_000);
  page = await context.newPage();
  page.on('request', (r) => requests.push(r.url()));
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
});
after(async () => {
  await page?.screenshot({ path: join(artifacts, 'page.png'), fullPage: true }).catch(() => {});
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** The pixels of a canvas, as a data URL (equal pictures give equal strings). */
const pixels = (selector) => page.$eval(selector, (c) => c.toDataURL());
/** Distinct colours among a sample of the canvas's pixels: 1 means blank. */
const colours = (selector) => page.$eval(selector, (c) => {
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length; i += 4 * 97) seen.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
  return seen.size;
});
const forwards = async () => Number(await page.textContent('#forward-count'));
const status = () => page.textContent('#status');
const waitForMaps = (label) => page.waitForFunction(
  (l) => document.querySelector('#status').textContent.includes(`looks for “${l}”`), label);

test('the page is usable before the model is ready, then loads it', async (t) => {
  const started = Date.now();
  await page.goto(url);
  await page.waitForSelector('.sample');
  await page.waitForSelector('#photo-input');
  t.diagnostic(`controls on screen after ${Date.now() - started} ms`);
  await page.waitForFunction(() => document.querySelector('#status').textContent.startsWith('Model efficientnet_lite0.onnx ready'));
  t.diagnostic(`page ready (model downloaded, differentiated, planned) after ${Date.now() - started} ms`);
});

test('a sample photo: top-1 “tiger cat” and a grid of maps', async (t) => {
  const clicked = Date.now();
  await page.click('.sample >> nth=0');
  await waitForMaps('tiger cat');
  await page.waitForSelector('#fused-0');
  await page.waitForFunction(() => document.querySelectorAll('#grid canvas').length === 4 * 6);
  await page.waitForSelector('#grid[data-drawn-by="gpu"]'); // this browser has WebGPU (gpu.test.mjs compares both paths)
  t.diagnostic(`click on a sample → full grid: ${Date.now() - clicked} ms`);
  assert.equal((await page.textContent('#top li:first-child .label')).trim(), 'tiger cat');
  assert.ok(await colours('#fused-0') > 20, 'the fused map is not blank');
  assert.ok(await colours('#cell-0-0') > 20, 'the shallowest LayerCAM map is not blank');
  assert.ok(await colours('#seen') > 20, 'the picture the model sees is shown');
  t.diagnostic(`details: ${(await page.textContent('#details table')).replace(/\s+/g, ' ')}`);
});

test('another class re-targets every map', async (t) => {
  const before = await pixels('#fused-0');
  const forwardsBefore = await forwards();
  const clicked = Date.now();
  await page.click('#top li:nth-child(2) button');
  await waitForMaps('Egyptian cat');
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() !== b, before);
  t.diagnostic(`class switch → new grid: ${Date.now() - clicked} ms`);
  assert.notEqual(await pixels('#fused-0'), before);
  assert.equal(await forwards(), forwardsBefore, 'a class switch runs the backward only');
});

test('γ changes the fused map without a new forward pass', async () => {
  const before = await pixels('#fused-0');
  const forwardsBefore = await forwards();
  await page.$eval('#gamma', (el) => { el.value = '4'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() !== b, before);
  assert.equal(await forwards(), forwardsBefore);
});

test('a corrupt file dropped on the page gets a message, and the page stays usable', async () => {
  const transfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['this is not a picture'], 'broken.png', { type: 'image/png' }));
    return dt;
  });
  await page.dispatchEvent('.dropzone', 'drop', { dataTransfer: transfer });
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /Could not explain the image: the image cannot be decoded/);
  await page.click('#error button');
  await page.click('.sample >> nth=1');
  await waitForMaps('espresso');
});

test('the page asked nothing of any other origin, and logged no error', async (t) => {
  const origin = new URL(url).origin;
  assert.deepEqual(requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:') && !u.startsWith('blob:')), []);
  assert.ok(requests.some((u) => u.endsWith('/worker_bg.wasm')), 'the worker was loaded from the page\'s origin');
  assert.deepEqual(errors, []);
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.wasm'))) {
    const bytes = readFileSync(join(dist, file));
    t.diagnostic(`${file}: ${(statSync(join(dist, file)).size / 1e6).toFixed(2)} MB raw, ${(gzipSync(bytes).length / 1e6).toFixed(2)} MB gzip`);
  }
});

test('a narrow (phone) screen still shows the controls and the grid', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(artifacts, 'page-phone.png'), fullPage: true });
  assert.ok(await page.isVisible('#photo-input'));
  assert.ok(await page.isVisible('#grid'));
  await page.setViewportSize({ width: 1280, height: 800 });
});
