// Importing a picked folder (one subfolder per class) with good images, duplicates, a label
// conflict, bad files of every kind, OS junk, an NFD file name and a label that contains markup.
// Expectations come from the fixture generator's index.json (test/fixtures/generate.mjs).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from './harness';
import {
  closeReport,
  createProject,
  datasetTotal,
  filterSelect,
  freshFixtures,
  importAndReport,
  importPanel,
  openProjectList,
  perClass,
  pickFolder,
  planHeading,
  projectCard,
  shownCount,
  textOf,
  tileNames,
  waitForDemoImported,
  warningKinds,
  type Fixtures,
  type ImportReport,
} from './app-helpers';

/** What the reason shown for each bad fixture file must mention. */
const REASONS: Record<string, RegExp> = {
  'bad/empty.png': /empty/i,
  'bad/text.png': /not an image/i,
  'bad/report.jpg': /not an image/i,
  'bad/truncated.png': /truncated/i,
  'bad/truncated.jpg': /truncated/i,
  'bad/corrupt-header.png': /corrupt|could not be decoded/i,
  'bad/huge.png': /50 MP|pixels/i,
  'bad/vector.svg': /SVG/,
  'bad/vector.png': /SVG/,
};

describe('importing a folder', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let fx: Fixtures;
  let report: ImportReport;
  const dialogs: string[] = [];

  beforeAll(async () => {
    fx = await freshFixtures();
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    page.on('dialog', (d) => {
      dialogs.push(`${d.type()}: ${d.message()}`);
      void d.dismiss().catch(() => {});
    });
    await openProjectList(page);
    await waitForDemoImported(page);
    await createProject(page, 'Pets');
  });
  afterAll(async () => {
    await b?.close();
    fx?.cleanup();
  });

  it('shows a plan listing the cats, dogs and markup classes before anything is written', async () => {
    const folder = fx.index.fixtures.folder;
    expect(Object.keys(folder.bad)).toHaveLength(9);
    await pickFolder(page, fx.folder);
    expect(await textOf(planHeading(page))).toMatch(/^Import \d+ images from “folder”\?$/);

    // Files per class folder, duplicates included: the plan counts files, not distinct images.
    const filesIn = (label: string) =>
      folder.good[label].length + Object.keys(folder.duplicates).filter((p) => p.startsWith(`${label}/`)).length;
    const classes = await textOf(
      importPanel(page)
        .getByRole('listitem')
        .filter({ hasText: /^Classes:/ }),
    );
    expect(classes).toContain(`cats (${filesIn('cats')})`);
    expect(classes).toContain(`dogs (${filesIn('dogs')})`);
    expect(folder.markupLabel).toBe('<img src=x onerror=alert(1)>');
    expect(classes).toContain(`${folder.markupLabel} (1)`);
    expect(await textOf(importPanel(page))).toContain(`${folder.ignored.length} system files ignored`);
    // Nothing is written until the user starts the import.
    expect(await datasetTotal(page)).toBe(0);
    expect(await importPanel(page).getByRole('button', { name: 'Start import' }).isEnabled()).toBe(true);
    expect(await importPanel(page).getByRole('button', { name: 'Cancel' }).isVisible()).toBe(true);
  });

  it('imports the good images and reports duplicates, the label conflict and every skipped file with its reason', async () => {
    const expected = fx.index.fixtures.folder.expected;
    report = await importAndReport(page);
    expect(report.heading).toBe('Import finished');
    // Soft: report every wrong number at once.
    expect.soft(report.imported, 'imported (distinct images)').toBe(expected.uniqueImages);
    expect.soft(report.duplicates, 'duplicates (same bytes, same label)').toBe(expected.duplicatesSameLabel);
    expect.soft(report.conflicts ?? '(no "Label conflicts" warning)', '"Label conflicts" warning').toMatch(/^Label conflicts\b/);
    const conflictPaths = (report.conflicts ?? '')
      .replace(/^.*?:\s*/, '')
      .split(', ')
      .filter(Boolean);
    expect.soft(conflictPaths, 'paths listed under "Label conflicts"').toHaveLength(expected.labelConflicts);
    // Any of the three copies of cat-1.png's bytes may be the one that arrives second.
    expect.soft(conflictPaths.join(), 'the conflicting file').toMatch(/^(cats|dogs)\/cat-1(-copy)?\.png$/);

    expect.soft(report.skipped, 'skipped count').toBe(expected.rejected);
    const skippedPaths = report.skippedFiles.map((s) => s.file).sort();
    expect(skippedPaths).toEqual(Object.keys(REASONS).sort());
    for (const { file, reason } of report.skippedFiles) {
      expect.soft(reason, `reason given for ${file}`).toMatch(REASONS[file]);
    }
  });

  it('ignores .DS_Store and __MACOSX, and imports the NFD-named file', async () => {
    const folder = fx.index.fixtures.folder;
    expect(await textOf(importPanel(page))).toContain(`${folder.ignored.length} system files ignored`);
    expect(report.skippedFiles.map((s) => s.file).join('\n')).not.toMatch(/DS_Store|__MACOSX|\._/);
    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBe(folder.expected.uniqueImages);
    const names = await tileNames(page);
    expect(names).toHaveLength(folder.expected.uniqueImages);
    expect(names.join('\n')).not.toMatch(/DS_Store|__MACOSX|\._cat/);
    // café.png comes from disk in NFD (e + combining acute); it is imported, under its class.
    expect(folder.nfdNames[0].normalize('NFD')).toBe(folder.nfdNames[0]);
    expect(names).toContain('café.png, cats');
    // Every distinct image has a tile. Copies of the same bytes are stored once, under the name
    // of whichever copy arrived first.
    const copies = new Set(Object.entries(folder.duplicates).flatMap(([path, d]) => [path, d.sameAs]));
    const base = (p: string) => p.slice(p.lastIndexOf('/') + 1).normalize('NFC');
    for (const [label, paths] of Object.entries(folder.good)) {
      for (const path of paths.filter((p) => !copies.has(p))) {
        expect(names, `tile for ${path}`).toContain(`${base(path)}, ${label}`);
      }
    }
    expect(
      names.filter((n) => [...copies].some((p) => n.startsWith(`${base(p)}, `))),
      'one tile for the copies of cat-1.png',
    ).toHaveLength(1);
  });

  it('shows the markup label as literal text, without injecting an element or running a script', async () => {
    const markup = fx.index.fixtures.folder.markupLabel!;
    const counts = await perClass(page);
    expect(counts[markup]).toBe(1);
    expect(await tileNames(page)).toContain(`x.png, ${markup}`);
    // The text is on the page as text ...
    expect(await page.getByText(markup, { exact: true }).count()).toBeGreaterThan(0);
    // ... and never as markup: no <img src="x">, no onerror handler anywhere, no alert.
    const injected = await page.evaluate(() => ({
      imgX: [...document.querySelectorAll('img')].filter((i) => i.getAttribute('src') === 'x').length,
      onerror: document.querySelectorAll('[onerror]').length,
    }));
    expect(injected).toEqual({ imgX: 0, onerror: 0 });
    // Also with the label selected in the filter (option text) and shown on the tile.
    await filterSelect(page, 'Label').selectOption({ label: markup });
    await expect.poll(() => shownCount(page)).toBe(1);
    await filterSelect(page, 'Label').selectOption({ label: 'All labels' });
    expect(dialogs).toEqual([]);
  });

  it('flags the label conflict and the duplicate in the dataset', async () => {
    const expected = fx.index.fixtures.folder.expected;
    const counts = await perClass(page);
    expect(Object.values(counts).reduce((a, n) => a + n, 0)).toBe(expected.uniqueImages);
    expect(Object.keys(counts).sort()).toEqual(['<img src=x onerror=alert(1)>', 'cats', 'dogs']);

    const kinds = await warningKinds(page);
    expect.soft(kinds, 'dataset warnings').toContain('conflicts');
    expect.soft(kinds, 'dataset warnings').toContain('duplicates');

    await filterSelect(page, 'Status').selectOption({ label: 'Label conflict' });
    await expect.poll(() => textOf(page.getByTestId('shown-count')), { timeout: 2_000 }).toBe(`${expected.labelConflicts} shown`);
    const conflicted = await tileNames(page);
    expect(conflicted).toHaveLength(expected.labelConflicts);
    expect(conflicted[0]).toMatch(/^cat-1(-copy)?\.png, (cats|dogs), conflict$/);
  });

  it('keeps the project card count in step, with no CSP violations, page errors or dialogs', async () => {
    await openProjectList(page);
    const card = projectCard(page, 'Pets');
    await card.waitFor();
    expect(await textOf(card.getByTestId('sample-count'))).toBe(`${fx.index.fixtures.folder.expected.uniqueImages} images`);
    expect(await textOf(card)).toContain('3 classes');
    expect(dialogs).toEqual([]);
    expect(page.cspViolations()).toEqual([]);
    expect(page.pageErrors()).toEqual([]);
  });
});
