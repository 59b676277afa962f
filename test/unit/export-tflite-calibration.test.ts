// The int8 calibration sampler: training split only, stratified by class, seeded, order-free.
import { describe, expect, it } from 'vitest';
import { pickCalibrationSample, type CalibrationItem } from '../../src/lib/export/tflite/calibration';

function items(): CalibrationItem[] {
  const out: CalibrationItem[] = [];
  // cat: 60 train, dog: 30 train, bird: 10 train; plus val/test/unassigned/unlabelled noise.
  const add = (label: string | null, split: string, n: number) => {
    for (let i = 0; i < n; i++) out.push({ id: `${label ?? 'none'}-${split}-${String(i).padStart(3, '0')}`, label, split });
  };
  add('cat', 'train', 60);
  add('dog', 'train', 30);
  add('bird', 'train', 10);
  add('cat', 'test', 20);
  add('dog', 'val', 20);
  add('bird', 'unassigned', 5);
  add(null, 'train', 7);
  return out;
}

describe('pickCalibrationSample', () => {
  it('takes only labelled training images, in proportion to each class', () => {
    const plan = pickCalibrationSample(items(), 50, 1);
    expect(plan.ids).toHaveLength(50);
    expect(plan.ids.every((id) => id.includes('-train-') && !id.startsWith('none'))).toBe(true);
    expect(new Set(plan.ids).size).toBe(50);
    // 1 each first, then 47 over the remaining room (59/29/9) by largest remainder.
    expect(plan.perClass).toEqual({ bird: 5, cat: 30, dog: 15 });
    expect(plan.ids.filter((id) => id.startsWith('cat')).length).toBe(30);
  });

  it('is the same for the same seed whatever the input order, and changes with the seed', () => {
    const a = pickCalibrationSample(items(), 40, 7);
    const b = pickCalibrationSample([...items()].reverse(), 40, 7);
    const c = pickCalibrationSample(items(), 40, 8);
    expect(b.ids).toEqual(a.ids);
    expect(c.ids).not.toEqual(a.ids);
    expect(c.perClass).toEqual(a.perClass);
  });

  it('gives every class at least one image, and everything when asked for more than there is', () => {
    expect(pickCalibrationSample(items(), 3, 0).perClass).toEqual({ bird: 1, cat: 1, dog: 1 });
    const all = pickCalibrationSample(items(), 1000, 0);
    expect(all.ids).toHaveLength(100);
    expect(all.perClass).toEqual({ bird: 10, cat: 60, dog: 30 });
    expect(pickCalibrationSample(items(), 2, 0).ids).toHaveLength(2);
  });

  it('refuses a bad size and a version with no training images', () => {
    expect(() => pickCalibrationSample(items(), 0)).toThrow(/at least 1/);
    expect(() => pickCalibrationSample(items(), 2.5)).toThrow(/whole number/);
    expect(() =>
      pickCalibrationSample(
        items().filter((i) => i.split !== 'train'),
        10,
      ),
    ).toThrow(/training split/);
  });
});
