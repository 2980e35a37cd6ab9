// The built page (dist/) in Debian's Chromium, driven by playwright-core, as a student would use it.
// scripts/test.sh builds and serves dist/ and sets LAYERCAM_URL; screenshots go to LAYERCAM_ARTIFACTS.
// Timings are printed as diagnostics (they are measurements, not assertions).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, readdirSync, statSync, readFileSync } from 'node:fs';
import { crc32, deflateSync, gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import * as canvas from './canvas.mjs';
import axe from 'axe-core';
import { rendererMemory } from './memory.mjs';
import { FLAGS as BROWSER_FLAGS, LAPTOP } from './browser.mjs';

const url = process.env.LAYERCAM_URL;
const dist = process.env.LAYERCAM_DIST ?? 'dist';
const artifacts = process.env.LAYERCAM_ARTIFACTS ?? 'target/web-artifacts';
const FLAGS = [...BROWSER_FLAGS, '--enable-unsafe-webgpu'];

let profile, context, page;
const requests = [];
const errors = [];

before(async () => {
  assert.ok(url, 'LAYERCAM_URL is not set: run bash scripts/test.sh');
  mkdirSync(artifacts, { recursive: true });
  profile = mkdtempSync(join(tmpdir(), 'layercam-chromium-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', args: FLAGS, viewport: LAPTOP,
  });
  context.setDefaultTimeout(120_000);
  // Every Content-Security-Policy violation of the page, kept for the last test.
  await context.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation',
      (e) => window.cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline code'}`));
  });
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

const pixels = (selector) => canvas.pixels(page, selector);
const colours = (selector) => canvas.colours(page, selector);
const forwards = () => canvas.forwards(page);
const texts = (selector) => canvas.texts(page, selector);
const waitForMaps = (label) => page.waitForFunction(
  (l) => document.querySelector('#status')?.textContent.includes(`looks for “${l}”`), label);
/** Waits until the grid shows `columns` columns of maps (the fused one included), all drawn. */
const waitForGrid = (columns) => page.waitForFunction((n) => document.querySelector('#grid[aria-busy="false"]')
  && document.querySelectorAll('#grid tbody tr:first-child canvas').length === n
  && document.querySelector('#status')?.textContent.includes('looks for'), columns);
/** The page's box of the first element matching `selector`, in viewport pixels. */
const box = (selector) => page.$eval(selector, (e) => e.getBoundingClientRect().toJSON());
/** Screenshot options for the README's pictures (docs/): JPEG, a fifth of the PNG's size. */
const photo = (name) => ({ path: join(artifacts, `${name}.jpg`), type: 'jpeg', quality: 82 });
const overflowsSideways = () => page.evaluate(() => document.scrollingElement.scrollWidth > innerWidth);

/** Drops a file (name, bytes, MIME type) on the element matching `selector`. */
async function drop(selector, name, bytes, type) {
  const transfer = await page.evaluateHandle(({ name, base64, type }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name, { type }));
    return dt;
  }, { name, base64: Buffer.from(bytes).toString('base64'), type });
  await page.dispatchEvent(selector, 'drop', { dataTransfer: transfer });
}

/** A PNG file: the header says `width`×`height`, the pixel data is `rows`, deflated. */
function png(width, height, { bitDepth, colourType, rows }) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13); // compression, filter and interlace stay 0
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = bitDepth;
  header[9] = colourType;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}
/** A real 20000×20000 black PNG (1 bit per pixel: 50 MB of rows, 50 kB deflated). */
const hugePhoto = () => png(20000, 20000, { bitDepth: 1, colourType: 0, rows: Buffer.alloc(20000 * (1 + 2500)) });
const onePixel = () => png(1, 1, { bitDepth: 8, colourType: 2, rows: Buffer.from([0, 200, 30, 30]) });
/** A valid header claiming 100000×100000 RGB pixels (30 GB), with a few bytes of data. */
const hugeHeader = () => png(100000, 100000, { bitDepth: 8, colourType: 2, rows: Buffer.alloc(64) });

/** A valid ONNX model that is not a classifier: y = Relu(x), x and y [1, 3, 4, 4] (protobuf by hand). */
function reluModel(dims = [1, 3, 4, 4]) {
  const varint = (n) => { const out = []; for (; n > 127; n = Math.floor(n / 128)) out.push((n % 128) | 128); out.push(n); return Buffer.from(out); };
  const int = (field, n) => Buffer.concat([varint(field * 8), varint(n)]);
  const bytes = (field, b) => { const data = Buffer.from(b); return Buffer.concat([varint(field * 8 + 2), varint(data.length), data]); };
  const message = (field, ...parts) => bytes(field, Buffer.concat(parts));
  const shape = dims.map((d) => message(1, int(1, d))); // TensorShapeProto.dim.dim_value
  const type = message(1, int(1, 1), message(2, ...shape)); // TypeProto.tensor_type: FLOAT, shape
  const value = (field, name) => message(field, bytes(1, name), message(2, type)); // ValueInfoProto
  const node = message(1, bytes(1, 'x'), bytes(2, 'y'), bytes(4, 'Relu'));
  const graph = message(7, node, bytes(2, 'relu'), value(11, 'x'), value(12, 'y'));
  return Buffer.concat([int(1, 8), message(8, int(2, 13)), graph]); // ir_version 8, opset 13
}

test('the page is usable before the model is ready, then loads it', async (t) => {
  const started = Date.now();
  await page.goto(url);
  await page.waitForSelector('.sample');
  await page.waitForSelector('#photo-input');
  t.diagnostic(`controls on screen after ${Date.now() - started} ms`);
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.startsWith('Model efficientnet_lite0.onnx ready'));
  t.diagnostic(`page ready (model downloaded, differentiated, planned) after ${Date.now() - started} ms`);
});

test('the page declares a Content-Security-Policy: its own origin only, and no inline script', async () => {
  const policy = await page.$eval('meta[http-equiv="Content-Security-Policy"]', (m) => m.content);
  const directives = Object.fromEntries(policy.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v.join(' ')]));
  assert.equal(directives['default-src'], "'self'");
  assert.equal(directives['script-src'], "'self' 'wasm-unsafe-eval'");
  for (const name of ['style-src', 'img-src', 'connect-src', 'worker-src']) assert.equal(directives[name], "'self'", name);
  assert.equal(directives['object-src'], "'none'");
  assert.doesNotMatch(policy, /unsafe-inline|'unsafe-eval'|blob:|data:|\*/);
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  assert.deepEqual(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? [], [], 'dist/index.html has no inline script');
});

test('a sample photo: top-1 “tiger cat” and a grid of maps', async (t) => {
  const clicked = Date.now();
  await page.click('.sample >> nth=0');
  await waitForMaps('tiger cat');
  await page.waitForSelector('#fused-0');
  await page.waitForFunction(() => document.querySelectorAll('#grid canvas').length === 4 * 6);
  // This browser's WebGPU is SwiftShader, software: the page draws on the CPU, faster here
  // (gpu.test.mjs turns the GPU on and compares both paths).
  await page.waitForSelector('#grid[data-drawn-by="cpu"]');
  t.diagnostic(`click on a sample → full grid: ${Date.now() - clicked} ms`);
  assert.equal((await page.textContent('#top li:first-child .label')).trim(), 'tiger cat');
  assert.ok(await colours('#fused-0') > 20, 'the fused map is not blank');
  assert.ok(await colours('#cell-0-0') > 20, 'the shallowest LayerCAM map is not blank');
  assert.ok(await colours('#seen') > 20, 'the picture the model sees is shown');
  t.diagnostic(`details: ${(await page.textContent('#details table')).replace(/\s+/g, ' ')}`);
});

test('at 1280×800 the photo, the top-5 and every map are on screen, and nothing spills sideways', async (t) => {
  await page.evaluate(() => window.scrollTo(0, 0));
  assert.equal(await overflowsSideways(), false, 'the page scrolls sideways');
  assert.ok((await box('#grid canvas')).top < LAPTOP.height, 'the maps start below the fold');
  for (const part of ['#seen', '#top', '#grid', '#fused-3']) {
    const { bottom, right } = await box(part);
    t.diagnostic(`${part}: bottom ${bottom.toFixed(0)} px, right ${right.toFixed(0)} px`);
    assert.ok(bottom <= LAPTOP.height && right <= LAPTOP.width, `${part} is not fully on screen`);
  }
  const rows = await page.$$eval('#grid tbody tr', (trs) => trs.map((tr) => {
    const [label, cell] = [tr.querySelector('th'), tr.querySelector('td')].map((e) => e.getBoundingClientRect());
    return Math.abs((label.top + label.bottom) / 2 - (cell.top + cell.bottom) / 2);
  }));
  assert.ok(Math.max(...rows) < 2, `method names are centred on their rows (off by ${rows})`);
  await page.screenshot(photo('page-1280'));
  // The maps stay in view while the controls beside them scroll, and never cover the text below.
  await page.evaluate(() => window.scrollTo(0, 400));
  assert.ok(Math.abs((await box('#network')).top) < 1, 'the maps scrolled away with the controls');
  await page.evaluate(() => window.scrollTo(0, document.scrollingElement.scrollHeight));
  assert.ok((await box('#hover')).bottom <= (await box('.teaching')).top, 'the maps cover the teaching text');
  await page.evaluate(() => window.scrollTo(0, 0));
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
  t.diagnostic(`memory: ${rendererMemory(profile)}`);
});

test('γ changes the fused map without a new forward pass', async () => {
  const before = await pixels('#fused-0');
  const forwardsBefore = await forwards();
  const setGamma = (value) => page.$eval('#gamma', (el, v) => { el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); }, value);
  await setGamma('4');
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() !== b, before);
  assert.equal(await forwards(), forwardsBefore);
  await setGamma('2');
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() === b, before);
});

test('typed values: NaN, infinities and out-of-range values are refused by name; a good one is taken', async (t) => {
  const before = await pixels('#fused-0');
  const forwardsBefore = await forwards();
  const type = async (id, text) => { await page.fill(`#${id}-value`, text); await page.press(`#${id}-value`, 'Enter'); };
  const refused = [['gamma', 'γ', 'nan', 'is NaN, not a number'], ['gamma', 'γ', 'inf', 'is infinite'],
    ['gamma', 'γ', '1e39', 'is infinite'], ['gamma', 'γ', '0', 'is out of range'], ['gamma', 'γ', 'two', 'is not a number'],
    ['threshold', 'box threshold', '1.5', 'is out of range'], ['opacity', 'opacity', '-Infinity', 'is infinite']];
  for (const [id, label, text, why] of refused) {
    await type(id, text);
    const message = await page.textContent(`#${id}-error`);
    assert.ok(message.startsWith(`${label}: \`${text}\` ${why}`), message);
    assert.ok(await page.isVisible(`#${id}-error`), `${id}: the message shows`);
    assert.equal(await page.getAttribute(`#${id}-value`, 'aria-invalid'), 'true');
  }
  t.diagnostic(`refused: ${await page.textContent('#gamma-error')}`);
  assert.equal(await pixels('#fused-0'), before, 'a refused value leaves the maps as they were');
  await type('gamma', '4');
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() !== b, before);
  assert.equal(await page.inputValue('#gamma'), '4', 'the slider follows the typed value');
  assert.ok(await page.isHidden('#gamma-error'), 'a good value clears the message');
  await type('gamma', '2');
  await type('threshold', '0.15');
  await type('opacity', '0.5');
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() === b, before);
  assert.equal(await page.locator('.field-error:visible').count(), 0);
  assert.equal(await forwards(), forwardsBefore, 'typing redraws, it does not run the network');
});

test('a corrupt file dropped on the page gets a message, and the page stays usable', async () => {
  await drop('.dropzone', 'broken.png', Buffer.from('this is not a picture'), 'image/png');
  await page.waitForSelector('#error');
  assert.match(await page.textContent('#error'), /Could not explain broken\.png: the image cannot be decoded/);
  await page.click('#error button');
  await page.click('.sample >> nth=1');
  await waitForMaps('espresso');
});

test('columns are stages a student can read; the tensor names are in tooltips and the details', async (t) => {
  const titles = await texts('#grid thead .stage-title');
  t.diagnostic(`columns: ${titles.join(' | ')}`);
  assert.equal(titles[0], 'Stage 1 · 112×112 · 32 channels');
  assert.equal(titles.at(-1), 'Fused · stages 2–5, with its box');
  titles.slice(0, -1).forEach((title, i) => assert.match(title, new RegExp(`^Stage ${i + 1} · \\d+×\\d+ · \\d+ channels$`)));
  assert.match(await page.getAttribute('#grid thead th:nth-of-type(1)', 'title'), /hardtanh_1/);
  assert.match(await page.textContent('#stage-tensors'), /Stage 1: tensor hardtanh_1 \[32, 112, 112\]/);
});

test('the network strip: one block per tensor, the columns highlighted; a click adds a layer in graph order', async (t) => {
  const blocks = await page.$$eval('#network .block', (bs) => bs.length);
  const chosen = await page.$$eval('#network .block.chosen', (bs) => bs.length);
  t.diagnostic(`${blocks} explainable tensors, ${chosen} of them in the grid`);
  assert.equal(chosen, 5);
  assert.ok(blocks > 5);
  const heights = await page.$$eval('#network .block span', (ss) => ss.map((s) => s.getBoundingClientRect().height));
  assert.ok(heights[0] > heights.at(-1) * 4, 'blocks shrink with depth');
  // A tensor of the third stage, not yet a column: it joins between stages 2 and 4, not at the end.
  await page.click('#network .stage-group:nth-child(3) .block:not(.chosen) >> nth=0');
  await waitForGrid(7);
  const titles = await texts('#grid thead .stage-name');
  assert.deepEqual(titles.slice(0, 6).map((s) => s.replace(/[ab]$/, '')), ['Stage 1', 'Stage 2', 'Stage 3', 'Stage 3', 'Stage 4', 'Stage 5']);
  assert.ok(titles.includes('Stage 3a') && titles.includes('Stage 3b'), titles.join());
  // The layer picker inserts in graph order too: the network's first tensor not yet shown becomes column 1.
  const first = await page.$$eval('#layer-select option', (os) => os.slice(1).find((o) => !o.textContent.includes('★')).value);
  await page.selectOption('#layer-select', first);
  await page.click('#layer-add');
  await waitForGrid(8);
  assert.match(await page.getAttribute('#grid thead th:nth-of-type(1)', 'title'), new RegExp(`tensor ${first} `));
  // Removing both again (×) gives back the five stages.
  await page.click('#grid thead th:nth-of-type(1) .remove');
  await waitForGrid(7);
  await page.click('#network .block.chosen:not(.auto)');
  await waitForGrid(6);
  assert.deepEqual(await texts('#grid thead .stage-name'), ['Stage 1', 'Stage 2', 'Stage 3', 'Stage 4', 'Stage 5', 'Fused']);
});

test('the grid fix takes the layer before each strided op, weighed by the gradient after it, and switches back', async (t) => {
  const firstTensor = () => page.getAttribute('#grid thead th:nth-of-type(1)', 'title');
  const before = await pixels('#cell-0-0');
  await page.check('#grid-fix');
  await page.waitForFunction(() => document.querySelector('#grid thead th')?.title.includes('tensor hardtanh_2 '));
  await waitForGrid(6);
  t.diagnostic(`with the fix, stage 1 is ${(await firstTensor()).split(' ').slice(0, 2).join(' ')}`);
  assert.notEqual(await pixels('#cell-0-0'), before, 'stage 1 is another layer now');
  assert.ok(await colours('#cell-0-0') > 20, 'and its map is not blank');
  assert.match(await page.$eval('#layer-select option[value="hardtanh_2"]', (o) => o.textContent), /★/, 'the list marks the new choice');
  await page.uncheck('#grid-fix');
  await page.waitForFunction(() => document.querySelector('#grid thead th')?.title.includes('tensor hardtanh_1 '));
  await waitForGrid(6);
  assert.equal(await pixels('#cell-0-0'), before, 'switched off, the maps are those of before');
});

test('the fusion panel: one row per stage; a stage left out changes the fused map, not the network', async () => {
  assert.deepEqual((await texts('#fusion tbody th')).map((s) => s.split(' · ')[0]), ['Stage 1', 'Stage 2', 'Stage 3', 'Stage 4', 'Stage 5']);
  const before = await pixels('#fused-0');
  const forwardsBefore = await forwards();
  await page.uncheck('#fuse-4');
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() !== b, before);
  await page.check('#fuse-4');
  await page.waitForFunction((b) => document.querySelector('#fused-0').toDataURL() === b, before);
  assert.equal(await forwards(), forwardsBefore);
});

test('the legend: the colormap from 0 to the map\'s maximum, and the value under the mouse marked on it', async (t) => {
  const ends = await page.$eval('#legend-bar', (c) => [0, c.width - 1].map((x) => [...c.getContext('2d').getImageData(x, 0, 1, 1).data].join()));
  assert.deepEqual(ends, ['0,0,128,255', '128,0,0,255'], 'jet runs from dark blue to dark red');
  const jet = await pixels('#legend-bar');
  await page.selectOption('#colormap', 'gray');
  await page.waitForFunction((b) => document.querySelector('#legend-bar').toDataURL() !== b, jet);
  await page.selectOption('#colormap', 'jet');
  await page.hover('#cell-2-0');
  await page.waitForSelector('#legend .marker');
  const reading = await page.textContent('#hover');
  t.diagnostic(`hover: ${reading} | right end: ${await page.textContent('#legend-max')}`);
  assert.match(reading, /^LayerCAM · Stage 3 · 28×28 · \d+ channels \(\w+\): M = [\d.e-]+ here, \d+ % of this map's maximum\.$/);
  assert.match(await page.textContent('#legend-max'), /^max M = [\d.e-]+$/);
  await page.hover('#fused-0');
  await page.waitForFunction(() => document.querySelector('#hover').textContent.includes('fused map'));
  await page.mouse.move(5, 5);
  await page.waitForSelector('#legend .marker', { state: 'detached' });
});

test('bad input gets a clear message; the previous maps and model stay, and the page goes on', async (t) => {
  const model = await page.textContent('#model-in-use');
  const refused = async (what, give, message) => {
    const before = await pixels('#fused-0');
    const started = Date.now();
    await give();
    await page.waitForSelector('#error');
    const text = await page.textContent('#error');
    t.diagnostic(`${what} (${Date.now() - started} ms): ${text}`);
    assert.match(text, message);
    await page.waitForSelector('#grid[aria-busy="false"]');
    assert.equal(await pixels('#fused-0'), before, `${what}: the previous maps are gone`);
    assert.equal(await page.textContent('#model-in-use'), model, `${what}: the previous model is gone`);
    assert.equal(await page.evaluate(() => 6 * 7), 42, `${what}: the tab is dead`);
    await page.click('#error button');
  };
  await refused('a 20000×20000 photo', () => drop('.dropzone', 'huge.png', hugePhoto(), 'image/png'),
    /Could not explain huge\.png: the image is 20000×20000 pixels; the largest side accepted is 16384 pixels\. The previous photo's maps are still shown\./);
  await refused('a 1×1 photo', () => drop('.dropzone', 'dot.png', onePixel(), 'image/png'),
    /Could not explain dot\.png: the image is 1×1 pixels; the smallest side accepted is 8 pixels/);
  await refused('a PNG header claiming 100000×100000', () => drop('.dropzone', 'bomb.png', hugeHeader(), 'image/png'),
    /Could not explain bomb\.png: the image (is 100000×100000 pixels; the largest side accepted is 16384 pixels|cannot be decoded: the image is too large to decode)/);
  await refused('an empty file', () => page.setInputFiles('#photo-input', { name: 'empty.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(0) }),
    /Could not explain empty\.jpg: the image cannot be decoded: the file is empty/);
  await refused('an ONNX model that is not a classifier', () => drop('.model-drop', 'relu.onnx', reluModel(), ''),
    /Could not load the model relu\.onnx: the model is not an image classifier: .*\[1, classes\]\. The previous model is still in use\./);
  await refused('a model declaring a 100000×100000 input', () => drop('.model-drop', 'vast.onnx', reluModel([1, 3, 100000, 100000]), ''),
    /Could not load the model vast\.onnx: the model's input is too large: `x` declares .*100000.*The previous model is still in use\./);
  // A mutant the fuzzer found (scripts/fuzz.sh): a dilation of 10¹² that tract would loop on.
  await refused('a hostile model from the fuzz corpus', () => drop('.model-drop', 'dilated.onnx', readFileSync('tests/fixtures/fuzz/found-dd5d25be550ad65b.onnx'), ''),
    /Could not load the model dilated\.onnx: not an ONNX model: node .* has dilations = \[1000000000000, 1000000000000\].*The previous model is still in use\./);
  await refused('a .onnx dropped on the photo', () => drop('.photo-drop', 'relu.onnx', reluModel(), ''),
    /Could not load the model relu\.onnx: the model is not an image classifier/);
  await refused('a text file chosen as the model', () => page.setInputFiles('#model-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('my notes') }),
    /Could not load the model notes\.txt: not an ONNX model: .*The previous model is still in use\./);
  await refused('a text file dropped as the model', () => drop('.model-drop', 'notes.txt', Buffer.from('my notes'), 'text/plain'),
    /Could not load the model notes\.txt: not an ONNX model/);
  // Outside the drop zones the page takes the file too, rather than the browser leaving the page for it.
  await refused('a text file dropped on the maps', () => drop('#grid', 'notes.txt', Buffer.from('my notes'), 'text/plain'),
    /Could not explain notes\.txt: the image cannot be decoded/);
  await page.click('.sample >> nth=0');
  await waitForMaps('tiger cat');
  await waitForGrid(6);
});

test('the projector view enlarges everything at 1920×1080, and still fits the screen', async (t) => {
  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.evaluate(() => window.scrollTo(0, 0));
  const sizes = () => page.evaluate(() => [document.querySelector('#fused-0').getBoundingClientRect().width,
    parseFloat(getComputedStyle(document.querySelector('#grid thead th')).fontSize)]);
  const [map, text] = await sizes();
  await page.click('#projector');
  await page.waitForFunction(() => document.documentElement.classList.contains('projector'));
  const [largeMap, largeText] = await sizes();
  t.diagnostic(`a map is ${map.toFixed(0)} px wide, ${largeMap.toFixed(0)} px in the projector view; column titles ${text} px, ${largeText} px`);
  assert.ok(largeMap > map && largeText > text, 'the projector view enlarges the maps and the text');
  assert.equal(await overflowsSideways(), false);
  assert.ok((await box('#hover')).bottom <= 1080, 'every map and the legend are on screen');
  await page.hover('#cell-2-0'); // the legend marks the value under the mouse
  await page.waitForSelector('#legend .marker');
  await page.screenshot(photo('page-1920'));
  await page.mouse.move(5, 5);
  await page.click('#projector');
  await page.setViewportSize(LAPTOP);
});

test('a narrow (phone) screen still shows the controls and the grid, nothing sideways', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot(photo('page-phone'));
  await page.screenshot({ ...photo('page-phone-full'), fullPage: true });
  assert.ok(await page.isVisible('#photo-input'));
  assert.ok(await page.isVisible('#grid'));
  assert.equal(await overflowsSideways(), false);
  await page.setViewportSize(LAPTOP);
});

test('accessibility: axe-core finds nothing serious or critical', async (t) => {
  // page.evaluate runs through the DevTools protocol, which the page's CSP does not govern (an
  // inline <script> from page.addScriptTag would be refused, as it should be).
  await page.evaluate(axe.source);
  const { violations } = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  for (const v of violations) t.diagnostic(`${v.impact}: ${v.id} (${v.nodes.length}×) ${v.help}`);
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), []);
});

test('a vision transformer dropped on the page: its patch tokens are a map like any stage', async (t) => {
  // The narrow ViT-B/16 of the CI's model zoo (tests/fixtures/zoo, 64² input, 4×4 patches, random weights).
  const vit = readFileSync('tests/fixtures/zoo/vit_b_16-dynamo-18/model.onnx');
  const started = Date.now();
  await drop('.model-drop', 'vit_b_16.onnx', vit, '');
  // The model in use, not the status line: with a photo on screen the page explains it at once, and
  // "Model … ready" can give way to that photo's status before a check sees it.
  await page.waitForFunction(() => document.querySelector('#model-in-use').textContent.startsWith('vit_b_16.onnx ·'));
  t.diagnostic(`ViT ready after ${Date.now() - started} ms: ${await page.textContent('#model-in-use')}`);
  await page.click('.sample >> nth=0');
  await waitForGrid(3); // the patch embedding, the last block's tokens, the fused map
  assert.match(await page.textContent('#grid thead'), /Stage 1b · 4×4 patch tokens · 32 channels/);
  assert.ok(await colours('#cell-1-0') > 5, 'the tokens\' LayerCAM map is not blank');
  await page.screenshot(photo('vit'));
});

test('the page asked nothing of any other origin, broke no CSP rule, and logged no error', async (t) => {
  const origin = new URL(url).origin;
  // blob:ORIGIN/… is the page's own origin: wasm-bindgen-rayon's helper starts the threaded
  // engine's pool from a blob of its own script (dist/snippets/…/workerHelpers.no-bundler.js).
  assert.deepEqual(requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith(`blob:${origin}/`)), []);
  // The plain worker, or where the page is cross-origin isolated and the build has it, the threaded one.
  assert.ok(requests.some((u) => /\/worker(_threads)?_bg\.wasm$/.test(u) && u.startsWith(`${origin}/`)), 'the worker was loaded from the page\'s origin');
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
  assert.deepEqual(errors, []);
  for (const file of readdirSync(dist).filter((f) => f.endsWith('.wasm'))) {
    const bytes = readFileSync(join(dist, file));
    t.diagnostic(`${file}: ${(statSync(join(dist, file)).size / 1e6).toFixed(2)} MB raw, ${(gzipSync(bytes).length / 1e6).toFixed(2)} MB gzip`);
  }
});
