// Runs a pipeline's steps in order, reusing cached results, saving the record after every change
// so a closed tab loses at most the step that was running. The host injects what each step does
// and where records and results are stored; this file only decides states.
import type { PipelineDefinition, StepDefinition, StepKind } from './definition';
import { REASON_CACHED, type StepKeyParts, type StepPlan } from './plan';
import { errorMessage } from '../util/errors';
import type { StepState, StepLogLine, StepRun, PipelineRunState, RunTriggerKind, PipelineRunRecord } from '../../contracts/pipeline';
export type { StepState, StepLogLine, StepRun, PipelineRunState, RunTriggerKind, PipelineRunRecord };

export interface StepContext {
  step: StepDefinition;
  run: PipelineRunRecord;
  /** Outputs of an earlier step of this run (by id or kind), executed or cached; null if it has none. */
  outputsOf(stepIdOrKind: string): Record<string, unknown> | null;
  log(message: string): void;
  isCancelled(): boolean;
}

export interface StepResult {
  outputs: Record<string, unknown>;
  /** Stops the run without failing it (the gate refusing a candidate): later steps are skipped. */
  halt?: { state: 'rejected'; message: string };
}

export type StepExecutor = (ctx: StepContext) => Promise<StepResult>;

export interface ResultCache {
  get(key: string): Promise<Record<string, unknown> | undefined>;
  put(key: string, kind: StepKind, outputs: Record<string, unknown>): Promise<void>;
}

export interface RunDeps {
  executors: Record<StepKind, StepExecutor>;
  /** From computeStepKeys on the run's definition, recomputed before every start and resume. */
  keys: StepKeyParts[];
  cache: ResultCache;
  /** Persists a copy of the record; awaited after every state change. */
  save(run: PipelineRunRecord): Promise<void>;
  isCancelled(): boolean;
  now?(): number;
}

const COMPLETE: ReadonlySet<StepState> = new Set(['done', 'cached']);

/** The error an executor throws when the GPU device was lost: the run can resume later. */
export const GPU_LOST_ERROR_NAME = 'GpuLostError';

export function newRunRecord(args: {
  id: string;
  pipelineId: string;
  projectId: string;
  number: number;
  definition: PipelineDefinition;
  trigger: PipelineRunRecord['trigger'];
  /** From planRun: gives each step its reason. */
  plan: StepPlan[];
  now: number;
}): PipelineRunRecord {
  const definition = structuredClone(args.definition);
  const steps = definition.steps.map((step): StepRun => {
    const planned = args.plan.find((p) => p.stepId === step.id);
    return {
      stepId: step.id,
      kind: step.kind,
      state: 'pending',
      key: null,
      reason: planned?.reason ?? '',
      startedAt: null,
      durationMs: 0,
      logs: [],
      outputs: null,
      error: null,
    };
  });
  return {
    id: args.id,
    pipelineId: args.pipelineId,
    projectId: args.projectId,
    number: args.number,
    definition,
    trigger: { ...args.trigger },
    state: 'running',
    createdAt: args.now,
    updatedAt: args.now,
    steps,
    keys: [],
    message: null,
  };
}

/**
 * A run that can be continued: it stopped without finishing (its tab died while 'running', or it
 * was interrupted or cancelled) and some step is not complete. Failed and rejected runs are final.
 */
export function resumableRun(record: PipelineRunRecord): boolean {
  return (
    (record.state === 'running' || record.state === 'interrupted' || record.state === 'cancelled') &&
    record.steps.some((s) => !COMPLETE.has(s.state))
  );
}

/**
 * Runs (or resumes) `run` to its end and returns the final record; `run` itself is not modified.
 *
 * - Steps already done or cached are kept when their key is unchanged; a key that changed since
 *   (the data moved while the run was paused) makes the step, and so every later one, run again.
 * - A step whose key is in the cache is 'cached' without running its executor.
 * - An executor that throws fails the run and skips later steps, unless the run was being
 *   cancelled (the step is 'cancelled', the run 'cancelled') or the GPU was lost (the step is
 *   'cancelled', the run 'interrupted'); then the later steps stay 'pending' for a resume.
 * - Cancelling between steps stops before the next one; a step that returns although cancel was
 *   asked during it still counts as done.
 * - A halt (the gate) finishes the run 'rejected', later steps 'skipped'. A halting result is
 *   not cached, so the next run asks the gate again instead of reusing a rejection silently.
 */
export async function runPipeline(run: PipelineRunRecord, deps: RunDeps): Promise<PipelineRunRecord> {
  const now = deps.now ?? Date.now;
  const record = structuredClone(run);
  const steps = record.definition.steps;
  if (deps.keys.length !== steps.length || deps.keys.some((k, i) => k.stepId !== steps[i].id || record.steps[i]?.stepId !== k.stepId)) {
    throw new Error('runPipeline: the keys or step records do not match the run definition');
  }
  const save = async () => {
    record.updatedAt = now();
    await deps.save(structuredClone(record));
  };
  const finish = async (state: PipelineRunState, message: string | null) => {
    record.state = state;
    record.message = message;
    await save();
    return record;
  };
  const skipFrom = (index: number, reason: string) => {
    for (const later of record.steps.slice(index)) {
      Object.assign(later, { state: 'skipped', reason, key: null, startedAt: null, durationMs: 0, outputs: null, error: null });
    }
  };

  record.state = 'running';
  record.message = null;
  record.keys = structuredClone(deps.keys);
  await save();

  for (const [index, step] of steps.entries()) {
    const stepRun = record.steps[index];
    const { key } = deps.keys[index];
    if (COMPLETE.has(stepRun.state) && stepRun.key === key) continue;
    if (COMPLETE.has(stepRun.state)) stepRun.reason = 'its inputs changed while the run was paused';
    if (deps.isCancelled()) return finish('cancelled', `Cancelled before step "${step.id}".`);

    Object.assign(stepRun, { key, startedAt: now(), durationMs: 0, logs: [], outputs: null, error: null });
    const cached = await deps.cache.get(key);
    if (cached) {
      Object.assign(stepRun, { state: 'cached', outputs: cached, reason: REASON_CACHED });
      await save();
      continue;
    }
    // Planned as cached, but the result was evicted since.
    if (stepRun.reason === REASON_CACHED) stepRun.reason = 'result no longer in the cache';
    stepRun.state = 'running';
    await save();

    const ctx: StepContext = {
      step,
      run: record,
      outputsOf: (idOrKind) => {
        const earlier = record.steps.slice(0, index).find((s) => s.stepId === idOrKind || s.kind === idOrKind);
        return earlier && COMPLETE.has(earlier.state) ? earlier.outputs : null;
      },
      log: (message) => stepRun.logs.push({ at: now(), message }),
      isCancelled: () => deps.isCancelled(),
    };
    let result: StepResult;
    try {
      result = await deps.executors[step.kind](ctx);
    } catch (e) {
      stepRun.durationMs = now() - stepRun.startedAt!;
      stepRun.error = errorMessage(e);
      if (e instanceof Error && e.name === GPU_LOST_ERROR_NAME) {
        stepRun.state = 'cancelled';
        return finish('interrupted', `Step "${step.id}" stopped: the GPU was lost. Resume the run to continue from this step.`);
      }
      if (deps.isCancelled()) {
        stepRun.state = 'cancelled';
        return finish('cancelled', `Cancelled during step "${step.id}".`);
      }
      stepRun.state = 'failed';
      skipFrom(index + 1, `an earlier step failed (${step.id})`);
      return finish('failed', `Step "${step.id}" failed: ${stepRun.error}`);
    }

    Object.assign(stepRun, { state: 'done', outputs: result.outputs, durationMs: now() - stepRun.startedAt! });
    if (result.halt) {
      skipFrom(index + 1, result.halt.message);
      return finish('rejected', result.halt.message);
    }
    try {
      await deps.cache.put(key, step.kind, result.outputs);
    } catch (e) {
      // A full disk must not fail a step whose work is done; the next run simply recomputes it.
      stepRun.logs.push({ at: now(), message: `The result could not be cached: ${errorMessage(e)}` });
    }
    await save();
  }
  return finish('succeeded', null);
}
