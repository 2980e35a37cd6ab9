// The README's screenshots of the page, taken in Debian's Chromium from a served build:
//   node web/screenshots.mjs http://127.0.0.1:8080/ docs
// docs/page.jpg (1280×800, the espresso sample), docs/occlusion.jpg (the occlusion panel after
// its test), docs/page-projector.jpg (1920×1080, projector view) and docs/compare.jpg (the same,
// LayerCAM and Grad-CAM compared at every stage); docs/live.jpg (1280×800) and
// docs/live-projector.jpg (1920×1080, projector view): live mode, LayerCAM at the five stages, on
// Chromium's fake camera playing a clip of the sample photos (web/tests/clip.mjs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { fakeCamera, writeClip } from './tests/clip.mjs';

const [url, out] = process.argv.slice(2);
if (!url || !out) throw new Error('usage: node web/screenshots.mjs URL FOLDER');
const jpeg = (name) => ({ path: join(out, name), type: 'jpeg', quality: 85 });

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.setDefaultTimeout(120_000);
  await page.goto(url);
  await page.waitForSelector('#status');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.includes(' ready'));
  await page.click('.sample >> nth=1');
  await page.waitForFunction(() => document.querySelector('#status')?.textContent.includes('looks for'));
  await page.waitForSelector('#grid[aria-busy="false"]');
  await page.screenshot(jpeg('page.jpg'));

  await page.click('#occlude');
  await page.waitForSelector('.occlusion-trial');
  await page.locator('#occlusion').screenshot(jpeg('occlusion.jpg'));

  await page.setViewportSize({ width: 1920, height: 1080 });
  await page.click('#projector');
  await page.waitForFunction(() => document.documentElement.classList.contains('projector'));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot(jpeg('page-projector.jpg'));

  await page.click('#compare');
  await page.waitForSelector('.compare-bar');
  await page.waitForFunction(() => document.querySelectorAll('#grid tbody tr').length === 2);
  await page.waitForSelector('#grid[aria-busy="false"]');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot(jpeg('compare.jpg'));
} finally {
  await browser.close();
}

// Live mode, on the fake camera: the cat at 1280×800, the espresso in the projector view.
const folder = mkdtempSync(join(tmpdir(), 'layercam-shots-'));
try {
  const clip = join(folder, 'clip.y4m');
  await writeClip(clip, ['samples/chelsea.png', 'samples/coffee.png']);
  const live = await chromium.launch({
    executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--enable-unsafe-webgpu', ...fakeCamera(clip)],
  });
  try {
    const page = await live.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(120_000);
    // Through the camera's YUV the clip's cat is either of two near-equal cats (web/tests/live.test.mjs).
    const looksFor = (label) => page.waitForFunction((l) => new RegExp(`Live: the network looks for “${l}”`).test(document.querySelector('#status').textContent), label);
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent.includes(' ready'));
    for (const method of ['LayerCAM-normal', 'Grad-CAM', 'Grad-CAM++']) await page.getByLabel(method, { exact: true }).uncheck();
    await page.click('#camera');
    await looksFor('(tiger|Egyptian) cat');
    await page.waitForFunction(() => / fps /.test(document.querySelector('#live-rate').textContent));
    await page.screenshot(jpeg('live.jpg'));
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.click('#projector');
    await looksFor('espresso');
    await page.waitForFunction(() => / fps /.test(document.querySelector('#live-rate').textContent));
    await page.screenshot(jpeg('live-projector.jpg'));
  } finally {
    await live.close();
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}
