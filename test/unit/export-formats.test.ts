// The export formats end to end in Node: every zip unpacks, its preprocess.js + the plain runtime
// reproduce the app's probabilities (app = recipe.js pixels -> recordsToPixels -> TF.js, the path
// the workers take after decoding), the Teachable Machine variant undoes TM's input scaling, a
// graph-backbone version fails with the layer and format named and nothing built, and the model
// card carries front matter and limitations from the version's own numbers.
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BlobReader, Uint8ArrayWriter, ZipReader, configure } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { mulberry32 } from '../../src/lib/ml/random';
import { modelPixels } from '../../src/lib/preprocess/recipe.js';
import { recordsToPixels } from '../../workers/ml/batch-pixels';
import { EXPORT_FORMATS, packExport, type ExportMeta, type ExportSource } from '../../src/lib/export/formats';
import { UnsupportedLayerError } from '../../src/lib/export/unsupported';
import { TM_RESCALE_LAYER } from '../../src/lib/export/teachable';
import { loadTflite } from '../tflite-runtime';

configure({ useWebWorkers: false });
const recipeSource = readFileSync(new URL('../../src/lib/preprocess/recipe.js', import.meta.url), 'utf8');
let dir: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
  dir = mkdtempSync(join(tmpdir(), 'trainyard-export-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function unzip(blob: Blob): Promise<Map<string, Uint8Array>> {
  const reader = new ZipReader(new BlobReader(blob));
  const out = new Map<string, Uint8Array>();
  for (const e of await reader.getEntries()) if (!e.directory) out.set(e.filename, await e.getData!(new Uint8ArrayWriter()));
  await reader.close();
  return out;
}
const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);

/** Images of assorted sizes and aspect ratios, some with transparency: RGBA, row-major. */
function images(count: number, seed: number): Array<{ rgba: Uint8Array; width: number; height: number }> {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, (_, n) => {
    const width = [28, 45, 17, 80, 33][n % 5];
    const height = [28, 30, 40, 64, 33][n % 5];
    const rgba = new Uint8Array(width * height * 4);
    const cx = rand() * width;
    const cy = rand() * height;
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * 4;
        const d = Math.hypot(x - cx, y - cy);
        rgba[i] = (d * 9 + rand() * 40) & 255;
        rgba[i + 1] = (x * 7) & 255;
        rgba[i + 2] = (y * 5 + n * 30) & 255;
        rgba[i + 3] = n % 3 === 2 && x < width / 3 ? Math.floor(rand() * 256) : 255;
      }
    return { rgba, width, height };
  });
}

async function source(
  config: ArchitectureConfig & { inputSize: number; channels: 1 | 3 },
  meta: Partial<ExportMeta>,
): Promise<ExportSource> {
  const model = buildModel(config, 5);
  let artifacts!: tf.io.ModelArtifacts;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  const labels = Array.from({ length: config.numClasses }, (_, i) => `c${i}`);
  return {
    number: 3,
    createdAt: Date.UTC(2026, 11, 1),
    meta: {
      labels,
      preprocess: { inputSize: config.inputSize, channels: config.channels, resize: 'pad', background: [0, 0, 0] },
      normalization: '0..1',
      tfjsVersion: tf.version.tfjs,
      datasetHash: 'abc123',
      ...meta,
    } as ExportMeta,
    artifacts: {
      modelTopology: artifacts.modelTopology,
      weightSpecs: artifacts.weightSpecs!,
      weightData: artifacts.weightData as ArrayBuffer,
    },
    model,
    recipeSource,
    appVersion: '0.1.0',
  };
}

/** The app's probabilities: recipe pixels -> the batch builder's 0..1 floats (-> -1..1) -> TF.js. */
function appProbs(src: ExportSource, imgs: ReturnType<typeof images>): Float32Array {
  const p = src.meta.preprocess;
  const records = imgs.map((im) => modelPixels(im.rgba, im.width, im.height, p).buffer as ArrayBuffer);
  const xs = recordsToPixels(records, { inputSize: p.inputSize, channels: p.channels });
  return tf.tidy(() => {
    let x = tf.tensor4d(xs, [imgs.length, p.inputSize, p.inputSize, p.channels]);
    if (src.meta.normalization === '-1..1') x = x.mul(2).sub(1);
    return (src.model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

async function importPreprocess(files: Map<string, Uint8Array>, name: string) {
  const path = join(dir, `${name}-preprocess.js`);
  writeFileSync(path, files.get('preprocess.js')!);
  return (await import(pathToFileURL(path).href)) as {
    preprocessRGBA: (rgba: Uint8Array, w: number, h: number, c: object) => { data: Float32Array; shape: number[] };
    MODEL: { labels: string[]; inputSize: number; normalization: string };
  };
}

describe('export formats', () => {
  const cases: Array<[string, ArchitectureConfig & { inputSize: number; channels: 1 | 3 }, Partial<ExportMeta>]> = [
    ['grayscale CNN, 0..1', { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0, filters: 8 }, {}],
    [
      'RGB MobileNet-style, -1..1, center-crop',
      { kind: 'mobilenet', inputSize: 32, channels: 3, numClasses: 3, dropout: 0, widthMultiplier: 0.25 },
      { normalization: '-1..1', preprocess: { inputSize: 32, channels: 3, resize: 'center-crop', background: [255, 255, 255] } },
    ],
  ];

  for (const [title, config, meta] of cases) {
    it(`${title}: TF.js and ONNX zips + preprocess.js reproduce the app's probabilities within 1e-4`, async () => {
      const src = await source(config, meta);
      try {
        const imgs = images(10, 9);
        const want = appProbs(src, imgs);

        const tfjs = await unzip(
          (
            await packExport(
              EXPORT_FORMATS.find((f) => f.id === 'tfjs')!,
              src,
            )
          ).blob,
        );
        expect([...tfjs.keys()].sort()).toEqual(['README.md', 'metadata.json', 'model.json', 'preprocess.js', 'weights.bin']);
        const pre = await importPreprocess(tfjs, `tfjs-${config.kind}`);
        expect(pre.MODEL.labels).toEqual(src.meta.labels);
        const json = JSON.parse(text(tfjs.get('model.json')));
        const w = tfjs.get('weights.bin')!;
        const plain = await tf.loadLayersModel(
          tf.io.fromMemory({
            modelTopology: json.modelTopology,
            weightSpecs: json.weightsManifest[0].weights,
            weightData: w.slice().buffer,
          }),
        );
        const inputs = imgs.map((im) => pre.preprocessRGBA(im.rgba, im.width, im.height, pre.MODEL));
        const batch = new Float32Array(inputs.reduce((n, x) => n + x.data.length, 0));
        inputs.forEach((x, i) => batch.set(x.data, i * x.data.length));
        const shape = [imgs.length, ...inputs[0].shape.slice(1)];
        const got = tf.tidy(() => (plain.predict(tf.tensor(batch, shape)) as tf.Tensor).dataSync());
        plain.dispose();
        expect(maxDiff(got, want)).toBeLessThan(1e-4);

        const onnxZip = await unzip(
          (
            await packExport(
              EXPORT_FORMATS.find((f) => f.id === 'onnx')!,
              src,
            )
          ).blob,
        );
        expect([...onnxZip.keys()].sort()).toEqual(['README.md', 'labels.txt', 'model.onnx', 'preprocess.js']);
        const session = await ort.InferenceSession.create(onnxZip.get('model.onnx')!);
        const out = await session.run({ image: new ort.Tensor('float32', batch, shape) });
        await session.release();
        expect(maxDiff(out.probabilities.data as Float32Array, want)).toBeLessThan(1e-4);
      } finally {
        src.model.dispose();
      }
    }, 60_000);
  }

  it("TFLite zips from the format list: float32 gives the app's probabilities through preprocess.js and TFLite's interpreter; int8 is fed and read through quantization.json; no calibration builds nothing", async () => {
    const src = await source({ kind: 'cnn', inputSize: 28, channels: 1, numClasses: 4, dropout: 0, filters: 4 }, {});
    try {
      const imgs = images(12, 21);
      const want = appProbs(src, imgs);
      const p = src.meta.preprocess;
      const pixels = recordsToPixels(
        imgs.map((im) => modelPixels(im.rgba, im.width, im.height, p).buffer as ArrayBuffer),
        { inputSize: p.inputSize, channels: p.channels },
      );
      const per = p.inputSize * p.inputSize * p.channels;
      const float32 = EXPORT_FORMATS.find((f) => f.id === 'tflite-float32')!;
      const int8 = EXPORT_FORMATS.find((f) => f.id === 'tflite-int8')!;

      const fz = await unzip((await packExport(float32, src)).blob);
      expect([...fz.keys()].sort()).toEqual(['README.md', 'labels.txt', 'model.tflite', 'preprocess.js']);
      const pre = await importPreprocess(fz, 'tflite-f32');
      const interp = await loadTflite(fz.get('model.tflite')!);
      const got = new Float32Array(want.length);
      imgs.forEach((im, i) => got.set(interp.run(pre.preprocessRGBA(im.rgba, im.width, im.height, pre.MODEL).data), i * 4));
      interp.close();
      expect(maxDiff(got, want)).toBeLessThan(1e-4);

      await expect(packExport(int8, src)).rejects.toThrow(/calibration/);
      const calibrated = {
        ...src,
        calibration: async () => ({ data: pixels, shape: [imgs.length, p.inputSize, p.inputSize, p.channels] }),
      };
      const iz = await unzip((await packExport(int8, calibrated)).blob);
      expect([...iz.keys()].sort()).toEqual(['README.md', 'labels.txt', 'model.tflite', 'preprocess.js', 'quantization.json']);
      const q = JSON.parse(text(iz.get('quantization.json')));
      expect(q.input.type).toBe('int8');
      expect(q.output.type).toBe('int8');
      expect(q.calibrationImages).toBe(imgs.length);
      expect(text(iz.get('README.md'))).toContain('quantization.json');
      const qi = await loadTflite(iz.get('model.tflite')!);
      expect(qi.input.dataType).toBe('int8');
      let worst = 0;
      for (let i = 0; i < imgs.length; i++) {
        const x = pixels.subarray(i * per, (i + 1) * per);
        const out = qi.run(Int8Array.from(x, (v) => Math.max(-128, Math.min(127, Math.round(v / q.input.scale) + q.input.zeroPoint))));
        for (let j = 0; j < 4; j++) worst = Math.max(worst, Math.abs(q.output.scale * (out[j] - q.output.zeroPoint) - want[i * 4 + j]));
      }
      qi.close();
      // Quantized to 1/256 at the output plus int8 activations on the way: close, not exact.
      expect(worst).toBeLessThan(0.05);
    } finally {
      src.model.dispose();
    }
  }, 60_000);

  it("Teachable Machine variant: TM's x / 127 - 1 input gives the app's probabilities; metadata as TM reads it", async () => {
    for (const normalization of ['0..1', '-1..1'] as const) {
      const src = await source({ kind: 'cnn', inputSize: 28, channels: 1, numClasses: 4, dropout: 0, filters: 4 }, { normalization });
      try {
        const imgs = images(6, 4);
        const want = appProbs(src, imgs);
        const files = await unzip(
          (
            await packExport(
              EXPORT_FORMATS.find((f) => f.id === 'teachable-machine')!,
              src,
            )
          ).blob,
        );
        const metadata = JSON.parse(text(files.get('metadata.json')));
        expect(metadata).toMatchObject({ grayscale: true, imageSize: 28, labels: src.meta.labels });
        expect(metadata.tmVersion).toMatch(/^2\.\d+\.\d+$/);
        const json = JSON.parse(text(files.get('model.json')));
        expect(json.modelTopology.config.layers[1].config.name).toBe(TM_RESCALE_LAYER);
        const tm = await tf.loadLayersModel(
          tf.io.fromMemory({
            modelTopology: json.modelTopology,
            weightSpecs: json.weightsManifest[0].weights,
            weightData: files.get('weights.bin')!.slice().buffer,
          }),
        );
        // What @teachablemachine/image feeds: uint8 pixels / 127 - 1.
        const p = src.meta.preprocess;
        const px = imgs.flatMap((im) => Array.from(modelPixels(im.rgba, im.width, im.height, p)));
        const got = tf.tidy(() => (tm.predict(tf.tensor4d(px, [imgs.length, 28, 28, 1]).div(127).sub(1)) as tf.Tensor).dataSync());
        tm.dispose();
        expect(maxDiff(got, want)).toBeLessThan(1e-5);
      } finally {
        src.model.dispose();
      }
    }
  }, 60_000);

  it('a graph-backbone version: every format names the backbone and itself, and builds nothing', async () => {
    const src = await source(
      { kind: 'mlp', inputSize: 4, channels: 1, numClasses: 2, dropout: 0, hidden: [] },
      { backboneId: 'b1', backbone: { name: 'MobileNet v2 (graph)' } },
    );
    try {
      for (const format of EXPORT_FORMATS) {
        const err = await packExport(format, src).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(UnsupportedLayerError);
        expect((err as Error).message).toContain(format.label);
        expect((err as Error).message).toContain('MobileNet v2 (graph)');
      }
    } finally {
      src.model.dispose();
    }
  });

  it('model card: YAML front matter, intended use, limitations from per-class recall and calibration', async () => {
    const perClass = [
      { precision: 0.95, recall: 0.97, f1: 0.96, support: 40 },
      { precision: 0.7, recall: 0.62, f1: 0.66, support: 13 },
      { precision: 0.9, recall: 0.93, f1: 0.91, support: 40 },
    ];
    const src = await source(
      { kind: 'mlp', inputSize: 8, channels: 1, numClasses: 3, dropout: 0, hidden: [4] },
      {
        labels: ['cat', 'dog', 'fox'],
        metrics: {
          accuracy: 0.9,
          macroF1: 0.84,
          ece: 0.12,
          perClass,
          confusion: [
            [39, 1, 0],
            [4, 8, 1],
            [1, 2, 37],
          ],
          calibration: [{ lo: 0.9, hi: 1, count: 50, accuracy: 0.8, confidence: 0.96 }],
        },
        splitCounts: { train: 400, val: 50, test: 93 },
      },
    );
    try {
      const files = await unzip(
        (
          await packExport(
            EXPORT_FORMATS.find((f) => f.id === 'onnx')!,
            src,
          )
        ).blob,
      );
      const card = text(files.get('README.md'));
      const front = /^---\n([\s\S]*?)\n---\n/.exec(card)![1];
      expect(front).toMatch(/^library_name: "onnx"$/m);
      expect(front).toMatch(/^license: /m);
      expect(front).toMatch(/^dataset_version: "abc123"$/m);
      expect(front).toMatch(/name: accuracy, value: 0\.9000/);
      expect(front).toMatch(/- "onnx"/);
      expect(card).toMatch(/## Intended use/);
      const limits = card.slice(card.indexOf('## Limitations'));
      expect(limits).toMatch(/Weakest classes.*dog 62\.0% of 13/);
      expect(limits).toMatch(/dog is most often mistaken for cat \(4 of 13\)/);
      expect(limits).toMatch(/calibration error 12\.0%, poorly calibrated/);
      expect(limits).toMatch(/When it says 90\.0%–100\.0%, it is right 80\.0%/);
      expect(card).toMatch(/onnxruntime/);
    } finally {
      src.model.dispose();
    }
  });
});

describe('preprocessing recipe', () => {
  it('is the identity for an opaque image already at the model size', () => {
    const { rgba, width, height } = images(1, 1)[0];
    const px = modelPixels(rgba, width, height, { inputSize: 28, channels: 3, resize: 'pad', background: [0, 0, 0] });
    for (let i = 0; i < 28 * 28; i++) for (let c = 0; c < 3; c++) expect(px[i * 3 + c]).toBe(rgba[i * 4 + c]);
  });

  it('pads on the background, averages when shrinking, composites alpha and uses BT.601 luma', () => {
    // 4x2 checkerboard of black/white into 2x2 with pad: a 2x1 strip of mid grey, background elsewhere.
    const rgba = new Uint8Array(4 * 2 * 4);
    for (let i = 0; i < 8; i++) rgba.set((i + Math.floor(i / 4)) % 2 ? [255, 255, 255, 255] : [0, 0, 0, 255], i * 4);
    const px = modelPixels(rgba, 4, 2, { inputSize: 2, channels: 1, resize: 'pad', background: [10, 10, 10] });
    expect(Array.from(px.slice(2))).toEqual([10, 10]);
    for (const v of px.slice(0, 2)) expect(Math.abs(v - 127.5)).toBeLessThanOrEqual(0.5);
    const red = modelPixels(new Uint8Array([255, 0, 0, 128]), 1, 1, {
      inputSize: 1,
      channels: 3,
      resize: 'stretch',
      background: [0, 0, 255],
    });
    expect(Array.from(red)).toEqual([128, 0, 127]);
    const gray = modelPixels(new Uint8Array([200, 100, 50, 255]), 1, 1, {
      inputSize: 1,
      channels: 1,
      resize: 'stretch',
      background: [0, 0, 0],
    });
    expect(gray[0]).toBe(Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50));
  });

  it('refuses pixel data that does not match the stated size', () => {
    expect(() => modelPixels(new Uint8Array(10), 4, 4, { inputSize: 2, channels: 1, resize: 'pad', background: [0, 0, 0] })).toThrow(
      /Expected 4x4 RGBA/,
    );
  });
});
