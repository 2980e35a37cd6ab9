// The README's screenshots of the page, taken in Debian's Chromium from a served build:
//   node web/screenshots.mjs http://127.0.0.1:8080/ docs
// docs/page.jpg (1280×800, the espresso sample), docs/occlusion.jpg (the occlusion panel after
// its test), docs/page-projector.jpg (1920×1080, projector view) and docs/compare.jpg (the same,
// LayerCAM and Grad-CAM compared at every stage).
import { join } from 'node:path';
import { chromium } from 'playwright-core';

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
