// CenterNet-style detection head maths ("Objects as Points", Zhou et al. 2019), in plain
// JavaScript with no imports, so an exported model can ship this very file as its decode module.
//
// Layout: maps are row-major height x width x channels (TF.js NHWC, batch of one), over a square
// grid of side G = inputSize / stride.
//  - heatmap: G x G x C, one channel per class, a gaussian peak (1 at the cell holding the box's
//    centre) per box; the model outputs it through a sigmoid;
//  - size: G x G x 2, the box's width and height in grid cells, at its centre cell only;
//  - offset: G x G x 2, the sub-cell position of the centre (0..1), at its centre cell only;
//  - mask: G x G, 1 at each centre cell (where size and offset are trained).
// Boxes in and out are normalised to the image: x, y top-left, w, h, all fractions of the side.

export interface HeadConfig {
  /** Side of the square input image in pixels (e.g. 128). */
  inputSize: number;
  /** Output stride (e.g. 4): the grid is inputSize / stride cells a side. */
  stride: number;
  numClasses: number;
}

export interface HeadBox {
  x: number;
  y: number;
  w: number;
  h: number;
  classIndex: number;
}

export interface HeadDetection extends HeadBox {
  score: number;
}

export interface HeadTargets {
  grid: number;
  heatmap: Float32Array;
  size: Float32Array;
  offset: Float32Array;
  mask: Float32Array;
  /** Boxes whose centre fell in a cell (and class) already taken by a smaller box; they keep their heatmap peak only. */
  collisions: number;
}

export function gridSide(cfg: HeadConfig): number {
  const g = cfg.inputSize / cfg.stride;
  if (!Number.isInteger(g) || g < 1) throw new Error(`inputSize ${cfg.inputSize} is not a multiple of stride ${cfg.stride}`);
  return g;
}

/**
 * CenterNet's gaussian_radius (xingyizhou/CenterNet src/lib/utils/image.py), kept as published
 * (its quadratic roots are not divided by 2a; the reference implementation trains with it): the
 * radius within which a corner-shifted box still overlaps the true one by `minOverlap`.
 */
export function gaussianRadius(height: number, width: number, minOverlap = 0.7): number {
  const b1 = height + width;
  const c1 = (width * height * (1 - minOverlap)) / (1 + minOverlap);
  const r1 = (b1 + Math.sqrt(b1 * b1 - 4 * c1)) / 2;
  const b2 = 2 * (height + width);
  const c2 = (1 - minOverlap) * width * height;
  const r2 = (b2 + Math.sqrt(b2 * b2 - 16 * c2)) / 2;
  const a3 = 4 * minOverlap;
  const b3 = -2 * minOverlap * (height + width);
  const c3 = (minOverlap - 1) * width * height;
  const r3 = (b3 + Math.sqrt(b3 * b3 - 4 * a3 * c3)) / 2;
  return Math.min(r1, r2, r3);
}

/** Draws a gaussian of the given radius (sigma = diameter / 6) into one class channel, keeping the max. */
function drawGaussian(heatmap: Float32Array, grid: number, channels: number, c: number, cx: number, cy: number, radius: number): void {
  const sigma = (2 * radius + 1) / 6;
  const denom = 2 * sigma * sigma;
  const x0 = Math.max(0, cx - radius);
  const x1 = Math.min(grid - 1, cx + radius);
  const y0 = Math.max(0, cy - radius);
  const y1 = Math.min(grid - 1, cy + radius);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const v = Math.exp(-(dx * dx + dy * dy) / denom);
      const i = (y * grid + x) * channels + c;
      if (v > heatmap[i]) heatmap[i] = v;
    }
  }
}

/**
 * Training targets for one image from its boxes (normalised). Boxes with a non-finite coordinate,
 * an empty size or a class outside 0..numClasses-1 throw: the caller validates boxes on import.
 * Where two boxes of a class share a centre cell, the smaller one's size and offset are kept.
 */
export function buildTargets(boxes: readonly HeadBox[], cfg: HeadConfig): HeadTargets {
  const grid = gridSide(cfg);
  const C = cfg.numClasses;
  const heatmap = new Float32Array(grid * grid * C);
  const size = new Float32Array(grid * grid * 2);
  const offset = new Float32Array(grid * grid * 2);
  const mask = new Float32Array(grid * grid);
  const owner = new Float64Array(grid * grid).fill(Infinity); // area of the box owning each centre cell
  let collisions = 0;
  for (const b of boxes) {
    if (![b.x, b.y, b.w, b.h].every(Number.isFinite) || !(b.w > 0) || !(b.h > 0))
      throw new Error('buildTargets: box with a non-finite or empty size');
    if (!Number.isInteger(b.classIndex) || b.classIndex < 0 || b.classIndex >= C)
      throw new Error(`buildTargets: class index ${b.classIndex} outside 0..${C - 1}`);
    const w = b.w * grid;
    const h = b.h * grid;
    const fx = Math.min(grid - 1e-4, Math.max(0, (b.x + b.w / 2) * grid));
    const fy = Math.min(grid - 1e-4, Math.max(0, (b.y + b.h / 2) * grid));
    const cx = Math.floor(fx);
    const cy = Math.floor(fy);
    const radius = Math.max(0, Math.floor(gaussianRadius(Math.ceil(h), Math.ceil(w))));
    drawGaussian(heatmap, grid, C, b.classIndex, cx, cy, radius);
    const cell = cy * grid + cx;
    const area = w * h;
    if (mask[cell] === 1) {
      collisions++;
      if (area >= owner[cell]) continue;
    }
    owner[cell] = area;
    mask[cell] = 1;
    size[cell * 2] = w;
    size[cell * 2 + 1] = h;
    offset[cell * 2] = fx - cx;
    offset[cell * 2 + 1] = fy - cy;
  }
  return { grid, heatmap, size, offset, mask, collisions };
}

export interface DecodeOptions {
  /** Most peaks kept before the score threshold (CenterNet: 100). */
  topK?: number;
  scoreThreshold?: number;
}

/**
 * Boxes from the head's outputs (heatmap already through its sigmoid): a cell is a peak when it is
 * the maximum of its 3x3 neighbourhood in its class channel (CenterNet's `_nms`: max-pool and keep
 * equal values), the top K peaks over all classes by score (ties: grid order), those at or above
 * the threshold; each box from its cell, offset and size, clipped to the image.
 */
export function decode(
  heatmap: ArrayLike<number>,
  size: ArrayLike<number>,
  offset: ArrayLike<number>,
  cfg: HeadConfig,
  options: DecodeOptions = {},
): HeadDetection[] {
  const grid = gridSide(cfg);
  const C = cfg.numClasses;
  if (heatmap.length !== grid * grid * C || size.length !== grid * grid * 2 || offset.length !== grid * grid * 2) {
    throw new Error(`decode: expected maps of ${grid}x${grid}x${C}, ${grid}x${grid}x2 and ${grid}x${grid}x2`);
  }
  const topK = options.topK ?? 100;
  const threshold = options.scoreThreshold ?? 0.3;
  const peaks: Array<[number, number]> = []; // [score, index]
  for (let y = 0; y < grid; y++) {
    for (let x = 0; x < grid; x++) {
      for (let c = 0; c < C; c++) {
        const i = (y * grid + x) * C + c;
        const v = heatmap[i];
        if (!(v >= threshold)) continue;
        let isPeak = true;
        for (let dy = -1; dy <= 1 && isPeak; dy++) {
          const yy = y + dy;
          if (yy < 0 || yy >= grid) continue;
          for (let dx = -1; dx <= 1; dx++) {
            const xx = x + dx;
            if (xx < 0 || xx >= grid || (dx === 0 && dy === 0)) continue;
            if (heatmap[(yy * grid + xx) * C + c] > v) {
              isPeak = false;
              break;
            }
          }
        }
        if (isPeak) peaks.push([v, i]);
      }
    }
  }
  peaks.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const out: HeadDetection[] = [];
  for (const [score, i] of peaks.slice(0, topK)) {
    const c = i % C;
    const cell = (i - c) / C;
    const gx = cell % grid;
    const gy = (cell - gx) / grid;
    const w = Math.max(0, size[cell * 2]) / grid;
    const h = Math.max(0, size[cell * 2 + 1]) / grid;
    const cx = (gx + offset[cell * 2]) / grid;
    const cy = (gy + offset[cell * 2 + 1]) / grid;
    const x0 = Math.max(0, cx - w / 2);
    const y0 = Math.max(0, cy - h / 2);
    const x1 = Math.min(1, cx + w / 2);
    const y1 = Math.min(1, cy + h / 2);
    if (x1 <= x0 || y1 <= y0) continue;
    out.push({ x: x0, y: y0, w: x1 - x0, h: y1 - y0, classIndex: c, score });
  }
  return out;
}

function iouOf(a: HeadBox, b: HeadBox): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression by class: highest score first (ties keep input order), a box is
 * dropped when its IoU with a kept box of its class is above `iouThreshold` (strictly, as
 * torchvision's nms). `classAgnostic` suppresses across classes.
 */
export function nms<T extends HeadDetection>(
  dets: readonly T[],
  iouThreshold: number,
  options: { classAgnostic?: boolean; maxDetections?: number } = {},
): T[] {
  const order = dets.map((d, i) => [d, i] as const).sort((a, b) => b[0].score - a[0].score || a[1] - b[1]);
  const kept: T[] = [];
  const max = options.maxDetections ?? Infinity;
  for (const [d] of order) {
    if (kept.length >= max) break;
    if (!Number.isFinite(d.score)) continue;
    if (kept.some((k) => (options.classAgnostic || k.classIndex === d.classIndex) && iouOf(k, d) > iouThreshold)) continue;
    kept.push(d);
  }
  return kept;
}
