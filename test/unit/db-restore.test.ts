// One restore function per record type (src/db/restore.ts): each test feeds a damaged or older
// shape and checks it is repaired (defaults filled, the rest kept) or refused (null), and the
// wiring tests check the db readers apply them to what is on disk.
import 'fake-indexeddb/auto';
import { afterEach, describe, expect, it } from 'vitest';
import { unwrap, wrap, type IDBPDatabase } from 'idb';
import * as r from '../../src/db/restore';
import { db, resetConnection } from '../../src/db/open';
import { DB_NAME } from '../../src/db/schema';
import { createProject } from '../../src/db/projects';
import { getCheckpoint, getRun, listRuns } from '../../src/db/runs';
import { getVersion, listAliases } from '../../src/db/models';
import { listPipelineRuns } from '../../src/db/pipelines';
import { getMeta } from '../../src/db/meta';
import { SETTINGS, pipelineDefinition, runConfig, studyPlan, versionMeta, weightsBlob } from '../record-fixtures';

const buf = (n = 4) => new ArrayBuffer(n);

describe('restore functions', () => {
  it('restoreBlob refuses bytes that are not an ArrayBuffer and fills a missing mime', () => {
    expect(r.restoreBlob({ projectId: 'p', id: 'a', mime: 'image/png', data: 'not bytes' })).toBeNull();
    expect(r.restoreBlob({ projectId: 'p', id: 'a', data: buf() })?.mime).toBe('application/octet-stream');
  });

  it('restoreMeta refuses a row without a key and keeps any value', () => {
    expect(r.restoreMeta({ value: 1 })).toBeNull();
    expect(r.restoreMeta({ key: 'k', value: { a: 1 } })).toEqual({ key: 'k', value: { a: 1 } });
  });

  it('restorePreprocessed refuses a record without its pixels', () => {
    expect(r.restorePreprocessed({ projectId: 'p', id: 'a', configHash: 'h' })).toBeNull();
    expect(r.restorePreprocessed({ projectId: 'p', id: 'a', configHash: 'h', data: buf() })).not.toBeNull();
  });

  it('restoreRun refuses a run without settings and repairs an older run (no labels, odd state, no adapter)', () => {
    expect(r.restoreRun({ id: 'r', projectId: 'p', config: {} })).toBeNull();
    const run = r.restoreRun({
      id: 'r',
      projectId: 'p',
      state: 'exploded',
      createdAt: 5,
      config: { settings: SETTINGS },
      history: [{ epoch: 1, loss: NaN, acc: 0, valLoss: null, valAcc: null }, 'junk'],
    });
    expect(run).toMatchObject({
      state: 'interrupted',
      createdAt: 5,
      updatedAt: 5,
      checkpointEpoch: 0,
      backend: 'unknown',
      adapter: null,
      message: null,
      versionId: null,
    });
    expect(run?.config.labels).toEqual([]);
    expect(run?.history).toHaveLength(1);
    expect(run?.history[0].loss).toBeNaN();
  });

  it('restoreCheckpoint refuses weights that are not a packed blob and drops a damaged optimizer state', () => {
    expect(r.restoreCheckpoint({ runId: 'r', epoch: 1, weights: [1, 2] })).toBeNull();
    const cp = r.restoreCheckpoint({ runId: 'r', epoch: 2, weights: weightsBlob(1), optimizer: { slots: [] }, savedAt: 3 });
    expect(cp?.optimizer).toBeNull();
    expect(cp?.weights.specs).toHaveLength(1);
    expect(cp && 'best' in cp).toBe(false);
  });

  it('restoreVersion refuses metadata without class names and keeps the rest of the metadata', () => {
    expect(r.restoreVersion({ id: 'v', projectId: 'p', meta: { source: 'trained' } })).toBeNull();
    const v = r.restoreVersion({ id: 'v', projectId: 'p', number: 2, meta: { ...versionMeta(), labels: ['a', 7, 'b'], backend: 'wasm' } });
    expect(v).toMatchObject({ number: 2, runId: null, parentId: null, meta: { labels: ['a', 'b'], backend: 'wasm' } });
  });

  it('restoreModelWeights and restoreBackboneWeights refuse records without weight bytes or specs', () => {
    expect(r.restoreModelWeights({ versionId: 'v', weightSpecs: [], weightData: 'x' })).toBeNull();
    expect(r.restoreModelWeights({ versionId: 'v', modelTopology: {}, weightSpecs: [], weightData: buf() })).not.toBeNull();
    expect(r.restoreBackboneWeights({ id: 'b', weightData: buf() })).toBeNull();
    expect(r.restoreBackboneWeights({ id: 'b', modelTopology: {}, weightSpecs: [], weightData: buf() })).not.toBeNull();
  });

  it('restoreAlias drops damaged history entries and refuses an alias without a name', () => {
    expect(r.restoreAlias({ projectId: 'p', versionId: 'v' })).toBeNull();
    expect(
      r.restoreAlias({ projectId: 'p', alias: 'production', versionId: 'v', history: [{ versionId: 'v', at: 1 }, null, 'x'] }),
    ).toEqual({
      projectId: 'p',
      alias: 'production',
      versionId: 'v',
      history: [{ versionId: 'v', at: 1 }],
    });
  });

  it('restoreEmbedding refuses a record without its vector', () => {
    expect(r.restoreEmbedding({ projectId: 'p', backboneId: 'b', id: 'a', configHash: 'h', data: [0.1] })).toBeNull();
    expect(r.restoreEmbedding({ projectId: 'p', backboneId: 'b', id: 'a', data: buf() })?.configHash).toBe('');
  });

  it('restorePrelabel refuses one without probabilities and repairs a missing rejected flag', () => {
    expect(r.restorePrelabel({ projectId: 'p', id: 'a', versionId: 'v', classes: ['x'] })).toBeNull();
    const p = r.restorePrelabel({
      projectId: 'p',
      id: 'a',
      versionId: 'v',
      classes: ['x', 'y'],
      probs: buf(8),
      predicted: 'y',
      confidence: 0.9,
    });
    expect(p).toMatchObject({ rejected: false, embedding: null, predicted: 'y', confidence: 0.9 });
  });

  it('restoreStudy refuses a study without a plan and repairs an unknown state to paused', () => {
    expect(r.restoreStudy({ id: 's', projectId: 'p', plan: {}, baseSettings: SETTINGS })).toBeNull();
    expect(r.restoreStudy({ id: 's', projectId: 'p', plan: studyPlan(), baseSettings: SETTINGS, state: '??' })).toMatchObject({
      state: 'paused',
      name: 'Study',
      elapsedMs: 0,
    });
  });

  it('restoreTrial keeps a diverged (NaN) objective and repairs missing fields', () => {
    expect(r.restoreTrial({ studyId: 's', number: 'one', params: {} })).toBeNull();
    const t = r.restoreTrial({ studyId: 's', number: 0, params: { lr: 0.1 }, settings: SETTINGS, values: [NaN, 'x'], value: NaN });
    expect(t).toMatchObject({ state: 'interrupted', history: [], runId: null, tensorsBefore: null });
    expect(t?.values).toHaveLength(1);
    expect(t?.value).toBeNaN();
  });

  it('restoreDatasetVersion refuses packed items that do not line up', () => {
    const base = {
      id: 'd',
      projectId: 'p',
      ids: ['a', 'b'],
      labelIndex: [0, 1],
      splitCode: [1],
      classes: ['x', 'y'],
      preprocess: versionMeta().preprocess,
    };
    expect(r.restoreDatasetVersion(base)).toBeNull();
    expect(r.restoreDatasetVersion({ ...base, splitCode: [1, 3] })?.origin).toEqual({ kind: 'manual' });
  });

  it('restorePipeline refuses a definition without steps', () => {
    expect(r.restorePipeline({ id: 'pl', projectId: 'p', definition: { name: 'x' } })).toBeNull();
    expect(r.restorePipeline({ id: 'pl', projectId: 'p', definition: pipelineDefinition('x') })).toMatchObject({
      labeledAtLastRun: null,
      lastRunAt: null,
    });
  });

  it('restorePipelineRun repairs a run cut by an older version (no steps, keys, trigger)', () => {
    expect(r.restorePipelineRun({ id: 'x', projectId: 'p' })).toBeNull();
    expect(r.restorePipelineRun({ id: 'x', pipelineId: 'pl', projectId: 'p', number: 3, state: 'done' })).toMatchObject({
      number: 3,
      state: 'interrupted',
      steps: [],
      keys: [],
      message: null,
      trigger: { kind: 'manual', detail: '' },
    });
  });

  it('restoreStepCache refuses an entry without outputs', () => {
    expect(r.restoreStepCache({ key: 'k', projectId: 'p' })).toBeNull();
    expect(r.restoreStepCache({ key: 'k', projectId: 'p', outputs: { runId: 'r' } })).toMatchObject({
      kind: '',
      createdAt: 0,
      outputs: { runId: 'r' },
    });
  });

  it('restorePredictionLog refuses a log without statistics and keeps only numbers in the sketch', () => {
    expect(r.restorePredictionLog({ projectId: 'p', id: 'l', versionId: 'v' })).toBeNull();
    const log = r.restorePredictionLog({
      projectId: 'p',
      id: 'l',
      versionId: 'v',
      stats: { brightness: 0.5 },
      sketch: [0.1, 'x'],
      source: 'api',
    });
    expect(log).toMatchObject({ source: 'playground', sketch: [0.1], inputId: null, sentToLabeling: false });
  });

  it('restorePredictionInput refuses an input without bytes', () => {
    expect(r.restorePredictionInput({ projectId: 'p', id: 'a', data: null })).toBeNull();
    expect(r.restorePredictionInput({ projectId: 'p', id: 'a', data: buf() })?.mime).toBe('application/octet-stream');
  });

  it('restoreMonitorReference refuses a reference without statistics', () => {
    expect(r.restoreMonitorReference({ versionId: 'v', projectId: 'p', sketches: [] })).toBeNull();
    expect(r.restoreMonitorReference({ versionId: 'v', projectId: 'p', stats: {}, sketches: [] })?.classCounts).toEqual({});
  });

  it('restoreAlert refuses an alert without its report and repairs the acknowledged flag', () => {
    expect(r.restoreAlert({ projectId: 'p', id: 'a', message: 'x' })).toBeNull();
    expect(r.restoreAlert({ projectId: 'p', id: 'a', report: { perStat: [] }, acknowledged: 'yes' })).toMatchObject({
      kind: 'drift',
      acknowledged: false,
      message: '',
    });
  });
});

describe('db readers restore what they read', () => {
  afterEach(async () => {
    await resetConnection();
    await new Promise<void>((resolve) => {
      const req = indexedDB.deleteDatabase(DB_NAME);
      req.onsuccess = req.onerror = req.onblocked = () => resolve();
    });
  });

  it('a damaged run, checkpoint, version, alias, pipeline run and meta row are refused or repaired on read', async () => {
    const p = await createProject('Restore');
    // Raw writes, untyped on purpose: these are the damaged shapes a reader must survive.
    const raw: IDBPDatabase = wrap(unwrap(await db()));
    const tx = raw.transaction(['runs', 'checkpoints', 'models', 'aliases', 'pipelineRuns', 'meta'], 'readwrite');
    await Promise.all([
      tx.objectStore('runs').put({ id: 'good', projectId: p.id, state: 'completed', createdAt: 2, config: runConfig(), history: [] }),
      tx.objectStore('runs').put({ id: 'bad', projectId: p.id, state: 'completed', createdAt: 1, config: null }),
      tx.objectStore('checkpoints').put({ runId: 'good', epoch: 1, weights: 'gone' }),
      tx.objectStore('models').put({ id: 'v', projectId: p.id, number: 1, meta: { backend: 'cpu' } }),
      tx.objectStore('aliases').put({ projectId: p.id, alias: 'production', versionId: 'v', history: 'lost' }),
      tx.objectStore('pipelineRuns').put({ id: 'pr', pipelineId: 'pl', projectId: p.id, number: 1, state: 'running' }),
      tx.objectStore('meta').put({ key: 'k', value: 7 }),
    ]);
    await tx.done;
    expect((await listRuns(p.id)).map((x) => x.id)).toEqual(['good']);
    expect(await getRun('bad')).toBeUndefined();
    expect((await getRun('good'))?.backend).toBe('unknown');
    expect(await getCheckpoint('good')).toBeUndefined();
    expect(await getVersion('v')).toBeUndefined();
    expect(await listAliases(p.id)).toEqual([{ projectId: p.id, alias: 'production', versionId: 'v', history: [] }]);
    expect(await listPipelineRuns('pl')).toMatchObject([{ id: 'pr', steps: [], keys: [], message: null }]);
    expect(await getMeta<number>('k')).toBe(7);
  });
});
