// Near-identical images with different labels: at least one of each pair is mislabeled (or the
// classes are not separable from the image), and both confuse training. Brute force over the
// labeled rows: 5,000 rows is 12.5M pairs, cheap enough in tight typed-array loops that an index
// would cost more than it saves.
import { rowCount } from './uncertainty';
import type { DuplicatePair } from '../../contracts/labeling';
export type { DuplicatePair };

/**
 * Pairs (a < b, original row indices) of labeled rows with different labels whose cosine
 * similarity is at least `threshold`, most similar first (ties by a, then b). Only the best
 * `maxPairs` are kept, in a bounded heap, so a low threshold cannot build millions of objects.
 */
export function findDisagreeingDuplicates(
  embeddings: Float32Array,
  dim: number,
  labels: Array<number | null>,
  threshold = 0.97,
  maxPairs = 500,
): DuplicatePair[] {
  const n = rowCount(embeddings.length, dim);
  if (labels.length !== n) throw new Error(`${labels.length} labels for ${n} embedding rows`);
  const limit = Math.max(0, Math.floor(maxPairs));
  if (limit === 0) return [];

  // Group labeled rows by label (index order within a group) so the loops below never even
  // visit a same-label pair: row i only meets rows of later groups.
  const order: number[] = [];
  for (let i = 0; i < n; i++) if (labels[i] !== null) order.push(i);
  order.sort((x, y) => (labels[x] as number) - (labels[y] as number) || x - y);
  const m = order.length;
  const groupEnd = new Int32Array(m);
  for (let p = m - 1; p >= 0; p--) {
    groupEnd[p] = p + 1 < m && labels[order[p + 1]] === labels[order[p]] ? groupEnd[p + 1] : p + 1;
  }
  const rows = normalise(embeddings, dim, order);

  const heap = new PairHeap(limit);
  for (let p = 0; p < m; p++) {
    const offP = p * dim;
    const rowP = order[p];
    for (let q = groupEnd[p]; q < m; q++) {
      const offQ = q * dim;
      // Four independent sums let the CPU overlap the multiply-adds (about 1.4x in V8).
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let d = 0;
      for (; d + 3 < dim; d += 4) {
        s0 += rows[offP + d] * rows[offQ + d];
        s1 += rows[offP + d + 1] * rows[offQ + d + 1];
        s2 += rows[offP + d + 2] * rows[offQ + d + 2];
        s3 += rows[offP + d + 3] * rows[offQ + d + 3];
      }
      for (; d < dim; d++) s0 += rows[offP + d] * rows[offQ + d];
      const dot = s0 + s1 + s2 + s3;
      // NaN (bad embeddings) fails this test too, so it is skipped rather than reported.
      if (dot >= threshold) {
        const rowQ = order[q];
        heap.offer(Math.min(dot, 1), Math.min(rowP, rowQ), Math.max(rowP, rowQ));
      }
    }
  }
  return heap.sortedBestFirst();
}

function normalise(embeddings: Float32Array, dim: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * dim);
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r] * dim;
    let norm = 0;
    for (let d = 0; d < dim; d++) norm += embeddings[src + d] * embeddings[src + d];
    // A zero row has no direction; leaving it zero gives similarity 0 with everything.
    const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
    for (let d = 0; d < dim; d++) out[r * dim + d] = embeddings[src + d] * scale;
  }
  return out;
}

/**
 * Min-heap of the best pairs seen so far over parallel typed arrays (no object per pair), rooted
 * at the worst kept pair. "Better" is a total order (similarity, then smaller a, then smaller b),
 * so the kept set does not depend on the order pairs are offered in.
 */
class PairHeap {
  private readonly sim: Float64Array;
  private readonly a: Int32Array;
  private readonly b: Int32Array;
  private size = 0;

  constructor(private readonly capacity: number) {
    this.sim = new Float64Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
  }

  offer(sim: number, a: number, b: number): void {
    if (this.size < this.capacity) {
      this.set(this.size, sim, a, b);
      this.siftUp(this.size++);
    } else if (this.better(sim, a, b, 0)) {
      this.set(0, sim, a, b);
      this.siftDown(0);
    }
  }

  sortedBestFirst(): DuplicatePair[] {
    const out: DuplicatePair[] = [];
    for (let i = 0; i < this.size; i++) out.push({ a: this.a[i], b: this.b[i], similarity: this.sim[i] });
    return out.sort((x, y) => y.similarity - x.similarity || x.a - y.a || x.b - y.b);
  }

  /** Is (sim, a, b) better than the pair at slot i? */
  private better(sim: number, a: number, b: number, i: number): boolean {
    if (sim !== this.sim[i]) return sim > this.sim[i];
    if (a !== this.a[i]) return a < this.a[i];
    return b < this.b[i];
  }

  private set(i: number, sim: number, a: number, b: number): void {
    this.sim[i] = sim;
    this.a[i] = a;
    this.b[i] = b;
  }

  private swap(i: number, j: number): void {
    const s = this.sim[i];
    const a = this.a[i];
    const b = this.b[i];
    this.set(i, this.sim[j], this.a[j], this.b[j]);
    this.set(j, s, a, b);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      // Root holds the worst: move up while this slot is worse than its parent.
      if (!this.better(this.sim[parent], this.a[parent], this.b[parent], i)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let worst = i;
      if (left < this.size && this.better(this.sim[worst], this.a[worst], this.b[worst], left)) worst = left;
      if (right < this.size && this.better(this.sim[worst], this.a[worst], this.b[worst], right)) worst = right;
      if (worst === i) return;
      this.swap(i, worst);
      i = worst;
    }
  }
}
