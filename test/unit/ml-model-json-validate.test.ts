import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel } from '../../src/lib/ml/architectures';
import { checkWeightPath, validateModelJson, validateWeightBytes, validateWeightValues } from '../../src/lib/ml/model-json-validate';

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const dense = (name: string, units: number) => ({ class_name: 'Dense', config: { name, units, activation: 'relu' } });
function modelJson(
  layers: unknown[],
  weights: unknown[] = [{ name: 'd/kernel', shape: [4, 2], dtype: 'float32' }],
  paths: unknown[] = ['group1-shard1of1.bin'],
) {
  return {
    format: 'layers-model',
    modelTopology: {
      class_name: 'Sequential',
      config: { name: 'seq', layers },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    },
    weightsManifest: [{ paths, weights }],
  };
}
const ok = modelJson([{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 4] } }]);
function reason(json: unknown, opts?: { maxParams?: number }): string {
  const r = validateModelJson(json, opts);
  if (r.ok) throw new Error('expected a rejection');
  return r.reason;
}

describe('validateModelJson: accepts real TF.js models', () => {
  it.each(['cnn', 'mobilenet'] as const)('a %s saved by TF.js itself', async (kind) => {
    const before = tf.memory().numTensors;
    const model = buildModel(
      kind === 'cnn'
        ? { kind, inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25 }
        : { kind, inputSize: 32, channels: 3, numClasses: 4, dropout: 0.2, widthMultiplier: 0.25 },
      1,
    );
    let artifacts: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (a) => {
        artifacts = a;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const json = JSON.parse(
      JSON.stringify({
        format: 'layers-model',
        modelTopology: artifacts!.modelTopology,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts!.weightSpecs }],
      }),
    );
    const r = validateModelJson(json);
    expect(r).toMatchObject({ ok: true, format: 'layers-model', weightFiles: ['group1-shard1of1.bin'] });
    if (!r.ok) return;
    const bytes = (artifacts!.weightData as ArrayBuffer).byteLength;
    expect(r.expectedBytes).toBe(bytes);
    expect(validateWeightBytes(r.expectedBytes, bytes)).toBeNull();
    expect(validateWeightValues(artifacts!.weightData as ArrayBuffer, r.weights)).toBeNull();
    expect(validateModelJson(JSON.stringify(json)).ok).toBe(true); // raw text works too
  });

  it('computes bytes for quantized weights and accepts graph models and Keras model_config', () => {
    const q = validateModelJson(
      modelJson(
        [dense('d', 2)],
        [
          { name: 'a', shape: [10], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.1, min: -1 } },
          { name: 'b', shape: [10], dtype: 'float32', quantization: { dtype: 'uint16', scale: 0.1, min: -1 } },
          { name: 'c', shape: [10], dtype: 'float32', quantization: { dtype: 'float16' } },
          { name: 'd', shape: [2, 5], dtype: 'int32' },
          { name: 'e', shape: [3], dtype: 'bool' },
        ],
      ),
    );
    expect(q).toMatchObject({ ok: true, expectedBytes: 10 + 20 + 20 + 40 + 3 });
    const graph = validateModelJson({ format: 'graph-model', modelTopology: { node: [{ op: 'Const' }] }, weightsManifest: [] });
    expect(graph).toMatchObject({ ok: true, format: 'graph-model', expectedBytes: 0 });
    const keras = {
      modelTopology: {
        model_config: {
          class_name: 'Functional',
          config: {
            layers: [
              { class_name: 'InputLayer', config: { batch_input_shape: [null, 8, 8, 3] } },
              { class_name: 'Rescaling', config: { scale: 1 / 255 } },
              { class_name: 'Sequential', config: { layers: [dense('inner', 4)] } },
            ],
          },
        },
      },
      weightsManifest: [],
    };
    expect(validateModelJson(keras).ok).toBe(true);
  });
});

describe('validateModelJson: model import never fetches', () => {
  it.each([
    'http://evil.example/w.bin',
    'https://evil.example/w.bin',
    'HTTPS://evil.example/w.bin',
    '//evil.example/w.bin',
    '/w.bin',
    '../w.bin',
    'weights/../../w.bin',
    './w.bin',
    'data:application/octet-stream;base64,AAAA',
    'file:///etc/passwd',
    'blob:https://x/1',
    'javascript:alert(1)',
    'C:\\w.bin',
    'a\\b.bin',
    '%2e%2e/w.bin',
    'w.bin?x=1',
    'w.bin#frag',
    'w\u0000.bin',
    '',
    'a//b.bin',
  ])('refuses the weight path %j', (p) => {
    const r = reason(modelJson([dense('d', 2)], undefined, [p]));
    expect(r).toMatch(/weight path/i);
    if (p) expect(r).toMatch(/network request/);
  });

  it('accepts plain relative names, including a sub-folder', () => {
    for (const p of ['group1-shard1of1.bin', 'weights/group1-shard1of2.bin', 'model (1).bin', 'modèle.bin'])
      expect(checkWeightPath(p)).toBeNull();
    expect(checkWeightPath(42)).toMatch(/non-text/);
  });
});

describe('validateModelJson: malformed model.json', () => {
  it.each<[string, unknown, RegExp]>([
    ['not JSON', '{"modelTopology": ', /not valid JSON/],
    ['null', null, /JSON object/],
    ['an array', [], /JSON object/],
    ['no topology', { weightsManifest: [] }, /no modelTopology/],
    ['no manifest', { modelTopology: { class_name: 'Sequential', config: { layers: [] } } }, /weightsManifest/],
    ['manifest not a list', { ...ok, weightsManifest: {} }, /weightsManifest/],
    ['group without paths', { ...ok, weightsManifest: [{ weights: [] }] }, /paths list/],
    ['weights without files', modelJson([dense('d', 2)], undefined, []), /without any weight file/],
    ['unknown format', { ...ok, format: 'evil' }, /unknown format/],
    ['string dtype', modelJson([dense('d', 2)], [{ name: 'w', shape: [1], dtype: 'string' }]), /unsupported dtype/],
    ['negative dim', modelJson([dense('d', 2)], [{ name: 'w', shape: [-1], dtype: 'float32' }]), /invalid shape/],
    ['fractional dim', modelJson([dense('d', 2)], [{ name: 'w', shape: [1.5], dtype: 'float32' }]), /invalid shape/],
    ['text dim', modelJson([dense('d', 2)], [{ name: 'w', shape: ['3'], dtype: 'float32' }]), /invalid shape/],
    ['no name', modelJson([dense('d', 2)], [{ shape: [1], dtype: 'float32' }]), /no name/],
    [
      'duplicate names',
      modelJson(
        [dense('d', 2)],
        [
          { name: 'w', shape: [1], dtype: 'float32' },
          { name: 'w', shape: [1], dtype: 'float32' },
        ],
      ),
      /twice/,
    ],
    [
      'bad quantization',
      modelJson([dense('d', 2)], [{ name: 'w', shape: [1], dtype: 'float32', quantization: { dtype: 'int4' } }]),
      /quantization/,
    ],
    [
      'quantization without scale',
      modelJson([dense('d', 2)], [{ name: 'w', shape: [1], dtype: 'float32', quantization: { dtype: 'uint8' } }]),
      /scale/,
    ],
    ['unknown layer', modelJson([{ class_name: 'Lambda', config: { name: 'x' } }]), /Unsupported layer type 'Lambda'/],
    [
      'custom layer nested',
      modelJson([{ class_name: 'Sequential', config: { layers: [{ class_name: 'MyEvilLayer', config: {} }] } }]),
      /MyEvilLayer/,
    ],
    ['layer without class', modelJson([{ config: {} }]), /class_name/],
    ['empty model', modelJson([]), /no layers/],
    ['absurd Dense', modelJson([dense('big', 1e9)]), /absurd size/],
    ['absurd filters', modelJson([{ class_name: 'Conv2D', config: { name: 'c', filters: 5e6, kernel_size: [3, 3] } }]), /absurd/],
    ['absurd kernel', modelJson([{ class_name: 'Conv2D', config: { name: 'c', filters: 8, kernel_size: [100000, 3] } }]), /absurd/],
    ['absurd input', modelJson([{ class_name: 'InputLayer', config: { batch_input_shape: [null, 50000, 50000, 3] } }]), /absurd/],
    ['invalid units', modelJson([dense('d', -3)]), /invalid units/],
  ])('refuses %s', (_, json, expected) => {
    expect(reason(json)).toMatch(expected);
  });

  it('refuses absurd parameter counts before anything is allocated', () => {
    const huge = modelJson([dense('d', 2)], [{ name: 'w', shape: [100000, 100000], dtype: 'float32' }]);
    expect(reason(huge)).toMatch(/more than 50,000,000 parameters.*absurd size/);
    expect(reason(modelJson([dense('d', 2)], [{ name: 'w', shape: [10, 11], dtype: 'float32' }]), { maxParams: 100 })).toMatch(/absurd/);
  });

  it('answers hostile structures quickly (deep nesting, huge layer lists)', () => {
    let deep: unknown = dense('leaf', 2);
    for (let i = 0; i < 5000; i++) deep = { class_name: 'Sequential', config: { layers: [deep] } };
    const wide = modelJson(Array.from({ length: 200_000 }, (_, i) => dense(`d${i}`, 2)));
    const t0 = performance.now();
    expect(reason(modelJson([deep]))).toMatch(/nests models/);
    expect(reason(wide)).toMatch(/more than 10000 layers/);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('bad weights', () => {
  it('reports byte-count mismatches (truncated, misaligned, padded)', () => {
    expect(validateWeightBytes(32, 32)).toBeNull();
    expect(validateWeightBytes(32, 16)).toBe('The weights file is 16 bytes, model.json expects 32 (truncated?).');
    expect(validateWeightBytes(4096, 4097)).toBe('The weights file is 4,097 bytes, model.json expects 4,096.');
  });

  it('finds NaN and infinite values in float32 and float16 weights', () => {
    const weights = [
      { name: 'a', shape: [2], dtype: 'float32' as const },
      { name: 'b', shape: [2], dtype: 'float32' as const, quantization: 'float16' as const },
      { name: 'c', shape: [1], dtype: 'int32' as const },
    ];
    const buf = new ArrayBuffer(16);
    const view = new DataView(buf);
    view.setFloat32(0, 1.5, true);
    view.setUint16(8, 0x3c00, true); // 1.0 in float16
    view.setInt32(12, -1, true);
    expect(validateWeightValues(buf, weights)).toBeNull();
    view.setFloat32(4, NaN, true);
    expect(validateWeightValues(buf, weights)).toMatch(/'a' contains NaN/);
    view.setFloat32(4, 2, true);
    view.setUint16(10, 0x7c00, true); // +Infinity in float16
    expect(validateWeightValues(buf, weights)).toMatch(/'b' contains NaN or infinite/);
    expect(validateWeightValues(buf.slice(0, 10), weights)).toMatch(/truncated/);
  });
});
