// Box-aware augmentation geometry for detection: horizontal flip and random scale/crop applied to
// an image's box list (and, for grayscale or RGB pixels, to the image itself) with a seeded RNG.
// A box cut by the crop is clipped to it; a box is dropped only when the part left inside the crop
// is under `minVisible` of its area, and every drop is returned to the caller with its index and
// visible fraction, never silent. Pure: runs in the batch loader worker or in Node.
import type { NormBox } from '../../contracts/detection';

export interface CropRect {
  /** Top-left and size of the crop, normalised to the source image. */
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface DroppedBox {
  /** Index in the input box list. */
  index: number;
  /** The fraction of the box's area left inside the crop. */
  visible: number;
}

export interface BoxTransformResult<T extends NormBox> {
  boxes: T[];
  /** Input indices of the kept boxes, in output order. */
  kept: number[];
  dropped: DroppedBox[];
  /** Input indices of kept boxes that the crop cut (clipped to it). */
  clipped: number[];
}

export interface DetectionAugmentSpec {
  /** Probability of a horizontal flip. */
  hflip: number;
  /** Probability of a random crop. */
  crop: number;
  /** Smallest crop area as a fraction of the image (0 < minArea <= 1). */
  minArea: number;
  /** Crop aspect ratios drawn log-uniformly in [1 / maxAspect, maxAspect]. */
  maxAspect: number;
  /** A box keeping less than this fraction of its area inside the crop is dropped (reported). */
  minVisible: number;
}

export const DEFAULT_DETECTION_AUGMENT: DetectionAugmentSpec = { hflip: 0.5, crop: 0.5, minArea: 0.5, maxAspect: 4 / 3, minVisible: 0.4 };

/** Mirrors boxes left-right: x becomes 1 - x - w. */
export function flipBoxesHorizontal<T extends NormBox>(boxes: readonly T[]): T[] {
  return boxes.map((b) => ({ ...b, x: 1 - b.x - b.w }));
}

/** Maps boxes into a crop's frame: clipped to it, dropped (and reported) under `minVisible`. */
export function cropBoxes<T extends NormBox>(boxes: readonly T[], crop: CropRect, minVisible: number): BoxTransformResult<T> {
  if (!(crop.w > 0) || !(crop.h > 0)) throw new Error('cropBoxes: the crop has no area');
  const out: BoxTransformResult<T> = { boxes: [], kept: [], dropped: [], clipped: [] };
  boxes.forEach((b, index) => {
    const x0 = Math.max(b.x, crop.x);
    const y0 = Math.max(b.y, crop.y);
    const x1 = Math.min(b.x + b.w, crop.x + crop.w);
    const y1 = Math.min(b.y + b.h, crop.y + crop.h);
    const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
    const area = b.w * b.h;
    const visible = area > 0 ? inter / area : 0;
    if (inter <= 0 || visible < minVisible) {
      out.dropped.push({ index, visible });
      return;
    }
    if (visible < 1 - 1e-9) out.clipped.push(index);
    out.boxes.push({ ...b, x: (x0 - crop.x) / crop.w, y: (y0 - crop.y) / crop.h, w: (x1 - x0) / crop.w, h: (y1 - y0) / crop.h });
    out.kept.push(index);
  });
  return out;
}

/**
 * Draws a random crop: area uniform in [minArea, 1] of the image, aspect log-uniform, position
 * uniform. Exactly four numbers are drawn from `rand`, whatever the spec.
 */
export function drawCrop(rand: () => number, minArea: number, maxAspect: number): CropRect {
  const area = minArea + (1 - minArea) * rand();
  const logR = Math.log(maxAspect);
  const ratio = Math.exp(-logR + 2 * logR * rand());
  const w = Math.min(1, Math.sqrt(area * ratio));
  const h = Math.min(1, Math.sqrt(area / ratio));
  return { x: (1 - w) * rand(), y: (1 - h) * rand(), w, h };
}

export interface AugmentedSample<T extends NormBox> extends BoxTransformResult<T> {
  flipped: boolean;
  /** The crop applied (the whole image when none). */
  crop: CropRect;
}

/**
 * Draws one augmentation for an image and applies it to its boxes. Exactly six numbers are drawn
 * (flip, crop on, then drawCrop's four), so a seed replays exactly whichever knobs are on.
 * The flip applies first (to the whole image), then the crop; `augmentPixels` follows the same order.
 */
export function augmentBoxes<T extends NormBox>(boxes: readonly T[], spec: DetectionAugmentSpec, rand: () => number): AugmentedSample<T> {
  const flipped = rand() < spec.hflip;
  const cropOn = rand() < spec.crop;
  const drawn = drawCrop(rand, spec.minArea, spec.maxAspect);
  const crop = cropOn ? drawn : { x: 0, y: 0, w: 1, h: 1 };
  const flippedBoxes = flipped ? flipBoxesHorizontal(boxes) : [...boxes];
  return { flipped, crop, ...cropBoxes(flippedBoxes, crop, cropOn ? spec.minVisible : 0) };
}

/**
 * Writes the flipped and cropped image, resized to outSize x outSize, into `out` (HWC, bilinear,
 * same channel count). Pixel centres map as in TF's resize with half-pixel centres.
 */
export function augmentPixels(
  src: ArrayLike<number>,
  srcSize: { width: number; height: number; channels: number },
  sample: { flipped: boolean; crop: CropRect },
  outSize: number,
  out: Float32Array | Uint8Array,
): void {
  const { width: W, height: H, channels: C } = srcSize;
  if (src.length < W * H * C) throw new Error('augmentPixels: source too small');
  if (out.length < outSize * outSize * C) throw new Error('augmentPixels: output too small');
  const { crop, flipped } = sample;
  for (let oy = 0; oy < outSize; oy++) {
    const sy = (crop.y + ((oy + 0.5) / outSize) * crop.h) * H - 0.5;
    const y0 = Math.max(0, Math.min(H - 1, Math.floor(sy)));
    const y1 = Math.min(H - 1, y0 + 1);
    const fy = Math.max(0, Math.min(1, sy - y0));
    for (let ox = 0; ox < outSize; ox++) {
      // Flip first: a point at u in the flipped image is at 1 - u in the source.
      const u = crop.x + ((ox + 0.5) / outSize) * crop.w;
      const sx = (flipped ? 1 - u : u) * W - 0.5;
      const x0 = Math.max(0, Math.min(W - 1, Math.floor(sx)));
      const x1 = Math.min(W - 1, x0 + 1);
      const fx = Math.max(0, Math.min(1, sx - x0));
      for (let c = 0; c < C; c++) {
        const a = src[(y0 * W + x0) * C + c];
        const b = src[(y0 * W + x1) * C + c];
        const d = src[(y1 * W + x0) * C + c];
        const e = src[(y1 * W + x1) * C + c];
        const top = a + (b - a) * fx;
        const bottom = d + (e - d) * fx;
        out[(oy * outSize + ox) * C + c] = top + (bottom - top) * fy;
      }
    }
  }
}
