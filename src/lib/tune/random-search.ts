// Independent random sampling of a search space: the baseline strategy, and the source of the
// Bayesian optimiser's initial design and candidate pool.
import { intGridCount, intGridHigh, isActive, type ParamSpec, type ParamValue, type Params, type SearchSpace } from './space';

/** One value for one (active) param. `rand` returns floats in [0, 1). */
export function sampleParam(spec: ParamSpec, rand: () => number): ParamValue {
  switch (spec.type) {
    case 'choice':
      return spec.values[Math.min(spec.values.length - 1, Math.floor(rand() * spec.values.length))];
    case 'float': {
      const u = rand();
      const x = spec.log
        ? Math.exp(Math.log(spec.low) + u * (Math.log(spec.high) - Math.log(spec.low)))
        : spec.low + u * (spec.high - spec.low);
      // exp/log round-off can land a hair outside the range.
      return Math.min(spec.high, Math.max(spec.low, x));
    }
    case 'int': {
      if (spec.log) {
        // Log-uniform over [low - 0.5, high + 0.5] then rounded (as Optuna does): every integer
        // owns the interval that rounds to it, so the ends are not under-sampled. low >= 1 here
        // (log needs low > 0), so low - 0.5 > 0.
        const lo = Math.log(spec.low - 0.5);
        const hi = Math.log(spec.high + 0.5);
        const x = Math.round(Math.exp(lo + rand() * (hi - lo)));
        return Math.min(spec.high, Math.max(spec.low, x));
      }
      const count = intGridCount(spec);
      const k = Math.min(count - 1, Math.floor(rand() * count));
      return Math.min(intGridHigh(spec), spec.low + k * (spec.step ?? 1));
    }
  }
}

/** A random point; params whose condition is not met are left out. */
export function sampleRandom(space: SearchSpace, rand: () => number): Params {
  const params: Params = {};
  // In array order, so a condition's parent is already decided when the child is reached.
  for (const spec of space) {
    if (isActive(spec, params)) params[spec.name] = sampleParam(spec, rand);
  }
  return params;
}
