// Per-transform augmentation settings. Stored with dataset versions and pipeline definitions, so
// anything read back from storage or an imported file goes through validateAugmentation first.
import type { AugmentationSpec, AugmentationKey } from '../../contracts/augment';
export type { AugmentationSpec, AugmentationKey };

/** The old single "strength" knob's largest changes at strength 1 (see fromStrength). */
const AUGMENT_LIMITS = { rotationDeg: 15, brightness: 0.3 };

export const AUGMENTATION_LIMITS: Readonly<Record<AugmentationKey, { min: number; max: number }>> = {
  hflip: { min: 0, max: 1 },
  vflip: { min: 0, max: 1 },
  rotation: { min: 0, max: 180 },
  resizedCrop: { min: 0, max: 0.9 },
  brightness: { min: 0, max: 1 },
  contrast: { min: 0, max: 1 },
  saturation: { min: 0, max: 1 },
  noise: { min: 0, max: 0.5 },
  cutout: { min: 0, max: 0.75 },
};

const KEYS = Object.keys(AUGMENTATION_LIMITS) as AugmentationKey[];

export const NO_AUGMENTATION: Readonly<AugmentationSpec> = Object.freeze({
  hflip: 0,
  vflip: 0,
  rotation: 0,
  resizedCrop: 0,
  brightness: 0,
  contrast: 0,
  saturation: 0,
  noise: 0,
  cutout: 0,
});

export type AugmentationValidation = { ok: true; spec: AugmentationSpec } | { ok: false; errors: string[] };

/** For untrusted JSON: unknown keys are dropped, missing keys mean 0, anything else wrong is named. */
export function validateAugmentation(x: unknown): AugmentationValidation {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return { ok: false, errors: ['augmentation must be an object'] };
  const input = x as Record<string, unknown>;
  const spec: AugmentationSpec = { ...NO_AUGMENTATION };
  const errors: string[] = [];
  for (const key of KEYS) {
    const v = input[key];
    if (v === undefined) continue;
    const { min, max } = AUGMENTATION_LIMITS[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) errors.push(`${key} must be a finite number`);
    else if (v < min || v > max) errors.push(`${key} must be between ${min} and ${max} (got ${v})`);
    else spec[key] = v;
  }
  return errors.length ? { ok: false, errors } : { ok: true, spec };
}

export function isIdentity(spec: AugmentationSpec): boolean {
  return KEYS.every((k) => spec[k] === 0);
}

/**
 * The old single "strength" knob (lib/ml/augment) as a spec, so saved settings keep their meaning.
 * Its shift becomes a resized crop: a crop keeping area 1 - 0.35 has side ~0.81 and can sit off-centre
 * by enough to move content ~0.12 of the output side, the old largest shift. Flips were never part of it.
 */
export function fromStrength(strength: number): AugmentationSpec {
  const s = Number.isFinite(strength) ? Math.min(1, Math.max(0, strength)) : 0;
  return {
    ...NO_AUGMENTATION,
    rotation: AUGMENT_LIMITS.rotationDeg * s,
    resizedCrop: 0.35 * s,
    brightness: AUGMENT_LIMITS.brightness * s,
  };
}
