import { describe, expect, it } from 'vitest';
import { rankByUncertainty, uncertaintyScore, type UncertaintyStrategy } from '../../src/lib/label/uncertainty';

// Four rows whose order is known per strategy (worked out by hand):
//   least-confidence: D .667 > B .6 > A .5 > C .1
//   margin:           D 1    > A .99 > B .9 > C .15   (A and B swap against least-confidence)
//   entropy / ln 3:   D 1    > B .991 > A .676 > C .359
const A = [0.5, 0.49, 0.01];
const B = [0.4, 0.3, 0.3];
const C = [0.9, 0.05, 0.05];
const D = [1 / 3, 1 / 3, 1 / 3];

describe('uncertaintyScore', () => {
  it('computes each strategy as documented', () => {
    expect(uncertaintyScore(A, 'least-confidence')).toBeCloseTo(0.5, 12);
    expect(uncertaintyScore(A, 'margin')).toBeCloseTo(0.99, 12);
    expect(uncertaintyScore(C, 'margin')).toBeCloseTo(0.15, 12);
    const h = -(0.4 * Math.log(0.4) + 2 * 0.3 * Math.log(0.3)) / Math.log(3);
    expect(uncertaintyScore(B, 'entropy')).toBeCloseTo(h, 12);
    expect(uncertaintyScore(D, 'entropy')).toBeCloseTo(1, 12);
  });

  it('handles certain rows, zeros and a single class without NaN', () => {
    for (const s of ['least-confidence', 'margin', 'entropy'] as UncertaintyStrategy[]) {
      expect(uncertaintyScore([1, 0, 0], s)).toBeCloseTo(0, 12);
      expect(uncertaintyScore([1], s)).toBeCloseTo(0, 12);
    }
    expect(uncertaintyScore(new Float32Array([0, 1]), 'entropy')).toBe(0);
  });
});

describe('rankByUncertainty', () => {
  // Rows stored in the order C, A, D, B so that the identity order is never the right answer.
  const rows = new Float32Array([...C, ...A, ...D, ...B]);
  const idx = { C: 0, A: 1, D: 2, B: 3 };

  it('orders rows per strategy, and margin disagrees with least-confidence on A vs B', () => {
    expect(rankByUncertainty(rows, 3, 'least-confidence')).toEqual([idx.D, idx.B, idx.A, idx.C]);
    expect(rankByUncertainty(rows, 3, 'margin')).toEqual([idx.D, idx.A, idx.B, idx.C]);
    expect(rankByUncertainty(rows, 3, 'entropy')).toEqual([idx.D, idx.B, idx.A, idx.C]);
  });

  it('breaks ties by row index and puts broken rows last', () => {
    const probs = new Float32Array([0.9, 0.1, 0.6, 0.4, Number.NaN, Number.NaN, 0.6, 0.4, 0.6, 0.4]);
    expect(rankByUncertainty(probs, 2, 'margin')).toEqual([1, 3, 4, 0, 2]);
  });

  it('rejects a matrix that does not fit the class count', () => {
    expect(() => rankByUncertainty(new Float32Array(5), 2, 'entropy')).toThrow(/multiple of 2/);
    expect(() => rankByUncertainty(new Float32Array(4), 0, 'entropy')).toThrow(/positive integer/);
  });
});
