// Data-fit proposals: photos or few images per class get transfer learning on a catalog backbone,
// small grayscale images the small CNN at their own size, each with its reasons.
import { describe, expect, it } from 'vitest';
import { FEW_PER_CLASS, isGrayscaleRgba, profileData, proposeSettings } from '../../src/lib/train/proposals';

const samples = (classes: number, perClass: number, side: number) =>
  Array.from({ length: classes * perClass }, (_, i) => ({ label: `c${i % classes}`, width: side, height: side + 10 }));

describe('isGrayscaleRgba', () => {
  it('tells gray from colour, tolerating a little chroma noise', () => {
    const gray = new Uint8Array(400).map((_, i) => (i % 4 === 3 ? 255 : 120 + (i % 3)));
    expect(isGrayscaleRgba(gray)).toBe(true);
    const red = new Uint8Array(400).map((_, i) => [200, 20, 20, 255][i % 4]);
    expect(isGrayscaleRgba(red)).toBe(false);
  });
});

describe('profileData', () => {
  it('counts labeled images per class and takes the median shorter side', () => {
    const p = profileData(
      [...samples(2, 3, 40), { label: null, width: 999, height: 999 }, { label: 'c0', width: 300, height: 200 }],
      [true, false],
    );
    expect(p.perClass).toEqual([
      { label: 'c0', count: 4 },
      { label: 'c1', count: 3 },
    ]);
    expect(p.medianSide).toBe(40);
    expect(p).toMatchObject({ colourSampled: 2, grayscaleSampled: 1 });
  });
});

describe('proposeSettings', () => {
  it('photos, 15 per class: transfer on MobileNet v2 first, with its reasons', () => {
    const [first, ...rest] = proposeSettings(profileData(samples(3, 15, 160), Array(12).fill(false)));
    expect(first.kind).toBe('transfer');
    expect(first.catalogId).toBe('mobilenet-v2-0.35-224');
    expect(first.reasons.join(' ')).toMatch(/12 of 12 images checked are in colour.*160 px.*photos/);
    expect(first.reasons.join(' ')).toMatch(/smallest class has 15 images \(under 50\)/);
    expect(first.settings).toMatchObject({ learningRate: 0.001, batchSize: 16 });
    expect(rest).toEqual([]);
  });

  it('small grayscale images: the small CNN at their own size (32 px trains at 32)', () => {
    const [first, second] = proposeSettings(profileData(samples(10, 200, 32), Array(24).fill(true)));
    expect(first.kind).toBe('small-cnn');
    expect(first.settings).toMatchObject({ architecture: 'cnn', inputSize: 32, channels: 1, backboneId: null });
    expect(first.reasons.join(' ')).toMatch(/24 of 24 images checked are grayscale.*32 px/);
    expect(second).toBeUndefined();
  });

  it('few small grayscale images: the CNN first, the grayscale backbone as an alternative', () => {
    const out = proposeSettings(profileData(samples(3, 10, 28), Array(10).fill(true)));
    expect(out.map((p) => p.kind)).toEqual(['small-cnn', 'transfer']);
    expect(out[1].catalogId).toBe('mobilenet-v1-0.25-96-gray');
  });

  it('many colour photos: transfer first, a colour CNN as the alternative', () => {
    const out = proposeSettings(profileData(samples(2, FEW_PER_CLASS + 10, 500), Array(8).fill(false)));
    expect(out.map((p) => p.kind)).toEqual(['transfer', 'small-cnn']);
    expect(out[1].settings).toMatchObject({ channels: 3, inputSize: 96 });
  });

  it('proposes nothing without two labeled classes', () => {
    expect(proposeSettings(profileData(samples(1, 20, 64), []))).toEqual([]);
    expect(proposeSettings(profileData([], []))).toEqual([]);
  });
});
