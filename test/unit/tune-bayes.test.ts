import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../src/lib/ml/random';
import { makeEncoder, refitLength, suggestBayesian, type Observation } from '../../src/lib/tune/bayes';
import {
  cholesky,
  expectedImprovement,
  fitGp,
  lbfgs,
  logExpectedImprovement,
  negLogPosterior,
  normalCdf,
  pairwiseSquaredDiffs,
  predict,
  solveLower,
  solveUpperT,
  standardise,
} from '../../src/lib/tune/gp';
import { sampleRandom } from '../../src/lib/tune/random-search';
import { isActive, paramKey, type Params, type SearchSpace } from '../../src/lib/tune/space';

describe('GP building blocks', () => {
  it('Cholesky factor reproduces the matrix and solves systems', () => {
    const rand = mulberry32(3);
    const n = 6;
    const b = Array.from({ length: n * n }, () => rand() - 0.5);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = i === j ? n : 0;
        for (let k = 0; k < n; k++) s += b[i * n + k] * b[j * n + k];
        a[i * n + j] = s;
      }
    const l = cholesky(a, n)!;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += l[i * n + k] * l[j * n + k];
        expect(s).toBeCloseTo(a[i * n + j], 10);
      }
    const rhs = Array.from({ length: n }, (_, i) => i - 2);
    const x = solveUpperT(l, n, solveLower(l, n, rhs));
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * x[k];
      expect(s).toBeCloseTo(rhs[i], 10);
    }
    expect(cholesky(Float64Array.from([1, 2, 2, 1]), 2)).toBeNull();
  });

  it('the log-posterior gradient matches finite differences', () => {
    const rand = mulberry32(11);
    const n = 20;
    const d = 3;
    const X = Array.from({ length: n }, () => Float64Array.from({ length: d }, () => rand()));
    const z = standardise(X.map((x) => Math.sin(6 * x[0]) + x[1] ** 2 + 0.05 * rand())).z;
    const diffs = pairwiseSquaredDiffs(X);
    const theta = Float64Array.from([-1.2, -0.3, 0.4, 0.1, -4]);
    const { grad } = negLogPosterior(diffs, n, d, z, theta);
    for (let i = 0; i < theta.length; i++) {
      const h = 1e-5;
      const up = Float64Array.from(theta);
      const down = Float64Array.from(theta);
      up[i] += h;
      down[i] -= h;
      const numeric = (negLogPosterior(diffs, n, d, z, up).value - negLogPosterior(diffs, n, d, z, down).value) / (2 * h);
      expect(grad[i]).toBeCloseTo(numeric, 4);
    }
  });

  it('L-BFGS minimises the Rosenbrock function', () => {
    const rosen = (x: Float64Array) => ({
      value: (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2,
      grad: Float64Array.from([-2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] ** 2), 200 * (x[1] - x[0] ** 2)]),
    });
    const { x, value } = lbfgs(rosen, [-1.2, 1], 500);
    expect(value).toBeLessThan(1e-8);
    expect(x[0]).toBeCloseTo(1, 3);
  });

  it('fits a smooth function: near-exact at data, uncertain away from it, irrelevant inputs ignored', () => {
    const rand = mulberry32(5);
    const X = Array.from({ length: 25 }, () => Float64Array.from([rand(), rand()]));
    const f = (x: ArrayLike<number>) => Math.sin(5 * x[0]);
    const model = fitGp(X, X.map(f), rand);
    // Second input does not matter: its lengthscale should be much longer than the first's.
    expect(model.hyper.lengthscales[1]).toBeGreaterThan(3 * model.hyper.lengthscales[0]);
    for (const x of [Float64Array.from([0.31, 0.5]), Float64Array.from([0.77, 0.2])]) {
      const { mean, sd } = predict(model, x);
      expect(mean * model.yStd + model.yMean).toBeCloseTo(f(x), 1);
      expect(sd * model.yStd).toBeLessThan(0.1);
    }
    const atData = predict(model, X[0]);
    expect(atData.sd).toBeLessThan(0.01);
    expect(predict(model, [3, 3]).sd).toBeGreaterThan(0.5);
  });

  it('expected improvement matches Monte Carlo, and log EI stays accurate where EI underflows', () => {
    const rand = mulberry32(8);
    const [mean, sd, best] = [0.3, 0.8, 0];
    let sum = 0;
    const draws = 200_000;
    for (let i = 0; i < draws; i++) {
      const y = mean + sd * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
      sum += Math.max(0, best - y);
    }
    expect(expectedImprovement(mean, sd, best)).toBeCloseTo(sum / draws, 2);
    expect(normalCdf(0)).toBeCloseTo(0.5, 7);
    expect(normalCdf(1.96)).toBeCloseTo(0.975, 4);
    for (const m of [0.5, 2, 5]) expect(logExpectedImprovement(m, 1, 0)).toBeCloseTo(Math.log(expectedImprovement(m, 1, 0)), 4);
    // Far tail: EI is 0 in floating point, log EI still finite and still decreasing.
    expect(expectedImprovement(40, 1, 0)).toBe(0);
    expect(Number.isFinite(logExpectedImprovement(40, 1, 0))).toBe(true);
    expect(logExpectedImprovement(40, 1, 0)).toBeGreaterThan(logExpectedImprovement(41, 1, 0));
    expect(logExpectedImprovement(6.5, 1, 0)).toBeCloseTo(Math.log(expectedImprovement(6.5, 1, 0)), 2);
  });

  it('refits hyperparameters every observation at first, then less often', () => {
    expect([5, 10, 15].map(refitLength)).toEqual([5, 10, 15]);
    expect(refitLength(17)).toBe(16);
    expect(refitLength(99)).toBe(90);
    for (let n = 16; n < 200; n++) {
      expect(refitLength(n)).toBeLessThanOrEqual(n);
      expect(refitLength(n)).toBeGreaterThan(0.9 * n - 1);
    }
  });
});

describe('encoding', () => {
  it('maps numerics to [0, 1] (log in log space), choices one-hot, inactive to fixed values', () => {
    const space: SearchSpace = [
      { name: 'opt', type: 'choice', values: ['sgd', 'adam'] },
      { name: 'lr', type: 'float', low: 1e-4, high: 1, log: true },
      { name: 'momentum', type: 'float', low: 0, high: 1, condition: { param: 'opt', in: ['sgd'] } },
      { name: 'units', type: 'int', low: 10, high: 20 },
      { name: 'act', type: 'choice', values: ['relu', 'tanh', 'gelu'], condition: { param: 'opt', in: ['sgd'] } },
    ];
    const enc = makeEncoder(space);
    expect(enc.dims).toBe(2 + 1 + 1 + 1 + 3);
    expect(Array.from(enc.encode({ opt: 'sgd', lr: 1e-2, momentum: 0.9, units: 15, act: 'gelu' })).map((v) => +v.toFixed(6))).toEqual([
      1, 0, 0.5, 0.9, 0.5, 0, 0, 1,
    ]);
    expect(Array.from(enc.encode({ opt: 'adam', lr: 1, units: 10 }))).toEqual([0, 1, 1, 0.5, 0, 0, 0, 0]);
  });
});

const mixed: SearchSpace = [
  { name: 'optimizer', type: 'choice', values: ['sgd', 'adam'] },
  { name: 'lr', type: 'float', low: 1e-4, high: 1e-1, log: true },
  { name: 'momentum', type: 'float', low: 0.5, high: 0.99, condition: { param: 'optimizer', in: ['sgd'] } },
  { name: 'nesterov', type: 'choice', values: [true, false], condition: { param: 'optimizer', in: ['sgd'] } },
  { name: 'units', type: 'int', low: 16, high: 256, step: 16 },
  { name: 'batch', type: 'int', low: 8, high: 512, log: true },
  { name: 'beta1', type: 'float', low: 0.8, high: 0.99, condition: { param: 'optimizer', in: ['adam'] } },
];

/** A made-up loss with a best region under adam and a decent one under sgd. */
function mixedLoss(p: Params): number {
  const lr = Math.log10(p.lr as number);
  const base = (lr + 2.5) ** 2 + (((p.units as number) - 128) / 128) ** 2 + (Math.log2(p.batch as number) - 5) ** 2 / 10;
  return p.optimizer === 'adam'
    ? base + ((p.beta1 as number) - 0.9) ** 2 * 10
    : base + 0.3 + (1 - (p.momentum as number)) + (p.nesterov ? 0 : 0.1);
}

function expectValidPoint(space: SearchSpace, p: Params): void {
  const built: Params = {};
  for (const spec of space) {
    const present = Object.prototype.hasOwnProperty.call(p, spec.name);
    expect(present, `${spec.name} present iff active in ${JSON.stringify(p)}`).toBe(isActive(spec, built));
    if (!present) continue;
    const v = p[spec.name];
    if (spec.type === 'choice') {
      expect(spec.values).toContain(v);
    } else {
      expect(typeof v).toBe('number');
      expect(v as number).toBeGreaterThanOrEqual(spec.low);
      expect(v as number).toBeLessThanOrEqual(spec.high);
      if (spec.type === 'int') expect(((v as number) - spec.low) % (spec.step ?? 1)).toBe(0);
    }
    built[spec.name] = v;
  }
  expect(Object.keys(p).every((k) => space.some((s) => s.name === k))).toBe(true);
}

describe('suggestBayesian', () => {
  it('respects conditions, bounds, step grids and choices, and never repeats a point', { timeout: 30_000 }, () => {
    const rand = mulberry32(21);
    const history: Observation[] = [];
    for (let i = 0; i < 30; i++) {
      const p = suggestBayesian(mixed, history, rand);
      expectValidPoint(mixed, p);
      expect(history.some((o) => paramKey(o.params) === paramKey(p))).toBe(false);
      history.push({ params: p, value: mixedLoss(p) });
    }
    // The model should be doing better than its own random start.
    const best = (obs: Observation[]) => Math.min(...obs.map((o) => o.value));
    expect(best(history)).toBeLessThan(best(history.slice(0, 8)));
  });

  it('starts with sampleRandom draws, then is deterministic for a given history and seed', () => {
    const space: SearchSpace = [
      { name: 'x', type: 'float', low: 0, high: 1 },
      { name: 'y', type: 'float', low: 0, high: 1 },
    ];
    expect(suggestBayesian(space, [], mulberry32(4))).toEqual(sampleRandom(space, mulberry32(4)));
    const rand = mulberry32(9);
    const history: Observation[] = Array.from({ length: 8 }, () => {
      const params = sampleRandom(space, rand);
      return { params, value: ((params.x as number) - 0.3) ** 2 + ((params.y as number) - 0.6) ** 2 };
    });
    const a = suggestBayesian(space, history, mulberry32(77));
    const b = suggestBayesian(
      space,
      history.map((o) => ({ ...o })),
      mulberry32(77),
    );
    expect(a).toEqual(b);
    // It heads for the minimum at (0.3, 0.6).
    expect(Math.hypot((a.x as number) - 0.3, (a.y as number) - 0.6)).toBeLessThan(0.35);
  });

  it('in a small discrete space, suggests every point once before repeating any', () => {
    const space: SearchSpace = [
      { name: 'a', type: 'choice', values: ['p', 'q', 'r'] },
      { name: 'b', type: 'int', low: 1, high: 3 },
    ];
    const rand = mulberry32(2);
    const history: Observation[] = [];
    for (let i = 0; i < 9; i++) {
      const p = suggestBayesian(space, history, rand, { initialRandom: 3, candidates: 200 });
      history.push({ params: p, value: (p.b as number) + (p.a === 'q' ? 0 : 1) });
    }
    expect(new Set(history.map((o) => paramKey(o.params))).size).toBe(9);
    // Exhausted: a repeat is unavoidable but still a valid point.
    expectValidPoint(space, suggestBayesian(space, history, rand, { initialRandom: 3, candidates: 200 }));
  });

  it('skips non-finite observations in the model but does not suggest their points again', () => {
    const space: SearchSpace = [{ name: 'k', type: 'int', low: 0, high: 3 }];
    const history: Observation[] = [
      { params: { k: 0 }, value: 1 },
      { params: { k: 1 }, value: NaN },
      { params: { k: 2 }, value: 0.5 },
    ];
    const p = suggestBayesian(space, history, mulberry32(1), { initialRandom: 2 });
    expect(p).toEqual({ k: 3 });
  });
});
