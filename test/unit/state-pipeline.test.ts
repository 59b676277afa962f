// The Pipeline stage's state classes in Node (compiled by the Svelte plugin): the editor's draft,
// the tab's run activity and the trigger watcher, with the worker client and the stores mocked.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { PipelineRecord } from '../../src/contracts/records';
import { defaultPipeline, findStep, type PipelineDefinition } from '../../src/lib/pipeline/definition';
import type { PipelineRunRecord } from '../../src/lib/pipeline/runner';
import type { PipelineEvent, TriggerInfo } from '../../workers/train.api';

const worker = vi.hoisted(() => ({
  runPipeline: vi.fn(),
  stop: vi.fn(),
  planPipeline: vi.fn(async () => ({ plan: [], labeled: 0 })),
}));
vi.mock('../../src/clients/ml-clients', () => ({
  trainClient: {
    call: (fn: (api: unknown) => unknown) =>
      Promise.resolve().then(() => fn({ runPipeline: worker.runPipeline, planPipeline: worker.planPipeline })),
    api: { stop: worker.stop },
  },
}));
const stores = vi.hoisted(() => ({
  saves: 0,
  runs: [] as PipelineRunRecord[],
  pipelines: new Map<string, PipelineRecord[]>(),
  samples: new Map<string, Array<{ label: string | null; flags: string[]; labelSource?: unknown }>>(),
}));
vi.mock('../../src/db/pipelines', () => ({
  listPipelines: async (projectId: string) => structuredClone(stores.pipelines.get(projectId) ?? []),
  getPipeline: async (id: string) => structuredClone([...stores.pipelines.values()].flat().find((p) => p.id === id)),
  savePipeline: async (record: PipelineRecord) => {
    stores.saves++;
    const list = (stores.pipelines.get(record.projectId) ?? []).filter((p) => p.id !== record.id);
    stores.pipelines.set(record.projectId, [...list, structuredClone(record)]);
  },
  deletePipeline: async () => undefined,
  listPipelineRuns: async (id: string) => stores.runs.filter((r) => r.pipelineId === id),
  listProjectPipelineRuns: async () => stores.runs,
}));
vi.mock('../../src/db/datasets', () => ({ listDatasetVersions: async () => [] }));
vi.mock('../../src/state/kit-manager.svelte', () => ({ KitManager: class {} }));
vi.mock('../../src/db/monitoring', () => ({ listAlerts: async () => [] }));
vi.mock('../../src/db/committed', () => ({
  listCommittedSamples: async (projectId: string) => ({ samples: stores.samples.get(projectId) ?? [], damaged: 0, uncommitted: 0 }),
}));
vi.mock('../../src/state/train-manager.svelte', () => ({ training: { running: false } }));
vi.mock('../../src/state/tune-manager.svelte', () => ({ tuning: { running: false } }));

const { PipelineDraft, augmentationErrors, definitionOf } = await import('../../src/state/pipeline-draft.svelte');
const { pipelineActivity, isBusyError } = await import('../../src/state/pipeline-activity.svelte');
const { PipelineTriggerWatcher } = await import('../../src/state/pipeline-trigger-watcher');
const { PipelineManager, DEFAULT_PIPELINE_NAME } = await import('../../src/state/pipeline-manager.svelte');

function record(definition: unknown, over: Partial<PipelineRecord> = {}): PipelineRecord {
  return {
    id: 'p1',
    projectId: 'proj',
    definition: definition as PipelineDefinition,
    createdAt: 1,
    updatedAt: 1,
    labeledAtLastRun: null,
    lastRunAt: null,
    ...over,
  };
}

function run(over: Partial<PipelineRunRecord> = {}): PipelineRunRecord {
  return {
    id: 'r1',
    pipelineId: 'p1',
    projectId: 'proj',
    number: 1,
    definition: defaultPipeline('x'),
    trigger: { kind: 'manual', detail: '' },
    state: 'running',
    createdAt: 1,
    updatedAt: 1,
    steps: [],
    keys: [],
    message: null,
    ...over,
  };
}

describe('PipelineDraft', () => {
  it('edits a copy of the stored definition and knows when it differs', () => {
    const stored = defaultPipeline('Retrain');
    const editor = new PipelineDraft();
    editor.reset(record(stored));
    expect(editor.draft).toEqual(stored);
    expect(editor.dirty).toBe(false);
    expect(editor.storedProblem).toBeNull();
    editor.setTrainSetting('epochs', 7);
    expect(editor.dirty).toBe(true);
    expect(findStep(stored, 'train')!.settings.settings).not.toHaveProperty('epochs');
    // back to the default removes the key again, and the draft is clean
    editor.setTrainSetting('epochs', 20);
    expect(editor.dirty).toBe(false);
    editor.reset(null);
    expect(editor.draft).toBeNull();
    expect(editor.dirty).toBe(false);
  });

  it('keeps a damaged stored definition editable and says why it is not valid', () => {
    const { definition, problem } = definitionOf(record({ ...defaultPipeline('x'), steps: 'none' }));
    expect(problem).toMatch(/steps/i);
    expect(definition.name).toBe('x');
    const editor = new PipelineDraft();
    editor.reset(record({ ...defaultPipeline('x'), steps: 'none' }));
    expect(editor.storedProblem).toBe(problem);
  });

  it('switches train and tune, and edits the tuning plan only in tune mode', () => {
    const editor = new PipelineDraft();
    editor.reset(record(defaultPipeline('x')));
    editor.setTunePlan({ maxTrials: 3 });
    expect(findStep(editor.draft!, 'train')!.settings.mode).toBe('train');
    editor.setTrainMode('tune');
    editor.setTunePlan({ strategy: 'random', maxTrials: 3, pruner: 'asha' });
    const settings = findStep(editor.draft!, 'train')!.settings;
    if (settings.mode !== 'tune') throw new Error('not in tune mode');
    expect(settings.plan).toMatchObject({ strategy: 'random', maxTrials: 3, pruner: { kind: 'asha' } });
    editor.setTrainMode('train');
    expect(findStep(editor.draft!, 'train')!.settings).not.toHaveProperty('plan');
  });

  it('leaves an untouched augmentation empty and reports bad values', () => {
    const editor = new PipelineDraft();
    editor.reset(record(defaultPipeline('x')));
    editor.setAugmentation('rotation', 10);
    expect(findStep(editor.draft!, 'preprocess')!.settings.augmentation).toEqual({ rotation: 10 });
    editor.setAugmentation('rotation', 0);
    expect(findStep(editor.draft!, 'preprocess')!.settings.augmentation).toEqual({});
    editor.setAugmentation('rotation', 1000);
    expect(augmentationErrors(editor.draft!)).toEqual([expect.stringMatching(/^Step "preprocess" \(augmentation\): /)]);
  });

  it('edits the triggers, adding them where an old definition lacks them', () => {
    const editor = new PipelineDraft();
    editor.reset(record({ ...defaultPipeline('x'), triggers: [{ kind: 'manual' }] }));
    expect(editor.trigger('new-labels')).toBeUndefined();
    editor.setNewLabelsTrigger({ count: 25 });
    expect(editor.trigger('new-labels')).toEqual({ kind: 'new-labels', count: 25, enabled: false });
    editor.setNewLabelsTrigger({ enabled: true });
    expect(editor.trigger('new-labels')?.enabled).toBe(true);
    editor.setDriftTrigger(true);
    editor.setDriftTrigger(false);
    expect(editor.draft!.triggers.filter((t) => t.kind === 'drift-alert')).toEqual([{ kind: 'drift-alert', enabled: false }]);
  });
});

describe('pipelineActivity', () => {
  beforeEach(() => {
    worker.runPipeline.mockReset();
  });

  it('shows the live run from the worker events, ignores stale ones, and keeps the final record', async () => {
    let release!: (r: PipelineRunRecord) => void;
    let emit!: (e: PipelineEvent) => void;
    worker.runPipeline.mockImplementation((_id: string, _t: TriggerInfo, onEvent: (e: PipelineEvent) => void) => {
      emit = onEvent;
      return new Promise<PipelineRunRecord>((resolve) => (release = resolve));
    });
    const notices: string[] = [];
    const unsubscribe = pipelineActivity.subscribe((n) => notices.push(n.kind));
    const trigger: TriggerInfo = { kind: 'manual', detail: 'test' };
    const done = pipelineActivity.launch('proj', 'p1', trigger, 'person', (api, onEvent) => api.runPipeline('p1', trigger, onEvent));
    expect(pipelineActivity.running).toBe(true);
    expect(await pipelineActivity.launch('proj', 'p2', trigger, 'trigger', () => Promise.reject(new Error('not called')))).toMatchObject({
      busy: true,
      run: null,
    });
    await vi.waitFor(() => expect(emit).toBeDefined());
    emit({
      kind: 'run',
      run: run({ updatedAt: 5, steps: [{ stepId: 'train', kind: 'train', state: 'running' } as PipelineRunRecord['steps'][number]] }),
    });
    emit({ kind: 'progress', stepId: 'train', progress: { runId: 'x', phase: 'train', done: 1, total: 2, epoch: 1, epochs: 2 } as never });
    expect(pipelineActivity.progress?.stepId).toBe('train');
    emit({ kind: 'run', run: run({ updatedAt: 3, message: 'stale' }) });
    expect(pipelineActivity.run?.updatedAt).toBe(5);
    // a newer record without the running step drops its progress
    emit({ kind: 'run', run: run({ updatedAt: 6 }) });
    expect(pipelineActivity.progress).toBeNull();
    release(run({ state: 'succeeded', updatedAt: 9 }));
    const result = await done;
    expect(result).toMatchObject({ error: null, busy: false });
    expect(pipelineActivity.running).toBe(false);
    expect(pipelineActivity.run?.state).toBe('succeeded');
    // events after the end change nothing
    emit({ kind: 'run', run: run({ updatedAt: 10 }) });
    expect(pipelineActivity.run?.state).toBe('succeeded');
    expect(notices).toEqual(['start', 'event', 'event', 'event', 'end']);
    unsubscribe();
  });

  it('never rejects: an error ends the run and says whether the worker was busy', async () => {
    worker.runPipeline.mockRejectedValueOnce(new Error('A training run is already going.'));
    const trigger: TriggerInfo = { kind: 'manual', detail: 'test' };
    const result = await pipelineActivity.launch('proj', 'p1', trigger, 'person', (api, onEvent) =>
      api.runPipeline('p1', trigger, onEvent),
    );
    expect(result).toEqual({ run: null, error: 'A training run is already going.', busy: true });
    expect(pipelineActivity.running).toBe(false);
    expect(isBusyError('The worker is already running a study')).toBe(true);
    expect(isBusyError('The dataset is empty')).toBe(false);
  });
});

describe('PipelineTriggerWatcher', () => {
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  const labeled = (n: number) => Array.from({ length: n }, () => ({ label: 'cat', flags: [] as string[] }));
  const withNewLabels = (count: number, enabled = true) => ({
    ...defaultPipeline('Retrain'),
    triggers: [{ kind: 'manual' as const }, { kind: 'new-labels' as const, count, enabled }],
  });

  beforeEach(() => {
    worker.runPipeline.mockReset();
    pipelineActivity.triggerError = null;
  });

  it('starts a run when enough new labels came since the last run, counting only usable labels', async () => {
    stores.pipelines.set('a', [record(withNewLabels(3), { id: 'pa', projectId: 'a', labeledAtLastRun: 2, lastRunAt: 1 })]);
    stores.samples.set('a', [...labeled(4), { label: null, flags: [] }, { label: 'dog', flags: ['conflict'] }]);
    worker.runPipeline.mockResolvedValue(run({ state: 'succeeded' }));
    const watcher = new PipelineTriggerWatcher(60_000);
    watcher.start('a');
    await settle(); // the first check, made on start
    expect(worker.runPipeline).not.toHaveBeenCalled(); // 4 usable labels - 2 < 3
    stores.samples.set('a', labeled(5));
    await watcher.check(true);
    await vi.waitFor(() => expect(worker.runPipeline).toHaveBeenCalledTimes(1));
    expect(worker.runPipeline.mock.calls[0].slice(0, 2)).toEqual([
      'pa',
      { kind: 'new-labels', detail: '3 new labels since the last run (the trigger fires at 3).' },
    ]);
    await vi.waitFor(() => expect(pipelineActivity.running).toBe(false));
    watcher.stop();
  });

  it('never starts a pipeline that has not run, nor a disabled trigger', async () => {
    stores.pipelines.set('b', [
      record(withNewLabels(1), { id: 'pb1', projectId: 'b', labeledAtLastRun: null }),
      record(withNewLabels(1, false), { id: 'pb2', projectId: 'b', labeledAtLastRun: 0, lastRunAt: 1 }),
    ]);
    stores.samples.set('b', labeled(10));
    const watcher = new PipelineTriggerWatcher(60_000);
    watcher.start('b');
    await settle();
    await watcher.check(true);
    expect(worker.runPipeline).not.toHaveBeenCalled();
    watcher.stop();
  });

  it('reports a triggered run that fails and waits before trying that pipeline again', async () => {
    stores.pipelines.set('c', [record(withNewLabels(1), { id: 'pc', projectId: 'c', labeledAtLastRun: 0, lastRunAt: 1 })]);
    stores.samples.set('c', labeled(2));
    worker.runPipeline.mockRejectedValue(new Error('The dataset has one class.'));
    const watcher = new PipelineTriggerWatcher(60_000);
    watcher.start('c');
    await vi.waitFor(() => expect(pipelineActivity.triggerError).not.toBeNull());
    expect(pipelineActivity.triggerError).toEqual({
      projectId: 'c',
      message: expect.stringMatching(
        /^The pipeline “Retrain” was triggered \(2 new labels .*\) but could not run: The dataset has one class\.$/,
      ),
    });
    await watcher.check(true);
    expect(worker.runPipeline).toHaveBeenCalledTimes(1);
    watcher.stop();
  });
});

describe('PipelineManager', () => {
  it('makes one default pipeline for a new project, even when two stages load at once', async () => {
    stores.saves = 0;
    const a = new PipelineManager('fresh');
    const b = new PipelineManager('fresh');
    await Promise.all([a.load(), b.load()]);
    expect(stores.saves).toBe(1);
    expect(a.pipelines.map((p) => (p.definition as PipelineDefinition).name)).toEqual([DEFAULT_PIPELINE_NAME]);
    expect(a.selectedId).toBe(b.selectedId);
    expect(a.editor.draft?.name).toBe(DEFAULT_PIPELINE_NAME);
    expect(a.editor.dirty).toBe(false);
    a.destroy();
    b.destroy();
  });

  it('saves a valid draft with the next revision, and refuses an invalid one without storing it', async () => {
    const pm = new PipelineManager('edit');
    await pm.load();
    const saves = stores.saves;
    pm.editor.draft!.name = '   ';
    expect(await pm.save()).toBe(false);
    expect(pm.saveErrors).toEqual([expect.stringMatching(/needs a name/)]);
    expect(stores.saves).toBe(saves);
    pm.editor.draft!.name = ' Nightly ';
    pm.editor.setTrainSetting('epochs', 5);
    expect(await pm.save()).toBe(true);
    expect(stores.saves).toBe(saves + 1);
    expect(pm.message).toBe('Saved “Nightly” (revision 2).');
    expect(pm.editor.dirty).toBe(false);
    const stored = stores.pipelines.get('edit')![0].definition as PipelineDefinition;
    expect(stored.revision).toBe(2);
    expect(findStep(stored, 'train')!.settings.settings).toMatchObject({ epochs: 5 });
    pm.destroy();
  });

  it('imports a pipeline file under a name not yet taken, and lists why a bad file is not one', async () => {
    const pm = new PipelineManager('imports');
    await pm.load();
    const file = (text: string, name = 'p.pipeline.json') => new File([text], name, { type: 'application/json' });
    await pm.importFile(file(JSON.stringify(defaultPipeline(DEFAULT_PIPELINE_NAME))));
    expect(pm.importErrors).toEqual([]);
    expect(pm.pipelines.map((p) => (p.definition as PipelineDefinition).name).sort()).toEqual([
      DEFAULT_PIPELINE_NAME,
      `${DEFAULT_PIPELINE_NAME} (2)`,
    ]);
    expect(pm.selected?.id).toBe(pm.pipelines.find((p) => (p.definition as PipelineDefinition).name.endsWith('(2)'))!.id);
    const before = stores.saves;
    await pm.importFile(file('{"format": "something else"}'));
    expect(pm.importErrors.length).toBeGreaterThan(0);
    await pm.importFile(file('x'.repeat(1_000_001)));
    expect(pm.importErrors).toEqual(['The file is too large to be a pipeline.']);
    expect(stores.saves).toBe(before);
    pm.destroy();
  });

  it('shows a stored running run that no tab runs as interrupted, and offers to resume it', async () => {
    const pm = new PipelineManager('runs');
    await pm.load();
    const id = pm.selectedId!;
    stores.runs = [
      run({
        id: 'r9',
        pipelineId: id,
        projectId: 'runs',
        number: 1,
        state: 'running',
        steps: [
          { stepId: 'snapshot', kind: 'snapshot', state: 'done' } as PipelineRunRecord['steps'][number],
          { stepId: 'train', kind: 'train', state: 'running' } as PipelineRunRecord['steps'][number],
        ],
      }),
    ];
    await pm.refreshRuns();
    expect(pm.runs.map((r) => r.id)).toEqual(['r9']);
    expect(pm.lockHeld).toBe(false);
    expect(pm.shownState(pm.runs[0])).toBe('interrupted');
    expect(pm.resumable?.id).toBe('r9');
    stores.runs = [];
    pm.destroy();
  });
});
