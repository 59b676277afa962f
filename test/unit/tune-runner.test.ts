// The study loop with a fake trainer: budget, grid exhaustion, pruning reasons, failed trials that
// do not stop the study, and resume after a cut trial (rerun with the same number and parameters,
// never counted twice).
import { describe, expect, it } from 'vitest';
import { runStudy, type StudyHost, type TrialResult } from '../../src/lib/tune/runner';
import type { StudyPlan, TrialSummary } from '../../src/lib/tune/study';
import type { Params } from '../../src/lib/tune/space';

const space: StudyPlan['space'] = [
  { name: 'learningRate', type: 'float', low: 1e-4, high: 1e-1, log: true },
  { name: 'optimizer', type: 'choice', values: ['adam', 'sgd'] },
];

/** Validation accuracy curve that depends on the learning rate only: best near 1e-2. */
function curveFor(params: Params, epochs: number): number[] {
  const lr = Number(params.learningRate);
  const quality = Math.max(0, 1 - Math.abs(Math.log10(lr) + 2) / 3);
  return Array.from({ length: epochs }, (_, e) => quality * (1 - 0.5 ** (e + 1)));
}

function host(opts: { epochs: number; stopAfter?: number; failWhen?: (p: Params) => boolean; stored?: TrialSummary[] }) {
  const trials: TrialSummary[] = opts.stored ? opts.stored.slice() : [];
  const runs: Array<{ number: number; params: Params }> = [];
  let epochsRun = 0;
  let stopped = false;
  const h: StudyHost = {
    loadTrials: async () => trials.slice(),
    elapsedMs: () => 0,
    isStopped: () => stopped,
    runTrial: async (number, params, report): Promise<TrialResult> => {
      runs.push({ number, params });
      if (opts.failWhen?.(params)) {
        const r: TrialResult = { state: 'failed', values: [], value: null, message: 'The loss became NaN in epoch 1: training diverged.' };
        trials.push({ number, params, state: r.state, values: r.values, value: r.value });
        return r;
      }
      const values: number[] = [];
      for (const v of curveFor(params, opts.epochs)) {
        values.push(v);
        epochsRun++;
        const reason = report(v);
        if (reason) {
          const r: TrialResult = { state: 'pruned', values, value: v, message: reason };
          trials.splice(0, trials.length, ...trials.filter((t) => t.number !== number), {
            number,
            params,
            state: 'pruned',
            values,
            value: v,
          });
          return r;
        }
        if (opts.stopAfter !== undefined && runs.length === opts.stopAfter && values.length === 1) {
          stopped = true;
          trials.splice(0, trials.length, ...trials.filter((t) => t.number !== number), {
            number,
            params,
            state: 'interrupted',
            values,
            value: null,
          });
          return { state: 'interrupted', values, value: null, message: 'stopped' };
        }
      }
      trials.splice(0, trials.length, ...trials.filter((t) => t.number !== number), {
        number,
        params,
        state: 'complete',
        values,
        value: values.at(-1)!,
      });
      return { state: 'complete', values, value: values.at(-1)!, message: null };
    },
  };
  return { h, trials, runs, epochs: () => epochsRun };
}

const plan = (over: Partial<StudyPlan>): StudyPlan => ({
  space,
  strategy: 'random',
  objective: { metric: 'valAcc' },
  maxTrials: 6,
  maxMinutes: null,
  seed: 3,
  pruner: { kind: 'none' },
  ...over,
});

describe('runStudy', () => {
  it('runs until the trial budget is used', async () => {
    const { h, trials } = host({ epochs: 3 });
    await expect(runStudy(plan({}), h)).resolves.toBe('budget');
    expect(trials.map((t) => t.number)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('stops when the grid is exhausted', async () => {
    const { h, trials } = host({ epochs: 1 });
    const grid = plan({
      strategy: 'grid',
      maxTrials: 100,
      space: [{ name: 'optimizer', type: 'choice', values: ['adam', 'sgd', 'rmsprop'] }],
    });
    await expect(runStudy(grid, h)).resolves.toBe('exhausted');
    expect(new Set(trials.map((t) => t.params.optimizer))).toEqual(new Set(['adam', 'sgd', 'rmsprop']));
  });

  it('prunes with a readable reason and trains fewer epochs', async () => {
    const full = host({ epochs: 6 });
    await runStudy(plan({ maxTrials: 10 }), full.h);
    const pruned = host({ epochs: 6 });
    await runStudy(plan({ maxTrials: 10, pruner: { kind: 'median', warmupEpochs: 1, minTrials: 2 } }), pruned.h);
    expect(pruned.trials.some((t) => t.state === 'pruned')).toBe(true);
    expect(pruned.epochs()).toBeLessThan(full.epochs());
  });

  it('marks a diverging trial failed and goes on', async () => {
    const { h, trials } = host({ epochs: 2, failWhen: (p) => Number(p.learningRate) > 0.03 });
    await runStudy(plan({ maxTrials: 8 }), h);
    expect(trials.filter((t) => t.state === 'failed').length).toBeGreaterThan(0);
    expect(trials).toHaveLength(8);
  });

  it('reruns a cut trial with its number and parameters on resume, never counting it twice', async () => {
    const first = host({ epochs: 3, stopAfter: 3 });
    await expect(runStudy(plan({}), first.h)).resolves.toBe('stopped');
    const cut = first.trials.find((t) => t.state === 'interrupted')!;
    expect(cut.number).toBe(3);
    const second = host({ epochs: 3, stored: first.trials });
    await expect(runStudy(plan({}), second.h)).resolves.toBe('budget');
    expect(second.runs[0]).toEqual({ number: 3, params: cut.params });
    expect(second.trials.map((t) => t.number).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(second.trials.every((t) => t.state === 'complete')).toBe(true);
  });
});
