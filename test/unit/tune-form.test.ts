import { describe, expect, it } from 'vitest';
import { buildPlan, buildSpace, defaultForm, defaultRows, ROW_ORDER, type ParamRow } from '../../src/lib/tune/form';
import { DEFAULT_SPACE } from '../../src/lib/tune/training-space';
import { DEFAULT_SETTINGS } from '../../src/lib/train/train-config';

const row = (rows: ParamRow[], name: ParamRow['name']) => rows.find((r) => r.name === name)!;

describe('tune form: search space', () => {
  it('starts with the default space, parents before the settings that depend on them', () => {
    const rows = defaultRows();
    expect(rows.map((r) => r.name)).toEqual(ROW_ORDER);
    expect(
      rows
        .filter((r) => r.include)
        .map((r) => r.name)
        .sort(),
    ).toEqual(DEFAULT_SPACE.map((p) => p.name).sort());
    const space = buildSpace(rows, DEFAULT_SETTINGS);
    expect(typeof space).not.toBe('string');
    expect(space).toEqual(
      ROW_ORDER.map((n) => DEFAULT_SPACE.find((p) => p.name === n))
        .filter(Boolean)
        .map((p) => (p!.type === 'choice' ? p : { log: false, ...p })),
    );
  });

  it('parses typed choices as numbers for numeric settings and refuses what is not one', () => {
    const rows = defaultRows();
    row(rows, 'batchSize').choices = ' 16, 32 ,, 64 ';
    const space = buildSpace(rows, DEFAULT_SETTINGS);
    if (typeof space === 'string') throw new Error(space);
    expect(space.find((p) => p.name === 'batchSize')).toEqual({ name: 'batchSize', type: 'choice', values: [16, 32, 64] });
    row(rows, 'batchSize').choices = '16, many';
    expect(buildSpace(rows, DEFAULT_SETTINGS)).toMatch(/“many” is not a number/);
    row(rows, 'batchSize').choices = '16, 32.5';
    expect(buildSpace(rows, DEFAULT_SETTINGS)).toMatch(/“32.5” is not a whole number/);
    row(rows, 'batchSize').choices = ' , ';
    expect(buildSpace(rows, DEFAULT_SETTINGS)).toMatch(/list at least one value/);
  });

  it('needs both ends of a range and at least one setting', () => {
    const rows = defaultRows();
    row(rows, 'learningRate').high = null;
    expect(buildSpace(rows, DEFAULT_SETTINGS)).toMatch(/enter both low and high/);
    expect(
      buildSpace(
        defaultRows().map((r) => ({ ...r, include: false })),
        DEFAULT_SETTINGS,
      ),
    ).toBe('Include at least one setting to search.');
  });

  it('keeps a conditional setting only where its parent can take the value', () => {
    const rows = defaultRows();
    // momentum depends on optimizer = sgd: searched with sgd among the choices, it is conditional
    const withSgd = buildSpace(rows, DEFAULT_SETTINGS);
    if (typeof withSgd === 'string') throw new Error(withSgd);
    expect(withSgd.find((p) => p.name === 'momentum')?.condition).toEqual({ param: 'optimizer', in: ['sgd'] });
    row(rows, 'optimizer').choices = 'adam, rmsprop';
    expect(buildSpace(rows, DEFAULT_SETTINGS)).toMatch(/only matters when Optimizer is sgd: add sgd/i);
    // not searched: the base settings decide
    row(rows, 'optimizer').include = false;
    expect(buildSpace(rows, DEFAULT_SETTINGS)).toMatch(/the Train stage uses adam/);
    const plain = buildSpace(rows, { ...DEFAULT_SETTINGS, optimizer: 'sgd' });
    if (typeof plain === 'string') throw new Error(plain);
    expect(plain.find((p) => p.name === 'momentum')?.condition).toBeUndefined();
  });

  it('refuses values the trainer cannot take', () => {
    const rows = defaultRows();
    row(rows, 'architecture').include = true;
    row(rows, 'architecture').choices = 'cnn, transformer';
    expect(buildSpace(rows, DEFAULT_SETTINGS)).toMatch(/Architecture choices are/);
  });
});

describe('tune form: plan', () => {
  const space = () => {
    const s = buildSpace(defaultRows(), DEFAULT_SETTINGS);
    if (typeof s === 'string') throw new Error(s);
    return s;
  };

  it('builds the default plan with the median pruner', () => {
    const plan = buildPlan(defaultForm(), space());
    if (typeof plan === 'string') throw new Error(plan);
    expect(plan).toMatchObject({
      strategy: 'random',
      objective: { metric: 'valAcc' },
      maxTrials: 10,
      maxMinutes: null,
      seed: 1,
      pruner: { kind: 'median', warmupEpochs: 1, minTrials: 3 },
    });
    expect(plan).not.toHaveProperty('gridFloatSteps');
  });

  it('adds grid points for a grid and ASHA settings for ASHA', () => {
    const plan = buildPlan({ ...defaultForm(), strategy: 'grid', gridSteps: 2, pruner: 'asha' }, space());
    if (typeof plan === 'string') throw new Error(plan);
    expect(plan.gridFloatSteps).toBe(2);
    expect(plan.pruner).toEqual({ kind: 'asha', minEpochs: 1, reductionFactor: 3 });
    const none = buildPlan({ ...defaultForm(), pruner: 'none', warmupEpochs: null }, space());
    expect(typeof none === 'string' ? none : none.pruner).toEqual({ kind: 'none' });
  });

  it.each([
    [{ maxTrials: 0 }, /number of trials/],
    [{ maxTrials: null }, /number of trials/],
    [{ maxMinutes: -1 }, /time budget/],
    [{ seed: 1.5 }, /seed/],
    [{ strategy: 'grid' as const, gridSteps: 0 }, /Grid points/],
    [{ warmupEpochs: -1 }, /Warm-up epochs/],
    [{ minTrials: 0 }, /Minimum trials/],
    [{ pruner: 'asha' as const, minEpochs: 0 }, /ASHA minimum epochs/],
    [{ pruner: 'asha' as const, reductionFactor: 1 }, /reduction factor/],
  ])('refuses %o', (patch, message) => {
    expect(buildPlan({ ...defaultForm(), ...patch }, space())).toMatch(message);
  });
});
