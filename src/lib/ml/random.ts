// Seeded randomness for everything outside TF.js kernels (splits, shuffles, per-layer seeds), so a
// run or tuning trial can be replayed exactly from the seed stored in its record.

/** Mulberry32: tiny, fast, good enough for shuffles; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates; mutates and returns `arr`. */
export function shuffleInPlace<T>(arr: T[], rand: () => number): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = arr[i];
    arr[i] = arr[j];
    arr[j] = tmp;
  }
  return arr;
}

/**
 * 32-bit FNV-1a over UTF-16 code units, finished with a murmur-style avalanche so that similar
 * strings ("cat", "cats") give unrelated seeds. Unsigned result.
 */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return fmix32(h);
}

/** MurmurHash3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Derives a stream of positive 31-bit integer seeds from one seed, e.g. one per layer initializer
 * (TF.js initializers given the same seed produce identical weights).
 */
export function seedStream(seed: number): () => number {
  const rand = mulberry32(seed);
  return () => 1 + Math.floor(rand() * 0x7ffffffe);
}
