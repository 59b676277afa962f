// A short, comparable fingerprint of a prediction's penultimate-layer features: a seeded Gaussian
// random projection (distances roughly preserved, Johnson–Lindenstrauss) cheap enough to store with
// every log line and to feed the MMD embedding-drift test.
import { hashString, mulberry32 } from '../ml/random';

const projections = new Map<string, Float64Array>();
/** Models of a project share one feature length; a few entries cover model switches. */
const MAX_PROJECTIONS = 8;

function projection(inputLength: number, dims: number, seed: number): Float64Array {
  const key = `${inputLength}:${dims}:${seed}`;
  let m = projections.get(key);
  if (m) return m;
  // Derived only from (inputLength, dims, seed), so every worker, tab and session projects alike.
  const rand = mulberry32((seed ^ hashString(key)) >>> 0);
  m = new Float64Array(inputLength * dims);
  for (let i = 0; i < m.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const t = 2 * Math.PI * rand();
    m[i] = r * Math.cos(t);
    if (i + 1 < m.length) m[i + 1] = r * Math.sin(t);
  }
  if (projections.size >= MAX_PROJECTIONS) projections.delete(projections.keys().next().value!);
  projections.set(key, m);
  return m;
}

/** `dims` numbers, L2-normalised and rounded to 4 decimals; all zeros for an all-zero input. */
export function embeddingSketch(features: Float32Array | number[], dims = 16, seed = 7): number[] {
  const len = features.length;
  const m = projection(len, dims, seed);
  const sketch = new Array<number>(dims);
  let norm = 0;
  for (let d = 0; d < dims; d++) {
    let s = 0;
    const row = d * len;
    for (let i = 0; i < len; i++) s += m[row + i] * features[i];
    sketch[d] = s;
    norm += s * s;
  }
  norm = Math.sqrt(norm);
  for (let d = 0; d < dims; d++) sketch[d] = norm > 0 ? Math.round((sketch[d] / norm) * 1e4) / 1e4 : 0;
  return sketch;
}
