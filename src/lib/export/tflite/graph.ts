// A TF.js layers model lowered to a small graph of TFLite-shaped operations (float weights already
// in TFLite layout), then simplified: batch norm folded into the convolution before it, and
// relu/relu6 fused into the conv/dense before it. Anything that has no exact TFLite equivalent
// throws UnsupportedLayerError naming the layer.
import type * as tf from '@tensorflow/tfjs';
import { UnsupportedLayerError } from '../unsupported';

export const FORMAT = 'TFLite';

export type Act = 'NONE' | 'RELU' | 'RELU6';
export type Pad = 'same' | 'valid';

/** An activation tensor (batch dimension fixed to 1). */
export interface GTensor {
  name: string;
  shape: number[];
}

export type GOp =
  | {
      kind: 'conv2d';
      x: number;
      y: number;
      w: Float32Array;
      wShape: [number, number, number, number];
      b: Float32Array;
      strides: [number, number];
      dilation: [number, number];
      padding: Pad;
      act: Act;
    }
  | {
      kind: 'depthwise';
      x: number;
      y: number;
      w: Float32Array;
      wShape: [number, number, number, number];
      b: Float32Array;
      strides: [number, number];
      dilation: [number, number];
      padding: Pad;
      multiplier: number;
      act: Act;
    }
  | { kind: 'fc'; x: number; y: number; w: Float32Array; wShape: [number, number]; b: Float32Array; act: Act }
  | { kind: 'maxpool' | 'avgpool'; x: number; y: number; size: [number, number]; strides: [number, number]; padding: Pad }
  | { kind: 'mean' | 'reducemax'; x: number; y: number; keepDims: boolean }
  | { kind: 'reshape' | 'softmax' | 'relu' | 'relu6' | 'logistic' | 'tanh'; x: number; y: number }
  | { kind: 'pad'; x: number; y: number; pads: [[number, number], [number, number]] }
  | { kind: 'add'; a: number; b: number; y: number; act: Act }
  /** y = x * scale + shift, per channel (length C) or per tensor (length 1). */
  | { kind: 'affine'; x: number; y: number; scale: Float32Array; shift: Float32Array };

export interface Graph {
  tensors: GTensor[];
  ops: GOp[];
  input: number;
  output: number;
}

type Sym = tf.SymbolicTensor;
interface KNode {
  inputTensors: Sym[];
  outputTensors: Sym[];
}
type AnyConfig = Record<string, unknown>;

const pair = (v: unknown, fallback: number): [number, number] => {
  if (Array.isArray(v)) return [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])];
  if (typeof v === 'number') return [v, v];
  return [fallback, fallback];
};

/** Keras [kh, kw, in, out] → TFLite [out, kh, kw, in]. */
function convKernel(k: Float32Array, [kh, kw, ci, co]: number[]): Float32Array {
  const out = new Float32Array(k.length);
  for (let h = 0; h < kh; h++)
    for (let w = 0; w < kw; w++)
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[((o * kh + h) * kw + w) * ci + i] = k[((h * kw + w) * ci + i) * co + o];
  return out;
}

/** Keras [in, out] → TFLite [out, in]. */
function denseKernel(k: Float32Array, ci: number, co: number): Float32Array {
  const out = new Float32Array(k.length);
  for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[o * ci + i] = k[i * co + o];
  return out;
}

class Lowering {
  readonly tensors: GTensor[] = [];
  readonly ops: GOp[] = [];
  private readonly ids = new Map<number, number>();

  tensor(name: string, shape: ReadonlyArray<number | null>): number {
    if (shape.slice(1).some((d) => d === null || d === undefined))
      throw new Error(`Tensor ${name} has an unknown dimension: ${JSON.stringify(shape)}.`);
    this.tensors.push({ name, shape: [1, ...(shape.slice(1) as number[])] });
    return this.tensors.length - 1;
  }

  bind(sym: Sym, id: number): void {
    this.ids.set(sym.id, id);
  }

  has(sym: Sym): boolean {
    return this.ids.has(sym.id);
  }

  get(sym: Sym): number {
    const id = this.ids.get(sym.id);
    if (id === undefined) throw new Error(`Internal: tensor ${sym.name} was used before it was computed.`);
    return id;
  }

  /** Lowers every layer of `model` (recursively for nested models); inputs must be bound already. */
  model(model: tf.LayersModel): void {
    const pending: Array<{ layer: tf.layers.Layer; node: KNode }> = [];
    for (const layer of model.layers) {
      for (const node of (layer as tf.layers.Layer & { inboundNodes: KNode[] }).inboundNodes) pending.push({ layer, node });
    }
    // Layers are listed in topological order, but nested or shared layers may carry nodes from
    // other graphs: run every node whose inputs are known and whose outputs are not, until fixed.
    let progress = true;
    while (progress) {
      progress = false;
      for (const item of pending) {
        const { layer, node } = item;
        if (node.outputTensors.every((t) => this.has(t))) continue;
        if (!node.inputTensors.every((t) => this.has(t))) continue;
        this.layer(layer, node);
        progress = true;
      }
    }
    for (const out of model.outputs)
      if (!this.has(out)) throw new Error(`Internal: output ${out.name} of ${model.name} was never computed.`);
  }

  private activation(layer: tf.layers.Layer, name: string | undefined | null, x: number, shape: number[]): number {
    const kind = (name ?? 'linear').toLowerCase();
    if (kind === 'linear') return x;
    const map: Record<string, 'relu' | 'relu6' | 'softmax' | 'logistic' | 'tanh'> = {
      relu: 'relu',
      relu6: 'relu6',
      softmax: 'softmax',
      sigmoid: 'logistic',
      tanh: 'tanh',
    };
    const op = map[kind];
    if (!op)
      throw new UnsupportedLayerError(FORMAT, layer.name, layer.getClassName(), `activation "${kind}" has no exact TFLite equivalent`);
    const y = this.tensor(`${layer.name}/${op}`, shape);
    this.ops.push({ kind: op, x, y });
    return y;
  }

  private layer(layer: tf.layers.Layer, node: KNode): void {
    const cls = layer.getClassName();
    const nested = layer as tf.LayersModel;
    if (Array.isArray((nested as { layers?: unknown }).layers) && Array.isArray(nested.inputs)) {
      if (nested.inputs.length !== node.inputTensors.length)
        throw new UnsupportedLayerError(FORMAT, layer.name, cls, 'nested model called with a different number of inputs');
      nested.inputs.forEach((t, i) => this.bind(t, this.get(node.inputTensors[i])));
      this.model(nested);
      nested.outputs.forEach((t, i) => this.bind(node.outputTensors[i], this.get(t)));
      return;
    }
    const cfg = layer.getConfig() as AnyConfig;
    const unsupported = (detail: string) => new UnsupportedLayerError(FORMAT, layer.name, cls, detail);
    if (cfg.dataFormat !== undefined && cfg.dataFormat !== 'channelsLast') throw unsupported('only channels-last data is supported');
    if (cls === 'InputLayer') return;
    if (cls === 'Add') {
      const ins = node.inputTensors.map((t) => this.get(t));
      const out = node.outputTensors[0];
      let acc = ins[0];
      for (let i = 1; i < ins.length; i++) {
        const y = this.tensor(i === ins.length - 1 ? layer.name : `${layer.name}/${i}`, out.shape);
        this.ops.push({ kind: 'add', a: acc, b: ins[i], y, act: 'NONE' });
        acc = y;
      }
      this.bind(out, acc);
      return;
    }
    if (node.inputTensors.length !== 1 || node.outputTensors.length !== 1)
      throw unsupported('only single-input layers (and Add) are supported');
    const inSym = node.inputTensors[0];
    const outSym = node.outputTensors[0];
    const x = this.get(inSym);
    const outShape = [1, ...(outSym.shape.slice(1) as number[])];
    const weights = () => layer.getWeights().map((w) => w.dataSync() as Float32Array);
    const newOut = (suffix = '') => this.tensor(layer.name + suffix, outSym.shape);
    const finish = (y: number, activation?: unknown) =>
      this.bind(outSym, this.activation(layer, activation as string | undefined, y, outShape));

    switch (cls) {
      case 'Dropout':
      case 'SpatialDropout1D':
      case 'GaussianNoise':
      case 'GaussianDropout':
      case 'AlphaDropout':
        this.bind(outSym, x); // identity at inference
        return;
      case 'Conv2D':
      case 'DepthwiseConv2D':
      case 'SeparableConv2D': {
        const k = layer.getWeights();
        const useBias = cfg.useBias !== false;
        const strides = pair(cfg.strides, 1);
        const dilation = pair(cfg.dilationRate, 1);
        const padding = cfg.padding as string;
        if (padding !== 'same' && padding !== 'valid') throw unsupported(`padding "${padding}"`);
        if ((dilation[0] > 1 || dilation[1] > 1) && (strides[0] > 1 || strides[1] > 1)) throw unsupported('dilation together with stride');
        const y = newOut(cfg.activation && cfg.activation !== 'linear' ? '/linear' : '');
        if (cls === 'Conv2D') {
          const shape = k[0].shape as [number, number, number, number];
          const co = shape[3];
          this.ops.push({
            kind: 'conv2d',
            x,
            y,
            strides,
            dilation,
            padding,
            act: 'NONE',
            w: convKernel(k[0].dataSync() as Float32Array, shape),
            wShape: [co, shape[0], shape[1], shape[2]],
            b: useBias ? Float32Array.from(k[1].dataSync()) : new Float32Array(co),
          });
        } else {
          const dw = k[0].shape as [number, number, number, number]; // [kh, kw, in, multiplier]
          const multiplier = dw[3];
          const channels = dw[2] * multiplier;
          if (cls === 'DepthwiseConv2D') {
            // Keras [kh, kw, in, m] is TFLite [1, kh, kw, in*m] in the same memory order.
            this.ops.push({
              kind: 'depthwise',
              x,
              y,
              strides,
              dilation,
              padding,
              multiplier,
              act: 'NONE',
              w: Float32Array.from(k[0].dataSync()),
              wShape: [1, dw[0], dw[1], channels],
              b: useBias ? Float32Array.from(k[1].dataSync()) : new Float32Array(channels),
            });
          } else {
            const pw = k[1].shape as [number, number, number, number];
            const mid = this.tensor(`${layer.name}/depthwise`, [1, outSym.shape[1], outSym.shape[2], channels]);
            this.ops.push({
              kind: 'depthwise',
              x,
              y: mid,
              strides,
              dilation,
              padding,
              multiplier,
              act: 'NONE',
              w: Float32Array.from(k[0].dataSync()),
              wShape: [1, dw[0], dw[1], channels],
              b: new Float32Array(channels),
            });
            this.ops.push({
              kind: 'conv2d',
              x: mid,
              y,
              strides: [1, 1],
              dilation: [1, 1],
              padding: 'valid',
              act: 'NONE',
              w: convKernel(k[1].dataSync() as Float32Array, pw),
              wShape: [pw[3], 1, 1, pw[2]],
              b: useBias ? Float32Array.from(k[2].dataSync()) : new Float32Array(pw[3]),
            });
          }
        }
        finish(y, cfg.activation);
        return;
      }
      case 'Dense': {
        if (inSym.shape.length !== 2) throw unsupported(`Dense on a rank-${inSym.shape.length} input (flatten first)`);
        const k = layer.getWeights();
        const [ci, co] = k[0].shape as [number, number];
        const y = newOut(cfg.activation && cfg.activation !== 'linear' ? '/linear' : '');
        this.ops.push({
          kind: 'fc',
          x,
          y,
          act: 'NONE',
          w: denseKernel(k[0].dataSync() as Float32Array, ci, co),
          wShape: [co, ci],
          b: cfg.useBias !== false ? Float32Array.from(k[1].dataSync()) : new Float32Array(co),
        });
        finish(y, cfg.activation);
        return;
      }
      case 'Activation':
        finish(x, cfg.activation);
        return;
      case 'ReLU': {
        const max = cfg.maxValue as number | null | undefined;
        if (max !== null && max !== undefined && max !== 6) throw unsupported(`ReLU with max value ${max}`);
        finish(x, max === 6 ? 'relu6' : 'relu');
        return;
      }
      case 'Softmax': {
        const axis = cfg.axis as number | undefined;
        if (axis !== undefined && axis !== -1 && axis !== outSym.shape.length - 1) throw unsupported(`softmax over axis ${axis}`);
        finish(x, 'softmax');
        return;
      }
      case 'BatchNormalization': {
        const axis = cfg.axis as number;
        if (axis !== -1 && axis !== inSym.shape.length - 1) throw unsupported(`batch norm over axis ${axis}`);
        const w = weights();
        let i = 0;
        const gamma = cfg.scale !== false ? w[i++] : null;
        const beta = cfg.center !== false ? w[i++] : null;
        const mean = w[i++];
        const variance = w[i];
        const eps = Number(cfg.epsilon ?? 1e-3);
        const scale = new Float32Array(mean.length);
        const shift = new Float32Array(mean.length);
        for (let c = 0; c < mean.length; c++) {
          // Same arithmetic as TF.js: (x - mean) * gamma / sqrt(var + eps) + beta.
          scale[c] = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + eps);
          shift[c] = (beta ? beta[c] : 0) - mean[c] * scale[c];
        }
        const y = newOut();
        this.ops.push({ kind: 'affine', x, y, scale, shift });
        this.bind(outSym, y);
        return;
      }
      case 'Rescaling': {
        const y = newOut();
        this.ops.push({ kind: 'affine', x, y, scale: Float32Array.of(Number(cfg.scale)), shift: Float32Array.of(Number(cfg.offset ?? 0)) });
        this.bind(outSym, y);
        return;
      }
      case 'Flatten':
      case 'Reshape': {
        const y = newOut();
        this.ops.push({ kind: 'reshape', x, y });
        this.bind(outSym, y);
        return;
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        const size = pair(cfg.poolSize, 2);
        const strides = pair(cfg.strides ?? cfg.poolSize, 2);
        const padding = cfg.padding as Pad;
        if (padding !== 'same' && padding !== 'valid') throw unsupported(`padding "${padding}"`);
        const y = newOut();
        this.ops.push({ kind: cls === 'MaxPooling2D' ? 'maxpool' : 'avgpool', x, y, size, strides, padding });
        this.bind(outSym, y);
        return;
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        const y = newOut();
        this.ops.push({ kind: cls === 'GlobalAveragePooling2D' ? 'mean' : 'reducemax', x, y, keepDims: outSym.shape.length === 4 });
        this.bind(outSym, y);
        return;
      }
      case 'ZeroPadding2D': {
        const p = cfg.padding as unknown;
        let pads: [[number, number], [number, number]];
        if (typeof p === 'number')
          pads = [
            [p, p],
            [p, p],
          ];
        else if (Array.isArray(p) && typeof p[0] === 'number')
          pads = [
            [p[0], p[0]],
            [p[1] as number, p[1] as number],
          ];
        else if (Array.isArray(p)) pads = [pair(p[0], 0), pair(p[1], 0)];
        else throw unsupported('unreadable padding');
        const y = newOut();
        this.ops.push({ kind: 'pad', x, y, pads });
        this.bind(outSym, y);
        return;
      }
      default:
        throw unsupported('no TFLite operation is written for this layer type');
    }
  }
}

/** Lowers a single-input, single-output layers model; throws UnsupportedLayerError for what TFLite cannot express here. */
export function lowerModel(model: tf.LayersModel): Graph {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new UnsupportedLayerError(FORMAT, model.name, model.getClassName(), 'only models with one input and one output are exported');
  }
  const g = new Lowering();
  const input = g.tensor('input', model.inputs[0].shape);
  g.bind(model.inputs[0], input);
  g.model(model);
  let output = g.get(model.outputs[0]);
  const graph: Graph = { tensors: g.tensors, ops: g.ops, input, output };
  if (output === input) {
    // An empty graph (e.g. only dropout): TFLite needs an op, so copy through a reshape.
    output = graph.tensors.push({ name: 'output', shape: [...graph.tensors[input].shape] }) - 1;
    graph.ops.push({ kind: 'reshape', x: input, y: output });
    graph.output = output;
  }
  return simplify(graph);
}

function consumers(g: Graph, t: number): number {
  let n = t === g.output ? 1 : 0;
  for (const op of g.ops) {
    if (op.kind === 'add') n += (op.a === t ? 1 : 0) + (op.b === t ? 1 : 0);
    else if (op.x === t) n++;
  }
  return n;
}

/** Batch norm into the conv before it, then relu/relu6 into the conv/dense/add before it. */
export function simplify(g: Graph): Graph {
  const ops = [...g.ops];
  const graph = (): Graph => ({ ...g, ops });
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (op.kind !== 'affine' || op.scale.length === 1) continue;
    const prev = ops.findIndex((p) => p.kind !== 'add' && p.y === op.x);
    const p = ops[prev];
    if (!p || (p.kind !== 'conv2d' && p.kind !== 'depthwise') || p.act !== 'NONE' || consumers(graph(), op.x) !== 1) continue;
    const per = p.kind === 'conv2d' ? p.wShape[1] * p.wShape[2] * p.wShape[3] : 0;
    const channels = op.scale.length;
    for (let k = 0; k < p.w.length; k++) {
      const c = p.kind === 'conv2d' ? Math.floor(k / per) : k % channels;
      p.w[k] *= op.scale[c];
    }
    for (let c = 0; c < channels; c++) p.b[c] = p.b[c] * op.scale[c] + op.shift[c];
    p.y = op.y;
    ops.splice(i, 1);
    i--;
  }
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (op.kind !== 'relu' && op.kind !== 'relu6') continue;
    const p = ops.find((q) => q.y === op.x);
    if (!p || (p.kind !== 'conv2d' && p.kind !== 'depthwise' && p.kind !== 'fc' && p.kind !== 'add') || p.act !== 'NONE') continue;
    if (consumers(graph(), op.x) !== 1) continue;
    p.act = op.kind === 'relu' ? 'RELU' : 'RELU6';
    p.y = op.y;
    ops.splice(i, 1);
    i--;
  }
  // Drop tensors no longer produced or used, renumbering the rest.
  const used = new Set<number>([g.input, g.output]);
  for (const op of ops) {
    used.add(op.y);
    if (op.kind === 'add') {
      used.add(op.a);
      used.add(op.b);
    } else used.add(op.x);
  }
  const remap = new Map<number, number>();
  const tensors: GTensor[] = [];
  g.tensors.forEach((t, i) => {
    if (used.has(i)) remap.set(i, tensors.push(t) - 1);
  });
  const r = (i: number) => remap.get(i)!;
  for (const op of ops) {
    op.y = r(op.y);
    if (op.kind === 'add') {
      op.a = r(op.a);
      op.b = r(op.b);
    } else op.x = r(op.x);
  }
  return { tensors, ops, input: r(g.input), output: r(g.output) };
}
