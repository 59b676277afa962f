// TFLite export of a TF.js layers model, float32 or full-integer int8, written in the tab.
//
// int8 models take int8 input and give int8 output by default (`io: 'int8'`): that is what the
// Coral Edge TPU compiler and TFLite Micro expect, and it avoids float ops entirely. Feed
// q = round(x / input.scale) + input.zeroPoint and read p = output.scale × (q − output.zeroPoint);
// the parameters are returned by convertToTflite and written into the export's README. With
// `io: 'float32'` the model starts with QUANTIZE and ends with DEQUANTIZE instead, for apps
// that want to feed floats (Android's Interpreter with a FloatBuffer).
import type * as tf from '@tensorflow/tfjs';
import { calibrateRanges } from './evaluate';
import { emitModel, type IoQuant } from './emit';
import { lowerModel } from './graph';
import { writeTflite } from './writer';

export { UnsupportedLayerError } from '../unsupported';
export type { IoQuant } from './emit';

export interface TfliteOptions {
  quantization: 'float32' | 'int8';
  /** int8 only: model inputs from the training split, NHWC float32, concatenated. */
  calibration?: Float32Array;
  /** Shape of `calibration`, [n, ...input shape]; n is inferred when absent. */
  calibrationShape?: number[];
  /** int8 only: the model's input/output type (default 'int8'). */
  io?: 'int8' | 'float32';
  /** Class labels, stored in the file's "labels" metadata buffer (one per line). */
  labels?: string[];
  description?: string;
}

export interface TfliteExport {
  bytes: Uint8Array;
  input: IoQuant;
  output: IoQuant;
  /** Number of TFLite operators in the graph. */
  operators: number;
}

/** Fewer calibration samples than this gives unstable ranges; more than this adds little. */
export const MIN_CALIBRATION = 8;

function calibrationCount(model: tf.LayersModel, opts: TfliteOptions): number {
  const per = (model.inputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const data = opts.calibration;
  if (!data || data.length === 0) throw new Error('int8 TFLite export needs calibration samples from the training split.');
  if (opts.calibrationShape) {
    const [n, ...rest] = opts.calibrationShape;
    if (rest.join(',') !== (model.inputs[0].shape.slice(1) as number[]).join(',')) {
      throw new Error(
        `Calibration shape [${opts.calibrationShape.join(', ')}] does not match the model input [n, ${model.inputs[0].shape.slice(1).join(', ')}].`,
      );
    }
    if (n * per !== data.length) throw new Error(`Calibration holds ${data.length} values, not ${n} × ${per}.`);
  }
  if (data.length % per !== 0) throw new Error(`Calibration holds ${data.length} values, not a whole number of ${per}-value inputs.`);
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new Error(`Calibration value ${i} is not a finite number.`);
  const n = data.length / per;
  if (n < MIN_CALIBRATION) throw new Error(`int8 calibration needs at least ${MIN_CALIBRATION} samples (got ${n}).`);
  return n;
}

/** The TFLite bytes plus what a caller needs to feed and read the model. */
export async function convertToTflite(model: tf.LayersModel, opts: TfliteOptions): Promise<TfliteExport> {
  if (opts.quantization !== 'float32' && opts.quantization !== 'int8')
    throw new Error(`Unknown TFLite quantization "${String(opts.quantization)}".`);
  const n = opts.quantization === 'int8' ? calibrationCount(model, opts) : 0;
  const graph = lowerModel(model);
  const ranges = opts.quantization === 'int8' ? calibrateRanges(graph, opts.calibration!, n) : null;
  const description = opts.description ?? `Trainyard export (${opts.quantization})`;
  const emitted = emitModel(graph, ranges, opts.io ?? 'int8', description, opts.labels);
  return { bytes: writeTflite(emitted.model), input: emitted.input, output: emitted.output, operators: emitted.model.ops.length };
}

/** The module export-a's dialog calls: the .tflite file's bytes. */
export async function exportTflite(
  model: tf.LayersModel,
  opts: { quantization: 'float32' | 'int8'; calibration?: Float32Array; calibrationShape?: number[] },
): Promise<Uint8Array> {
  return (await convertToTflite(model, opts)).bytes;
}
