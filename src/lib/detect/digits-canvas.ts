// "Digits on a canvas": a detection data set made from MNIST digits. A seeded pure function
// places 1-4 digits per 128x128 grayscale image at random positions and scales, never overlapping
// heavily, and returns the pixels with exact boxes: each box is tight around its digit's ink (the
// non-zero pixels of the scaled digit), not around the 28x28 cell. The digits come in as 28x28
// uint8 arrays (scripts/build-digits-canvas.ts reads them from the `mnist` package).
import { mulberry32 } from '../ml/random';

export const MNIST_SIDE = 28;

export interface DigitSource {
  label: string;
  /** 28 x 28 grayscale, 0 = background. */
  pixels: Uint8Array;
}

export interface CanvasOptions {
  size: number;
  minDigits: number;
  maxDigits: number;
  /** Side of a scaled digit's 28x28 cell, in pixels (inclusive range). */
  minSide: number;
  maxSide: number;
  /** Largest share of either ink box that may be covered by another digit's ink box. */
  maxCover: number;
  /** Placement tries per digit before it is left out (the image then has fewer digits). */
  tries: number;
}

export const DEFAULT_CANVAS: CanvasOptions = { size: 128, minDigits: 1, maxDigits: 4, minSide: 22, maxSide: 56, maxCover: 0.15, tries: 50 };

export interface PixelBox {
  /** Inclusive start, exclusive end, in pixels. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface CanvasInstance {
  label: string;
  sourceIndex: number;
  /** Side of the scaled cell and where its top-left corner sits. */
  side: number;
  left: number;
  top: number;
  /** The ink box on the canvas, in pixels. */
  ink: PixelBox;
}

export interface CanvasImage {
  /** size x size grayscale, row-major. */
  pixels: Uint8Array;
  /** One normalised box per instance, same order. */
  boxes: Array<{ x: number; y: number; w: number; h: number; label: string }>;
  instances: CanvasInstance[];
}

/** A 28x28 digit resized to side x side (bilinear, half-pixel centres), rounded to uint8. */
export function renderDigit(src: Uint8Array, side: number): Uint8Array {
  const out = new Uint8Array(side * side);
  const scale = MNIST_SIDE / side;
  for (let oy = 0; oy < side; oy++) {
    const sy = Math.max(0, (oy + 0.5) * scale - 0.5);
    const y0 = Math.min(MNIST_SIDE - 1, Math.floor(sy));
    const y1 = Math.min(MNIST_SIDE - 1, y0 + 1);
    const fy = sy - y0;
    for (let ox = 0; ox < side; ox++) {
      const sx = Math.max(0, (ox + 0.5) * scale - 0.5);
      const x0 = Math.min(MNIST_SIDE - 1, Math.floor(sx));
      const x1 = Math.min(MNIST_SIDE - 1, x0 + 1);
      const fx = sx - x0;
      const top = src[y0 * MNIST_SIDE + x0] * (1 - fx) + src[y0 * MNIST_SIDE + x1] * fx;
      const bottom = src[y1 * MNIST_SIDE + x0] * (1 - fx) + src[y1 * MNIST_SIDE + x1] * fx;
      out[oy * side + ox] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return out;
}

/** The box around the non-zero pixels of a width x height image, or null when it is blank. */
export function inkBounds(pixels: ArrayLike<number>, width: number, height: number): PixelBox | null {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (pixels[y * width + x] !== 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

const areaOf = (b: PixelBox) => (b.x1 - b.x0) * (b.y1 - b.y0);
function overlap(a: PixelBox, b: PixelBox): number {
  return Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0)) * Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
}

/**
 * `count` images from `sources`, the same for the same seed. Digits whose scaled ink is blank are
 * never drawn; a digit that finds no place within `tries` is left out (an image keeps at least
 * its first digit, which always fits on an empty canvas).
 */
export function composeDigitsCanvas(
  sources: readonly DigitSource[],
  count: number,
  seed: number,
  options: Partial<CanvasOptions> = {},
): CanvasImage[] {
  const o = { ...DEFAULT_CANVAS, ...options };
  if (sources.length === 0) throw new Error('composeDigitsCanvas: no source digits');
  if (o.maxSide > o.size || o.minSide < 8 || o.minSide > o.maxSide) throw new Error('composeDigitsCanvas: digit sides must be 8..size');
  const rand = mulberry32(seed);
  const images: CanvasImage[] = [];
  for (let n = 0; n < count; n++) {
    const pixels = new Uint8Array(o.size * o.size);
    const instances: CanvasInstance[] = [];
    const want = o.minDigits + Math.floor(rand() * (o.maxDigits - o.minDigits + 1));
    for (let d = 0; d < want; d++) {
      const sourceIndex = Math.floor(rand() * sources.length);
      const side = o.minSide + Math.floor(rand() * (o.maxSide - o.minSide + 1));
      const digit = renderDigit(sources[sourceIndex].pixels, side);
      const local = inkBounds(digit, side, side);
      if (!local) continue;
      for (let t = 0; t < o.tries; t++) {
        // Place the ink box (not the cell) anywhere fully inside the canvas.
        const iw = local.x1 - local.x0;
        const ih = local.y1 - local.y0;
        const ix = Math.floor(rand() * (o.size - iw + 1));
        const iy = Math.floor(rand() * (o.size - ih + 1));
        const ink = { x0: ix, y0: iy, x1: ix + iw, y1: iy + ih };
        const crowded = instances.some((p) => {
          const inter = overlap(p.ink, ink);
          return inter > o.maxCover * areaOf(ink) || inter > o.maxCover * areaOf(p.ink);
        });
        if (crowded) continue;
        const left = ix - local.x0;
        const top = iy - local.y0;
        for (let y = local.y0; y < local.y1; y++) {
          for (let x = local.x0; x < local.x1; x++) {
            const v = digit[y * side + x];
            const at = (top + y) * o.size + left + x;
            if (v > pixels[at]) pixels[at] = v;
          }
        }
        instances.push({ label: sources[sourceIndex].label, sourceIndex, side, left, top, ink });
        break;
      }
    }
    const boxes = instances.map((p) => ({
      x: p.ink.x0 / o.size,
      y: p.ink.y0 / o.size,
      w: (p.ink.x1 - p.ink.x0) / o.size,
      h: (p.ink.y1 - p.ink.y0) / o.size,
      label: p.label,
    }));
    images.push({ pixels, boxes, instances });
  }
  return images;
}
