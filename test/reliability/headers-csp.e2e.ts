// Reliability catalog, "Security": Headers (CSP without 'unsafe-eval', COOP/COEP so the page and
// its workers are cross-origin isolated, online and offline from the service worker), CSV export
// (formula-like cells neutralised, export → import round trip), and one end-to-end walk
// "Zero CSP violations through import, training and export". One browser session.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import {
  DEMO_NAME,
  createProject,
  importAndReport,
  pickFolder,
  projectCard,
  waitForDemoImported,
  writeHalvesDataset,
} from '../e2e/app-helpers';

const FORMULA_CLASS = '=SUM(1+1)';
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** One of the app's worker chunks in the built app, started directly by the Headers test. */
const WORKER_CHUNK =
  readdirSync(join(ROOT, process.env.TRAINYARD_DIST || 'dist', 'assets')).find((f) => /^decode\.worker-.*\.js$/.test(f)) ?? '';
const FORMULA_FILES = ['=HYPERLINK(1).png', '+cmd.png', '-2+3.png', '@SUM(A1).png'];

/** Parses the app's CSV (RFC 4180, CRLF) into rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') ((cell += '"'), i++);
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (row.push(cell), (cell = ''));
    else if (c === '\r' && text[i + 1] === '\n') {
      (row.push(cell), rows.push(row), (row = []), (cell = ''), i++);
    } else cell += c;
  }
  if (cell !== '' || row.length) (row.push(cell), rows.push(row));
  return rows;
}

const DANGEROUS = /^[=+\-@\t\r]/;

function parseCsp(header: string): Map<string, string[]> {
  return new Map(
    header
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name.toLowerCase(), values]),
  );
}

describe('Headers, CSP and CSV export', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  const foreign: string[] = [];

  const nav = (stage: 'Data' | 'Label' | 'Train' | 'Models' | 'Deploy') =>
    page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: stage, exact: true }).click();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-rel-csp-'));
    const data = join(dir, 'data');
    writeHalvesDataset(data, 10);
    writeHalvesDataset(data, 10, [FORMULA_CLASS]);
    FORMULA_FILES.forEach((f, i) => writeFileSync(join(data, 'left', f), readFileSync(join(data, 'left', `left-${i}.png`))));
    // Same bytes as left-i.png: rename the originals' copies away so nothing is a duplicate.
    FORMULA_FILES.forEach((_, i) => rmSync(join(data, 'left', `left-${i}.png`)));
    b = await launchBrowser({ webgpu: false });
    page = await newPage(b);
    b.context.on('request', (r) => {
      const u = r.url();
      if (/^https?:/.test(u) && !u.startsWith(appUrl())) foreign.push(u);
    });
  });

  afterAll(async () => {
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let csvPath = '';

  it('Zero CSP violations through import, training and export', async () => {
    await page.goto(appUrl());
    await waitForDemoImported(page);
    page.clearRecorded();
    await createProject(page, 'CSP walk');
    await pickFolder(page, join(dir, 'data'));
    const report = await importAndReport(page);
    expect(report.imported).toBe(40);
    await nav('Train');
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Epochs').fill('2');
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Early stopping patience (0 = off)').fill('0');
    await page.getByRole('button', { name: 'Start training' }).click();
    await expect
      .poll(
        () =>
          page
            .getByTestId('train-outcome')
            .innerText()
            .catch(() => ''),
        { timeout: 150_000 },
      )
      .toMatch(/Run completed/);

    // Export the model zip.
    await page.getByRole('button', { name: 'See the new model version' }).click();
    await page.getByRole('heading', { name: 'Version 1' }).waitFor();
    const [zip] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export as zip' }).click()]);
    const zipPath = join(dir, 'model.zip');
    await zip.saveAs(zipPath);
    expect(readFileSync(zipPath).subarray(0, 2).toString('latin1')).toBe('PK');

    // Export the labels CSV from the Label stage.
    await nav('Label');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      (async () => {
        await page.getByRole('button', { name: 'Export labels CSV' }).click();
        await page.getByRole('link', { name: /labels\.csv$/ }).click();
      })(),
    ]);
    csvPath = join(dir, 'labels.csv');
    await download.saveAs(csvPath);

    expect(page.cspViolations()).toEqual([]);
    expect(page.pageErrors()).toEqual([]);
    expect(foreign).toEqual([]);
  });

  it('CSV export: cells starting with = + - @ or tab/CR are neutralised; export then import round-trips', async () => {
    expect(csvPath, 'the labels CSV exported by the previous test').not.toBe('');
    // Labels CSV: no cell may start with a formula trigger; the formula names come back quoted.
    const rows = parseCsv(readFileSync(csvPath, 'utf8'));
    expect(rows[0]).toEqual(['filename', 'label', 'source', 'confidence']);
    expect(rows).toHaveLength(41);
    for (const row of rows) for (const cell of row) expect(cell, `cell ${JSON.stringify(cell)}`).not.toMatch(DANGEROUS);
    // Paths start with the class folder: "=SUM(1+1)/..." is neutralised, "left/=HYPERLINK(1).png"
    // needs nothing (its first character is harmless) and must come back unchanged.
    const names = rows.map((r) => r[0]);
    for (const f of FORMULA_FILES) expect(names).toContain(`left/${f}`);
    expect(rows.filter((r) => r[0].startsWith(`'${FORMULA_CLASS}/`) && r[1] === `'${FORMULA_CLASS}`)).toHaveLength(10);

    // Round trip: importing the exported CSV changes nothing.
    await page.getByLabel('Import labels CSV').setInputFiles(csvPath);
    const report = page.getByRole('region', { name: 'Label import report' });
    await expect
      .poll(() => report.innerText())
      .toMatch(/0 labels to apply, 40 unchanged, 0 unknown files, 0 conflicting, 0 ambiguous, 0 invalid rows/);
    await report.getByRole('button', { name: 'Cancel' }).click();

    // Batch prediction CSV from the Deploy stage: formula-like file names neutralised too.
    const batch = join(dir, 'batch');
    mkdirSync(batch, { recursive: true });
    for (const f of [...FORMULA_FILES, '\tTAB.png'])
      writeFileSync(join(batch, f), readFileSync(join(dir, 'data', 'left', FORMULA_FILES[0])));
    await nav('Deploy');
    await page.getByLabel('Choose a folder to predict').setInputFiles(batch);
    const link = page.getByRole('link', { name: 'Download predictions CSV' });
    await link.waitFor({ timeout: 60_000 });
    const [pred] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const predRows = parseCsv(readFileSync(await pred.path(), 'utf8'));
    expect(predRows).toHaveLength(1 + FORMULA_FILES.length + 1);
    for (const row of predRows) for (const cell of row) expect(cell, `cell ${JSON.stringify(cell)}`).not.toMatch(DANGEROUS);
    for (const f of FORMULA_FILES) expect(predRows.map((r) => r[0])).toContain(`'${f}`);
    // A tab-led name is refused by the importer (control character) and reported by its path, so
    // its cell starts with the folder name; either way no cell starts with a trigger (checked above).
    const tab = predRows.find((r) => r[0].endsWith('TAB.png'));
    expect(tab?.[0], 'the row of the tab-led file name').toMatch(/^(batch\/\t|'\t)TAB\.png$/);
    expect(page.cspViolations()).toEqual([]);
    expect(page.pageErrors()).toEqual([]);
  });

  it("Headers: CSP script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; connect-src 'self' + the catalog origin, no 'unsafe-eval'; COOP/COEP → crossOriginIsolated true, online and offline", async () => {
    page.clearRecorded();
    const res = await page.goto(appUrl(), { waitUntil: 'load' });
    for (const [what, headers] of [
      ['index.html', res!.headers()],
      ...(await Promise.all(
        ['/sw.js', '/manifest.webmanifest'].map(async (p) => [p, Object.fromEntries((await fetch(appUrl(p))).headers)] as const),
      )),
    ] as Array<[string, Record<string, string>]>) {
      expect(headers['cross-origin-opener-policy'], what).toBe('same-origin');
      expect(headers['cross-origin-embedder-policy'], what).toBe('require-corp');
      const csp = parseCsp(headers['content-security-policy'] ?? '');
      expect(csp.get('script-src'), what).toEqual(["'self'", "'wasm-unsafe-eval'"]);
      expect(csp.get('worker-src'), what).toEqual(["'self'", 'blob:']);
      // Its own origin and exactly one more: the backbone catalog's (issue #14), never a wildcard.
      expect(csp.get('connect-src'), what).toEqual(["'self'", 'https://storage.googleapis.com']);
      expect(csp.get('default-src'), what).toEqual(["'self'"]);
      expect(csp.get('object-src'), what).toEqual(["'none'"]);
      expect([...csp.values()].flat(), what).not.toContain("'unsafe-eval'");
      expect(csp.get('script-src'), what).not.toContain("'unsafe-inline'");
    }
    // The page's CSP is enforced: eval is refused (in a scratch page, so its report stays there).
    const scratch = await newPage(b);
    await scratch.goto(appUrl('/#/'));
    // (page.evaluate itself is exempt from the page's CSP; a string timer runs as page code.)
    const evalRan = await scratch.evaluate(
      () =>
        new Promise<boolean>((resolve) => {
          try {
            (setTimeout as unknown as (code: string, ms: number) => void)('window.__evalRan = true', 0);
          } catch {
            /* blocked synchronously */
          }
          setTimeout(() => resolve((window as typeof window & { __evalRan?: boolean }).__evalRan === true), 100);
        }),
    );
    expect(evalRan, 'a string passed to setTimeout was evaluated').toBe(false);
    await expect.poll(() => scratch.cspViolations().map((v) => v.effectiveDirective)).toContain('script-src');
    await scratch.close();

    await waitForDemoImported(page);
    expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
    // Worker scripts are served with the same headers, so workers are isolated too (the WASM
    // backend needs it for threads): start one of the app's own worker chunks and ask it.
    const workerIsolated = async () => {
      const before = page.workers().length;
      await page.evaluate((src) => {
        (window as typeof window & { __relWorkers: Worker[] }).__relWorkers ??= [];
        (window as typeof window & { __relWorkers: Worker[] }).__relWorkers.push(new Worker(src, { type: 'module' }));
      }, `/assets/${WORKER_CHUNK}`);
      await expect.poll(() => page.workers().length).toBeGreaterThan(before);
      const w = page.workers()[page.workers().length - 1];
      return w.evaluate(() => self.crossOriginIsolated);
    };
    expect(await workerIsolated(), 'worker, online').toBe(true);

    // Offline, from the service worker's cache: same isolation.
    await page.evaluate(async () => void (await navigator.serviceWorker.ready));
    if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) {
      await page.reload();
      await page.evaluate(async () => void (await navigator.serviceWorker.ready));
    }
    await b.context.route('**', (route) => route.abort('internetdisconnected'));
    try {
      await page.reload();
      await projectCard(page, DEMO_NAME).waitFor({ timeout: 30_000 });
      expect(await page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
      expect(await page.evaluate(() => self.crossOriginIsolated)).toBe(true);
      expect(await workerIsolated(), 'worker, offline').toBe(true);
      expect(
        await page.evaluate(() =>
          fetch(`/probe-${Date.now()}.txt`).then(
            () => 'answered',
            () => 'network error',
          ),
        ),
      ).toBe('network error');
    } finally {
      await b.context.unrouteAll({ behavior: 'ignoreErrors' });
    }
    await page.reload();
    expect(page.cspViolations()).toEqual([]);
  });
});
