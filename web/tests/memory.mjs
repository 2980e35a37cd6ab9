// The resident memory of a Chromium's renderer processes (Linux /proc), shared by the page tests:
// the page and its worker share one renderer, so its peak is what explaining a photo costs.
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The renderers of the browser started with the profile folder `profile`, largest peak first:
 * [{ peak, now }] in kB (VmHWM, VmRSS); [] when none is found.
 */
export function renderers(profile) {
  const read = (pid, file) => { try { return readFileSync(`/proc/${pid}/${file}`, 'utf8'); } catch { return ''; } };
  const parent = (pid) => Number(read(pid, 'stat').split(') ')[1]?.split(' ')[1]);
  const pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  const browser = pids.find((p) => read(p, 'cmdline').includes(profile) && !read(p, 'cmdline').includes('--type='));
  if (!browser) return [];
  const ours = (pid) => { for (let p = pid; p > 1; p = parent(p)) if (String(p) === browser) return true; return false; };
  const kib = (status, field) => Number(status.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? 0);
  return pids.filter((p) => read(p, 'cmdline').includes('--type=renderer') && ours(p))
    .map((p) => read(p, 'status')).filter((status) => status)
    .map((status) => ({ peak: kib(status, 'VmHWM'), now: kib(status, 'VmRSS') }))
    .sort((a, b) => b.peak - a.peak);
}

/** The same, in words: "renderer peak 489 MB, now 470 MB; …". */
export function rendererMemory(profile) {
  const found = renderers(profile);
  if (found.length === 0) return 'no renderer process found under /proc';
  const mb = (k) => `${(k / 1024).toFixed(0)} MB`;
  return found.map((r) => `renderer peak ${mb(r.peak)}, now ${mb(r.now)}`).join('; ');
}
