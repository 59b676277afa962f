// Human-readable sizes, durations and time-left estimates, and a throttle for progress messages
// (posting one per file floods the main thread during a 10,000-file import).

const UNITS = ['B', 'KB', 'MB', 'GB'];

/** 1024-based; one decimal above bytes. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return '–';
  const sign = n < 0 ? '-' : '';
  let value = Math.abs(n);
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  let unit = 0;
  // Move up while rounding would print "1024.0" of the smaller unit.
  while (unit < UNITS.length - 1 && Number(value.toFixed(1)) >= 1024) {
    value /= 1024;
    unit++;
  }
  return `${sign}${value.toFixed(1)} ${UNITS[unit]}`;
}

/** "45 s", "3 min 05 s", "1 h 02 min"; rounds to the smallest unit shown. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${pad(seconds % 60)} s`;
  const minutes = Math.round(ms / 60_000);
  return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** Linear extrapolation; null until there is something to extrapolate from. */
export function estimateRemainingMs(done: number, total: number, elapsedMs: number): number | null {
  if (![done, total, elapsedMs].every(Number.isFinite)) return null;
  if (total > 0 && done >= total) return 0;
  if (done <= 0 || elapsedMs <= 0 || total <= 0) return null;
  return (elapsedMs / done) * (total - done);
}

/** `ready()` is true at most once per interval; the first call is always true. */
export class Throttle {
  private last = Number.NEGATIVE_INFINITY;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(intervalMs: number, now: () => number = () => performance.now()) {
    this.intervalMs = intervalMs;
    this.now = now;
  }

  ready(): boolean {
    const t = this.now();
    if (t - this.last < this.intervalMs) return false;
    this.last = t;
    return true;
  }
}
