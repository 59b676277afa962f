// Hyperparameter tuning from the Tune stage: a random study runs its trials in the training worker
// (each trial leaves the worker's tensor count as it found it) and registers its best trial as a
// model version that records the study; a study cut by a reload resumes and reruns the cut trial
// without counting it twice; a trial whose loss goes NaN is marked failed and the study goes on.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from './harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeDarkLightDataset } from './app-helpers';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

interface Row {
  number: number;
  state: string;
  value: string;
  epochs: string;
  tensors: string;
  message: string;
}

interface StoredTrial {
  number: number;
  state: string;
  value: number | null;
  message: string | null;
  tensorsBefore: number | null;
  tensorsAfter: number | null;
  params: Record<string, unknown>;
}

interface StoredStudy {
  id: string;
  name: string;
  state: string;
  message: string | null;
  registeredVersionId: string | null;
}

describe('tuning studies', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  let projectId: string;

  const nav = (name: string) => page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();
  const studyItem = (name: string) => page.getByRole('list', { name: 'Studies' }).getByRole('listitem', { name, exact: true });
  const studyState = (name: string) => studyItem(name).getByTestId('study-state').innerText();

  async function trialRows(): Promise<Row[]> {
    return page
      .getByRole('table', { name: 'Trials' })
      .locator('tbody tr[data-state]')
      .evaluateAll((rows) =>
        rows.map((r) => {
          const cell = (c: string) => (r.querySelector(`[data-col="${c}"]`)?.textContent ?? '').replace(/\s+/g, ' ').trim();
          return {
            number: Number(cell('number')),
            state: cell('state'),
            value: cell('value'),
            epochs: cell('epochs'),
            tensors: cell('tensors'),
            message: cell('message'),
          };
        }),
      );
  }

  /** A study and its trials as stored in IndexedDB. */
  async function stored(name: string): Promise<{ study: StoredStudy; trials: StoredTrial[] }> {
    return page.evaluate(async (studyName) => {
      const req = indexedDB.open('trainyard');
      const db = await new Promise<IDBDatabase>(
        (res, rej) => ((req.onsuccess = () => res(req.result)), (req.onerror = () => rej(req.error))),
      );
      const all = <T>(store: string) =>
        new Promise<T[]>((res, rej) => {
          const r = db.transaction(store).objectStore(store).getAll();
          r.onsuccess = () => res(r.result as T[]);
          r.onerror = () => rej(r.error);
        });
      const studies = await all<StoredStudy>('studies');
      const study = studies.find((s) => s.name === studyName)!;
      const trials = (await all<StoredTrial & { studyId: string }>('trials'))
        .filter((t) => t.studyId === study.id)
        .sort((a, b) => a.number - b.number);
      db.close();
      return { study, trials };
    }, name);
  }

  /** Fills the study form; `space` sets the included settings (others are left out) as choice lists. */
  async function configure(opts: {
    name: string;
    strategy: string;
    maxTrials: number;
    pruner: string;
    space: Record<string, string>;
    keep?: string[];
  }) {
    await page.getByLabel('Study name').fill(opts.name);
    await page.getByLabel('Strategy').selectOption({ label: opts.strategy });
    await page.getByLabel('Max trials').fill(String(opts.maxTrials));
    await page.getByLabel('Pruner').selectOption({ label: opts.pruner });
    const editor = page.getByRole('table', { name: 'Search space' });
    const boxes = editor.getByRole('checkbox', { name: /^Include / });
    for (const box of await boxes.all()) {
      const label = (await box.getAttribute('aria-label'))!.replace(/^Include /, '');
      const want = label in opts.space || (opts.keep ?? []).includes(label);
      await box.setChecked(want);
    }
    for (const [label, values] of Object.entries(opts.space)) {
      const kind = editor.getByLabel(`${label} values as`);
      if (await kind.count()) await kind.selectOption('choice');
      await editor.getByLabel(`${label} choices`).fill(values);
    }
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-tune-'));
    writeDarkLightDataset(dir, 30, 23);
    b = await launchBrowser({ demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    projectId = await createProject(page, 'Tuning');
    await pickFolder(page, dir);
    await importAndReport(page);
  });

  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs a random study, leaks no tensors per trial and registers the best trial with its study', async () => {
    // The Train stage's settings are the base of every trial.
    await nav('Train');
    await page.getByLabel('Input size (px)').fill('16');
    await page.getByLabel('Batch size').fill('8');
    await page.getByLabel('Epochs').fill('2');
    await nav('Tune');
    await expect.poll(() => page.getByTestId('base-settings').innerText()).toMatch(/16 px.*batch 8, 2 epochs/);

    await configure({
      name: 'Quick random',
      strategy: 'Random',
      maxTrials: 3,
      pruner: 'Median rule',
      space: { 'Batch size': '8, 16' },
      keep: ['Learning rate', 'Optimizer', 'Momentum (SGD)', 'Dropout'],
    });
    // An invalid space is refused up front with a reason.
    await page.getByLabel('Learning rate low').fill('0');
    await page
      .getByRole('alert')
      .filter({ hasText: /log-scaled range needs low > 0/ })
      .waitFor();
    expect(await page.getByRole('button', { name: 'Start study' }).isDisabled()).toBe(true);
    await page.getByLabel('Learning rate low').fill('0.001');
    await page.getByRole('button', { name: 'Start study' }).click();

    await expect.poll(() => studyState('Quick random'), { timeout: 150_000 }).toBe('done');
    const rows = await trialRows();
    expect(rows.map((r) => r.number)).toEqual([1, 2, 3]);
    for (const r of rows) {
      expect(['complete', 'pruned']).toContain(r.state);
      expect(r.value).toMatch(/^\d+(\.\d+)?%$/);
      const [before, after] = r.tensors.split('→').map((s) => Number(s.trim()));
      expect(after, `trial ${r.number} tensors ${r.tensors}`).toBe(before);
    }
    const { trials } = await stored('Quick random');
    expect(trials).toHaveLength(3);
    for (const t of trials) {
      expect(t.tensorsBefore).not.toBeNull();
      expect(t.tensorsAfter, `trial ${t.number}`).toBe(t.tensorsBefore);
    }
    // Sorting by a column header.
    const valueHeader = page.getByRole('table', { name: 'Trials' }).getByRole('columnheader', { name: /Validation accuracy/ });
    await valueHeader.getByRole('button').click();
    await expect.poll(() => valueHeader.getAttribute('aria-sort')).toBe('ascending');
    await valueHeader.getByRole('button').click();
    await expect.poll(() => valueHeader.getAttribute('aria-sort')).toBe('descending');
    const sorted = (await trialRows()).map((r) => parseFloat(r.value));
    expect(sorted).toEqual([...sorted].sort((a, c) => c - a));
    await page.getByRole('figure', { name: /^Objective by trial/ }).waitFor();
    await page.getByRole('img', { name: /validation accuracy against learning rate, 3 trials/ }).waitFor();

    // Accessibility of the stage with a finished study showing.
    await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate(async () => {
      const axe = (
        window as typeof window & {
          axe: {
            run: (
              ctx: Document,
              opts: object,
            ) => Promise<{ violations: Array<{ id: string; impact: string | null; nodes: Array<{ html: string }> }> }>;
          };
        }
      ).axe;
      const r = await axe.run(document, { resultTypes: ['violations'] });
      return r.violations
        .filter((v) => v.impact === 'serious' || v.impact === 'critical')
        .map((v) => `${v.id}: ${v.nodes.map((n) => n.html.slice(0, 120)).join(' | ')}`);
    });
    expect(violations).toEqual([]);

    await page.getByRole('button', { name: 'Register best' }).click();
    const registered = page.getByRole('status').filter({ hasText: /Registered as version \d+/ });
    await registered.waitFor({ timeout: 60_000 });
    const versionNumber = Number(/version (\d+)/.exec(await registered.innerText())![1]);
    const { study } = await stored('Quick random');
    expect(study.registeredVersionId).toBeTruthy();
    const origin = await page.evaluate(async (id) => {
      const req = indexedDB.open('trainyard');
      const db = await new Promise<IDBDatabase>(
        (res, rej) => ((req.onsuccess = () => res(req.result)), (req.onerror = () => rej(req.error))),
      );
      const v = await new Promise<{
        number: number;
        meta: { origin?: { studyId: string; studyName: string; trialNumber: number; params: Record<string, unknown> } };
      }>((res, rej) => {
        const r = db.transaction('models').objectStore('models').get(id);
        r.onsuccess = () => res(r.result);
        r.onerror = () => rej(r.error);
      });
      db.close();
      return { number: v.number, origin: v.meta.origin };
    }, study.registeredVersionId!);
    expect(origin.number).toBe(versionNumber);
    expect(origin.origin?.studyName).toBe('Quick random');
    expect(origin.origin?.studyId).toBe(study.id);
    const bestText = await page.getByTestId('best-trial').innerText();
    expect(bestText).toContain(`trial ${origin.origin?.trialNumber},`);
    expect(Object.keys(origin.origin?.params ?? {})).toContain('learningRate');

    await registered.getByRole('link', { name: 'Open the Models stage' }).click();
    await page.getByRole('heading', { name: `Version ${versionNumber}` }).waitFor();
    expect(page.problems()).toEqual([]);
  });

  it('resumes a study cut by a reload or stopped, rerunning the cut trial without counting it twice', async () => {
    // The test stops the study during trial 3, so trials must last a few seconds: on WebGL they
    // do here, while WebAssembly (what the probe picks on a CPU-only machine) trains one in ~1 s.
    await page.goto(appUrl(`/#/p/${encodeURIComponent(projectId)}/train`));
    await page.getByLabel('Backend').selectOption('webgl');
    await page.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name: 'Tune', exact: true }).click();
    await page.getByLabel('Study name').waitFor();
    await configure({
      name: 'Reloaded',
      strategy: 'Random',
      maxTrials: 3,
      pruner: 'None',
      space: { Epochs: '8', 'Input size': '16', 'Batch size': '8', Dropout: '0.1, 0.3' },
    });
    await page.getByRole('button', { name: 'Start study' }).click();
    // Trial 1 finished and trial 2 started: reload now.
    await expect
      .poll(async () => (await trialRows()).map((r) => `${r.number}:${r.state}`).join(' '), { timeout: 120_000 })
      .toMatch(/^1:complete 2:running$/);
    const cutParams = (await stored('Reloaded')).trials[1].params;
    await page.reload();

    const offer = page.getByRole('status').filter({ hasText: /Study “Reloaded” was interrupted after 1 trial\b/ });
    await offer.waitFor({ timeout: 30_000 });
    expect(await studyState('Reloaded')).toBe('interrupted');
    await offer.getByRole('button', { name: 'Resume study' }).click();

    // The cut trial runs again with its parameters; then Stop during trial 3 pauses the study.
    await page.getByRole('progressbar', { name: /^Trial [23]: epoch \d+ of 8, batch$/ }).waitFor({ timeout: 60_000 });
    await expect
      .poll(async () => (await trialRows()).map((r) => `${r.number}:${r.state}`).join(' '), { timeout: 120_000 })
      .toMatch(/^1:complete 2:complete 3:running$/);
    expect((await stored('Reloaded')).trials[1].params).toEqual(cutParams);
    await page.getByRole('button', { name: 'Stop study' }).click();
    await expect.poll(() => studyState('Reloaded'), { timeout: 60_000 }).toBe('paused');
    const stopped = page.getByRole('status').filter({ hasText: /Study “Reloaded” was stopped after 2 trials\./ });
    await stopped.waitFor();
    expect((await trialRows()).map((r) => r.state)).toEqual(['complete', 'complete', 'interrupted']);
    await stopped.getByRole('button', { name: 'Resume study' }).click();
    await expect.poll(() => studyState('Reloaded'), { timeout: 150_000 }).toBe('done');

    const rows = await trialRows();
    expect(rows.map((r) => r.number)).toEqual([1, 2, 3]);
    expect(rows.map((r) => r.state)).toEqual(['complete', 'complete', 'complete']);
    const { study, trials } = await stored('Reloaded');
    expect(trials.map((t) => t.number)).toEqual([1, 2, 3]);
    expect(trials.every((t) => t.state === 'complete')).toBe(true);
    expect(study.state).toBe('done');
    expect(study.message).toMatch(/budget/i);
    expect(
      await page
        .getByRole('status')
        .filter({ hasText: /was interrupted/ })
        .count(),
    ).toBe(0);
  });

  it('marks a trial whose loss goes NaN as failed and goes on with the next', async () => {
    await page.goto(appUrl(`/#/p/${encodeURIComponent(projectId)}/tune`));
    await configure({
      name: 'Divergent grid',
      strategy: 'Grid',
      maxTrials: 5,
      pruner: 'None',
      space: { 'Learning rate': '1e12, 0.01', Optimizer: 'sgd', Epochs: '2', 'Input size': '16', 'Batch size': '8' },
    });
    await expect.poll(() => page.getByTestId('grid-size').innerText()).toMatch(/exactly 2 points/);
    await page.getByRole('button', { name: 'Start study' }).click();
    await expect.poll(() => studyState('Divergent grid'), { timeout: 120_000 }).toBe('done');

    const rows = await trialRows();
    expect(rows.map((r) => r.number)).toEqual([1, 2]);
    expect(rows[0].state).toBe('failed');
    expect(rows[0].message).toMatch(/NaN|infinite|diverg/i);
    expect(rows[0].value).toBe('–');
    expect(rows[1].state).toBe('complete');
    expect(rows[1].value).toMatch(/%$/);
    const { study, trials } = await stored('Divergent grid');
    expect(study.message).toMatch(/grid/i);
    expect(trials[0].params.learningRate).toBe(1e12);
    for (const t of trials) expect(t.tensorsAfter, `trial ${t.number}`).toBe(t.tensorsBefore);
    expect(await page.getByTestId('best-trial').innerText()).toContain('trial 2,');
  });
});
