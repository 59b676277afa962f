// BatchMatMul with transposes on the WASM backend. The stock kernel hands only untransposed,
// batch-1 products to XNNPACK and runs everything else through a scalar triple loop; dense
// layers' backward pass (xᵀ·dy and dy·Wᵀ) lands on that slow path. Here aᵀ·b runs on the
// gemmTN WebAssembly kernel (reads both as stored, float64 accumulation), and other transposed
// products transpose the operand first (O(size), WASM Transpose kernel) and then run the
// XNNPACK GEMM.
import * as tf from '@tensorflow/tfjs';
import { addr, alloc, callWasm, free, heapF32, heapF64, simdKernels, type KernelArgs, type WasmKernelFunc } from './heap';

type TensorInfo = tf.TensorInfo;

const batchOf = (shape: number[]): number => shape.slice(0, -2).reduce((a, b) => a * b, 1);

export function batchMatMulWithTransposes(args: KernelArgs, stock: WasmKernelFunc): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
  if ((!transposeA && !transposeB) || a.dtype !== 'float32' || b.dtype !== 'float32' || batchOf(a.shape) !== 1 || batchOf(b.shape) !== 1) {
    return stock(args);
  }
  const kernels = simdKernels(backend);
  const rank = (t: TensorInfo) => t.shape.length;
  const [m, k] = [a.shape[rank(a) - 2], a.shape[rank(a) - 1]]; // a is [m, k] stored; transposeA reads it as [k, m]
  const n = b.shape[rank(b) - 1];
  if (kernels && transposeA && !transposeB && n % 4 === 0 && b.shape[rank(b) - 2] === m) {
    // aᵀ·b (a dense layer's weight gradient xᵀ·dy): gemmTN reads both as they lie.
    const c64 = alloc(backend, [2 * k * n]);
    const tmp = alloc(backend, [32]);
    heapF32(backend, c64).fill(0);
    kernels.gemmTN(addr(backend, a), addr(backend, b), addr(backend, c64), addr(backend, tmp), m, k, n);
    free(backend, tmp);
    const outer = a.shape.length >= b.shape.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
    const out = alloc(backend, [...outer, k, n]);
    heapF32(backend, out).set(heapF64(backend, c64, k * n));
    free(backend, c64);
    return out;
  }
  const flat = (t: TensorInfo): TensorInfo => ({
    dataId: t.dataId,
    dtype: t.dtype,
    shape: [t.shape[t.shape.length - 2], t.shape[t.shape.length - 1]],
  });
  const a2 = transposeA ? callWasm('Transpose', backend, { x: flat(a) }, { perm: [1, 0] }) : flat(a);
  const b2 = transposeB ? callWasm('Transpose', backend, { x: flat(b) }, { perm: [1, 0] }) : flat(b);
  try {
    const out = stock({ inputs: { a: a2, b: b2 }, backend, attrs: { transposeA: false, transposeB: false } });
    // Keep the output rank the caller asked for (the stock kernel broadcasts outer dims).
    const outer = a.shape.length >= b.shape.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
    out.shape = [...outer, a2.shape[0], b2.shape[1]];
    return out;
  } finally {
    if (transposeA) free(backend, a2);
    if (transposeB) free(backend, b2);
  }
}
