import { describe, expect, it } from 'vitest';
import { STEP_ORDER, defaultPipeline, type StepKind } from '../../src/lib/pipeline/definition';
import { REASON_CACHED, computeStepKeys, planRun, type StepKeyParts } from '../../src/lib/pipeline/plan';
import {
  newRunRecord,
  resumableRun,
  runPipeline,
  type PipelineRunRecord,
  type RunDeps,
  type StepContext,
  type StepExecutor,
  type StepResult,
} from '../../src/lib/pipeline/runner';

type Override = (ctx: StepContext) => Promise<StepResult>;

/** A pipeline with recording executors, an in-memory cache and a save log. */
async function harness(fingerprints: Record<string, unknown> = {}) {
  const definition = defaultPipeline('p');
  const h = {
    definition,
    keys: await computeStepKeys(definition, fingerprints),
    store: new Map<string, Record<string, unknown>>(),
    calls: [] as StepKind[],
    saves: [] as PipelineRunRecord[],
    overrides: {} as Partial<Record<StepKind, Override>>,
    cancelled: false,
    clock: 1000,
    saving: false,
    executorSawPendingSave: false,
    newRun(): PipelineRunRecord {
      const plan = planRun(definition, h.keys, { has: (k) => h.store.has(k) }, null);
      return newRunRecord({
        id: 'run-1',
        pipelineId: 'pl-1',
        projectId: 'pr-1',
        number: 1,
        definition,
        trigger: { kind: 'manual', detail: 'Started by hand.' },
        plan,
        now: 500,
      });
    },
    deps(): RunDeps {
      const executors = Object.fromEntries(
        STEP_ORDER.map((kind): [StepKind, StepExecutor] => [
          kind,
          async (ctx) => {
            if (h.saving) h.executorSawPendingSave = true;
            h.calls.push(kind);
            h.clock += 10;
            const override = h.overrides[kind];
            if (override) return override(ctx);
            return { outputs: { made: kind } };
          },
        ]),
      ) as Record<StepKind, StepExecutor>;
      return {
        executors,
        keys: h.keys,
        cache: { get: async (key) => h.store.get(key), put: async (key, _kind, outputs) => void h.store.set(key, outputs) },
        save: async (run) => {
          h.saving = true;
          await new Promise((resolve) => setTimeout(resolve, 1));
          h.saves.push(run);
          h.saving = false;
        },
        isCancelled: () => h.cancelled,
        now: () => h.clock,
      };
    },
  };
  return h;
}

const states = (run: PipelineRunRecord) => run.steps.map((s) => s.state);

describe('runPipeline', () => {
  it('runs every step in order, caches results and passes outputs forward', async () => {
    const h = await harness();
    let seen: unknown[] = [];
    h.overrides.train = async (ctx) => {
      seen = [ctx.outputsOf('preprocess'), ctx.outputsOf('split'), ctx.outputsOf('evaluate'), ctx.outputsOf('nope')];
      ctx.log('epoch 1');
      return { outputs: { versionId: 'v9' } };
    };
    const run = h.newRun();
    const result = await runPipeline(run, h.deps());
    expect(result.state).toBe('succeeded');
    expect(result.message).toBeNull();
    expect(h.calls).toEqual(STEP_ORDER);
    expect(states(result)).toEqual(Array(9).fill('done'));
    expect(seen).toEqual([{ made: 'preprocess' }, { made: 'split' }, null, null]);
    expect(result.steps[4]).toMatchObject({
      key: h.keys[4].key,
      outputs: { versionId: 'v9' },
      durationMs: 10,
      reason: 'never run',
      logs: [{ at: expect.any(Number), message: 'epoch 1' }],
    });
    expect(h.store.size).toBe(9);
    expect(h.store.get(h.keys[4].key)).toEqual({ versionId: 'v9' });
    expect(result.keys).toEqual(h.keys);
    // The input record is left as it was.
    expect(run.state).toBe('running');
    expect(states(run)).toEqual(Array(9).fill('pending'));
  });

  it('saves after every change, awaiting each save, with snapshots rather than the live record', async () => {
    const h = await harness();
    await runPipeline(h.newRun(), h.deps());
    // Start, then running and done per step, then the final state.
    expect(h.saves.length).toBe(1 + 9 * 2 + 1);
    expect(h.executorSawPendingSave).toBe(false);
    expect(states(h.saves[0])).toEqual(Array(9).fill('pending'));
    expect(h.saves[1].steps[0].state).toBe('running');
    expect(h.saves[2].steps[0].state).toBe('done');
    expect(h.saves[2].steps[1].state).toBe('pending');
    expect(h.saves[19].state).toBe('succeeded');
    expect(h.saves[18].state).toBe('running');
  });

  it('executes nothing when every result is cached', async () => {
    const h = await harness();
    await runPipeline(h.newRun(), h.deps());
    h.calls.length = 0;
    h.saves.length = 0;
    const run = h.newRun();
    expect(run.steps.every((s) => s.reason === REASON_CACHED)).toBe(true);
    const result = await runPipeline(run, h.deps());
    expect(h.calls).toEqual([]);
    expect(result.state).toBe('succeeded');
    expect(states(result)).toEqual(Array(9).fill('cached'));
    expect(result.steps.map((s) => s.durationMs)).toEqual(Array(9).fill(0));
    expect(result.steps[2].outputs).toEqual({ made: 'split' });
    expect(h.saves.length).toBe(1 + 9 + 1);
  });

  it('runs a step planned as cached whose result was evicted, saying so', async () => {
    const h = await harness();
    await runPipeline(h.newRun(), h.deps());
    const run = h.newRun();
    h.store.delete(h.keys[3].key);
    h.calls.length = 0;
    const result = await runPipeline(run, h.deps());
    expect(h.calls).toEqual(['preprocess']);
    expect(result.steps[3]).toMatchObject({ state: 'done', reason: 'result no longer in the cache' });
  });

  it('stops at a failing step and skips the later ones', async () => {
    const h = await harness();
    h.overrides.train = async () => {
      throw new Error('Out of memory');
    };
    const result = await runPipeline(h.newRun(), h.deps());
    expect(h.calls).toEqual(['validate', 'snapshot', 'split', 'preprocess', 'train']);
    expect(result.state).toBe('failed');
    expect(result.message).toBe('Step "train" failed: Out of memory');
    expect(states(result)).toEqual(['done', 'done', 'done', 'done', 'failed', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(result.steps[4].error).toBe('Out of memory');
    expect(result.steps[5].reason).toBe('an earlier step failed (train)');
    expect(h.store.has(h.keys[4].key)).toBe(false);
    expect(resumableRun(result)).toBe(false);
  });

  it('finishes rejected when the gate halts, skipping later steps and caching no rejection', async () => {
    const h = await harness();
    h.overrides.gate = async () => ({
      outputs: { pass: false },
      halt: { state: 'rejected', message: 'The candidate is 2.0 points less accurate.' },
    });
    const result = await runPipeline(h.newRun(), h.deps());
    expect(result.state).toBe('rejected');
    expect(result.message).toBe('The candidate is 2.0 points less accurate.');
    expect(states(result)).toEqual(['done', 'done', 'done', 'done', 'done', 'done', 'done', 'skipped', 'skipped']);
    expect(result.steps[6].outputs).toEqual({ pass: false });
    expect(result.steps[8].reason).toBe('The candidate is 2.0 points less accurate.');
    expect(h.calls).not.toContain('register');
    expect(h.store.has(h.keys[6].key)).toBe(false);
    expect(h.store.has(h.keys[5].key)).toBe(true);
    expect(resumableRun(result)).toBe(false);
  });

  it('cancelled mid-step, then resumed, continues from the cut step without rerunning completed ones', async () => {
    const h = await harness();
    let trainCalls = 0;
    h.overrides.train = async (ctx) => {
      if (++trainCalls === 1) {
        h.cancelled = true;
        if (ctx.isCancelled()) throw new Error('Training was stopped.');
      }
      return { outputs: { versionId: 'v2' } };
    };
    const cut = await runPipeline(h.newRun(), h.deps());
    expect(cut.state).toBe('cancelled');
    expect(cut.message).toBe('Cancelled during step "train".');
    expect(states(cut)).toEqual(['done', 'done', 'done', 'done', 'cancelled', 'pending', 'pending', 'pending', 'pending']);
    expect(resumableRun(cut)).toBe(true);

    // An empty cache: only the record can keep the completed steps from running again.
    h.store.clear();
    h.calls.length = 0;
    h.cancelled = false;
    const resumed = await runPipeline(cut, h.deps());
    expect(h.calls).toEqual(['train', 'evaluate', 'gate', 'register', 'promote']);
    expect(resumed.state).toBe('succeeded');
    expect(states(resumed)).toEqual(Array(9).fill('done'));
    expect(resumed.steps[4].outputs).toEqual({ versionId: 'v2' });
    expect(resumed.steps[0].startedAt).toBe(cut.steps[0].startedAt);
  });

  it('counts a step that finished although cancel was asked during it, and stops before the next', async () => {
    const h = await harness();
    h.overrides.split = async () => {
      h.cancelled = true;
      return { outputs: { made: 'split' } };
    };
    const result = await runPipeline(h.newRun(), h.deps());
    expect(result.state).toBe('cancelled');
    expect(result.message).toBe('Cancelled before step "preprocess".');
    expect(states(result)).toEqual(['done', 'done', 'done', 'pending', 'pending', 'pending', 'pending', 'pending', 'pending']);
    expect(h.store.has(h.keys[2].key)).toBe(true);
  });

  it('does nothing when cancelled before it starts', async () => {
    const h = await harness();
    h.cancelled = true;
    const result = await runPipeline(h.newRun(), h.deps());
    expect(h.calls).toEqual([]);
    expect(result.state).toBe('cancelled');
    expect(states(result)).toEqual(Array(9).fill('pending'));
  });

  it('reruns a step left running by a closed tab, keeping the completed ones', async () => {
    const h = await harness();
    const record = h.newRun();
    for (const [i, step] of record.steps.entries()) {
      if (i < 4) Object.assign(step, { state: 'done', key: h.keys[i].key, outputs: { made: step.kind } });
    }
    Object.assign(record.steps[4], { state: 'running', key: h.keys[4].key, startedAt: 700, logs: [{ at: 701, message: 'epoch 1' }] });
    expect(resumableRun(record)).toBe(true);
    const result = await runPipeline(record, h.deps());
    expect(h.calls).toEqual(['train', 'evaluate', 'gate', 'register', 'promote']);
    expect(result.state).toBe('succeeded');
    expect(result.steps[4].logs).toEqual([]);
    expect(result.steps[4].startedAt).toBe(1000);
  });

  it('reruns completed steps whose inputs changed while the run was paused', async () => {
    const h = await harness({ validate: { labeledHash: 'a' } });
    h.overrides.evaluate = async () => {
      h.cancelled = true;
      throw new Error('stopped');
    };
    const cut = await runPipeline(h.newRun(), h.deps());
    expect(states(cut).slice(0, 6)).toEqual(['done', 'done', 'done', 'done', 'done', 'cancelled']);
    h.cancelled = false;
    h.calls.length = 0;
    delete h.overrides.evaluate;
    const changedKeys = await computeStepKeys(h.definition, { validate: { labeledHash: 'b' } });
    const resumed = await runPipeline(cut, { ...h.deps(), keys: changedKeys });
    expect(h.calls).toEqual(STEP_ORDER);
    expect(resumed.steps[0].reason).toBe('its inputs changed while the run was paused');
    expect(resumed.steps.map((s) => s.key)).toEqual(changedKeys.map((k: StepKeyParts) => k.key));
  });

  it('interrupts the run when the GPU is lost, so it can resume', async () => {
    const h = await harness();
    h.overrides.train = async () => {
      const e = new Error('The GPU device was lost.');
      e.name = 'GpuLostError';
      throw e;
    };
    const result = await runPipeline(h.newRun(), h.deps());
    expect(result.state).toBe('interrupted');
    expect(result.steps[4]).toMatchObject({ state: 'cancelled', error: 'The GPU device was lost.' });
    expect(states(result).slice(5)).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(result.message).toMatch(/^Step "train" stopped: the GPU was lost/);
    expect(resumableRun(result)).toBe(true);
  });

  it('refuses keys that do not belong to the run', async () => {
    const h = await harness();
    await expect(runPipeline(h.newRun(), { ...h.deps(), keys: h.keys.slice(1) })).rejects.toThrow(/do not match the run definition/);
  });
});

describe('resumableRun', () => {
  it('is true only for unfinished runs that stopped early', async () => {
    const h = await harness();
    const run = h.newRun();
    expect(resumableRun({ ...run, state: 'interrupted' })).toBe(true);
    expect(resumableRun({ ...run, state: 'failed' })).toBe(false);
    expect(resumableRun({ ...run, state: 'rejected' })).toBe(false);
    const complete = { ...run, state: 'cancelled' as const, steps: run.steps.map((s) => ({ ...s, state: 'cached' as const })) };
    expect(resumableRun(complete)).toBe(false);
  });
});
