import { describe, expect, it } from 'vitest';
import {
  accuracy,
  calibrationBins,
  confusionMatrix,
  evaluate,
  expectedCalibrationError,
  logLoss,
  macroF1,
  mostConfidentlyWrong,
  perClassMetrics,
} from '../../src/lib/ml/metrics';

// 3 classes, 6 samples; predicted = [0, 1, 1, 2, 2, 0], correct = [y, n, y, n, y, n].
const yTrue = [0, 0, 1, 1, 2, 2];
const probs = new Float32Array([0.7, 0.2, 0.1, 0.2, 0.5, 0.3, 0.1, 0.8, 0.1, 0.1, 0.3, 0.6, 0.05, 0.05, 0.9, 0.9, 0.05, 0.05]);

describe('metrics', () => {
  it('confusion matrix has true rows and predicted columns', () => {
    expect(confusionMatrix(yTrue, probs, 3)).toEqual([
      [1, 1, 0],
      [0, 1, 1],
      [1, 0, 1],
    ]);
  });

  it('accuracy, per-class metrics and macro F1', () => {
    expect(accuracy(yTrue, probs, 3)).toBe(0.5);
    for (const c of perClassMetrics(yTrue, probs, 3)) expect(c).toEqual({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2 });
    expect(macroF1(yTrue, probs, 3)).toBe(0.5);
  });

  it('undefined precision/recall are 0; absent classes do not count in macro F1', () => {
    // 3 classes, class 2 never occurs and is never predicted; class 1 is never predicted.
    const y = [0, 1];
    const p = new Float32Array([0.9, 0.05, 0.05, 0.8, 0.1, 0.1]);
    const per = perClassMetrics(y, p, 3);
    expect(per[0]).toEqual({ precision: 0.5, recall: 1, f1: 2 / 3, support: 1 });
    expect(per[1]).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
    expect(per[2]).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(macroF1(y, p, 3)).toBeCloseTo(1 / 3, 10);
  });

  it('expected calibration error matches a hand computation', () => {
    // 4 bins: (.25,.5] holds row 1 (wrong, .5); (.5,.75] rows 0 (right, .7) and 3 (wrong, .6);
    // (.75,1] rows 2, 4 (right, .8 .9) and 5 (wrong, .9).
    const expected = (1 / 6) * 0.5 + (2 / 6) * Math.abs(0.5 - 0.65) + (3 / 6) * Math.abs(2 / 3 - (0.8 + 0.9 + 0.9) / 3);
    expect(expectedCalibrationError(probs, yTrue, 3, 4)).toBeCloseTo(expected, 6);
    const bins = calibrationBins(probs, yTrue, 3, 4);
    expect(bins.map((b) => b.count)).toEqual([0, 1, 2, 3]);
    // A perfect, fully confident classifier is perfectly calibrated.
    expect(expectedCalibrationError(new Float32Array([1, 0, 0, 1]), [0, 1], 2)).toBe(0);
    expect(expectedCalibrationError(new Float32Array([]), [], 2)).toBe(0);
  });

  it('most confidently wrong, sorted by confidence', () => {
    const wrong = mostConfidentlyWrong(probs, yTrue, 3, 2);
    expect(wrong.map((w) => w.index)).toEqual([5, 3]);
    expect(wrong[0]).toEqual({ index: 5, predicted: 0, confidence: expect.closeTo(0.9, 6), trueClass: 2 });
    expect(mostConfidentlyWrong(probs, yTrue, 3, 10)).toHaveLength(3);
  });

  it('log loss is the mean negative log-probability of the true class', () => {
    const expected = -[0.7, 0.2, 0.8, 0.3, 0.9, 0.05].reduce((s, p) => s + Math.log(p), 0) / 6;
    expect(logLoss(yTrue, probs, 3)).toBeCloseTo(expected, 6);
  });

  it('evaluate bundles everything as plain JSON', () => {
    const r = evaluate(yTrue, probs, 3, { bins: 4, topWrong: 1 });
    expect(r.n).toBe(6);
    expect(r.accuracy).toBe(0.5);
    expect(r.macroF1).toBe(0.5);
    expect(r.ece).toBeCloseTo(expectedCalibrationError(probs, yTrue, 3, 4), 10);
    expect(r.mostConfidentlyWrong).toHaveLength(1);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('rejects inconsistent input', () => {
    expect(() => accuracy([0, 1], new Float32Array(3), 2)).toThrow(/expected 2 × 2/);
    expect(() => accuracy([0, 2], new Float32Array(4), 2)).toThrow(/outside/);
  });
});
