// Issue #22, cases 1-5: hostile files that used to get through, put through the UI the way a person
// would (Models → "Import model zip…", Pipeline → "Import JSON", Projects → "Import project file…").
// Each is refused with a clear message naming the limit, key or reference; nothing is stored (the
// app's lists and every IndexedDB store agree, also after a reload); the app stays usable. One
// browser session for all of them, shared with case 8 (one counting rule while an interrupted
// import waits for resume / keep / discard).
import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BlobReader,
  TextReader,
  Uint8ArrayReader,
  Uint8ArrayWriter,
  ZipReader,
  ZipWriter,
  configure,
  type FileEntry,
} from '@zip.js/zip.js';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { createProject, datasetTotal, openProject, openProjectList, projectCard, waitForDemoImported } from '../e2e/app-helpers';
import { rgbPng } from './bad-input-fixtures';
import { defaultPipeline, serializePipeline } from '../../src/lib/pipeline/definition';
import { MANIFEST_PATH, type ArchiveManifest } from '../../src/lib/archive/format';
import { createProject as dbCreateProject } from '../../src/db/projects';
import { beginImport, finishImport } from '../../src/db/imports';
import { writeSampleBatch } from '../../src/db/samples';
import { putDatasetVersion } from '../../src/db/datasets';
import { buildProjectArchive } from '../../workers/project-archive';
import { noAugmentation } from '../record-fixtures';

configure({ useWebWorkers: false });

type Files = Map<string, Uint8Array>;
const hex = (n: number) => n.toString(16).padStart(64, '0');
const utf8 = (b: Uint8Array) => new TextDecoder().decode(b);

/** A real project file of a 2-image project with one dataset version, made by the app's own exporter (in Node). */
async function exportedProject(): Promise<Files> {
  const p = await dbCreateProject('Small');
  const session = await beginImport(p.id, { kind: 'files', name: 'small', fileCount: 2 });
  await writeSampleBatch(
    p.id,
    [1, 2].map((n) => ({
      sample: {
        projectId: p.id,
        id: hex(n),
        fileName: `c${n}.png`,
        path: `c${n}.png`,
        label: 'cat',
        labelSource: { kind: 'folder' as const },
        labeledAt: null,
        width: 4,
        height: 4,
        mime: 'image/png',
        bytes: 8,
        split: 'train' as const,
        addedAt: 1,
        importId: session.id,
        flags: [],
      },
      original: { projectId: p.id, id: hex(n), mime: 'image/png', data: new Uint8Array(8).fill(n).buffer },
      thumbnail: { projectId: p.id, id: hex(n), mime: 'image/png', data: new Uint8Array(2).fill(n).buffer },
    })),
  );
  await finishImport({ ...session, state: 'complete', endedAt: 2, imported: 2 });
  await putDatasetVersion({
    id: hex(77),
    projectId: p.id,
    createdAt: 3,
    ids: [hex(1), hex(2)],
    labelIndex: [0, 0],
    splitCode: [0, 1],
    classes: ['cat'],
    preprocess: { inputSize: 16, channels: 1, resize: 'stretch', background: [0, 0, 0] },
    augmentation: noAugmentation(),
    origin: { kind: 'manual' },
  });
  const blob = await buildProjectArchive(p.id, () => {});
  const reader = new ZipReader(new BlobReader(blob));
  const files: Files = new Map();
  for (const e of await reader.getEntries()) files.set(e.filename, await (e as FileEntry).getData(new Uint8ArrayWriter()));
  await reader.close();
  return files;
}

/** Zips `files` with the manifest's hashes recomputed, so the only flaw is the intended one. */
async function zipProject(files: Files, path: string): Promise<string> {
  const manifest = JSON.parse(utf8(files.get(MANIFEST_PATH)!)) as ArchiveManifest;
  manifest.files = [...files]
    .filter(([p]) => p !== MANIFEST_PATH)
    .map(([p, b]) => ({ path: p, sha256: createHash('sha256').update(b).digest('hex'), bytes: b.byteLength }));
  const zip = new ZipWriter(new Uint8ArrayWriter());
  for (const [p, b] of files) if (p !== MANIFEST_PATH) await zip.add(p, new Uint8ArrayReader(b));
  await zip.add(MANIFEST_PATH, new TextReader(JSON.stringify(manifest)));
  writeFileSync(path, await zip.close());
  return path;
}

/** A copy with line 1 of a records file edited. */
function editRecord(files: Files, store: string, edit: (r: Record<string, unknown>) => void): Files {
  const out = new Map(files);
  const path = `records/${store}.jsonl`;
  const lines = utf8(out.get(path)!).split('\n');
  const record = JSON.parse(lines[0]) as Record<string, unknown>;
  edit(record);
  lines[0] = JSON.stringify(record);
  out.set(path, new TextEncoder().encode(lines.join('\n')));
  return out;
}

/** Number of records in every store (a refused import must not change any). */
function storeCounts(page: Page): Promise<Record<string, number>> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('trainyard');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const names = [...db.objectStoreNames];
    const tx = db.transaction(names, 'readonly');
    const counts: Record<string, number> = {};
    await Promise.all(
      names.map(
        (n) =>
          new Promise<void>(
            (resolve) => (tx.objectStore(n).count().onsuccess = (e) => ((counts[n] = (e.target as IDBRequest<number>).result), resolve())),
          ),
      ),
    );
    db.close();
    return counts;
  });
}

describe('Hostile files that used to get through (issue #22)', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let projectId: string;
  let project: Files;
  const stage = (name: string) =>
    page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-rel-hostile-'));
    project = await exportedProject();
    b = await launchBrowser({ webgpu: false, demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    projectId = await createProject(page, 'Hostile');
  }, 180_000);

  afterAll(async () => {
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('1. a model.json nested 2,000,000 levels deep (12 MB) is refused before TF.js, naming the limit; nothing stored', async () => {
    await stage('Models');
    await page.getByRole('heading', { name: 'Model versions' }).waitFor();
    const versions = () => page.getByRole('button', { name: /^Version \d+$/ }).count();
    const depth = 2_000_000;
    const deep = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const json = `{"format":"layers-model","modelTopology":{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"Dense","config":{"units":2,"kernel_initializer":${deep}}}]}},"weightsManifest":[]}`;
    const zip = new ZipWriter(new Uint8ArrayWriter());
    await zip.add('model.json', new TextReader(json), { level: 0 });
    const path = join(dir, 'deep-model.zip');
    writeFileSync(path, await zip.close());
    const before = await storeCounts(page);
    await page.getByLabel('Choose a model zip to import').setInputFiles(path);
    const alert = page.getByRole('alert').filter({ hasText: 'model.json refused' });
    await alert.waitFor({ timeout: 60_000 });
    expect((await alert.innerText()).trim()).toBe(
      'model.json refused: model.json is nested more than 100 levels deep; the limit is 100, so it was refused.',
    );
    expect(await alert.innerText()).not.toMatch(/call stack/i);
    await expect.poll(() => page.getByRole('button', { name: 'Import model zip…' }).isEnabled()).toBe(true);
    expect(await versions()).toBe(0);
    expect(await storeCounts(page)).toEqual(before);
  }, 120_000);

  it('2+3. pipeline files with an unknown key or a __proto__/constructor/prototype key are refused, naming the key and its JSON path; nothing stored', async () => {
    await stage('Pipeline');
    await page.getByLabel('Pipeline name').waitFor();
    const options = () => page.getByLabel('Choose pipeline').locator('option').allInnerTexts();
    const problems = page.getByRole('list', { name: 'Import problems' });
    const before = await options();
    const counts = await storeCounts(page);
    const base = serializePipeline(defaultPipeline('Hostile pipeline'));
    const cases: Array<[string, string, string]> = [
      [
        'unknown-top.json',
        base.replace('"format"', '"exfiltrateTo": "https://evil.example", "format"'),
        'The pipeline file has an unknown key "exfiltrateTo" at $; unknown keys are refused, not ignored (a file from a newer Trainyard says so by its version number).',
      ],
      [
        'unknown-step.json',
        base.replace('"minPerClass"', '"runScript": "x", "minPerClass"'),
        'The pipeline file has an unknown key "runScript" at $.steps[0].settings; unknown keys are refused, not ignored (a file from a newer Trainyard says so by its version number).',
      ],
      [
        'proto.json',
        base.replace('"format"', '"__proto__": {"polluted": true}, "format"'),
        'The pipeline file has a key named "__proto__" at $; such keys are refused because they could alter the objects they are merged into.',
      ],
      [
        'constructor.json',
        base.replace('"augmentation": {}', '"augmentation": {"constructor": {"prototype": {"polluted": true}}}'),
        'The pipeline file has a key named "constructor" at $.steps[3].settings.augmentation; such keys are refused because they could alter the objects they are merged into.',
      ],
    ];
    for (const [name, text, message] of cases) {
      expect(text, name).not.toBe(base);
      writeFileSync(join(dir, name), text);
      await page.getByLabel('Import JSON').setInputFiles(join(dir, name));
      await expect.poll(() => problems.getByRole('listitem').allInnerTexts(), { timeout: 10_000 }).toEqual([message]);
      expect(await options(), name).toEqual(before);
    }
    expect(await page.evaluate(() => (Object.prototype as Record<string, unknown>).polluted ?? null)).toBeNull();
    expect(await storeCounts(page)).toEqual(counts);
    // Still usable: the untouched file imports.
    writeFileSync(join(dir, 'good.json'), base);
    await page.getByLabel('Import JSON').setInputFiles(join(dir, 'good.json'));
    await page.getByRole('status').filter({ hasText: 'Imported “Hostile pipeline”' }).waitFor();
    expect(await options()).toContain('Hostile pipeline');
  }, 120_000);

  it('4+5. project files with a dangling samples.importId, a dataset version naming a missing sample, or an unknown key are refused; nothing stored, also after a reload', async () => {
    const cases: Array<[string, Files, string]> = [
      [
        'import.zip',
        editRecord(project, 'samples', (r) => (r.importId = 'no-such-import')),
        'records/samples.jsonl, line 1: "importId" is "no-such-import", which is not an import in records/imports.jsonl. Nothing was imported.',
      ],
      [
        'version.zip',
        editRecord(project, 'datasetVersions', (r) => ((r.ids as string[])[1] = hex(99))),
        `records/datasetVersions.jsonl, line 1: "ids[]" is "${hex(99)}", which is not a sample in records/samples.jsonl. Nothing was imported.`,
      ],
      [
        'unknown.zip',
        editRecord(project, 'imports', (r) => (r.extra = 1)),
        'records/imports.jsonl, line 1 has an unknown key "extra" at $; unknown keys are refused, not ignored (a file from a newer Trainyard says so by its version number).',
      ],
    ];
    await openProjectList(page);
    const listed = () =>
      page
        .getByRole('list', { name: 'Projects' })
        .getByRole('listitem')
        .evaluateAll((items) => items.map((li) => li.getAttribute('aria-label')));
    const before = await listed();
    const counts = await storeCounts(page);
    for (const [name, files, message] of cases) {
      const path = await zipProject(files, join(dir, name));
      const [chooser] = await Promise.all([
        page.waitForEvent('filechooser'),
        page.getByRole('button', { name: 'Import project file…', exact: true }).click(),
      ]);
      await chooser.setFiles(path);
      const alert = page.getByRole('alert').filter({ hasText: /^Import refused:/ });
      await alert.waitFor({ timeout: 60_000 });
      expect((await alert.innerText()).trim(), name).toBe(`Import refused: ${message}`);
      expect(await storeCounts(page), name).toEqual(counts);
      expect(await listed(), name).toEqual(before);
    }
    await page.reload();
    await openProjectList(page);
    await page.getByRole('list', { name: 'Projects' }).getByRole('listitem').first().waitFor();
    expect(await listed()).toEqual(before);
    expect(await storeCounts(page)).toEqual(counts);
    // Still usable: the untouched file imports, with its 2 images.
    const [chooser] = await Promise.all([
      page.waitForEvent('filechooser'),
      page.getByRole('button', { name: 'Import project file…', exact: true }).click(),
    ]);
    await chooser.setFiles(await zipProject(project, join(dir, 'good.zip')));
    // A valid file is shown as a plan first; nothing is written until the user confirms it.
    const plan = page.getByRole('heading', { name: /^Import project “.+”\?$/ });
    await plan.or(page.getByRole('alert')).first().waitFor({ timeout: 60_000 });
    if (await plan.isVisible()) await page.getByRole('button', { name: 'Import project', exact: true }).click();
    const note = page.getByRole('status').filter({ hasText: /^Imported “/ });
    const failed = await note.waitFor({ timeout: 60_000 }).then(
      () => null,
      async () => (await page.getByRole('alert').allInnerTexts()).join(' | '),
    );
    expect(failed).toBeNull();
    expect((await note.innerText()).trim()).toBe('Imported “Small”.');
    expect(await listed()).toHaveLength(before.length + 1);
    expect(await listed()).toContain('Small');
    expect(page.pageErrors()).toEqual([]);
  }, 120_000);

  it('8. while an interrupted import waits for resume/keep/discard, the project card and the Data stage count images by one rule', async () => {
    // What a browser killed mid-import leaves (crash-import.e2e.ts makes it the slow way): samples
    // and blobs of a session still 'running' that no tab holds, counted in the project's counters.
    const png = [...rgbPng(7)];
    await page.evaluate(
      ({ pid, png }) =>
        new Promise<void>((resolve, reject) => {
          const req = indexedDB.open('trainyard');
          req.onsuccess = () => {
            const db = req.result;
            const tx = db.transaction(['imports', 'samples', 'originals', 'thumbnails', 'projects'], 'readwrite');
            const data = new Uint8Array(png).buffer;
            tx.objectStore('imports').put({
              id: 'cut-import',
              projectId: pid,
              source: { kind: 'files', name: 'cut', fileCount: 5 },
              state: 'running',
              startedAt: Date.now(),
              endedAt: null,
              imported: 0,
              duplicates: 0,
              conflicts: [],
              truncated: [],
              skipped: [],
              ignored: 0,
              message: null,
            });
            for (let n = 1; n <= 3; n++) {
              const id = n.toString(16).padStart(64, 'a');
              tx.objectStore('samples').put({
                projectId: pid,
                id,
                fileName: `cut-${n}.png`,
                path: `cut-${n}.png`,
                label: 'cut',
                labelSource: { kind: 'folder' },
                labeledAt: null,
                width: 16,
                height: 16,
                mime: 'image/png',
                bytes: data.byteLength,
                split: 'unassigned',
                addedAt: Date.now(),
                importId: 'cut-import',
                flags: [],
              });
              tx.objectStore('originals').put({ projectId: pid, id, mime: 'image/png', data });
              tx.objectStore('thumbnails').put({ projectId: pid, id, mime: 'image/png', data });
            }
            const get = tx.objectStore('projects').get(pid);
            get.onsuccess = () =>
              tx
                .objectStore('projects')
                .put({ ...get.result, sampleCount: get.result.sampleCount + 3, bytes: get.result.bytes + 6 * data.byteLength });
            tx.oncomplete = () => (db.close(), resolve());
            tx.onerror = () => (db.close(), reject(tx.error));
          };
          req.onerror = () => reject(req.error);
        }),
      { pid: projectId, png },
    );
    await openProjectList(page);
    await page.reload();
    const card = projectCard(page, 'Hostile');
    await card.waitFor();
    expect((await card.getByTestId('sample-count').innerText()).trim()).toBe('0 images');
    expect((await card.getByTestId('unfinished-count').innerText()).trim()).toBe(
      '3 more saved by an unfinished import (hidden until it is resumed, kept or discarded)',
    );
    await openProject(page, projectId, 'Hostile');
    const banner = page.getByRole('alert').filter({ hasText: /Incomplete import/ });
    await banner.waitFor();
    expect(await datasetTotal(page)).toBe(0);
    expect((await banner.getByTestId('unfinished-count').innerText()).trim()).toBe('3');
    // Kept: both count 3, the same 3.
    await banner.getByRole('button', { name: 'Keep what was saved' }).click();
    await expect.poll(() => datasetTotal(page)).toBe(3);
    await openProjectList(page);
    await expect.poll(async () => (await card.getByTestId('sample-count').innerText()).trim()).toBe('3 images');
    expect(await card.getByTestId('unfinished-count').count()).toBe(0);
    expect(page.pageErrors()).toEqual([]);
  }, 60_000);
});
