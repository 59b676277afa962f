// Image bytes to model pixels in a worker: decode (EXIF orientation applied), composite alpha on
// the configured background, resize by the documented policy, convert channels.
import type { PreprocessConfig } from '../../src/db/schema';
import { resizeGeometry, rgbaToChannels } from '../../src/lib/preprocess/config';

let canvas: OffscreenCanvas | null = null;

export async function toModelPixels(data: ArrayBuffer | Blob, mime: string, config: PreprocessConfig): Promise<Uint8Array> {
  const blob = data instanceof Blob ? data : new Blob([data], { type: mime });
  const bitmap = await createImageBitmap(blob, { imageOrientation: 'from-image' });
  try {
    const size = config.inputSize;
    if (!canvas || canvas.width !== size) canvas = new OffscreenCanvas(size, size);
    const ctx = canvas.getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D;
    const [r, g, b] = config.background;
    ctx.fillStyle = `rgb(${r}, ${g}, ${b})`;
    ctx.fillRect(0, 0, size, size);
    ctx.imageSmoothingQuality = 'high';
    const geo = resizeGeometry(bitmap.width, bitmap.height, size, config.resize);
    ctx.drawImage(bitmap, geo.sx, geo.sy, geo.sw, geo.sh, geo.dx, geo.dy, geo.dw, geo.dh);
    return rgbaToChannels(ctx.getImageData(0, 0, size, size).data, config.channels);
  } finally {
    bitmap.close();
  }
}
