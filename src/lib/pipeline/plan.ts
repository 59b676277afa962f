// Step cache keys and the run plan: which steps will run, which reuse a cached result, and a
// reason a person can read for each. A step's key covers its settings, the key of the step
// before it and a fingerprint of what it reads from outside the pipeline, so any change anywhere
// upstream changes every later key without the planner having to reason about dependencies.
import type { PipelineDefinition, StepKind } from './definition';
import { canonicalJson, sha256Hex } from './hash';
import type { StepKeyParts, StepAction, StepPlan } from '../../contracts/pipeline';
export type { StepKeyParts, StepAction, StepPlan };

export interface PlanOptions {
  /**
   * Explains a fingerprint change as a sentence such as "labels changed: 40 new labels"; return
   * null to fall back to "its inputs changed".
   */
  describeFingerprintChange?(stepKind: StepKind, before: unknown, after: unknown): string | null;
  /** Kinds that run every time even when a cached result exists. */
  uncacheable?: StepKind[];
}

export interface CacheLookup {
  has(key: string): boolean;
}

export const REASON_CACHED = 'same inputs as an earlier run: result reused from the cache';
export const REASON_NOT_IN_CACHE = 'result not in the cache';
export const REASON_ALWAYS_RUNS = 'always runs';

/**
 * Keys for every step of `def`, in order. `fingerprints` maps step ids to plain JSON values
 * (a missing id counts as null). The step id is left out of the key on purpose: renaming a step
 * does not change what it computes.
 */
export async function computeStepKeys(def: PipelineDefinition, fingerprints: Record<string, unknown>): Promise<StepKeyParts[]> {
  const parts: StepKeyParts[] = [];
  let upstream: string | null = null;
  for (const step of def.steps) {
    const fingerprint = Object.prototype.hasOwnProperty.call(fingerprints, step.id) ? (fingerprints[step.id] ?? null) : null;
    const settingsHash = await sha256Hex(canonicalJson({ kind: step.kind, settings: step.settings }));
    const key: string = await sha256Hex(canonicalJson({ kind: step.kind, settings: step.settings, upstream, fingerprint }));
    parts.push({ stepId: step.id, kind: step.kind, settingsHash, upstream, fingerprint, key });
    upstream = key;
  }
  return parts;
}

/** What changed in the step itself since `previous` (its parts in the last run), or null if nothing. */
function ownChange(current: StepKeyParts, previous: StepKeyParts | undefined, options: PlanOptions): string | null {
  if (!previous) return 'never run';
  if (previous.settingsHash !== current.settingsHash) return 'settings changed';
  if (canonicalJson(previous.fingerprint) !== canonicalJson(current.fingerprint)) {
    return options.describeFingerprintChange?.(current.kind, previous.fingerprint, current.fingerprint) ?? 'its inputs changed';
  }
  return null;
}

/**
 * The plan for a run of `def`. `previous` holds the key parts of the last run (matched by step
 * id; null when the pipeline never ran). A step is cached exactly when its key is in the cache and
 * its kind is cacheable; the reason says what changed since the last run.
 */
export function planRun(
  def: PipelineDefinition,
  keys: StepKeyParts[],
  cache: CacheLookup,
  previous: StepKeyParts[] | null,
  options: PlanOptions = {},
): StepPlan[] {
  if (keys.length !== def.steps.length || keys.some((k, i) => k.stepId !== def.steps[i].id)) {
    throw new Error('planRun: the keys were computed for a different pipeline definition');
  }
  const uncacheable = new Set(options.uncacheable ?? []);
  // The nearest earlier step that changed by itself: the cause the steps after it name.
  let rootCause: string | null = null;
  return keys.map((current) => {
    const before = previous?.find((p) => p.stepId === current.stepId);
    const own = ownChange(current, before, options);
    const upstreamChanged = before !== undefined && before.upstream !== current.upstream;
    // Without a root cause, the steps before this one were removed or reordered since the last run.
    const changed = own ?? (upstreamChanged ? (rootCause ? `an earlier step reruns (${rootCause})` : 'the steps before it changed') : null);
    if (own) rootCause = current.stepId;
    const base = { stepId: current.stepId, kind: current.kind };
    if (uncacheable.has(current.kind)) return { ...base, action: 'run', reason: changed ?? REASON_ALWAYS_RUNS };
    if (cache.has(current.key)) return { ...base, action: 'cached', reason: REASON_CACHED };
    return { ...base, action: 'run', reason: changed ?? REASON_NOT_IN_CACHE };
  });
}
