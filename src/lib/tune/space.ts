// Search-space description shared by every tuning strategy: what each hyperparameter may take,
// which ones only matter when another has a given value, and the mapping of numeric ranges onto
// [0, 1] that grid spacing and the Bayesian model both use (so "log" means the same everywhere).
import type { ParamValue, Params, Condition, ParamSpec, SearchSpace } from '../../contracts/tuning';
export type { ParamValue, Params, Condition, ParamSpec, SearchSpace };

export type NumericSpec = Extract<ParamSpec, { type: 'float' | 'int' }>;

function describeValue(v: ParamValue): string {
  return typeof v === 'string' ? `"${v}"` : String(v);
}

function validateSpec(spec: ParamSpec, earlier: Map<string, ParamSpec>): string | null {
  const name = spec.name;
  if (typeof name !== 'string' || name.trim() === '') return 'Every parameter needs a name';
  if (earlier.has(name)) return `Parameter "${name}" is defined twice`;
  if (spec.type === 'float' || spec.type === 'int') {
    const { low, high } = spec;
    if (!Number.isFinite(low) || !Number.isFinite(high)) return `"${name}": low and high must be finite numbers`;
    if (low >= high) return `"${name}": low (${low}) must be below high (${high})`;
    if (spec.log && low <= 0) return `"${name}": a log-scaled range needs low > 0 (got ${low})`;
    if (spec.type === 'int') {
      if (!Number.isInteger(low) || !Number.isInteger(high)) return `"${name}": integer bounds must be whole numbers`;
      const step = spec.step ?? 1;
      if (!Number.isInteger(step) || step < 1) return `"${name}": step must be a positive whole number (got ${step})`;
      // A step grid is evenly spaced, a log scale is not: the two cannot both hold.
      if (spec.log && step !== 1) return `"${name}": log scale cannot be combined with step ${step}`;
      if (step > high - low) return `"${name}": step ${step} leaves only one value in ${low}..${high}`;
    }
  } else if (spec.type === 'choice') {
    if (!Array.isArray(spec.values) || spec.values.length === 0) return `"${name}": needs at least one choice`;
    const seen = new Set<ParamValue>();
    for (const v of spec.values) {
      if (typeof v === 'number' && !Number.isFinite(v)) return `"${name}": choice ${v} is not a finite number`;
      if (seen.has(v)) return `"${name}": choice ${describeValue(v)} is listed twice`;
      seen.add(v);
    }
  } else {
    return `"${name}": unknown type "${(spec as { type: unknown }).type}"`;
  }
  const cond = spec.condition;
  if (cond) {
    const parent = earlier.get(cond.param);
    // Only earlier params may be referenced, so sampling and enumerating in array order always
    // knows whether a param is active by the time it reaches it (and cycles are impossible).
    if (!parent) {
      return cond.param === name
        ? `"${name}": cannot depend on itself`
        : `"${name}": condition refers to "${cond.param}", which is not defined before it`;
    }
    if (!Array.isArray(cond.in) || cond.in.length === 0) return `"${name}": condition on "${cond.param}" lists no values`;
    if (parent.type === 'choice') {
      for (const v of cond.in) {
        if (!parent.values.includes(v)) {
          return `"${name}": condition value ${describeValue(v)} is not a choice of "${cond.param}"`;
        }
      }
    }
  }
  return null;
}

/** Human-readable reason the space is unusable, or null when it is fine. */
export function validateSpace(space: SearchSpace): string | null {
  if (!Array.isArray(space) || space.length === 0) return 'The search space has no parameters';
  const earlier = new Map<string, ParamSpec>();
  for (const spec of space) {
    const problem = validateSpec(spec, earlier);
    if (problem) return problem;
    earlier.set(spec.name, spec);
  }
  return null;
}

/** Throws with validateSpace's reason; for entry points that cannot return an error. */
export function assertValidSpace(space: SearchSpace): void {
  const problem = validateSpace(space);
  if (problem) throw new Error(`Invalid search space: ${problem}`);
}

/**
 * Active when unconditional, or when the parent is present with a listed value. An inactive
 * parent is absent from `params`, so its children are inactive too (conditions chain).
 */
export function isActive(spec: ParamSpec, params: Params): boolean {
  const cond = spec.condition;
  if (!cond) return true;
  if (!Object.prototype.hasOwnProperty.call(params, cond.param)) return false;
  return cond.in.includes(params[cond.param]);
}

export function activeSpecs(space: SearchSpace, params: Params): ParamSpec[] {
  return space.filter((spec) => isActive(spec, params));
}

/** Canonical string for dedupe: sorted keys, JSON values (so 1 and "1" stay different). */
export function paramKey(params: Params): string {
  const keys = Object.keys(params).sort();
  return JSON.stringify(keys.map((k) => [k, params[k]]));
}

/** Number of values on an int param's step grid, low..high inclusive. */
export function intGridCount(spec: Extract<ParamSpec, { type: 'int' }>): number {
  return Math.floor((spec.high - spec.low) / (spec.step ?? 1)) + 1;
}

/** The largest value on the step grid (high itself unless the step does not divide the range). */
export function intGridHigh(spec: Extract<ParamSpec, { type: 'int' }>): number {
  return spec.low + (intGridCount(spec) - 1) * (spec.step ?? 1);
}

/** Position of a numeric value in its range, 0..1, measured in log space when the spec is log. */
export function toUnit(spec: NumericSpec, value: number): number {
  const u = spec.log
    ? (Math.log(value) - Math.log(spec.low)) / (Math.log(spec.high) - Math.log(spec.low))
    : (value - spec.low) / (spec.high - spec.low);
  return Math.min(1, Math.max(0, u));
}

/** Inverse of toUnit; ints are snapped to the nearest point of their step grid. */
export function fromUnit(spec: NumericSpec, u: number): number {
  const t = Math.min(1, Math.max(0, u));
  const raw = spec.log
    ? Math.exp(Math.log(spec.low) + t * (Math.log(spec.high) - Math.log(spec.low)))
    : spec.low + t * (spec.high - spec.low);
  if (spec.type === 'float') return Math.min(spec.high, Math.max(spec.low, raw));
  const step = spec.step ?? 1;
  const snapped = spec.low + Math.round((raw - spec.low) / step) * step;
  return Math.min(intGridHigh(spec), Math.max(spec.low, snapped));
}
