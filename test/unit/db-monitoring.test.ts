import 'fake-indexeddb/auto';
import { beforeEach, describe, expect, it } from 'vitest';
import { resetConnection } from '../../src/db/open';
import { DB_NAME } from '../../src/db/schema';
import type { DatasetVersionRecord, PredictionLogRecord } from '../../src/contracts/records';
import { appendPredictionLogs, getPredictionInputs, listPredictionLogs, markSentToLabeling, timeOrderedId } from '../../src/db/monitoring';
import { listDatasetVersions, putDatasetVersion } from '../../src/db/datasets';
import { createProject, deleteProject } from '../../src/db/projects';
import { savePipeline, savePipelineRun, listPipelineRuns, putStepCache, getStepCache } from '../../src/db/pipelines';
import { noAugmentation, pipelineDefinition, pipelineRun } from '../record-fixtures';

beforeEach(async () => {
  await resetConnection();
  await new Promise<void>((resolve) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
});

function log(projectId: string, at: number, inputId: string | null): PredictionLogRecord {
  return {
    projectId,
    id: timeOrderedId(at),
    at,
    versionId: 'v1',
    source: 'batch',
    fileName: `f${at}.png`,
    predicted: '3',
    confidence: 0.9,
    latencyMs: 2,
    stats: { brightness: 0.5, contrast: 0.1, sharpness: 0.01, width: 28, height: 28, aspect: 1 },
    sketch: [1, 0],
    inputId,
    inputBytes: inputId ? 4 : 0,
    sentToLabeling: false,
  };
}

describe('prediction logs', () => {
  it('time-ordered ids sort as their times do', () => {
    const ids = [5, 1_000, 86_400_000, Date.now()].map((t) => timeOrderedId(t));
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps the newest logs and images within the limits, oldest dropped first', async () => {
    const now = Date.now();
    const logs = Array.from({ length: 10 }, (_, i) => log('p', now - 10_000 + i * 1000, `in${i}`));
    const inputs = logs.map((l) => ({ projectId: 'p', id: l.inputId!, fileName: l.fileName, mime: 'image/png', data: new ArrayBuffer(4) }));
    await appendPredictionLogs('p', logs, inputs, { maxLogs: 6, maxAgeDays: 90, maxInputs: 3 });
    const kept = await listPredictionLogs('p');
    expect(kept.map((l) => l.fileName)).toEqual(logs.slice(4).map((l) => l.fileName));
    // Input ids are not time-ordered: the three that sort last by id stay.
    const found = await getPredictionInputs(
      'p',
      logs.map((l) => l.inputId!),
    );
    expect(found.filter(Boolean)).toHaveLength(3);
  });

  it('drops logs older than the age limit and never touches another project', async () => {
    const now = Date.now();
    await appendPredictionLogs('other', [log('other', now - 200 * 86_400_000, null)], [], {
      maxLogs: 100,
      maxAgeDays: 1000,
      maxInputs: 10,
    });
    await appendPredictionLogs('p', [log('p', now - 100 * 86_400_000, null), log('p', now, null)], [], {
      maxLogs: 100,
      maxAgeDays: 90,
      maxInputs: 10,
    });
    expect(await listPredictionLogs('p')).toHaveLength(1);
    expect(await listPredictionLogs('other')).toHaveLength(1);
  });

  it('filters by version, time and count, and marks logs sent to labeling', async () => {
    const now = Date.now();
    const logs = [log('p', now - 3000, null), { ...log('p', now - 2000, null), versionId: 'v2' }, log('p', now - 1000, null)];
    await appendPredictionLogs('p', logs, []);
    expect((await listPredictionLogs('p', { versionId: 'v1' })).map((l) => l.at)).toEqual([now - 3000, now - 1000]);
    expect((await listPredictionLogs('p', { since: now - 2000 })).map((l) => l.at)).toEqual([now - 2000, now - 1000]);
    expect((await listPredictionLogs('p', { limit: 1 })).map((l) => l.at)).toEqual([now - 1000]);
    await markSentToLabeling('p', [logs[0].id]);
    expect((await listPredictionLogs('p')).map((l) => l.sentToLabeling)).toEqual([true, false, false]);
  });
});

describe('dataset versions and pipelines', () => {
  const version = (id: string): Omit<DatasetVersionRecord, 'number'> => ({
    id,
    projectId: 'p',
    createdAt: 1,
    ids: ['a'],
    labelIndex: [0],
    splitCode: [0],
    classes: ['x'],
    preprocess: { inputSize: 28, channels: 1, resize: 'pad', background: [0, 0, 0] },
    augmentation: noAugmentation(),
    origin: { kind: 'manual' },
  });

  it('stores a content id once and numbers new versions', async () => {
    // (Versions are written only for a project that exists: db/project-guard.ts.)
    const { id } = await createProject('versions');
    const mine = (h: string) => ({ ...version(h), projectId: id });
    expect((await putDatasetVersion(mine('h1'))).created).toBe(true);
    const again = await putDatasetVersion(mine('h1'));
    expect(again).toMatchObject({ created: false, record: { number: 1 } });
    expect((await putDatasetVersion(mine('h2'))).record.number).toBe(2);
    expect((await listDatasetVersions(id)).map((v) => v.number)).toEqual([2, 1]);
  });

  it('refuses to write a dataset version, pipeline run or step cache entry of a project that does not exist (deleted meanwhile)', async () => {
    await expect(putDatasetVersion({ ...version('h9'), projectId: 'gone' })).rejects.toMatchObject({ name: 'ProjectDeletedError' });
    await expect(
      savePipelineRun(
        pipelineRun({ id: 'rx', pipelineId: 'pl', projectId: 'gone', number: 1, state: 'running', createdAt: 1, updatedAt: 1 }),
      ),
    ).rejects.toMatchObject({ name: 'ProjectDeletedError' });
    await expect(putStepCache({ key: 'kx', projectId: 'gone', kind: 'train', outputs: {}, createdAt: 1 })).rejects.toMatchObject({
      name: 'ProjectDeletedError',
    });
    expect(await listDatasetVersions('gone')).toEqual([]);
    expect(await getStepCache('kx')).toBeUndefined();
  });

  it('deleting a project removes its pipelines, runs, cache, dataset versions and logs', async () => {
    const p = await createProject('cycle');
    await savePipeline({
      id: 'pl',
      projectId: p.id,
      definition: pipelineDefinition('p'),
      createdAt: 1,
      updatedAt: 1,
      labeledAtLastRun: null,
      lastRunAt: null,
    });
    await savePipelineRun(
      pipelineRun({ id: 'r1', pipelineId: 'pl', projectId: p.id, number: 1, state: 'succeeded', createdAt: 1, updatedAt: 1 }),
    );
    await putStepCache({ key: 'k1', projectId: p.id, kind: 'train', outputs: {}, createdAt: 1 });
    await putDatasetVersion({ ...version('h3'), projectId: p.id });
    await appendPredictionLogs(p.id, [log(p.id, Date.now(), null)], []);
    await deleteProject(p.id);
    expect(await listPipelineRuns('pl')).toEqual([]);
    expect(await getStepCache('k1')).toBeUndefined();
    expect(await listDatasetVersions(p.id)).toEqual([]);
    expect(await listPredictionLogs(p.id)).toEqual([]);
  });
});
