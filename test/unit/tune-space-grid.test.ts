import { describe, expect, it } from 'vitest';
import { gridPoints, gridSize, gridValues } from '../../src/lib/tune/grid';
import { activeSpecs, fromUnit, isActive, paramKey, toUnit, validateSpace, type SearchSpace } from '../../src/lib/tune/space';

const conditional: SearchSpace = [
  { name: 'optimizer', type: 'choice', values: ['sgd', 'adam'] },
  { name: 'lr', type: 'float', low: 1e-4, high: 1e-1, log: true },
  { name: 'momentum', type: 'choice', values: [0, 0.5, 0.9], condition: { param: 'optimizer', in: ['sgd'] } },
  { name: 'beta1', type: 'float', low: 0.8, high: 0.99, condition: { param: 'optimizer', in: ['adam'] } },
];

describe('validateSpace', () => {
  it('accepts a sound space', () => {
    expect(validateSpace(conditional)).toBeNull();
  });

  it.each<[string, SearchSpace, RegExp]>([
    ['empty', [], /no parameters/],
    ['low >= high', [{ name: 'a', type: 'float', low: 1, high: 1 }], /below high/],
    ['log with low <= 0', [{ name: 'a', type: 'float', low: 0, high: 1, log: true }], /low > 0/],
    ['non-integer int bounds', [{ name: 'a', type: 'int', low: 0.5, high: 3 }], /whole numbers/],
    ['bad step', [{ name: 'a', type: 'int', low: 0, high: 10, step: 0 }], /step/],
    ['log int with step', [{ name: 'a', type: 'int', low: 1, high: 64, step: 2, log: true }], /log scale cannot/],
    ['empty choices', [{ name: 'a', type: 'choice', values: [] }], /at least one/],
    ['duplicate choice', [{ name: 'a', type: 'choice', values: [1, 1] }], /twice/],
    [
      'duplicate names',
      [
        { name: 'a', type: 'choice', values: [1] },
        { name: 'a', type: 'choice', values: [2] },
      ],
      /defined twice/,
    ],
    [
      'condition on unknown param',
      [{ name: 'a', type: 'float', low: 0, high: 1, condition: { param: 'zzz', in: [1] } }],
      /not defined before/,
    ],
    [
      'condition on a later param',
      [
        { name: 'a', type: 'float', low: 0, high: 1, condition: { param: 'b', in: [1] } },
        { name: 'b', type: 'choice', values: [1, 2] },
      ],
      /not defined before/,
    ],
    [
      'condition value that is not a choice',
      [
        { name: 'b', type: 'choice', values: [1, 2] },
        { name: 'a', type: 'float', low: 0, high: 1, condition: { param: 'b', in: [3] } },
      ],
      /not a choice/,
    ],
    ['nameless', [{ name: ' ', type: 'choice', values: [1] }], /name/],
  ])('rejects %s', (_, space, reason) => {
    expect(validateSpace(space)).toMatch(reason);
  });
});

describe('conditions and keys', () => {
  it('isActive follows the parent value, and chains through inactive parents', () => {
    const chained: SearchSpace = [
      ...conditional,
      { name: 'nesterov', type: 'choice', values: [true, false], condition: { param: 'momentum', in: [0.5, 0.9] } },
    ];
    const nesterov = chained[4];
    expect(isActive(nesterov, { optimizer: 'sgd', momentum: 0.9 })).toBe(true);
    expect(isActive(nesterov, { optimizer: 'sgd', momentum: 0 })).toBe(false);
    // momentum is absent (inactive under adam), so its child is inactive too.
    expect(isActive(nesterov, { optimizer: 'adam', beta1: 0.9 })).toBe(false);
    expect(activeSpecs(chained, { optimizer: 'adam' }).map((s) => s.name)).toEqual(['optimizer', 'lr', 'beta1']);
  });

  it('paramKey ignores key order and keeps types apart', () => {
    expect(paramKey({ a: 1, b: 'x' })).toBe(paramKey({ b: 'x', a: 1 }));
    expect(paramKey({ a: 1 })).not.toBe(paramKey({ a: '1' }));
    expect(paramKey({ a: true })).not.toBe(paramKey({ a: 'true' }));
  });

  it('toUnit and fromUnit invert each other, in log space when log', () => {
    const lr = { name: 'lr', type: 'float', low: 1e-4, high: 1e-1, log: true } as const;
    expect(toUnit(lr, 1e-3)).toBeCloseTo(1 / 3, 12);
    expect(fromUnit(lr, 2 / 3)).toBeCloseTo(1e-2, 12);
    const units = { name: 'u', type: 'int', low: 16, high: 256, step: 16 } as const;
    expect(fromUnit(units, 0.52)).toBe(144); // 16 + 0.52·240 = 140.8, nearest on the 16-grid
    expect(fromUnit(units, 1)).toBe(256);
  });
});

describe('grid', () => {
  it('enumerates exactly the product when unconditional, every point unique', () => {
    const space: SearchSpace = [
      { name: 'lr', type: 'float', low: 1e-4, high: 1e-1, log: true },
      { name: 'layers', type: 'int', low: 1, high: 3 },
      { name: 'units', type: 'int', low: 16, high: 64, step: 16 },
      { name: 'act', type: 'choice', values: ['relu', 'gelu'] },
      { name: 'dropout', type: 'float', low: 0, high: 0.5 },
    ];
    const expected = 3 * 3 * 4 * 2 * 3;
    const points = gridPoints(space);
    expect(points).toHaveLength(expected);
    expect(gridSize(space)).toBe(expected);
    expect(new Set(points.map(paramKey)).size).toBe(expected);
    expect(new Set(points.map((p) => p.units))).toEqual(new Set([16, 32, 48, 64]));
    expect(new Set(points.map((p) => p.dropout))).toEqual(new Set([0, 0.25, 0.5]));
  });

  it('spaces log floats evenly in log space, including both ends', () => {
    const lr = gridValues({ name: 'lr', type: 'float', low: 1e-4, high: 1e-1, log: true }, 4) as number[];
    expect(lr).toHaveLength(4);
    [1e-4, 1e-3, 1e-2, 1e-1].forEach((v, i) => expect(lr[i]).toBeCloseTo(v, 15));
    const lin = gridValues({ name: 'x', type: 'float', low: -1, high: 1 }, 5);
    expect(lin).toEqual([-1, -0.5, 0, 0.5, 1]);
    expect(gridValues({ name: 'x', type: 'float', low: 1, high: 100, log: true }, 1)[0]).toBeCloseTo(10, 12);
  });

  it('thins an int range of more than 50 values like a float, log when log', () => {
    expect(gridValues({ name: 'n', type: 'int', low: 0, high: 49 })).toHaveLength(50);
    expect(gridValues({ name: 'n', type: 'int', low: 0, high: 100 })).toEqual([0, 50, 100]);
    expect(gridValues({ name: 'n', type: 'int', low: 1, high: 1024, log: true }, 3)).toEqual([1, 32, 1024]);
    expect(gridValues({ name: 'n', type: 'int', low: 0, high: 1000, step: 10 }, 3)).toEqual([0, 500, 1000]);
  });

  it('enumerates conditional params only where active, without duplicate points', () => {
    const points = gridPoints(conditional);
    // lr (3) × [sgd: momentum (3) + adam: beta1 (3)]
    expect(points).toHaveLength(3 * (3 + 3));
    expect(gridSize(conditional)).toBe(points.length);
    expect(new Set(points.map(paramKey)).size).toBe(points.length);
    for (const p of points) {
      if (p.optimizer === 'sgd') {
        expect(Object.keys(p).sort()).toEqual(['lr', 'momentum', 'optimizer']);
      } else {
        expect(Object.keys(p).sort()).toEqual(['beta1', 'lr', 'optimizer']);
      }
    }
  });

  it('counts nested conditions and large grids without enumerating', () => {
    const nested: SearchSpace = [
      { name: 'model', type: 'choice', values: ['mlp', 'cnn', 'linear'] },
      { name: 'layers', type: 'int', low: 1, high: 4, condition: { param: 'model', in: ['mlp', 'cnn'] } },
      { name: 'width', type: 'choice', values: [32, 64], condition: { param: 'layers', in: [2, 3, 4] } },
      { name: 'kernel', type: 'choice', values: [3, 5], condition: { param: 'model', in: ['cnn'] } },
    ];
    // mlp: layers 1 (1) + layers 2..4 × width 2 (6) = 7; cnn: 7 × kernel 2 = 14; linear: 1.
    expect(gridSize(nested)).toBe(22);
    expect(gridPoints(nested)).toHaveLength(22);
    const huge: SearchSpace = Array.from({ length: 12 }, (_, i) => ({ name: `p${i}`, type: 'choice' as const, values: [1, 2, 3, 4, 5] }));
    expect(gridSize(huge)).toBe(5 ** 12);
  });

  it('refuses an invalid space', () => {
    expect(() => gridPoints([{ name: 'a', type: 'float', low: 1, high: 0 }])).toThrow(/below high/);
  });
});
