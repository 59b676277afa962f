// Helpers shared by the user-level e2e tests: fixtures in a private temp folder, the first-run
// demo import, project creation, and driving an import (pick -> plan -> start -> report) the way a
// person does, through roles, labels and visible text.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import pngjs from 'pngjs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { generateFixtures } from '../fixtures/generate.mjs';
import { appUrl } from './harness';

export const DEMO_NAME = 'Digits demo';
/** The demo import takes ~12 s on a 2-core machine; leave room for a slow CI box. */
export const DEMO_TIMEOUT = 120_000;
export const IMPORT_TIMEOUT = 60_000;

// ---- fixtures ------------------------------------------------------------------------------

export interface FolderExpectations {
  good: Record<string, string[]>;
  bad: Record<string, string>;
  ignored: string[];
  duplicates: Record<string, { sameAs: string; expect: string }>;
  nfdNames: string[];
  markupLabel: string | null;
  expected: { uniqueImages: number; rejected: number; labelConflicts: number; duplicatesSameLabel: number };
}

export interface FixtureIndex {
  fixtures: {
    folder: FolderExpectations;
    imagesZip: { good: Record<string, string[]>; ignored: string[]; expected: { images: number; classes: string[] } };
    trickyZip: { entries: string[]; unsafe: string[]; good: Record<string, string[]>; expected: { images: number; rejected: number } };
    bombZip: { entries: string[]; bombEntry: { name: string; uncompressedSize: number } };
    manifest: {
      files: string[];
      expected: {
        labelled: Record<string, string>;
        missingFiles: string[];
        conflicts: Record<string, string[]>;
        duplicateIdenticalRows: string[];
        unlabelled: string[];
        classes: string[];
      };
    };
  };
}

export interface Fixtures {
  outDir: string;
  folder: string;
  imagesZip: string;
  trickyZip: string;
  bombZip: string;
  manifest: string;
  labelsCsv: string;
  index: FixtureIndex;
  /** Removes the temp folder. */
  cleanup(): void;
}

/**
 * Generates the import fixtures into a fresh temp folder. Deterministic and fast (~2 s); a
 * private folder means no other test run or engineer can regenerate them under our feet.
 */
export async function freshFixtures(): Promise<Fixtures> {
  const dir = mkdtempSync(join(tmpdir(), 'trainyard-e2e-fixtures-'));
  const out = await generateFixtures(join(dir, 'out'));
  const index = JSON.parse(readFileSync(out.index, 'utf8')) as FixtureIndex;
  return { ...out, index, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

// ---- waiting -------------------------------------------------------------------------------

/** Text of a locator, with whitespace collapsed (null when it is not there). */
export async function textOf(locator: Locator): Promise<string | null> {
  if ((await locator.count()) === 0) return null;
  const t = await locator.first().textContent();
  return t === null ? null : t.replace(/\s+/g, ' ').trim();
}

/** Integer shown in an element ("5,000" -> 5000); NaN when absent. */
export async function numberIn(locator: Locator): Promise<number> {
  const t = await textOf(locator);
  return t === null ? NaN : Number(t.replace(/[^\d-]/g, ''));
}

// ---- project list --------------------------------------------------------------------------

export function projectCard(page: Page, name: string): Locator {
  return page.getByRole('listitem', { name, exact: true });
}

/** Opens the app on the project list and waits for the list to be there. */
export async function openProjectList(page: Page): Promise<void> {
  await page.goto(appUrl('/#/'));
  await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
}

/**
 * Waits until the first-run demo project shows 5,000 images and its import progress bar is gone
 * (the page must show the project list).
 */
export async function waitForDemoImported(page: Page, timeout = DEMO_TIMEOUT): Promise<void> {
  const card = projectCard(page, DEMO_NAME);
  await card.waitFor({ timeout });
  // A locator wait, not expect.poll: this also runs in beforeAll hooks.
  await card
    .getByTestId('sample-count')
    .filter({ hasText: /^\s*5,000 images\s*$/ })
    .waitFor({ timeout });
  await page.getByRole('progressbar', { name: `Importing into ${DEMO_NAME}` }).waitFor({ state: 'detached', timeout });
}

/** Creates a project from the project list; resolves once its Data page is showing. Returns its id. */
export async function createProject(page: Page, name: string): Promise<string> {
  if (!(await page.getByRole('heading', { level: 1, name: 'Projects' }).isVisible())) await openProjectList(page);
  await page.getByLabel('New project name').fill(name);
  await page.getByRole('button', { name: 'Create project' }).click();
  await page.waitForURL(/#\/p\/[^/]+\/data$/);
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
  return decodeURIComponent(/#\/p\/([^/]+)\//.exec(page.url())![1]);
}

/** Goes to a project's Data page by id and waits for its title. */
export async function openProject(page: Page, id: string, name: string): Promise<void> {
  await page.goto(appUrl(`/#/p/${encodeURIComponent(id)}/data`));
  await page.getByRole('heading', { level: 1, name, exact: true }).waitFor();
}

// ---- importing -----------------------------------------------------------------------------

/** The panel that shows the plan, progress and report (not the drop zone "Import images"). */
export function importPanel(page: Page): Locator {
  return page.getByRole('region', { name: 'Import', exact: true });
}

export function planHeading(page: Page): Locator {
  return importPanel(page).getByRole('heading', { name: /^Import .+ images? from “.*”\?$/ });
}

/** Picks a folder through the folder input and waits for the plan (or a planning failure). */
export async function pickFolder(page: Page, dir: string): Promise<void> {
  await page.locator('input[webkitdirectory]').setInputFiles(dir);
  await planOrFailure(page);
}

/** Picks files (images, a zip, a CSV) through the files input and waits for the plan. */
export async function pickFiles(page: Page, files: string | string[]): Promise<void> {
  await page.getByLabel('Choose files to import').setInputFiles(files);
  await planOrFailure(page);
}

async function planOrFailure(page: Page): Promise<void> {
  await planHeading(page)
    .or(importPanel(page).getByText(/^Import failed:/))
    .waitFor({ timeout: IMPORT_TIMEOUT });
}

export interface ImportReport {
  heading: string;
  imported: number;
  duplicates: number;
  skipped: number;
  /** The report's alert message (storage full, refused, cancelled ...), if any. */
  message: string | null;
  /** Every row of the "Skipped files" table. */
  skippedFiles: Array<{ file: string; reason: string }>;
  /** Text of the "Label conflicts" warning, if shown. */
  conflicts: string | null;
  /** Text of the "Truncated files" warning, if shown. */
  truncated: string | null;
}

export const REPORT_HEADING = /^Import (finished|cancelled|failed)$/;

/** Clicks "Start import" and waits for the report (or the panel's failure message). */
export async function startImport(page: Page, timeout = IMPORT_TIMEOUT): Promise<ImportReport | { error: string }> {
  await importPanel(page).getByRole('button', { name: 'Start import' }).click();
  return waitForReport(page, timeout);
}

export async function waitForReport(page: Page, timeout = IMPORT_TIMEOUT): Promise<ImportReport | { error: string }> {
  const panel = importPanel(page);
  const heading = panel.getByRole('heading', { name: REPORT_HEADING });
  const failure = panel.getByText(/^Import failed:/);
  await heading.or(failure).waitFor({ timeout });
  if (await failure.isVisible()) return { error: (await textOf(failure)) ?? '' };
  return readReport(page);
}

/** Like startImport, but fails the test when the panel shows a failure instead of a report. */
export async function importAndReport(page: Page, timeout = IMPORT_TIMEOUT): Promise<ImportReport> {
  const r = await startImport(page, timeout);
  if ('error' in r) throw new Error(`expected an import report, the panel says: ${r.error}`);
  return r;
}

export async function readReport(page: Page): Promise<ImportReport> {
  const panel = importPanel(page);
  const table = panel.getByRole('table', { name: 'Skipped files' });
  const skippedFiles =
    (await table.count()) === 0
      ? []
      : await table.locator('tbody tr').evaluateAll((rows) =>
          rows.map((r) => {
            const cells = r.querySelectorAll('td');
            return { file: cells[0]?.textContent ?? '', reason: cells[1]?.textContent ?? '' };
          }),
        );
  const warning = (title: string) => textOf(panel.locator('div', { has: page.locator('strong', { hasText: title }) }).last());
  return {
    heading: (await textOf(panel.getByRole('heading', { name: REPORT_HEADING }))) ?? '',
    imported: await numberIn(panel.getByTestId('report-imported')),
    duplicates: await numberIn(panel.getByTestId('report-duplicates')),
    skipped: await numberIn(panel.getByTestId('report-skipped')),
    message: await textOf(panel.getByRole('alert')),
    skippedFiles,
    conflicts: await warning('Label conflicts'),
    truncated: await warning('Truncated files'),
  };
}

/** Closes the report and waits for the dataset view to reflect the import. */
export async function closeReport(page: Page): Promise<void> {
  await importPanel(page).getByRole('button', { name: 'Close report' }).click();
  await importPanel(page).waitFor({ state: 'detached' });
}

// ---- dataset view --------------------------------------------------------------------------

export function datasetTotal(page: Page): Promise<number> {
  return numberIn(page.getByTestId('dataset-total'));
}

export function shownCount(page: Page): Promise<number> {
  return numberIn(page.getByTestId('shown-count'));
}

/** The "Images per class" list as { label: count }. */
export async function perClass(page: Page): Promise<Record<string, number>> {
  const list = page.getByRole('list', { name: 'Images per class' });
  if ((await list.count()) === 0) return {};
  const rows = await list
    .getByRole('listitem')
    .evaluateAll((items) =>
      items.map((li) => [li.querySelector('.name')?.textContent ?? '', li.querySelector('.count')?.textContent ?? ''] as const),
    );
  return Object.fromEntries(rows.map(([name, count]) => [name, Number(count.replace(/[^\d]/g, ''))]));
}

/** data-kind of every item in "Dataset warnings". */
export async function warningKinds(page: Page): Promise<string[]> {
  const list = page.getByRole('list', { name: 'Dataset warnings' });
  if ((await list.count()) === 0) return [];
  return list.getByRole('listitem').evaluateAll((items) => items.map((li) => li.getAttribute('data-kind') ?? ''));
}

/** The sample grid region ("Samples (N)"). */
export function sampleGrid(page: Page): Locator {
  return page.getByRole('region', { name: /^Samples \([\d,]+\)$/ });
}

/** Accessible names of the tiles currently in the DOM, NFC-normalised. */
export async function tileNames(page: Page): Promise<string[]> {
  return sampleGrid(page)
    .getByRole('button')
    .evaluateAll((tiles) => tiles.map((t) => (t.getAttribute('aria-label') ?? '').normalize('NFC')));
}

/** A filter select of the dataset view ("Label", "Split", "Status"). */
export function filterSelect(page: Page, name: 'Label' | 'Split' | 'Status'): Locator {
  // A <select> inside its <label>: the accessible name is the label text plus the chosen option.
  return page.getByRole('combobox', { name: new RegExp(`^${name}\\b`) });
}

// ---- generated training data -----------------------------------------------------------------

export const HALVES_CLASSES = ['left', 'right', 'top'];

/**
 * Two classes of 16x16 grayscale PNGs, "dark" and "light" with seeded noise: learnable in a couple
 * of epochs, so training tests spend their time on what they test. Each test keeps its own seed.
 */
export function writeDarkLightDataset(root: string, perClass: number, seed: number): void {
  let state = seed;
  const rand = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const cls of ['dark', 'light']) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const png = new pngjs.PNG({ width: 16, height: 16 });
      for (let j = 0; j < 16 * 16; j++) {
        const v = Math.round((cls === 'light' ? 150 : 20) + rand() * 100);
        png.data.set([v, v, v, 255], j * 4);
      }
      writeFileSync(join(root, cls, `${cls}-${i}.png`), pngjs.PNG.sync.write(png));
    }
  }
}

/** 28x28 grayscale PNGs whose bright half tells the class, with seeded noise: learnable in seconds. */
export function writeHalvesDataset(root: string, perClass: number, classes = HALVES_CLASSES): void {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (const cls of classes) {
    mkdirSync(join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const png = new pngjs.PNG({ width: 28, height: 28 });
      for (let y = 0; y < 28; y++) {
        for (let x = 0; x < 28; x++) {
          const lit = cls === 'left' ? x < 14 : cls === 'right' ? x >= 14 : y < 14;
          const v = Math.min(255, Math.round((lit ? 170 : 20) + rand() * 80));
          png.data.set([v, v, v, 255], (y * 28 + x) * 4);
        }
      }
      writeFileSync(join(root, cls, `${cls}-${i}.png`), pngjs.PNG.sync.write(png, { colorType: 0 }));
    }
  }
}
