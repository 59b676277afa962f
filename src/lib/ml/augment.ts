// On-the-fly training augmentation at one "strength" knob (0 = off, 1 = strong): a small random
// rotation, shift and brightness change per image, seeded per batch so a run can be replayed.
// Pure array code (no TF.js): it runs in the training worker while the previous batch trains.

export interface AugmentShape {
  size: number;
  channels: number;
}

/** The largest changes at strength 1; chosen so digits and photos stay recognisable. */
export const AUGMENT_LIMITS = { rotationDeg: 15, shiftFraction: 0.12, brightness: 0.3 };

/**
 * Writes one augmented image (uint8 in, 0..1 floats out) into `out` at `offset`.
 * Inverse mapping with nearest-neighbour sampling; pixels mapped from outside the image are 0,
 * the same background the pad resize uses.
 */
export function augmentInto(src: Uint8Array, shape: AugmentShape, strength: number, rand: () => number, out: Float32Array, offset: number): void {
  const { size, channels } = shape;
  const s = Math.min(1, Math.max(0, strength));
  const angle = ((rand() * 2 - 1) * s * AUGMENT_LIMITS.rotationDeg * Math.PI) / 180;
  const dx = (rand() * 2 - 1) * s * AUGMENT_LIMITS.shiftFraction * size;
  const dy = (rand() * 2 - 1) * s * AUGMENT_LIMITS.shiftFraction * size;
  const gain = 1 + (rand() * 2 - 1) * s * AUGMENT_LIMITS.brightness;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const c = (size - 1) / 2;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Where this output pixel comes from: undo the shift, then the rotation about the centre.
      const ux = x - c - dx;
      const uy = y - c - dy;
      const sx = Math.round(cos * ux + sin * uy + c);
      const sy = Math.round(-sin * ux + cos * uy + c);
      const o = offset + (y * size + x) * channels;
      if (sx < 0 || sy < 0 || sx >= size || sy >= size) {
        for (let k = 0; k < channels; k++) out[o + k] = 0;
        continue;
      }
      const i = (sy * size + sx) * channels;
      for (let k = 0; k < channels; k++) out[o + k] = Math.min(1, (src[i + k] / 255) * gain);
    }
  }
}
