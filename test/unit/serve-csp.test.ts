// The server's CSP names the app's origin and exactly one other: the backbone catalog origin the
// build was made for (dist/catalog-origin.txt, written by vite.config.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCatalogOrigin, securityHeaders, SECURITY_HEADERS } from '../../scripts/serve.mjs';

const dir = mkdtempSync(join(tmpdir(), 'trainyard-csp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const connectSrc = (csp: string) =>
  csp
    .split('; ')
    .find((d) => d.startsWith('connect-src '))!
    .split(' ')
    .slice(1);

describe('catalog origin in the CSP', () => {
  it('defaults to Google storage, one origin, no wildcard', () => {
    expect(connectSrc(SECURITY_HEADERS['Content-Security-Policy'])).toEqual(["'self'", 'https://storage.googleapis.com']);
    expect(buildCatalogOrigin(dir)).toBe('https://storage.googleapis.com'); // no file: the default
  });

  it("uses the build's origin, and refuses anything that is not exactly one origin", () => {
    writeFileSync(join(dir, 'catalog-origin.txt'), 'http://127.0.0.1:4321\n');
    expect(buildCatalogOrigin(dir)).toBe('http://127.0.0.1:4321');
    expect(connectSrc(securityHeaders('http://127.0.0.1:4321')['Content-Security-Policy'])).toEqual(["'self'", 'http://127.0.0.1:4321']);
    for (const bad of [
      'https://*.example.com',
      'https://a.example https://b.example',
      'https://a.example/path',
      "'unsafe-inline'",
      'ftp://a.example',
    ]) {
      writeFileSync(join(dir, 'catalog-origin.txt'), bad);
      expect(() => buildCatalogOrigin(dir), bad).toThrow(/catalog-origin\.txt/);
    }
  });
});
