// Drift tests between the training data (reference) and recent predictions (current). The per-stat
// rules follow Evidently's defaults so the numbers mean what people who know that tool expect:
// KS for smaller samples, normalised Wasserstein for large ones, dataset drift when more than half
// of the stats drift; MMD on embedding sketches catches changes no single stat shows.
import { mulberry32, shuffleInPlace } from '../ml/random';
import type { StatDrift, DriftReport } from '../../contracts/monitor';
export type { StatDrift, DriftReport };

/** An ascending copy; typed-array sort is numeric and faster than Array#sort with a comparator. */
function sorted(values: number[]): Float64Array {
  return Float64Array.from(values).sort();
}

function mean(values: number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return values.length ? s / values.length : 0;
}

/** Population standard deviation (numpy's default, which Evidently's rule is stated in). */
function std(values: number[]): number {
  const m = mean(values);
  let s = 0;
  for (const v of values) s += (v - m) * (v - m);
  return values.length ? Math.sqrt(s / values.length) : 0;
}

/** P(K > lambda) for the Kolmogorov distribution; each series used where it converges fast. */
function kolmogorovSurvival(lambda: number): number {
  if (lambda <= 0) return 1;
  if (lambda < 1.18) {
    // 1 - CDF via the theta-function form, accurate for small lambda.
    const k = -(Math.PI * Math.PI) / (8 * lambda * lambda);
    let s = 0;
    for (let j = 1; j <= 7; j++) s += Math.exp(k * (2 * j - 1) * (2 * j - 1));
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * s));
  }
  let s = 0;
  for (let j = 1; j <= 100; j++) {
    const term = Math.exp(-2 * j * j * lambda * lambda);
    s += j % 2 === 1 ? term : -term;
    if (term < 1e-16) break;
  }
  return Math.min(1, Math.max(0, 2 * s));
}

/** Two-sample Kolmogorov–Smirnov; an empty sample gives D = 0, p = 1 (no evidence either way). */
export function ksTwoSample(a: number[], b: number[]): { statistic: number; pValue: number } {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { statistic: 0, pValue: 1 };
  const x = sorted(a);
  const y = sorted(b);
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < n && j < m) {
    // Step past every copy of the smallest value in both samples, so ties move the CDFs together.
    const v = Math.min(x[i], y[j]);
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
    d = Math.max(d, Math.abs(i / n - j / m));
  }
  const en = Math.sqrt((n * m) / (n + m));
  return { statistic: d, pValue: kolmogorovSurvival((en + 0.12 + 0.11 / en) * d) };
}

/** Earth mover's distance between the empirical distributions: the area between the two CDFs. */
export function wasserstein1d(a: number[], b: number[]): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return 0;
  const x = sorted(a);
  const y = sorted(b);
  let i = 0;
  let j = 0;
  let prev = Math.min(x[0], y[0]);
  let area = 0;
  while (i < n || j < m) {
    const v = j >= m || (i < n && x[i] <= y[j]) ? x[i] : y[j];
    area += Math.abs(i / n - j / m) * (v - prev);
    prev = v;
    while (i < n && x[i] === v) i++;
    while (j < m && y[j] === v) j++;
  }
  return area;
}

/** W / std(reference), floored at 1e-9; Evidently calls it drift at >= 0.1. */
export function normalizedWasserstein(ref: number[], cur: number[]): number {
  return wasserstein1d(ref, cur) / Math.max(std(ref), 1e-9);
}

/** Linear interpolation between order statistics of an ascending array (numpy's default). */
function quantileSorted(s: ArrayLike<number>, q: number): number {
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/**
 * Population stability index over bins cut at reference quantiles (duplicate edges merged, so
 * discrete stats get fewer bins). Bins are right-closed; empty bins count as 1e-4. Drift at >= 0.2.
 */
export function psi(ref: number[], cur: number[], bins = 10): number {
  if (ref.length === 0 || cur.length === 0) return 0;
  const r = sorted(ref);
  const edges: number[] = [];
  for (let k = 1; k < bins; k++) {
    const e = quantileSorted(r, k / bins);
    if (edges.length === 0 || e > edges[edges.length - 1]) edges.push(e);
  }
  const count = (values: ArrayLike<number>): number[] => {
    const c = new Array<number>(edges.length + 1).fill(0);
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      let lo = 0;
      let hi = edges.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (edges[mid] < v) lo = mid + 1;
        else hi = mid;
      }
      c[lo]++;
    }
    return c;
  };
  const cr = count(r);
  const cc = count(cur);
  let total = 0;
  for (let k = 0; k < cr.length; k++) {
    const p = Math.max(cr[k] / ref.length, 1e-4);
    const q = Math.max(cc[k] / cur.length, 1e-4);
    total += (q - p) * Math.log(q / p);
  }
  return total;
}

export interface MmdOptions {
  /** Default 200. */
  permutations?: number;
  /** Seeds both the subsampling and the permutations. Default 0. */
  seed?: number;
  /** Each side is subsampled (seeded) to at most this many points. Default 300. */
  maxPerSide?: number;
}

/**
 * Unbiased MMD² with a Gaussian kernel (bandwidth: median pairwise distance of the pooled sample)
 * and a permutation p-value. The kernel matrix is computed once; each permutation only re-sums it.
 */
export function mmdRbf(x: number[][], y: number[][], options: MmdOptions = {}): { mmd2: number; pValue: number; bandwidth: number } {
  const permutations = options.permutations ?? 200;
  const maxPerSide = options.maxPerSide ?? 300;
  const rand = mulberry32(options.seed ?? 0);
  const take = (s: number[][]): number[][] => (s.length <= maxPerSide ? s : shuffleInPlace([...s], rand).slice(0, maxPerSide));
  const xs = take(x);
  const ys = take(y);
  const n = xs.length;
  const m = ys.length;
  const pooled = [...xs, ...ys];
  const total = n + m;

  const dist2 = new Float64Array(total * total);
  const distances: number[] = [];
  for (let i = 0; i < total; i++) {
    for (let j = i + 1; j < total; j++) {
      const a = pooled[i];
      const b = pooled[j];
      let s = 0;
      for (let k = 0; k < a.length; k++) s += (a[k] - b[k]) * (a[k] - b[k]);
      dist2[i * total + j] = s;
      dist2[j * total + i] = s;
      distances.push(Math.sqrt(s));
    }
  }
  distances.sort((p, q) => p - q);
  let bandwidth = distances.length ? quantileSorted(distances, 0.5) : 1;
  // More than half the pairs identical: fall back to the mean positive distance, then to 1.
  if (!(bandwidth > 0)) {
    const positive = distances.filter((d) => d > 0);
    bandwidth = positive.length ? mean(positive) : 1;
  }
  if (n < 2 || m < 2) return { mmd2: 0, pValue: 1, bandwidth };

  const kernel = dist2; // reused in place: exp(-d² / 2σ²)
  const scale = -1 / (2 * bandwidth * bandwidth);
  for (let i = 0; i < kernel.length; i++) kernel[i] = Math.exp(dist2[i] * scale);

  // inX[i] marks pooled point i as belonging to the first sample under the current labelling.
  const inX = new Uint8Array(total);
  const statistic = (): number => {
    let sxx = 0;
    let syy = 0;
    let sxy = 0;
    for (let i = 0; i < total; i++) {
      const row = i * total;
      const xi = inX[i];
      for (let j = i + 1; j < total; j++) {
        const k = kernel[row + j];
        if (xi !== inX[j]) sxy += k;
        else if (xi) sxx += k;
        else syy += k;
      }
    }
    return (2 * sxx) / (n * (n - 1)) + (2 * syy) / (m * (m - 1)) - (2 * sxy) / (n * m);
  };
  inX.fill(1, 0, n);
  const mmd2 = statistic();
  const order = Array.from({ length: total }, (_, i) => i);
  let atLeast = 0;
  for (let p = 0; p < permutations; p++) {
    shuffleInPlace(order, rand);
    inX.fill(0);
    for (let i = 0; i < n; i++) inX[order[i]] = 1;
    if (statistic() >= mmd2) atLeast++;
  }
  return { mmd2, pValue: (1 + atLeast) / (1 + permutations), bandwidth };
}

export interface DriftOptions {
  /** KS significance level, and the MMD one. Default 0.05. */
  alpha?: number;
  /** Current samples from which normalised Wasserstein replaces KS (KS flags tiny shifts at scale). Default 1000. */
  largeSample?: number;
  /** Dataset drift when the share of drifted stats exceeds this. Default 0.5. */
  shareThreshold?: number;
  /** Below this many current values nothing is called drift. Default 30. */
  minCurrent?: number;
  embeddings?: { reference: number[][]; current: number[][] };
}

export const WASSERSTEIN_DRIFT = 0.1;
/** The defaults of DriftOptions, exported so the UI states the rule it applies. */
export const DRIFT_DEFAULTS = { alpha: 0.05, largeSample: 1000, shareThreshold: 0.5, minCurrent: 30 } as const;
export const PSI_DRIFT = 0.2;

function isConstantAt(values: number[], v: number): boolean {
  return values.every((x) => x === v);
}

/** Compares every stat in `reference` with the same-named stat in `current`. */
export function driftReport(
  reference: Record<string, number[]>,
  current: Record<string, number[]>,
  options: DriftOptions = {},
): DriftReport {
  const alpha = options.alpha ?? DRIFT_DEFAULTS.alpha;
  const largeSample = options.largeSample ?? DRIFT_DEFAULTS.largeSample;
  const shareThreshold = options.shareThreshold ?? DRIFT_DEFAULTS.shareThreshold;
  const minCurrent = options.minCurrent ?? DRIFT_DEFAULTS.minCurrent;
  const names = Object.keys(reference);
  const currentCount = Math.max(0, ...names.map((k) => current[k]?.length ?? 0));
  const referenceCount = Math.max(0, ...names.map((k) => reference[k].length));
  const enough = currentCount >= minCurrent;

  const perStat = names.map((name): StatDrift => {
    const ref = reference[name];
    const cur = current[name] ?? [];
    const base = { name, psi: psi(ref, cur), refMean: mean(ref), curMean: mean(cur) };
    // Both constant at the same value (e.g. every image 28 px wide): identical, whatever a test says.
    const same = ref.length > 0 && isConstantAt(ref, ref[0]) && isConstantAt(cur, ref[0]);
    if (cur.length < largeSample) {
      const { statistic, pValue } = ksTwoSample(ref, cur);
      return { ...base, test: 'ks', statistic, pValue, drifted: enough && !same && pValue < alpha };
    }
    const statistic = normalizedWasserstein(ref, cur);
    return { ...base, test: 'wasserstein', statistic, pValue: null, drifted: enough && !same && statistic >= WASSERSTEIN_DRIFT };
  });
  const share = perStat.length ? perStat.filter((s) => s.drifted).length / perStat.length : 0;

  let embedding: DriftReport['embedding'] = null;
  if (options.embeddings) {
    const { mmd2, pValue } = mmdRbf(options.embeddings.reference, options.embeddings.current);
    embedding = { mmd2, pValue, drifted: enough && pValue < alpha };
  }
  return { perStat, share, datasetDrift: share > shareThreshold, embedding, enough, currentCount, referenceCount };
}
