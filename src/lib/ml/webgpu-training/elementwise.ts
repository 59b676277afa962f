// Binary ops with a per-channel operand (x * scale, x - mean, x + bias: a [C] or [1, ..., 1, C]
// vector against an NHWC tensor), float32, on TF.js's WebGPU backend. Batch norm in training
// and its gradient run dozens of these per layer.
//
// For a rank-1 operand shorter than 128 the stock BinaryOpProgram copies the vector into
// workgroup memory behind a barrier, then computes one scalar per invocation with a full
// index-to-coordinates conversion; with a [1, 1, 1, C] operand it converts coordinates per vec4.
// Here each invocation computes 4 outputs from one vec4 of the tensor and the vector's vec4 at
// (index mod C/4), with no barrier and no coordinate arithmetic (C % 4 != 0: one output per
// invocation, same scheme). On SwiftShader the stock shared-memory variant is ~30x slower per
// element than the plain same-shape program.
import * as tf from '@tensorflow/tfjs';
import { flatProgram, type KernelArgs, type WebGpuKernelFunc } from './program';

export const CHANNEL_BINARY_OPS = { Multiply: 'a * b', Add: 'a + b', Sub: 'a - b', RealDiv: 'a / b' } as const;
export type ChannelBinaryOp = keyof typeof CHANNEL_BINARY_OPS;

/** Below this many outputs the stock kernel (which may run on the CPU) is as good. */
const MIN_OUTPUTS = 4096;

/** The length C when `shape` is [C] or [1, ..., 1, C] with C the last axis of `full`. */
function channelVector(shape: number[], full: number[]): number | null {
  if (shape.length === 0 || shape.length > full.length) return null;
  const c = shape[shape.length - 1];
  if (c <= 1 || c !== full[full.length - 1]) return null;
  return shape.slice(0, -1).every((d) => d === 1) ? c : null;
}

export function channelBinaryKernel(op: ChannelBinaryOp, args: KernelArgs, stock: WebGpuKernelFunc): tf.TensorInfo {
  const { inputs, backend } = args;
  const { a, b } = inputs;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
  const aFull = tf.util.sizeFromShape(a.shape) >= tf.util.sizeFromShape(b.shape);
  const [full, vector] = aFull ? [a, b] : [b, a];
  const channels = channelVector(vector.shape, full.shape);
  const size = tf.util.sizeFromShape(full.shape);
  if (channels === null || size < MIN_OUTPUTS || tf.util.sizeFromShape(vector.shape) === size) return stock(args);
  const c = channels % 4 === 0 ? 4 : 1;
  const [aRead, bRead] = aFull ? ['full[index]', 'vector[index % blocks]'] : ['vector[index % blocks]', 'full[index]'];
  const body = `
    fn main(index : i32) {
      if (index >= uniforms.count) { return; }
      let blocks = uniforms.channels / ${c};
      let a = ${aRead};
      let b = ${bRead};
      result[index] = ${CHANNEL_BINARY_OPS[op]};
    }
  `;
  const program = flatProgram({
    shaderKey: `trainyardChannelBinary_${op}_${c}_${aFull}`,
    outputShape: full.shape,
    variableNames: ['full', 'vector'],
    variableComponents: [c, c],
    outputComponent: c,
    threads: size / c,
    uniforms: 'count : i32, channels : i32,',
    body,
  });
  return backend.runWebGPUProgram(program, [full, vector], 'float32', [
    { type: 'int32', data: [size / c] },
    { type: 'int32', data: [channels] },
  ]);
}
