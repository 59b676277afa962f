import { describe, expect, it } from 'vitest';
import { findLabelErrors } from '../../src/lib/label/label-errors';
import { mulberry32 } from '../../src/lib/ml/random';

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * 1000 samples, 10 classes. The "model" is out-of-sample by construction (it only ever looks at
 * the true class, never the given label) and shaped like a trained network: logits are Gaussian
 * noise plus a bump on the true class, large for most samples with a tail of weaker ones, and 10%
 * of samples are genuinely ambiguous, with a second bump on another class. Then 5% of the given
 * labels are flipped to a random other class.
 */
function synthetic(seed: number) {
  const n = 1000;
  const k = 10;
  const rand = mulberry32(seed);
  const probs = new Float32Array(n * k);
  const truth: number[] = [];
  const given: number[] = [];
  const logits = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const y = i % k;
    truth.push(y);
    for (let j = 0; j < k; j++) logits[j] = gaussian(rand);
    logits[y] += 5 + 4 * Math.sqrt(rand());
    if (rand() < 0.1) logits[(y + 1 + Math.floor(rand() * (k - 1))) % k] += 5 + 4 * rand();
    let max = -Infinity;
    for (const l of logits) max = Math.max(max, l);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[j] - max);
    for (let j = 0; j < k; j++) probs[i * k + j] = Math.exp(logits[j] - max) / sum;
    given.push(y);
  }
  const flipped = new Set<number>();
  while (flipped.size < n * 0.05) flipped.add(Math.floor(rand() * n));
  for (const i of flipped) given[i] = (truth[i] + 1 + Math.floor(rand() * (k - 1))) % k;
  return { probs, given, truth, flipped, n, k };
}

describe('findLabelErrors', () => {
  it('ranks most flipped labels near the top with high precision', () => {
    for (const seed of [1, 2, 3, 4]) {
      const { probs, given, truth, flipped, n, k } = synthetic(seed);
      const issues = findLabelErrors(probs, given, k);
      const top = issues.slice(0, Math.ceil(n * 0.05));
      const caughtInTop = top.filter((x) => flipped.has(x.index)).length;
      // Argmax disagreements widen the list; precision is judged where people look: the top.
      const precision = top.filter((x) => flipped.has(x.index)).length / top.length;
      console.log(
        `seed ${seed}: ${issues.length} flagged, ${caughtInTop}/${flipped.size} flips in the top ${top.length}, precision ${precision.toFixed(2)}`,
      );
      expect(caughtInTop).toBeGreaterThanOrEqual(0.8 * flipped.size);
      expect(precision).toBeGreaterThanOrEqual(0.7);
      // Flips outrank the samples the model merely finds ambiguous.
      const meanRank = (pick: (i: number) => boolean): number => {
        const ranks = issues.flatMap((x, r) => (pick(x.index) ? [r] : []));
        return ranks.reduce((a, b) => a + b, 0) / ranks.length;
      };
      expect(meanRank((i) => flipped.has(i))).toBeLessThan(meanRank((i) => !flipped.has(i)));
      // The suggestion for a caught flip is its true class.
      const caught = issues.filter((x) => flipped.has(x.index));
      expect(caught.filter((x) => x.suggested === truth[x.index]).length).toBeGreaterThanOrEqual(0.9 * caught.length);
    }
  });

  it('reports the documented fields and orders by normalised margin', () => {
    // Class 0: given to rows 0-2 (mean p0 = .6); class 1: rows 3-4 (mean p1 = .7).
    const probs = new Float32Array([
      0.9,
      0.1, // fine
      0.5,
      0.5, // p0 .5 < .6 and p1 .5 < .7: no confident class, not flagged
      0.4,
      0.6, // p1 .6 < .7: not confident either
      0.2,
      0.8, // fine
      0.4,
      0.6, // given 1 but p1 .6 < .7, p0 .4 < .6: not flagged
    ]);
    expect(findLabelErrors(probs, [0, 0, 0, 1, 1], 2, { includeArgmaxDisagreements: false })).toEqual([]);

    const p2 = new Float32Array([0.9, 0.1, 0.8, 0.2, 0.1, 0.9, 0.05, 0.95, 0.85, 0.15, 0.6, 0.4]);
    // given: rows 0,1 -> 0; rows 2,3,4,5 -> 1. t0 = .85, t1 = (.9 + .95 + .15 + .4) / 4 = .6
    const issues = findLabelErrors(p2, [0, 0, 1, 1, 1, 1], 2, { includeArgmaxDisagreements: false });
    // Row 4 (p0 .85 >= t0) is flagged; row 5 (p0 .6 < .85, p1 .4 < .6) is not.
    expect(issues).toHaveLength(1);
    expect(issues[0].index).toBe(4);
    expect(issues[0].given).toBe(1);
    expect(issues[0].suggested).toBe(0);
    expect(issues[0].selfConfidence).toBeCloseTo(0.15, 6);
    expect(issues[0].suggestedConfidence).toBeCloseTo(0.85, 6);
    expect(issues[0].score).toBeCloseTo((0.85 - 0.15 + 1) / 2, 6);
  });

  it('counts a sample whose probability equals its class threshold as confident', () => {
    // Rows 0-2 given 0 with p0 = .3 (so t0 = .3 exactly); rows 3-4 given 1, t1 = (.95 + .7) / 2.
    const rows = [0.3, 0.7, 0.3, 0.7, 0.3, 0.7, 0.05, 0.95, 0.3, 0.7];
    const issues = findLabelErrors(new Float32Array(rows), [0, 0, 0, 1, 1], 2, { includeArgmaxDisagreements: false });
    // Row 4: p0 .3 >= t0 and p1 .7 < .825, so its confident class is 0, not its given 1.
    expect(issues.map((x) => [x.index, x.suggested])).toEqual([[4, 0]]);
  });

  it('validates its input', () => {
    expect(() => findLabelErrors(new Float32Array(4), [0], 2)).toThrow(/labels/);
    expect(() => findLabelErrors(new Float32Array(4), [0, 2], 2)).toThrow(/class index/);
  });
});
