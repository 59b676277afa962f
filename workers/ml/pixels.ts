// Image bytes to model pixels in a worker: decode (EXIF orientation applied), read the RGBA at
// natural size, then recipe.js (the same module every export ships as preprocess.js) composites
// alpha on the background, resamples by the documented policy and converts channels.
import type { PreprocessConfig } from '../../src/contracts/training';
import { modelPixels } from '../../src/lib/preprocess/recipe.js';
import type { ImageStats } from '../../src/contracts/monitor';
import { imageStats } from '../../src/lib/monitor/image-stats';

let canvas: OffscreenCanvas | null = null;
let statsCanvas: OffscreenCanvas | null = null;
/** Image statistics are computed on at most this many pixels a side: cheap, and enough for drift. */
const STATS_SIDE = 64;

export async function toModelPixels(data: ArrayBuffer | Blob, mime: string, config: PreprocessConfig): Promise<Uint8Array> {
  const blob = data instanceof Blob ? data : new Blob([data], { type: mime });
  const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  try {
    return drawModelPixels(bitmap, config);
  } finally {
    bitmap.close();
  }
}

/** One decode for both: the model's pixels and the monitoring statistics of the image as it arrived. */
export async function toModelPixelsWithStats(
  data: ArrayBuffer | Blob,
  mime: string,
  config: PreprocessConfig,
): Promise<{ pixels: Uint8Array; stats: ImageStats }> {
  const blob = data instanceof Blob ? data : new Blob([data], { type: mime });
  const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  try {
    const scale = Math.min(1, STATS_SIDE / Math.max(bitmap.width, bitmap.height));
    const w = Math.max(1, Math.round(bitmap.width * scale));
    const h = Math.max(1, Math.round(bitmap.height * scale));
    if (!statsCanvas || statsCanvas.width !== w || statsCanvas.height !== h) statsCanvas = new OffscreenCanvas(w, h);
    const ctx = statsCanvas.getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D;
    ctx.clearRect(0, 0, w, h);
    ctx.drawImage(bitmap, 0, 0, w, h);
    const small = imageStats(ctx.getImageData(0, 0, w, h).data, w, h);
    const stats = { ...small, width: bitmap.width, height: bitmap.height, aspect: bitmap.width / bitmap.height };
    return { pixels: drawModelPixels(bitmap, config), stats };
  } finally {
    bitmap.close();
  }
}

function drawModelPixels(bitmap: ImageBitmap, config: PreprocessConfig): Uint8Array {
  const { width, height } = bitmap;
  if (!canvas || canvas.width !== width || canvas.height !== height) canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D;
  // Drawn 1:1 on a transparent canvas: no resampling and no compositing by the browser.
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  // A large photo's canvas is not kept between images.
  if (width * height > 1 << 22) canvas = null;
  return modelPixels(rgba, width, height, config);
}
