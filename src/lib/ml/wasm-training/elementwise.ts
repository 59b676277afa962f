// Element-wise kernels whose stock WASM versions (tfjs-backend-wasm 4.22) are scalar loops with
// per-element broadcasting index math: Minimum/Maximum (3-10 ms on a 1.2M-element tensor, ~75 ms
// when broadcasting a [1,1,1,C] operand), comparisons (~3 ms) and FusedBatchNorm (~4 ms).
// MobileNet's ReLU6 (minimum(6, relu(x)) and its gradient's greater(6, x)) and batch norm run
// these on every activation. Here they are single SIMD passes for float32 operands that are
// full, a scalar, or a row broadcast over leading axes; anything else goes to the stock kernel.
// Add/Sub/Multiply/RealDiv go to XNNPACK in the stock kernel, which is as fast as this pass on
// equal shapes and scalars but 2-4x slower on a per-channel [C] or [1,1,1,C] operand (batch norm
// and its gradient): only that row broadcast is taken here.
// Identity and same-dtype Cast alias their input (a reference, no copy), as the CPU and WebGL
// backends do; the stock WASM kernels copy, which cost ~800 copies of activations per MobileNet
// training step.
import * as tf from '@tensorflow/tfjs';
import { addr, alloc, free, heapF32, simdKernels, type KernelArgs, type WasmKernelFunc } from './heap';
import { BINARY_OPS, type BinaryOpName } from './simd-kernels';

const ARITHMETIC = new Set<BinaryOpName>(['Add', 'Sub', 'Multiply', 'RealDiv']);

type TensorInfo = tf.TensorInfo;

const sizeOf = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/** Drops leading 1s (they do not change the memory layout). */
function squeezeLeading(shape: number[]): number[] {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  return shape.slice(i);
}

type Operand = { kind: 'full' } | { kind: 'scalar' } | { kind: 'row'; size: number };

function classify(shape: number[], outShape: number[]): Operand | null {
  const size = sizeOf(shape);
  if (size === 1) return { kind: 'scalar' };
  const core = squeezeLeading(shape);
  const outCore = squeezeLeading(outShape);
  if (core.length === outCore.length && core.every((d, i) => d === outCore[i])) return { kind: 'full' };
  // A row broadcast over leading axes: its dims are the output's trailing dims.
  const tail = outShape.slice(outShape.length - core.length);
  if (core.length < outShape.length && core.every((d, i) => d === tail[i])) return { kind: 'row', size };
  return null;
}

export function binaryKernel(name: BinaryOpName, args: KernelArgs, stock: WasmKernelFunc): TensorInfo {
  const { inputs, backend } = args;
  const { a, b } = inputs;
  const k = simdKernels(backend);
  if (!k || a.dtype !== 'float32' || b.dtype !== 'float32') return stock(args);
  const outShape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const total = sizeOf(outShape);
  const ka = classify(a.shape, outShape);
  const kb = classify(b.shape, outShape);
  if (total === 0 || !ka || !kb) return stock(args);
  const rowSize = ka.kind === 'row' ? ka.size : kb.kind === 'row' ? kb.size : total;
  if (ka.kind === 'row' && kb.kind === 'row' && ka.size !== kb.size) return stock(args);
  if (ARITHMETIC.has(name) && ka.kind !== 'row' && kb.kind !== 'row') return stock(args);
  const rows = total / rowSize;
  const compare = BINARY_OPS[name][2];
  const out = backend.makeOutput(outShape, compare ? 'bool' : 'float32');
  const step = (o: Operand) => (o.kind === 'full' ? rowSize * 4 : 0);
  k[name](
    addr(backend, a),
    addr(backend, b),
    addr(backend, out),
    rows,
    rowSize,
    step(ka),
    step(kb),
    ka.kind === 'scalar' ? 1 : 0,
    kb.kind === 'scalar' ? 1 : 0,
    rowSize % 4 === 0 ? 1 : 0,
  );
  return out;
}

/** FusedBatchNorm: out = (x - mean) * scale / sqrt(variance + eps) + offset, per last-axis channel. */
export function fusedBatchNormKernel(args: KernelArgs, stock: WasmKernelFunc): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, mean, variance, offset, scale } = inputs;
  const k = simdKernels(backend);
  const params = [mean, variance, offset, scale].filter((t): t is TensorInfo => t != null);
  if (!k || x.shape.length === 0 || [x, ...params].some((t) => t.dtype !== 'float32')) return stock(args);
  const c = x.shape[x.shape.length - 1];
  const total = sizeOf(x.shape);
  // Each parameter is per channel (c values) or a single value, as the CPU kernel cycles them.
  if (total === 0 || params.some((t) => sizeOf(t.shape) !== c && sizeOf(t.shape) !== 1)) return stock(args);
  const eps = ((attrs as unknown as tf.FusedBatchNormAttrs).varianceEpsilon ?? 0.001) as number;
  const p = alloc(backend, [3 * c]);
  const out = alloc(backend, x.shape.slice());
  {
    const pv = heapF32(backend, p);
    const read = (t: TensorInfo | undefined, fallback: number) => {
      if (t == null) return () => fallback;
      const v = heapF32(backend, t);
      return v.length === 1 ? () => v[0] : (i: number) => v[i];
    };
    const m = read(mean, 0);
    const vr = read(variance, 1);
    const o = read(offset, 0);
    const s = read(scale, 1);
    for (let i = 0; i < c; i++) {
      pv[i] = m(i);
      pv[c + i] = s(i) / Math.sqrt(vr(i) + eps);
      pv[2 * c + i] = o(i);
    }
  }
  k.batchNorm(addr(backend, x), addr(backend, p), addr(backend, out), total / c, c, c % 4 === 0 ? 1 : 0);
  free(backend, p);
  return out;
}

/** Identity: the output shares the input's memory (one more reference). */
export function identityKernel(args: KernelArgs, stock: WasmKernelFunc): TensorInfo {
  const { inputs, backend } = args;
  const { x } = inputs;
  if (x.dtype === 'string' || !backend.incRef) return stock(args);
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Cast to the dtype a tensor already has is Identity; real conversions stay with the stock kernel. */
export function castKernel(args: KernelArgs, stock: WasmKernelFunc): TensorInfo {
  const { inputs, attrs } = args;
  if ((attrs as unknown as tf.CastAttrs).dtype !== inputs.x.dtype) return stock(args);
  return identityKernel(args, stock);
}
