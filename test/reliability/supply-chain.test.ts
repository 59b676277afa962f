// Reliability catalog, "Security" → "Supply chain": dependencies come from the lockfile with
// `npm ci`, and every @tensorflow/* package is pinned at one exact version (a second copy of
// tfjs-core would register kernels twice and break backends in confusing ways).
// `npm audit --audit-level=high` needs the registry's advisory endpoint, which CI machines here
// cannot reach; it is not a test (see test/reliability/README.md).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (p: string) => readFileSync(ROOT + p, 'utf8');
const EXACT = /^\d+\.\d+\.\d+$/;

describe('Supply chain', () => {
  it('Supply chain: `npm ci` from the lockfile; every @tensorflow/* package at one exact version (npm audit: see README)', () => {
    // CI installs with `npm ci` from the lockfile, never `npm install`.
    const ci = read('.ci/run');
    const lines = ci
      .split('\n')
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter(Boolean);
    const ciIndex = lines.findIndex((l) => /^npm ci(\s|$)/.test(l));
    expect(ciIndex, '.ci/run runs `npm ci`').toBeGreaterThanOrEqual(0);
    expect(
      lines.filter((l) => /\bnpm (install|i|update|add)\b/.test(l)),
      'no npm install/update in .ci/run',
    ).toEqual([]);
    // ... before the checks and tests run.
    const testIndex = lines.findIndex((l) => /\bnpm (test|run check)\b/.test(l));
    expect(ciIndex).toBeLessThan(testIndex);
    expect(JSON.parse(read('package-lock.json')).lockfileVersion).toBeGreaterThanOrEqual(2);

    // Every @tensorflow/* package: exact in package.json, one version in the whole lockfile.
    // TFLite's interpreter (@tensorflow/tfjs-tflite, a devDependency the export tests run) is versioned
    // on its own line: it is pinned exactly too, and its tfjs-core is overridden to the app's, so the
    // tree still holds one TF.js.
    const pkg = JSON.parse(read('package.json'));
    const lock = JSON.parse(read('package-lock.json'));
    const declared = { ...pkg.dependencies, ...pkg.devDependencies } as Record<string, string>;
    const OWN_LINE = new Set(['@tensorflow/tfjs-tflite']);
    // Exact, prerelease allowed (the interpreter is only published as alpha builds); no range operators.
    for (const name of OWN_LINE)
      if (declared[name]) expect(declared[name], `package.json range of ${name}`).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/);
    const tfDeclared = Object.entries(declared).filter(([name]) => name.startsWith('@tensorflow/') && !OWN_LINE.has(name));
    expect(tfDeclared.length).toBeGreaterThan(0);
    for (const [name, range] of tfDeclared) expect(range, `package.json range of ${name}`).toMatch(EXACT);

    // Every installed copy anywhere in the tree (nested node_modules too).
    const versions = new Map<string, Set<string>>();
    for (const [path, entry] of Object.entries(lock.packages as Record<string, { version?: string }>)) {
      const m = /node_modules\/(@tensorflow\/[^/]+)$/.exec(path);
      if (!m || OWN_LINE.has(m[1])) continue;
      const set = versions.get(m[1]) ?? new Set<string>();
      set.add(entry.version ?? '(none)');
      versions.set(m[1], set);
    }
    for (const [name] of tfDeclared) expect(versions.has(name), `${name} in package-lock.json`).toBe(true);
    const all = new Set([...versions.values()].flatMap((s) => [...s]));
    expect([...all], 'versions of @tensorflow/* in package-lock.json').toHaveLength(1);
    const [only] = all;
    expect(only).toMatch(EXACT);
    for (const [name, range] of tfDeclared) expect(range, name).toBe(only);
    // The root entry of the lockfile agrees with package.json (npm ci refuses a mismatch anyway).
    const rootDeps = { ...lock.packages[''].dependencies, ...lock.packages[''].devDependencies };
    for (const [name, range] of tfDeclared) expect(rootDeps[name], `lockfile root entry for ${name}`).toBe(range);
  });
});
