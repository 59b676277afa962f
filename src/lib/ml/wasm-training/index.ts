// Training kernels for TF.js's WASM backend (tfjs-backend-wasm 4.22 runs convolutions forward
// but cannot train them: "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'").
// registerWasmTrainingKernels() adds the missing gradient kernels and replaces stock kernels
// whose training-time paths are scalar loops. Heavy arithmetic goes to the backend's own XNNPACK
// GEMM/convolution kernels; data movement and the remaining loops run as WebAssembly SIMD
// emitted at run time (simd-kernels.ts) on the backend's heap, with JS fallbacks.
//
//   added     Conv2DBackpropFilter                im2col + SIMD GEMM (no packing), or XNNPACK GEMM
//   added     DepthwiseConv2dNativeBackpropInput  XNNPACK depthwise conv (stride 1), else SIMD loop
//   added     DepthwiseConv2dNativeBackpropFilter SIMD loop, float64 accumulation
//   replaced  Conv2DBackpropInput                 XNNPACK conv (stride 1) or GEMM + col2im
//   replaced  BatchMatMul (transposed operands)   aᵀ·b: SIMD GEMM; else transpose + XNNPACK GEMM
//                                                 (stock: scalar loop)
//   replaced  MaxPoolGrad                         one SIMD pass over the windows (stock: rescans)
//   replaced  Sum, Mean over leading axes         SIMD column sums (stock: full transpose first)
//   replaced  Tile                                block copies (stock: per-element index loop)
//   replaced  FusedBatchNorm, Minimum, Maximum,   one SIMD pass for full/scalar/row-broadcast
//             Greater(Equal), Less(Equal)         float32 operands (stock: scalar loops)
//   replaced  Add, Sub, Multiply, RealDiv         one SIMD pass for a row-broadcast operand
//                                                 (stock: XNNPACK, 2-4x slower there)
//   replaced  Identity, Cast to the same dtype    alias the input (stock: a copy)
//   added     TrainyardBatchNormGrad              batch norm's gradient in two passes
//   gradient  FusedBatchNorm, Mean                on WASM: the fused kernel above; Mean's as
//                                                 one broadcast copy (batchnorm-grad.ts)
// A replacement hands any case it does not cover (dtype, layout, broadcast) to the stock kernel.
//
// Layout: NHWC (the app's models). NCHW Conv2DBackpropFilter goes through transposes, NCHW
// Conv2DBackpropInput through the stock kernel. float32 only. Single-threaded: XNNPACK's own
// thread pool (threaded build, cross-origin isolated page) still serves the GEMMs/convolutions
// these kernels call, but the SIMD loops run on the calling thread.
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilter, conv2DBackpropInput } from './conv2d-grads';
import { depthwiseConv2dNativeBackpropFilter, depthwiseConv2dNativeBackpropInput } from './depthwise-grads';
import { batchMatMulWithTransposes } from './matmul';
import { maxPoolGrad } from './maxpool-grad';
import { meanKernel, sumKernel, tileKernel } from './reductions';
import { binaryKernel, castKernel, fusedBatchNormKernel, identityKernel } from './elementwise';
import { BATCH_NORM_GRAD_KERNEL, batchNormGradKernel, fusedBatchNormGrad, meanGrad } from './batchnorm-grad';
import { BINARY_OPS, type BinaryOpName } from './simd-kernels';
import type { KernelArgs, WasmKernelFunc } from './heap';
import { kernelOverrides } from '../kernel-overrides';

const MARK = '__trainyardWasmTraining';

/** Kernel names this module adds (when the WASM backend lacks them) or replaces. */
export const WASM_TRAINING_KERNELS = {
  added: ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', BATCH_NORM_GRAD_KERNEL],
  replaced: [
    'Conv2DBackpropInput',
    'BatchMatMul',
    'MaxPoolGrad',
    'Sum',
    'Mean',
    'Tile',
    'FusedBatchNorm',
    'Identity',
    'Cast',
    ...(Object.keys(BINARY_OPS) as BinaryOpName[]),
  ],
  /** Gradients (kept per kernel name for all backends) that take a faster path on WASM only. */
  gradients: ['FusedBatchNorm', 'Mean'],
} as const;

const kernels = kernelOverrides<WasmKernelFunc>('wasm', MARK);
const { add, replace } = kernels;
const stockGradients = new Map<string, tf.GradConfig>();
type GradConfig = tf.GradConfig & { [MARK]?: true };

const asKernel = (f: (args: KernelArgs) => tf.TensorInfo): tf.KernelFunc => f as tf.KernelFunc;

function replaceGradient(name: string, make: (original: tf.GradConfig['gradFunc']) => tf.GradConfig['gradFunc']): void {
  const original = tf.getGradient(name) as GradConfig | undefined;
  if (!original || original[MARK]) return;
  stockGradients.set(name, original);
  tf.registerGradient({ ...original, gradFunc: make(original.gradFunc), [MARK]: true } as GradConfig);
}

/**
 * Registers the WASM training kernels. Idempotent; safe to call before or after
 * `tf.setBackend('wasm')` (kernels are looked up when they run). Replacing stock kernels needs
 * the WASM backend package loaded (imported) first; without it only the missing ones are added.
 */
export function registerWasmTrainingKernels(): void {
  const stockMatMul = () =>
    (kernels.stockOf('BatchMatMul') ?? tf.getKernel('BatchMatMul', 'wasm'))?.kernelFunc as WasmKernelFunc | undefined;
  replace('BatchMatMul', (original) => asKernel((args) => batchMatMulWithTransposes(args, original)));
  replace('MaxPoolGrad', () => asKernel(maxPoolGrad));
  replace('Sum', (original) => asKernel((args) => sumKernel(args, original)));
  replace('Mean', (original) => asKernel((args) => meanKernel(args, original)));
  replace('Tile', (original) => asKernel((args) => tileKernel(args, original)));
  replace('FusedBatchNorm', (original) => asKernel((args) => fusedBatchNormKernel(args, original)));
  for (const name of Object.keys(BINARY_OPS) as BinaryOpName[])
    replace(name, (original) => asKernel((args) => binaryKernel(name, args, original)));
  replace('Conv2DBackpropInput', (original) => asKernel((args) => conv2DBackpropInput(args, original, stockMatMul())));
  add(
    'Conv2DBackpropFilter',
    asKernel((args) => conv2DBackpropFilter(args, stockMatMul())),
  );
  add('DepthwiseConv2dNativeBackpropFilter', asKernel(depthwiseConv2dNativeBackpropFilter));
  add('DepthwiseConv2dNativeBackpropInput', asKernel(depthwiseConv2dNativeBackpropInput));
  replace('Identity', (original) => asKernel((args) => identityKernel(args, original)));
  replace('Cast', (original) => asKernel((args) => castKernel(args, original)));
  add(BATCH_NORM_GRAD_KERNEL, batchNormGradKernel as tf.KernelFunc);
  replaceGradient('FusedBatchNorm', fusedBatchNormGrad);
  replaceGradient('Mean', meanGrad);
}

/** Removes what registerWasmTrainingKernels added and restores the stock kernels (tests, benchmarks). */
export function unregisterWasmTrainingKernels(): void {
  kernels.restore([...WASM_TRAINING_KERNELS.added, ...WASM_TRAINING_KERNELS.replaced]);
  for (const [, original] of stockGradients) tf.registerGradient(original);
  stockGradients.clear();
}

export { setSimdKernelsEnabled, setScratchLimit } from './heap';
export { setFilterGradPath, type FilterGradPath } from './conv2d-grads';
