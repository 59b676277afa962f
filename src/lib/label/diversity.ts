// Batch selection for active learning. Pure uncertainty sampling happily queues fifty copies of
// the same hard image; greedy k-center over the embeddings of the most uncertain ones spreads the
// batch so each label a person gives teaches the model something new.
import { rankByUncertainty, rowCount, type UncertaintyStrategy } from './uncertainty';

/**
 * Greedy k-center (Sener & Savarese 2018, "Active Learning for CNNs: A Core-Set Approach"):
 * repeatedly take the candidate farthest from everything chosen so far (and from
 * `alreadySelected`). Distance is Euclidean on L2-normalised rows, i.e. a monotone function of
 * cosine similarity, so feature magnitude (brightness, contrast) does not pass for novelty.
 *
 * Returns at most k distinct candidates in pick order. Any prefix of the result is itself a
 * greedy k-center answer, which is why queue order is pick order. Ties go to the earlier
 * candidate, so when candidates come most-uncertain-first, so does each tie-break and, with no
 * `alreadySelected`, the first pick. Cost: O((|alreadySelected| + k) * |candidates| * dim).
 */
export function kCenterGreedy(
  embeddings: Float32Array,
  dim: number,
  candidates: number[],
  k: number,
  alreadySelected: number[] = [],
): number[] {
  return greedyPicks(embeddings, dim, candidates, k, alreadySelected).picked;
}

/** kCenterGreedy plus, per pick, its squared distance to the nearest earlier centre (Infinity for an unseeded first pick). */
function greedyPicks(
  embeddings: Float32Array,
  dim: number,
  candidates: number[],
  k: number,
  alreadySelected: number[],
): { picked: number[]; gaps: number[] } {
  const n = rowCount(embeddings.length, dim);
  const seeds = new Set<number>();
  for (const s of alreadySelected) seeds.add(checkRow(s, n));
  // Dedupe and drop seeds so "never returns a duplicate" holds even for sloppy callers.
  const pool: number[] = [];
  const seen = new Set<number>();
  for (const c of candidates) {
    checkRow(c, n);
    if (!seen.has(c) && !seeds.has(c)) pool.push(c);
    seen.add(c);
  }
  const want = Math.min(Math.max(0, Math.floor(k)), pool.length);
  const picked: number[] = [];
  const gaps: number[] = [];
  if (want === 0) return { picked, gaps };

  const vectors = normalisedRows(embeddings, dim, pool);
  // Squared distance to the nearest chosen centre; -1 marks a candidate already picked.
  const nearest = new Float64Array(pool.length).fill(Number.POSITIVE_INFINITY);

  if (seeds.size > 0) {
    const seedVectors = normalisedRows(embeddings, dim, [...seeds]);
    for (let s = 0; s < seeds.size; s++) updateNearest(vectors, seedVectors, s, dim, nearest);
  }
  while (picked.length < want) {
    let best = -1;
    for (let i = 0; i < pool.length; i++) {
      // Strict '>' keeps the earliest candidate on ties (and skips picked ones, at -1).
      if (nearest[i] >= 0 && (best < 0 || nearest[i] > nearest[best])) best = i;
    }
    picked.push(pool[best]);
    gaps.push(nearest[best]);
    nearest[best] = -1;
    updateNearest(vectors, vectors, best, dim, nearest);
  }
  return { picked, gaps };
}

export interface BatchSelection {
  strategy: UncertaintyStrategy;
  batchSize: number;
  diversity: boolean;
  /** pool of most-uncertain considered before k-center, as a multiple of batchSize (default 5) */
  poolFactor?: number;
}

/**
 * Rows to label next, in queue order. Without diversity (or without embeddings, e.g. a model
 * with no backbone) it is the top `batchSize` by uncertainty. With diversity it is greedy
 * k-center over the `poolFactor * batchSize` most uncertain rows: the pool keeps every pick
 * informative, k-center keeps the picks different from each other.
 *
 * A pool is only as broad as its distinct images, though: fifty copies of one hard image can fill
 * it entirely, leaving k-center nothing to choose from. So whenever k-center has to take a near
 * duplicate (cosine >= 0.99 to an earlier pick or a labeled row) the pool doubles, reaching
 * further down the uncertainty ranking, until the batch is distinct or no rows are left.
 *
 * `labeledIndices` are never queued, and they seed k-center, as in Sener & Savarese's core-set
 * formulation. Seeding is what stops the next batch from asking for another copy of an image
 * someone just labeled: probabilities are usually not recomputed after every label, so the
 * model still finds the copies uncertain, but they sit at distance zero from a labeled row and
 * are deferred until nothing else is left. The price: the first pick becomes the uncertain row
 * farthest from labeled data rather than the single most uncertain one, and k-center leans to
 * isolated rows; restricting it to the uncertain pool is what keeps that in check. Cost grows
 * with the labeled set (O(|labeled| * pool * dim)); pass only rows that are in `embeddings`.
 */
export function selectBatch(
  probs: Float32Array,
  numClasses: number,
  embeddings: Float32Array | null,
  dim: number,
  sel: BatchSelection,
  labeledIndices: number[] = [],
): number[] {
  const n = rowCount(probs.length, numClasses);
  const batchSize = Math.max(0, Math.floor(sel.batchSize));
  if (batchSize === 0) return [];
  const labeled = new Set(labeledIndices);
  const ranked = rankByUncertainty(probs, numClasses, sel.strategy).filter((i) => !labeled.has(i));
  if (!sel.diversity || embeddings === null) return ranked.slice(0, batchSize);

  if (rowCount(embeddings.length, dim) !== n) {
    throw new Error(`embeddings have ${embeddings.length / dim} rows but probabilities have ${n}`);
  }
  const poolFactor = Math.max(1, sel.poolFactor ?? 5);
  const seeds = labeledIndices.filter((i) => Number.isInteger(i) && i >= 0 && i < n);
  for (let size = Math.ceil(poolFactor * batchSize); ; size *= 2) {
    const { picked, gaps } = greedyPicks(embeddings, dim, ranked.slice(0, size), batchSize, seeds);
    if (size >= ranked.length || gaps.every((g) => g > NEAR_DUPLICATE_GAP)) return picked;
  }
}

// Squared distance between unit vectors is 2 - 2 cos; cos >= 0.99 is the same image for our purposes.
const NEAR_DUPLICATE_GAP = 2 - 2 * 0.99;

function checkRow(i: number, n: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`row ${i} is outside the ${n} embeddings`);
  return i;
}

/** Copies the chosen rows into one compact, unit-length block (zero rows stay zero). */
function normalisedRows(embeddings: Float32Array, dim: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r] * dim;
    const dst = r * dim;
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += embeddings[src + d] * embeddings[src + d];
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let d = 0; d < dim; d++) out[dst + d] = embeddings[src + d] * scale;
  }
  return out;
}

/** Lowers each unpicked candidate's nearest distance given a new centre (row `c` of `centres`). */
function updateNearest(vectors: Float32Array, centres: Float32Array, c: number, dim: number, nearest: Float64Array): void {
  const base = c * dim;
  for (let i = 0; i < nearest.length; i++) {
    if (nearest[i] < 0) continue;
    const off = i * dim;
    let d2 = 0;
    for (let d = 0; d < dim; d++) {
      const diff = vectors[off + d] - centres[base + d];
      d2 += diff * diff;
    }
    if (d2 < nearest[i]) nearest[i] = d2;
  }
}
