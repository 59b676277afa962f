import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { unwrap, wrap, type IDBPDatabase } from 'idb';
import { db, resetConnection } from '../../src/db/open';
import { createProject, listProjects } from '../../src/db/projects';
import { beginImport, finishImport } from '../../src/db/imports';
import { writeSampleBatch, type PreparedSample } from '../../src/db/samples';
import { projectRange } from '../../src/db/keys';
import { DB_NAME } from '../../src/db/schema';
import { ARCHIVE_STORES, IMPORT_CANCELLED, type ArchiveStore, type ProjectImportPlan } from '../../src/lib/archive/format';
import { buildProjectArchive, restoreProjectArchive } from '../../workers/project-archive';

const noop = () => {};
const hex = (n: number) => n.toString(16).padStart(64, '0');
const bytes = (...values: number[]) => new Uint8Array(values).buffer;
const floats = (...values: number[]) => new Float32Array(values).buffer;

async function wipe(): Promise<void> {
  await resetConnection();
  await new Promise<void>((resolve) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}

beforeEach(wipe);
afterEach(() => vi.restoreAllMocks());

/** A project with records in every store a project file includes, and binary bytes in each blob field. */
async function buildFixture(): Promise<string> {
  const p = await createProject('Birds');
  const pid = p.id;
  const session = await beginImport(pid, { kind: 'files', name: 'birds', fileCount: 3 });
  const sample = (n: number, label: string | null, labelSource: PreparedSample['sample']['labelSource']): PreparedSample => ({
    sample: {
      projectId: pid,
      id: hex(n),
      fileName: `b${n}.png`,
      path: `birds/b${n}.png`,
      label,
      labelSource,
      labeledAt: label ? 5 : null,
      width: 8,
      height: 6,
      mime: 'image/png',
      bytes: 4 + n,
      split: n === 1 ? 'test' : 'train',
      addedAt: 3,
      importId: session.id,
      flags: [],
    },
    original: { projectId: pid, id: hex(n), mime: 'image/png', data: new Uint8Array(4 + n).map((_, i) => i * 7 + n).buffer },
    thumbnail: { projectId: pid, id: hex(n), mime: 'image/png', data: bytes(n, 9, 9) },
  });
  await writeSampleBatch(pid, [
    sample(1, 'robin', { kind: 'folder' }),
    sample(2, 'wren', { kind: 'model', versionId: 'version-1', confidence: 0.9, accepted: 'human' }),
    sample(3, null, null),
  ]);
  await finishImport({ ...session, state: 'complete', endedAt: 10, imported: 3 });

  // Raw stores, untyped on purpose: these records keep older and odd shapes (a `{ flip: true }`
  // augmentation, a definition of step names) that the archive must carry byte for byte.
  const raw: IDBPDatabase = wrap(unwrap(await db()));
  const tx = raw.transaction(
    [
      'runs',
      'checkpoints',
      'models',
      'modelWeights',
      'aliases',
      'prelabels',
      'studies',
      'trials',
      'datasetVersions',
      'pipelines',
      'pipelineRuns',
      'stepCache',
      'predictionLogs',
      'predictionInputs',
      'monitorReferences',
      'alerts',
      'meta',
    ],
    'readwrite',
  );
  const history = [{ epoch: 1, loss: 0.5, acc: 0.8, valLoss: null, valAcc: null }];
  const run = (id: string, createdAt: number, state: 'completed' | 'stopped', versionId: string | null) => ({
    id,
    projectId: pid,
    state,
    createdAt,
    updatedAt: createdAt + 1,
    config: { settings: { backboneId: null, epochs: 3 } },
    history,
    checkpointEpoch: 1,
    backend: 'cpu',
    adapter: null,
    message: null,
    versionId,
  });
  await Promise.all([
    tx.objectStore('runs').put(run('run-1', 100, 'completed', 'version-1')),
    // A diverged epoch: a non-finite loss must come back as NaN, not null.
    tx.objectStore('runs').put({
      ...run('run-2', 200, 'stopped', null),
      history: [...history, { epoch: 2, loss: NaN, acc: 0.1, valLoss: Infinity, valAcc: null }],
    }),
    tx.objectStore('checkpoints').put({
      runId: 'run-2',
      epoch: 1,
      weights: { specs: [{ name: 'w', shape: [2], dtype: 'float32' }], data: floats(1.5, -2) },
      optimizer: { slots: new Float32Array([0.25, 4]) },
      savedAt: 201,
    }),
    tx.objectStore('models').put({
      id: 'version-1',
      projectId: pid,
      number: 1,
      createdAt: 110,
      runId: 'run-1',
      parentId: null,
      meta: { labels: ['robin', 'wren'] },
    }),
    tx.objectStore('models').put({
      id: 'version-2',
      projectId: pid,
      number: 2,
      createdAt: 310,
      runId: 'run-2',
      parentId: 'version-1',
      meta: { labels: ['robin', 'wren'], backboneId: 'backbone-x', origin: { kind: 'study', studyId: 'study-1', trialNumber: 1 } },
    }),
    tx
      .objectStore('modelWeights')
      .put({ versionId: 'version-1', modelTopology: { layers: [] }, weightSpecs: [{ name: 'w', shape: [2] }], weightData: floats(1, 2) }),
    tx.objectStore('modelWeights').put({
      versionId: 'version-2',
      modelTopology: { layers: [] },
      weightSpecs: [{ name: 'w', shape: [3] }],
      weightData: floats(3, 4, 5),
    }),
    tx.objectStore('aliases').put({
      projectId: pid,
      alias: 'production',
      versionId: 'version-2',
      history: [
        { versionId: 'version-1', at: 120 },
        { versionId: 'version-2', at: 320 },
      ],
    }),
    tx.objectStore('prelabels').put({
      projectId: pid,
      id: hex(3),
      versionId: 'version-2',
      classes: ['robin', 'wren'],
      probs: floats(0.3, 0.7),
      embedding: floats(1, 2, 3, 4),
      predicted: 'wren',
      confidence: 0.7,
      rejected: false,
      createdAt: 330,
    }),
    tx.objectStore('prelabels').put({
      projectId: pid,
      id: hex(1),
      versionId: 'version-2',
      classes: ['robin', 'wren'],
      probs: floats(0.9, 0.1),
      embedding: null,
      predicted: 'robin',
      confidence: 0.9,
      rejected: true,
      createdAt: 331,
    }),
    tx.objectStore('studies').put({
      id: 'study-1',
      projectId: pid,
      name: 'Sweep',
      plan: { strategy: 'random' },
      baseSettings: { epochs: 3 },
      state: 'done',
      createdAt: 150,
      updatedAt: 300,
      elapsedMs: 1234,
      message: null,
      registeredVersionId: 'version-2',
    }),
    tx.objectStore('trials').put({
      studyId: 'study-1',
      number: 0,
      params: { lr: 0.01 },
      settings: {},
      state: 'pruned',
      history,
      values: [0.4],
      value: 0.4,
      message: 'pruned',
      startedAt: 160,
      durationMs: 10,
      backend: 'cpu',
      runId: null,
      tensorsBefore: 5,
      tensorsAfter: 5,
    }),
    tx.objectStore('trials').put({
      studyId: 'study-1',
      number: 1,
      params: { lr: 0.1 },
      settings: {},
      state: 'complete',
      history,
      values: [NaN],
      value: NaN,
      message: null,
      startedAt: 170,
      durationMs: 20,
      backend: 'cpu',
      runId: 'run-2',
      tensorsBefore: null,
      tensorsAfter: null,
    }),
    tx.objectStore('datasetVersions').put({
      id: hex(0xd5),
      projectId: pid,
      number: 1,
      createdAt: 90,
      ids: [hex(1), hex(2)],
      labelIndex: [0, 1],
      splitCode: [3, 1],
      classes: ['robin', 'wren'],
      preprocess: { inputSize: 32, channels: 3, resize: 'pad', background: [255, 255, 255] },
      augmentation: { flip: true },
      origin: { kind: 'pipeline', pipelineId: 'pipe-1', runId: 'prun-1' },
    }),
    tx.objectStore('pipelines').put({
      id: 'pipe-1',
      projectId: pid,
      definition: { steps: ['snapshot', 'train'] },
      createdAt: 80,
      updatedAt: 81,
      labeledAtLastRun: 2,
      lastRunAt: 85,
    }),
    tx.objectStore('pipelineRuns').put({
      id: 'prun-1',
      pipelineId: 'pipe-1',
      projectId: pid,
      number: 1,
      state: 'done',
      createdAt: 85,
      updatedAt: 400,
      steps: [
        { kind: 'snapshot', outputs: { datasetVersionId: hex(0xd5) } },
        { kind: 'train', outputs: { versionId: 'version-1', runId: 'run-1' }, cacheKey: 'cache-1' },
      ],
    }),
    tx.objectStore('stepCache').put({ key: 'cache-1', projectId: pid, kind: 'train', outputs: { versionId: 'version-1' }, createdAt: 95 }),
    tx.objectStore('predictionLogs').put({
      projectId: pid,
      id: '00001-aa',
      at: 500,
      versionId: 'version-2',
      source: 'playground',
      fileName: 'x.png',
      predicted: 'wren',
      confidence: 0.6,
      latencyMs: 12.5,
      stats: { brightness: 0.5, contrast: 0.2, sharpness: 1, width: 8, height: 8, aspect: 1 },
      sketch: [0.1, -0.2],
      inputId: hex(9),
      inputBytes: 3,
      sentToLabeling: false,
    }),
    tx.objectStore('predictionInputs').put({ projectId: pid, id: hex(9), fileName: 'x.png', mime: 'image/png', data: bytes(137, 80, 78) }),
    tx.objectStore('monitorReferences').put({
      versionId: 'version-2',
      projectId: pid,
      createdAt: 311,
      count: 2,
      stats: { brightness: [0.1, 0.2], contrast: [0.3], sharpness: [1], width: [8], height: [8], aspect: [1] },
      sketches: [[0.1]],
      classCounts: { robin: 1, wren: 1 },
    }),
    tx.objectStore('alerts').put({
      projectId: pid,
      id: '00002-bb',
      at: 600,
      kind: 'drift',
      versionId: 'version-2',
      report: { logIds: ['00001-aa'] },
      message: 'Drift',
      acknowledged: false,
    }),
    tx.objectStore('meta').put({ key: `label-quality:${pid}`, value: { suspects: [hex(2)], versionId: 'version-1' } }),
  ]);
  await tx.done;
  return pid;
}

type Snapshot = Record<ArchiveStore | 'projects', unknown[]>;

/** Every record of a project, store by store, read independently of the code under test. */
async function readAll(pid: string): Promise<Snapshot> {
  const d = await db();
  const range = projectRange(pid);
  const byProject = (
    store: 'imports' | 'runs' | 'models' | 'studies' | 'datasetVersions' | 'pipelines' | 'pipelineRuns' | 'stepCache' | 'monitorReferences',
  ) => d.getAllFromIndex(store, 'byProject', pid);
  const [runs, models, studies] = await Promise.all([
    d.getAllFromIndex('runs', 'byProject', pid),
    d.getAllFromIndex('models', 'byProject', pid),
    d.getAllFromIndex('studies', 'byProject', pid),
  ]);
  const each = async <T>(keys: string[], get: (k: string) => Promise<T | T[] | undefined>) =>
    (await Promise.all(keys.map(get))).flat().filter((x) => x !== undefined);
  return {
    projects: [await d.get('projects', pid)],
    imports: await byProject('imports'),
    samples: await d.getAll('samples', range),
    originals: await d.getAll('originals', range),
    thumbnails: await d.getAll('thumbnails', range),
    datasetVersions: await byProject('datasetVersions'),
    pipelines: await byProject('pipelines'),
    pipelineRuns: await byProject('pipelineRuns'),
    stepCache: await byProject('stepCache'),
    runs,
    checkpoints: await each(
      runs.map((r) => r.id),
      (k) => d.get('checkpoints', k),
    ),
    models,
    modelWeights: await each(
      models.map((m) => m.id),
      (k) => d.get('modelWeights', k),
    ),
    aliases: await d.getAll('aliases', range),
    prelabels: await d.getAll('prelabels', range),
    studies,
    trials: await each(
      studies.map((s) => s.id),
      (k) => d.getAll('trials', IDBKeyRange.bound([k, 0], [k, Infinity])),
    ),
    predictionLogs: await d.getAll('predictionLogs', range),
    predictionInputs: await d.getAll('predictionInputs', range),
    monitorReferences: await byProject('monitorReferences'),
    alerts: await d.getAll('alerts', range),
    meta: [await d.get('meta', `label-quality:${pid}`)].filter(Boolean),
  };
}

/** Sorted-key JSON where bytes are hex, typed arrays keep their type, NaN/Infinity stay distinct, and ids are renamed. */
function canonical(value: unknown, rename: (s: string) => string): string {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return rename(v);
    if (typeof v === 'number') return Number.isFinite(v) ? v : `#${v}`;
    if (v instanceof ArrayBuffer) return { bytes: Buffer.from(v).toString('hex') };
    if (ArrayBuffer.isView(v)) return { [v.constructor.name]: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex') };
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [rename(k), walk((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return JSON.stringify(walk(value));
}

function storeHashes(snapshot: Snapshot, rename: (s: string) => string): Record<string, string> {
  return Object.fromEntries(
    Object.entries(snapshot).map(([store, records]) => [
      store,
      createHash('sha256')
        .update(
          records
            .map((r) => canonical(r, rename))
            .sort()
            .join('\n'),
        )
        .digest('hex'),
    ]),
  );
}

const projectRenamer = (pid: string) => (s: string) => s.split(pid).join('<project>');

async function storeCounts(): Promise<number> {
  const d = await db();
  const names = [...d.objectStoreNames];
  return (await Promise.all(names.map((n) => d.count(n as never)))).reduce((a, b) => a + b, 0);
}

describe('project file round trip', () => {
  it('exports every store and imports it into an empty profile losslessly', async () => {
    const pid = await buildFixture();
    const before = await readAll(pid);
    for (const store of ARCHIVE_STORES) expect(before[store].length, store).toBeGreaterThan(0);
    const progress: string[] = [];
    const file = await buildProjectArchive(pid, (p) => progress.push(p.phase));
    expect(progress).toContain('export');

    await wipe(); // another browser profile
    const result = await restoreProjectArchive(file, noop);
    expect(result.projectId).not.toBe(pid);
    expect(result.name).toBe('Birds');
    expect(result.missingBackbones).toEqual(['backbone-x']);
    for (const store of ARCHIVE_STORES) expect(result.counts[store], store).toBe(before[store].length);

    const after = await readAll(result.projectId);
    expect(storeHashes(after, projectRenamer(result.projectId))).toEqual(storeHashes(before, projectRenamer(pid)));
    // Binary fields come back as the same kind of value (a typed array stays a typed array).
    const checkpoint = after.checkpoints[0] as { optimizer: { slots: unknown } };
    expect(checkpoint.optimizer.slots).toBeInstanceOf(Float32Array);
    expect(
      (after.runs.find((r) => (r as { id: string }).id === 'run-2') as { history: Array<{ loss: number }> }).history[1].loss,
    ).toBeNaN();
  });

  it('finds a backbone this browser has under another id by its weights SHA-256, and names a missing catalog one', async () => {
    const sha = 'ab'.repeat(32);
    const backbone = (id: string) => ({
      id,
      name: 'MobileNet v2 0.35 (224 px, RGB)',
      format: 'layers-model' as const,
      inputShape: [224, 224, 3] as [number, number, number],
      embeddingSize: 1280,
      normalization: '-1..1' as const,
      createdAt: 1,
      source: 'catalog' as const,
      sha256: sha,
      catalogId: 'mobilenet-v2-0.35-224',
    });
    const pid = await buildFixture();
    await (await db()).put('backbones', backbone('backbone-x'));
    const file = await buildProjectArchive(pid, noop);

    // Another browser that downloaded the same catalog backbone: its copy has its own id.
    await wipe();
    await (await db()).put('backbones', backbone('here-1'));
    const plans: ProjectImportPlan[] = [];
    const matched = await restoreProjectArchive(file, noop, { confirm: async (plan) => (plans.push(plan), true) });
    expect(plans[0]).toMatchObject({ missingBackbones: [], missingBackboneDetails: [], matchedBackbones: 1 });
    expect(matched).toMatchObject({ missingBackbones: [], matchedBackbones: 1 });
    const version2 = (await db()).getAllFromIndex('models', 'byProject', matched.projectId).then((ms) => ms.find((m) => m.number === 2)!);
    expect(((await version2).meta as { backboneId: string }).backboneId).toBe('here-1');

    // A browser without it: the plan names it and its catalog entry.
    await wipe();
    const missing = await restoreProjectArchive(file, noop);
    expect(missing.missingBackbones).toEqual(['backbone-x']);
    expect(missing.missingBackboneDetails).toEqual([
      { id: 'backbone-x', name: 'MobileNet v2 0.35 (224 px, RGB)', catalogId: 'mobilenet-v2-0.35-224' },
    ]);
    expect(missing.matchedBackbones).toBe(0);
    const stillFileId = (await (await db()).getAllFromIndex('models', 'byProject', missing.projectId)).find((m) => m.number === 2)!;
    expect((stillFileId.meta as { backboneId: string }).backboneId).toBe('backbone-x');
  });

  it('imports one file twice into one profile: a second project with consistently fresh ids, the first untouched', async () => {
    const file = await buildProjectArchive(await buildFixture(), noop);
    await wipe();
    const first = await restoreProjectArchive(file, noop);
    const firstBefore = await readAll(first.projectId);
    const firstHashes = storeHashes(firstBefore, projectRenamer(first.projectId));

    const second = await restoreProjectArchive(file, noop);
    expect(second.name).toBe('Birds (imported)');
    expect((await listProjects()).map((p) => p.name).sort()).toEqual(['Birds', 'Birds (imported)']);
    expect(storeHashes(await readAll(first.projectId), projectRenamer(first.projectId))).toEqual(firstHashes);

    // Every id keyed in a store shared by all projects was taken, so none may appear in the copy.
    const a = firstBefore as unknown as Record<string, Array<Record<string, unknown>>>;
    const b = (await readAll(second.projectId)) as unknown as Record<string, Array<Record<string, unknown>>>;
    const shared: Array<[string, string, string]> = [
      ['runs', 'id', 'createdAt'],
      ['models', 'id', 'number'],
      ['studies', 'id', 'name'],
      ['datasetVersions', 'id', 'number'],
      ['pipelines', 'id', 'createdAt'],
      ['pipelineRuns', 'id', 'number'],
      ['imports', 'id', 'startedAt'],
      ['stepCache', 'key', 'createdAt'],
    ];
    const back = new Map<string, string>([
      [second.projectId, first.projectId],
      ['Birds (imported)', 'Birds'],
    ]);
    for (const [store, key, match] of shared) {
      for (const rb of b[store]) {
        const ra = a[store].find((r) => r[match] === rb[match])!;
        expect(rb[key], store).not.toBe(ra[key]);
        back.set(rb[key] as string, ra[key] as string);
      }
    }
    const firstIds = new Set([...back.values()].filter((v) => v !== 'Birds'));
    const leaked = canonical(b, (s) => s)
      .match(/"[^"]+"/g)!
      .map((s) => s.slice(1, -1))
      .filter((s) => firstIds.has(s));
    expect(leaked).toEqual([]);
    // Mapped back, the copy is the first project exactly: every reference followed its id.
    const rename = (s: string) => projectRenamer(first.projectId)(back.get(s) ?? s.split(second.projectId).join(first.projectId));
    expect(storeHashes(b as unknown as Snapshot, rename)).toEqual(firstHashes);
    const alias = b.aliases[0] as { versionId: string };
    expect(b.models.map((m) => m.id)).toContain(alias.versionId);
  });

  it('leaves out the samples of an import that never finished', async () => {
    const pid = await buildFixture();
    const open = await beginImport(pid, { kind: 'files', name: 'late', fileCount: 1 });
    await writeSampleBatch(pid, [
      {
        sample: {
          projectId: pid,
          id: hex(77),
          fileName: 'late.png',
          path: 'late.png',
          label: 'robin',
          labelSource: { kind: 'folder' },
          labeledAt: null,
          width: 1,
          height: 1,
          mime: 'image/png',
          bytes: 1,
          split: 'unassigned',
          addedAt: 1,
          importId: open.id,
          flags: [],
        },
        original: { projectId: pid, id: hex(77), mime: 'image/png', data: bytes(1) },
        thumbnail: { projectId: pid, id: hex(77), mime: 'image/png', data: bytes(1) },
      },
    ]);
    const file = await buildProjectArchive(pid, noop);
    await wipe();
    const result = await restoreProjectArchive(file, noop);
    expect(result.counts.samples).toBe(3);
    expect(result.counts.imports).toBe(1);
    const project = (await listProjects())[0];
    expect(project.sampleCount).toBe(3);
  });

  it('removes what it wrote and says so when storage fills up mid-import', async () => {
    const file = await buildProjectArchive(await buildFixture(), noop);
    await wipe();
    const original = IDBObjectStore.prototype.add;
    vi.spyOn(IDBObjectStore.prototype, 'add').mockImplementation(function (
      this: IDBObjectStore,
      ...args: Parameters<IDBObjectStore['add']>
    ) {
      if (this.name === 'models') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
      return original.apply(this, args);
    });
    await expect(restoreProjectArchive(file, noop)).rejects.toThrow(/Storage is full.*what it had written was removed/);
    vi.restoreAllMocks();
    expect(await listProjects()).toEqual([]);
    expect(await storeCounts()).toBe(0);
  });
  it('shows the checked plan before writing, and writes nothing when it is declined', async () => {
    const file = await buildProjectArchive(await buildFixture(), noop);
    await wipe();
    await createProject('Birds');
    const countsBefore = await storeCounts();
    const plans: ProjectImportPlan[] = [];
    const err = await restoreProjectArchive(file, noop, {
      confirm: async (plan) => {
        plans.push(plan);
        expect(await storeCounts(), 'nothing is written before the answer').toBe(countsBefore);
        return false;
      },
    }).catch((e: Error) => e);
    expect((err as Error).name).toBe(IMPORT_CANCELLED);
    expect(plans).toHaveLength(1);
    expect(plans[0]).toMatchObject({ name: 'Birds (imported)', originalName: 'Birds', missingBackbones: ['backbone-x'] });
    expect(plans[0].counts.samples).toBe(3);
    expect(plans[0].imageBytes).toBeGreaterThan(0);
    expect((await listProjects()).map((p) => p.name)).toEqual(['Birds']);
    expect(await storeCounts()).toBe(countsBefore);
  });

  it('writes after a yes, and a cancel while writing removes everything it wrote', async () => {
    const file = await buildProjectArchive(await buildFixture(), noop);
    await wipe();
    const ok = await restoreProjectArchive(file, noop, { confirm: () => true });
    expect(ok.name).toBe('Birds');
    await wipe();
    let confirmed = false;
    let asked = 0;
    const err = await restoreProjectArchive(file, noop, {
      confirm: () => (confirmed = true),
      // Asked once right after the confirmation, then after each written batch: cancel after the first batch.
      isCancelled: () => confirmed && ++asked >= 2,
    }).catch((e: Error) => e);
    expect(asked).toBe(2);
    expect((err as Error).name).toBe(IMPORT_CANCELLED);
    expect((err as Error).message).toMatch(/removed/);
    expect(await listProjects()).toEqual([]);
    expect(await storeCounts()).toBe(0);
  });
});
