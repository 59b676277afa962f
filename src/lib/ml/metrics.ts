// Evaluation metrics over plain numbers (class indices + row-major probabilities), no TF.js, so a
// report can be computed anywhere and stored as JSON next to the model version it describes.
import type { ClassMetrics, ConfidentMistake, CalibrationBin, EvaluationReport } from '../../contracts/training';
export type { ClassMetrics, ConfidentMistake, CalibrationBin, EvaluationReport };

function check(yTrue: number[], probs: Float32Array, numClasses: number): void {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`numClasses must be a positive integer (got ${numClasses})`);
  if (probs.length !== yTrue.length * numClasses) {
    throw new Error(`probs has ${probs.length} values; expected ${yTrue.length} × ${numClasses}`);
  }
  for (const y of yTrue) {
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) throw new Error(`class index ${y} is outside 0..${numClasses - 1}`);
  }
}

/** Top-1 class and its probability for row i; ties go to the lower class index. */
function top1(probs: Float32Array, i: number, numClasses: number): [number, number] {
  let best = 0;
  let conf = probs[i * numClasses];
  for (let c = 1; c < numClasses; c++) {
    const p = probs[i * numClasses + c];
    if (p > conf) {
      conf = p;
      best = c;
    }
  }
  return [best, conf];
}

export function predictions(probs: Float32Array, numClasses: number): number[] {
  return Array.from({ length: probs.length / numClasses }, (_, i) => top1(probs, i, numClasses)[0]);
}

/** confusion[t][p]: rows are true classes, columns predicted classes. */
export function confusionMatrix(yTrue: number[], probs: Float32Array, numClasses: number): number[][] {
  check(yTrue, probs, numClasses);
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  yTrue.forEach((t, i) => m[t][top1(probs, i, numClasses)[0]]++);
  return m;
}

/** Fraction correct; 0 for an empty set. */
export function accuracy(yTrue: number[], probs: Float32Array, numClasses: number): number {
  const m = confusionMatrix(yTrue, probs, numClasses);
  return yTrue.length === 0 ? 0 : m.reduce((s, row, i) => s + row[i], 0) / yTrue.length;
}

/**
 * Per-class precision/recall/F1 from a confusion matrix. Undefined ratios (no predictions of a
 * class, no samples of it, or both zero) are reported as 0, like scikit-learn's zero_division=0.
 */
export function metricsFromConfusion(m: number[][]): ClassMetrics[] {
  return m.map((row, c) => {
    const tp = row[c];
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = m.reduce((s, r) => s + r[c], 0);
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { precision, recall, f1, support };
  });
}

export function perClassMetrics(yTrue: number[], probs: Float32Array, numClasses: number): ClassMetrics[] {
  return metricsFromConfusion(confusionMatrix(yTrue, probs, numClasses));
}

/**
 * Unweighted mean F1 over the classes that occur in the truth or the predictions (scikit-learn's
 * default label set), so a class absent from a small test split does not count as a zero.
 */
export function macroF1FromConfusion(m: number[][]): number {
  const per = metricsFromConfusion(m);
  const present = per.filter((c, i) => c.support > 0 || m.some((r) => r[i] > 0));
  return present.length === 0 ? 0 : present.reduce((s, c) => s + c.f1, 0) / present.length;
}

export function macroF1(yTrue: number[], probs: Float32Array, numClasses: number): number {
  return macroF1FromConfusion(confusionMatrix(yTrue, probs, numClasses));
}

/** Equal-width bins over top-1 confidence; bin k holds confidences in (k/B, (k+1)/B], 0 in bin 0. */
export function calibrationBins(probs: Float32Array, yTrue: number[], numClasses: number, bins = 15): CalibrationBin[] {
  check(yTrue, probs, numClasses);
  const count = new Array<number>(bins).fill(0);
  const correct = new Array<number>(bins).fill(0);
  const confSum = new Array<number>(bins).fill(0);
  yTrue.forEach((t, i) => {
    const [p, conf] = top1(probs, i, numClasses);
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(conf * bins) - 1));
    count[b]++;
    confSum[b] += conf;
    if (p === t) correct[b]++;
  });
  return count.map((c, b) => ({
    lo: b / bins,
    hi: (b + 1) / bins,
    count: c,
    accuracy: c ? correct[b] / c : 0,
    confidence: c ? confSum[b] / c : 0,
  }));
}

/** Standard ECE: sum over bins of (bin share) × |bin accuracy − bin mean confidence|. */
export function expectedCalibrationError(probs: Float32Array, yTrue: number[], numClasses: number, bins = 15): number {
  const n = yTrue.length;
  if (n === 0) return 0;
  return calibrationBins(probs, yTrue, numClasses, bins).reduce((s, b) => s + (b.count / n) * Math.abs(b.accuracy - b.confidence), 0);
}

/** Mean negative log-probability of the true class, clipped at 1e-7 as Keras does. */
export function logLoss(yTrue: number[], probs: Float32Array, numClasses: number): number {
  check(yTrue, probs, numClasses);
  if (yTrue.length === 0) return 0;
  const sum = yTrue.reduce((s, t, i) => s - Math.log(Math.min(1, Math.max(1e-7, probs[i * numClasses + t]))), 0);
  return sum / yTrue.length;
}

/** Wrong predictions sorted by confidence, highest first (ties by index); at most k. */
export function mostConfidentlyWrong(probs: Float32Array, yTrue: number[], numClasses: number, k: number): ConfidentMistake[] {
  check(yTrue, probs, numClasses);
  const wrong: ConfidentMistake[] = [];
  yTrue.forEach((t, i) => {
    const [p, conf] = top1(probs, i, numClasses);
    if (p !== t) wrong.push({ index: i, predicted: p, confidence: conf, trueClass: t });
  });
  wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
  return wrong.slice(0, Math.max(0, k));
}

export function evaluate(
  yTrue: number[],
  probs: Float32Array,
  numClasses: number,
  opts: { bins?: number; topWrong?: number } = {},
): EvaluationReport {
  const confusion = confusionMatrix(yTrue, probs, numClasses);
  const n = yTrue.length;
  const calibration = calibrationBins(probs, yTrue, numClasses, opts.bins ?? 15);
  return {
    n,
    numClasses,
    accuracy: n ? confusion.reduce((s, row, i) => s + row[i], 0) / n : 0,
    macroF1: macroF1FromConfusion(confusion),
    logLoss: logLoss(yTrue, probs, numClasses),
    ece: n ? calibration.reduce((s, b) => s + (b.count / n) * Math.abs(b.accuracy - b.confidence), 0) : 0,
    confusion,
    perClass: metricsFromConfusion(confusion),
    calibration,
    mostConfidentlyWrong: mostConfidentlyWrong(probs, yTrue, numClasses, opts.topWrong ?? 20),
  };
}
