// Likely label mistakes by confident learning (Northcutt, Jiang & Chuang 2021, "Confident
// Learning: Estimating Uncertainty in Dataset Labels"). Input rows must be out-of-sample: a model
// that trained on a sample has memorised its given label and would vouch for every mistake.
import { rowCount } from './uncertainty';
import type { LabelIssue } from '../../contracts/labeling';
export type { LabelIssue };

/**
 * Per-class thresholds t_j = mean p_j over the samples given label j (the model's typical
 * confidence in a class it is right about, so over- or under-confident classes are judged on
 * their own scale). A sample's confident class is the argmax of p_j among classes with
 * p_j >= t_j; it is flagged when that class exists and differs from its given label: exactly the
 * off-diagonal of the confident joint. Samples with no confident class are not flagged.
 *
 * The price of that rule: a mislabeled image whose true class scores below that class's mean is
 * missed, so recall tracks how peaked the model is. On synthetic 10-class data with 5% flips it
 * found about 90% of flips with a sharp model (96% accurate) but 55-80% with flatter ones (90-93%
 * accurate); cleanlab's prune-by-noise-rate variant trades some precision for that recall.
 *
 * Ranked by normalised margin, (p[suggested] - p[given] + 1) / 2 in [0, 1], highest first (ties
 * by index). Self-confidence alone ranks genuinely ambiguous images (every class low) as high as
 * clear mistakes; the margin asks how much more the model believes the alternative. It is the
 * margin the paper's prune-by-noise-rate method removes by, and cleanlab's 'normalized_margin';
 * the shift and halving only put it in [0, 1] so a UI can show it as a score.
 */
export function findLabelErrors(
  oofProbs: Float32Array,
  given: number[],
  numClasses: number,
  options: { includeArgmaxDisagreements?: boolean } = {},
): LabelIssue[] {
  const argmaxToo = options.includeArgmaxDisagreements ?? true;
  const n = rowCount(oofProbs.length, numClasses);
  if (given.length !== n) throw new Error(`${given.length} labels for ${n} probability rows`);
  for (const g of given) {
    if (!Number.isInteger(g) || g < 0 || g >= numClasses) throw new Error(`label ${g} is not a class index below ${numClasses}`);
  }

  const sums = new Float64Array(numClasses);
  const counts = new Float64Array(numClasses);
  for (let i = 0; i < n; i++) {
    sums[given[i]] += oofProbs[i * numClasses + given[i]];
    counts[given[i]]++;
  }
  // A class nobody is labeled with has no typical confidence; nothing can be confidently in it.
  // Float32 values sum exactly in a float64 (24-bit mantissas), so a sample sitting exactly at its
  // class mean compares equal and counts as confident; no slack is needed.
  const thresholds = Array.from(sums, (s, j) => (counts[j] > 0 ? s / counts[j] : Number.POSITIVE_INFINITY));

  const issues: LabelIssue[] = [];
  for (let i = 0; i < n; i++) {
    const row = i * numClasses;
    let confident = -1;
    for (let j = 0; j < numClasses; j++) {
      const p = oofProbs[row + j];
      if (p >= thresholds[j] && (confident < 0 || p > oofProbs[row + confident])) confident = j;
    }
    const g = given[i];
    // A model that is not sharp (small or early data sets) often scores the true class below its
    // typical confidence, so the confident joint misses the flip; a plain argmax disagreement
    // still counts. The margin ranking below puts the confident-joint cases (large margins) first.
    if (confident < 0 || confident === g) {
      if (!argmaxToo) continue;
      let top = 0;
      for (let j = 1; j < numClasses; j++) if (oofProbs[row + j] > oofProbs[row + top]) top = j;
      if (top === g) continue;
      confident = top;
    }
    const selfConfidence = oofProbs[row + g];
    const suggestedConfidence = oofProbs[row + confident];
    issues.push({
      index: i,
      given: g,
      suggested: confident,
      selfConfidence,
      suggestedConfidence,
      score: (suggestedConfidence - selfConfidence + 1) / 2,
    });
  }
  issues.sort((a, b) => b.score - a.score || a.index - b.index);
  return issues;
}
