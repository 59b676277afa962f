// Smoke test of the serving setup every other e2e test relies on: the app loads with the
// security headers, the page is cross-origin isolated (needed for WASM threads), and missing
// assets are real 404s rather than the SPA's index.html.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser } from './harness';

describe('serving', () => {
  let b: LaunchedBrowser;

  beforeAll(async () => {
    b = await launchBrowser({ webgpu: false });
  });
  afterAll(async () => {
    await b?.close();
  });

  it('loads the app cross-origin isolated, with COOP/COEP/CSP headers', async () => {
    const page = await newPage(b);
    const res = await page.goto(appUrl(), { waitUntil: 'load' });
    expect(res?.status()).toBe(200);
    const headers = res!.headers();
    expect(headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(headers['content-security-policy']).toContain("default-src 'self'");
    expect(headers['content-security-policy']).toContain("script-src 'self' 'wasm-unsafe-eval'");
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    expect(page.cspViolations()).toEqual([]);
    expect(page.pageErrors()).toEqual([]);
    await page.close();
  });

  it('answers a missing asset with a plain 404, not index.html', async () => {
    const res = await fetch(appUrl('/assets/does-not-exist.js'));
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).not.toMatch(/<html/i);
  });

  it('falls back to index.html for an extension-less client route', async () => {
    const res = await fetch(appUrl('/projects/some-id'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
  });

  it('refuses paths that escape the served folder', async () => {
    // URL parsing removes "../" and "%2e%2e/" segments before a request is sent, so encode the
    // slash: the server decodes "..%2f" to "../" itself and must not follow it.
    const res = await fetch(appUrl('/..%2f..%2fpackage.json'));
    expect(res.status).toBe(400);
  });
});
