// Sum, Mean and Tile for the WASM backend, for the patterns training produces. The stock
// kernels (tfjs-backend-wasm 4.22) transpose the whole tensor before reducing over leading axes
// (per-channel sums of NHWC gradients: bias and batch-norm gradients), and Tile runs a per-element
// index loop (~40 ms to broadcast a [1,1,1,64] batch-norm factor to [32,24,24,64]). Here:
// - Sum/Mean over a leading prefix of axes (float32): one pass of SIMD column sums (JS without
//   SIMD), float64 accumulation. Any other reduction goes to the stock kernel.
// - Tile: block copies (memmove) doubling along each axis, any dtype but string.
import * as tf from '@tensorflow/tfjs';
import { addr, alloc, free, heapF32, simdKernels, type KernelArgs, type WasmBackendLike, type WasmKernelFunc } from './heap';

type TensorInfo = tf.TensorInfo;

/** rows x cols when `axes` (sorted) are exactly the leading axes and something remains; else null. */
function leadingSplit(shape: number[], axes: number[]): { rows: number; cols: number } | null {
  if (axes.length === 0 || axes.length >= shape.length) return null;
  for (let i = 0; i < axes.length; i++) if (axes[i] !== i) return null;
  const rows = shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
  const cols = shape.slice(axes.length).reduce((a, b) => a * b, 1);
  return rows > 0 && cols > 0 ? { rows, cols } : null;
}

export function columnSumJs(x: Float32Array, rows: number, cols: number, scale: number, out: Float32Array): void {
  const acc = new Float64Array(cols);
  for (let r = 0, o = 0; r < rows; r++, o += cols) for (let c = 0; c < cols; c++) acc[c] += x[o + c];
  for (let c = 0; c < cols; c++) out[c] = acc[c] * scale;
}

function columnReduce(args: KernelArgs, stock: WasmKernelFunc, mean: boolean): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const { axis, keepDims } = attrs as unknown as tf.SumAttrs;
  if (x.dtype !== 'float32') return stock(args);
  const axes = [...new Set(tf.util.parseAxisParam(axis, x.shape))].sort((a, b) => a - b);
  const split = leadingSplit(x.shape, axes);
  if (!split) return stock(args);
  const outShape = x.shape.slice(axes.length);
  const out = alloc(backend, outShape);
  const scale = mean ? 1 / split.rows : 1;
  const k = simdKernels(backend);
  if (k) {
    const acc = alloc(backend, [2 * split.cols]);
    const row = alloc(backend, [split.cols]);
    k.colSum(
      addr(backend, x),
      addr(backend, out),
      addr(backend, acc),
      addr(backend, row),
      split.rows,
      split.cols,
      scale,
      split.cols % 4 === 0 ? 1 : 0,
    );
    free(backend, acc);
    free(backend, row);
  } else {
    columnSumJs(heapF32(backend, x), split.rows, split.cols, scale, heapF32(backend, out));
  }
  if (keepDims) out.shape = tf.backend_util.expandShapeToKeepDim(outShape, axes);
  return out;
}

export const sumKernel = (args: KernelArgs, stock: WasmKernelFunc): TensorInfo => columnReduce(args, stock, false);
export const meanKernel = (args: KernelArgs, stock: WasmKernelFunc): TensorInfo => columnReduce(args, stock, true);

export function tileKernel(args: KernelArgs, stock: WasmKernelFunc): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const { reps } = attrs as unknown as tf.TileAttrs;
  if (x.dtype === 'string' || x.dtype === 'complex64' || reps.length !== x.shape.length) return stock(args);
  const outShape = x.shape.map((d, i) => d * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (outShape.some((d) => d === 0)) return out;
  tileInto(backend, x, out, reps);
  return out;
}

function tileInto(backend: WasmBackendLike, x: TensorInfo, out: TensorInfo, reps: number[]): void {
  const src = backend.typedArrayFromHeap(x);
  const dst = backend.typedArrayFromHeap(out);
  const inShape = x.shape;
  const rank = inShape.length;
  const outShape = out.shape;
  // Elements in one block below axis d, for the input and the output.
  const inBlock = new Array<number>(rank + 1).fill(1);
  const outBlock = new Array<number>(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) {
    inBlock[d] = inBlock[d + 1] * inShape[d];
    outBlock[d] = outBlock[d + 1] * outShape[d];
  }
  // Writes the tiled block for axes d.. at dst[o] from src[i]; then replicates it reps[d] times.
  const fill = (d: number, i: number, o: number): void => {
    if (d === rank) {
      dst[o] = src[i];
      return;
    }
    if (d === rank - 1 || inBlock[d + 1] === outBlock[d + 1]) {
      // Below d nothing is tiled: one contiguous copy of this axis' input.
      dst.set(src.subarray(i, i + inBlock[d]), o);
    } else {
      for (let j = 0; j < inShape[d]; j++) fill(d + 1, i + j * inBlock[d + 1], o + j * outBlock[d + 1]);
    }
    const block = inShape[d] * outBlock[d + 1];
    let done = block;
    const total = block * reps[d];
    while (done < total) {
      const n = Math.min(done, total - done);
      dst.copyWithin(o + done, o, o + n);
      done += n;
    }
  };
  fill(0, 0, 0);
}
