import { describe, expect, it } from 'vitest';
import { gateDecision, type GateInput } from '../../src/lib/pipeline/gate';

const champion = { versionId: 'v1', accuracy: 0.9, perClass: { cat: 0.9, dog: 0.9 } };

function decide(candidate: GateInput['candidate'], over: Partial<GateInput> = {}) {
  return gateDecision({ candidate, champion, minImprovement: 0, maxClassDrop: 0.05, ...over });
}

describe('gateDecision', () => {
  it('passes when no model is in production yet', () => {
    expect(decide({ accuracy: 0.1, perClass: { cat: 0 } }, { champion: null })).toEqual({
      pass: true,
      reasons: ['No model is in production yet.'],
      improvement: null,
      worstClass: null,
    });
  });

  it('passes a better model and explains both checks', () => {
    const d = decide({ accuracy: 0.92, perClass: { cat: 0.93, dog: 0.91 } });
    expect(d.pass).toBe(true);
    expect(d.improvement).toBeCloseTo(0.02, 12);
    expect(d.worstClass).toBeNull();
    expect(d.reasons).toEqual([
      'Accuracy 92.0% against 90.0% in production: +2.0 points (at least +0.0 points required).',
      'No class lost recall.',
    ]);
  });

  it('counts an improvement exactly at the minimum as enough, despite floating-point error', () => {
    // 0.3 - 0.1 is 0.19999999999999998 in binary floating point.
    const d = decide({ accuracy: 0.3, perClass: {} }, { champion: { versionId: 'v1', accuracy: 0.1, perClass: {} }, minImprovement: 0.2 });
    expect(d.improvement).toBeLessThan(0.2);
    expect(d.pass).toBe(true);
    const justShort = decide(
      { accuracy: 0.3 - 1e-6, perClass: {} },
      { champion: { versionId: 'v1', accuracy: 0.1, perClass: {} }, minImprovement: 0.2 },
    );
    expect(justShort.pass).toBe(false);
    expect(justShort.reasons[0]).toBe('Accuracy 30.0% against 10.0% in production: +20.0 points (below the +20.0 points required).');
  });

  it('accepts a small loss when the minimum improvement is negative', () => {
    expect(decide({ accuracy: 0.89, perClass: champion.perClass }, { minImprovement: -0.01 }).pass).toBe(true);
    expect(decide({ accuracy: 0.889, perClass: champion.perClass }, { minImprovement: -0.01 }).pass).toBe(false);
    expect(decide({ accuracy: 0.9, perClass: champion.perClass }).pass).toBe(true);
  });

  it('allows a class drop exactly at the limit and refuses one just above', () => {
    // 0.9 - 0.85 is 0.05000000000000004.
    const atLimit = decide({ accuracy: 0.91, perClass: { cat: 0.85, dog: 0.97 } });
    expect(atLimit.pass).toBe(true);
    expect(atLimit.worstClass?.name).toBe('cat');
    expect(atLimit.worstClass?.drop).toBeCloseTo(0.05, 12);
    expect(atLimit.reasons[1]).toBe('Recall for "cat" fell by 5.0 points (90.0% to 85.0%); within the 5.0 points allowed.');
    const over = decide({ accuracy: 0.91, perClass: { cat: 0.849, dog: 0.97 } });
    expect(over.pass).toBe(false);
    expect(over.reasons[1]).toBe('Recall for "cat" fell by 5.1 points (90.0% to 84.9%); more than the 5.0 points allowed.');
  });

  it('fails on a class drop even when accuracy improved', () => {
    const d = decide({ accuracy: 0.95, perClass: { cat: 0.7, dog: 1 } });
    expect(d.pass).toBe(false);
    expect(d.improvement).toBeCloseTo(0.05, 12);
    expect(d.worstClass).toEqual({ name: 'cat', drop: expect.closeTo(0.2, 12) });
  });

  it('picks the largest drop, the first name on a tie', () => {
    const champ = { versionId: 'v1', accuracy: 0.5, perClass: { a: 0.5, b: 0.9, c: 0.9 } };
    const d = decide({ accuracy: 0.6, perClass: { a: 0.6, c: 0.8, b: 0.8 } }, { champion: champ, maxClassDrop: 0.2 });
    expect(d.worstClass?.name).toBe('b');
    expect(d.pass).toBe(true);
  });

  it('treats a class new to the candidate as unable to drop, and a lost class as dropping to 0', () => {
    const withNew = decide({ accuracy: 0.9, perClass: { cat: 0.9, dog: 0.9, bird: 0.1 } });
    expect(withNew.pass).toBe(true);
    expect(withNew.worstClass).toBeNull();
    const lost = decide({ accuracy: 0.95, perClass: { cat: 0.95 } });
    expect(lost.pass).toBe(false);
    expect(lost.worstClass).toEqual({ name: 'dog', drop: 0.9 });
  });

  it('never lets NaN through', () => {
    expect(decide({ accuracy: NaN, perClass: champion.perClass })).toEqual({
      pass: false,
      reasons: ['The candidate has no valid accuracy.'],
      improvement: null,
      worstClass: null,
    });
    const nanClass = decide({ accuracy: 0.95, perClass: { cat: NaN, dog: 0.95 } });
    expect(nanClass.pass).toBe(false);
    expect(nanClass.worstClass).toEqual({ name: 'cat', drop: 0.9 });
  });
});
