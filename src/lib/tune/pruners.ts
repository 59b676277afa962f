// Early stopping of unpromising trials from their per-epoch validation values. Pure decisions
// over curves; the study runner owns the trials and asks after every epoch.
import type { PrunerConfig } from '../../contracts/tuning';
export type { PrunerConfig };

export interface TrialCurve {
  id: string;
  /** Objective after epoch 1, 2, ... (index 0 is epoch 1). */
  values: number[];
  /** Ran all its epochs (state "complete"). Pruned, failed and running trials are false. */
  finished: boolean;
}

export type Direction = 'maximize' | 'minimize';

/** A pruner of the given kind with the settings the Tune stage starts from. */
export function defaultPruner(kind: PrunerConfig['kind']): PrunerConfig {
  if (kind === 'median') return { kind, warmupEpochs: 1, minTrials: 3 };
  if (kind === 'asha') return { kind, minEpochs: 1, reductionFactor: 3 };
  return { kind: 'none' };
}

export interface PruneDecision {
  prune: boolean;
  reason: string | null;
}

const KEEP: PruneDecision = { prune: false, reason: null };

/** Three significant digits without trailing zeros: 0.41, 0.773, 1230. */
function fmt(v: number): string {
  return String(Number(v.toPrecision(3)));
}

/** a is strictly better than b in this direction. */
function better(direction: Direction, a: number, b: number): boolean {
  return direction === 'maximize' ? a > b : a < b;
}

/** Best finite value among the first `epochs` values; NaN when there is none. */
function bestUpTo(direction: Direction, values: number[], epochs: number): number {
  let best = NaN;
  for (let i = 0; i < Math.min(epochs, values.length); i++) {
    const v = values[i];
    if (Number.isFinite(v) && (Number.isNaN(best) || better(direction, v, best))) best = v;
  }
  return best;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Human-readable problem with a pruner configuration, or null when it is usable. */
export function validatePruner(config: PrunerConfig): string | null {
  switch (config.kind) {
    case 'none':
      return null;
    case 'median':
      if (!Number.isInteger(config.warmupEpochs) || config.warmupEpochs < 0)
        return 'Median pruner: warm-up epochs must be a whole number ≥ 0';
      if (!Number.isInteger(config.minTrials) || config.minTrials < 1) return 'Median pruner: minimum trials must be a whole number ≥ 1';
      return null;
    case 'asha':
      if (!Number.isInteger(config.minEpochs) || config.minEpochs < 1) return 'ASHA: minimum epochs must be a whole number ≥ 1';
      if (!Number.isInteger(config.reductionFactor) || config.reductionFactor < 2)
        return 'ASHA: reduction factor must be a whole number ≥ 2';
      return null;
    default:
      return `Unknown pruner "${(config as { kind: unknown }).kind}"`;
  }
}

/**
 * Median rule, after Optuna's MedianPruner: once past the warm-up, stop the trial if its best
 * value so far is strictly worse than the median, over the finished trials that reached this
 * epoch, of their best value up to this epoch. Needs `minTrials` such trials; before that
 * there is nothing reliable to compare against. (Optuna compares against the other trials'
 * value at the step itself; the best-so-far on both sides compares like with like and is not
 * fooled by one noisy epoch.)
 */
function medianRule(
  config: Extract<PrunerConfig, { kind: 'median' }>,
  direction: Direction,
  trial: TrialCurve,
  others: TrialCurve[],
  label: string,
): PruneDecision {
  const epoch = trial.values.length;
  if (epoch === 0 || epoch <= config.warmupEpochs) return KEEP;
  const own = bestUpTo(direction, trial.values, epoch);
  if (Number.isNaN(own)) return { prune: true, reason: `${label} is not a number after epoch ${epoch}` };
  const reference = others
    .filter((o) => o.id !== trial.id && o.finished && o.values.length >= epoch)
    .map((o) => bestUpTo(direction, o.values, epoch))
    .filter((v) => !Number.isNaN(v));
  if (reference.length < config.minTrials) return KEEP;
  const m = median(reference);
  if (!better(direction, m, own)) return KEEP;
  const side = direction === 'maximize' ? 'below' : 'above';
  return { prune: true, reason: `${label} ${fmt(own)} ${side} median ${fmt(m)} at epoch ${epoch}` };
}

/** Rung epochs minEpochs·η^k that are ≤ `epoch`; the trial is judged only when it lands on one. */
export function ashaRungIndex(config: Extract<PrunerConfig, { kind: 'asha' }>, epoch: number): number | null {
  let rung = config.minEpochs;
  for (let k = 0; rung <= epoch; k++, rung *= config.reductionFactor) {
    if (rung === epoch) return k;
  }
  return null;
}

/**
 * Asynchronous successive halving, for trials that run one after another and cannot be paused:
 * rungs sit at epochs minEpochs·η^k. When a trial completes a rung epoch, its value there is
 * ranked with the values every other trial recorded at that epoch (pruned ones included: they
 * were recorded before they stopped). It continues only if it is within the top ⌊n/η⌋ of those
 * n values, itself included. With fewer than η values no ⌊n/η⌋ slot exists yet; the original
 * ASHA would park the trial until more results arrive, which a sequential runner cannot do, so
 * (as Optuna's SuccessiveHalvingPruner) it continues only if it is the best so far at that rung.
 * Ties are resolved in the trial's favour.
 */
function ashaRule(
  config: Extract<PrunerConfig, { kind: 'asha' }>,
  direction: Direction,
  trial: TrialCurve,
  others: TrialCurve[],
  label: string,
): PruneDecision {
  const epoch = trial.values.length;
  if (ashaRungIndex(config, epoch) === null) return KEEP;
  const own = trial.values[epoch - 1];
  if (!Number.isFinite(own)) return { prune: true, reason: `${label} is not a number at rung epoch ${epoch}` };
  const competing = [own];
  for (const o of others) {
    if (o.id === trial.id || o.values.length < epoch) continue;
    const v = o.values[epoch - 1];
    if (Number.isFinite(v)) competing.push(v);
  }
  // Best first.
  competing.sort((a, b) => (direction === 'maximize' ? b - a : a - b));
  const slots = Math.max(1, Math.floor(competing.length / config.reductionFactor));
  const cutoff = competing[slots - 1];
  if (!better(direction, cutoff, own)) return KEEP;
  const top = slots === 1 ? 'the best' : `the top ${slots}`;
  return {
    prune: true,
    reason: `${label} ${fmt(own)} at epoch ${epoch} not among ${top} of ${competing.length} trials at that rung (cut-off ${fmt(cutoff)})`,
  };
}

/**
 * Whether to stop `trial` after its latest epoch. `others` are the study's other trials (the
 * trial itself is ignored if included). `label` names the metric in the reason, e.g. "val acc".
 */
export function shouldPrune(
  config: PrunerConfig,
  direction: Direction,
  trial: TrialCurve,
  others: TrialCurve[],
  label = 'value',
): PruneDecision {
  const problem = validatePruner(config);
  if (problem) throw new Error(problem);
  switch (config.kind) {
    case 'none':
      return KEEP;
    case 'median':
      return medianRule(config, direction, trial, others, label);
    case 'asha':
      return ashaRule(config, direction, trial, others, label);
  }
}
