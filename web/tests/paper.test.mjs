// The paper's fusion and its occlusion test (Table 6) in the built page, in Debian's Chromium: the
// fused map equals the command line's (same rule, `cam::stages`) and differs from the old all-stage
// Eq. 9; the per-stage toggles redraw without the network; the occlusion panel re-classifies in the
// worker and shows each method's confidence drop. scripts/test.sh builds the CLI (cargo test) and
// serves dist/ at LAYERCAM_URL. Figures are printed as diagnostics.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { FLAGS as BROWSER_FLAGS, LAPTOP } from './browser.mjs';

const url = process.env.LAYERCAM_URL;
const cli = process.env.LAYERCAM_CLI ?? 'target/debug/layercam';
const FLAGS = [...BROWSER_FLAGS, '--enable-unsafe-webgpu'];

let profile, context, page;
const errors = [];

before(async () => {
  assert.ok(url, 'LAYERCAM_URL is not set: run bash scripts/test.sh');
  profile = mkdtempSync(join(tmpdir(), 'layercam-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', args: FLAGS, viewport: LAPTOP,
  });
  context.setDefaultTimeout(120_000);
  page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForSelector('#status');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.startsWith('Model efficientnet_lite0.onnx ready'));
});
after(async () => {
  await context?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const waitForMaps = (label) => page.waitForFunction(
  (l) => document.querySelector('#status')?.textContent.includes(`looks for “${l}”`)
    && document.querySelectorAll('#grid canvas').length > 0, label);
const pixels = (selector) => page.$eval(selector, (c) => c.toDataURL());
const forwards = async () => Number(await page.textContent('#forward-count'));

/** The command line's fused LayerCAM picture of chelsea (PNG, base64) with these extra flags. */
function cliFused(flags) {
  const out = mkdtempSync(join(tmpdir(), 'layercam-cli-'));
  try {
    execFileSync(cli, ['explain', '--image', 'samples/chelsea.png', '--device', 'cpu', '--out', out, ...flags], { stdio: 'ignore' });
    return readFileSync(join(out, 'fused', 'layercam.png')).toString('base64');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** A PNG decoded by the browser against a canvas of the page: the largest and the mean colour step. */
const differences = (selector, png) => page.evaluate(async ({ selector, png }) => {
  const bitmap = await createImageBitmap(new Blob([Uint8Array.from(atob(png), (c) => c.charCodeAt(0))], { type: 'image/png' }));
  const scratch = document.createElement('canvas');
  [scratch.width, scratch.height] = [bitmap.width, bitmap.height];
  scratch.getContext('2d').drawImage(bitmap, 0, 0);
  const theirs = scratch.getContext('2d').getImageData(0, 0, bitmap.width, bitmap.height).data;
  const canvas = document.querySelector(selector);
  const ours = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  if (ours.length !== theirs.length) return { max: 255, mean: 255 };
  let max = 0, sum = 0;
  for (let i = 0; i < ours.length; i += 4) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(ours[i + c] - theirs[i + c]);
      max = Math.max(max, d);
      sum += d;
    }
  }
  return { max, mean: sum / (ours.length * 0.75) };
}, { selector, png });

test('the fused map is the command line\'s paper fusion, not the old all-stage Eq. 9', async (t) => {
  await page.click('.sample >> nth=0');
  await waitForMaps('tiger cat');
  await page.waitForSelector('#grid[aria-busy="false"]');
  const paper = await differences('#fused-0', cliFused([]));
  const old = await differences('#fused-0', cliFused(['--fuse', 'all', '--scale', 'all']));
  t.diagnostic(`page vs CLI (paper's fusion): max ${paper.max} steps, mean ${paper.mean.toFixed(3)}; vs CLI --fuse all --scale all: max ${old.max}, mean ${old.mean.toFixed(2)}`);
  assert.ok(paper.max <= 1, `the page's fused map is the CLI's within one step (max ${paper.max})`);
  assert.ok(old.mean > 5, `the old all-stage Eq. 9 fusion looks different (mean step ${old.mean})`);
  // The panel shows the rule: stage 1 not fused; stages 2 and 3 scaled by Eq. 9; 4 and 5 normalised.
  const boxes = await page.$$eval('.fusion-stages input', (inputs) => inputs.map((i) => `${i.id}:${i.checked ? 1 : 0}`));
  assert.deepEqual(boxes, ['fuse-0:0', 'eq9-0:1', 'fuse-1:1', 'eq9-1:1', 'fuse-2:1', 'eq9-2:1', 'fuse-3:1', 'eq9-3:0', 'fuse-4:1', 'eq9-4:0']);
});

test('an Eq. 9 toggle redraws the fused map without the network, and the paper\'s choice restores it', async () => {
  const paper = await pixels('#fused-0');
  const forwardsBefore = await forwards();
  await page.click('#eq9-4'); // scale the 7×7 stage too: its coarse map spreads
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() !== b, paper);
  assert.equal(await page.isChecked('#eq9-4'), true);
  await page.click('#paper-fusion');
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() === b, paper);
  assert.equal(await page.isChecked('#eq9-4'), false);
  assert.equal(await forwards(), forwardsBefore, 'toggles run no forward pass');
});

test('the occlusion test hides each map\'s strongest region and shows the confidence drop', async (t) => {
  await page.click('.sample >> nth=1');
  await waitForMaps('espresso');
  await page.waitForSelector('#grid[aria-busy="false"]');
  const grid = await pixels('#fused-0');
  const forwardsBefore = await forwards();
  const clicked = Date.now();
  await page.click('#occlude');
  await page.waitForSelector('.occlusion-method[data-method="layercam"] .occlusion-trial');
  t.diagnostic(`occlusion test (4 methods × 2 maps, 8 forward passes in the worker): ${Date.now() - clicked} ms`);
  const trials = await page.$$eval('.occlusion-trial', (figures) => figures.map((f) => ({
    method: f.closest('.occlusion-method').dataset.method, region: f.dataset.region,
    drop: Number(f.dataset.drop), text: f.textContent.replace(/\s+/g, ' ').trim(),
  })));
  for (const trial of trials) t.diagnostic(`${trial.method} ${trial.region}: drop ${trial.drop.toFixed(3)} — ${trial.text}`);
  assert.equal(trials.length, 8);
  const layercam = trials.filter((x) => x.method === 'layercam');
  assert.deepEqual(layercam.map((x) => x.region), ['deepest', 'fused']);
  // Hiding LayerCAM's fused region takes p(espresso) from 95 % to about 42 % (natively 0.951 → 0.424).
  assert.ok(layercam[1].drop > 0.3, `LayerCAM's fused region matters: drop ${layercam[1].drop}`);
  assert.ok(layercam[0].drop > 0.05, `LayerCAM's deepest region matters: drop ${layercam[0].drop}`);
  const thumbnails = await page.$$eval('.occlusion-trial canvas', (cs) => cs.map((c) => c.width));
  assert.deepEqual(thumbnails, Array(8).fill(224));
  assert.equal(await pixels('#fused-0'), grid, 'the maps are not redrawn');
  assert.equal(await forwards(), forwardsBefore, 'the photo\'s own forward pass is not re-run');
  // Another class: the test belongs to the old maps and goes.
  await page.click('#top li:nth-child(2) button');
  await page.waitForFunction(() => !document.querySelector('.occlusion-trial'));
  assert.deepEqual(errors, []);
});
