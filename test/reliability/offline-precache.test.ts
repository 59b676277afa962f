// Reliability catalog, "Offline and updates": the build fails if any needed asset (worker chunks,
// .wasm files) is left out of the precache. Runs the real post-build check
// (scripts/check-precache.mjs, the last step of `npm run build`) as a child process against a
// throwaway copy of dist/ with faults injected, and expects a non-zero exit naming the file.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIST = join(ROOT, process.env.TRAINYARD_DIST || 'dist');
const CHECK = join(ROOT, 'scripts', 'check-precache.mjs');

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function copyOfDist(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-precache-'));
  temps.push(dir);
  cpSync(DIST, join(dir, 'dist'), { recursive: true });
  return join(dir, 'dist');
}

function check(dist: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [CHECK, dist], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

/** Removes the `{url:"<path>",revision:...}` entry of one file from sw.js's inlined manifest. */
function dropFromManifest(dist: string, path: string): void {
  const sw = join(dist, 'sw.js');
  const src = readFileSync(sw, 'utf8');
  const escaped = path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const re = new RegExp(`\\{\\s*["']?url["']?\\s*:\\s*["'\`]${escaped}["'\`][^}]*\\},?`, 'g');
  const out = src.replace(re, '');
  expect(out, `sw.js lists ${path}`).not.toBe(src);
  writeFileSync(sw, out);
}

describe('Offline and updates: precache check', () => {
  it('The build fails if any needed asset (worker chunks, .wasm files) is left out of the precache', () => {
    expect(existsSync(join(DIST, 'sw.js')), `${DIST}/sw.js (run npm run build first)`).toBe(true);
    // The check is part of the build itself.
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.build).toMatch(/vite build && node scripts\/check-precache\.mjs/);

    const assets = readdirSync(join(DIST, 'assets'));
    const worker = assets.find((f) => /^train\.worker-.*\.js$/.test(f)) ?? assets.find((f) => /worker.*\.js$/.test(f));
    const wasm = assets.find((f) => f.endsWith('.wasm'));
    expect(worker, 'a worker chunk in dist/assets').toBeTruthy();
    expect(wasm, 'a .wasm file in dist/assets').toBeTruthy();

    // Baseline: an untouched copy passes, so a failure below is caused by the injected fault.
    const baseline = check(copyOfDist());
    expect(baseline.output).toMatch(/files precached/);
    expect(baseline.status).toBe(0);

    // Fault 1: the worker chunk is on disk but left out of the precache manifest (what Workbox does
    // silently to files over maximumFileSizeToCacheInBytes).
    const d1 = copyOfDist();
    dropFromManifest(d1, `assets/${worker}`);
    const r1 = check(d1);
    expect(r1.status).not.toBe(0);
    expect(r1.output).toContain(`not precached: assets/${worker}`);
    expect(r1.output).toMatch(/FAILED/);

    // Fault 2: a .wasm file left out of the precache.
    const d2 = copyOfDist();
    dropFromManifest(d2, `assets/${wasm}`);
    const r2 = check(d2);
    expect(r2.status).not.toBe(0);
    expect(r2.output).toContain(`not precached: assets/${wasm}`);

    // Fault 3: the manifest names a worker chunk that is not in dist/ (a stale or partial build).
    const d3 = copyOfDist();
    unlinkSync(join(d3, 'assets', worker!));
    const r3 = check(d3);
    expect(r3.status).not.toBe(0);
    expect(r3.output).toContain(`precache manifest lists assets/${worker}, which is not in dist/`);

    // Fault 4: no service worker at all.
    const d4 = copyOfDist();
    unlinkSync(join(d4, 'sw.js'));
    expect(check(d4).status).not.toBe(0);
  });
});
