// Runs a study's trials one after another against a host that trains and stores them. Pure control
// flow (no TF.js, no IndexedDB): the training worker hosts it in the app, the tuning benchmark hosts
// it in Node, so both exercise the same suggestion, pruning, budget and resume logic.
import type { Params } from './space';
import { budgetLeft, directionOf, nextParams, type StudyPlan, type TrialState, type TrialSummary } from './study';
import { shouldPrune, type TrialCurve } from './pruners';

export interface TrialResult {
  /** 'complete' | 'pruned' | 'failed'; a trial cut by a stop is 'interrupted' and runs again on resume. */
  state: Exclude<TrialState, 'running'>;
  /** Objective after each epoch. */
  values: number[];
  value: number | null;
  message: string | null;
}

/** After each epoch the trial reports its objective; a returned reason means "prune now". */
export type EpochReport = (value: number) => string | null;

export interface StudyHost {
  /** Every trial stored so far (after a reload: including the one that was cut). */
  loadTrials(): Promise<TrialSummary[]>;
  /** Runs one trial to its end (or until a report returns a reason, or the study is stopped). */
  runTrial(number: number, params: Params, report: EpochReport): Promise<TrialResult>;
  /** Time already spent on this study, across sessions. */
  elapsedMs(): number;
  isStopped(): boolean;
}

export type StudyEnd = 'budget' | 'exhausted' | 'stopped';

const FINISHED: TrialState[] = ['complete', 'pruned'];

export async function runStudy(plan: StudyPlan, host: StudyHost): Promise<StudyEnd> {
  const direction = directionOf(plan.objective);
  let trials = await host.loadTrials();
  for (;;) {
    if (host.isStopped()) return 'stopped';
    // A trial cut mid-way (reload, crash, stop) reruns with its number and parameters: it is
    // replaced, never counted twice.
    const cut = trials.find((t) => t.state === 'interrupted' || t.state === 'running');
    if (!cut && !budgetLeft(plan, trials, host.elapsedMs())) return 'budget';
    const number = cut ? cut.number : trials.reduce((n, t) => Math.max(n, t.number), 0) + 1;
    const params = cut ? cut.params : nextParams(plan, trials, number);
    if (!params) return 'exhausted';
    const others: TrialCurve[] = trials
      .filter((t) => FINISHED.includes(t.state) && t.number !== number)
      .map((t) => ({ id: String(t.number), values: t.values, finished: t.state === 'complete' }));
    const curve: TrialCurve = { id: String(number), values: [], finished: false };
    const result = await host.runTrial(number, params, (value) => {
      curve.values.push(value);
      const decision = shouldPrune(plan.pruner, direction, curve, others, plan.objective.metric === 'valAcc' ? 'val acc' : 'val loss');
      return decision.prune ? (decision.reason ?? 'Pruned.') : null;
    });
    const summary: TrialSummary = { number, params, state: result.state, values: result.values, value: result.value };
    trials = [...trials.filter((t) => t.number !== number), summary].sort((a, b) => a.number - b.number);
    if (result.state === 'interrupted') return 'stopped';
  }
}
