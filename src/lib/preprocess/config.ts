// Preprocessing policy (documented in README "Preprocessing"): resize geometry and the cache key.
// Pure, so the same numbers drive the training worker, the inference worker and the tests.
import type { PreprocessConfig } from '../../db/schema';

export const DEFAULT_BACKGROUND: [number, number, number] = [0, 0, 0];

export function defaultPreprocess(inputSize = 28, channels: 1 | 3 = 1): PreprocessConfig {
  return { inputSize, channels, resize: 'pad', background: DEFAULT_BACKGROUND };
}

/** FNV-1a over a canonical JSON: stable across sessions, tabs and workers. */
export function preprocessHash(config: PreprocessConfig): string {
  const canonical = JSON.stringify([config.inputSize, config.channels, config.resize, config.background]);
  let h = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i++) {
    h ^= canonical.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `pp1-${h.toString(16).padStart(8, '0')}`;
}

export interface DrawGeometry {
  sx: number;
  sy: number;
  sw: number;
  sh: number;
  dx: number;
  dy: number;
  dw: number;
  dh: number;
}

/** Source and destination rectangles for drawing a w x h image into a size x size square. */
export function resizeGeometry(w: number, h: number, size: number, policy: PreprocessConfig['resize']): DrawGeometry {
  if (policy === 'stretch') return { sx: 0, sy: 0, sw: w, sh: h, dx: 0, dy: 0, dw: size, dh: size };
  if (policy === 'center-crop') {
    const side = Math.min(w, h);
    return { sx: (w - side) / 2, sy: (h - side) / 2, sw: side, sh: side, dx: 0, dy: 0, dw: size, dh: size };
  }
  const scale = size / Math.max(w, h);
  const dw = Math.max(1, Math.round(w * scale));
  const dh = Math.max(1, Math.round(h * scale));
  return { sx: 0, sy: 0, sw: w, sh: h, dx: Math.floor((size - dw) / 2), dy: Math.floor((size - dh) / 2), dw, dh };
}

/** RGBA canvas pixels to the model's channel layout (grayscale uses ITU-R BT.601 luma). */
export function rgbaToChannels(rgba: Uint8ClampedArray | Uint8Array, channels: 1 | 3): Uint8Array {
  const n = rgba.length / 4;
  const out = new Uint8Array(n * channels);
  for (let i = 0; i < n; i++) {
    const r = rgba[i * 4];
    const g = rgba[i * 4 + 1];
    const b = rgba[i * 4 + 2];
    if (channels === 1) out[i] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    else {
      out[i * 3] = r;
      out[i * 3 + 1] = g;
      out[i * 3 + 2] = b;
    }
  }
  return out;
}
