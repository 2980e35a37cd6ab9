// The page's two paths for the CAM maths, in Debian's Chromium: one browser with WebGPU
// (--enable-unsafe-webgpu, SwiftShader here: software, so the page starts on the CPU and the test
// turns the GPU on) draws on the GPU, one without draws on the CPU; their pictures must agree
// within one colour step. Then the GPU is switched off by hand, and finally
// its device is destroyed: the page must fall back to the CPU with a notice, not die.
// scripts/test.sh serves dist/ and sets LAYERCAM_URL. Timings are diagnostics, not assertions.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { FLAGS, LAPTOP } from './browser.mjs';

const url = process.env.LAYERCAM_URL;
const browsers = [];

/** A fresh Chromium on the page; WebGPU on or off. Keeps every GPUDevice the page creates. */
async function open(webgpu) {
  const profile = mkdtempSync(join(tmpdir(), 'layercam-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', args: webgpu ? [...FLAGS, '--enable-unsafe-webgpu'] : FLAGS,
    viewport: LAPTOP,
  });
  context.setDefaultTimeout(120_000);
  await context.addInitScript(() => {
    window.gpuDevices = [];
    if (!globalThis.GPUAdapter) return;
    const requestDevice = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      const device = await requestDevice.apply(this, args);
      window.gpuDevices.push(device);
      return device;
    };
  });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  browsers.push({ context, profile });
  return { page, errors };
}

/** Every canvas of the grid, as base64 RGBA bytes by id. */
const grid = (page) => page.$$eval('#grid canvas', (canvases) => Object.fromEntries(canvases.map((c) => {
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let text = '';
  for (let i = 0; i < data.length; i += 8192) text += String.fromCharCode(...data.subarray(i, i + 8192));
  return [c.id, btoa(text)];
})));
const mathsOn = (page) => page.textContent('#maths-on');
const fused = (page) => page.$eval('#fused-0', (c) => c.toDataURL());

/**
 * Moves a slider and waits until the canvas `#watched` is repainted; returns the page's own
 * maths time and the time from the input event to the repainted canvas, both in ms.
 */
async function moveSlider(page, slider, value, watched = 'fused-0') {
  const painted = await page.evaluate(([slider, value, watched]) => new Promise((resolve) => {
    const canvas = document.getElementById(watched);
    const pixels = () => canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data.join();
    const before = pixels();
    const start = performance.now();
    const input = document.getElementById(slider);
    input.value = value;
    input.dispatchEvent(new Event('input', { bubbles: true }));
    const poll = () => (pixels() !== before ? resolve(performance.now() - start) : setTimeout(poll, 0));
    poll();
  }), [slider, value, watched]);
  return `${await page.textContent('#redraw-ms')} (painted ${painted.toFixed(0)} ms)`;
}
const moveGamma = (page, value) => moveSlider(page, 'gamma', value);

async function explainChelsea(page) {
  await page.goto(url);
  await page.waitForSelector('#status');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.startsWith('Model efficientnet_lite0.onnx ready'));
  await page.click('.sample >> nth=0');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.includes('looks for “tiger cat”'));
  await page.waitForFunction(() => document.querySelectorAll('#grid canvas').length === 4 * 6);
}

let gpu, cpu;
before(async () => {
  assert.ok(url, 'LAYERCAM_URL is not set: run bash scripts/test.sh');
  [gpu, cpu] = await Promise.all([open(true), open(false)]);
});
after(async () => {
  for (const { context, profile } of browsers) {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

test('a software WebGPU adapter is offered, not chosen: the CPU draws, faster here', async () => {
  await Promise.all([explainChelsea(gpu.page), explainChelsea(cpu.page)]);
  await gpu.page.waitForSelector('#grid[data-drawn-by="cpu"]');
  assert.match(await mathsOn(gpu.page), /^CPU.*GPU offered is software/);
});

test('with WebGPU chosen the page draws on the GPU, without it on the CPU, and the pictures agree', async (t) => {
  await gpu.page.click('#details summary');
  await gpu.page.check('#use-gpu');
  await gpu.page.waitForSelector('#grid[data-drawn-by="gpu"]');
  await cpu.page.waitForSelector('#grid[data-drawn-by="cpu"]');
  assert.match(await mathsOn(gpu.page), /^GPU/);
  assert.match(await mathsOn(cpu.page), /^CPU/);
  t.diagnostic(`GPU page: ${await mathsOn(gpu.page)}; CPU page: ${await mathsOn(cpu.page)}`);
  const [onGpu, onCpu] = await Promise.all([grid(gpu.page), grid(cpu.page)]);
  assert.deepEqual(Object.keys(onGpu).sort(), Object.keys(onCpu).sort());
  let worst = 0;
  for (const id of Object.keys(onCpu)) {
    const a = Buffer.from(onGpu[id], 'base64');
    const b = Buffer.from(onCpu[id], 'base64');
    assert.equal(a.length, b.length, id);
    let here = 0, count = 0, first = -1;
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      if (d > 1) { count++; if (first < 0) first = i; }
      here = Math.max(here, d);
    }
    if (here > 1) t.diagnostic(`${id}: ${count} bytes differ by more than 1, first at byte ${first}, worst ${here}`);
    worst = Math.max(worst, here);
  }
  t.diagnostic(`${Object.keys(onCpu).length} pictures, worst difference ${worst} step(s) of 255`);
  assert.ok(worst <= 1, `GPU and CPU pictures differ by ${worst} steps`);
});

test('slider redraw on both paths (diagnostic)', async (t) => {
  for (const [name, { page }] of [['GPU', gpu], ['CPU', cpu]]) {
    const gammas = [];
    for (const gamma of ['3', '1.5', '2']) gammas.push(await moveGamma(page, gamma));
    t.diagnostic(`${name} path, γ moved 3 times (the fused column): ${gammas.join(', ')}`);
    const opacities = [];
    for (const opacity of ['0.7', '0.3', '0.5']) opacities.push(await moveSlider(page, 'opacity', opacity, 'cell-0-0'));
    t.diagnostic(`${name} path, opacity moved 3 times (every picture): ${opacities.join(', ')}`);
  }
});

test('the GPU can be switched off by hand', async () => {
  await gpu.page.uncheck('#use-gpu');
  await gpu.page.waitForSelector('#grid[data-drawn-by="cpu"]');
  assert.match(await mathsOn(gpu.page), /^CPU.*GPU offered is software/);
  await gpu.page.check('#use-gpu');
  await gpu.page.waitForSelector('#grid[data-drawn-by="gpu"]');
  assert.match(await mathsOn(gpu.page), /^GPU/);
});

test('a lost GPU device falls back to the CPU with a notice, and the page keeps working', async () => {
  const destroyed = await gpu.page.evaluate(() => { window.gpuDevices.forEach((d) => d.destroy()); return window.gpuDevices.length; });
  assert.ok(destroyed >= 1, 'the page created a GPU device');
  await gpu.page.$eval('#gamma', (el) => { el.value = '3.5'; el.dispatchEvent(new Event('input', { bubbles: true })); });
  await gpu.page.waitForSelector('#error');
  assert.match(await gpu.page.textContent('#error'), /GPU.*drawn on the CPU from now on/);
  await gpu.page.waitForFunction(() => document.querySelector('#maths-on').textContent.includes('the GPU failed'));
  await gpu.page.waitForSelector('#grid[data-drawn-by="cpu"]');
  await moveGamma(gpu.page, '1');
  assert.deepEqual(gpu.errors, []);
  await gpu.page.click('#top li:nth-child(2) button');
  await gpu.page.waitForFunction(() => document.querySelector('#status')?.textContent.includes('looks for “Egyptian cat”'));
});
