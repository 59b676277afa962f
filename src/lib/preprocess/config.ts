// Preprocessing policy (documented in README "Preprocessing"): resize geometry and the cache key.
// Pure, so the same numbers drive the training worker, the inference worker and the tests.
import type { PreprocessConfig } from '../../contracts/training';

export const DEFAULT_BACKGROUND: [number, number, number] = [0, 0, 0];

export function defaultPreprocess(inputSize = 28, channels: 1 | 3 = 1): PreprocessConfig {
  return { inputSize, channels, resize: 'pad', background: DEFAULT_BACKGROUND };
}

/**
 * FNV-1a over a canonical JSON: stable across sessions, tabs and workers. The prefix names the
 * resampler: pp2 is recipe.js's explicit triangle filter (pp1 was the canvas's 'high' smoothing),
 * so pixels cached by the old resampler are never mixed with new ones.
 */
export function preprocessHash(config: PreprocessConfig): string {
  const canonical = JSON.stringify([config.inputSize, config.channels, config.resize, config.background]);
  let h = 0x811c9dc5;
  for (let i = 0; i < canonical.length; i++) {
    h ^= canonical.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `pp2-${h.toString(16).padStart(8, '0')}`;
}

// Geometry and resampling live in recipe.js, the dependency-free module every export ships as
// preprocess.js: the app and an exported model's users run the same code.
export { resizeGeometry, modelPixels, toInput } from './recipe.js';
export type { DrawGeometry } from './recipe.js';

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
