// Faster training kernels for TF.js's WebGPU backend (tfjs-backend-webgpu 4.22).
// registerWebGpuTrainingKernels() replaces stock WebGPU kernels that dominate a training step of
// the app's models with WGSL programs of our own, run through the backend's program API
// (runWebGPUProgram), so buffers, pipelines and the deferred command submission stay the
// backend's. Chosen by profiling training steps with bench/webgpu-kernels.bench.ts.
//
// Measured on SwiftShader only (software Vulkan, 2 CPU cores; no GPU was available), training
// step stock -> replaced: small CNN 28x28x1 batch 64 3.9 s -> 1.2 s (3.2x); MobileNet-style
// 96x96x3 alpha 0.5 batch 32 50 s -> 16 s (3.1x). On a GPU the gains should come mostly from
// the split-K filter gradients and the column sums, whose stock versions leave most of the GPU
// idle; that is unmeasured.
//
//   replaced  Conv2DBackpropFilter   split-K reduction over pixels, 4x4 register blocks, vec4
//                                    loads, then a sum of the partial chunks (stock: one
//                                    invocation per filter element walks every pixel alone)
//   replaced  DepthwiseConv2dNative- the same split-K scheme, channel multiplier 1: one dy vec4 per
//             BackpropFilter         pixel feeds all taps' unrolled accumulators (stock: one
//                                    invocation per filter element walks every pixel alone)
//   replaced  DepthwiseConv2dNative- vec4 over channels, integer tap tests (stock: one scalar per
//             BackpropInput          invocation, float division + fract() per tap)
//   replaced  Conv2D, FusedConv2D    direct convolution, 4 pixels x 4 channels per invocation
//             with <= 4 input chans  (stock: implicit GEMM padding a 9- or 27-long inner
//                                    dimension to 32-wide tiles behind barriers)
//   replaced  Sum, Mean over         column sums in place, split over rows, vec4 (stock:
//             consecutive axes       transpose, then one shared-memory tree per output)
//             but the last
//   replaced  Multiply, Add, Sub,    vec4 per invocation, vector read at index mod C/4 (stock:
//             RealDiv by a [C] vector  workgroup copy + barrier, scalar, coordinates per element)
//
// A replacement hands any case it does not cover (NCHW, dtypes other than float32) to the
// stock kernel, saved when it is replaced.
import * as tf from '@tensorflow/tfjs';
import { conv2DBackpropFilter } from './conv2d-backprop-filter';
import { directConv2d } from './conv2d-direct';
import { depthwiseConv2dNativeBackpropFilter } from './depthwise-backprop-filter';
import { depthwiseConv2dNativeBackpropInput } from './depthwise-backprop-input';
import { CHANNEL_BINARY_OPS, channelBinaryKernel, type ChannelBinaryOp } from './elementwise';
import { meanKernel, sumKernel } from './reductions';
import type { KernelArgs, WebGpuKernelFunc } from './program';
import { kernelOverrides } from '../kernel-overrides';

/** Kernel names this module replaces on the WebGPU backend. */
export const WEBGPU_TRAINING_KERNELS = [
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'Conv2D',
  'FusedConv2D',
  'Sum',
  'Mean',
  ...(['Multiply', 'Add', 'Sub', 'RealDiv'] as const satisfies readonly ChannelBinaryOp[]),
] as const;
export type WebGpuTrainingKernel = (typeof WEBGPU_TRAINING_KERNELS)[number];

const kernels = kernelOverrides<WebGpuKernelFunc>('webgpu', '__trainyardWebGpuTraining');
const replace = (name: WebGpuTrainingKernel, make: (original: WebGpuKernelFunc) => tf.KernelFunc) => kernels.replace(name, make);

const asKernel = (f: (args: KernelArgs) => tf.TensorInfo): tf.KernelFunc => f as tf.KernelFunc;

/**
 * Registers the WebGPU training kernels. Idempotent; safe before or after
 * `tf.setBackend('webgpu')` (kernels are looked up when they run), but the WebGPU backend
 * package must be imported first (its stock kernels are what gets replaced). `only` limits the
 * replacement to some kernels (benchmarks, tests).
 */
export function registerWebGpuTrainingKernels(only?: readonly WebGpuTrainingKernel[]): void {
  const wanted = (name: WebGpuTrainingKernel) => !only || only.includes(name);
  if (wanted('Conv2DBackpropFilter'))
    replace('Conv2DBackpropFilter', (original) => asKernel((args) => conv2DBackpropFilter(args, original)));
  if (wanted('DepthwiseConv2dNativeBackpropFilter'))
    replace('DepthwiseConv2dNativeBackpropFilter', (original) => asKernel((args) => depthwiseConv2dNativeBackpropFilter(args, original)));
  if (wanted('DepthwiseConv2dNativeBackpropInput'))
    replace('DepthwiseConv2dNativeBackpropInput', (original) => asKernel((args) => depthwiseConv2dNativeBackpropInput(args, original)));
  if (wanted('Conv2D')) replace('Conv2D', (original) => asKernel((args) => directConv2d(args, original, false)));
  if (wanted('FusedConv2D')) replace('FusedConv2D', (original) => asKernel((args) => directConv2d(args, original, true)));
  if (wanted('Sum')) replace('Sum', (original) => asKernel((args) => sumKernel(args, original)));
  if (wanted('Mean')) replace('Mean', (original) => asKernel((args) => meanKernel(args, original)));
  for (const op of Object.keys(CHANNEL_BINARY_OPS) as ChannelBinaryOp[]) {
    if (wanted(op)) replace(op, (original) => asKernel((args) => channelBinaryKernel(op, args, original)));
  }
}

/** Restores the stock kernels (tests, benchmarks). */
export function unregisterWebGpuTrainingKernels(): void {
  kernels.restore(WEBGPU_TRAINING_KERNELS);
}
