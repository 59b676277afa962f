// What to delete from the prediction log so monitoring storage stays bounded. Kept inputs (the
// image bytes, for "send to labeling") cost far more than log lines, so they get their own,
// tighter limits and can go while their log line stays.

export interface RetentionLimits {
  maxLogs: number;
  maxAgeDays: number;
  maxInputs: number;
  maxInputBytes: number;
}

export const RETENTION_DEFAULTS: RetentionLimits = { maxLogs: 20000, maxAgeDays: 90, maxInputs: 2000, maxInputBytes: 200 * 1024 * 1024 };

export interface RetainedLog {
  id: string;
  at: number;
  inputBytes: number;
  hasInput: boolean;
}

/**
 * Log ids to delete (older than maxAgeDays, then the oldest beyond maxLogs) and log ids whose kept
 * input to delete: those of dropped logs plus the oldest until the rest fit maxInputs and
 * maxInputBytes. Both lists are oldest first.
 */
export function logsToPrune(logs: RetainedLog[], now: number, limits: RetentionLimits = RETENTION_DEFAULTS): { dropLogs: string[]; dropInputs: string[] } {
  const byAge = [...logs].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const cutoff = now - limits.maxAgeDays * 24 * 60 * 60 * 1000;
  let firstKept = 0;
  while (firstKept < byAge.length && byAge[firstKept].at < cutoff) firstKept++;
  firstKept = Math.max(firstKept, byAge.length - limits.maxLogs);

  const dropLogs: string[] = [];
  const dropInputs: string[] = [];
  for (let i = 0; i < firstKept; i++) {
    dropLogs.push(byAge[i].id);
    if (byAge[i].hasInput) dropInputs.push(byAge[i].id);
  }
  // Newest first, keep inputs while both budgets hold; the first that breaks one and all older go.
  let inputs = 0;
  let bytes = 0;
  let oldestKeptInput = byAge.length;
  for (let i = byAge.length - 1; i >= firstKept; i--) {
    if (!byAge[i].hasInput) continue;
    if (inputs + 1 > limits.maxInputs || bytes + byAge[i].inputBytes > limits.maxInputBytes) break;
    inputs++;
    bytes += byAge[i].inputBytes;
    oldestKeptInput = i;
  }
  for (let i = firstKept; i < oldestKeptInput; i++) if (byAge[i].hasInput) dropInputs.push(byAge[i].id);
  return { dropLogs, dropInputs };
}
