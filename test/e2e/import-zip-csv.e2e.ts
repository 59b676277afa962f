// Importing zips (a good one with junk, one with unsafe entry names, a zip bomb) and a CSV
// manifest picked together with its images. Expectations come from the fixture index.json.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
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
  openProject,
  openProjectList,
  perClass,
  pickFiles,
  planHeading,
  projectCard,
  readReport,
  shownCount,
  startImport,
  textOf,
  tileNames,
  waitForDemoImported,
  type Fixtures,
} from './app-helpers';

/** A path as the page shows it: NUL and other control characters may be dropped or replaced. */
const visible = (p: string) => p.replace(/[\u0000-\u001f\ufffd]/g, '');

describe('importing zips and a CSV manifest', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let fx: Fixtures;
  let zipProject: string;

  beforeAll(async () => {
    fx = await freshFixtures();
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    await openProjectList(page);
    await waitForDemoImported(page);
  });
  afterAll(async () => {
    await b?.close();
    fx?.cleanup();
  });

  it('imports images.zip with labels from its folders and ignores the junk entries', async () => {
    const zip = fx.index.fixtures.imagesZip;
    zipProject = await createProject(page, 'Zipped pets');
    await pickFiles(page, fx.imagesZip);
    expect(await textOf(planHeading(page))).toBe(`Import ${zip.expected.images} images from “images.zip”?`);
    const classes = await textOf(
      importPanel(page)
        .getByRole('listitem')
        .filter({ hasText: /^Classes:/ }),
    );
    expect(classes).toBe(`Classes: cats (${zip.good.cats.length}), dogs (${zip.good.dogs.length})`);
    expect(await textOf(importPanel(page))).toContain(`${zip.ignored.length} system files ignored`);

    const report = await importAndReport(page);
    expect(report.heading).toBe('Import finished');
    expect(report.imported).toBe(zip.expected.images);
    expect(report.duplicates).toBe(0);
    expect(report.skipped).toBe(0);
    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBe(zip.expected.images);
    expect(await perClass(page)).toEqual({ cats: zip.good.cats.length, dogs: zip.good.dogs.length });
    const names = await tileNames(page);
    expect(names.join('\n')).not.toMatch(/DS_Store|__MACOSX|\._cat/);
    for (const [label, paths] of Object.entries(zip.good)) {
      for (const p of paths) expect(names).toContain(`${p.slice(p.indexOf('/') + 1)}, ${label}`);
    }
  });

  it('refuses the unsafe entries of tricky.zip as "unsafe path" and imports the 2 good ones', async () => {
    const tricky = fx.index.fixtures.trickyZip;
    expect(tricky.unsafe.length).toBeGreaterThan(0);
    await createProject(page, 'Tricky');
    await pickFiles(page, fx.trickyZip);
    expect(await textOf(planHeading(page))).toBe(`Import ${tricky.expected.images} images from “tricky.zip”?`);
    // The plan lists each refused entry with its reason before anything is written.
    const planText = (await importPanel(page).textContent()) ?? '';
    expect(planText).toContain(`${tricky.unsafe.length} files will be skipped:`);
    const refused = await importPanel(page)
      .getByRole('listitem')
      .filter({ hasText: /unsafe path/ })
      .allTextContents();
    expect(refused).toHaveLength(tricky.unsafe.length);
    for (const name of tricky.unsafe) {
      expect(
        refused.some((r) => visible(r).startsWith(`${visible(name)}: unsafe path`)),
        `plan refuses ${JSON.stringify(name)}`,
      ).toBe(true);
    }

    const report = await importAndReport(page);
    expect(report.heading).toBe('Import finished');
    expect(report.imported).toBe(tricky.expected.images);
    expect(report.skipped).toBe(tricky.expected.rejected);
    expect(report.skippedFiles.map((s) => visible(s.file)).sort()).toEqual(tricky.unsafe.map(visible).sort());
    for (const s of report.skippedFiles) expect(s.reason, `reason for ${JSON.stringify(s.file)}`).toMatch(/^unsafe path: \S/);

    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBe(tricky.expected.images);
    expect((await tileNames(page)).sort()).toEqual(['ok-1.png, cats', 'ok-2.png, dogs']);
    // No unsafe name became a label (e.g. "..", "C:", "cats\\").
    expect(Object.keys(await perClass(page)).sort()).toEqual(['cats', 'dogs']);
  });

  it('refuses bomb.zip as a whole: says so, and stores nothing, not even its one good image', async () => {
    const bomb = fx.index.fixtures.bombZip;
    expect(bomb.entries).toContain('cats/a.png');
    await openProject(page, zipProject, 'Zipped pets');
    await expect.poll(() => datasetTotal(page)).toBe(12);
    await pickFiles(page, fx.bombZip);

    // Whether the plan refuses it or the run does, the user must be told it was refused ...
    const start = importPanel(page).getByRole('button', { name: 'Start import' });
    const told: string[] = [];
    if ((await start.count()) > 0 && (await start.isEnabled())) {
      told.push((await importPanel(page).textContent()) ?? '');
      const outcome = await startImport(page);
      told.push(
        'error' in outcome
          ? outcome.error
          : [outcome.heading, outcome.message ?? '', (await importPanel(page).textContent()) ?? ''].join('\n'),
      );
      if (!('error' in outcome)) {
        const report = await readReport(page);
        expect.soft(report.imported, 'images reported as imported from bomb.zip').toBe(0);
      }
    } else {
      told.push((await importPanel(page).textContent()) ?? '');
    }
    expect.soft(told.join('\n'), 'what the import panel says about bomb.zip').toMatch(/refused/i);
    expect.soft(told.join('\n'), 'what the import panel says about bomb.zip').toMatch(/nothing\b.*\b(stored|saved|imported)/i);

    // ... and nothing from it is stored: the dataset and the project card still say 12.
    const close = importPanel(page).getByRole('button', { name: /^(Close report|Close|Cancel)$/ });
    if ((await close.count()) > 0) await close.first().click();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Zipped pets' }).waitFor();
    await expect.poll(() => datasetTotal(page)).toBe(12);
    expect(await tileNames(page)).not.toContain('a.png, cats');
    await openProjectList(page);
    expect(await textOf(projectCard(page, 'Zipped pets').getByTestId('sample-count'))).toBe('12 images');
  });

  it('plans a CSV manifest with its images: problems per line, NFD/NFC match, quoted label kept whole', async () => {
    const m = fx.index.fixtures.manifest.expected;
    await createProject(page, 'Manifest');
    const files = readdirSync(fx.manifest).map((f) => join(fx.manifest, f));
    expect(files).toContain(fx.labelsCsv);
    await pickFiles(page, files);
    const imageCount = fx.index.fixtures.manifest.files.length;
    // The CSV is the manifest, not an image: 6 images from the 7 picked files.
    expect(files).toHaveLength(imageCount + 1);
    expect(await textOf(planHeading(page))).toMatch(new RegExp(`^Import ${imageCount} images from “.+”\\?$`));

    // Rows of labels.csv: 1 header, 2 img-1, 3 img-2 "big; cat", 4 blank, 5 ghost.png, 6 img-3 cat,
    // 7 img-3 dog, 8 img-4, 9 img-2 again, 10 café.png (NFC; the file on disk is NFD).
    const problems = (
      await importPanel(page)
        .getByRole('listitem')
        .filter({ hasText: /^Line \d+: / })
        .allTextContents()
    ).map((t) => t.replace(/\s+/g, ' ').trim());
    expect(problems.find((p) => p.startsWith('Line 5: '))).toMatch(
      new RegExp(`^Line 5: ${m.missingFiles[0].replace('.', '\\.')}\\b.*(no|missing|not found)`, 'i'),
    );
    for (const line of [6, 7]) {
      expect(
        problems.find((p) => p.startsWith(`Line ${line}: `)),
        `line ${line}`,
      ).toMatch(/img-3\.png.*conflict.*cat.*dog/i);
    }
    expect(problems.find((p) => p.startsWith('Line 9: '))).toMatch(/img-2\.png.*(again|duplicate|repeat)/i);
    // No problem reported for café.png: the NFC row matched the NFD file.
    expect(problems.join('\n').normalize('NFC')).not.toContain('café');
    expect(problems).toHaveLength(4);

    const classes = await importPanel(page)
      .getByRole('listitem')
      .filter({ hasText: /^Classes:/ })
      .textContent();
    const planned = Object.fromEntries(
      [...(classes ?? '').replace(/^\s*Classes:\s*/, '').matchAll(/(.+?) \((\d+)\)(?:, |\s*$)/g)].map((x) => [x[1], Number(x[2])]),
    );
    expect(Object.keys(planned).sort()).toEqual([...m.classes].sort());
    expect(planned['big; cat']).toBe(1);
    expect(planned.cat).toBe(1);
    expect(planned.dog).toBe(2); // img-4.png and café.png
    // img-3.png (conflicting rows) and img-5.png (no row) come in without a label.
    expect(await textOf(importPanel(page))).toContain(`${Object.keys(m.conflicts).length + m.unlabelled.length} without a label`);
  });

  it('imports the manifest: counts, labels and flags match the plan', async () => {
    const m = fx.index.fixtures.manifest.expected;
    const imageCount = fx.index.fixtures.manifest.files.length;
    const report = await importAndReport(page);
    expect(report.heading).toBe('Import finished');
    expect(report.imported).toBe(imageCount);
    expect(report.skipped).toBe(0);
    await closeReport(page);
    await expect.poll(() => datasetTotal(page)).toBe(imageCount);
    expect(await perClass(page)).toEqual({ 'big; cat': 1, cat: 1, dog: 2 });

    const names = await tileNames(page);
    for (const [file, label] of Object.entries(m.labelled)) expect(names).toContain(`${file.normalize('NFC')}, ${label}`);
    expect(names).toContain('img-5.png, unlabeled');
    expect(names.find((n) => n.startsWith('img-3.png, '))).toBe('img-3.png, unlabeled, conflict');

    await filterSelect(page, 'Label').selectOption({ label: 'big; cat' });
    await expect.poll(() => shownCount(page)).toBe(1);
    await filterSelect(page, 'Label').selectOption({ label: 'All labels' });
    await filterSelect(page, 'Status').selectOption({ label: 'Unlabeled' });
    await expect.poll(() => shownCount(page)).toBe(2);
    await filterSelect(page, 'Status').selectOption({ label: 'Any status' });

    await openProjectList(page);
    const card = projectCard(page, 'Manifest');
    expect(await textOf(card.getByTestId('sample-count'))).toBe(`${imageCount} images`);
    expect(await textOf(card)).toContain('3 classes');
    expect(page.cspViolations()).toEqual([]);
    expect(page.pageErrors()).toEqual([]);
  });
});
