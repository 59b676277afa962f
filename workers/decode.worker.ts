// Decode pool member: hashes, decodes (EXIF orientation applied) and thumbnails one image at a time.
import * as Comlink from 'comlink';
import { THUMBNAIL_SIZE, type DecodeApi, type DecodeRequest, type DecodeResult } from './decode.api';
import { sha256Hex } from '../src/lib/util/hex';

async function makeThumbnail(bitmap: ImageBitmap, req: DecodeRequest): Promise<{ data: ArrayBuffer; mime: string }> {
  const { width, height } = bitmap;
  // Small images are their own thumbnail: re-encoding them costs more than it saves.
  if (width <= THUMBNAIL_SIZE && height <= THUMBNAIL_SIZE && req.mime !== 'image/bmp') {
    return { data: req.data.slice(0), mime: req.mime };
  }
  const scale = THUMBNAIL_SIZE / Math.max(width, height);
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('2D canvas is not available in this worker');
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, w, h);
  const blob = await canvas.convertToBlob({ type: 'image/webp', quality: 0.8 });
  return { data: await blob.arrayBuffer(), mime: blob.type || 'image/webp' };
}

const api = {
  async decode(req: DecodeRequest): Promise<DecodeResult> {
    const id = await sha256Hex(req.data);
    let bitmap: ImageBitmap;
    try {
      bitmap = await createImageBitmap(new Blob([req.data], { type: req.mime }), { imageOrientation: 'from-image' });
    } catch (err) {
      const why = err instanceof Error && err.message ? err.message : String(err);
      return { ok: false, reason: `could not be decoded: ${why}` };
    }
    try {
      if (bitmap.width === 0 || bitmap.height === 0) return { ok: false, reason: 'decoded to an empty image' };
      const thumb = await makeThumbnail(bitmap, req);
      const result: DecodeResult = {
        ok: true,
        id,
        width: bitmap.width,
        height: bitmap.height,
        data: req.data,
        thumbnail: thumb.data,
        thumbnailMime: thumb.mime,
      };
      return Comlink.transfer(result, [req.data, thumb.data]);
    } finally {
      bitmap.close();
    }
  },
} satisfies DecodeApi;

Comlink.expose(api);
