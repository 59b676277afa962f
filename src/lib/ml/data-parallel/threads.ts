// How many training threads (data-parallel member workers) a run uses on the WASM backend.

/** Never more members than this: past it the per-step barrier and the gradient sums outweigh the gain on batch 32-64. */
export const MAX_CPU_THREADS = 16;

/**
 * The threads for a run: `requested` (the user's cap; 0 or undefined = automatic) or, automatically,
 * every core but one for the rest of the machine (navigator.hardwareConcurrency - 1), at least 1,
 * at most MAX_CPU_THREADS and never more than the cores there are. 1 is the single-worker path.
 */
export function cpuThreads(hardwareConcurrency: number | undefined, requested?: number): number {
  const cores = Number.isInteger(hardwareConcurrency) && hardwareConcurrency! > 0 ? hardwareConcurrency! : 1;
  if (requested !== undefined && requested !== 0) {
    if (!Number.isInteger(requested) || requested < 1 || requested > MAX_CPU_THREADS)
      throw new Error(`CPU threads must be a whole number from 1 to ${MAX_CPU_THREADS}, or 0 for automatic (got ${requested}).`);
    return Math.min(requested, cores);
  }
  return Math.max(1, Math.min(cores - 1, MAX_CPU_THREADS));
}
