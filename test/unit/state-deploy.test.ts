// The Deploy stage's state in Node: the playground's version choice and predictions, and batch
// prediction, with the inference worker and the registry mocked.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const worker = vi.hoisted(() => ({ load: vi.fn(), predict: vi.fn(), predictBatch: vi.fn() }));
vi.mock('../../src/clients/ml-clients', () => ({
  inferClient: { call: (fn: (api: unknown) => unknown) => Promise.resolve().then(() => fn(worker)) },
}));
vi.mock('../../src/db/models', () => ({
  listVersions: async () => [
    { id: 'v2', number: 2 },
    { id: 'v1', number: 1 },
  ],
  listAliases: async (projectId: string) => (projectId === 'with-production' ? [{ alias: 'production', versionId: 'v1' }] : []),
  setAlias: async () => undefined,
  deleteVersion: async () => undefined,
}));

const { DeployManager, BatchPrediction, MAX_SHOWN_PREDICTIONS, SHOW_LIMIT } = await import('../../src/state/deploy-manager.svelte');

const image = (name: string) => Object.assign(new Blob([name], { type: 'image/png' }), { name });
const top = (label: string) => ({ top: [{ label, confidence: 0.9 }], latencyMs: 1 });

beforeEach(() => {
  for (const fn of Object.values(worker)) fn.mockReset();
});

describe('DeployManager', () => {
  it('shows the production version, else the newest', async () => {
    const a = new DeployManager('with-production');
    await a.load();
    expect(a.versionId).toBe('v1');
    const b = new DeployManager('plain');
    await b.load();
    expect(b.versionId).toBe('v2');
  });

  it('loads the version, then predicts each image, newest first, keeping a failed one with its error', async () => {
    const deploy = new DeployManager('plain');
    await deploy.load();
    worker.load.mockResolvedValue({ name: 'wasm' });
    worker.predict.mockImplementation(async (_v: string, file: Blob & { name: string }) => {
      if (file.name === 'bad.png') throw new Error('This image could not be decoded.');
      return top(file.name);
    });
    await deploy.predictFiles([image('a.png'), image('bad.png')]);
    expect(worker.load).toHaveBeenCalledWith('v2');
    expect(worker.predict.mock.calls[0].slice(2)).toEqual([3, { projectId: 'plain', fileName: 'a.png' }]);
    expect(deploy.backend).toEqual({ name: 'wasm' });
    expect(deploy.results.map((r) => [r.name, r.result?.top[0].label ?? null, r.error])).toEqual([
      ['bad.png', null, 'This image could not be decoded.'],
      ['a.png', 'a.png', null],
    ]);
  });

  it('keeps the newest predictions only', async () => {
    const deploy = new DeployManager('plain');
    await deploy.load();
    worker.load.mockResolvedValue({ name: 'cpu' });
    worker.predict.mockResolvedValue(top('x'));
    await deploy.predictFiles(Array.from({ length: MAX_SHOWN_PREDICTIONS + 3 }, (_, i) => image(`${i}.png`)));
    expect(deploy.results).toHaveLength(MAX_SHOWN_PREDICTIONS);
    expect(deploy.results[0].name).toBe(`${MAX_SHOWN_PREDICTIONS + 2}.png`);
  });

  it('says why a version cannot load, and predicts nothing', async () => {
    const deploy = new DeployManager('plain');
    await deploy.load();
    worker.load.mockRejectedValue(new Error('The model files are missing.'));
    await deploy.predictFiles([image('a.png')]);
    expect(deploy.error).toBe('The model files are missing.');
    expect(deploy.results).toEqual([]);
    expect(worker.predict).not.toHaveBeenCalled();
  });

  it('does nothing without a version', async () => {
    const deploy = new DeployManager('plain');
    await deploy.predictFiles([image('a.png')]);
    expect(worker.load).not.toHaveBeenCalled();
  });
});

describe('BatchPrediction', () => {
  const source = { kind: 'files' as const, files: [] };

  it('runs in the worker with progress and reads the CSV back as a table, up to the limit', async () => {
    const rows = Array.from({ length: SHOW_LIMIT + 5 }, (_, i) => `img${i}.png,cat,0.9,`).join('\n');
    const csv = new Blob([`filename,predicted,confidence,error\n${rows}\n`], { type: 'text/csv' });
    const batch = new BatchPrediction('p', 'v1');
    worker.predictBatch.mockImplementation(async (_v: string, _s: unknown, onProgress: (p: { done: number; total: number }) => void) => {
      onProgress({ done: 1, total: 2 });
      expect(batch.running).toBe(true);
      expect(batch.progress).toEqual({ done: 1, total: 2 });
      return { csv, predicted: SHOW_LIMIT + 5, skipped: 0, drift: null };
    });
    await batch.run(source as never);
    expect(worker.predictBatch.mock.calls[0][0]).toBe('v1');
    expect(worker.predictBatch.mock.calls[0][3]).toEqual({ projectId: 'p' });
    expect(batch.running).toBe(false);
    expect(batch.result).toMatchObject({ predicted: SHOW_LIMIT + 5, skipped: 0, drift: null });
    expect(batch.result!.url).toMatch(/^blob:/);
    await batch.showResults();
    expect(batch.shown!.total).toBe(SHOW_LIMIT + 5);
    expect(batch.shown!.rows).toHaveLength(SHOW_LIMIT);
    expect(batch.shown!.rows[0]).toEqual({ filename: 'img0.png', predicted: 'cat', confidence: '0.9', error: '' });
  });

  it('shows an error and clears the last result when a run fails', async () => {
    const batch = new BatchPrediction('p', 'v1');
    worker.predictBatch.mockResolvedValueOnce({ csv: new Blob(['filename\n']), predicted: 0, skipped: 0, drift: null });
    await batch.run(source as never);
    expect(batch.result).not.toBeNull();
    worker.predictBatch.mockRejectedValueOnce(new Error('This is not a readable zip file.'));
    await batch.run(source as never);
    expect(batch.result).toBeNull();
    expect(batch.shown).toBeNull();
    expect(batch.error).toBe('This is not a readable zip file.');
    expect(batch.running).toBe(false);
  });
});
