import { describe, expect, it } from 'vitest';
import { ashaRungIndex, shouldPrune, type PrunerConfig, type TrialCurve } from '../../src/lib/tune/pruners';

const curve = (id: string, values: number[], finished = true): TrialCurve => ({ id, values, finished });

describe('no pruner', () => {
  it('never prunes', () => {
    expect(shouldPrune({ kind: 'none' }, 'maximize', curve('t', [0]), [curve('a', [1]), curve('b', [1])])).toEqual({
      prune: false,
      reason: null,
    });
  });
});

describe('median pruner', () => {
  const median: PrunerConfig = { kind: 'median', warmupEpochs: 1, minTrials: 3 };
  const accCurves = [curve('a', [0.6, 0.77, 0.8]), curve('b', [0.7, 0.8, 0.85]), curve('c', [0.5, 0.6, 0.65])];

  it('prunes a trial whose best so far is below the median at that epoch (maximize)', () => {
    // Others' best up to epoch 2: 0.77, 0.8, 0.6 → median 0.77.
    const d = shouldPrune(median, 'maximize', curve('t', [0.41, 0.3], false), accCurves, 'val acc');
    expect(d).toEqual({ prune: true, reason: 'val acc 0.41 below median 0.77 at epoch 2' });
  });

  it('keeps a trial at or above the median', () => {
    expect(shouldPrune(median, 'maximize', curve('t', [0.5, 0.77], false), accCurves).prune).toBe(false);
    expect(shouldPrune(median, 'maximize', curve('t', [0.9, 0.2], false), accCurves).prune).toBe(false); // best so far 0.9
  });

  it('uses the other trials’ best so far, not their value at the epoch', () => {
    // Values at epoch 2 would be 0.2, 0.3, 0.25 (median 0.25 < 0.5); their bests are 0.9, 0.8, 0.85.
    const others = [curve('a', [0.9, 0.2]), curve('b', [0.8, 0.3]), curve('c', [0.85, 0.25])];
    expect(shouldPrune(median, 'maximize', curve('t', [0.4, 0.5], false), others)).toMatchObject({ prune: true });
  });

  it('waits for the warm-up and for enough finished trials that reached the epoch', () => {
    expect(shouldPrune(median, 'maximize', curve('t', [0.01], false), accCurves).prune).toBe(false); // epoch 1 ≤ warm-up
    const two = accCurves.slice(0, 2);
    expect(shouldPrune(median, 'maximize', curve('t', [0.1, 0.1], false), two).prune).toBe(false);
    // Running (unfinished) trials and ones that stopped before the epoch do not count.
    const notComparable = [...two, curve('r', [0.9, 0.9], false), curve('p', [0.9])];
    expect(shouldPrune(median, 'maximize', curve('t', [0.1, 0.1], false), notComparable).prune).toBe(false);
    // The trial itself is ignored if passed among the others.
    const t = curve('t', [0.1, 0.1], false);
    expect(shouldPrune(median, 'maximize', t, [...two, { ...t, finished: true }]).prune).toBe(false);
  });

  it('minimize: prunes a loss above the median', () => {
    const losses = [curve('a', [1.2, 0.6]), curve('b', [1.0, 0.5]), curve('c', [1.5, 0.9])];
    expect(shouldPrune(median, 'minimize', curve('t', [1.3, 0.95], false), losses, 'val loss')).toEqual({
      prune: true,
      reason: 'val loss 0.95 above median 0.6 at epoch 2',
    });
    expect(shouldPrune(median, 'minimize', curve('t', [1.3, 0.55], false), losses).prune).toBe(false);
  });

  it('prunes a trial whose values are all NaN', () => {
    expect(shouldPrune(median, 'minimize', curve('t', [NaN, NaN], false), accCurves)).toMatchObject({
      prune: true,
      reason: expect.stringMatching(/not a number/),
    });
  });
});

describe('ASHA', () => {
  const asha: PrunerConfig = { kind: 'asha', minEpochs: 1, reductionFactor: 3 };

  it('has rungs at minEpochs · η^k', () => {
    const rungs = Array.from({ length: 30 }, (_, i) => i + 1).filter(
      (e) => ashaRungIndex({ kind: 'asha', minEpochs: 2, reductionFactor: 3 }, e) !== null,
    );
    expect(rungs).toEqual([2, 6, 18]);
  });

  it('decides only on rung epochs', () => {
    const others = [curve('a', [0.9, 0.9]), curve('b', [0.9, 0.9]), curve('c', [0.9, 0.9])];
    expect(shouldPrune(asha, 'maximize', curve('t', [0.95, 0.1], false), others).prune).toBe(false); // epoch 2: no rung
  });

  it('continues only within the top ⌊n/η⌋ at the rung, itself included (maximize)', () => {
    const others = [0.9, 0.8, 0.7, 0.6, 0.5].map((v, i) => curve(`o${i}`, [v], i < 2));
    // n = 6, η = 3: top 2 continue (0.9 and the trial's 0.85).
    expect(shouldPrune(asha, 'maximize', curve('t', [0.85], false), others).prune).toBe(false);
    const d = shouldPrune(asha, 'maximize', curve('t', [0.75], false), others, 'val acc');
    expect(d).toEqual({ prune: true, reason: 'val acc 0.75 at epoch 1 not among the top 2 of 6 trials at that rung (cut-off 0.8)' });
    // A tie with the cut-off continues.
    expect(shouldPrune(asha, 'maximize', curve('t', [0.8], false), others).prune).toBe(false);
  });

  it('with fewer than η values at the rung, continues only the best so far', () => {
    const one = [curve('a', [0.7, 0.7, 0.7])];
    expect(shouldPrune(asha, 'maximize', curve('t', [0.8], false), one).prune).toBe(false);
    expect(shouldPrune(asha, 'maximize', curve('t', [0.6], false), one)).toMatchObject({
      prune: true,
      reason: expect.stringMatching(/not among the best of 2/),
    });
    expect(shouldPrune(asha, 'maximize', curve('t', [0.1], false), []).prune).toBe(false); // the first trial always continues
  });

  it('uses the value at the rung epoch, at later rungs too, and counts stopped trials that reached it', () => {
    // Rung at epoch 3: others recorded 0.5, 0.6 and 0.95 there (the last one later pruned).
    const others = [
      curve('a', [0.1, 0.2, 0.5, 0.6]),
      curve('b', [0.3, 0.4, 0.6]),
      curve('c', [0.8, 0.9, 0.95], false),
      curve('short', [0.99]),
    ];
    // n = 4 (three others + itself), top ⌊4/3⌋ = 1: only 0.95 continues.
    expect(shouldPrune(asha, 'maximize', curve('t', [0.99, 0.99, 0.7], false), others).prune).toBe(true);
    expect(shouldPrune(asha, 'maximize', curve('t', [0.1, 0.1, 0.96], false), others).prune).toBe(false);
  });

  it('minimize: lower values are better', () => {
    const others = [0.2, 0.3, 0.4, 0.5, 0.6].map((v, i) => curve(`o${i}`, [v]));
    expect(shouldPrune(asha, 'minimize', curve('t', [0.25], false), others).prune).toBe(false);
    expect(shouldPrune(asha, 'minimize', curve('t', [0.35], false), others, 'val loss')).toEqual({
      prune: true,
      reason: 'val loss 0.35 at epoch 1 not among the top 2 of 6 trials at that rung (cut-off 0.3)',
    });
  });

  it('rejects a nonsensical configuration', () => {
    expect(() => shouldPrune({ kind: 'asha', minEpochs: 1, reductionFactor: 1 }, 'maximize', curve('t', [1]), [])).toThrow(
      /reduction factor/,
    );
    expect(() => shouldPrune({ kind: 'median', warmupEpochs: -1, minTrials: 1 }, 'maximize', curve('t', [1]), [])).toThrow(/warm-up/);
  });
});
