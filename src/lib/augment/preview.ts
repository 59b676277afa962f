// Live preview for the augmentation settings: the same image augmented a few times.
import { hashString, mulberry32 } from '../ml/random';
import { augmentImage, type AugmentImageShape } from './apply';
import type { AugmentationSpec } from './spec';

/** `count` variants; variant i depends only on (seed, i), so moving a slider keeps the tiles comparable. */
export function previewGrid(
  src: Uint8Array,
  shape: AugmentImageShape,
  spec: AugmentationSpec,
  seed: number,
  count: number,
): Float32Array[] {
  const n = shape.size * shape.size * shape.channels;
  const tiles: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const out = new Float32Array(n);
    augmentImage(src, shape, spec, mulberry32(hashString(`${seed}:${i}`)), out, 0);
    tiles.push(out);
  }
  return tiles;
}
