// What the page tests read of a page: its canvases' pixels and a few counters, shared by the page
// tests (page.test.mjs, methods.test.mjs, live.test.mjs; not a test file: node --test runs only *.test.mjs).

/** The pixels of a canvas, as a data URL (equal pictures give equal strings). */
export const pixels = (page, selector) => page.$eval(selector, (c) => c.toDataURL());

/** Distinct colours among a sample of the canvas's pixels: 1 means blank. */
export const colours = (page, selector) => page.$eval(selector, (c) => {
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const seen = new Set();
  for (let i = 0; i < data.length; i += 4 * 97) seen.add(`${data[i]},${data[i + 1]},${data[i + 2]}`);
  return seen.size;
});

/** The forward passes the page has asked for (the details panel's counter). */
export const forwards = async (page) => Number(await page.textContent('#forward-count'));

/** The trimmed text of every element matching `selector`. */
export const texts = (page, selector) => page.$$eval(selector, (els) => els.map((e) => e.textContent.trim()));
