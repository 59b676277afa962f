// TFLite export, checked by the real TFLite interpreter (the official WASM build from
// @tensorflow/tfjs-tflite, run in Node) against TF.js on the same inputs, for every architecture
// the app trains: small CNN and MLP on MNIST digits, the MobileNet-style net (depthwise conv,
// batch norm folded into the conv, relu6, global average pooling) on a synthetic stripes/blobs
// task, and a transfer head on a layers backbone (cut model + head, nested models). float32 must
// match within 1e-4; int8 must agree on top-1 for >= 98% of the test inputs and lose at most one
// accuracy point, with calibration drawn from the training inputs only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '../../src/lib/ml/wasm-training';
import { buildModel, defaultArchitecture } from '../../src/lib/ml/architectures';
import { mulberry32, shuffleInPlace } from '../../src/lib/ml/random';
import { convertToTflite, exportTflite } from '../../src/lib/export/tflite/index';
import { lowerModel } from '../../src/lib/export/tflite/graph';
import { evaluateGraph } from '../../src/lib/export/tflite/evaluate';
import { UnsupportedLayerError } from '../../src/lib/export/unsupported';
import { loadTflite } from '../tflite-runtime';
import { preciseBatchNorm, tfliteAgreement, tfjsProbabilities, measureTflite, type LabelledSet } from '../../bench/tflite-agreement';

const require = createRequire(import.meta.url);

interface Split {
  train: LabelledSet;
  test: LabelledSet;
}

/** MNIST digits from the `mnist` package: the first `train` and the next `test` images of each digit. */
function digits(train: number, test: number): Split {
  const pick = (from: number, count: number): LabelledSet => {
    const x = new Float32Array(10 * count * 784);
    const y: number[] = [];
    for (let d = 0; d < 10; d++) {
      const data = (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data;
      x.set(data.slice(from * 784, (from + count) * 784), d * count * 784);
      for (let i = 0; i < count; i++) y.push(d);
    }
    return { x, y };
  };
  return { train: pick(0, train), test: pick(train, test) };
}

/** 32×32 RGB: horizontal stripes, vertical stripes, or a bright square, on coloured noise. */
function stripes(count: number, seed: number): LabelledSet {
  const rand = mulberry32(seed);
  const S = 32;
  const x = new Float32Array(count * S * S * 3);
  const y: number[] = [];
  for (let n = 0; n < count; n++) {
    const cls = n % 3;
    y.push(cls);
    const period = 4 + Math.floor(rand() * 5);
    const phase = Math.floor(rand() * period);
    const color = [rand(), rand(), rand()].map((c) => 0.4 + 0.6 * c);
    const bx = Math.floor(rand() * 20);
    const by = Math.floor(rand() * 20);
    for (let r = 0; r < S; r++)
      for (let c = 0; c < S; c++) {
        let on: boolean;
        if (cls === 0) on = (r + phase) % period < period / 2;
        else if (cls === 1) on = (c + phase) % period < period / 2;
        else on = r >= by && r < by + 12 && c >= bx && c < bx + 12;
        for (let k = 0; k < 3; k++)
          x[((n * S + r) * S + c) * 3 + k] = Math.min(1, Math.max(0, (on ? color[k] : 0.1) + (rand() - 0.5) * 0.3));
      }
  }
  return { x, y };
}

function oneHot(y: number[], classes: number): tf.Tensor2D {
  return tf.oneHot(tf.tensor1d(y, 'int32'), classes).toFloat() as tf.Tensor2D;
}

async function train(model: tf.LayersModel, set: LabelledSet, classes: number, epochs: number, lr = 0.005): Promise<void> {
  model.compile({ optimizer: tf.train.adam(lr), loss: 'categoricalCrossentropy' });
  const shape = model.inputs[0].shape.slice(1) as number[];
  const per = shape.reduce((a, b) => a * b, 1);
  // One seeded order instead of fit's Math.random shuffle, so runs repeat.
  const order = shuffleInPlace(
    set.y.map((_, i) => i),
    mulberry32(99),
  );
  const x = new Float32Array(set.x.length);
  order.forEach((r, i) => x.set(set.x.subarray(r * per, (r + 1) * per), i * per));
  const xs = tf.tensor(x, [set.y.length, ...shape]);
  const ys = oneHot(
    order.map((r) => set.y[r]),
    classes,
  );
  await model.fit(xs, ys, { epochs, batchSize: 16, shuffle: false, verbose: 0 });
  xs.dispose();
  ys.dispose();
}

/** Every k-th training input: the calibration batch (training split only, never test). */
function calibrationFrom(set: LabelledSet, per: number, count: number): Float32Array {
  const n = set.y.length;
  const step = Math.max(1, Math.floor(n / count));
  const out = new Float32Array(Math.min(count, Math.ceil(n / step)) * per);
  for (let i = 0, j = 0; j * per < out.length; i += step, j++) out.set(set.x.subarray(i * per, (i + 1) * per), j * per);
  return out;
}

async function expectAgreement(model: tf.LayersModel, split: Split) {
  const per = (model.inputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const r = await tfliteAgreement(model, split.test, calibrationFrom(split.train, per, 120));
  for (const v of [r.float32, r.int8]) {
    console.log(
      `${model.name} ${v.quantization}: ${v.bytes} B, max diff ${v.maxProbDiff.toExponential(2)}, top-1 ${(v.top1Agreement * 100).toFixed(1)}%, acc ${(v.accuracyTfjs * 100).toFixed(1)}% → ${(v.accuracyTflite * 100).toFixed(1)}%`,
    );
  }
  expect(r.float32.maxProbDiff).toBeLessThan(1e-4);
  expect(r.float32.top1Agreement).toBe(1);
  expect(r.int8.top1Agreement).toBeGreaterThanOrEqual(0.98);
  expect(r.int8.accuracyDrop).toBeLessThanOrEqual(0.01);
  // int8 weights: the file is roughly a quarter of the float one.
  expect(r.int8.bytes).toBeLessThan(r.float32.bytes * 0.4);
  return r;
}

// Training runs on the WASM backend with the app's training kernels (25x faster than the CPU
// backend in Node); the TF.js reference probabilities come from the same backend.
beforeAll(async () => {
  setWasmPaths(`${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`);
  registerWasmTrainingKernels();
  expect(await tf.setBackend('wasm')).toBe(true);
}, 60_000);

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('TFLite export, run by the real TFLite interpreter', () => {
  const mnistSplit = digits(40, 20);

  // Trained once: checked here, then the backbone of the transfer test (as a stored layers model would be).
  let cnn: tf.LayersModel;

  it('small CNN (conv2d, maxpool, flatten, dense, dropout, relu, softmax) on digits', async () => {
    cnn = buildModel(defaultArchitecture('cnn', 10), 11);
    await train(cnn, mnistSplit.train, 10, 3);
    const r = await expectAgreement(cnn, mnistSplit);
    expect(r.float32.accuracyTfjs).toBeGreaterThan(0.7); // a trained model, not a constant one
  }, 120_000);

  it('MLP on digits', async () => {
    tf.engine().startScope();
    const model = buildModel(defaultArchitecture('mlp', 10), 12);
    await train(model, mnistSplit.train, 10, 8);
    const r = await expectAgreement(model, mnistSplit);
    expect(r.float32.accuracyTfjs).toBeGreaterThan(0.7);
    tf.engine().endScope();
  }, 60_000);

  it('MobileNet-style (depthwise, batch norm folded, relu6, global average pooling)', async () => {
    tf.engine().startScope();
    const model = buildModel({ kind: 'mobilenet', inputSize: 32, channels: 3, numClasses: 3, dropout: 0, widthMultiplier: 0.25 }, 13);
    const split = { train: stripes(240, 1), test: stripes(150, 2) };
    await train(model, split.train, 3, 10, 0.01);
    preciseBatchNorm(model, split.train.x, split.train.y.length);
    const r = await expectAgreement(model, split);
    expect(r.float32.accuracyTfjs).toBeGreaterThan(0.6);
    // Batch norm is folded and relu6 fused: no MUL/ADD/RELU6 ops left, one op per conv.
    const ex = await convertToTflite(model, { quantization: 'float32' });
    expect(ex.operators).toBe(1 + 13 * 2 + 1 + 1 + 1); // stem, 13 dw+pw blocks, mean, dense, softmax
    tf.engine().endScope();
  }, 180_000);

  it('transfer head on a layers backbone (cut before the classifier, head trained on embeddings)', async () => {
    tf.engine().startScope();
    // As workers/ml/transfer.ts does: cut the backbone at its embedding (Dense 64 here), train a
    // head on the embeddings, then build one model from the cut and fresh copies of the head.
    const cut = tf.model({ inputs: cnn.inputs, outputs: cnn.layers[cnn.layers.length - 3].output as tf.SymbolicTensor });
    const head = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [64], units: 100, activation: 'relu' }),
        tf.layers.dropout({ rate: 0.2 }),
        tf.layers.dense({ units: 10, activation: 'softmax' }),
      ],
    });
    const emb = cut.predict(tf.tensor(mnistSplit.train.x, [mnistSplit.train.y.length, 28, 28, 1])) as tf.Tensor2D;
    head.compile({ optimizer: tf.train.adam(0.005), loss: 'categoricalCrossentropy' });
    await head.fit(emb, oneHot(mnistSplit.train.y, 10), { epochs: 20, batchSize: 32, verbose: 0 });
    let y = cut.outputs[0];
    head.layers.forEach((layer, i) => {
      const Cls = layer.constructor as new (config: object) => tf.layers.Layer;
      const clone = new Cls({ ...layer.getConfig(), name: `trainyard_head_${i}` });
      y = clone.apply(y) as tf.SymbolicTensor;
      clone.setWeights(layer.getWeights());
    });
    const combined = tf.model({ inputs: cut.inputs, outputs: y, name: 'trainyard_transfer' });
    const r = await expectAgreement(combined, mnistSplit);
    expect(r.float32.accuracyTfjs).toBeGreaterThan(0.7);
    tf.engine().endScope();
  }, 120_000);

  it('a Teachable-Machine-shaped backbone: nested Sequential, ZeroPadding2D, valid strided conv, ReLU(6) layers', async () => {
    tf.engine().startScope();
    const rand = mulberry32(21);
    const inner = tf.sequential({
      name: 'backbone_inner',
      layers: [
        tf.layers.zeroPadding2d({
          inputShape: [28, 28, 1],
          padding: [
            [0, 1],
            [0, 1],
          ],
        }),
        tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }),
        tf.layers.batchNormalization({}),
        tf.layers.reLU({ maxValue: 6 }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false }),
        tf.layers.batchNormalization({ center: false }),
        tf.layers.reLU({ maxValue: 6 }),
        tf.layers.conv2d({ filters: 16, kernelSize: 1, padding: 'same', activation: 'relu' }),
        tf.layers.averagePooling2d({ poolSize: 2 }),
        tf.layers.globalMaxPooling2d({}),
      ],
    });
    for (const layer of inner.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      layer.setWeights(
        layer.getWeights().map((w) =>
          tf.tensor(
            Float32Array.from({ length: w.size }, () => 0.5 + rand()),
            w.shape,
          ),
        ),
      );
    }
    const model = tf.sequential({ layers: [inner, tf.layers.dense({ units: 10, activation: 'softmax' })] });
    const set = { x: mnistSplit.test.x.subarray(0, 40 * 784), y: mnistSplit.test.y.slice(0, 40) };
    const reference = tfjsProbabilities(model, set);
    const float = await measureTflite(model, set, reference, 'float32');
    expect(float.maxProbDiff).toBeLessThan(1e-4);
    const int8 = await measureTflite(model, set, reference, 'int8', calibrationFrom(mnistSplit.train, 784, 50));
    expect(int8.maxProbDiff).toBeLessThan(0.1); // untrained weights: only that the int8 graph runs and tracks
    tf.engine().endScope();
  }, 60_000);

  it('int8 with float input/output (QUANTIZE/DEQUANTIZE at the ends) matches too', async () => {
    tf.engine().startScope();
    const model = buildModel(defaultArchitecture('mlp', 10), 14);
    await train(model, mnistSplit.train, 10, 6);
    const calibration = calibrationFrom(mnistSplit.train, 784, 64);
    const ex = await convertToTflite(model, { quantization: 'int8', calibration, io: 'float32' });
    expect(ex.input.type).toBe('float32');
    const interpreter = await loadTflite(ex.bytes);
    expect(interpreter.input.dataType).toBe('float32');
    const ref = tfjsProbabilities(model, mnistSplit.test);
    let agree = 0;
    for (let i = 0; i < mnistSplit.test.y.length; i++) {
      const out = interpreter.run(mnistSplit.test.x.subarray(i * 784, (i + 1) * 784));
      let a = 0;
      let b = 0;
      for (let k = 1; k < 10; k++) {
        if (out[k] > out[a]) a = k;
        if (ref[i * 10 + k] > ref[i * 10 + b]) b = k;
      }
      if (a === b) agree++;
    }
    interpreter.close();
    expect(agree / mnistSplit.test.y.length).toBeGreaterThanOrEqual(0.98);
    tf.engine().endScope();
  }, 60_000);
});

describe('TFLite export: the file and its refusals', () => {
  it('int8 model is full-integer with int8 input and output and a TFL3 identifier', async () => {
    const model = buildModel(defaultArchitecture('cnn', 4, 16), 3);
    const per = 16 * 16;
    const rand = mulberry32(5);
    const calibration = Float32Array.from({ length: 20 * per }, () => rand());
    const ex = await convertToTflite(model, { quantization: 'int8', calibration, calibrationShape: [20, 16, 16, 1] });
    expect(new TextDecoder().decode(ex.bytes.subarray(4, 8))).toBe('TFL3');
    expect(ex.input).toMatchObject({ type: 'int8', shape: [1, 16, 16, 1] });
    // 0..1 inputs: scale 1/255 and zero point -128 (within calibration noise).
    expect(ex.input.scale!).toBeGreaterThan(0.9 / 255);
    expect(ex.input.scale!).toBeLessThanOrEqual(1 / 255 + 1e-9);
    expect(ex.input.zeroPoint).toBe(-128);
    expect(ex.output).toMatchObject({ type: 'int8', scale: 1 / 256, zeroPoint: -128 });
    const interpreter = await loadTflite(ex.bytes);
    expect(interpreter.input).toEqual({ shape: [1, 16, 16, 1], dataType: 'int8' });
    expect(interpreter.output).toEqual({ shape: [1, 4], dataType: 'int8' });
    interpreter.close();
    // Same bytes through the entry point the Export dialog uses.
    expect(await exportTflite(model, { quantization: 'int8', calibration })).toEqual(ex.bytes);
    model.dispose();
  });

  it('the lowered graph reproduces TF.js before any file is written (batch norm folded)', () => {
    const model = buildModel({ kind: 'mobilenet', inputSize: 32, channels: 3, numClasses: 3, dropout: 0, widthMultiplier: 0.25 }, 4);
    // Non-trivial batch-norm statistics, as after training.
    const rand = mulberry32(9);
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      layer.setWeights(
        layer.getWeights().map((w, i) =>
          tf.tensor(
            Float32Array.from({ length: w.size }, () => (i === 3 ? 0.5 + rand() : i === 2 ? rand() - 0.5 : 0.5 + rand())),
            w.shape,
          ),
        ),
      );
    }
    const x = Float32Array.from({ length: 4 * 32 * 32 * 3 }, () => rand());
    const graph = lowerModel(model);
    expect(graph.ops.some((op) => op.kind === 'affine')).toBe(false);
    const ours = evaluateGraph(graph, x, 4);
    const ref = tfjsProbabilities(model, { x, y: [0, 0, 0, 0] });
    for (let i = 0; i < ref.length; i++) expect(Math.abs(ours[i] - ref[i])).toBeLessThan(1e-5);
    model.dispose();
  });

  it('names the layer it cannot express, and writes nothing', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [8], units: 4, activation: 'relu' }),
        tf.layers.dense({ units: 3, activation: 'elu', name: 'odd_activation' }),
      ],
    });
    const err = await exportTflite(model, { quantization: 'float32' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedLayerError);
    expect((err as UnsupportedLayerError).layerName).toBe('odd_activation');
    expect((err as UnsupportedLayerError).format).toBe('TFLite');
    expect((err as Error).message).toContain('"elu"');
    const lstm = tf.sequential({ layers: [tf.layers.lstm({ inputShape: [5, 2], units: 3, name: 'recurrent' })] });
    await expect(exportTflite(lstm, { quantization: 'float32' })).rejects.toMatchObject({
      name: 'UnsupportedLayerError',
      layerName: 'recurrent',
      layerClass: 'LSTM',
    });
    model.dispose();
    lstm.dispose();
  });

  it('refuses int8 without usable calibration data', async () => {
    const model = buildModel(defaultArchitecture('mlp', 3, 8), 2);
    await expect(exportTflite(model, { quantization: 'int8' })).rejects.toThrow(/calibration samples from the training split/);
    await expect(exportTflite(model, { quantization: 'int8', calibration: new Float32Array(64 * 3) })).rejects.toThrow(
      /at least 8 samples/,
    );
    await expect(exportTflite(model, { quantization: 'int8', calibration: new Float32Array(64 * 10 + 1) })).rejects.toThrow(/whole number/);
    await expect(
      exportTflite(model, { quantization: 'int8', calibration: new Float32Array(64 * 10), calibrationShape: [10, 8, 8, 3] }),
    ).rejects.toThrow(/does not match the model input/);
    await expect(
      exportTflite(model, { quantization: 'int8', calibration: Float32Array.from({ length: 640 }, (_, i) => (i === 5 ? NaN : 0)) }),
    ).rejects.toThrow(/not a finite number/);
    await expect(exportTflite(model, { quantization: 'int4' as 'int8' })).rejects.toThrow(/Unknown TFLite quantization/);
    model.dispose();
  });

  it('measureTflite reports sizes and timings', async () => {
    const model = buildModel(defaultArchitecture('head', 3, 12), 2);
    const rand = mulberry32(3);
    const set = { x: Float32Array.from({ length: 12 * 10 }, () => rand()), y: Array.from({ length: 10 }, (_, i) => i % 3) };
    const r = await measureTflite(model, set, tfjsProbabilities(model, set), 'float32');
    expect(r.bytes).toBeGreaterThan(4 * (12 * 100 + 100 * 3));
    expect(r.exportMs).toBeGreaterThan(0);
    expect(r.maxProbDiff).toBeLessThan(1e-4);
    model.dispose();
  });
});
