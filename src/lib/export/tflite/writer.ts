// Serialises a flat description of one TFLite subgraph into the TFLite flatbuffer format with the
// `flatbuffers` library's Builder (tables and field slots from schema.ts).
import { Builder } from 'flatbuffers';
import {
  Activation,
  type ActivationValue,
  type BuiltinOperatorValue,
  BuiltinOptions,
  F,
  Padding,
  TFLITE_FILE_IDENTIFIER,
  TFLITE_SCHEMA_VERSION,
  type TensorTypeValue,
} from './schema';

export interface QuantParams {
  scale: number[];
  zeroPoint: number[];
  /** Axis the per-channel scales run along (0 when per-tensor). */
  dimension?: number;
}

export interface TflTensor {
  name: string;
  shape: number[];
  type: TensorTypeValue;
  /** Constant contents, little-endian; absent for activations. */
  data?: Uint8Array;
  quant?: QuantParams;
}

export type TflOptions =
  | { type: 'conv'; padding: 'same' | 'valid'; strides: [number, number]; dilation: [number, number]; act: ActivationValue }
  | {
      type: 'depthwise';
      padding: 'same' | 'valid';
      strides: [number, number];
      dilation: [number, number];
      multiplier: number;
      act: ActivationValue;
    }
  | { type: 'pool'; padding: 'same' | 'valid'; strides: [number, number]; size: [number, number] }
  | { type: 'fc'; act: ActivationValue }
  | { type: 'softmax'; beta: number }
  | { type: 'add' | 'mul'; act: ActivationValue }
  | { type: 'reshape'; newShape: number[] }
  | { type: 'pad' }
  | { type: 'reducer'; keepDims: boolean };

export interface TflOp {
  code: BuiltinOperatorValue;
  version: number;
  inputs: number[];
  outputs: number[];
  options?: TflOptions;
}

export interface TflModel {
  description: string;
  tensors: TflTensor[];
  ops: TflOp[];
  inputs: number[];
  outputs: number[];
  /** Named metadata buffers (e.g. the class labels). */
  metadata?: Array<{ name: string; data: Uint8Array }>;
}

const pad = (p: 'same' | 'valid') => (p === 'same' ? Padding.SAME : Padding.VALID);

function intVector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addInt32(values[i]);
  return b.endVector();
}

function floatVector(b: Builder, values: readonly number[]): number {
  b.startVector(4, values.length, 4);
  for (let i = values.length - 1; i >= 0; i--) b.addFloat32(values[i]);
  return b.endVector();
}

function longVector(b: Builder, values: readonly number[]): number {
  b.startVector(8, values.length, 8);
  for (let i = values.length - 1; i >= 0; i--) b.addInt64(BigInt(values[i]));
  return b.endVector();
}

function offsetVector(b: Builder, offsets: readonly number[]): number {
  b.startVector(4, offsets.length, 4);
  for (let i = offsets.length - 1; i >= 0; i--) b.addOffset(offsets[i]);
  return b.endVector();
}

function bytesVector(b: Builder, data: Uint8Array): number {
  // schema: data:[ubyte] (force_align: 16)
  b.startVector(1, data.length, 16);
  for (let i = data.length - 1; i >= 0; i--) b.addInt8(data[i]);
  return b.endVector();
}

function options(b: Builder, o: TflOptions): [number, number] {
  switch (o.type) {
    case 'conv': {
      const f = F.Conv2DOptions;
      b.startObject(f.count);
      b.addFieldInt8(f.padding, pad(o.padding), Padding.SAME);
      b.addFieldInt32(f.stride_w, o.strides[1], 0);
      b.addFieldInt32(f.stride_h, o.strides[0], 0);
      b.addFieldInt8(f.fused_activation_function, o.act, Activation.NONE);
      b.addFieldInt32(f.dilation_w_factor, o.dilation[1], 1);
      b.addFieldInt32(f.dilation_h_factor, o.dilation[0], 1);
      return [BuiltinOptions.Conv2DOptions, b.endObject()];
    }
    case 'depthwise': {
      const f = F.DepthwiseConv2DOptions;
      b.startObject(f.count);
      b.addFieldInt8(f.padding, pad(o.padding), Padding.SAME);
      b.addFieldInt32(f.stride_w, o.strides[1], 0);
      b.addFieldInt32(f.stride_h, o.strides[0], 0);
      b.addFieldInt32(f.depth_multiplier, o.multiplier, 0);
      b.addFieldInt8(f.fused_activation_function, o.act, Activation.NONE);
      b.addFieldInt32(f.dilation_w_factor, o.dilation[1], 1);
      b.addFieldInt32(f.dilation_h_factor, o.dilation[0], 1);
      return [BuiltinOptions.DepthwiseConv2DOptions, b.endObject()];
    }
    case 'pool': {
      const f = F.Pool2DOptions;
      b.startObject(f.count);
      b.addFieldInt8(f.padding, pad(o.padding), Padding.SAME);
      b.addFieldInt32(f.stride_w, o.strides[1], 0);
      b.addFieldInt32(f.stride_h, o.strides[0], 0);
      b.addFieldInt32(f.filter_width, o.size[1], 0);
      b.addFieldInt32(f.filter_height, o.size[0], 0);
      b.addFieldInt8(f.fused_activation_function, Activation.NONE, Activation.NONE);
      return [BuiltinOptions.Pool2DOptions, b.endObject()];
    }
    case 'fc': {
      const f = F.FullyConnectedOptions;
      b.startObject(f.count);
      b.addFieldInt8(f.fused_activation_function, o.act, Activation.NONE);
      return [BuiltinOptions.FullyConnectedOptions, b.endObject()];
    }
    case 'softmax': {
      b.startObject(F.SoftmaxOptions.count);
      b.addFieldFloat32(F.SoftmaxOptions.beta, o.beta, 0);
      return [BuiltinOptions.SoftmaxOptions, b.endObject()];
    }
    case 'add':
    case 'mul': {
      b.startObject(1);
      b.addFieldInt8(0, o.act, Activation.NONE);
      return [o.type === 'add' ? BuiltinOptions.AddOptions : BuiltinOptions.MulOptions, b.endObject()];
    }
    case 'reshape': {
      const shape = intVector(b, o.newShape);
      b.startObject(F.ReshapeOptions.count);
      b.addFieldOffset(F.ReshapeOptions.new_shape, shape, 0);
      return [BuiltinOptions.ReshapeOptions, b.endObject()];
    }
    case 'pad':
      b.startObject(0);
      return [BuiltinOptions.PadOptions, b.endObject()];
    case 'reducer':
      b.startObject(F.ReducerOptions.count);
      b.addFieldInt8(F.ReducerOptions.keep_dims, o.keepDims ? 1 : 0, 0);
      return [BuiltinOptions.ReducerOptions, b.endObject()];
  }
}

/** The model as TFLite flatbuffer bytes (identifier "TFL3"). */
export function writeTflite(m: TflModel): Uint8Array {
  const b = new Builder(1024 + m.tensors.reduce((s, t) => s + (t.data?.length ?? 0), 0));

  // Buffers: 0 is the empty sentinel, then one per constant tensor, then metadata.
  const bufferOffsets: number[] = [];
  const emptyBuffer = () => {
    b.startObject(F.Buffer.count);
    return b.endObject();
  };
  bufferOffsets.push(emptyBuffer());
  const tensorBuffer = m.tensors.map((t) => {
    if (!t.data) return 0;
    const data = bytesVector(b, t.data);
    b.startObject(F.Buffer.count);
    b.addFieldOffset(F.Buffer.data, data, 0);
    return bufferOffsets.push(b.endObject()) - 1;
  });
  const metadataBuffers = (m.metadata ?? []).map((md) => {
    const data = bytesVector(b, md.data);
    b.startObject(F.Buffer.count);
    b.addFieldOffset(F.Buffer.data, data, 0);
    return bufferOffsets.push(b.endObject()) - 1;
  });

  const tensors = m.tensors.map((t, i) => {
    const name = b.createString(t.name);
    const shape = intVector(b, t.shape);
    let quant = 0;
    if (t.quant) {
      const q = F.QuantizationParameters;
      const scale = floatVector(b, t.quant.scale);
      const zp = longVector(b, t.quant.zeroPoint);
      b.startObject(q.count);
      b.addFieldOffset(q.scale, scale, 0);
      b.addFieldOffset(q.zero_point, zp, 0);
      b.addFieldInt32(q.quantized_dimension, t.quant.dimension ?? 0, 0);
      quant = b.endObject();
    }
    const f = F.Tensor;
    b.startObject(f.count);
    b.addFieldOffset(f.shape, shape, 0);
    b.addFieldInt8(f.type, t.type, 0);
    b.addFieldInt32(f.buffer, tensorBuffer[i], 0);
    b.addFieldOffset(f.name, name, 0);
    if (quant) b.addFieldOffset(f.quantization, quant, 0);
    b.addFieldInt8(f.has_rank, 1, 0);
    return b.endObject();
  });

  // Operator codes: one per distinct (code, version), in order of first use.
  const codes: Array<{ code: number; version: number }> = [];
  const codeIndex = (code: number, version: number) => {
    let i = codes.findIndex((c) => c.code === code && c.version === version);
    if (i < 0) i = codes.push({ code, version }) - 1;
    return i;
  };
  const operators = m.ops.map((op) => {
    const index = codeIndex(op.code, op.version);
    const inputs = intVector(b, op.inputs);
    const outputs = intVector(b, op.outputs);
    const [optType, opt] = op.options ? options(b, op.options) : [BuiltinOptions.NONE, 0];
    const f = F.Operator;
    b.startObject(f.count);
    b.addFieldInt32(f.opcode_index, index, 0);
    b.addFieldOffset(f.inputs, inputs, 0);
    b.addFieldOffset(f.outputs, outputs, 0);
    if (opt) {
      b.addFieldInt8(f.builtin_options_type, optType, 0);
      b.addFieldOffset(f.builtin_options, opt, 0);
    }
    return b.endObject();
  });
  const opCodes = codes.map(({ code, version }) => {
    const f = F.OperatorCode;
    b.startObject(f.count);
    b.addFieldInt8(f.deprecated_builtin_code, Math.min(code, 127), 0);
    b.addFieldInt32(f.version, version, 1);
    b.addFieldInt32(f.builtin_code, code, 0);
    return b.endObject();
  });

  const tensorVec = offsetVector(b, tensors);
  const inputs = intVector(b, m.inputs);
  const outputs = intVector(b, m.outputs);
  const opVec = offsetVector(b, operators);
  const sgName = b.createString('main');
  const sg = F.SubGraph;
  b.startObject(sg.count);
  b.addFieldOffset(sg.tensors, tensorVec, 0);
  b.addFieldOffset(sg.inputs, inputs, 0);
  b.addFieldOffset(sg.outputs, outputs, 0);
  b.addFieldOffset(sg.operators, opVec, 0);
  b.addFieldOffset(sg.name, sgName, 0);
  const subgraph = b.endObject();

  // A signature ("serving_default") names the input and output, as the TFLite converter does.
  const tensorMap = (name: string, index: number) => {
    const n = b.createString(name);
    b.startObject(F.TensorMap.count);
    b.addFieldOffset(F.TensorMap.name, n, 0);
    b.addFieldInt32(F.TensorMap.tensor_index, index, 0);
    return b.endObject();
  };
  const sigIn = offsetVector(
    b,
    m.inputs.map((t) => tensorMap(m.tensors[t].name, t)),
  );
  const sigOut = offsetVector(
    b,
    m.outputs.map((t) => tensorMap(m.tensors[t].name, t)),
  );
  const sigKey = b.createString('serving_default');
  b.startObject(F.SignatureDef.count);
  b.addFieldOffset(F.SignatureDef.inputs, sigIn, 0);
  b.addFieldOffset(F.SignatureDef.outputs, sigOut, 0);
  b.addFieldOffset(F.SignatureDef.signature_key, sigKey, 0);
  b.addFieldInt32(F.SignatureDef.subgraph_index, 0, 0);
  const signature = b.endObject();

  const metadata = (m.metadata ?? []).map((md, i) => {
    const n = b.createString(md.name);
    b.startObject(F.Metadata.count);
    b.addFieldOffset(F.Metadata.name, n, 0);
    b.addFieldInt32(F.Metadata.buffer, metadataBuffers[i], 0);
    return b.endObject();
  });

  const opCodeVec = offsetVector(b, opCodes);
  const subgraphs = offsetVector(b, [subgraph]);
  const description = b.createString(m.description);
  const buffers = offsetVector(b, bufferOffsets);
  const metadataVec = metadata.length ? offsetVector(b, metadata) : 0;
  const signatures = offsetVector(b, [signature]);
  const f = F.Model;
  b.startObject(f.count);
  b.addFieldInt32(f.version, TFLITE_SCHEMA_VERSION, 0);
  b.addFieldOffset(f.operator_codes, opCodeVec, 0);
  b.addFieldOffset(f.subgraphs, subgraphs, 0);
  b.addFieldOffset(f.description, description, 0);
  b.addFieldOffset(f.buffers, buffers, 0);
  if (metadataVec) b.addFieldOffset(f.metadata, metadataVec, 0);
  b.addFieldOffset(f.signature_defs, signatures, 0);
  b.finish(b.endObject(), TFLITE_FILE_IDENTIFIER);
  return b.asUint8Array().slice();
}
