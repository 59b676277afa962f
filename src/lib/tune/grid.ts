// Exhaustive grid over a search space. Conditional params are only enumerated where active, so a
// branch that turns a param off does not multiply into copies that differ in an ignored value.
import {
  assertValidSpace,
  fromUnit,
  intGridCount,
  isActive,
  type ParamSpec,
  type ParamValue,
  type Params,
  type SearchSpace,
} from './space';

/** An int range with more step-grid values than this is thinned like a float range. */
export const MAX_INT_GRID_VALUES = 50;

function evenlySpaced(spec: Extract<ParamSpec, { type: 'float' | 'int' }>, floatSteps: number): number[] {
  // One point: the middle of the range (geometric middle when log), not an arbitrary end.
  const units = floatSteps === 1 ? [0.5] : Array.from({ length: floatSteps }, (_, i) => i / (floatSteps - 1));
  // fromUnit snaps ints to their step grid, which can merge neighbours: keep each value once.
  return [...new Set(units.map((u) => fromUnit(spec, u)))];
}

/** The values the grid tries for one param, in ascending (or listed) order. */
export function gridValues(spec: ParamSpec, floatSteps = 3): ParamValue[] {
  if (!Number.isInteger(floatSteps) || floatSteps < 1) throw new Error(`floatSteps must be a positive whole number (got ${floatSteps})`);
  switch (spec.type) {
    case 'choice':
      return [...spec.values];
    case 'float':
      return evenlySpaced(spec, floatSteps);
    case 'int': {
      const count = intGridCount(spec);
      if (count > MAX_INT_GRID_VALUES) return evenlySpaced(spec, floatSteps);
      const step = spec.step ?? 1;
      return Array.from({ length: count }, (_, i) => spec.low + i * step);
    }
  }
}

/** Every grid point; the first param varies slowest. Inactive params are absent from a point. */
export function gridPoints(space: SearchSpace, floatSteps = 3): Params[] {
  assertValidSpace(space);
  const values = space.map((spec) => gridValues(spec, floatSteps));
  const points: Params[] = [];
  const walk = (index: number, partial: Params): void => {
    if (index === space.length) {
      points.push({ ...partial });
      return;
    }
    const spec = space[index];
    if (!isActive(spec, partial)) {
      walk(index + 1, partial);
      return;
    }
    for (const v of values[index]) {
      partial[spec.name] = v;
      walk(index + 1, partial);
    }
    delete partial[spec.name];
  };
  walk(0, {});
  return points;
}

/**
 * Number of grid points without building them, so a UI can warn about a huge grid cheaply.
 * Counting memoises on the values of the params that later conditions look at; with no
 * conditions that is just the product of the per-param counts.
 */
export function gridSize(space: SearchSpace, floatSteps = 3): number {
  assertValidSpace(space);
  const values = space.map((spec) => gridValues(spec, floatSteps));
  // For each index: the names of earlier params that a condition at this index or later reads.
  const watched: string[][] = space.map((_, i) => {
    const names = new Set<string>();
    for (let j = i; j < space.length; j++) {
      const cond = space[j].condition;
      if (cond) names.add(cond.param);
    }
    return [...names];
  });
  const memo = new Map<string, number>();
  const count = (index: number, partial: Params): number => {
    if (index === space.length) return 1;
    const key = `${index}|${JSON.stringify(watched[index].map((n) => (n in partial ? partial[n] : null)))}`;
    const cached = memo.get(key);
    if (cached !== undefined) return cached;
    const spec = space[index];
    let total = 0;
    if (!isActive(spec, partial)) {
      total = count(index + 1, partial);
    } else {
      for (const v of values[index]) {
        partial[spec.name] = v;
        total += count(index + 1, partial);
      }
      delete partial[spec.name];
    }
    memo.set(key, total);
    return total;
  };
  return count(0, {});
}
