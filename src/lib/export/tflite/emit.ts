// A lowered graph to the TFLite operator list, in float32 or as a full-integer int8 model.
//
// int8 follows TFLite's own post-training quantization spec: activations int8 asymmetric per
// tensor (scale/zero point from the calibrated min/max, range widened to include 0), conv and
// depthwise weights int8 symmetric per output channel, fully-connected weights int8 symmetric
// per tensor, biases int32 with scale = input scale × weight scale. Max pool, reshape and pad keep
// their input's parameters; softmax/logistic outputs use the fixed 1/256 (zero point -128) and
// tanh 1/128 the TFLite kernels require.
import { BuiltinOperator as Op, Activation, TensorType, type ActivationValue, type BuiltinOperatorValue } from './schema';
import type { Act, GOp, Graph } from './graph';
import type { Range } from './evaluate';
import type { QuantParams, TflModel, TflOp, TflTensor } from './writer';

export interface IoQuant {
  type: 'float32' | 'int8';
  shape: number[];
  /** int8 only: real = scale × (q − zeroPoint). */
  scale?: number;
  zeroPoint?: number;
}

export interface Emitted {
  model: TflModel;
  input: IoQuant;
  output: IoQuant;
}

const ACT: Record<Act, ActivationValue> = { NONE: Activation.NONE, RELU: Activation.RELU, RELU6: Activation.RELU6 };

const f32bytes = (a: Float32Array | number[]) => new Uint8Array(Float32Array.from(a).buffer);
const i32bytes = (a: Int32Array | number[]) => new Uint8Array(Int32Array.from(a).buffer);
const i8bytes = (a: Int8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Asymmetric int8 parameters for a real range (widened to contain 0, as TFLite requires). */
export function activationParams(r: Range): { scale: number; zeroPoint: number } {
  const lo = Math.min(0, Number.isFinite(r.min) ? r.min : 0);
  let hi = Math.max(0, Number.isFinite(r.max) ? r.max : 0);
  // A tensor that never moved (a dead ReLU) still needs a usable scale: TFLite quantizes the
  // fused activation's bounds (e.g. 6.0 for RELU6) with it, and they must fit in int32.
  if (hi - lo < 1e-3) hi = lo + 1e-3;
  const scale = (hi - lo) / 255;
  const zeroPoint = Math.max(-128, Math.min(127, Math.round(-128 - lo / scale)));
  return { scale, zeroPoint };
}

/** Symmetric int8 per channel along `channels` groups: channel of element k is channelOf(k). */
function symmetricInt8(w: Float32Array, channels: number, channelOf: (k: number) => number): { q: Int8Array; scales: number[] } {
  const maxAbs = new Float64Array(channels);
  for (let k = 0; k < w.length; k++) maxAbs[channelOf(k)] = Math.max(maxAbs[channelOf(k)], Math.abs(w[k]));
  const scales = Array.from(maxAbs, (m) => (m > 0 ? m / 127 : 1e-9));
  const q = new Int8Array(w.length);
  for (let k = 0; k < w.length; k++) q[k] = Math.max(-127, Math.min(127, Math.round(w[k] / scales[channelOf(k)])));
  return { q, scales };
}

class Emitter {
  readonly tensors: TflTensor[] = [];
  readonly ops: TflOp[] = [];
  /** graph tensor → TFLite tensor */
  readonly map: number[];
  readonly q: Array<{ scale: number; zeroPoint: number } | null>;

  constructor(
    readonly g: Graph,
    readonly ranges: Range[] | null,
  ) {
    this.map = g.tensors.map(() => -1);
    this.q = g.tensors.map(() => null);
  }

  get int8(): boolean {
    return this.ranges !== null;
  }

  add(t: TflTensor): number {
    return this.tensors.push(t) - 1;
  }

  activation(i: number, params?: { scale: number; zeroPoint: number }): number {
    const t = this.g.tensors[i];
    if (this.int8) {
      const p = params ?? activationParams(this.ranges![i]);
      this.q[i] = p;
      this.map[i] = this.add({
        name: t.name,
        shape: t.shape,
        type: TensorType.INT8,
        quant: { scale: [p.scale], zeroPoint: [p.zeroPoint] },
      });
    } else {
      this.map[i] = this.add({ name: t.name, shape: t.shape, type: TensorType.FLOAT32 });
    }
    return this.map[i];
  }

  int32Const(name: string, values: number[]): number {
    return this.add({ name, shape: [values.length], type: TensorType.INT32, data: i32bytes(values) });
  }

  /** A float constant, or int8 asymmetric per tensor in int8 models. */
  floatConst(name: string, values: Float32Array): number {
    if (!this.int8) return this.add({ name, shape: [values.length], type: TensorType.FLOAT32, data: f32bytes(values) });
    let lo = 0;
    let hi = 0;
    for (const v of values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const p = activationParams({ min: lo, max: hi });
    const q = Int8Array.from(values, (v) => Math.max(-128, Math.min(127, Math.round(v / p.scale) + p.zeroPoint)));
    return this.add({
      name,
      shape: [values.length],
      type: TensorType.INT8,
      data: i8bytes(q),
      quant: { scale: [p.scale], zeroPoint: [p.zeroPoint] },
    });
  }

  /** Weights and bias of conv / depthwise / fc. */
  weights(op: Extract<GOp, { kind: 'conv2d' | 'depthwise' | 'fc' }>, name: string): [number, number] {
    const shape = [...op.wShape];
    const channels = op.kind === 'depthwise' ? op.wShape[3] : op.wShape[0];
    if (!this.int8) {
      return [
        this.add({ name: `${name}/weights`, shape, type: TensorType.FLOAT32, data: f32bytes(op.w) }),
        this.add({ name: `${name}/bias`, shape: [channels], type: TensorType.FLOAT32, data: f32bytes(op.b) }),
      ];
    }
    const per = op.w.length / channels;
    let wq: { q: Int8Array; scales: number[] };
    let dimension: number;
    if (op.kind === 'fc') {
      // Per-tensor for fully connected: what every int8 FULLY_CONNECTED kernel accepts.
      wq = symmetricInt8(op.w, 1, () => 0);
      dimension = 0;
    } else if (op.kind === 'conv2d') {
      wq = symmetricInt8(op.w, channels, (k) => Math.floor(k / per));
      dimension = 0;
    } else {
      wq = symmetricInt8(op.w, channels, (k) => k % channels);
      dimension = 3;
    }
    const inScale = this.q[op.x]!.scale;
    const wScales = wq.scales.length === 1 ? new Array<number>(channels).fill(wq.scales[0]) : wq.scales;
    const bScales = wScales.map((s) => inScale * s);
    const bq = Int32Array.from(op.b, (v, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / bScales[c]))));
    const perTensor = op.kind === 'fc';
    const wQuant: QuantParams = { scale: wq.scales, zeroPoint: wq.scales.map(() => 0), dimension };
    const bQuant: QuantParams = perTensor
      ? { scale: [bScales[0]], zeroPoint: [0] }
      : { scale: bScales, zeroPoint: bScales.map(() => 0), dimension: 0 };
    return [
      this.add({ name: `${name}/weights`, shape, type: TensorType.INT8, data: i8bytes(wq.q), quant: wQuant }),
      this.add({ name: `${name}/bias`, shape: [channels], type: TensorType.INT32, data: i32bytes(bq), quant: bQuant }),
    ];
  }

  op(
    code: BuiltinOperatorValue,
    floatVersion: number,
    int8Version: number,
    inputs: number[],
    outputs: number[],
    options?: TflOp['options'],
  ): void {
    this.ops.push({ code, version: this.int8 ? int8Version : floatVersion, inputs, outputs, options });
  }

  emit(op: GOp): void {
    const g = this.g;
    const name = g.tensors[op.y].name;
    const x = op.kind === 'add' ? -1 : this.map[op.x];
    const sameAsInput = () => this.activation(op.y, this.int8 && op.kind !== 'add' ? this.q[op.x]! : undefined);
    switch (op.kind) {
      case 'conv2d': {
        const [w, b] = this.weights(op, name);
        const y = this.activation(op.y);
        const dilated = op.dilation[0] > 1 || op.dilation[1] > 1;
        this.op(Op.CONV_2D, dilated ? 2 : 1, 3, [x, w, b], [y], {
          type: 'conv',
          padding: op.padding,
          strides: op.strides,
          dilation: op.dilation,
          act: ACT[op.act],
        });
        return;
      }
      case 'depthwise': {
        const [w, b] = this.weights(op, name);
        const y = this.activation(op.y);
        const dilated = op.dilation[0] > 1 || op.dilation[1] > 1;
        this.op(Op.DEPTHWISE_CONV_2D, dilated ? 2 : 1, 3, [x, w, b], [y], {
          type: 'depthwise',
          padding: op.padding,
          strides: op.strides,
          dilation: op.dilation,
          multiplier: op.multiplier,
          act: ACT[op.act],
        });
        return;
      }
      case 'fc': {
        const [w, b] = this.weights(op, name);
        const y = this.activation(op.y);
        this.op(Op.FULLY_CONNECTED, 1, 4, [x, w, b], [y], { type: 'fc', act: ACT[op.act] });
        return;
      }
      case 'maxpool':
      case 'avgpool': {
        const y = sameAsInput();
        this.op(op.kind === 'maxpool' ? Op.MAX_POOL_2D : Op.AVERAGE_POOL_2D, 1, 2, [x], [y], {
          type: 'pool',
          padding: op.padding,
          strides: op.strides,
          size: op.size,
        });
        return;
      }
      case 'mean':
      case 'reducemax': {
        const axes = this.int32Const(`${name}/axes`, [1, 2]);
        const y = op.kind === 'reducemax' ? sameAsInput() : this.activation(op.y);
        this.op(op.kind === 'mean' ? Op.MEAN : Op.REDUCE_MAX, 1, 2, [x, axes], [y], { type: 'reducer', keepDims: op.keepDims });
        return;
      }
      case 'reshape': {
        const shape = g.tensors[op.y].shape;
        const s = this.int32Const(`${name}/shape`, shape);
        const y = sameAsInput();
        this.op(Op.RESHAPE, 1, 1, [x, s], [y], { type: 'reshape', newShape: shape });
        return;
      }
      case 'pad': {
        const p = this.add({
          name: `${name}/paddings`,
          shape: [4, 2],
          type: TensorType.INT32,
          data: i32bytes([0, 0, ...op.pads[0], ...op.pads[1], 0, 0]),
        });
        const y = sameAsInput();
        this.op(Op.PAD, 1, 2, [x, p], [y], { type: 'pad' });
        return;
      }
      case 'softmax': {
        const y = this.activation(op.y, { scale: 1 / 256, zeroPoint: -128 });
        this.op(Op.SOFTMAX, 1, 2, [x], [y], { type: 'softmax', beta: 1 });
        return;
      }
      case 'logistic': {
        const y = this.activation(op.y, { scale: 1 / 256, zeroPoint: -128 });
        this.op(Op.LOGISTIC, 1, 2, [x], [y]);
        return;
      }
      case 'tanh': {
        const y = this.activation(op.y, { scale: 1 / 128, zeroPoint: 0 });
        this.op(Op.TANH, 1, 2, [x], [y]);
        return;
      }
      case 'relu':
      case 'relu6': {
        const y = this.activation(op.y);
        this.op(op.kind === 'relu' ? Op.RELU : Op.RELU6, 1, 2, [x], [y]);
        return;
      }
      case 'add': {
        const y = this.activation(op.y);
        this.op(Op.ADD, 1, 2, [this.map[op.a], this.map[op.b]], [y], { type: 'add', act: ACT[op.act] });
        return;
      }
      case 'affine': {
        const identityScale = op.scale.every((v) => v === 1);
        const zeroShift = op.shift.every((v) => v === 0);
        let cur = x;
        if (!identityScale) {
          const s = this.floatConst(`${name}/scale`, op.scale);
          let mid: number;
          if (zeroShift) mid = this.activation(op.y);
          else if (this.int8) {
            // The product's range, bounded from the output's: y − shift.
            const r = this.ranges![op.y];
            let lo = Infinity;
            let hi = -Infinity;
            for (const v of op.shift) {
              lo = Math.min(lo, r.min - v);
              hi = Math.max(hi, r.max - v);
            }
            const p = activationParams({ min: lo, max: hi });
            mid = this.add({
              name: `${name}/scaled`,
              shape: g.tensors[op.y].shape,
              type: TensorType.INT8,
              quant: { scale: [p.scale], zeroPoint: [p.zeroPoint] },
            });
          } else mid = this.add({ name: `${name}/scaled`, shape: g.tensors[op.y].shape, type: TensorType.FLOAT32 });
          this.op(Op.MUL, 1, 2, [cur, s], [mid], { type: 'mul', act: Activation.NONE });
          cur = mid;
        }
        if (!zeroShift || identityScale) {
          const b = this.floatConst(`${name}/shift`, op.shift);
          const y = this.activation(op.y);
          this.op(Op.ADD, 1, 2, [cur, b], [y], { type: 'add', act: Activation.NONE });
        }
        return;
      }
    }
  }
}

/**
 * The TFLite operator list for a lowered graph: float32 when `ranges` is null, else int8 with
 * those calibrated ranges. `io` picks the int8 model's input/output type (see README).
 */
export function emitModel(g: Graph, ranges: Range[] | null, io: 'int8' | 'float32', description: string, labels?: string[]): Emitted {
  const e = new Emitter(g, ranges);
  const shapeIn = g.tensors[g.input].shape;
  const shapeOut = g.tensors[g.output].shape;
  let modelInput = e.activation(g.input);
  if (e.int8 && io === 'float32') {
    const internal = modelInput;
    e.tensors[internal].name = 'input_int8';
    modelInput = e.add({ name: 'input', shape: shapeIn, type: TensorType.FLOAT32 });
    e.op(Op.QUANTIZE, 1, 2, [modelInput], [internal]);
  }
  for (const op of g.ops) e.emit(op);
  let modelOutput = e.map[g.output];
  if (e.int8 && io === 'float32') {
    const internal = modelOutput;
    e.tensors[internal].name = 'output_int8';
    modelOutput = e.add({ name: 'output', shape: shapeOut, type: TensorType.FLOAT32 });
    e.op(Op.DEQUANTIZE, 1, 2, [internal], [modelOutput]);
  } else {
    e.tensors[modelOutput].name = 'output';
    if (!(e.int8 && io === 'float32')) e.tensors[modelInput].name = 'input';
  }
  const qIn = e.q[g.input];
  const qOut = e.q[g.output];
  const ioInt8 = e.int8 && io === 'int8';
  const metadata = labels?.length ? [{ name: 'labels', data: new TextEncoder().encode(labels.join('\n')) }] : undefined;
  return {
    model: { description, tensors: e.tensors, ops: e.ops, inputs: [modelInput], outputs: [modelOutput], metadata },
    input: ioInt8 ? { type: 'int8', shape: shapeIn, scale: qIn!.scale, zeroPoint: qIn!.zeroPoint } : { type: 'float32', shape: shapeIn },
    output: ioInt8
      ? { type: 'int8', shape: shapeOut, scale: qOut!.scale, zeroPoint: qOut!.zeroPoint }
      : { type: 'float32', shape: shapeOut },
  };
}
