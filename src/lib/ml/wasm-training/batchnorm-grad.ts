// Batch norm's gradient in two passes instead of ~15. TF.js computes FusedBatchNorm's gradient
// (tfjs-core FusedBatchNorm_grad) from generic ops: x - mean, dy * scale, a tile of rsqrt(var)
// to the activation's shape, and five products and four sums over the activation. MobileNet
// has 27 batch norms, so on WASM these activation-sized passes were a third of a training step.
// The same five derivatives need only two per-channel sums of dy and dy * (x - mean), one pass,
// then dx = dy * scale / sqrt(var + eps), a second pass:
//   dOffset   = sum dy                          dScale = rstd * sum dy (x - mean)
//   dMean     = -rstd * scale * sum dy          dVariance = -rstd^3 * scale / 2 * sum dy (x - mean)
// (rstd = 1 / sqrt(var + eps)), exactly the stock gradient's algebra, summed in float64.
// Mean's gradient (ones(x.shape) * dy, then / n: three passes) becomes one broadcast copy.
//
// These are registered gradients, which TF.js keeps per kernel name for every backend: the
// replacements run only on the WASM backend for the layouts they cover (float32, per-channel
// parameters over the last axis) and call the stock gradient otherwise.
import * as tf from '@tensorflow/tfjs';
import { addr, alloc, free, heapF32, simdKernels, type KernelArgs } from './heap';

type TensorInfo = tf.TensorInfo;

export const BATCH_NORM_GRAD_KERNEL = 'TrainyardBatchNormGrad';

/**
 * Kernel TrainyardBatchNormGrad (WASM): inputs dy, x, mean, variance[, scale] with per-channel
 * parameters of x's last axis; attrs { varianceEpsilon }. Outputs [dx, dMean, dVariance, dScale, dOffset].
 */
export function batchNormGradKernel(args: KernelArgs): TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { dy, x, mean, variance, scale } = inputs;
  const eps = Number((attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001);
  const c = x.shape[x.shape.length - 1];
  const rows = tf.util.sizeFromShape(x.shape) / c;
  const k = simdKernels(backend);
  const simd = c % 4 === 0 ? 1 : 0;
  const sums = alloc(backend, [2 * c]);
  const acc = alloc(backend, [4 * c]); // 2c float64
  const row = alloc(backend, [2 * c]);
  const factors = alloc(backend, [3 * c]); // batchNorm's (m, s, o) rows: 0, scale * rstd, 0
  const dx = alloc(backend, x.shape.slice());
  const outs = [0, 1, 2, 3].map(() => alloc(backend, [c]));
  // Views only after the last allocation (a malloc can grow and detach the heap).
  if (k) {
    k.bnGradSums(
      addr(backend, dy),
      addr(backend, x),
      addr(backend, mean),
      addr(backend, sums),
      addr(backend, acc),
      addr(backend, row),
      rows,
      c,
      simd,
    );
  } else {
    const s64 = new Float64Array(2 * c);
    const dyv = heapF32(backend, dy);
    const xv = heapF32(backend, x);
    const mv = heapF32(backend, mean);
    for (let r = 0, o = 0; r < rows; r++, o += c) {
      for (let j = 0; j < c; j++) {
        s64[j] += dyv[o + j];
        s64[c + j] += dyv[o + j] * (xv[o + j] - mv[j]);
      }
    }
    heapF32(backend, sums).set(s64);
  }
  const s = heapF32(backend, sums);
  const varv = heapF32(backend, variance);
  const scalev = scale ? heapF32(backend, scale) : null;
  const f = heapF32(backend, factors);
  const [dMean, dVariance, dScale, dOffset] = outs.map((t) => heapF32(backend, t));
  for (let j = 0; j < c; j++) {
    const rstd = 1 / Math.sqrt(varv[j] + eps);
    const g = scalev ? scalev[j] : 1;
    f[j] = 0;
    f[c + j] = g * rstd;
    f[2 * c + j] = 0;
    dOffset[j] = s[j];
    dScale[j] = rstd * s[c + j];
    dMean[j] = -rstd * g * s[j];
    dVariance[j] = -0.5 * rstd * rstd * rstd * g * s[c + j];
  }
  if (k) {
    k.batchNorm(addr(backend, dy), addr(backend, factors), addr(backend, dx), rows, c, simd);
  } else {
    const dyv = heapF32(backend, dy);
    const out = heapF32(backend, dx);
    for (let r = 0, o = 0; r < rows; r++, o += c) for (let j = 0; j < c; j++) out[o + j] = dyv[o + j] * f[c + j];
  }
  for (const t of [sums, acc, row, factors]) free(backend, t);
  return [dx, ...outs];
}

/** True where the fused gradient applies: WASM backend, float32, [C] parameters over x's last axis. */
function fusedApplies(x: tf.Tensor, mean: tf.Tensor, variance: tf.Tensor, scale: tf.Tensor | undefined): boolean {
  if (tf.getBackend() !== 'wasm' || !tf.getKernel(BATCH_NORM_GRAD_KERNEL, 'wasm')) return false;
  const c = x.shape[x.shape.length - 1];
  const perChannel = (t: tf.Tensor) => t.rank === 1 && t.shape[0] === c && t.dtype === 'float32';
  return (
    x.rank >= 2 &&
    x.dtype === 'float32' &&
    c > 0 &&
    x.size > 0 &&
    perChannel(mean) &&
    perChannel(variance) &&
    (scale == null || perChannel(scale))
  );
}

type GradFunc = tf.GradConfig['gradFunc'];

export function fusedBatchNormGrad(stock: GradFunc): GradFunc {
  return (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved as tf.Tensor[];
    const dyT = dy as tf.Tensor;
    if (dyT.dtype !== 'float32' || !fusedApplies(x, mean, variance, scale)) return stock(dy, saved, attrs);
    const inputs: tf.NamedTensorMap = { dy: dyT, x, mean, variance };
    if (scale) inputs.scale = scale;
    // Computed now, not in the closures: the engine calls each closure in its own tidy, which
    // would dispose the other outputs; unused ones are freed with the backward pass' scope.
    const [dx, dMean, dVariance, dScale, dOffset] = tf
      .engine()
      .runKernel(BATCH_NORM_GRAD_KERNEL, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as tf.Tensor[];
    return { x: () => dx, mean: () => dMean, variance: () => dVariance, scale: () => dScale, offset: () => dOffset };
  };
}

/** Mean over some axes: the gradient is dy / n copied across those axes (Tile: block copies). */
export function meanGrad(stock: GradFunc): GradFunc {
  return (dy, saved, attrs) => {
    const [x] = saved as tf.Tensor[];
    const dyT = dy as tf.Tensor;
    if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || dyT.dtype !== 'float32') return stock(dy, saved, attrs);
    const axes = tf.util.parseAxisParam((attrs as unknown as tf.MeanAttrs).axis, x.shape);
    const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const reps = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
    const n = axes.reduce((p, a) => p * x.shape[a], 1);
    return { x: () => tf.tidy(() => tf.tile(tf.reshape(tf.div(dyT, n), expanded), reps)) };
  };
}
