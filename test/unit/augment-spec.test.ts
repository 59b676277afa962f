import { describe, expect, it } from 'vitest';
import { AUGMENTATION_LIMITS, fromStrength, isIdentity, NO_AUGMENTATION, validateAugmentation } from '../../src/lib/augment/spec';

describe('validateAugmentation', () => {
  it('fills missing keys with 0 and drops unknown ones', () => {
    const r = validateAugmentation({ hflip: 0.5, rotation: 20, mixup: 0.3 });
    expect(r).toEqual({ ok: true, spec: { ...NO_AUGMENTATION, hflip: 0.5, rotation: 20 } });
    expect(validateAugmentation({})).toEqual({ ok: true, spec: NO_AUGMENTATION });
  });

  it('names every out-of-range or non-numeric value', () => {
    const r = validateAugmentation({ hflip: 1.5, rotation: -1, noise: '0.1', cutout: Number.NaN, resizedCrop: 0.95 });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(5);
    expect(r.errors.join('\n')).toMatch(/hflip.*0 and 1/);
    expect(r.errors.join('\n')).toMatch(/rotation/);
    expect(r.errors.join('\n')).toMatch(/noise must be a finite number/);
    expect(r.errors.join('\n')).toMatch(/cutout/);
    expect(r.errors.join('\n')).toMatch(/resizedCrop.*0\.9/);
  });

  it('rejects non-objects', () => {
    for (const x of [null, 3, 'x', [1]]) expect(validateAugmentation(x).ok).toBe(false);
  });

  it('accepts the limits themselves', () => {
    const max = Object.fromEntries(Object.entries(AUGMENTATION_LIMITS).map(([k, v]) => [k, v.max]));
    expect(validateAugmentation(max).ok).toBe(true);
  });
});

describe('isIdentity and fromStrength', () => {
  it('identity only when every knob is 0', () => {
    expect(isIdentity(NO_AUGMENTATION)).toBe(true);
    expect(isIdentity({ ...NO_AUGMENTATION, noise: 0.01 })).toBe(false);
  });

  it('maps the old single knob', () => {
    expect(isIdentity(fromStrength(0))).toBe(true);
    const full = fromStrength(1);
    expect(full).toEqual({ ...NO_AUGMENTATION, rotation: 15, resizedCrop: 0.35, brightness: 0.3 });
    expect(fromStrength(0.5).rotation).toBeCloseTo(7.5, 12);
    expect(fromStrength(7)).toEqual(full);
    expect(validateAugmentation(full).ok).toBe(true);
  });
});
