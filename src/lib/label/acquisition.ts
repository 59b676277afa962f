// Batch acquisition strategies for active learning, one entry point for the Label stage and the
// benchmark (bench/label.bench.ts), so what is measured is what the app runs. Every strategy is
// deterministic: ties go to the lower row index, and the only randomness (BADGE's k-means++
// draws, the random share) comes from a seeded generator.
import { selectBatch } from './diversity';
import { rankByUncertainty, rowCount } from './uncertainty';
import { mulberry32, shuffleInPlace } from '../ml/random';

export type AcquisitionStrategy = 'random' | 'margin' | 'margin-kcenter' | 'balanced-margin' | 'badge';

export const ACQUISITION_STRATEGIES: AcquisitionStrategy[] = ['random', 'margin', 'margin-kcenter', 'balanced-margin', 'badge'];

/**
 * The Label stage's default: the strategy that needed the fewest labels, on the mean and on the
 * worst seed, in npm run bench:label (2026-12-07, 5 seeds, labels to reach random's 500-label
 * accuracy: BADGE mean 232 / worst 263, margin 234 / 273, class-balanced margin 244 / 268; see
 * al-benchmark.json). The lead over margin is small; BADGE falls back to margin without features.
 */
export const DEFAULT_ACQUISITION: AcquisitionStrategy = 'badge';

export const ACQUISITION_NAMES: Record<AcquisitionStrategy, string> = {
  random: 'Random (no model)',
  margin: 'Margin (top two closest)',
  'margin-kcenter': "Margin + k-center on the model's features",
  'balanced-margin': 'Class-balanced margin',
  badge: 'BADGE (gradient embeddings)',
};

export interface AcquisitionInput {
  /** Row-major [n, numClasses] class probabilities of the unlabeled pool. */
  probs: Float32Array;
  numClasses: number;
  /** Row-major [n, dim] penultimate-layer features of the same rows (k-center, BADGE), or null. */
  features: Float32Array | null;
  dim: number;
}

export interface AcquisitionOptions {
  strategy: AcquisitionStrategy;
  batchSize: number;
  /** Share of the batch (0..1) drawn uniformly at random from the rest, against sampling bias. */
  randomShare?: number;
  /** Seeds BADGE's k-means++ draws and the random share. */
  seed: number;
}

/** Does this strategy read features (penultimate-layer embeddings)? */
export function needsFeatures(strategy: AcquisitionStrategy): boolean {
  return strategy === 'margin-kcenter' || strategy === 'badge';
}

/**
 * Rows of the pool to label next, in queue order, at most batchSize, no duplicates. A strategy
 * that needs features falls back to plain margin when none are given (e.g. a model without them).
 */
export function acquire(input: AcquisitionInput, o: AcquisitionOptions): number[] {
  const n = rowCount(input.probs.length, input.numClasses);
  const want = Math.min(n, Math.max(0, Math.floor(o.batchSize)));
  if (want === 0) return [];
  const share = Math.min(1, Math.max(0, o.randomShare ?? 0));
  const randomCount = o.strategy === 'random' ? want : Math.round(share * want);
  const rand = mulberry32(o.seed);
  const features = input.features && input.dim > 0 ? input.features : null;
  if (features && rowCount(features.length, input.dim) !== n)
    throw new Error(`features have ${features.length / input.dim} rows but probabilities have ${n}`);
  const chosen = pickInformative(input, features, o.strategy, want - randomCount, rand);
  if (randomCount > 0) {
    const taken = new Set(chosen);
    const rest = shuffleInPlace(
      Array.from({ length: n }, (_, i) => i).filter((i) => !taken.has(i)),
      rand,
    );
    chosen.push(...rest.slice(0, randomCount));
  }
  return chosen;
}

function pickInformative(
  input: AcquisitionInput,
  features: Float32Array | null,
  strategy: AcquisitionStrategy,
  k: number,
  rand: () => number,
): number[] {
  if (k <= 0 || strategy === 'random') return [];
  const { probs, numClasses } = input;
  switch (strategy) {
    case 'margin':
      return rankByUncertainty(probs, numClasses, 'margin').slice(0, k);
    case 'margin-kcenter':
      return selectBatch(probs, numClasses, features, input.dim, { strategy: 'margin', batchSize: k, diversity: features !== null });
    case 'balanced-margin':
      return balancedMargin(probs, numClasses, k);
    case 'badge':
      if (!features) return rankByUncertainty(probs, numClasses, 'margin').slice(0, k);
      return badgePicks(probs, numClasses, features, input.dim, k, rand);
  }
}

/**
 * Class-balanced margin: rows are grouped by predicted class, each group ranked by margin, and the
 * batch filled round-robin over the classes, most uncertain first within each round. Plain margin
 * tends to spend a whole batch on the one or two class boundaries the current model finds hardest;
 * this keeps every class's boundary in each batch. A class with too few rows leaves its turns to
 * the others.
 */
export function balancedMargin(probs: Float32Array, numClasses: number, k: number): number[] {
  const ranked = rankByUncertainty(probs, numClasses, 'margin');
  const groups: number[][] = Array.from({ length: numClasses }, () => []);
  for (const i of ranked) groups[argMax(probs, i * numClasses, numClasses)].push(i);
  // Each round visits the classes in the order of their most uncertain remaining row.
  const out: number[] = [];
  const at = new Array<number>(numClasses).fill(0);
  const rank = new Map(ranked.map((r, i) => [r, i]));
  while (out.length < k) {
    const round = groups.map((g, c) => ({ c, head: g[at[c]] })).filter((x) => x.head !== undefined);
    if (!round.length) break;
    round.sort((a, b) => rank.get(a.head)! - rank.get(b.head)!);
    for (const { c, head } of round) {
      if (out.length >= k) break;
      out.push(head);
      at[c]++;
    }
  }
  return out;
}

/**
 * BADGE's gradient embeddings (Ash et al. 2020, "Deep Batch Active Learning by Diverse, Uncertain
 * Gradient Lower Bounds"): the gradient of the cross-entropy loss with respect to the output
 * layer's weights and bias, taking the model's own prediction as the label: (p - onehot(ŷ)) ⊗
 * [h, 1]. Its norm grows with uncertainty, its direction says which classes and which features
 * the label would move. Row-major [n, numClasses * (dim + 1)].
 */
export function badgeEmbeddings(probs: Float32Array, numClasses: number, features: Float32Array, dim: number): Float32Array {
  const n = rowCount(probs.length, numClasses);
  const width = numClasses * (dim + 1);
  const out = new Float32Array(n * width);
  for (let i = 0; i < n; i++) {
    const top = argMax(probs, i * numClasses, numClasses);
    for (let c = 0; c < numClasses; c++) {
      const g = probs[i * numClasses + c] - (c === top ? 1 : 0);
      const base = i * width + c * (dim + 1);
      for (let d = 0; d < dim; d++) out[base + d] = g * features[i * dim + d];
      out[base + dim] = g;
    }
  }
  return out;
}

/**
 * k-means++ seeding (Arthur & Vassilvitskii 2007) as BADGE uses it: the first centre is the row
 * with the largest norm (lowest index on ties), each next one is drawn with probability
 * proportional to its squared distance to the nearest centre so far. Deterministic for a given
 * `rand`. Rows already chosen have distance 0 and are never drawn again; when every remaining
 * row sits on a centre the rest are taken in index order.
 */
export function kMeansPlusPlus(rows: Float32Array, dim: number, k: number, rand: () => number): number[] {
  const n = rowCount(rows.length, dim);
  const want = Math.min(n, Math.max(0, Math.floor(k)));
  if (want === 0) return [];
  let first = 0;
  let bestNorm = -1;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dim; d++) s += rows[i * dim + d] * rows[i * dim + d];
    if (s > bestNorm) {
      bestNorm = s;
      first = i;
    }
  }
  return drawByDistance(n, want, first, rand, (i, c) => {
    let s = 0;
    for (let d = 0; d < dim; d++) {
      const diff = rows[i * dim + d] - rows[c * dim + d];
      s += diff * diff;
    }
    return s;
  });
}

/**
 * BADGE's picks without building the embeddings: a gradient embedding is an outer product g ⊗ h
 * (g = p - onehot(ŷ), h = [features, 1]), so <g_i ⊗ h_i, g_c ⊗ h_c> = (g_i · g_c)(h_i · h_c) and a
 * squared distance costs O(classes + dim) instead of O(classes x dim), with O(n (classes + dim))
 * memory. The same choices as kMeansPlusPlus(badgeEmbeddings(...)) up to rounding (tested); fast
 * enough for the page (a 20,000-image pool in well under a second).
 */
export function badgePicks(
  probs: Float32Array,
  numClasses: number,
  features: Float32Array,
  dim: number,
  k: number,
  rand: () => number,
): number[] {
  const n = rowCount(probs.length, numClasses);
  const hd = dim + 1;
  const g = new Float64Array(n * numClasses);
  const h = new Float64Array(n * hd);
  const norm2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const top = argMax(probs, i * numClasses, numClasses);
    let gn = 0;
    for (let c = 0; c < numClasses; c++) {
      // Rounded through float32 as badgeEmbeddings stores it, so both give the same distances.
      const v = Math.fround(probs[i * numClasses + c] - (c === top ? 1 : 0));
      g[i * numClasses + c] = v;
      gn += v * v;
    }
    let hn = 1;
    for (let d = 0; d < dim; d++) {
      const v = features[i * dim + d];
      h[i * hd + d] = v;
      hn += v * v;
    }
    h[i * hd + dim] = 1;
    norm2[i] = gn * hn;
  }
  const want = Math.min(n, Math.max(0, Math.floor(k)));
  if (want === 0) return [];
  let first = 0;
  for (let i = 1; i < n; i++) if (norm2[i] > norm2[first]) first = i;
  return drawByDistance(n, want, first, rand, (i, c) => {
    let gg = 0;
    for (let j = 0; j < numClasses; j++) gg += g[i * numClasses + j] * g[c * numClasses + j];
    let hh = 0;
    for (let d = 0; d < hd; d++) hh += h[i * hd + d] * h[c * hd + d];
    return Math.max(0, norm2[i] + norm2[c] - 2 * gg * hh);
  });
}

/**
 * k-means++'s draw, given the first centre and a squared distance between rows: each next centre
 * is drawn with probability proportional to its squared distance to the nearest centre so far;
 * when every remaining row sits on a centre the rest are taken in index order.
 */
function drawByDistance(
  n: number,
  want: number,
  first: number,
  rand: () => number,
  squaredDistance: (i: number, c: number) => number,
): number[] {
  const picked: number[] = [];
  const nearest = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const isPicked = new Uint8Array(n);
  const add = (c: number) => {
    picked.push(c);
    isPicked[c] = 1;
    for (let i = 0; i < n; i++) {
      if (isPicked[i]) {
        nearest[i] = 0;
        continue;
      }
      const s = squaredDistance(i, c);
      if (s < nearest[i]) nearest[i] = s;
    }
  };
  add(first);
  while (picked.length < want) {
    let total = 0;
    for (let i = 0; i < n; i++) total += nearest[i];
    let next = -1;
    if (total > 0) {
      let target = rand() * total;
      for (let i = 0; i < n; i++) {
        if (nearest[i] <= 0) continue;
        next = i;
        target -= nearest[i];
        if (target < 0) break;
      }
    } else {
      next = isPicked.findIndex((p) => p === 0);
    }
    add(next);
  }
  return picked;
}

function argMax(p: Float32Array, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (p[offset + j] > p[offset + best]) best = j;
  return best;
}
