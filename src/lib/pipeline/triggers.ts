// Which automatic triggers have fired. Asked while the app is open and once on opening it, to
// catch up on what fired while it was closed; either way the host starts at most one run, with
// every returned reason as its trigger detail.
import type { TriggerDefinition } from './definition';

export interface DueTrigger {
  kind: 'new-labels' | 'drift-alert';
  detail: string;
}

export interface TriggerInput {
  triggers: TriggerDefinition[];
  /** Labeled samples in the project now. */
  labeledNow: number;
  /** Labeled samples the last run (of any outcome) snapshotted; null if the pipeline never ran. */
  labeledAtLastRun: number | null;
  /** Drift alerts on the project's production model. */
  alerts: Array<{ id: string; at: number }>;
  /** When the last run (of any outcome) started; null if the pipeline never ran. */
  lastRunAt: number | null;
  runningNow: boolean;
}

/**
 * Triggers due now. A pipeline that never ran only starts by hand: there is no baseline to count
 * new labels or alerts from, and a first run is a choice a person should make. Counting from the
 * last run whatever its outcome keeps a failing pipeline from firing again in a loop. Labels count
 * as a net change, so deleting labels never fires.
 */
export function dueTriggers(input: TriggerInput): DueTrigger[] {
  const { triggers, labeledNow, labeledAtLastRun, alerts, lastRunAt, runningNow } = input;
  if (runningNow) return [];
  const due: DueTrigger[] = [];
  for (const trigger of triggers) {
    if (trigger.kind === 'new-labels' && trigger.enabled && labeledAtLastRun !== null) {
      const added = labeledNow - labeledAtLastRun;
      if (added >= trigger.count)
        due.push({
          kind: 'new-labels',
          detail: `${added} new label${added === 1 ? '' : 's'} since the last run (the trigger fires at ${trigger.count}).`,
        });
    }
    if (trigger.kind === 'drift-alert' && trigger.enabled && lastRunAt !== null) {
      const fresh = alerts.filter((a) => a.at > lastRunAt);
      if (fresh.length > 0)
        due.push({ kind: 'drift-alert', detail: `${fresh.length} drift alert${fresh.length === 1 ? '' : 's'} since the last run.` });
    }
  }
  return due;
}
