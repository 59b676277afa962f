// What the Label stage says about a strategy's expected saving: the figures npm run bench:label
// measured (al-benchmark.json, written by the benchmark and committed with the source), with
// their machine and date. Nothing here is estimated; a strategy the benchmark did not run has no
// claim.
import measured from './al-benchmark.json';
import type { AcquisitionStrategy } from './acquisition';

export interface StrategyFigures {
  /** Labels needed per seed to reach random acquisition's accuracy at `end` labels (null: not reached by `end`). */
  labelsPerSeed: Array<number | null>;
  meanLabels: number | null;
  worstLabels: number | null;
}

export interface BenchmarkFigures {
  date: string;
  machine: string;
  dataset: string;
  model: string;
  seeds: number;
  end: number;
  /** Random acquisition's mean test accuracy at `end` labels. */
  randomAtEnd: number;
  strategies: Partial<Record<AcquisitionStrategy, StrategyFigures>>;
}

export const BENCHMARK: BenchmarkFigures = measured as BenchmarkFigures;

const pct = (x: number, of: number) => `${Math.round((x / of) * 100)}%`;

/** One honest sentence on what the benchmark measured for `strategy`, or null when it was not measured. */
export function expectedSaving(strategy: AcquisitionStrategy, b: BenchmarkFigures = BENCHMARK): string | null {
  const f = b.strategies[strategy];
  if (!f) return null;
  const target = `${(b.randomAtEnd * 100).toFixed(1)}%`;
  const where = `Measured by npm run bench:label on ${b.dataset} with ${b.model}, ${b.seeds} seeds, on ${b.machine}, ${b.date.slice(0, 10)}.`;
  if (f.meanLabels === null || f.worstLabels === null) {
    const reached = f.labelsPerSeed.filter((x) => x !== null).length;
    return `Random labeling reached ${target} test accuracy with ${b.end} labels; this strategy did not reach it within ${b.end} labels on ${b.seeds - reached} of ${b.seeds} seeds. ${where}`;
  }
  return `Random labeling reached ${target} test accuracy with ${b.end} labels; this strategy reached it with ${Math.round(f.meanLabels)} on average (${pct(f.meanLabels, b.end)} of the labels) and ${f.worstLabels} on its worst seed (${pct(f.worstLabels, b.end)}). ${where} Other data and models save more or less.`;
}
