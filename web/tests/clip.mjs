// A clip for Chromium's fake camera (--use-file-for-fake-video-capture=clip.y4m): the sample photos
// one after the other, each held for a few seconds, as a Y4M file — a one-line text header, then
// per frame "FRAME\n" and the raw 4:2:0 planes (Y, then U and V at half the size). The photos are
// decoded by the browser (node has no image decoder), through a canvas at the clip's size.
// Shared by web/tests/live.test.mjs and web/screenshots.mjs.
import { readFileSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** RGBA pixels of each PNG, drawn at width×height (both photos are 3:2, as the clip). */
async function decode(files, width, height) {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox'] });
  try {
    const page = await browser.newPage();
    return await Promise.all(files.map(async (file) => Buffer.from(await page.evaluate(async ({ base64, width, height }) => {
      const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${base64}`)).blob());
      const canvas = new OffscreenCanvas(width, height);
      const context = canvas.getContext('2d');
      context.drawImage(bitmap, 0, 0, width, height);
      const rgba = context.getImageData(0, 0, width, height).data;
      let text = '';
      for (let i = 0; i < rgba.length; i += 0x8000) text += String.fromCharCode(...rgba.subarray(i, i + 0x8000));
      return btoa(text);
    }, { base64: readFileSync(file).toString('base64'), width, height }), 'base64')));
  } finally {
    await browser.close();
  }
}

/** One frame's Y, U and V planes from RGBA: BT.601, studio range, chroma averaged over 2×2. */
export function yuv420(rgba, width, height) {
  const y = Buffer.alloc(width * height);
  const u = Buffer.alloc(width * height / 4);
  const v = Buffer.alloc(width * height / 4);
  const at = (x, row) => 4 * (row * width + x);
  for (let row = 0; row < height; row += 1) {
    for (let x = 0; x < width; x += 1) {
      const i = at(x, row);
      y[row * width + x] = Math.round(16 + (65.481 * rgba[i] + 128.553 * rgba[i + 1] + 24.966 * rgba[i + 2]) / 255);
    }
  }
  for (let row = 0; row < height; row += 2) {
    for (let x = 0; x < width; x += 2) {
      const [r, g, b] = [0, 1, 2].map((c) => (rgba[at(x, row) + c] + rgba[at(x + 1, row) + c]
        + rgba[at(x, row + 1) + c] + rgba[at(x + 1, row + 1) + c]) / 4);
      const j = (row / 2) * (width / 2) + x / 2;
      u[j] = Math.round(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
      v[j] = Math.round(128 + (112 * r - 93.786 * g - 18.214 * b) / 255);
    }
  }
  return Buffer.concat([y, u, v]);
}

/**
 * Writes `path`: each of `photos` (PNG paths) for `seconds` at `fps` frames a second, width×height
 * (even sides). Chromium's fake camera plays it in a loop, at its frame rate.
 */
export async function writeClip(path, photos, { width = 480, height = 320, fps = 5, seconds = 4 } = {}) {
  const frames = (await decode(photos, width, height)).map((rgba) => Buffer.concat([Buffer.from('FRAME\n'), yuv420(rgba, width, height)]));
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
  writeFileSync(path, Buffer.concat([header, ...frames.flatMap((frame) => Array(fps * seconds).fill(frame))]));
}

/** Chromium's flags for a fake camera playing `clip`, its permission granted without a prompt. */
export const fakeCamera = (clip) => ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  `--use-file-for-fake-video-capture=${clip}`];
