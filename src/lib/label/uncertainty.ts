// Uncertainty scores for active learning: which unlabeled images would teach the model most.
// All three read one softmax row; higher always means "less sure", so callers can sort one way.

export type UncertaintyStrategy = 'least-confidence' | 'margin' | 'entropy';

/** Higher = more uncertain. Each strategy maps to [0, 1] for a proper probability row. */
export function uncertaintyScore(probs: ArrayLike<number>, strategy: UncertaintyStrategy): number {
  return scoreRow(probs, 0, probs.length, strategy);
}

/**
 * Row indices of a row-major [n, numClasses] matrix, most uncertain first; equal scores keep
 * index order so the queue is stable between recomputations. Rows with a non-finite score (NaN
 * from a broken prediction) go last rather than poisoning the sort.
 */
export function rankByUncertainty(probs: Float32Array, numClasses: number, strategy: UncertaintyStrategy): number[] {
  const n = rowCount(probs.length, numClasses);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = scoreRow(probs, i * numClasses, numClasses, strategy);
    scores[i] = Number.isFinite(s) ? s : Number.NEGATIVE_INFINITY;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order;
}

export function rowCount(length: number, numClasses: number): number {
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new Error(`numClasses must be a positive integer, got ${numClasses}`);
  if (length % numClasses !== 0) throw new Error(`probabilities length ${length} is not a multiple of ${numClasses} classes`);
  return length / numClasses;
}

// Offsets instead of subarray views: ranking touches every row, and a view per row is garbage.
function scoreRow(p: ArrayLike<number>, offset: number, k: number, strategy: UncertaintyStrategy): number {
  if (k === 0) return 0;
  switch (strategy) {
    case 'least-confidence': {
      let max = p[offset];
      for (let j = 1; j < k; j++) if (p[offset + j] > max) max = p[offset + j];
      return 1 - max;
    }
    case 'margin': {
      let first = Number.NEGATIVE_INFINITY;
      let second = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < k; j++) {
        const v = p[offset + j];
        if (v > first) {
          second = first;
          first = v;
        } else if (v > second) second = v;
      }
      // With one class there is no runner-up; probability 0 makes it a certain answer.
      return 1 - (first - (k === 1 ? 0 : second));
    }
    case 'entropy': {
      if (k === 1) return 0;
      let h = 0;
      // p log p -> 0 as p -> 0; skipping zeros (and negatives from bad input) avoids NaN.
      for (let j = 0; j < k; j++) {
        const v = p[offset + j];
        if (v > 0) h -= v * Math.log(v);
      }
      // Dividing by log K keeps scores comparable between projects with different class counts.
      return h / Math.log(k);
    }
  }
}
