// Pipeline triggers: checks every pipeline of an open project for due triggers (new labels, a
// drift alert) and starts a run in the shared pipelineActivity when one is due. ProjectView (any
// stage) and the Pipeline stage each run one; they share their checks.
import { listPipelines } from '../db/pipelines';
import { listAlerts } from '../db/monitoring';
import { listCommittedSamples } from '../db/committed';
import { findStep, parsePipeline } from '../lib/pipeline/definition';
import { dueTriggers } from '../lib/pipeline/triggers';
import type { TriggerInfo } from '../../workers/train.api';
import { heldLocks, lockName, pipelineActivity } from './pipeline-activity.svelte';
import { training } from './train-manager.svelte';
import { tuning } from './tune-manager.svelte';

/** Labeled samples the way the pipeline's snapshot counts them (finished imports, no conflicts). */
async function labeledCounts(projectId: string): Promise<{ all: number; human: number }> {
  const { samples } = await listCommittedSamples(projectId);
  let all = 0;
  let human = 0;
  for (const s of samples) {
    if (s.label === null || s.flags.includes('conflict')) continue;
    all++;
    if (!(s.labelSource?.kind === 'model' && s.labelSource.accepted === 'auto')) human++;
  }
  return { all, human };
}

/** Projects whose triggers are being checked right now (one check at a time per project, across watchers). */
const checking = new Set<string>();
const lastCheck = new Map<string, number>();
/** After a triggered start fails for another reason than "busy", that pipeline waits this long. */
const FAILURE_BACKOFF_MS = 60_000;
const backoff = new Map<string, number>();

/**
 * Checks every pipeline of a project for due triggers every 3 s, and once at start (catching up
 * on what fired while the app was closed); starts at most one run at a time. Several watchers of
 * the same project share their checks.
 */
export class PipelineTriggerWatcher {
  private projectId: string | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly intervalMs = 3000) {}

  start(projectId: string): void {
    this.stop();
    this.projectId = projectId;
    void this.check(true);
    this.timer = setInterval(() => void this.check(false), this.intervalMs);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.projectId = null;
  }

  /** One check of the project's triggers; resolves once a run was started (not finished) or none was due. */
  async check(force = false): Promise<void> {
    const projectId = this.projectId;
    if (!projectId || checking.has(projectId)) return;
    if (!force && Date.now() - (lastCheck.get(projectId) ?? 0) < this.intervalMs * 0.8) return;
    if (pipelineActivity.running || training.running || tuning.running) return;
    checking.add(projectId);
    lastCheck.set(projectId, Date.now());
    try {
      const pipelines = await listPipelines(projectId);
      if (pipelines.length === 0) return;
      const [counts, alerts, held] = await Promise.all([labeledCounts(projectId), listAlerts(projectId), heldLocks()]);
      for (const pipeline of pipelines) {
        if (this.projectId !== projectId || pipelineActivity.running) return;
        if ((backoff.get(pipeline.id) ?? 0) > Date.now()) continue;
        const parsed = parsePipeline(pipeline.definition);
        if (!parsed.ok) continue;
        const def = parsed.definition;
        const excludeAuto = findStep(def, 'snapshot')?.settings.excludeAutoLabels ?? false;
        const due = dueTriggers({
          triggers: def.triggers,
          labeledNow: excludeAuto ? counts.human : counts.all,
          labeledAtLastRun: pipeline.labeledAtLastRun,
          alerts: alerts.map((a) => ({ id: a.id, at: a.at })),
          lastRunAt: pipeline.lastRunAt,
          runningNow: pipelineActivity.running || held.has(lockName(pipeline.id)),
        });
        if (due.length === 0) continue;
        if (training.running || tuning.running) return;
        const trigger: TriggerInfo = { kind: due[0].kind, detail: due.map((d) => d.detail).join(' ') };
        void pipelineActivity
          .launch(projectId, pipeline.id, trigger, 'trigger', (api, onEvent) => api.runPipeline(pipeline.id, trigger, onEvent))
          .then((result) => {
            if (result.error === null || result.busy) return;
            backoff.set(pipeline.id, Date.now() + FAILURE_BACKOFF_MS);
            pipelineActivity.triggerError = {
              projectId,
              message: `The pipeline “${def.name}” was triggered (${trigger.detail}) but could not run: ${result.error}`,
            };
          });
        return;
      }
    } catch (err) {
      console.warn('Pipeline trigger check failed:', err);
    } finally {
      checking.delete(projectId);
    }
  }
}
