// Prediction logs, the images kept for "send to labeling", drift references and alerts.
// Log ids are time-ordered, so "the oldest" and "older than N days" are key ranges: retention
// never has to read the logs it deletes.
import { db } from './open';
import { restoreAlert, restoreAll, restoreMonitorReference, restoreOne, restorePredictionInput, restorePredictionLog } from './restore';
import { projectRange } from './keys';
import type { AlertRecord, MonitorReferenceRecord, PredictionInputRecord, PredictionLogRecord } from '../contracts/records';

export interface RetentionLimits {
  maxLogs: number;
  maxAgeDays: number;
  /** Kept images (the log lines stay when their image goes). */
  maxInputs: number;
}

export const DEFAULT_RETENTION: RetentionLimits = { maxLogs: 20_000, maxAgeDays: 90, maxInputs: 2_000 };

/** A time-ordered, unique id: base-36 milliseconds padded to sort as text, then randomness. */
export function timeOrderedId(at: number): string {
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `${Math.floor(at).toString(36).padStart(10, '0')}-${random[0].toString(36)}${random[1].toString(36)}`;
}

const olderThan = (projectId: string, at: number) =>
  IDBKeyRange.bound([projectId, ''], [projectId, Math.floor(at).toString(36).padStart(10, '0')], false, true);

/** Appends logs (and the images kept with them), then applies the retention limits, in one transaction. */
export async function appendPredictionLogs(
  projectId: string,
  logs: PredictionLogRecord[],
  inputs: PredictionInputRecord[],
  limits: RetentionLimits = DEFAULT_RETENTION,
): Promise<void> {
  const tx = (await db()).transaction(['predictionLogs', 'predictionInputs'], 'readwrite');
  const logStore = tx.objectStore('predictionLogs');
  const inputStore = tx.objectStore('predictionInputs');
  for (const input of inputs) void inputStore.put(input);
  for (const log of logs) void logStore.put(log);
  const range = projectRange(projectId);
  const cutoff = olderThan(projectId, Date.now() - limits.maxAgeDays * 86_400_000);
  void logStore.delete(cutoff);
  await trimOldest(logStore, range, limits.maxLogs);
  await trimOldest(inputStore, range, limits.maxInputs);
  await tx.done;
}

interface Trimmable {
  count(range: IDBKeyRange): Promise<number>;
  getAllKeys(range: IDBKeyRange, count: number): Promise<Array<[string, string]>>;
  delete(range: IDBKeyRange): Promise<void>;
}

async function trimOldest(store: Trimmable, range: IDBKeyRange, max: number): Promise<void> {
  const excess = (await store.count(range)) - max;
  if (excess <= 0) return;
  // The oldest `excess` keys come first in key order: delete up to the last of them as one range.
  const keys = await store.getAllKeys(range, excess);
  if (keys.length) await store.delete(IDBKeyRange.bound(range.lower, keys[keys.length - 1]));
}

export interface LogQuery {
  versionId?: string;
  /** Only logs at or after this time. */
  since?: number;
  /** The newest `limit` logs (after filtering). */
  limit?: number;
}

/** Logs in time order (oldest first). */
export async function listPredictionLogs(projectId: string, query: LogQuery = {}): Promise<PredictionLogRecord[]> {
  const lower = query.since !== undefined ? [projectId, Math.floor(query.since).toString(36).padStart(10, '0')] : [projectId, ''];
  const all = restoreAll(
    await (await db()).getAll('predictionLogs', IDBKeyRange.bound(lower, [projectId, '\uffff'])),
    restorePredictionLog,
  );
  const picked = query.versionId ? all.filter((l) => l.versionId === query.versionId) : all;
  return query.limit !== undefined ? picked.slice(Math.max(0, picked.length - query.limit)) : picked;
}

export async function getPredictionInputs(projectId: string, ids: string[]): Promise<Array<PredictionInputRecord | undefined>> {
  const tx = (await db()).transaction('predictionInputs');
  const found = await Promise.all(ids.map((id) => tx.store.get([projectId, id])));
  await tx.done;
  return found.map((r) => restoreOne(r, restorePredictionInput));
}

export async function markSentToLabeling(projectId: string, logIds: string[]): Promise<void> {
  const tx = (await db()).transaction('predictionLogs', 'readwrite');
  for (const id of logIds) {
    const log = await tx.store.get([projectId, id]);
    if (log && !log.sentToLabeling) await tx.store.put({ ...log, sentToLabeling: true });
  }
  await tx.done;
}

export async function getMonitorReference(versionId: string): Promise<MonitorReferenceRecord | undefined> {
  return restoreOne(await (await db()).get('monitorReferences', versionId), restoreMonitorReference);
}

export async function putMonitorReference(record: MonitorReferenceRecord): Promise<void> {
  await (await db()).put('monitorReferences', record);
}

export async function listAlerts(projectId: string): Promise<AlertRecord[]> {
  const all = restoreAll(await (await db()).getAll('alerts', projectRange(projectId)), restoreAlert);
  return all.sort((a, b) => b.at - a.at);
}

export async function putAlert(alert: AlertRecord): Promise<void> {
  await (await db()).put('alerts', alert);
}

export async function acknowledgeAlerts(projectId: string, ids: string[]): Promise<void> {
  const tx = (await db()).transaction('alerts', 'readwrite');
  for (const id of ids) {
    const alert = await tx.store.get([projectId, id]);
    if (alert && !alert.acknowledged) await tx.store.put({ ...alert, acknowledged: true });
  }
  await tx.done;
}
