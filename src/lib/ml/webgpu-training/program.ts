// What the WebGPU training kernels need from TF.js's WebGPU backend (tfjs-backend-webgpu 4.22):
// runWebGPUProgram compiles a program once per shader key (the program's shaderKey plus input
// ranks and dtypes), binds its inputs as storage arrays named after variableNames, and appends
// the program's own uniforms to the shape uniforms it declares for every program.
import type * as tf from '@tensorflow/tfjs';
import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

export type { WebGPUProgram };
export type Uniform = { type: 'int32' | 'uint32' | 'float32'; data: number[] };

/** The part of WebGPUBackend the kernels call (typed structurally: no runtime import). */
export interface WebGpuBackendLike {
  runWebGPUProgram(
    program: WebGPUProgram,
    inputs: tf.TensorInfo[],
    outputDtype: tf.DataType,
    uniforms?: Uniform[],
    output?: tf.TensorInfo,
  ): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

export type KernelArgs = {
  inputs: Record<string, tf.TensorInfo>;
  backend: WebGpuBackendLike;
  attrs: Record<string, unknown>;
};
export type WebGpuKernelFunc = (args: KernelArgs) => tf.TensorInfo;

/** Threads per workgroup for the one-dimensional programs here. */
export const WORKGROUP = 64;

/**
 * A program over `threads` invocations with a flat dispatch: main(index) gets the global
 * invocation index (TF.js folds dispatches wider than the device limit into 2D/3D and
 * recomputes the flat index). The body must bounds-check index itself.
 */
export function flatProgram(p: {
  shaderKey: string;
  outputShape: number[];
  variableNames: string[];
  threads: number;
  uniforms: string;
  body: string;
  /** Components per element of each input array (4: read as vec4<f32>). */
  variableComponents?: number[];
  /** Components per element of the output array. */
  outputComponent?: number;
}): WebGPUProgram {
  return {
    shaderKey: p.shaderKey,
    outputShape: p.outputShape,
    variableNames: p.variableNames,
    variableComponents: p.variableComponents,
    outputComponent: p.outputComponent,
    uniforms: p.uniforms,
    workgroupSize: [WORKGROUP, 1, 1],
    dispatchLayout: { x: p.outputShape.map((_, i) => i) },
    dispatch: [Math.ceil(p.threads / WORKGROUP), 1, 1],
    getUserCode: () => p.body,
  };
}

/** WGSL type of one element read `components` at a time. */
export const vecType = (components: number): string => (components === 4 ? 'vec4<f32>' : 'f32');
/** Lane `j` of a value read `components` at a time. */
export const lane = (name: string, components: number, j: number): string => (components === 4 ? `${name}[${j}]` : name);

/**
 * Second pass of the split reductions: out[i] = scale * sum over chunks of partial[chunk, i],
 * four elements per invocation when the length allows.
 */
export function sumChunksProgram(
  chunks: number,
  length: number,
  outputShape: number[],
  scale: number,
): { program: WebGPUProgram; uniforms: Uniform[] } {
  const c = length % 4 === 0 ? 4 : 1;
  const body = `
    fn main(index : i32) {
      let n = uniforms.length / ${c};
      if (index >= n) { return; }
      var total = ${vecType(c)}(0.0);
      for (var s = 0; s < uniforms.chunks; s++) {
        total = total + partial[s * n + index];
      }
      result[index] = total * uniforms.scale;
    }
  `;
  return {
    program: flatProgram({
      shaderKey: `trainyardSumChunks_${c}`,
      outputShape,
      variableNames: ['partial'],
      variableComponents: [c],
      outputComponent: c,
      threads: length / c,
      uniforms: 'length : i32, chunks : i32, scale : f32,',
      body,
    }),
    uniforms: [
      { type: 'int32', data: [length] },
      { type: 'int32', data: [chunks] },
      { type: 'float32', data: [scale] },
    ],
  };
}

/** How a reduction of `rows` rows over `perChunk` invocations' worth of outputs is split. */
export function splitRows(
  rows: number,
  perChunk: number,
  targetInvocations: number,
  minChunk: number,
): { chunks: number; chunkSize: number } {
  const wanted = Math.max(1, Math.ceil(targetInvocations / perChunk));
  const chunkSize = Math.max(minChunk, Math.ceil(rows / wanted));
  return { chunks: Math.ceil(rows / chunkSize), chunkSize };
}
