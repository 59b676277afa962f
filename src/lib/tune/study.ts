// Study-level decisions that do not touch training: which params the next trial gets, whether
// the budget allows another trial, and which trial won. Everything is a pure function of the
// plan and the trial records, so a study reloaded after a closed tab carries on identically.
import type { TrialRecord } from '../../contracts/records';
import { hashString, mulberry32, shuffleInPlace } from '../ml/random';
import { suggestBayesian, type Observation } from './bayes';
import { gridPoints, gridSize } from './grid';
import { validatePruner } from './pruners';
import { sampleRandom } from './random-search';
import { paramKey, validateSpace, type Params } from './space';
import type { Strategy, Objective, TrialState, StudyPlan } from '../../contracts/tuning';
export type { Strategy, Objective, TrialState, StudyPlan };

export interface TrialSummary {
  number: number;
  params: Params;
  state: TrialState;
  /** Objective after each epoch. */
  values: number[];
  /** Final objective (complete trials); null while running or when the trial produced none. */
  value: number | null;
}

/** Grids above this many points are refused rather than materialised. */
export const MAX_GRID_POINTS = 100_000;

export function directionOf(o: Objective): 'maximize' | 'minimize' {
  return o.metric === 'valAcc' ? 'maximize' : 'minimize';
}

/** Human-readable problem with a plan, or null when it can run. */
export function validatePlan(plan: StudyPlan): string | null {
  const spaceProblem = validateSpace(plan.space);
  if (spaceProblem) return spaceProblem;
  if (!Number.isInteger(plan.maxTrials) || plan.maxTrials < 1) return 'Maximum trials must be a whole number ≥ 1';
  if (plan.maxMinutes !== null && !(Number.isFinite(plan.maxMinutes) && plan.maxMinutes > 0))
    return 'Time limit must be a positive number of minutes';
  if (!Number.isInteger(plan.seed)) return 'Seed must be a whole number';
  if (plan.strategy === 'grid') {
    const size = gridSize(plan.space, plan.gridFloatSteps ?? 3);
    if (size > MAX_GRID_POINTS)
      return `The grid has ${size.toLocaleString('en')} points; narrow the space or use random or Bayesian search`;
  }
  return validatePruner(plan.pruner);
}

/** Independent generator per (seed, trial number, purpose), stable across reloads. */
function trialRandom(plan: StudyPlan, trialNumber: number, purpose: string): () => number {
  return mulberry32(hashString(`${purpose}:${plan.seed}:${trialNumber}`));
}

/**
 * The objective a finished trial contributes to the model: a complete trial's final value, a
 * pruned trial's last recorded value (it was stopped for looking bad, which is what the model
 * should learn). Null when the trial has nothing usable.
 */
function observedValue(t: TrialSummary): number | null {
  if (t.state !== 'complete' && t.state !== 'pruned') return null;
  const last = t.values.length > 0 ? t.values[t.values.length - 1] : null;
  const v = t.state === 'complete' ? (t.value ?? last) : last;
  return v !== null && Number.isFinite(v) ? v : null;
}

/**
 * Params for trial `trialNumber`, or null once a grid is exhausted.
 * - grid: the grid in a seeded shuffled order (so a study cut short by its budget still covers
 *   the space evenly), taking the first point no trial has used. Interrupted trials' points are
 *   handed out again; failed ones are not (they would fail again).
 * - random: seeded by (seed, trialNumber), redrawn a few times to avoid repeating a point.
 * - bayes: GP-EI on complete and pruned trials (maximised metrics negated), seeded by
 *   (seed, trialNumber); failed and running trials' points are avoided but not modelled.
 * All are deterministic in (plan, trials, trialNumber), so a resumed study suggests the same.
 */
export function nextParams(plan: StudyPlan, trials: TrialSummary[], trialNumber: number): Params | null {
  // A trial's own record (say, left "running" by a closed tab) must not change its suggestion.
  const others = trials.filter((t) => t.number !== trialNumber);
  const used = new Set(others.filter((t) => t.state !== 'interrupted').map((t) => paramKey(t.params)));
  switch (plan.strategy) {
    case 'grid': {
      const steps = plan.gridFloatSteps ?? 3;
      const size = gridSize(plan.space, steps);
      if (size > MAX_GRID_POINTS) throw new Error(`The grid has ${size} points (limit ${MAX_GRID_POINTS})`);
      const order = shuffleInPlace(gridPoints(plan.space, steps), mulberry32(hashString(`grid:${plan.seed}`)));
      return order.find((p) => !used.has(paramKey(p))) ?? null;
    }
    case 'random': {
      const rand = trialRandom(plan, trialNumber, 'random');
      let params = sampleRandom(plan.space, rand);
      // A small discrete space repeats itself quickly; a repeat teaches nothing.
      for (let attempt = 0; attempt < 100 && used.has(paramKey(params)); attempt++) params = sampleRandom(plan.space, rand);
      return params;
    }
    case 'bayes': {
      const sign = directionOf(plan.objective) === 'maximize' ? -1 : 1;
      const history: Observation[] = [];
      for (const t of [...others].sort((a, b) => a.number - b.number)) {
        const v = observedValue(t);
        if (v !== null) history.push({ params: t.params, value: sign * v });
        // Failed and running trials are not modelled, but their points should not be suggested
        // again: a NaN observation is "seen" without being fitted.
        else if (t.state === 'failed' || t.state === 'running') history.push({ params: t.params, value: NaN });
      }
      return suggestBayesian(plan.space, history, trialRandom(plan, trialNumber, 'bayes'));
    }
  }
}

/** Trials that used up budget: complete, pruned and failed. Running and interrupted do not count. */
export function countedTrials(trials: TrialSummary[]): number {
  return trials.filter((t) => t.state === 'complete' || t.state === 'pruned' || t.state === 'failed').length;
}

/** Whether another trial may start. */
export function budgetLeft(plan: StudyPlan, trials: TrialSummary[], elapsedMs: number): boolean {
  if (countedTrials(trials) >= plan.maxTrials) return false;
  if (plan.maxMinutes !== null && elapsedMs >= plan.maxMinutes * 60_000) return false;
  return true;
}

/** The complete trial with the best final value (lowest number wins a tie); null if none. */
export function bestTrial(plan: StudyPlan, trials: TrialSummary[]): TrialSummary | null {
  const maximize = directionOf(plan.objective) === 'maximize';
  let best: TrialSummary | null = null;
  for (const t of trials) {
    if (t.state !== 'complete' || t.value === null || !Number.isFinite(t.value)) continue;
    if (!best || (maximize ? t.value > best.value! : t.value < best.value!) || (t.value === best.value && t.number < best.number)) best = t;
  }
  return best;
}

/** What the study logic needs of a stored trial record. */
export const trialSummary = (t: TrialRecord): TrialSummary => ({
  number: t.number,
  params: t.params,
  state: t.state,
  values: t.values,
  value: t.value,
});
