// Aggregations behind the monitoring charts: latency percentiles, confidence and volume over time,
// and predicted versus training class shares.

/** Linear interpolation between order statistics (numpy's default); p in 0..100. NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = Float64Array.from(values).sort();
  const pos = (Math.min(100, Math.max(0, p)) / 100) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

/** p50 and p95 are NaN when there are no values; check `count`. */
export function latencySummary(values: number[]): { p50: number; p95: number; count: number } {
  return { p50: percentile(values, 50), p95: percentile(values, 95), count: values.length };
}

/**
 * Counts per bin for ascending `edges` (k + 1 edges, k bins): bins are [e_i, e_i+1), the last one
 * closed so a confidence of exactly 1 counts. Values outside the edges are ignored.
 */
export function histogram(values: number[], edges: number[]): number[] {
  const bins = Math.max(0, edges.length - 1);
  const counts = new Array<number>(bins).fill(0);
  if (bins === 0) return counts;
  const last = edges[bins];
  for (const v of values) {
    if (!(v >= edges[0] && v <= last)) continue;
    if (v === last) {
      counts[bins - 1]++;
      continue;
    }
    let lo = 0;
    let hi = bins - 1;
    // Largest i with edges[i] <= v.
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (edges[mid] <= v) lo = mid;
      else hi = mid - 1;
    }
    counts[lo]++;
  }
  return counts;
}

/**
 * Bucket starts from the first to the last entry, empty buckets included so charts show quiet
 * periods as zero rather than interpolating across them. Buckets align to multiples of bucketMs
 * since the epoch (UTC midnight for days). Choose bucketMs with pickBucket to bound the count.
 */
function bucketStarts(times: number[], bucketMs: number): number[] {
  if (times.length === 0) return [];
  let min = Infinity;
  let max = -Infinity;
  for (const t of times) {
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const first = Math.floor(min / bucketMs) * bucketMs;
  const starts: number[] = [];
  for (let s = first; s <= max; s += bucketMs) starts.push(s);
  return starts;
}

export function volumeOverTime(entries: Array<{ at: number }>, bucketMs: number): Array<{ start: number; count: number }> {
  const starts = bucketStarts(
    entries.map((e) => e.at),
    bucketMs,
  );
  const rows = starts.map((start) => ({ start, count: 0 }));
  if (rows.length === 0) return rows;
  for (const e of entries) rows[Math.floor((e.at - starts[0]) / bucketMs)].count++;
  return rows;
}

/** Per time bucket, counts of confidences in `bins` equal bins over 0..1. */
export function confidenceHistogramOverTime(
  entries: Array<{ at: number; confidence: number }>,
  bucketMs: number,
  bins = 10,
): Array<{ start: number; counts: number[] }> {
  const starts = bucketStarts(
    entries.map((e) => e.at),
    bucketMs,
  );
  const rows = starts.map((start) => ({ start, counts: new Array<number>(bins).fill(0) }));
  for (const e of entries) {
    const c = Math.min(1, Math.max(0, e.confidence));
    rows[Math.floor((e.at - starts[0]) / bucketMs)].counts[Math.min(bins - 1, Math.floor(c * bins))]++;
  }
  return rows;
}

export interface ClassShare {
  name: string;
  predictedShare: number;
  trainingShare: number;
}

/** Every class seen in training or predictions, naturally sorted; shares are 0 when a side is empty. */
export function classDistribution(predicted: string[], training: Record<string, number>): ClassShare[] {
  const counts = new Map<string, number>();
  for (const p of predicted) counts.set(p, (counts.get(p) ?? 0) + 1);
  let trainingTotal = 0;
  for (const v of Object.values(training)) trainingTotal += v;
  const names = [...new Set([...Object.keys(training), ...counts.keys()])].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  return names.map((name) => ({
    name,
    predictedShare: predicted.length ? (counts.get(name) ?? 0) / predicted.length : 0,
    trainingShare: trainingTotal ? (training[name] ?? 0) / trainingTotal : 0,
  }));
}

/** Total variation distance between the predicted and training shares, 0..1. */
export function totalVariation(rows: ClassShare[]): number {
  let s = 0;
  for (const r of rows) s += Math.abs(r.predictedShare - r.trainingShare);
  return s / 2;
}

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** A bucket that keeps a chart to at most ~120 points below 2 hours, ~72 below 3 days, days beyond. */
export function pickBucket(spanMs: number): { unit: 'minute' | 'hour' | 'day'; ms: number } {
  if (spanMs <= 2 * HOUR_MS) return { unit: 'minute', ms: MINUTE_MS };
  if (spanMs <= 3 * DAY_MS) return { unit: 'hour', ms: HOUR_MS };
  return { unit: 'day', ms: DAY_MS };
}
