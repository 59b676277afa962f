// Issue #22, case 6: a project deleted in one tab while another tab of the same profile trains on
// it. Two pages of one browser context: tab T trains, tab D deletes. The training stops at once;
// both tabs say the project was deleted (not "preprocessed data is missing"); no record of the
// project is left in any store, the training tab's run record included, also after a reload; the
// app stays usable in both tabs.
// Case 7 shares the browser and the images: a pipeline run cut mid-training (the tab reloads, as a
// crash would) and resumed adopts the training run the cut left, instead of leaving it 'running'
// with its checkpoint, listed nowhere; the cut step shows one state.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUrl, launchBrowser, newPage, type LaunchedBrowser, type TrackedPage } from '../e2e/harness';
import { defaultPipeline, serializePipeline } from '../../src/lib/pipeline/definition';
import {
  createProject,
  importAndReport,
  openProject,
  openProjectList,
  pickFolder,
  projectCard,
  waitForDemoImported,
  writeHalvesDataset,
} from '../e2e/app-helpers';

/** Every record in any store that belongs to the project or one of its runs (store: count). */
const leftovers = (page: Page, projectId: string, runIds: string[]) =>
  page.evaluate(
    ({ pid, runs }) =>
      new Promise<Record<string, number>>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const names = [...db.objectStoreNames];
          const tx = db.transaction(names, 'readonly');
          const found: Record<string, number> = {};
          for (const name of names) {
            tx.objectStore(name).openCursor().onsuccess = (e) => {
              const cursor = (e.target as IDBRequest<IDBCursorWithValue | null>).result;
              if (!cursor) return;
              const v = cursor.value as Record<string, unknown>;
              const mine =
                v.projectId === pid ||
                v.id === pid ||
                runs.includes(v.runId as string) ||
                runs.includes(v.id as string) ||
                v.key === `label-quality:${pid}`;
              if (mine) found[name] = (found[name] ?? 0) + 1;
              cursor.continue();
            };
          }
          tx.oncomplete = () => (db.close(), resolve(found));
          tx.onerror = () => (db.close(), reject(tx.error));
        };
        req.onerror = () => reject(req.error);
      }),
    { pid: projectId, runs: runIds },
  );

/** The project's training runs (id, state, epoch, pipeline origin) and which have a checkpoint. */
const trainingRuns = (page: Page, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<Array<{ id: string; state: string; checkpointEpoch: number; pipelineRunId: string | null; checkpoint: boolean }>>(
        (resolve, reject) => {
          const req = indexedDB.open('trainyard');
          req.onsuccess = () => {
            const db = req.result;
            const tx = db.transaction(['runs', 'checkpoints']);
            const runs = tx.objectStore('runs').index('byProject').getAll(pid);
            const keys = tx.objectStore('checkpoints').getAllKeys();
            tx.oncomplete = () => {
              db.close();
              const withCheckpoint = new Set(keys.result as string[]);
              resolve(
                (
                  runs.result as Array<{ id: string; state: string; checkpointEpoch: number; config: { pipelineRun?: { runId: string } } }>
                ).map((r) => ({
                  id: r.id,
                  state: r.state,
                  checkpointEpoch: r.checkpointEpoch,
                  pipelineRunId: r.config.pipelineRun?.runId ?? null,
                  checkpoint: withCheckpoint.has(r.id),
                })),
              );
            };
            tx.onerror = () => (db.close(), reject(tx.error));
          };
          req.onerror = () => reject(req.error);
        },
      ),
    projectId,
  );

/** Ids of the project's runs, from IndexedDB. */
const runIdsOf = (page: Page, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<string[]>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const q = db.transaction('runs').objectStore('runs').index('byProject').getAllKeys(pid);
          q.onsuccess = () => (db.close(), resolve(q.result as string[]));
          q.onerror = () => (db.close(), reject(q.error));
        };
        req.onerror = () => reject(req.error);
      }),
    projectId,
  );

/** checkpointEpoch of each of the project's runs, from IndexedDB. */
const checkpointEpochs = (page: Page, projectId: string) =>
  page.evaluate(
    (pid) =>
      new Promise<number[]>((resolve, reject) => {
        const req = indexedDB.open('trainyard');
        req.onsuccess = () => {
          const db = req.result;
          const q = db.transaction('runs').objectStore('runs').index('byProject').getAll(pid);
          q.onsuccess = () => (db.close(), resolve((q.result as Array<{ checkpointEpoch: number }>).map((r) => r.checkpointEpoch)));
          q.onerror = () => (db.close(), reject(q.error));
        };
        req.onerror = () => reject(req.error);
      }),
    projectId,
  );

describe('A project deleted in one tab while another tab trains on it (issue #22)', () => {
  let root: string;
  let b: LaunchedBrowser;
  let deleter: TrackedPage;
  let trainer: TrackedPage;
  let projectId: string;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'trainyard-rel-delete-'));
    writeHalvesDataset(join(root, 'data'), 12);
    b = await launchBrowser({ webgpu: false, demoImported: true });
    deleter = await newPage(b);
    await deleter.goto(appUrl());
    await waitForDemoImported(deleter);
    projectId = await createProject(deleter, 'Doomed');
    await pickFolder(deleter, join(root, 'data'));
    expect((await importAndReport(deleter)).imported).toBe(36);
    trainer = await newPage(b);
  }, 240_000);

  afterAll(async () => {
    await b?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('stops the training, says so in both tabs, and leaves no record of the project in any store (also after a reload)', async () => {
    await trainer.bringToFront();
    await openProject(trainer, projectId, 'Doomed');
    await trainer.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Train', exact: true }).click();
    await trainer.getByLabel('Input size (px)').fill('16');
    await trainer.getByLabel('Epochs').fill('500');
    await trainer.getByLabel('Batch size').fill('8');
    await trainer.getByLabel('Early stopping patience (0 = off)').fill('0');
    await trainer.getByRole('button', { name: 'Start training' }).click();
    // Mid-training: at least one epoch (and its checkpoint) stored.
    await expect
      .poll(
        async () =>
          (await checkpointEpochs(trainer, projectId)).some((e) => e >= 2) ? 'trained' : await trainer.locator('main').innerText(),
        { timeout: 120_000, interval: 1000 },
      )
      .toBe('trained');
    const runIds = await runIdsOf(trainer, projectId);
    expect(runIds).toHaveLength(1);
    expect(Object.keys(await leftovers(trainer, projectId, runIds))).toEqual(
      expect.arrayContaining(['runs', 'checkpoints', 'samples', 'preprocessed']),
    );

    await deleter.bringToFront();
    await openProjectList(deleter);
    await deleter.getByRole('button', { name: 'Delete Doomed', exact: true }).click();
    await deleter.getByRole('dialog', { name: 'Delete project?' }).getByRole('button', { name: 'Delete project' }).click();
    // The deleting tab says what it stopped.
    await expect
      .poll(
        () =>
          deleter
            .getByTestId('project-deleted-notice')
            .innerText()
            .catch(() => ''),
        { timeout: 15_000 },
      )
      .toBe('Deleted “Doomed”. Its training was stopped (in every tab) and nothing of it was kept.');
    expect(await projectCard(deleter, 'Doomed').count()).toBe(0);

    // The training tab says the project was deleted, not that preprocessed data is missing, and stops.
    const alert = trainer.getByRole('alert').filter({ hasText: 'was deleted' });
    await alert.waitFor({ timeout: 30_000 });
    expect((await alert.innerText()).trim()).toBe(
      '“Doomed” was deleted in another tab; the work on it stopped and nothing of it was kept.',
    );
    await expect.poll(() => trainer.getByRole('button', { name: 'Stop training' }).isDisabled(), { timeout: 30_000 }).toBe(true);
    expect(await trainer.getByText(/Preprocessed data .* is missing/).count()).toBe(0);
    // Give any write still in flight in the training worker the time to land (it must be refused).
    await trainer.waitForTimeout(2000);
    expect(await leftovers(trainer, projectId, runIds)).toEqual({});

    // After a reload of both tabs: still nothing, the project is gone, the app usable.
    for (const p of [trainer, deleter]) {
      await p.bringToFront();
      await p.reload();
    }
    await trainer.getByRole('heading', { name: 'Project not found' }).waitFor();
    expect(await leftovers(deleter, projectId, runIds)).toEqual({});
    await openProjectList(trainer);
    await trainer.getByRole('list', { name: 'Projects' }).getByRole('listitem').first().waitFor();
    expect(await projectCard(trainer, 'Doomed').count()).toBe(0);
    expect(await projectCard(trainer, 'Digits demo').count()).toBe(1);
    expect(trainer.pageErrors()).toEqual([]);
    expect(deleter.pageErrors()).toEqual([]);
  }, 300_000);

  it('7. a pipeline run cut mid-training and resumed adopts the cut training run: no orphan "running" run with a checkpoint; the cut step shows one state', async () => {
    const page = trainer;
    await page.bringToFront();
    const id = await createProject(page, 'Cut');
    await pickFolder(page, join(root, 'data'));
    expect((await importAndReport(page)).imported).toBe(36);
    const pipeline = defaultPipeline('Cut pipeline', {
      validate: { minPerClass: 4, minClasses: 2 },
      preprocess: { inputSize: 16, channels: 1, resize: 'stretch', augmentation: {} },
      train: {
        mode: 'train',
        settings: { architecture: 'mlp', hidden: [32], learningRate: 0.005, batchSize: 4, epochs: 500, earlyStoppingPatience: 0, seed: 3 },
      },
      gate: { minImprovement: -1, maxClassDrop: 1 },
    });
    writeFileSync(join(root, 'cut.json'), serializePipeline(pipeline));
    await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Pipeline', exact: true }).click();
    await page.getByLabel('Pipeline name').waitFor();
    await page.getByLabel('Import JSON').setInputFiles(join(root, 'cut.json'));
    await page.getByRole('status').filter({ hasText: 'Imported “Cut pipeline”' }).waitFor();
    await page.getByRole('button', { name: 'Run pipeline' }).click();
    await expect
      .poll(async () => (await trainingRuns(page, id)).some((r) => r.checkpointEpoch >= 2), { timeout: 180_000, interval: 500 })
      .toBe(true);

    // The cut: the tab goes away mid-training (as in a crash), leaving the training run 'running'.
    await page.reload();
    await page.getByLabel('Pipeline name').waitFor();
    const runState = () =>
      page
        .getByRole('table', { name: 'Runs' })
        .locator('tr[data-run="1"]')
        .getByTestId('run-state')
        .innerText()
        .then(
          (t) => t.trim(),
          () => '',
        );
    await expect.poll(runState, { timeout: 60_000 }).toBe('interrupted');
    const [cut] = await trainingRuns(page, id);
    expect(cut).toMatchObject({ state: 'running', checkpoint: true });
    expect(cut.pipelineRunId).not.toBeNull();
    await page.getByRole('button', { name: 'Show run #1', exact: true }).click();
    const trainStep = page.getByRole('list', { name: 'Steps of run #1' }).getByRole('listitem', { name: 'train: interrupted' });
    await trainStep.waitFor();
    // One state: "interrupted", not "interrupted running".
    expect((await trainStep.locator('.head').innerText()).replace(/\s+/g, ' ').trim()).toBe('train interrupted –');

    await page.getByRole('button', { name: 'Resume run' }).click();
    await expect.poll(runState, { timeout: 300_000, interval: 1000 }).toMatch(/^(succeeded|rejected|failed|cancelled)$/);
    expect(await runState()).toBe('succeeded');
    // The cut run was adopted: it is the pipeline run's only training run, finished, not 'running'.
    const after = await trainingRuns(page, id);
    expect(after.filter((r) => r.pipelineRunId === cut.pipelineRunId).map((r) => r.id)).toEqual([cut.id]);
    expect(after.filter((r) => r.state === 'running')).toEqual([]);
    expect(after.find((r) => r.id === cut.id)?.state).toBe('completed');
    await page.getByRole('button', { name: 'Show run #1', exact: true }).waitFor();
    if ((await page.getByRole('button', { name: 'Show run #1', exact: true }).getAttribute('aria-pressed')) !== 'true')
      await page.getByRole('button', { name: 'Show run #1', exact: true }).click();
    const log = await page.getByRole('list', { name: 'Log of train' }).getByRole('listitem').allInnerTexts();
    expect(log.join('\n')).toMatch(new RegExp(`Continuing the training run the interruption cut, from its checkpoint after epoch \\d+`));
    expect(page.pageErrors()).toEqual([]);
  }, 420_000);
});
