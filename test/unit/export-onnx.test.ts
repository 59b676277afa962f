// ONNX export checked by a real ONNX runtime (onnxruntime-node): for every architecture the app
// trains, the ONNX model's probabilities match TF.js's within 1e-4 on the same inputs.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { mulberry32 } from '../../src/lib/ml/random';
import { layersModelToOnnx, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT } from '../../src/lib/export/onnx/to-onnx';
import { onnx } from '../../src/lib/export/onnx/onnx-pb.js';
import { UnsupportedLayerError } from '../../src/lib/export/unsupported';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

/** Batch norm stats and biases that are not the initial 0/1, so a wrong mapping shows. */
function perturb(model: tf.LayersModel, seed: number): void {
  const rand = mulberry32(seed);
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (!ws.length) continue;
    const next = ws.map((w, i) => {
      const name = layer.weights[i].originalName;
      const vals = w.dataSync().slice() as Float32Array;
      if (/moving_variance$/.test(name)) for (let j = 0; j < vals.length; j++) vals[j] = 0.5 + rand();
      else if (/(moving_mean|beta|bias)$/.test(name)) for (let j = 0; j < vals.length; j++) vals[j] = (rand() - 0.5) * 0.4;
      else if (/gamma$/.test(name)) for (let j = 0; j < vals.length; j++) vals[j] = 0.5 + rand();
      return tf.tensor(vals, w.shape);
    });
    layer.setWeights(next);
    next.forEach((t) => t.dispose());
  }
}

async function compare(model: tf.LayersModel, labels: string[], n = 6, seed = 7): Promise<{ maxDiff: number; agree: number }> {
  const bytes = layersModelToOnnx(model, { labels, metadata: { normalization: '0..1' } });
  const session = await ort.InferenceSession.create(bytes);
  try {
    expect(session.inputNames).toEqual([ONNX_INPUT]);
    expect(session.outputNames).toEqual([ONNX_OUTPUT]);
    const shape = [n, ...(model.inputs[0].shape.slice(1) as number[])];
    const rand = mulberry32(seed);
    const data = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand());
    const expected = tf.tidy(() => (model.predict(tf.tensor(data, shape)) as tf.Tensor).dataSync() as Float32Array);
    const out = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', data, shape) });
    const got = out[ONNX_OUTPUT].data as Float32Array;
    expect(out[ONNX_OUTPUT].dims).toEqual([n, labels.length]);
    let maxDiff = 0;
    let agree = 0;
    const k = labels.length;
    for (let i = 0; i < n; i++) {
      let a = 0;
      let b = 0;
      for (let j = 0; j < k; j++) {
        maxDiff = Math.max(maxDiff, Math.abs(got[i * k + j] - expected[i * k + j]));
        if (got[i * k + j] > got[i * k + a]) a = j;
        if (expected[i * k + j] > expected[i * k + b]) b = j;
      }
      if (a === b) agree++;
    }
    return { maxDiff, agree: agree / n };
  } finally {
    await session.release();
  }
}

const labelsFor = (k: number) => Array.from({ length: k }, (_, i) => `class ${i}`);

describe('ONNX export', () => {
  const cases: Array<[string, ArchitectureConfig]> = [
    ['small CNN (digits)', { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25, filters: 16 }],
    ['small CNN, odd size, RGB', { kind: 'cnn', inputSize: 37, channels: 3, numClasses: 3, dropout: 0, filters: 4 }],
    [
      'MobileNet-style (depthwise + batch norm)',
      { kind: 'mobilenet', inputSize: 32, channels: 3, numClasses: 4, dropout: 0.2, widthMultiplier: 0.25 },
    ],
    ['MLP', { kind: 'mlp', inputSize: 12, channels: 1, numClasses: 5, dropout: 0.2, hidden: [32, 16] }],
    ['transfer head on embeddings', { kind: 'head', embeddingSize: 40, numClasses: 3, dropout: 0, hidden: 16 }],
  ];
  for (const [title, config] of cases) {
    it(`${title}: probabilities within 1e-4 of TF.js`, async () => {
      const model = buildModel(config, 11);
      try {
        perturb(model, 3);
        const { maxDiff, agree } = await compare(model, labelsFor(config.numClasses));
        expect(maxDiff).toBeLessThan(1e-4);
        expect(agree).toBe(1);
      } finally {
        model.dispose();
      }
    }, 60_000);
  }

  it('a head on a functional layers backbone (zero padding, ReLU6, separable conv, add, concat, reshape)', async () => {
    const input = tf.input({ shape: [20, 20, 3] });
    let x = tf.layers
      .zeroPadding2d({
        padding: [
          [1, 0],
          [0, 1],
        ],
        name: 'pad',
      })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'valid', name: 'stem' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ name: 'stem_bn' }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU({ maxValue: 6, name: 'stem_relu' }).apply(x) as tf.SymbolicTensor;
    const a = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2, name: 'dw' }).apply(x) as tf.SymbolicTensor;
    const b = tf.layers
      .separableConv2d({ filters: 16, kernelSize: 3, padding: 'same', name: 'sep', activation: 'relu' })
      .apply(x) as tf.SymbolicTensor;
    let y = tf.layers.add({ name: 'sum' }).apply([a, b]) as tf.SymbolicTensor;
    y = tf.layers
      .concatenate({ name: 'cat' })
      .apply([y, tf.layers.leakyReLU({ alpha: 0.1, name: 'leaky' }).apply(a) as tf.SymbolicTensor]) as tf.SymbolicTensor;
    y = tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'avg' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.reshape({ targetShape: [5 * 5, 32], name: 'rs' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.flatten({ name: 'trainyard_head_flatten' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.dense({ units: 12, activation: 'relu', name: 'trainyard_head_0' }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.dense({ units: 3, activation: 'softmax', name: 'trainyard_head_1' }).apply(y) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y, name: 'trainyard_transfer' });
    try {
      perturb(model, 5);
      const { maxDiff, agree } = await compare(model, ['a', 'b', 'c']);
      expect(maxDiff).toBeLessThan(1e-4);
      expect(agree).toBe(1);
    } finally {
      model.dispose();
    }
  }, 60_000);

  it('writes a current opset, named input/output and the class labels in metadata_props', () => {
    const model = buildModel({ kind: 'mlp', inputSize: 4, channels: 1, numClasses: 2, dropout: 0, hidden: [] }, 1);
    try {
      const bytes = layersModelToOnnx(model, { labels: ['cat', 'dog'], metadata: { normalization: '0..1' } });
      const decoded = onnx.ModelProto.decode(bytes);
      expect(Number(decoded.opsetImport[0].version)).toBe(ONNX_OPSET);
      expect(ONNX_OPSET).toBeGreaterThanOrEqual(23);
      expect(decoded.graph?.input?.[0]?.name).toBe(ONNX_INPUT);
      expect(decoded.graph?.output?.[0]?.name).toBe(ONNX_OUTPUT);
      const props = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
      expect(JSON.parse(props.labels)).toEqual(['cat', 'dog']);
      expect(props.normalization).toBe('0..1');
    } finally {
      model.dispose();
    }
  });

  it('names the layer it cannot express (and the format)', () => {
    const input = tf.input({ shape: [10, 4] });
    const y = tf.layers.conv1d({ filters: 2, kernelSize: 3, name: 'my_conv1d' }).apply(input) as tf.SymbolicTensor;
    const out = tf.layers
      .dense({ units: 2, activation: 'softmax' })
      .apply(tf.layers.flatten().apply(y) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    try {
      let caught: unknown;
      try {
        layersModelToOnnx(model, { labels: ['a', 'b'] });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(UnsupportedLayerError);
      expect((caught as UnsupportedLayerError).layerName).toBe('my_conv1d');
      expect((caught as UnsupportedLayerError).format).toBe('ONNX');
      expect((caught as Error).message).toMatch(/ONNX cannot express layer "my_conv1d" \(Conv1D\)/);
    } finally {
      model.dispose();
    }
  });
});
