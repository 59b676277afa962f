// The Pipeline stage on a small generated dataset (two classes whose bright half tells them apart),
// driven the way a person does: a pipeline whose train step tunes, the plan explaining what a
// settings change will rerun, a gate that refuses a candidate, cancelling / reloading / resuming a
// run, hostile pipeline files, and the augmentation preview. Models are tiny MLPs on 16 px inputs,
// so every run takes seconds even on a software GPU.
//
// The tests share one project and run in order: the plan test reads the tuned pipeline's cache
// (and must come before the long run moves "production" to another model), and the gate test needs
// the version the tuned pipeline put in production.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { launchBrowser, newPage, appUrl, type LaunchedBrowser, type TrackedPage } from './harness';
import { createProject, importAndReport, pickFolder, waitForDemoImported, writeHalvesDataset } from './app-helpers';
import { defaultPipeline, defaultTunePlan, serializePipeline, STEP_ORDER, type StepSettings } from '../../src/lib/pipeline/definition';
import type { TrainSettings } from '../../src/lib/train/train-config';

const CLASSES = ['left', 'right'];
const PER_CLASS = 30;
/** A small dense network: trains a few epochs on 60 images in seconds. */
const MLP: Partial<TrainSettings> = {
  architecture: 'mlp',
  hidden: [32],
  learningRate: 0.005,
  batchSize: 8,
  epochs: 3,
  earlyStoppingPatience: 0,
};
const PREPROCESS: StepSettings['preprocess'] = { inputSize: 16, channels: 1, resize: 'stretch', augmentation: {} };
/** A gate any candidate passes: these tests are about the run, not about beating production. */
const OPEN_GATE: StepSettings['gate'] = { minImprovement: -1, maxClassDrop: 1 };
/** Epochs of the run that is cancelled and cut by a reload: long enough to be caught training. */
const LONG_EPOCHS = 120;

const TUNED = 'Tuned MLP';
const STRICT = 'Strict gate';
const LONG = 'Long run';
const STUDY = `${TUNED} · run #1`;

type Action = { label: string; reason: string };

describe('the Pipeline stage', () => {
  let b: LaunchedBrowser;
  let page: TrackedPage;
  let dir: string;
  const file = (name: string) => join(dir, name);

  // ---- driving the stage ---------------------------------------------------------------------

  const stage = (p: Page, name: string) =>
    p.getByRole('navigation', { name: 'Pipeline stages' }).getByRole('link', { name, exact: true }).click();

  async function openPipelineStage(): Promise<void> {
    await stage(page, 'Pipeline');
    await page.getByRole('heading', { name: 'Pipeline', exact: true }).waitFor();
    await page.getByLabel('Pipeline name').waitFor();
  }

  const picker = () => page.getByLabel('Choose pipeline');
  const pipelineOptions = () => picker().locator('option').allInnerTexts();

  /** Imports a pipeline file; the stage then shows the new pipeline. */
  async function importPipeline(path: string, name: string): Promise<void> {
    await page.getByLabel('Import JSON').setInputFiles(path);
    await page
      .getByRole('status')
      .filter({ hasText: `Imported “${name}”` })
      .waitFor();
    await expect.poll(() => page.getByLabel('Pipeline name').inputValue()).toBe(name);
  }

  async function selectPipeline(name: string): Promise<void> {
    await picker().selectOption({ label: name });
    await expect.poll(() => page.getByLabel('Pipeline name').inputValue()).toBe(name);
  }

  const runRow = (n: number) => page.getByRole('table', { name: 'Runs' }).locator(`tr[data-run="${n}"]`);
  const runState = async (n: number) =>
    (await runRow(n).count()) ? (await runRow(n).getByTestId('run-state').innerText()).trim() : '(no row)';

  /** Waits until run n ends; returns its state (the row text goes into the failure message). */
  async function waitForEnd(n: number, timeout: number): Promise<string> {
    await expect.poll(() => runState(n), { timeout, interval: 1000 }).toMatch(/^(succeeded|rejected|failed|cancelled)$/);
    return runState(n);
  }

  async function showRun(n: number): Promise<void> {
    const button = page.getByRole('button', { name: `Show run #${n}`, exact: true });
    if ((await button.getAttribute('aria-pressed')) !== 'true') await button.click();
    await page.getByRole('list', { name: `Steps of run #${n}` }).waitFor();
  }

  /** "<kind>: <state>" of every step of run n, from its details. */
  async function stepStates(n: number): Promise<string[]> {
    await showRun(n);
    return page
      .getByRole('list', { name: `Steps of run #${n}` })
      .locator(':scope > li')
      .evaluateAll((items) => items.map((li) => li.getAttribute('aria-label') ?? ''));
  }

  const logOf = (kind: string) => page.getByRole('list', { name: `Log of ${kind}` });
  const logLines = (kind: string) => logOf(kind).getByRole('listitem').allInnerTexts();
  /** When the shown run's step first logged (ISO time), or null without a log. */
  async function firstLogTime(kind: string): Promise<string | null> {
    if ((await logOf(kind).count()) === 0) return null;
    return logOf(kind).locator('time').first().getAttribute('datetime');
  }

  /** The step chain at the top of the stage: "<kind>: <state>" per box. */
  const chain = () => page.getByRole('list', { name: 'Pipeline steps' });

  /** Every item of "What will run" as "<kind>: <runs|cached>" and its reason. */
  async function plan(): Promise<Action[]> {
    const list = page.getByRole('list', { name: 'Plan' });
    if ((await list.count()) === 0) return [];
    return list
      .locator(':scope > li')
      .evaluateAll((items) =>
        items.map((li) => ({ label: li.getAttribute('aria-label') ?? '', reason: (li.querySelector('.muted')?.textContent ?? '').trim() })),
      );
  }

  /** Model versions on the Models stage ("Version N" buttons), once the list has loaded. */
  async function modelVersions(atLeast: number): Promise<string[]> {
    await stage(page, 'Models');
    await page.getByRole('heading', { name: 'Model versions' }).waitFor();
    const names = () =>
      page
        .getByRole('table', { name: 'Versions' })
        .getByRole('button', { name: /^Version \d+$/ })
        .allInnerTexts();
    await expect.poll(async () => (await names()).length).toBeGreaterThanOrEqual(atLeast);
    return names();
  }

  const productionHistory = () => page.getByRole('list', { name: 'History of production' }).getByRole('listitem').allInnerTexts();

  /** Data URLs of the eight augmented preview tiles. */
  const tiles = () =>
    page.locator('canvas[data-testid=aug-tile]').evaluateAll((cs) => (cs as HTMLCanvasElement[]).map((c) => c.toDataURL()));

  // ---- setup ---------------------------------------------------------------------------------

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trainyard-pipeline-'));
    writeHalvesDataset(join(dir, 'images'), PER_CLASS, CLASSES);

    const tuned = defaultPipeline(TUNED, {
      preprocess: PREPROCESS,
      train: { mode: 'tune', settings: MLP, plan: { ...defaultTunePlan(), strategy: 'random', maxTrials: 3 } },
      gate: OPEN_GATE,
    });
    writeFileSync(file('tuned.json'), serializePipeline(tuned));
    // Another seed, so its train step is not the tuned one's cached result; a gate no model can pass.
    const strict = defaultPipeline(STRICT, {
      preprocess: PREPROCESS,
      train: { mode: 'train', settings: { ...MLP, seed: 7 } },
      gate: { minImprovement: 0.5, maxClassDrop: 0.05 },
    });
    writeFileSync(file('strict.json'), serializePipeline(strict));
    // Its own validate settings, so no step of it is another pipeline's cached result: every step runs.
    const long = defaultPipeline(LONG, {
      validate: { minPerClass: 4, minClasses: 2 },
      preprocess: PREPROCESS,
      train: { mode: 'train', settings: { ...MLP, epochs: LONG_EPOCHS, batchSize: 4, seed: 11 } },
      gate: OPEN_GATE,
    });
    writeFileSync(file('long.json'), serializePipeline(long));

    // Hostile files: a format from the future, and an unknown step kind next to prototype keys.
    writeFileSync(file('future.json'), JSON.stringify({ ...defaultPipeline('From the future'), schemaVersion: 99 }));
    const hostile = JSON.parse(JSON.stringify(defaultPipeline('Hostile'))) as { steps: unknown[] };
    hostile.steps.splice(1, 0, { id: 'exfiltrate', kind: 'exfiltrate', settings: { url: 'https://example.invalid/' } });
    // JSON.stringify drops a "__proto__" key, so write it into the text: at the top level and in
    // the train step's settings (JSON.parse makes them own properties, which is the danger).
    const text = JSON.stringify(hostile, null, 2)
      .replace(/^\{/, '{\n  "__proto__": { "polluted": "top level" },')
      .replace('"mode": "train"', '"mode": "train", "__proto__": { "polluted": "train settings" }');
    expect(text.match(/"__proto__"/g)).toHaveLength(2);
    writeFileSync(file('hostile.json'), text);

    b = await launchBrowser({ demoImported: true });
    page = await newPage(b);
    await page.goto(appUrl());
    await waitForDemoImported(page);
    await createProject(page, 'Pipeline stage');
    await pickFolder(page, join(dir, 'images'));
    const report = await importAndReport(page);
    expect(report.imported).toBe(PER_CLASS * CLASSES.length);
  });

  afterAll(async () => {
    await b?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // ---- tests ---------------------------------------------------------------------------------

  it('a tune-mode train step runs a study, logs its trials and best trial, and registers the best model', async () => {
    await openPipelineStage();
    await importPipeline(file('tuned.json'), TUNED);
    expect(await page.getByRole('combobox', { name: /^Mode\b/ }).inputValue()).toBe('tune');
    await page.getByRole('button', { name: 'Run pipeline' }).click();

    const state = await waitForEnd(1, 420_000);
    expect(state, await runRow(1).innerText()).toBe('succeeded');
    expect(await stepStates(1)).toEqual(STEP_ORDER.map((k) => `${k}: done`));
    const trainLog = await logLines('train');
    expect(
      trainLog.some((l) =>
        /Tuning: random search, up to 3 trials, on dataset v\d+ \(study “Tuned MLP · run #1” on the Tune stage\)\./.test(l),
      ),
      trainLog.join('\n'),
    ).toBe(true);
    const summary = trainLog
      .map((l) => /(\d+) trials \((\d+) complete, (\d+) pruned, (\d+) failed\); best is trial (\d+) with valAcc ([\d.]+)/.exec(l))
      .find(Boolean);
    expect(summary, trainLog.join('\n')).toBeTruthy();
    const [, trials, complete, pruned, failed, bestTrial] = summary!.map(Number);
    expect(trials).toBe(3);
    expect(complete + pruned + failed).toBe(3);
    expect(complete).toBeGreaterThanOrEqual(1);
    expect(bestTrial).toBeGreaterThanOrEqual(1);
    expect(bestTrial).toBeLessThanOrEqual(3);
    const registered = (await logLines('register')).join('\n');
    expect(registered).toMatch(/Registered as version \d+\./);
    const version = Number(/version (\d+)/.exec(registered)![1]);
    expect(await runRow(1).innerText()).toMatch(new RegExp(`registered version ${version} · promoted to “production”`));

    // The study is kept on the Tune stage under the run's name, with its three trials.
    await stage(page, 'Tune');
    const study = page.getByRole('list', { name: 'Studies' }).getByRole('listitem', { name: STUDY, exact: true });
    await study.waitFor();
    expect(await study.getByTestId('study-state').innerText()).toBe('done');
    await study.getByRole('button', { name: /Show trials|Shown below/ }).click();
    await page.getByRole('heading', { name: `Study “${STUDY}”` }).waitFor();
    const rows = page.getByRole('table', { name: 'Trials' }).locator('tbody tr[data-state]');
    await expect.poll(() => rows.count()).toBe(3);
    expect(await page.getByTestId('best-trial').innerText()).toContain(`trial ${bestTrial},`);

    // The Models stage has the version, in production.
    expect(await modelVersions(1)).toContain(`Version ${version}`);
    expect(await productionHistory()).toEqual([expect.stringMatching(new RegExp(`^Version ${version} ·`))]);
    expect(page.problems()).toEqual([]);
  }, 480_000);

  it('the plan explains itself: all cached after a run, then a changed train setting reruns train and what follows', async () => {
    await openPipelineStage();
    await selectPipeline(TUNED);
    const cachedAll = STEP_ORDER.map((k) => `${k}: cached`);
    await expect.poll(async () => (await plan()).map((s) => s.label), { timeout: 60_000 }).toEqual(cachedAll);
    for (const s of await plan()) expect(s.reason, s.label).toBe('same inputs as an earlier run: result reused from the cache');

    const epochs = page.getByRole('spinbutton', { name: /^Epochs\b/ });
    expect(await epochs.inputValue()).toBe('3');
    await epochs.fill('4');
    await page.getByText('unsaved changes (a run uses the saved pipeline)').waitFor();
    // Unsaved edits do not change the plan: it is the saved pipeline's.
    expect((await plan()).map((s) => s.label)).toEqual(cachedAll);
    await page.getByRole('button', { name: 'Save pipeline' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Saved “${TUNED}” (revision 2).` })
      .waitFor();

    const expected = [
      'validate: cached',
      'snapshot: cached',
      'split: cached',
      'preprocess: cached',
      'train: runs',
      'evaluate: runs',
      'gate: runs',
      'register: runs',
      'promote: runs',
    ];
    await expect.poll(async () => (await plan()).map((s) => s.label), { timeout: 60_000 }).toEqual(expected);
    const reasons = Object.fromEntries((await plan()).map((s) => [s.label.split(':')[0], s.reason]));
    expect(reasons.train).toBe('settings changed');
    expect(reasons.evaluate).toBe('an earlier step reruns (train)');
    // Gate, register and promote rerun too; their reasons name the pipeline's own model now being the
    // one in production ("the model in production changed", "the alias moved since the last run").
    for (const kind of ['gate', 'register', 'promote']) expect(reasons[kind], kind).not.toBe('');
    expect(page.problems()).toEqual([]);
  }, 180_000);

  it('a gate that cannot be passed rejects the run: register and promote are skipped, production stays', async () => {
    const versionsBefore = await modelVersions(1);
    const historyBefore = await productionHistory();
    expect(historyBefore).toHaveLength(1);

    await openPipelineStage();
    await importPipeline(file('strict.json'), STRICT);
    await page.getByRole('button', { name: 'Run pipeline' }).click();
    const state = await waitForEnd(1, 300_000);
    expect(state, await runRow(1).innerText()).toBe('rejected');
    expect(await runRow(1).innerText()).toMatch(/The gate kept the model in production/);

    const steps = await stepStates(1);
    expect(steps.slice(4)).toEqual(['train: done', 'evaluate: done', 'gate: done', 'register: skipped', 'promote: skipped']);
    const gateLog = (await logLines('gate')).join('\n');
    expect(gateLog).toMatch(/The model in production \(v\d+\) scores [\d.]+% on the same \d+ test images\./);
    expect(gateLog).toMatch(/Accuracy [\d.]+% against [\d.]+% in production: [+-][\d.]+ points \(below the \+50\.0 points required\)\./);
    expect(await chain().getByRole('listitem', { name: 'register: skipped' }).count()).toBe(1);

    expect(await modelVersions(1)).toEqual(versionsBefore);
    expect(await productionHistory()).toEqual(historyBefore);
    expect(page.problems()).toEqual([]);
  }, 360_000);

  it('a cancelled run survives a reload and resumes; a run cut by a reload is shown interrupted and resumes too; done steps are not rerun', async () => {
    await openPipelineStage();
    await importPipeline(file('long.json'), LONG);
    await page.getByRole('button', { name: 'Run pipeline' }).click();
    // Training has started (its first batches are counted): cancel.
    await chain().getByRole('progressbar', { name: 'train progress' }).waitFor({ timeout: 180_000 });
    await showRun(1);
    const validateAt = await firstLogTime('validate');
    const preprocessAt = await firstLogTime('preprocess');
    expect(validateAt).not.toBeNull();
    expect(preprocessAt).not.toBeNull();
    await page.getByRole('button', { name: 'Cancel run' }).click();

    expect(await waitForEnd(1, 120_000)).toBe('cancelled');
    expect(await stepStates(1)).toEqual([
      'validate: done',
      'snapshot: done',
      'split: done',
      'preprocess: done',
      'train: cancelled',
      'evaluate: pending',
      'gate: pending',
      'register: pending',
      'promote: pending',
    ]);
    await page.getByRole('button', { name: 'Resume run' }).waitFor();

    // The cancelled run is stored: after a reload it is still there, still resumable.
    await page.reload();
    await page.getByRole('heading', { name: 'Pipeline', exact: true }).waitFor();
    await expect.poll(() => page.getByLabel('Pipeline name').inputValue()).toBe(LONG);
    await expect.poll(() => runState(1)).toBe('cancelled');
    await page.getByRole('status').filter({ hasText: 'Run #1 stopped before it finished (cancelled)' }).waitFor();
    expect(await stepStates(1)).toContain('train: cancelled');

    // Resume; while it trains again, reload: the cut run shows as interrupted and is offered again.
    await page.getByRole('button', { name: 'Resume run' }).click();
    await chain().getByRole('progressbar', { name: 'train progress' }).waitFor({ timeout: 120_000 });
    await page.reload();
    await page.getByRole('heading', { name: 'Pipeline', exact: true }).waitFor();
    await expect.poll(() => page.getByLabel('Pipeline name').inputValue()).toBe(LONG);
    await expect.poll(() => runState(1), { timeout: 60_000 }).toBe('interrupted');
    await page.getByRole('status').filter({ hasText: 'Run #1 stopped before it finished (interrupted)' }).waitFor();
    expect(await runRow(1).innerText()).toMatch(/cut off \(the tab closed or reloaded\); it can be resumed/);
    expect(await stepStates(1)).toContain('train: interrupted');
    expect(await chain().getByRole('listitem', { name: 'train: interrupted' }).count()).toBe(1);

    const resumedAt = await page.evaluate(() => Date.now());
    await page.getByRole('button', { name: 'Resume run' }).click();
    expect(await waitForEnd(1, 480_000), await runRow(1).innerText()).toBe('succeeded');
    expect(await stepStates(1)).toEqual(STEP_ORDER.map((k) => `${k}: done`));
    // The steps finished before the cancel kept their results (same log times); train ran again.
    expect(await firstLogTime('validate')).toBe(validateAt);
    expect(await firstLogTime('preprocess')).toBe(preprocessAt);
    const trainAt = await firstLogTime('train');
    expect(trainAt).not.toBeNull();
    expect(Date.parse(trainAt!)).toBeGreaterThanOrEqual(resumedAt);
    expect((await logLines('train')).join('\n')).toMatch(new RegExp(`Trained ${LONG_EPOCHS} epochs`));
    await page.getByRole('button', { name: 'Resume run' }).waitFor({ state: 'detached' });
    // Still one run: resuming continues run #1 rather than starting another.
    expect(await runRow(2).count()).toBe(0);
    // This run replaced another pipeline's model in production. Now that its own model is there,
    // nothing has changed for it: every step is cached, so a rerun would not register a copy.
    await page.getByRole('button', { name: 'Refresh plan' }).click();
    await expect.poll(async () => (await plan()).map((s) => s.label), { timeout: 60_000 }).toEqual(STEP_ORDER.map((k) => `${k}: cached`));
    expect(page.problems()).toEqual([]);
  }, 900_000);

  it('refuses hostile pipeline files with their reasons and stores nothing', async () => {
    await openPipelineStage();
    const before = await pipelineOptions();
    expect(before).toEqual(expect.arrayContaining([TUNED, STRICT, LONG]));
    const problems = page.getByRole('list', { name: 'Import problems' });

    await page.getByLabel('Import JSON').setInputFiles(file('future.json'));
    await expect
      .poll(() => problems.getByRole('listitem').allInnerTexts())
      .toEqual([
        'This pipeline was made by a newer Trainyard (pipeline format 99; this version reads format 1). Update Trainyard to open it.',
      ]);
    expect(await page.getByRole('alert').filter({ has: problems }).innerText()).toMatch(/^This file cannot be imported as a pipeline:/);
    expect(await pipelineOptions()).toEqual(before);

    await page.getByLabel('Import JSON').setInputFiles(file('hostile.json'));
    // Issue #22: a "__proto__" key is refused first, by name and JSON path (it used to be dropped
    // and the unknown step kind reported instead).
    await expect
      .poll(() => problems.getByRole('listitem').allInnerTexts())
      .toEqual([
        'The pipeline file has a key named "__proto__" at $; such keys are refused because they could alter the objects they are merged into.',
      ]);
    expect(await pipelineOptions()).toEqual(before);
    expect(await page.evaluate(() => (Object.prototype as Record<string, unknown>).polluted ?? null)).toBeNull();

    // Nothing was stored: after a reload the list is the same.
    await page.reload();
    await page.getByLabel('Pipeline name').waitFor();
    expect(await pipelineOptions()).toEqual(before);
    expect(await problems.count()).toBe(0);
    expect(page.problems()).toEqual([]);
  }, 120_000);

  it('the augmentation preview follows the sliders and the seed', async () => {
    await openPipelineStage();
    await selectPipeline(STRICT);
    const preview = page.getByRole('group', { name: 'Augmented variants' });
    await preview.waitFor();
    expect(await page.locator('canvas[data-testid=aug-tile]').count()).toBe(8);
    // Wait for the first drawing: the tiles stop being blank canvases of their size.
    const blank = await page
      .locator('canvas[data-testid=aug-tile]')
      .first()
      .evaluate((c) => {
        const empty = document.createElement('canvas');
        empty.width = (c as HTMLCanvasElement).width;
        empty.height = (c as HTMLCanvasElement).height;
        return empty.toDataURL();
      });
    await expect.poll(async () => (await tiles()).every((t) => t !== blank)).toBe(true);
    // No augmentation: all eight variants are the same image.
    const plain = await tiles();
    expect(new Set(plain).size).toBe(1);

    await page.getByLabel('Rotation (degrees either way)').fill('40');
    expect(await page.getByTestId('aug-rotation-value').innerText()).toBe('40°');
    await expect.poll(async () => (await tiles()).filter((t, i) => t !== plain[i]).length).toBeGreaterThan(0);
    const rotated = await tiles();
    expect(new Set(rotated).size).toBeGreaterThan(1);

    await page.getByLabel('Horizontal flip probability').fill('0.5');
    expect(await page.getByTestId('aug-hflip-value').innerText()).toBe('50%');
    await expect.poll(async () => (await tiles()).filter((t, i) => t !== rotated[i]).length).toBeGreaterThan(0);
    const flipped = await tiles();

    expect(await page.getByText(/^seed \d+$/).innerText()).toBe('seed 1');
    await page.getByRole('button', { name: 'New seed' }).click();
    await page.getByText('seed 2', { exact: true }).waitFor();
    await expect.poll(async () => (await tiles()).filter((t, i) => t !== flipped[i]).length).toBeGreaterThan(0);

    // The sliders only edit the draft: discarding puts the plain preview back.
    await page.getByText('unsaved changes (a run uses the saved pipeline)').waitFor();
    await page.getByRole('button', { name: 'Discard changes' }).click();
    await expect.poll(async () => new Set(await tiles()).size).toBe(1);
    expect(await page.getByTestId('aug-rotation-value').innerText()).toBe('0°');
    expect(page.problems()).toEqual([]);
  }, 120_000);
});
