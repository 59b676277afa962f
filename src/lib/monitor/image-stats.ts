// Cheap per-image statistics logged with every prediction; their distributions are what drift
// detection compares against the training data.
import type { ImageStats } from '../../contracts/monitor';
export type { ImageStats };

export const STAT_NAMES = ['brightness', 'contrast', 'sharpness', 'width', 'height', 'aspect'] as const;
export type StatName = (typeof STAT_NAMES)[number];

/** Side of the downscale the Laplacian runs on, so sharpness costs the same for any photo size. */
const SHARPNESS_SIDE = 64;

/** ITU-R BT.601 luma on 0..1, as lib/preprocess uses for grayscale. */
function luma(rgba: ArrayLike<number>, i: number): number {
  return (0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2]) / 255;
}

export function imageStats(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): ImageStats {
  const pixels = width * height;
  if (rgba.length < pixels * 4) throw new Error(`imageStats: expected ${pixels * 4} RGBA values, got ${rgba.length}`);
  if (pixels === 0) return { brightness: 0, contrast: 0, sharpness: 0, width, height, aspect: height > 0 ? width / height : 0 };

  // One pass for mean and variance; luma values are bounded, so sum of squares is stable enough.
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < pixels * 4; i += 4) {
    const l = luma(rgba, i);
    sum += l;
    sumSq += l * l;
  }
  const brightness = sum / pixels;
  const contrast = Math.sqrt(Math.max(0, sumSq / pixels - brightness * brightness));

  // Nearest-neighbour downscale (pixel centres), then the Laplacian over interior pixels.
  const dw = Math.min(SHARPNESS_SIDE, width);
  const dh = Math.min(SHARPNESS_SIDE, height);
  const small = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++) {
    const sy = Math.floor(((y + 0.5) * height) / dh);
    for (let x = 0; x < dw; x++) {
      const sx = Math.floor(((x + 0.5) * width) / dw);
      small[y * dw + x] = luma(rgba, (sy * width + sx) * 4);
    }
  }
  let lapSum = 0;
  let lapSq = 0;
  let count = 0;
  for (let y = 1; y < dh - 1; y++) {
    for (let x = 1; x < dw - 1; x++) {
      const i = y * dw + x;
      const lap = small[i - 1] + small[i + 1] + small[i - dw] + small[i + dw] - 4 * small[i];
      lapSum += lap;
      lapSq += lap * lap;
      count++;
    }
  }
  const lapMean = count > 0 ? lapSum / count : 0;
  const sharpness = count > 0 ? Math.max(0, lapSq / count - lapMean * lapMean) : 0;
  return { brightness, contrast, sharpness, width, height, aspect: width / height };
}
