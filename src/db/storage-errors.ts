// Turning a failed IndexedDB write into words a person can act on. Usable from the page and from
// workers (navigator.storage.estimate() exists in both). The import runner has its own copy of the
// import wording; training and model saves should use describeStorageFull (see the reliability suite).
import { formatBytes } from '../lib/util/format';

/** True for the browser's "disk/quota full" failures, however they surface (request, transaction, abort). */
export function isQuotaError(err: unknown): boolean {
  const e = err as { name?: string; inner?: { name?: string }; cause?: { name?: string } } | null;
  return e?.name === 'QuotaExceededError' || e?.inner?.name === 'QuotaExceededError' || e?.cause?.name === 'QuotaExceededError';
}

/** "Storage is full: … allows X and Y is used." followed by what happened and what to do. */
export async function describeStorageFull(whatHappened: string, whatToDo: string): Promise<string> {
  let usage = 0;
  let quota = 0;
  try {
    ({ usage = 0, quota = 0 } = (await navigator.storage?.estimate?.()) ?? {});
  } catch {
    /* no estimate: sizes stay 0 B */
  }
  return `Storage is full: the browser allows this site ${formatBytes(quota)} and ${formatBytes(usage)} is used. ${whatHappened} ${whatToDo}`;
}

/** The message for a training run whose checkpoint or model could not be saved. */
export async function describeTrainingWriteFailure(err: unknown, checkpointEpoch: number): Promise<string | null> {
  if (!isQuotaError(err)) return null;
  return describeStorageFull(
    checkpointEpoch > 0
      ? `The run stopped; its checkpoint after epoch ${checkpointEpoch} is kept and no incomplete model was saved.`
      : 'The run stopped before its first checkpoint; no incomplete model was saved.',
    'Free space (delete a project, an old model version or other site data), then resume the run.',
  );
}
