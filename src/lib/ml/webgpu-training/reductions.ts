// Sum and Mean over consecutive axes that leave the last one for TF.js's WebGPU backend, float32:
// the reductions of a training step (bias and batch-norm gradients, batch statistics) reduce an
// NHWC tensor over N, H, W and keep the channels; global average pooling reduces H, W.
//
// The stock path transposes the whole tensor so the reduced axes come last, then runs one
// workgroup per output channel with a shared-memory tree: a full extra copy, only C workgroups
// (16 to 512 here), and log2(workgroup) barriers each; global average pooling gets a 64-wide
// workgroup per 9-element sum. Here the tensor is read in place as [outer, rows, columns]:
// invocation (chunk, slab, column block) sums its chunk's rows for 4 adjacent columns (one vec4
// load per row, neighbouring invocations reading neighbouring vectors), and a second pass adds
// the chunks (and divides, for Mean).
import * as tf from '@tensorflow/tfjs';
import {
  flatProgram,
  splitRows,
  sumChunksProgram,
  vecType,
  type KernelArgs,
  type WebGpuBackendLike,
  type WebGpuKernelFunc,
} from './program';

const TARGET_INVOCATIONS = 1 << 15;
const MIN_CHUNK = 16;
/** Below this many elements the stock kernel (which may run on the CPU) is as good. */
const MIN_ELEMENTS = 4096;

/**
 * The tensor as [outer, rows, columns] when `axes` are consecutive and leave the last axis alone:
 * the reduction sums `rows` for every (outer, column). Null for other axes (the stock kernel's
 * case: innermost axes need no transpose there).
 */
export function consecutiveAxesView(shape: number[], axis: number | number[]): { outer: number; rows: number; columns: number } | null {
  const axes = tf.util
    .parseAxisParam(axis, shape)
    .slice()
    .sort((a, b) => a - b);
  if (axes.length === 0 || axes[axes.length - 1] >= shape.length - 1) return null;
  if (!axes.every((a, i) => a === axes[0] + i)) return null;
  const first = axes[0];
  const last = axes[axes.length - 1];
  return {
    outer: tf.util.sizeFromShape(shape.slice(0, first)),
    rows: tf.util.sizeFromShape(shape.slice(first, last + 1)),
    columns: tf.util.sizeFromShape(shape.slice(last + 1)),
  };
}

type View = { outer: number; rows: number; columns: number };

function columnSumsProgram(view: View, plan: { chunks: number; chunkSize: number }, outputShape: number[]) {
  const c = view.columns % 4 === 0 ? 4 : 1;
  // Invocation (chunk s, slab o, column block b) -> partial[(s * outer + o) * blocks + b].
  const body = `
    fn main(index : i32) {
      let blocks = uniforms.columns / ${c};
      let perChunk = uniforms.outer * blocks;
      let s = index / perChunk;
      if (s >= uniforms.chunks) { return; }
      let ob = index - s * perChunk;
      let o = ob / blocks;
      let b = ob - o * blocks;
      let rStart = s * uniforms.chunkSize;
      let rEnd = min(uniforms.rows, rStart + uniforms.chunkSize);
      let slab = o * uniforms.rows;
      var total = ${vecType(c)}(0.0);
      for (var r = rStart; r < rEnd; r++) {
        total = total + x[(slab + r) * blocks + b];
      }
      result[index] = total * uniforms.scale;
    }
  `;
  return flatProgram({
    shaderKey: `trainyardColumnSums_${c}`,
    outputShape,
    variableNames: ['x'],
    variableComponents: [c],
    outputComponent: c,
    threads: plan.chunks * view.outer * (view.columns / c),
    uniforms: 'outer : i32, rows : i32, columns : i32, chunkSize : i32, chunks : i32, scale : f32,',
    body,
  });
}

/** Sum (scale 1) or mean (scale 1/rows) over the rows of x seen as [outer, rows, columns]. */
export function columnReduce(backend: WebGpuBackendLike, x: tf.TensorInfo, view: View, outShape: number[], mean: boolean): tf.TensorInfo {
  const perChunk = view.outer * (view.columns % 4 === 0 ? view.columns / 4 : view.columns);
  const plan = splitRows(view.rows, perChunk, TARGET_INVOCATIONS, MIN_CHUNK);
  const scale = mean ? 1 / view.rows : 1;
  const uniforms = (partialScale: number) => [
    ...[view.outer, view.rows, view.columns, plan.chunkSize, plan.chunks].map((v) => ({ type: 'int32' as const, data: [v] })),
    { type: 'float32' as const, data: [partialScale] },
  ];
  if (plan.chunks === 1) return backend.runWebGPUProgram(columnSumsProgram(view, plan, outShape), [x], 'float32', uniforms(scale));
  const length = view.outer * view.columns;
  const partial = backend.runWebGPUProgram(columnSumsProgram(view, plan, [plan.chunks, length]), [x], 'float32', uniforms(1));
  const sum = sumChunksProgram(plan.chunks, length, outShape, scale);
  const out = backend.runWebGPUProgram(sum.program, [partial], 'float32', sum.uniforms);
  backend.disposeData(partial.dataId);
  return out;
}

function consecutiveAxesReduce(args: KernelArgs, stock: WebGpuKernelFunc, mean: boolean): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
  const view = x.dtype === 'float32' ? consecutiveAxesView(x.shape, axis) : null;
  if (!view || view.outer * view.rows * view.columns < MIN_ELEMENTS) return stock(args);
  const axes = tf.util.parseAxisParam(axis, x.shape);
  const outShape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
  return columnReduce(backend, x, view, outShape, mean);
}

export const sumKernel = (args: KernelArgs, stock: WebGpuKernelFunc) => consecutiveAxesReduce(args, stock, false);
export const meanKernel = (args: KernelArgs, stock: WebGpuKernelFunc) => consecutiveAxesReduce(args, stock, true);
