// Applies an AugmentationSpec to one image: a single inverse-mapped geometric pass (flips, rotation,
// random resized crop) with bilinear sampling, then photometric changes, noise and cutout, all in
// place in the output batch buffer. Runs per sample in the batch loader worker (or the training
// worker where no loader runs), so nothing allocates.
import type { AugmentationSpec } from './spec';
import { mulberry32 } from '../ml/random';

export interface AugmentImageShape {
  size: number;
  channels: number;
}

const LOG_RATIO_MIN = Math.log(3 / 4);
const LOG_RATIO_SPAN = Math.log(4 / 3) - LOG_RATIO_MIN;

/**
 * Writes one augmented image (HWC uint8 in, 0..1 floats out) into `out` at `offset`.
 *
 * Exactly twelve numbers are drawn from `rand` first, whether or not a transform is on, in this
 * order: hflip, vflip, angle, crop area, crop aspect, crop x, crop y, brightness, contrast,
 * saturation, cutout x, cutout y; then, only when noise is on, two more (where its noise starts in a
 * table of normals, and the stride). So a seed replays exactly, and turning one knob in the live
 * preview does not reshuffle the others. Everything happens in place in `out`: nothing allocates.
 */
export function augmentImage(
  src: Uint8Array,
  shape: AugmentImageShape,
  spec: AugmentationSpec,
  rand: () => number,
  out: Float32Array,
  offset: number,
): void {
  const { size, channels } = shape;
  const n = size * size * channels;
  if (src.length < n) throw new Error(`augmentImage: source has ${src.length} values, expected ${n}`);
  if (offset < 0 || out.length < offset + n) throw new Error('augmentImage: output buffer too small');

  const hflip = rand() < spec.hflip;
  const vflip = rand() < spec.vflip;
  const angle = ((rand() * 2 - 1) * spec.rotation * Math.PI) / 180;
  const area = 1 - spec.resizedCrop * rand();
  const ratio = Math.exp(LOG_RATIO_MIN + LOG_RATIO_SPAN * rand());
  const cropX = rand();
  const cropY = rand();
  const gain = 1 + (rand() * 2 - 1) * spec.brightness;
  const contrast = 1 + (rand() * 2 - 1) * spec.contrast;
  const saturationDraw = rand();
  const saturation = channels === 3 ? 1 + (saturationDraw * 2 - 1) * spec.saturation : 1;
  const cutX = rand();
  const cutY = rand();

  // Crop width and height as fractions of the side; a crop wider than the image is clamped to it.
  const cw = spec.resizedCrop > 0 ? Math.min(1, Math.sqrt(area * ratio)) : 1;
  const ch = spec.resizedCrop > 0 ? Math.min(1, Math.sqrt(area / ratio)) : 1;
  const c = (size - 1) / 2;
  const cropCx = c + (cropX - 0.5) * (1 - cw) * size;
  const cropCy = c + (cropY - 0.5) * (1 - ch) * size;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const fx = hflip ? -1 : 1;
  const fy = vflip ? -1 : 1;
  const geometric = hflip || vflip || angle !== 0 || cw !== 1 || ch !== 1;

  let sum = 0;
  if (!geometric) {
    for (let i = 0; i < n; i++) {
      let v = src[i] / 255;
      if (gain !== 1) v = Math.min(1, v * gain);
      out[offset + i] = v;
      sum += out[offset + i];
    }
  } else {
    const row = size * channels;
    for (let y = 0; y < size; y++) {
      const dy = fy * (y - c);
      for (let x = 0; x < size; x++) {
        // Undo the flip, then the rotation about the centre, then the crop's scale and offset.
        // Computed per pixel rather than incrementally so integer-valued mappings stay exact.
        const dx = fx * (x - c);
        const sx = cropCx + cw * (cos * dx + sin * dy);
        const sy = cropCy + ch * (cos * dy - sin * dx);
        const o = offset + (y * size + x) * channels;
        if (sx <= -1 || sy <= -1 || sx >= size || sy >= size) {
          for (let k = 0; k < channels; k++) out[o + k] = 0;
          continue;
        }
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const tx = sx - x0;
        const ty = sy - y0;
        // Neighbours outside the image count as background 0, like the pad resize.
        const inX0 = x0 >= 0;
        const inX1 = x0 + 1 < size;
        const inY0 = y0 >= 0;
        const inY1 = y0 + 1 < size;
        const w00 = inY0 && inX0 ? (1 - tx) * (1 - ty) : 0;
        const w01 = inY0 && inX1 ? tx * (1 - ty) : 0;
        const w10 = inY1 && inX0 ? (1 - tx) * ty : 0;
        const w11 = inY1 && inX1 ? tx * ty : 0;
        const base = y0 * row + x0 * channels;
        for (let k = 0; k < channels; k++) {
          const i = base + k;
          let v = 0;
          if (w00 !== 0) v += w00 * src[i];
          if (w01 !== 0) v += w01 * src[i + channels];
          if (w10 !== 0) v += w10 * src[i + row];
          if (w11 !== 0) v += w11 * src[i + row + channels];
          v /= 255;
          if (gain !== 1) v = Math.min(1, v * gain);
          out[o + k] = v;
          sum += out[o + k];
        }
      }
    }
  }

  const noise = spec.noise;
  if (contrast !== 1 || saturation !== 1 || noise > 0) {
    const mean = sum / n;
    // Noise reads a fixed table of standard normals from a random start with a random odd stride
    // (two draws per image): Box–Muller per pixel cost ~50 ms per batch of 96x96x3 images.
    let noiseAt = noise > 0 ? Math.floor(rand() * NORMALS.length) : 0;
    const noiseStride = noise > 0 ? 2 * Math.floor(rand() * (NORMALS.length / 2)) + 1 : 1;
    for (let p = offset; p < offset + n; p += channels) {
      if (contrast !== 1) {
        for (let k = 0; k < channels; k++) out[p + k] = clamp01(mean + (out[p + k] - mean) * contrast);
      }
      if (saturation !== 1) {
        const gray = 0.299 * out[p] + 0.587 * out[p + 1] + 0.114 * out[p + 2];
        for (let k = 0; k < 3; k++) out[p + k] = clamp01(gray + (out[p + k] - gray) * saturation);
      }
      if (noise > 0) {
        for (let k = 0; k < channels; k++) {
          out[p + k] = clamp01(out[p + k] + noise * NORMALS[noiseAt & NORMALS_MASK]);
          noiseAt += noiseStride;
        }
      }
    }
  }

  const side = Math.round(spec.cutout * size);
  if (side > 0) {
    // The square stays inside the image so every cutout removes the same area.
    const x0 = Math.min(size - side, Math.floor(cutX * (size - side + 1)));
    const y0 = Math.min(size - side, Math.floor(cutY * (size - side + 1)));
    for (let y = y0; y < y0 + side; y++) {
      out.fill(0, offset + (y * size + x0) * channels, offset + (y * size + x0 + side) * channels);
    }
  }
}

/** 2^16 standard normals (Box–Muller, fixed seed), shared by every image's noise. */
const NORMALS_MASK = 0xffff;
const NORMALS = (() => {
  const table = new Float32Array(NORMALS_MASK + 1);
  const rand = mulberry32(0x5eed);
  for (let i = 0; i < table.length; i += 2) {
    // 1 - u keeps the log finite since rand() may return 0.
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const t = 2 * Math.PI * rand();
    table[i] = r * Math.cos(t);
    table[i + 1] = r * Math.sin(t);
  }
  return table;
})();

function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}
