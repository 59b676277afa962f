// Bayesian optimisation: a Gaussian process over the encoded search space and expected
// improvement, maximised over a random candidate pool refined by local perturbation. Stateless
// from the caller's side (history in, one suggestion out) so a resumed study suggests the same
// point; the expensive hyperparameter fit is memoised and only redone every few observations.
import { hashString, mulberry32 } from '../ml/random';
import { conditionGp, fitHyperparameters, logExpectedImprovement, makePredictor, type GpHyper, type GpModel } from './gp';
import { sampleParam, sampleRandom } from './random-search';
import { assertValidSpace, fromUnit, isActive, paramKey, toUnit, type Params, type SearchSpace } from './space';

export { expectedImprovement, fitGp, logExpectedImprovement, makePredictor, predict, type GpHyper, type GpModel } from './gp';

/**
 * One evaluated point. `value` is minimised (negate a metric that should be maximised). A
 * non-finite value (a failed evaluation) is not modelled but its point is not suggested again.
 */
export interface Observation {
  params: Params;
  value: number;
}

export interface BayesOptions {
  /** Suggestions made by random sampling before the GP takes over. Default max(5, params + 1). */
  initialRandom?: number;
  /** Random candidates scored per suggestion, before local refinement. Default 2000. */
  candidates?: number;
}

/**
 * Improvement (in standardised units) a candidate must promise beyond the incumbent before EI
 * counts it, as in scikit-optimize's xi = 0.01. Without it EI keeps polishing a local optimum
 * with ever smaller gains instead of looking elsewhere.
 */
const EI_MARGIN = 0.01;

/** Encoded position of an inactive numeric param: a fixed mid-range value (see makeEncoder). */
const INACTIVE_NUMERIC = 0.5;

export interface Encoder {
  dims: number;
  encode(params: Params): Float64Array;
}

/**
 * Maps params to the GP's input space: numeric params to [0, 1] (log scale where the spec is
 * log, ints as continuous positions), choices to one-hot blocks. Inactive params get a fixed
 * encoding (0.5, or an all-zero one-hot block) so every point has the same dimensionality; the
 * parent's own coordinates already separate the branches, and within a branch the constant
 * coordinate does not move the kernel.
 */
export function makeEncoder(space: SearchSpace): Encoder {
  // Per-param layout precomputed once: encode runs for every candidate of every suggestion.
  const layout = space.map((spec) => {
    if (spec.type === 'choice') return { name: spec.name, width: spec.values.length, values: spec.values, low: 0, scale: 0, log: false };
    const log = spec.log === true;
    const low = log ? Math.log(spec.low) : spec.low;
    const high = log ? Math.log(spec.high) : spec.high;
    return { name: spec.name, width: 1, values: null, low, scale: 1 / (high - low), log };
  });
  const dims = layout.reduce((sum, l) => sum + l.width, 0);
  return {
    dims,
    encode(params: Params): Float64Array {
      const x = new Float64Array(dims);
      let at = 0;
      for (const l of layout) {
        const value = params[l.name];
        if (l.values) {
          // indexOf of undefined (inactive) is -1: the block stays all zero.
          const k = value === undefined ? -1 : l.values.indexOf(value);
          if (k >= 0) x[at + k] = 1;
        } else if (typeof value === 'number') {
          const u = ((l.log ? Math.log(value) : value) - l.low) * l.scale;
          x[at] = u < 0 ? 0 : u > 1 ? 1 : u;
        } else {
          x[at] = INACTIVE_NUMERIC;
        }
        at += l.width;
      }
      return x;
    },
  };
}

function gaussian(rand: () => number): number {
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  const u = 1 - rand();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/**
 * A nearby point: numeric params moved by a normal step of `scale` in unit space, choices
 * resampled with a small probability. Half of the time only one param moves, which helps along
 * narrow valleys. Params that become active through a changed parent are sampled fresh.
 */
export function perturb(space: SearchSpace, params: Params, scale: number, rand: () => number): Params {
  const active = space.filter((spec) => Object.prototype.hasOwnProperty.call(params, spec.name));
  const onlyOne = rand() < 0.5 && active.length > 1 ? active[Math.floor(rand() * active.length)].name : null;
  const out: Params = {};
  for (const spec of space) {
    if (!isActive(spec, out)) continue;
    const name = spec.name;
    if (!Object.prototype.hasOwnProperty.call(params, name)) {
      out[name] = sampleParam(spec, rand);
      continue;
    }
    const old = params[name];
    const moves = onlyOne === null || onlyOne === name;
    if (!moves) {
      out[name] = old;
    } else if (spec.type === 'choice') {
      out[name] = rand() < Math.min(0.5, 2 * scale + 1 / Math.max(2, active.length)) ? sampleParam(spec, rand) : old;
    } else if (typeof old === 'number') {
      let u = toUnit(spec, old) + scale * gaussian(rand);
      // Reflect at the walls rather than clamp, so the bounds do not soak up probability mass.
      if (u < 0) u = -u;
      if (u > 1) u = 2 - u;
      out[name] = fromUnit(spec, u);
    } else {
      out[name] = sampleParam(spec, rand);
    }
  }
  return out;
}

/** Random points until one is not already in `seen` (or the attempts run out). */
function novelRandom(space: SearchSpace, rand: () => number, seen: Set<string>): Params {
  let params = sampleRandom(space, rand);
  for (let attempt = 0; attempt < 200 && seen.has(paramKey(params)); attempt++) params = sampleRandom(space, rand);
  return params;
}

/**
 * Number of leading observations the hyperparameters are fitted on: all of them while there
 * are few, then only at every ceil(n/10)-th observation. The fit is the costly step; refitting
 * less often as the history grows keeps long studies fast while the posterior itself is still
 * conditioned on every observation.
 */
export function refitLength(n: number): number {
  if (n <= 15) return n;
  const every = Math.ceil(n / 10);
  return n - (n % every);
}

// Memo of fitted hyperparameters keyed by (space, history prefix). The fit is seeded from the
// key, not from the caller's generator, so a cache miss recomputes exactly the cached answer
// and suggestions stay reproducible.
const hyperCache = new Map<string, GpHyper>();
const HYPER_CACHE_LIMIT = 64;

function cachedHyperparameters(space: SearchSpace, prefix: Observation[], X: Float64Array[]): GpHyper {
  const key = JSON.stringify(space) + '\n' + JSON.stringify(prefix.map((o) => [paramKey(o.params), o.value]));
  const hit = hyperCache.get(key);
  if (hit) return hit;
  const hyper = fitHyperparameters(
    X,
    prefix.map((o) => o.value),
    mulberry32(hashString(key)),
  );
  if (hyperCache.size >= HYPER_CACHE_LIMIT) hyperCache.delete(hyperCache.keys().next().value as string);
  hyperCache.set(key, hyper);
  return hyper;
}

interface Scored {
  params: Params;
  key: string;
  score: number;
}

/** Keeps the `size` highest-scoring distinct entries, best first. */
function pushTop(top: Scored[], item: Scored, size: number): void {
  if (top.length === size && item.score <= top[size - 1].score) return;
  if (top.some((t) => t.key === item.key)) return;
  let i = top.length;
  while (i > 0 && top[i - 1].score < item.score) i--;
  top.splice(i, 0, item);
  if (top.length > size) top.pop();
}

/**
 * Next point to evaluate. The first `initialRandom` suggestions are random; after that, the
 * candidate with the highest expected improvement under the GP. Never an exact duplicate of an
 * observed point unless every candidate found was one.
 */
export function suggestBayesian(space: SearchSpace, history: Observation[], rand: () => number, opts: BayesOptions = {}): Params {
  assertValidSpace(space);
  const seen = new Set(history.map((o) => paramKey(o.params)));
  // Failed or diverged evaluations carry no value to model; they still count as seen.
  const usable = history.filter((o) => Number.isFinite(o.value));
  const initialRandom = opts.initialRandom ?? Math.max(5, space.length + 1);
  if (usable.length < Math.max(1, initialRandom)) return novelRandom(space, rand, seen);

  const encoder = makeEncoder(space);
  const X = usable.map((o) => encoder.encode(o.params));
  const y = usable.map((o) => o.value);
  const m = refitLength(usable.length);
  const hyper = cachedHyperparameters(space, usable.slice(0, m), X.slice(0, m));
  const model: GpModel = conditionGp(X, y, hyper);
  let incumbent = Infinity;
  for (const v of y) incumbent = Math.min(incumbent, (v - model.yMean) / model.yStd);

  const posterior = makePredictor(model);
  const score = (params: Params): number => {
    const { mean, sd } = posterior(encoder.encode(params));
    return logExpectedImprovement(mean, sd, incumbent - EI_MARGIN);
  };
  // Keys are only computed for candidates good enough to matter: JSON keys for thousands of
  // candidates per suggestion would cost as much as the GP itself.
  const STARTS_PER_POOL = 4;
  const starts: Scored[] = [];
  const scorePool = (pool: Params[]): void => {
    const top: Scored[] = [];
    for (const params of pool) {
      const s = score(params);
      if (top.length === STARTS_PER_POOL && s <= top[STARTS_PER_POOL - 1].score) continue;
      const key = paramKey(params);
      if (!seen.has(key)) pushTop(top, { params, key, score: s }, STARTS_PER_POOL);
    }
    for (const t of top) pushTop(starts, t, 2 * STARTS_PER_POOL);
  };

  // Global pool: random candidates over the whole space.
  const candidates = opts.candidates ?? 2000;
  scorePool(Array.from({ length: candidates }, () => sampleRandom(space, rand)));
  // Local pool: around the best observations, where the improvement often is. Kept as a separate
  // pool so its (many, similar) candidates cannot crowd the global ones out of the starts.
  const bestObserved = [...usable].sort((a, b) => a.value - b.value).slice(0, 5);
  const localPerPoint = Math.max(10, Math.round(candidates / 40));
  const localPool: Params[] = [];
  for (const o of bestObserved) {
    for (const scale of [0.1, 0.03, 0.01]) {
      for (let i = 0; i < localPerPoint; i++) localPool.push(perturb(space, o.params, scale, rand));
    }
  }
  scorePool(localPool);

  // Multi-start stochastic hill climbing on EI from the best of each pool, with shrinking steps.
  let best: Scored | null = null;
  const tries = Math.max(10, Math.round(candidates / 80));
  for (const start of starts) {
    let current = start;
    for (const scale of [0.05, 0.02, 0.005, 0.001]) {
      for (let i = 0; i < tries; i++) {
        const params = perturb(space, current.params, scale, rand);
        const s = score(params);
        if (s <= current.score) continue;
        const key = paramKey(params);
        if (!seen.has(key)) current = { params, key, score: s };
      }
    }
    if (!best || current.score > best.score) best = current;
  }
  // Every candidate was an observed point (a small, fully discrete space): fall back to any
  // unseen random point, and only then accept a duplicate.
  return best ? best.params : novelRandom(space, rand, seen);
}
