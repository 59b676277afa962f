// Reliability catalog: every row of "Bad-input catalog for importers", and the Security cases that
// go through the image importer (zip paths, zip bombs, pixel bombs, active content). One browser
// session imports a folder of hostile files, a tricky zip, zip bombs, a CSV manifest and a
// 10,000-image zip the way a person does (pick → plan → start → report), and checks each reason,
// the stored counts (nothing lost, nothing partial), zero requests to other origins, zero CSP
// violations, no dialogs and no page errors. Inputs: test/reliability/bad-input-fixtures.ts.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TextReader, Uint8ArrayReader, Uint8ArrayWriter, ZipWriter, configure } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import {
  closeReport,
  createProject,
  datasetTotal,
  importAndReport,
  importPanel,
  openProject,
  perClass,
  pickFiles,
  pickFolder,
  planHeading,
  readReport,
  startImport,
  textOf,
  tileNames,
  waitForDemoImported,
  waitForReport,
  warningKinds,
  type ImportReport,
} from '../e2e/app-helpers';
import {
  MARKUP_FILE,
  MARKUP_LABEL,
  rgbPng,
  writeHostileFolder,
  writeManifest,
  writeManyZip,
  writeTrickyZip,
  writeZipBombs,
  type HostileFolder,
} from './bad-input-fixtures';

configure({ useWebWorkers: false });

const visible = (p: string) => p.replace(/[\u0000-\u001f\ufffd]/g, '');
const MANY = 10_000;

/** Runs `fn` once and hands every caller the same promise: tests share one import each. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | null = null;
  return () => (p ??= fn());
}

describe('Bad inputs through the importer', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let folder: HostileFolder;
  const dialogs: string[] = [];
  const foreign: string[] = [];
  const counts = { faults: 0, badInputs: 0, lost: 0 };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-rel-bad-'));
    folder = writeHostileFolder(dir);
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => {});
    });
    b.context.on('request', (r) => {
      const u = r.url();
      if (/^https?:/.test(u) && !u.startsWith(appUrl())) foreign.push(u);
    });
    await page.goto(appUrl());
    await waitForDemoImported(page);
  });

  afterAll(async () => {
    console.log(
      `[reliability] importer: ${counts.faults} faults injected, ${counts.badInputs} bad inputs tried, ${counts.lost} records lost`,
    );
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // ---- the hostile folder: one import, many rows -------------------------------------------

  const folderImport = once(async () => {
    const id = await createProject(page, 'Hostile folder');
    await pickFolder(page, folder.dir);
    const planText = (await textOf(importPanel(page))) ?? '';
    const heading = (await textOf(planHeading(page))) ?? '';
    const report = await importAndReport(page);
    counts.badInputs += folder.badInputs;
    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBe(report.imported);
    const result = {
      id,
      planText,
      heading,
      report,
      classes: await perClass(page),
      tiles: await tileNames(page),
      warnings: await warningKinds(page),
    };
    // Nothing lost: what the report says was imported is what the dataset holds, after a reload too.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Hostile folder' }).waitFor();
    await expect.poll(() => datasetTotal(page)).toBe(report.imported);
    counts.lost += Math.max(0, report.imported - (await datasetTotal(page)));
    return result;
  });

  function reasonOf(report: ImportReport, file: string): string {
    const row = report.skippedFiles.find((s) => s.file === file);
    return row ? row.reason : `(not in "Skipped files": ${report.skippedFiles.map((s) => s.file).join(', ')})`;
  }

  it('Bad input: zero-byte file; text or PDF renamed .jpg → skipped: "empty" / "not an image" (sniff magic bytes)', async () => {
    const { report } = await folderImport();
    expect(reasonOf(report, 'bad/empty.png')).toMatch(/empty/i);
    expect(reasonOf(report, 'bad/notes.jpg')).toMatch(/not an image/i);
    expect(reasonOf(report, 'bad/report.jpg')).toMatch(/not an image/i);
  });

  it('Bad input: truncated PNG/JPEG (browsers often "load" them) → PNG IEND / JPEG FFD9 checked; flagged', async () => {
    const { report } = await folderImport();
    for (const f of ['bad/truncated.png', 'bad/truncated.jpg']) {
      const flagged = reasonOf(report, f) + ' ' + (report.truncated ?? '');
      expect(flagged, f).toMatch(/truncated/i);
    }
  });

  it("Bad input: corrupt header → skipped with the decoder's reason; import continues", async () => {
    const { report } = await folderImport();
    expect(reasonOf(report, 'bad/corrupt-header.png')).toMatch(/corrupt PNG header/);
    // The import went on past it: it finished and every good file is in.
    expect(report.heading).toBe('Import finished');
    expect(report.imported).toBe(folder.stored);
  });

  it('Bad input: CMYK or grayscale JPEG, 16-bit / palette / RGBA PNG → imported as RGB (PNG variants; see README for JPEG)', async () => {
    const { report, tiles } = await folderImport();
    for (const f of ['gray.png', 'gray-alpha.png', 'palette.png', 'rgba.png', 'rgb16.png', 'photo.jpg']) {
      expect(
        report.skippedFiles.map((s) => s.file),
        f,
      ).not.toContain(`formats/${f}`);
      expect(tiles, f).toContain(`${f}, formats`);
    }
  });

  it('Bad input: EXIF orientations 1-8 → all imported (imageOrientation from-image)', async () => {
    const { classes, tiles } = await folderImport();
    expect(classes.exif).toBe(8);
    for (let o = 1; o <= 8; o++) expect(tiles).toContain(`orient-${o}.jpg, exif`);
  });

  it('Bad input: 1x1, 1x10000; over the pixel budget → resized by the documented policy / refused', async () => {
    const { report, tiles } = await folderImport();
    expect(tiles).toContain('one.png, sizes');
    expect(tiles).toContain('tall.png, sizes');
    expect(reasonOf(report, 'bad/huge.png')).toMatch(folder.skipped['bad/huge.png']);
  });

  it('Bad input: animated GIF/WebP; HEIC/TIFF → first frame, or "unsupported in this browser"', async () => {
    const { report, tiles } = await folderImport();
    expect(tiles).toContain('animated.gif, formats');
    expect(reasonOf(report, 'bad/photo.heic')).toMatch(/HEIC\/HEIF images are not supported/);
    expect(reasonOf(report, 'bad/scan.tif')).toMatch(/TIFF images are not supported/);
  });

  it('Bad input: the same bytes twice; under two labels → stored once; flagged as a label conflict', async () => {
    const { report, warnings, classes } = await folderImport();
    expect(report.duplicates).toBe(1);
    expect(report.conflicts ?? '').toMatch(/^Label conflicts\b/);
    expect(report.conflicts ?? '').toMatch(/ok-1(-copy)?\.png/);
    expect(warnings).toContain('conflicts');
    // ok-1.png's bytes are stored once, under whichever label arrived first.
    expect((classes.ok ?? 0) + (classes.other ?? 0)).toBe(4);
  });

  it('Bad input: labels " Cat" / "cat" / "CAT" → normalisation shown before commit', async () => {
    const { planText, classes } = await folderImport();
    expect(planText).toMatch(/Labels that differ only in case or spacing will be merged:/);
    expect(planText).toMatch(/(Cat|CAT), (Cat|CAT) → cat/);
    expect(classes.cat).toBe(4);
    expect(Object.keys(classes).filter((k) => k.toLowerCase() === 'cat')).toEqual(['cat']);
  });

  it('Bad input: .DS_Store, Thumbs.db, __MACOSX/ → ignored', async () => {
    const { planText, report, tiles } = await folderImport();
    expect(planText).toContain(`${folder.ignored} system files ignored`);
    expect(report.skippedFiles.map((s) => s.file).join('\n')).not.toMatch(/DS_Store|Thumbs|__MACOSX|\._/);
    expect(tiles.join('\n')).not.toMatch(/DS_Store|Thumbs|__MACOSX|\._ok/);
  });

  it('Pixel bombs: width/height read from the header before decoding; images above the pixel budget refused', async () => {
    const { report } = await folderImport();
    counts.faults += 2;
    expect(reasonOf(report, 'bad/huge.png')).toMatch(/20000x20000 pixels is over the 50 MP limit; refused before decoding/);
    expect(reasonOf(report, 'bad/wide.png')).toMatch(/100000x1000 pixels is over the 50 MP limit/);
    // The whole folder, bombs included, went through without a crash of the tab or the worker.
    expect(page.pageErrors()).toEqual([]);
  });

  it('Active content: SVG refused as an image; file names and labels containing markup render as text', async () => {
    const { report, classes, tiles } = await folderImport();
    expect(reasonOf(report, 'bad/vector.svg')).toMatch(/SVG is refused/);
    expect(reasonOf(report, 'bad/vector.png')).toMatch(/SVG is refused/);
    expect(classes[MARKUP_LABEL]).toBe(1);
    expect(tiles).toContain(`m.png, ${MARKUP_LABEL}`);
    expect(tiles).toContain(`${MARKUP_FILE}, ok`);
    expect(await page.getByText(MARKUP_LABEL, { exact: true }).count()).toBeGreaterThan(0);
    const injected = await page.evaluate(() => ({
      imgX: [...document.querySelectorAll('img')].filter((i) => i.getAttribute('src') === 'x').length,
      handlers: document.querySelectorAll('[onerror],[onload],[onmouseover]').length,
      bold: [...document.querySelectorAll('b')].filter((e) => e.textContent === 'bold').length,
      svg: [...document.querySelectorAll('svg[onload], img, object, embed, iframe')].filter(
        (e) => e.hasAttribute('onload') || /\.svg|svg\+xml/.test(e.getAttribute('src') ?? e.getAttribute('data') ?? ''),
      ).length,
    }));
    expect(injected).toEqual({ imgX: 0, handlers: 0, bold: 0, svg: 0 });
    expect(dialogs).toEqual([]);
    expect(page.cspViolations()).toEqual([]);
  });

  // ---- zips ---------------------------------------------------------------------------------

  it('Zip paths: ../x, /abs, C:\\x, backslashes, NUL, case/NFC collisions, __MACOSX/, ._* → unsafe entries rejected, junk ignored', async () => {
    const zipPath = join(dir, 'tricky.zip');
    const tricky = await writeTrickyZip(zipPath);
    counts.faults += tricky.unsafe.length + tricky.collisions.length;
    counts.badInputs += tricky.unsafe.length + tricky.junk.length + tricky.collisions.length;
    await createProject(page, 'Tricky zip');
    await pickFiles(page, zipPath);
    const planText = (await textOf(importPanel(page))) ?? '';
    expect(planText).toContain(`${tricky.unsafe.length} files will be skipped:`);
    expect(planText).toContain(`${tricky.junk.length} system files ignored`);
    // Collisions are shown before anything is written.
    expect(planText).toMatch(/Paths that differ only in case: cats\/Same\.png \/ cats\/same\.png/);
    const report = await importAndReport(page);
    expect(report.skippedFiles.map((s) => visible(s.file)).sort()).toEqual(tricky.unsafe.map((n) => visible(n.normalize('NFC'))).sort());
    for (const s of report.skippedFiles) expect(s.reason, JSON.stringify(s.file)).toMatch(/^unsafe path: \S/);
    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBe(report.imported);
    // No unsafe name became a label ("..", "C:", "cats\\", "" ...): the only labels are the safe ones.
    expect(Object.keys(await perClass(page)).sort()).toEqual(['cats', 'dogs']);
    expect((await tileNames(page)).join('\n')).not.toMatch(/evil|abs\.png|win\.png|back\.png|byte\.png|up\.png|share\.png|\._ok/);
  });

  it('Zip bombs: entry count, actual inflated bytes (declared sizes lie) and compression ratio → refused early, nothing partial stored', async () => {
    const bombs = await writeZipBombs(dir);
    const id = await createProject(page, 'Bombs');
    const close = () =>
      importPanel(page)
        .getByRole('button', { name: /^(Close report|Close|Cancel)$/ })
        .first();

    // Per-file size (96 MiB) and ratio (48 MiB at ~1000:1), sizes declared honestly → the whole zip
    // is refused before anything is inflated or stored (not even the good entry in front of it).
    for (const [zip, reason] of [
      [bombs.size, /declares \d+ bytes when extracted; the limit per file is \d+/],
      [bombs.ratio, /expands \d+:1 \(limit 100:1\), a sign of a zip bomb/],
    ] as const) {
      counts.faults++;
      counts.badInputs++;
      await pickFiles(page, zip);
      const start = importPanel(page).getByRole('button', { name: 'Start import' });
      let text = (await textOf(importPanel(page))) ?? '';
      if ((await start.count()) > 0 && (await start.isEnabled())) {
        const outcome = await startImport(page);
        text += '\n' + ('error' in outcome ? outcome.error : `${outcome.heading}\n${outcome.message ?? ''}`);
        if (!('error' in outcome)) expect((await readReport(page)).imported, `images imported from ${zip}`).toBe(0);
      }
      expect(text, zip).toMatch(/refused/i);
      expect(text, zip).toMatch(/nothing\b.*\b(stored|saved|imported)/i);
      expect(text, zip).toMatch(reason);
      if ((await close().count()) > 0) await close().click();
      await page.reload();
      await openProject(page, id, 'Bombs');
      await expect.poll(() => datasetTotal(page)).toBe(0);
    }

    // Declared sizes lie (1,000 bytes claimed, 96 MiB inside): the inflater stops at the first
    // byte past the declared size and the whole zip is refused like any other bomb.
    counts.faults++;
    counts.badInputs++;
    await pickFiles(page, bombs.liar);
    const liar = await startImport(page);
    if ('error' in liar) {
      expect(liar.error).toMatch(/inflates past the size its header declares/);
    } else {
      const bomb = liar.skippedFiles.find((f) => f.file === 'cats/bomb.png');
      const said = `${liar.message ?? ''} ${bomb?.reason ?? ''}`;
      expect(said, 'what the report says about the lying entry').toMatch(/inflates past the size its header declares/);
      expect(liar.imported).toBe(0);
      await closeReport(page);
      await expect.poll(() => datasetTotal(page)).toBe(liar.imported);
    }
    await page.reload();
    await openProject(page, id, 'Bombs');
    expect(await tileNames(page)).not.toContain('bomb.png, cats');
    expect(page.pageErrors()).toEqual([]);

    // Entry count, through the model importer (its limit is 64 entries).
    counts.faults++;
    counts.badInputs++;
    const many = new ZipWriter(new Uint8ArrayWriter());
    await many.add('model.json', new TextReader('{}'));
    for (let i = 0; i < 64; i++) await many.add(`w-${i}.bin`, new Uint8ArrayReader(new Uint8Array(4)));
    const manyPath = join(dir, 'many-entries.zip');
    writeFileSync(manyPath, await many.close());
    await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Models', exact: true }).click();
    await page.getByRole('heading', { name: 'Model versions' }).waitFor();
    await page.getByLabel('Choose a model zip to import').setInputFiles(manyPath);
    await page
      .getByRole('alert')
      .filter({ hasText: /zip has 65 entries, over the limit of 64/ })
      .waitFor({ timeout: 30_000 });
    expect(await page.getByRole('button', { name: /^Version \d+$/ }).count()).toBe(0);
  });

  // ---- CSV manifest ---------------------------------------------------------------------------

  const manifestImport = once(async () => {
    const m = writeManifest(dir);
    counts.badInputs += 6; // BOM+CRLF+';', quoted cells, 2 blank lines, ghost row, duplicate row, NFD name, file without a row
    await createProject(page, 'Manifest');
    await pickFiles(
      page,
      readdirSync(m.dir).map((f) => join(m.dir, f)),
    );
    const planText = (await textOf(importPanel(page))) ?? '';
    const problems = (
      await importPanel(page)
        .getByRole('listitem')
        .filter({ hasText: /^Line \d+: / })
        .allTextContents()
    ).map((t) => t.replace(/\s+/g, ' ').trim());
    const report = await importAndReport(page);
    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBe(report.imported);
    return { m, planText, problems, report, classes: await perClass(page), tiles: await tileNames(page) };
  });

  it('Bad input: macOS NFD names vs NFC names in a CSV → normalised to NFC before matching', async () => {
    const { problems, tiles } = await manifestImport();
    expect(problems.join('\n').normalize('NFC')).not.toContain('café');
    expect(tiles).toContain('café.png, dog');
  });

  it('Bad input: CSV with BOM, ";" delimiter, CRLF, quoted commas, blank lines → parsed correctly', async () => {
    const { tiles, classes } = await manifestImport();
    expect(tiles).toContain('a.png, big; cat');
    expect(tiles).toContain('b.png, x, y');
    expect(classes).toEqual({ 'big; cat': 1, 'x, y': 1, dog: 3 });
    // The BOM did not end up in the header or a label.
    expect(Object.keys(classes).join('')).not.toContain('\ufeff');
  });

  it('Bad input: CSV row for a missing file; file with no row; duplicate rows → per-row report; nothing guessed', async () => {
    const { problems, planText, tiles, report } = await manifestImport();
    expect(problems.find((p) => p.startsWith('Line 6: '))).toMatch(/ghost\.png/);
    expect(problems.find((p) => p.startsWith('Line 8: '))).toMatch(/d\.png.*(again|duplicate|repeat)/i);
    expect(problems).toHaveLength(2);
    expect(planText).toContain('1 without a label');
    expect(tiles).toContain('unlisted.png, unlabeled');
    expect(report.imported).toBe(6);
  });

  // ---- training refusals ----------------------------------------------------------------------

  it('Bad input: 0 or 1 class, a class with 1 image → training refuses with the reason', async () => {
    const refusal = async (reason: RegExp) => {
      await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train', exact: true }).click();
      await page.getByRole('button', { name: 'Start training' }).click();
      await expect.poll(() => page.getByRole('alert').allInnerTexts(), { timeout: 30_000 }).toContainEqual(expect.stringMatching(reason));
      expect(await page.getByRole('progressbar').count()).toBe(0);
    };
    counts.faults += 3;
    // A class with 1 image: the manifest project ("big; cat" and "x, y" have one each).
    await manifestImport();
    await refusal(/has 1 image; each class needs at least 2/);
    // 0 classes: loose images, no folders.
    const loose = join(dir, 'loose');
    const one = join(dir, 'one', 'only');
    mkdirSync(loose, { recursive: true });
    mkdirSync(one, { recursive: true });
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(loose, `l-${i}.png`), rgbPng(700 + i));
      writeFileSync(join(one, `o-${i}.png`), rgbPng(710 + i));
    }
    await createProject(page, 'No classes');
    await pickFiles(
      page,
      readdirSync(loose).map((f) => join(loose, f)),
    );
    await importAndReport(page);
    await closeReport(page);
    await refusal(/at least 2 classes; found none/);
    await createProject(page, 'One class');
    await pickFolder(page, join(dir, 'one'));
    await importAndReport(page);
    await closeReport(page);
    await refusal(/at least 2 classes; found 1: only/);
  });

  // ---- 10,000 files -------------------------------------------------------------------------

  it('Bad input: 10,000+ files → streamed in batches, bounded memory, progress and cancel', async () => {
    const zip = join(dir, 'many.zip');
    await writeManyZip(zip, MANY);
    counts.faults++; // the cancel
    await createProject(page, 'Ten thousand');
    await pickFiles(page, zip);
    expect(await textOf(planHeading(page))).toBe(`Import ${MANY.toLocaleString('en-US')} images from “many.zip”?`);
    const cdp = await b.context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const heap = async () => {
      const { metrics } = await cdp.send('Performance.getMetrics');
      return metrics.find((x: { name: string }) => x.name === 'JSHeapUsedSize')!.value;
    };
    const before = await heap();
    await importPanel(page).getByRole('button', { name: 'Start import' }).click();
    // Progress: a progress bar and a growing "N saved" count, committed in batches.
    await importPanel(page).getByRole('progressbar').first().waitFor({ timeout: 30_000 });
    await page.waitForFunction(
      () => /\b([1-9]\d{2,}) saved\b/.test(document.querySelector('[aria-label="Import"]')?.textContent ?? ''),
      null,
      { timeout: 120_000 },
    );
    const during = await heap();
    await importPanel(page).getByRole('button', { name: 'Cancel import' }).click();
    const report = await waitForReport(page, 60_000);
    if ('error' in report) throw new Error(report.error);
    expect(report.heading).toBe('Import cancelled');
    expect(report.imported).toBeGreaterThan(0);
    expect(report.imported).toBeLessThan(MANY);
    // Bounded memory in the page: the images live in the worker and IndexedDB, not the tab's heap.
    expect(during - before, `page heap grew by ${Math.round((during - before) / 2 ** 20)} MiB`).toBeLessThan(64 * 2 ** 20);
    await closeReport(page);
    // Nothing lost: every image the report counts is stored, after a reload too.
    await expect.poll(() => datasetTotal(page)).toBe(report.imported);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Ten thousand' }).waitFor();
    await expect.poll(() => datasetTotal(page)).toBe(report.imported);
    counts.lost += Math.max(0, report.imported - (await datasetTotal(page)));
    counts.badInputs += MANY;

    // The whole session: no request left the app's origin, no CSP violation, no dialog, no page error.
    expect(foreign).toEqual([]);
    expect(page.cspViolations()).toEqual([]);
    expect(page.pageErrors()).toEqual([]);
    expect(dialogs).toEqual([]);
  });
});
