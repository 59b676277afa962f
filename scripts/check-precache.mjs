// Post-build check: every file the app needs offline must be in the service worker's precache
// manifest. Workbox silently drops files above maximumFileSizeToCacheInBytes (it only warns),
// which would break offline use (e.g. the TF.js worker chunk); this turns that into a failed build.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** All files under dir, as dist-relative POSIX paths. */
function walk(dir, base = dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(full, base));
    else if (entry.isFile()) out.push(relative(base, full).split(sep).join('/'));
  }
  return out;
}

/**
 * URLs in the precache manifest that Workbox's generateSW inlines into sw.js as
 * `[{url:"assets/x.js",revision:null}, ...]` (keys may be quoted, depending on minification).
 */
export function parsePrecacheUrls(swSource) {
  const urls = new Set();
  const re = /["']?\burl["']?\s*:\s*(["'`])((?:\\.|(?!\1).)*)\1/g;
  for (const m of swSource.matchAll(re)) {
    // The precache URLs are relative to the SW scope; normalise to dist-relative paths.
    let u = m[2].replace(/\\\//g, '/');
    try {
      u = decodeURI(u);
    } catch {
      /* keep the raw form */
    }
    urls.add(u.replace(/^\.?\//, '').split('?')[0]);
  }
  return urls;
}

/** The dist-relative paths that must be precached for the app to work offline. */
export function requiredFiles(distDir) {
  const all = walk(distDir);
  const required = new Set();
  for (const f of all) {
    if (f.startsWith('assets/') && /\.m?js$/.test(f)) required.add(f); // app + worker chunks
    if (f.endsWith('.css') || f.endsWith('.wasm')) required.add(f);
    if (f.startsWith('icons/')) required.add(f);
  }
  // These must exist at all, not just be precached.
  for (const f of ['index.html', 'manifest.webmanifest', 'demo/digits.zip', 'demo/digits.json']) required.add(f);
  return [...required].sort();
}

export function checkPrecache(distDir) {
  const swPath = join(distDir, 'sw.js');
  if (!existsSync(swPath)) {
    return { ok: false, errors: [`${relative(ROOT, swPath)} not found (is vite-plugin-pwa configured?)`] };
  }
  const urls = parsePrecacheUrls(readFileSync(swPath, 'utf8'));
  const errors = [];
  if (urls.size === 0) errors.push('no precache manifest found in dist/sw.js');
  for (const f of requiredFiles(distDir)) {
    const onDisk = existsSync(join(distDir, f));
    if (!onDisk) errors.push(`missing from dist/: ${f}`);
    else if (!urls.has(f)) {
      const size = statSync(join(distDir, f)).size;
      errors.push(`not precached: ${f} (${formatBytes(size)})`);
    }
  }
  let total = 0;
  let count = 0;
  for (const u of urls) {
    const p = join(distDir, u);
    if (existsSync(p) && statSync(p).isFile()) {
      total += statSync(p).size;
      count++;
    } else {
      errors.push(`precache manifest lists ${u}, which is not in dist/`);
    }
  }
  return { ok: errors.length === 0, errors, count, total };
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const distDir = resolve(ROOT, process.argv[2] ?? 'dist');
  const { ok, errors, count = 0, total = 0 } = checkPrecache(distDir);
  for (const e of errors) console.error(`check-precache: ${e}`);
  if (!ok) {
    console.error('check-precache: FAILED. Raise workbox.maximumFileSizeToCacheInBytes or fix globPatterns in vite.config.ts.');
    process.exit(1);
  }
  console.log(`check-precache: ${count} files precached, ${formatBytes(total)} in total`);
}
