// Every export format in one list. Each entry names the format, what runs it, and builds its
// files from a loaded version; packExport adds the model card and preprocess.js and zips them.
// Adding a format is one entry (the Export dialog and `npm run bench:export` iterate this list).
// Runs where TF.js runs: the inference worker, Node tests and the benchmark.
import * as tf from '@tensorflow/tfjs';
import { BlobWriter, TextReader, Uint8ArrayReader, ZipWriter } from '@zip.js/zip.js';
import { modelCard, type CardFormat, type CardMeta } from '../registry/model-card';
import { layersModelToOnnx, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT } from './onnx/to-onnx';
import { teachableArtifacts, TM_VERSION } from './teachable';
import { convertToTflite, type IoQuant } from './tflite';
import { UnsupportedLayerError } from './unsupported';
import type { ExportFormatInfo } from './types';

export type { ExportFormatInfo } from './types';

export interface ExportMeta extends CardMeta {
  labels: string[];
  preprocess: { inputSize: number; channels: 1 | 3; resize: 'pad' | 'center-crop' | 'stretch'; background: [number, number, number] };
  normalization?: '0..1' | '-1..1';
  tfjsVersion?: string;
  /** The run's seed: it also seeds which training images calibrate int8 formats. */
  seed?: number;
  backboneId?: string;
  backbone?: { name: string };
}

/** One stored version, loaded: what every format builds from. */
export interface ExportSource {
  number: number;
  createdAt: number;
  meta: ExportMeta;
  /** The stored TF.js artifacts (model.json topology, weight specs, weight bytes). */
  artifacts: { modelTopology: unknown; weightSpecs: tf.io.WeightsManifestEntry[]; weightData: ArrayBuffer };
  /** The same model loaded in TF.js. */
  model: tf.LayersModel;
  /** Text of src/lib/preprocess/recipe.js (shipped as preprocess.js). */
  recipeSource: string;
  appVersion: string;
  /** A sample of training-split model inputs, for formats that calibrate (int8 quantization). */
  calibration?: () => Promise<{ data: Float32Array; shape: number[] }>;
}

export interface ExportFormat extends ExportFormatInfo {
  /** Model files of this format, by name inside the zip. */
  build(src: ExportSource): Promise<Record<string, Uint8Array | string>>;
  /** How to run it: markdown lines for the model card's "Use" section. */
  usage(src: ExportSource): string[];
  tags: string[];
  library: string;
}

const range = (src: ExportSource) => (src.meta.normalization === '-1..1' ? '-1..1' : '0..1');

function tfjsFiles(artifacts: ExportSource['artifacts'], tfjsVersion: string): Record<string, Uint8Array | string> {
  const modelJson = {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tfjsVersion}`,
    convertedBy: null,
    modelTopology: artifacts.modelTopology,
    weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
  };
  return { 'model.json': JSON.stringify(modelJson), 'weights.bin': new Uint8Array(artifacts.weightData) };
}

function metadataJson(src: ExportSource, extra: Record<string, unknown>): string {
  const m = src.meta;
  return JSON.stringify(
    {
      tfjsVersion: m.tfjsVersion ?? tf.version.tfjs,
      tmVersion: null,
      packageVersion: src.appVersion,
      packageName: 'trainyard',
      timeStamp: new Date(src.createdAt).toISOString(),
      userMetadata: {
        trainyard: { version: src.number, preprocess: m.preprocess, normalization: range(src), metrics: { accuracy: m.metrics?.accuracy } },
      },
      modelName: `trainyard-v${src.number}`,
      labels: m.labels,
      imageSize: m.preprocess.inputSize,
      grayscale: m.preprocess.channels === 1,
      ...extra,
    },
    null,
    2,
  );
}

const tfjsNodeUsage = (src: ExportSource, extra = ''): string[] => [
  '```js',
  "import * as tf from '@tensorflow/tfjs';",
  "import { readFileSync } from 'node:fs';",
  "import { PNG } from 'pngjs';",
  "import { preprocessRGBA, MODEL } from './preprocess.js';",
  "const json = JSON.parse(readFileSync('model.json', 'utf8'));",
  "const w = readFileSync('weights.bin');",
  'const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) }));',
  "const png = PNG.sync.read(readFileSync('image.png'));",
  `const { data, shape } = preprocessRGBA(png.data, png.width, png.height, MODEL);${extra}`,
  'const probs = await model.predict(tf.tensor(data, shape)).data();',
  'console.log(MODEL.labels[probs.indexOf(Math.max(...probs))]);',
  '```',
];

export const EXPORT_FORMATS: ExportFormat[] = [
  {
    id: 'tfjs',
    label: 'TensorFlow.js',
    runsWith: 'TensorFlow.js in a browser or Node (tf.loadLayersModel)',
    tags: ['tfjs'],
    library: 'tensorflow.js',
    async build(src) {
      return { ...tfjsFiles(src.artifacts, src.meta.tfjsVersion ?? tf.version.tfjs), 'metadata.json': metadataJson(src, {}) };
    },
    usage: (src) => [
      `Input: [batch, ${src.meta.preprocess.inputSize}, ${src.meta.preprocess.inputSize}, ${src.meta.preprocess.channels}] float32, values ${range(src)}; output: class probabilities.`,
      '',
      'Browser:',
      '```js',
      "import * as tf from '@tensorflow/tfjs';",
      "import { preprocessImage, MODEL } from './preprocess.js';",
      "const model = await tf.loadLayersModel('model.json');",
      "const img = document.querySelector('img'); // or an ImageBitmap, canvas, video or ImageData",
      'await img.decode();',
      'const { data, shape } = preprocessImage(img, MODEL);',
      'const probs = await model.predict(tf.tensor(data, shape)).data();',
      'const best = probs.indexOf(Math.max(...probs));',
      'console.log(MODEL.labels[best], probs[best]);',
      '```',
      '',
      'Node (raw RGBA from any decoder, here pngjs):',
      ...tfjsNodeUsage(src),
    ],
  },
  {
    id: 'teachable-machine',
    label: 'Teachable Machine',
    runsWith: "Teachable Machine's library (@teachablemachine/image, tmImage.load)",
    tags: ['tfjs', 'teachable-machine'],
    library: 'tensorflow.js',
    async build(src) {
      const tm = teachableArtifacts(
        src.artifacts,
        [src.meta.preprocess.inputSize, src.meta.preprocess.inputSize, src.meta.preprocess.channels],
        range(src),
      );
      return {
        ...tfjsFiles(tm as ExportSource['artifacts'], src.meta.tfjsVersion ?? tf.version.tfjs),
        // The model now reads Teachable Machine's range, x / 127 - 1; Trainyard imports it back as a
        // '-1..1' model, as it does any Teachable Machine model.
        'metadata.json': metadataJson(src, {
          tmVersion: TM_VERSION,
          userMetadata: {
            trainyard: {
              version: src.number,
              preprocess: src.meta.preprocess,
              normalization: '-1..1',
              input: 'teachable-machine: pixels / 127 - 1',
            },
          },
        }),
      };
    },
    usage: () => [
      "This model takes Teachable Machine's input scaling (pixels / 127 - 1; a frozen first layer maps it to what the model was trained on), so Teachable Machine's own code runs it unchanged:",
      '```js',
      "import * as tmImage from '@teachablemachine/image'; // with @tensorflow/tfjs 1.3.1, as it pins",
      "const model = await tmImage.load('model.json', 'metadata.json');",
      'const predictions = await model.predict(imageElement); // [{ className, probability }, ...]',
      '```',
      "Teachable Machine crops and resizes with the browser's canvas; for the app's exact preprocessing use the TensorFlow.js export with preprocess.js.",
    ],
  },
  {
    id: 'onnx',
    label: 'ONNX',
    runsWith: `ONNX Runtime (onnxruntime-web / -node / Python / C++), opset ${ONNX_OPSET}`,
    tags: ['onnx'],
    library: 'onnx',
    async build(src) {
      const bytes = layersModelToOnnx(src.model, {
        labels: src.meta.labels,
        producerVersion: src.appVersion,
        modelVersion: src.number,
        docString: `Trainyard model v${src.number}: ${ONNX_INPUT} [batch, h, w, c] float32 in ${range(src)} (NHWC, see preprocess.js) -> ${ONNX_OUTPUT} [batch, classes].`,
        metadata: { preprocess: JSON.stringify(src.meta.preprocess), normalization: range(src), input_layout: 'NHWC' },
      });
      return { 'model.onnx': bytes, 'labels.txt': `${src.meta.labels.join('\n')}\n` };
    },
    usage: (src) => [
      `Input \`${ONNX_INPUT}\`: [batch, ${src.meta.preprocess.inputSize}, ${src.meta.preprocess.inputSize}, ${src.meta.preprocess.channels}] float32 (NHWC), values ${range(src)}; output \`${ONNX_OUTPUT}\`: [batch, ${src.meta.labels.length}]. Class labels are in the model's metadata_props ("labels") and labels.txt.`,
      '```js',
      "import * as ort from 'onnxruntime-node'; // or onnxruntime-web in a browser",
      "import { readFileSync } from 'node:fs';",
      "import { PNG } from 'pngjs';",
      "import { preprocessRGBA, MODEL } from './preprocess.js';",
      "const session = await ort.InferenceSession.create('model.onnx');",
      "const png = PNG.sync.read(readFileSync('image.png'));",
      'const { data, shape } = preprocessRGBA(png.data, png.width, png.height, MODEL);',
      `const out = await session.run({ ${ONNX_INPUT}: new ort.Tensor('float32', data, shape) });`,
      `const probs = Array.from(out.${ONNX_OUTPUT}.data);`,
      'console.log(MODEL.labels[probs.indexOf(Math.max(...probs))]);',
      '```',
    ],
  },
  {
    id: 'tflite-float32',
    label: 'TFLite (float32)',
    runsWith: 'TensorFlow Lite: Android, iOS, Python (tflite-runtime), @tensorflow/tfjs-tflite',
    tags: ['tflite'],
    library: 'tflite',
    async build(src) {
      const out = await convertToTflite(src.model, {
        quantization: 'float32',
        labels: src.meta.labels,
        description: `Trainyard model v${src.number} (float32)`,
      });
      return { 'model.tflite': out.bytes, 'labels.txt': `${src.meta.labels.join('\n')}\n` };
    },
    usage: (src) => [
      `Input: [1, ${src.meta.preprocess.inputSize}, ${src.meta.preprocess.inputSize}, ${src.meta.preprocess.channels}] float32 (NHWC, batch 1), values ${range(src)}; output: [1, ${src.meta.labels.length}] class probabilities in the order of labels.txt.`,
      '```python',
      'from tflite_runtime.interpreter import Interpreter  # or tf.lite.Interpreter',
      "interpreter = Interpreter('model.tflite'); interpreter.allocate_tensors()",
      'inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]',
      "interpreter.set_tensor(inp['index'], x)  # x: float32 array shaped as above, made as preprocess.js makes it",
      "interpreter.invoke(); probs = interpreter.get_tensor(out['index'])[0]",
      '```',
    ],
  },
  {
    id: 'tflite-int8',
    label: 'TFLite (int8, full integer)',
    runsWith: 'TensorFlow Lite int8: Coral Edge TPU (after edgetpu_compiler), microcontrollers (TFLite Micro), Android',
    tags: ['tflite', 'int8'],
    library: 'tflite',
    async build(src) {
      if (!src.calibration) throw new Error('int8 TFLite export needs calibration images from the training split, and none were given.');
      const { data, shape } = await src.calibration();
      const out = await convertToTflite(src.model, {
        quantization: 'int8',
        calibration: data,
        calibrationShape: shape,
        labels: src.meta.labels,
        description: `Trainyard model v${src.number} (int8, calibrated on ${shape[0]} training images)`,
      });
      const quantization = {
        input: out.input,
        output: out.output,
        calibrationImages: shape[0],
        formula: 'real = scale * (q - zeroPoint); q = round(real / scale) + zeroPoint',
      } satisfies Record<string, IoQuant | number | string>;
      return {
        'model.tflite': out.bytes,
        'quantization.json': JSON.stringify(quantization, null, 2),
        'labels.txt': `${src.meta.labels.join('\n')}\n`,
      };
    },
    usage: (src) => [
      `Full-integer model: input [1, ${src.meta.preprocess.inputSize}, ${src.meta.preprocess.inputSize}, ${src.meta.preprocess.channels}] int8 and output [1, ${src.meta.labels.length}] int8. Quantize the ${range(src)} input as q = round(x / scale) + zeroPoint and read probabilities as scale × (q − zeroPoint), with the input and output scale and zero point in quantization.json. Weights and activations were calibrated on a stratified sample of the training split.`,
      '```python',
      'import json, numpy as np',
      'from tflite_runtime.interpreter import Interpreter',
      "q = json.load(open('quantization.json'))",
      "interpreter = Interpreter('model.tflite'); interpreter.allocate_tensors()",
      'inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]',
      "xq = np.clip(np.round(x / q['input']['scale']) + q['input']['zeroPoint'], -128, 127).astype(np.int8)",
      "interpreter.set_tensor(inp['index'], xq); interpreter.invoke()",
      "probs = q['output']['scale'] * (interpreter.get_tensor(out['index'])[0].astype(np.float32) - q['output']['zeroPoint'])",
      '```',
    ],
  },
];

/** The formats as the Export dialog lists them (no build functions: they cross to the main thread). */
export function formatInfos(formats: ExportFormat[] = EXPORT_FORMATS): ExportFormatInfo[] {
  return formats.map(({ id, label, runsWith }) => ({ id, label, runsWith }));
}

/** preprocess.js: the app's recipe plus this model's settings. */
export function preprocessModule(src: ExportSource): string {
  const model = {
    inputSize: src.meta.preprocess.inputSize,
    channels: src.meta.preprocess.channels,
    resize: src.meta.preprocess.resize,
    background: src.meta.preprocess.background,
    normalization: range(src),
    labels: src.meta.labels,
  };
  return `${src.recipeSource.trimEnd()}\n\n/** This model's preprocessing settings and class labels (output order). */\nexport const MODEL = ${JSON.stringify(model, null, 2)};\n`;
}

export interface BuiltExport {
  formatId: string;
  fileName: string;
  blob: Blob;
  /** Size of the model file(s) alone, and of the zip. */
  modelBytes: number;
  bytes: number;
}

/** Builds every file first, then zips: a format that fails throws and produces nothing. */
export async function packExport(format: ExportFormat, src: ExportSource): Promise<BuiltExport> {
  if (src.meta.backboneId) {
    throw new UnsupportedLayerError(
      format.label,
      `backbone "${src.meta.backbone?.name ?? src.meta.backboneId}"`,
      'GraphModel',
      'this version is a head that runs after a graph-model backbone stored apart from it, so it cannot be written as one model',
    );
  }
  const files = await format.build(src);
  const modelBytes = Object.values(files).reduce(
    (n, f) => n + (typeof f === 'string' ? new TextEncoder().encode(f).byteLength : f.byteLength),
    0,
  );
  const card = modelCard(src.number, src.meta, {
    name: format.label,
    tags: format.tags,
    library: format.library,
    usage: format.usage(src),
  } satisfies CardFormat);
  const writer = new ZipWriter(new BlobWriter('application/zip'));
  for (const [name, content] of Object.entries(files)) {
    if (typeof content === 'string') await writer.add(name, new TextReader(content));
    else await writer.add(name, new Uint8ArrayReader(content), { level: name.endsWith('.json') ? 6 : 0 });
  }
  await writer.add('preprocess.js', new TextReader(preprocessModule(src)));
  await writer.add('README.md', new TextReader(card));
  const blob = await writer.close();
  return { formatId: format.id, fileName: `trainyard-v${src.number}-${format.id}.zip`, blob, modelBytes, bytes: blob.size };
}
