import { describe, expect, it } from 'vitest';
import { paramKey, type Params, type SearchSpace } from '../../src/lib/tune/space';
import {
  bestTrial,
  budgetLeft,
  directionOf,
  nextParams,
  validatePlan,
  type StudyPlan,
  type TrialState,
  type TrialSummary,
} from '../../src/lib/tune/study';

const space: SearchSpace = [
  { name: 'act', type: 'choice', values: ['relu', 'tanh'] },
  { name: 'layers', type: 'int', low: 1, high: 3 },
];

function plan(over: Partial<StudyPlan> = {}): StudyPlan {
  return {
    space,
    strategy: 'grid',
    objective: { metric: 'valAcc' },
    maxTrials: 100,
    maxMinutes: null,
    seed: 1,
    pruner: { kind: 'none' },
    ...over,
  };
}

function trial(
  number: number,
  params: Params,
  state: TrialState,
  value: number | null = null,
  values: number[] = value === null ? [] : [value],
): TrialSummary {
  return { number, params, state, values, value };
}

describe('directionOf', () => {
  it('maximises accuracy and minimises loss', () => {
    expect(directionOf({ metric: 'valAcc' })).toBe('maximize');
    expect(directionOf({ metric: 'valLoss' })).toBe('minimize');
  });
});

describe('nextParams: grid', () => {
  it('hands out every grid point once, then null', () => {
    const p = plan();
    const trials: TrialSummary[] = [];
    for (let n = 0; n < 6; n++) {
      const params = nextParams(p, trials, n);
      expect(params).not.toBeNull();
      trials.push(trial(n, params!, n === 2 ? 'failed' : 'complete', 0.5));
    }
    expect(new Set(trials.map((t) => paramKey(t.params))).size).toBe(6);
    expect(nextParams(p, trials, 6)).toBeNull();
  });

  it('gives an interrupted trial’s point out again, and a resumed trial its own point', () => {
    const p = plan();
    const first = nextParams(p, [], 0)!;
    const trials = [trial(0, first, 'interrupted')];
    expect(nextParams(p, trials, 1)).toEqual(first);
    // Trial 0 left "running" by a closed tab is resumed under its own number: same point.
    expect(nextParams(p, [trial(0, first, 'running')], 0)).toEqual(first);
    expect(nextParams(p, [trial(0, first, 'running')], 1)).not.toEqual(first);
  });

  it('respects gridFloatSteps', () => {
    const floats = plan({ space: [{ name: 'x', type: 'float', low: 0, high: 1 }], gridFloatSteps: 5 });
    const seen: TrialSummary[] = [];
    for (let n = 0; ; n++) {
      const params = nextParams(floats, seen, n);
      if (!params) break;
      seen.push(trial(n, params, 'complete', 0));
    }
    expect(seen.map((t) => t.params.x).sort()).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
});

describe('nextParams: random', () => {
  const random = plan({ strategy: 'random', space: [{ name: 'lr', type: 'float', low: 1e-4, high: 1, log: true }, ...space] });

  it('is a function of (seed, trial number), whatever the other trials', () => {
    const a = nextParams(random, [], 7);
    expect(nextParams(random, [trial(0, { lr: 0.1, act: 'relu', layers: 1 }, 'complete', 0.4)], 7)).toEqual(a);
    expect(nextParams(random, [], 8)).not.toEqual(a);
    expect(nextParams({ ...random, seed: 2 }, [], 7)).not.toEqual(a);
  });

  it('avoids repeating a point in a small discrete space', () => {
    const small = plan({ strategy: 'random' });
    const trials: TrialSummary[] = [];
    for (let n = 0; n < 6; n++) trials.push(trial(n, nextParams(small, trials, n)!, 'complete', 0.5));
    expect(new Set(trials.map((t) => paramKey(t.params))).size).toBe(6);
  });
});

describe('nextParams: bayes', () => {
  const oneD: SearchSpace = [{ name: 'x', type: 'float', low: 0, high: 1 }];
  const run = (metric: 'valAcc' | 'valLoss', f: (x: number) => number, prunedEvery = 0): TrialSummary[] => {
    const p = plan({ strategy: 'bayes', space: oneD, objective: { metric }, seed: 3 });
    const trials: TrialSummary[] = [];
    for (let n = 0; n < 14; n++) {
      const params = nextParams(p, trials, n)!;
      const v = f(params.x as number);
      const pruned = prunedEvery > 0 && n % prunedEvery === 1;
      trials.push(pruned ? { number: n, params, state: 'pruned', values: [v], value: null } : trial(n, params, 'complete', v, [v]));
    }
    return trials;
  };

  it('maximises accuracy (negated for the minimiser) and minimises loss', { timeout: 20_000 }, () => {
    const acc = run('valAcc', (x) => 1 - (x - 0.7) ** 2, 3);
    expect(bestTrial(plan({ objective: { metric: 'valAcc' } }), acc)!.params.x).toBeCloseTo(0.7, 1);
    const loss = run('valLoss', (x) => (x - 0.2) ** 2);
    expect(bestTrial(plan({ objective: { metric: 'valLoss' } }), loss)!.params.x).toBeCloseTo(0.2, 1);
  });

  it('suggests the same for the same trials (a resumed study), ignoring failed trials’ values', () => {
    const p = plan({ strategy: 'bayes', space: oneD, objective: { metric: 'valLoss' } });
    const trials = [0.1, 0.3, 0.5, 0.7, 0.9, 0.45].map((x, n) => trial(n, { x }, 'complete', (x - 0.4) ** 2));
    const withFailure = [...trials, { number: 6, params: { x: 0.05 }, state: 'failed' as const, values: [], value: null }];
    const a = nextParams(p, withFailure, 7);
    expect(nextParams(p, withFailure.map((t) => ({ ...t })).reverse(), 7)).toEqual(a);
    expect(a).not.toEqual({ x: 0.05 });
  });
});

describe('budgetLeft', () => {
  const p = plan({ maxTrials: 3, maxMinutes: 10 });
  const params = { act: 'relu', layers: 1 };

  it('counts complete, pruned and failed trials against maxTrials', () => {
    expect(budgetLeft(p, [trial(0, params, 'complete', 1), trial(1, params, 'pruned', 1)], 0)).toBe(true);
    expect(budgetLeft(p, [trial(0, params, 'complete', 1), trial(1, params, 'pruned', 1), trial(2, params, 'failed')], 0)).toBe(false);
  });

  it('does not count interrupted or running trials', () => {
    const trials = [
      trial(0, params, 'complete', 1),
      trial(1, params, 'interrupted'),
      trial(2, params, 'interrupted'),
      trial(3, params, 'running'),
    ];
    expect(budgetLeft(p, trials, 0)).toBe(true);
  });

  it('stops at maxMinutes, and has no time limit when it is null', () => {
    expect(budgetLeft(p, [], 10 * 60_000 - 1)).toBe(true);
    expect(budgetLeft(p, [], 10 * 60_000)).toBe(false);
    expect(budgetLeft({ ...p, maxMinutes: null }, [], 1e12)).toBe(true);
  });
});

describe('bestTrial', () => {
  const params = { act: 'relu', layers: 1 };
  const trials = [
    trial(0, params, 'complete', 0.8),
    trial(1, params, 'pruned', 0.99),
    trial(2, params, 'complete', 0.6),
    trial(3, params, 'failed'),
    trial(4, params, 'complete', 0.8),
    trial(5, params, 'running', 0.95),
  ];

  it('picks the best complete trial by direction, earliest on a tie', () => {
    expect(bestTrial(plan({ objective: { metric: 'valAcc' } }), trials)!.number).toBe(0);
    expect(bestTrial(plan({ objective: { metric: 'valLoss' } }), trials)!.number).toBe(2);
  });

  it('is null without a complete trial', () => {
    expect(
      bestTrial(
        plan(),
        trials.filter((t) => t.state !== 'complete'),
      ),
    ).toBeNull();
    expect(bestTrial(plan(), [])).toBeNull();
  });
});

describe('validatePlan', () => {
  it('accepts a sound plan and explains a broken one', () => {
    expect(validatePlan(plan())).toBeNull();
    expect(validatePlan(plan({ maxTrials: 0 }))).toMatch(/Maximum trials/);
    expect(validatePlan(plan({ maxMinutes: -1 }))).toMatch(/Time limit/);
    expect(validatePlan(plan({ pruner: { kind: 'asha', minEpochs: 0, reductionFactor: 3 } }))).toMatch(/ASHA/);
    const huge = Array.from({ length: 10 }, (_, i) => ({ name: `p${i}`, type: 'choice' as const, values: [1, 2, 3, 4] }));
    expect(validatePlan(plan({ space: huge }))).toMatch(/1,048,576 points/);
    expect(validatePlan(plan({ space: huge, strategy: 'random' }))).toBeNull();
  });
});
