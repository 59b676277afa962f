// TF.js layers model -> ONNX model bytes, written with protobufjs's static encoder for the
// onnx.proto subset in onnx-subset.proto. Runs wherever TF.js runs (the inference worker, Node tests).
//
// Layout: the ONNX input keeps TF.js's NHWC shape ([batch, h, w, c]) so the same preprocessing feeds
// both runtimes; it is transposed once to NCHW, ONNX's convolution layout, and every 4-D value stays
// NCHW until a Flatten/Reshape, which transposes back so element order matches Keras exactly.
import * as tf from '@tensorflow/tfjs';
import { onnx } from './onnx-pb.js';
import { UnsupportedLayerError } from '../unsupported';

/** ONNX IR version 11 with the ai.onnx opset 23 (ONNX 1.18; onnxruntime 1.22+). */
export const ONNX_IR_VERSION = 11;
export const ONNX_OPSET = 23;
export const ONNX_INPUT = 'image';
export const ONNX_OUTPUT = 'probabilities';
const FORMAT = 'ONNX';

export interface OnnxExportOptions {
  labels: string[];
  /** Extra metadata_props entries (preprocessing, normalization, version ...). */
  metadata?: Record<string, string>;
  producerVersion?: string;
  modelVersion?: number;
  docString?: string;
}

const AT = onnx.AttributeProto.AttributeType;
const DT = onnx.TensorProto.DataType;

interface Value {
  name: string;
  /** Keras shape without the batch dimension. */
  shape: number[];
  /** 4-D values (rank 3 without batch) are stored NCHW in the graph. */
  nchw: boolean;
}

type Attr = number | number[] | string | { float: number } | { floats: number[] };

function attribute(name: string, v: Attr): onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: AT.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: AT.INT, i: v };
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  if ('float' in v) return { name, type: AT.FLOAT, f: v.float };
  return { name, type: AT.FLOATS, floats: v.floats };
}

class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  private counter = 0;
  private readonly used = new Set<string>();

  fresh(base: string): string {
    let name = base.replace(/[^A-Za-z0-9_./-]/g, '_');
    while (this.used.has(name)) name = `${base}_${++this.counter}`;
    this.used.add(name);
    return name;
  }

  floats(base: string, dims: number[], data: Float32Array | number[]): string {
    const name = this.fresh(base);
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    const raw = new Uint8Array(f32.buffer.slice(f32.byteOffset, f32.byteOffset + f32.byteLength));
    this.initializers.push({ name, dims, dataType: DT.FLOAT, rawData: raw });
    return name;
  }

  int64s(base: string, data: number[]): string {
    const name = this.fresh(base);
    this.initializers.push({ name, dims: [data.length], dataType: DT.INT64, int64Data: data });
    return name;
  }

  node(op: string, inputs: string[], outBase: string, attrs: Record<string, Attr> = {}): string {
    const out = this.fresh(outBase);
    this.nodes.push({
      opType: op,
      name: this.fresh(`${outBase}/${op}`),
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }
}

type LayerJson = { class_name: string; config: Record<string, unknown>; name?: string; inbound_nodes?: unknown[] };

const pair = (v: unknown, what: string): [number, number] => {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0] as number, v[1] as number];
  throw new Error(`Unexpected ${what}: ${JSON.stringify(v)}`);
};

/** TF's 'same'/'valid' padding as explicit ONNX pads [top, left, bottom, right]. */
export function tfPads(
  padding: string,
  inHW: [number, number],
  kernel: [number, number],
  strides: [number, number],
  dilation: [number, number] = [1, 1],
): number[] {
  if (padding === 'valid') return [0, 0, 0, 0];
  const begin: number[] = [];
  const end: number[] = [];
  for (let i = 0; i < 2; i++) {
    const eff = (kernel[i] - 1) * dilation[i] + 1;
    const out = Math.ceil(inHW[i] / strides[i]);
    const total = Math.max((out - 1) * strides[i] + eff - inHW[i], 0);
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
  }
  return [...begin, ...end];
}

function layerWeights(layer: tf.layers.Layer): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const tensors = layer.getWeights();
  layer.weights.forEach((w, i) => {
    const key = (w.originalName ?? w.name).split('/').pop()!.replace(/_\d+$/, '');
    out.set(key, { shape: tensors[i].shape, data: tensors[i].dataSync() as Float32Array });
  });
  return out;
}

/** Keras kernel [kh, kw, in, out] -> ONNX [out, in, kh, kw]. */
function convKernel(k: { shape: number[]; data: Float32Array }): { dims: number[]; data: Float32Array } {
  const [kh, kw, cin, cout] = k.shape;
  const data = new Float32Array(k.data.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < cout; o++) data[((o * cin + c) * kh + i) * kw + j] = k.data[((i * kw + j) * cin + c) * cout + o];
  return { dims: [cout, cin, kh, kw], data };
}

/** Keras depthwise kernel [kh, kw, in, mult] -> ONNX grouped [in*mult, 1, kh, kw] (channel c*mult+m). */
function depthwiseKernel(k: { shape: number[]; data: Float32Array }): { dims: number[]; data: Float32Array } {
  const [kh, kw, cin, mult] = k.shape;
  const data = new Float32Array(k.data.length);
  for (let i = 0; i < kh; i++)
    for (let j = 0; j < kw; j++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < mult; m++) data[((c * mult + m) * kh + i) * kw + j] = k.data[((i * kw + j) * cin + c) * mult + m];
  return { dims: [cin * mult, 1, kh, kw], data };
}

class Converter {
  readonly g = new GraphBuilder();
  constructor(private readonly model: tf.LayersModel) {}

  private activation(x: Value, act: unknown, layerName: string, layerClass: string): Value {
    const name =
      typeof act === 'string'
        ? act
        : act && typeof act === 'object'
          ? String((act as { class_name?: unknown }).class_name ?? '')
          : 'linear';
    const g = this.g;
    const base = `${layerName}/${name}`;
    const out = (n: string): Value => ({ ...x, name: n });
    switch (name.toLowerCase()) {
      case '':
      case 'linear':
        return x;
      case 'relu':
        return out(g.node('Relu', [x.name], base));
      case 'relu6':
        return out(g.node('Clip', [x.name, g.floats(`${base}/min`, [], [0]), g.floats(`${base}/max`, [], [6])], base));
      case 'sigmoid':
        return out(g.node('Sigmoid', [x.name], base));
      case 'tanh':
        return out(g.node('Tanh', [x.name], base));
      case 'elu':
        return out(g.node('Elu', [x.name], base, { alpha: { float: 1 } }));
      case 'selu':
        return out(g.node('Selu', [x.name], base, { alpha: { float: 1.6732632423543772 }, gamma: { float: 1.0507009873554805 } }));
      case 'softplus':
        return out(g.node('Softplus', [x.name], base));
      case 'softsign':
        return out(g.node('Softsign', [x.name], base));
      case 'hardsigmoid':
      case 'hard_sigmoid':
        return out(g.node('HardSigmoid', [x.name], base, { alpha: { float: 0.2 }, beta: { float: 0.5 } }));
      case 'swish':
        return out(g.node('Mul', [x.name, g.node('Sigmoid', [x.name], `${base}/sigmoid`)], base));
      case 'softmax':
        // Keras applies softmax on the last axis; for an NCHW value that is axis 1.
        return out(g.node('Softmax', [x.name], base, { axis: x.nchw ? 1 : x.shape.length }));
      default:
        throw new UnsupportedLayerError(FORMAT, layerName, layerClass, `activation "${name}" has no ONNX equivalent here`);
    }
  }

  /** Back to Keras (NHWC) element order. */
  private toNhwc(x: Value, base: string): string {
    return x.nchw ? this.g.node('Transpose', [x.name], `${base}/to_nhwc`, { perm: [0, 2, 3, 1] }) : x.name;
  }

  layer(json: LayerJson, inputs: Value[]): Value {
    const cls = json.class_name;
    const cfg = json.config;
    const name = String(cfg.name ?? json.name);
    const layer = this.model.getLayer(name);
    const outShape = (Array.isArray(layer.outputShape[0]) ? (layer.outputShape[0] as number[]) : (layer.outputShape as number[])).slice(
      1,
    ) as number[];
    const g = this.g;
    const x = inputs[0];
    const unsupported = (detail: string) => new UnsupportedLayerError(FORMAT, name, cls, detail);
    const weights = () => layerWeights(layer);
    const spatial = (): [number, number] => {
      if (!x.nchw) throw unsupported('expects a 4-D image tensor');
      return [x.shape[0], x.shape[1]];
    };
    const channelsLast = () => {
      if (
        cfg.data_format !== undefined &&
        cfg.data_format !== null &&
        cfg.data_format !== 'channelsLast' &&
        cfg.data_format !== 'channels_last'
      )
        throw unsupported(`data format ${String(cfg.data_format)}`);
    };
    const value = (n: string, shape = outShape): Value => ({ name: n, shape, nchw: shape.length === 3 });

    switch (cls) {
      case 'Dropout':
      case 'SpatialDropout1D':
      case 'SpatialDropout2D':
      case 'GaussianNoise':
      case 'GaussianDropout':
      case 'AlphaDropout':
        return x; // inference: identity
      case 'Activation':
        return this.activation(x, cfg.activation, name, cls);
      case 'ReLU': {
        const max = cfg.max_value;
        if ((cfg.negative_slope ?? 0) !== 0 || (cfg.threshold ?? 0) !== 0) throw unsupported('ReLU with a negative slope or threshold');
        if (typeof max === 'number')
          return value(g.node('Clip', [x.name, g.floats(`${name}/min`, [], [0]), g.floats(`${name}/max`, [], [max])], name), x.shape);
        return value(g.node('Relu', [x.name], name), x.shape);
      }
      case 'LeakyReLU':
        return value(g.node('LeakyRelu', [x.name], name, { alpha: { float: Number(cfg.alpha ?? 0.3) } }), x.shape);
      case 'ELU':
        return value(g.node('Elu', [x.name], name, { alpha: { float: Number(cfg.alpha ?? 1) } }), x.shape);
      case 'Softmax': {
        const axis = Number(cfg.axis ?? -1);
        if (axis !== -1 && axis !== x.shape.length) throw unsupported(`softmax over axis ${axis}`);
        return value(g.node('Softmax', [x.name], name, { axis: x.nchw ? 1 : x.shape.length }), x.shape);
      }
      case 'Rescaling': {
        const scaled = g.node('Mul', [x.name, g.floats(`${name}/scale`, [], [Number(cfg.scale)])], `${name}/scale`);
        return value(g.node('Add', [scaled, g.floats(`${name}/offset`, [], [Number(cfg.offset ?? 0)])], name), x.shape);
      }
      case 'Dense': {
        if (x.shape.length !== 1) throw unsupported(`Dense on a rank-${x.shape.length + 1} tensor`);
        const w = weights();
        const kernel = w.get('kernel')!;
        const inputs2 = [x.name, g.floats(`${name}/kernel`, kernel.shape, kernel.data)];
        if (cfg.use_bias !== false && w.has('bias')) inputs2.push(g.floats(`${name}/bias`, w.get('bias')!.shape, w.get('bias')!.data));
        const y = value(g.node('Gemm', inputs2, `${name}/gemm`), [kernel.shape[1]]);
        return this.activation(y, cfg.activation, name, cls);
      }
      case 'Conv2D':
      case 'DepthwiseConv2D':
      case 'SeparableConv2D': {
        channelsLast();
        const hw = spatial();
        const kernelSize = pair(cfg.kernel_size, 'kernel_size');
        const strides = pair(cfg.strides ?? 1, 'strides');
        const dilation = pair(cfg.dilation_rate ?? 1, 'dilation_rate');
        const padding = String(cfg.padding ?? 'valid');
        if (padding !== 'same' && padding !== 'valid') throw unsupported(`padding "${padding}"`);
        const pads = tfPads(padding, hw, kernelSize, strides, dilation);
        const w = weights();
        const attrs = { kernel_shape: kernelSize, strides, dilations: dilation, pads };
        const bias = cfg.use_bias !== false && w.has('bias') ? w.get('bias')! : null;
        let y: string;
        if (cls === 'Conv2D') {
          const k = convKernel(w.get('kernel')!);
          const ins = [x.name, g.floats(`${name}/kernel`, k.dims, k.data)];
          if (bias) ins.push(g.floats(`${name}/bias`, bias.shape, bias.data));
          y = g.node('Conv', ins, `${name}/conv`, { ...attrs, group: 1 });
        } else {
          const dk = depthwiseKernel(w.get('depthwise_kernel')!);
          const cin = x.shape[2];
          const ins = [x.name, g.floats(`${name}/depthwise_kernel`, dk.dims, dk.data)];
          if (bias && cls === 'DepthwiseConv2D') ins.push(g.floats(`${name}/bias`, bias.shape, bias.data));
          y = g.node('Conv', ins, `${name}/depthwise`, { ...attrs, group: cin });
          if (cls === 'SeparableConv2D') {
            const pk = convKernel(w.get('pointwise_kernel')!);
            const pins = [y, g.floats(`${name}/pointwise_kernel`, pk.dims, pk.data)];
            if (bias) pins.push(g.floats(`${name}/bias`, bias.shape, bias.data));
            y = g.node('Conv', pins, `${name}/pointwise`, { kernel_shape: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], group: 1 });
          }
        }
        return this.activation(value(y), cfg.activation, name, cls);
      }
      case 'BatchNormalization': {
        const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1];
        const rank = x.shape.length + 1;
        if (axis.length !== 1 || !(axis[0] === -1 || axis[0] === rank - 1))
          throw unsupported(`normalisation over axis ${JSON.stringify(cfg.axis)}`);
        if (x.shape.length !== 1 && !x.nchw) throw unsupported(`batch norm on a rank-${rank} tensor`);
        const w = weights();
        const c = w.get('moving_mean')!.data.length;
        const gamma = w.get('gamma')?.data ?? new Float32Array(c).fill(1);
        const beta = w.get('beta')?.data ?? new Float32Array(c);
        const ins = [
          x.name,
          g.floats(`${name}/gamma`, [c], gamma),
          g.floats(`${name}/beta`, [c], beta),
          g.floats(`${name}/moving_mean`, [c], w.get('moving_mean')!.data),
          g.floats(`${name}/moving_variance`, [c], w.get('moving_variance')!.data),
        ];
        return value(g.node('BatchNormalization', ins, name, { epsilon: { float: Number(cfg.epsilon ?? 1e-3) } }), x.shape);
      }
      case 'MaxPooling2D':
      case 'AveragePooling2D': {
        channelsLast();
        const hw = spatial();
        const pool = pair(cfg.pool_size ?? 2, 'pool_size');
        const strides = pair(cfg.strides ?? pool, 'strides');
        const padding = String(cfg.padding ?? 'valid');
        const pads = tfPads(padding, hw, pool, strides);
        const op = cls === 'MaxPooling2D' ? 'MaxPool' : 'AveragePool';
        // TF averages over the window's in-image pixels only: count_include_pad = 0.
        const attrs: Record<string, Attr> = { kernel_shape: pool, strides, pads };
        if (op === 'AveragePool') attrs.count_include_pad = 0;
        return value(g.node(op, [x.name], name, attrs));
      }
      case 'GlobalAveragePooling2D':
      case 'GlobalMaxPooling2D': {
        channelsLast();
        spatial();
        if (cfg.keepdims === true) throw unsupported('keepdims');
        const pooled = g.node(cls === 'GlobalAveragePooling2D' ? 'GlobalAveragePool' : 'GlobalMaxPool', [x.name], `${name}/pool`);
        return value(g.node('Flatten', [pooled], name, { axis: 1 }), outShape);
      }
      case 'Flatten':
        if (x.shape.length === 1) return x;
        return value(g.node('Flatten', [this.toNhwc(x, name)], name, { axis: 1 }), outShape);
      case 'Reshape': {
        const target = (cfg.target_shape as number[]).map((d) => (d === null ? -1 : d));
        const reshaped = g.node(
          'Reshape',
          [this.toNhwc(x, name), g.int64s(`${name}/shape`, [0, ...target])],
          outShape.length === 3 ? `${name}/nhwc` : name,
        );
        if (outShape.length === 3) return value(g.node('Transpose', [reshaped], name, { perm: [0, 3, 1, 2] }));
        return value(reshaped);
      }
      case 'ZeroPadding2D': {
        channelsLast();
        spatial();
        const p = cfg.padding;
        let top: number, bottom: number, left: number, right: number;
        if (typeof p === 'number') [top, bottom, left, right] = [p, p, p, p];
        else if (Array.isArray(p) && typeof p[0] === 'number')
          [top, bottom, left, right] = [p[0] as number, p[0] as number, p[1] as number, p[1] as number];
        else if (Array.isArray(p)) [[top, bottom], [left, right]] = p as [[number, number], [number, number]];
        else throw unsupported('padding format');
        return value(g.node('Pad', [x.name, g.int64s(`${name}/pads`, [0, 0, top, left, 0, 0, bottom, right])], name, { mode: 'constant' }));
      }
      case 'Add':
      case 'Multiply':
      case 'Maximum':
      case 'Minimum':
      case 'Average': {
        if (inputs.some((v) => v.nchw !== x.nchw || v.shape.join() !== x.shape.join())) throw unsupported('inputs of different shapes');
        const op = { Add: 'Sum', Multiply: 'Mul', Maximum: 'Max', Minimum: 'Min', Average: 'Mean' }[cls]!;
        if (op === 'Mul') {
          let acc = inputs[0].name;
          for (let i = 1; i < inputs.length; i++)
            acc = g.node('Mul', [acc, inputs[i].name], i === inputs.length - 1 ? name : `${name}/mul`);
          return value(acc, x.shape);
        }
        return value(
          g.node(
            op,
            inputs.map((v) => v.name),
            name,
          ),
          x.shape,
        );
      }
      case 'Concatenate': {
        const axis = Number(cfg.axis ?? -1);
        const rank = x.shape.length + 1;
        if (axis !== -1 && axis !== rank - 1) throw unsupported(`concatenation on axis ${axis}`);
        if (inputs.some((v) => v.nchw !== x.nchw)) throw unsupported('inputs of different ranks');
        return value(
          g.node(
            'Concat',
            inputs.map((v) => v.name),
            name,
            { axis: x.nchw ? 1 : rank - 1 },
          ),
        );
      }
      default:
        throw unsupported('no ONNX conversion for this layer type');
    }
  }
}

function valueInfo(name: string, dims: Array<number | string>): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: { elemType: DT.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } },
    },
  };
}

type InboundRef = [string, number, number, ...unknown[]];

/** The layers of a Sequential or functional topology, each with the names of the layers it reads. */
function topologyLayers(topology: { class_name: string; config: unknown }): Array<{ json: LayerJson; from: string[] }> {
  const cfg = topology.config as { layers?: LayerJson[] } | LayerJson[];
  const layers = Array.isArray(cfg) ? cfg : (cfg.layers ?? []);
  if (topology.class_name === 'Sequential') {
    const out: Array<{ json: LayerJson; from: string[] }> = [];
    let prev = '__input__';
    for (const l of layers) {
      if (l.class_name === 'InputLayer') continue;
      out.push({ json: l, from: [prev] });
      prev = String(l.config.name);
    }
    return out;
  }
  return layers.map((l) => {
    const nodes = (l.inbound_nodes ?? []) as unknown[];
    if (nodes.length > 1)
      throw new UnsupportedLayerError(FORMAT, String(l.name ?? l.config.name), l.class_name, 'a layer used more than once');
    const refs = (nodes[0] ?? []) as unknown;
    // TF.js writes [[name, node, tensor, kwargs], ...]; Keras 3 writes {args: [...]} objects, which TF.js 4.22 does not load.
    const from = Array.isArray(refs) ? (refs as InboundRef[]).map((r) => String(r[0])) : [];
    return { json: l, from };
  });
}

/** ONNX model bytes for a one-input, one-output image (or embedding) classifier. */
export function layersModelToOnnx(model: tf.LayersModel, opts: OnnxExportOptions): Uint8Array {
  if (model.inputs.length !== 1 || model.outputs.length !== 1)
    throw new UnsupportedLayerError(FORMAT, model.name, 'Model', 'exactly one input and one output are supported');
  const topology = model.toJSON(null, false) as { class_name: string; config: unknown };
  const inputShape = model.inputs[0].shape.slice(1) as number[];
  if (inputShape.some((d) => d === null))
    throw new UnsupportedLayerError(FORMAT, model.inputs[0].name, 'InputLayer', 'the input needs a fixed size');
  const conv = new Converter(model);
  const g = conv.g;
  g.fresh(ONNX_INPUT);
  const values = new Map<string, Value>();
  let inputValue: Value = { name: ONNX_INPUT, shape: inputShape, nchw: false };
  if (inputShape.length === 3)
    inputValue = { name: g.node('Transpose', [ONNX_INPUT], 'input/nchw', { perm: [0, 3, 1, 2] }), shape: inputShape, nchw: true };
  values.set('__input__', inputValue);
  const entries = topologyLayers(topology);
  const inputLayerNames = new Set<string>();
  const cfg = topology.config as { layers?: LayerJson[] };
  for (const l of Array.isArray(cfg.layers) ? cfg.layers : [])
    if (l.class_name === 'InputLayer') inputLayerNames.add(String(l.config.name ?? l.name));
  for (const n of inputLayerNames) values.set(n, inputValue);
  let last: Value = inputValue;
  for (const { json, from } of entries) {
    if (json.class_name === 'InputLayer') continue;
    if (['Sequential', 'Functional', 'Model'].includes(json.class_name)) {
      throw new UnsupportedLayerError(FORMAT, String(json.config.name ?? json.name), json.class_name, 'a model nested inside the model');
    }
    const ins = from.map((f) => {
      const v = values.get(f);
      if (!v)
        throw new UnsupportedLayerError(
          FORMAT,
          String(json.config.name ?? json.name),
          json.class_name,
          `its input "${f}" is not computed before it`,
        );
      return v;
    });
    last = conv.layer(json, ins);
    values.set(String(json.config.name ?? json.name), last);
  }
  const outputLayer = model.outputLayers[0]?.name;
  if (outputLayer && values.has(outputLayer)) last = values.get(outputLayer)!;
  const outShape = model.outputs[0].shape.slice(1) as number[];
  const finalName = last.nchw ? g.node('Transpose', [last.name], 'output/nhwc', { perm: [0, 2, 3, 1] }) : last.name;
  g.nodes.push({ opType: 'Identity', name: g.fresh('output/Identity'), input: [finalName], output: [ONNX_OUTPUT] });

  const metadata: Record<string, string> = { labels: JSON.stringify(opts.labels), ...opts.metadata };
  const proto = onnx.ModelProto.encode({
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'trainyard',
    producerVersion: opts.producerVersion ?? '',
    modelVersion: opts.modelVersion ?? 1,
    docString: opts.docString ?? '',
    graph: {
      name: model.name,
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT, ['batch', ...inputShape])],
      output: [valueInfo(ONNX_OUTPUT, ['batch', ...outShape])],
    },
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
  }).finish();
  return proto;
}
