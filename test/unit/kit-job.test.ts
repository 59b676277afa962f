// The kit's pure pieces: .npy encoding, job.json validation, out/ metadata reading and the
// project / dataset version / classes checks an import makes before storing anything.
import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy, npyHeader } from '../../src/lib/kit/npy';
import {
  kitHyperparameters,
  kitImagePath,
  kitMismatch,
  readKitResult,
  trainedOnText,
  validateKitJob,
  type KitJob,
} from '../../src/lib/kit/job';
import { DEFAULT_SETTINGS } from '../../src/lib/train/train-config';
import { NO_AUGMENTATION } from '../../src/lib/augment/spec';

const HEX = 'a'.repeat(64);
function job(over: Partial<KitJob> = {}): KitJob {
  return {
    kind: 'trainyard-training-kit',
    formatVersion: 1,
    jobId: 'job-1',
    createdAt: '2026-12-07T00:00:00Z',
    project: { id: 'p1', name: 'Digits' },
    dataset: { versionId: HEX, number: 2, contentHash: 'b'.repeat(64), counts: { train: 7, val: 2, test: 1 } },
    classes: ['cat', 'dog'],
    preprocess: { inputSize: 28, channels: 1, resize: 'pad', background: [0, 0, 0], layout: 'NHWC uint8', scale: '0..1' },
    augmentation: { ...NO_AUGMENTATION },
    seed: 42,
    hyperparameters: { optimizer: 'adam', learningRate: 0.002, batchSize: 64, epochs: 2, momentum: 0.9, earlyStoppingPatience: 0 },
    architecture: { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 2, dropout: 0.25 },
    tfjs: {
      modelTopology: { class_name: 'Sequential' },
      weights: [{ name: 'd/kernel', shape: [2, 2], dtype: 'float32' }],
      initialWeights: 'init/weights.bin',
    },
    app: { version: '0.1.0', tfjsVersion: '4.22.0' },
    files: { 'data/train_x.npy': { bytes: 10, sha256: HEX } },
    ...over,
  };
}

describe('npy', () => {
  it('writes a header NumPy reads: magic, version 1.0, 64-byte aligned, shape tuple', () => {
    const h = npyHeader('uint8', [3, 28, 28, 1]);
    expect(h.length % 64).toBe(0);
    const text = new TextDecoder().decode(h.subarray(10));
    expect(text).toMatch(/^\{'descr': '\|u1', 'fortran_order': False, 'shape': \(3, 28, 28, 1\), \} *\n$/);
    expect(new TextDecoder().decode(npyHeader('int32', [5]).subarray(10))).toContain("'shape': (5,)");
  });

  it('round-trips uint8 and int32 arrays and refuses a wrong shape', () => {
    const x = new Uint8Array([0, 1, 2, 255, 7, 9]);
    const back = decodeNpy(encodeNpy(x, [2, 3]));
    expect(back).toMatchObject({ dtype: 'uint8', shape: [2, 3] });
    expect([...back.data]).toEqual([...x]);
    const y = new Int32Array([3, -1, 70000]);
    expect([...decodeNpy(encodeNpy(y, [3])).data]).toEqual([3, -1, 70000]);
    expect(() => encodeNpy(x, [4, 2])).toThrow(/holds 8 values/);
  });
});

describe('job.json', () => {
  it('accepts a well-formed job', () => {
    expect(validateKitJob(job())).toEqual({ ok: true, job: job() });
  });

  it('names every problem of a bad job', () => {
    const bad = {
      ...job(),
      kind: 'other',
      formatVersion: 9,
      classes: ['a', 'a'],
      seed: -1,
      augmentation: { rotation: 500 },
      hyperparameters: { ...job().hyperparameters, learningRate: 0, optimizer: 'lion' },
    };
    const r = validateKitJob(bad);
    expect(r.ok).toBe(false);
    const errors = (r as { errors: string[] }).errors.join('\n');
    for (const part of [
      "kind must be 'trainyard-training-kit'",
      'formatVersion 9',
      'classes must list',
      'seed',
      'rotation',
      'learningRate',
      'optimizer',
    ])
      expect(errors).toContain(part);
    expect(validateKitJob('[]')).toEqual({ ok: false, errors: ['job.json must be an object'] });
    expect(validateKitJob({ ...job(), architecture: { ...job().architecture, numClasses: 3 } })).toMatchObject({
      ok: false,
      errors: ['architecture.numClasses must equal the number of classes'],
    });
    expect(validateKitJob({ ...job(), tfjs: { ...job().tfjs, weights: [{ name: 'x', shape: [-1], dtype: 'float32' }] } }).ok).toBe(false);
  });

  it("carries the app's schedule around early stopping, and refuses a malformed one", () => {
    // The Train stage's defaults: patience 4, so the rate halves after 2 epochs without improvement, down to 1/16, and the best epoch is kept.
    expect(kitHyperparameters(DEFAULT_SETTINGS)).toEqual({
      optimizer: 'adam',
      learningRate: 0.002,
      batchSize: 64,
      epochs: 20,
      momentum: 0.9,
      earlyStoppingPatience: 4,
      reduceOnPlateau: { patience: 2, factor: 0.5, minLearningRate: 0.002 / 16 },
      keepBestEpoch: true,
    });
    expect(kitHyperparameters({ ...DEFAULT_SETTINGS, earlyStoppingPatience: 0 })).toMatchObject({
      reduceOnPlateau: null,
      keepBestEpoch: false,
    });
    expect(kitHyperparameters({ ...DEFAULT_SETTINGS, earlyStoppingPatience: 2 })).toMatchObject({
      reduceOnPlateau: null,
      keepBestEpoch: true,
    });
    expect(validateKitJob(job({ hyperparameters: kitHyperparameters(DEFAULT_SETTINGS) })).ok).toBe(true);
    const bad = validateKitJob(
      job({
        hyperparameters: {
          ...job().hyperparameters,
          reduceOnPlateau: { patience: 0, factor: 2, minLearningRate: -1 },
          keepBestEpoch: 'yes' as unknown as boolean,
        },
      }),
    );
    expect(bad).toEqual({
      ok: false,
      errors: [
        'hyperparameters.reduceOnPlateau must be null or {patience >= 1, 0 < factor < 1, minLearningRate >= 0}',
        'hyperparameters.keepBestEpoch must be true or false',
      ],
    });
  });
});

describe('out/ checks', () => {
  const trainedOn = { framework: 'PyTorch', version: '1.13.1', devices: 2, device: 'CPU', backend: 'gloo' };
  const metadata = { labels: ['cat', 'dog'], userMetadata: { trainyard: { kit: { jobId: 'job-1', weightsSha256: HEX, trainedOn } } } };
  const metrics = { jobId: 'job-1', testAccuracy: 0.9, testCount: 10, epochs: 2, history: [], imagesPerSecond: 500, onnx: 'model.onnx' };

  it('reads what the kit wrote, and says "PyTorch <version>, <N> x <device>"', () => {
    const r = readKitResult(metadata, metrics);
    expect(r).toMatchObject({ jobId: 'job-1', testAccuracy: 0.9, epochs: 2, onnx: 'model.onnx' });
    expect(trainedOnText((r as { trainedOn: typeof trainedOn }).trainedOn)).toBe('PyTorch 1.13.1, 2 x CPU');
  });

  it('refuses a plain model, metrics of another job, or an impossible accuracy', () => {
    expect(readKitResult({ labels: [] }, metrics)).toMatch(/not the output of a Trainyard training kit/);
    expect(readKitResult(metadata, { ...metrics, jobId: 'job-2' })).toMatch(/belongs to job job-2/);
    expect(readKitResult(metadata, { ...metrics, testAccuracy: 3 })).toMatch(/testAccuracy/);
  });

  it('refuses another project, a missing dataset version, and different classes', () => {
    const version = { id: HEX, projectId: 'p1', number: 2, classes: ['cat', 'dog'] };
    expect(kitMismatch(job(), 'p1', version, ['cat', 'dog'])).toBeNull();
    expect(kitMismatch(job(), 'p2', version, ['cat', 'dog'])).toMatch(/another project \(“Digits”\)/);
    expect(kitMismatch(job(), 'p1', undefined, ['cat', 'dog'])).toMatch(/v2\b.* is not in this project/);
    expect(kitMismatch(job(), 'p1', { ...version, classes: ['cat', 'cow'] }, ['cat', 'dog'])).toMatch(
      /classes \(cat, dog\) differ from dataset v2's \(cat, cow\)/,
    );
    expect(kitMismatch(job(), 'p1', version, ['dog', 'cat'])).toMatch(/labels \(dog, cat\) differ/);
  });

  it('image paths stay inside images/<split>/<class>/', () => {
    expect(kitImagePath('train', '../evil', 'abcdef0123456789', 'a/../../x.png')).toBe('images/train/.._evil/abcdef012345-x.png');
    expect(kitImagePath('test', '..', 'abcdef0123456789', 'C:\\pics\\7.png')).toBe('images/test/_/abcdef012345-7.png');
  });
});
