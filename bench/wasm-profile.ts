// Per-kernel time of one training step on TF.js's WASM backend in Node (with Trainyard's WASM
// training kernels), for the app's CNN and MobileNet-style net: where a step's time goes.
// Usage: npx tsx bench/wasm-profile.ts [cnn|mobilenet] [steps]
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { buildModel, type ArchitectureConfig } from '../src/lib/ml/architectures';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';

const which = process.argv[2] ?? 'mobilenet';
const steps = Number(process.argv[3] ?? 5);
setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
registerWasmTrainingKernels();
await tf.setBackend('wasm');

const times = new Map<string, { ms: number; calls: number; shapes: Map<string, [number, number]>; small: number }>();
let timing = false;
for (const k of tf.getKernelsForBackend('wasm')) {
  const f = k.kernelFunc;
  tf.unregisterKernel(k.kernelName, 'wasm');
  tf.registerKernel({
    ...k,
    kernelFunc: ((args: any) => {
      if (!timing) return f(args);
      const t0 = performance.now();
      const out = f(args);
      const ms = performance.now() - t0;
      const e = times.get(k.kernelName) ?? { ms: 0, calls: 0, shapes: new Map(), small: 0 };
      e.ms += ms;
      e.calls++;
      const key =
        Object.values(args.inputs as Record<string, tf.TensorInfo>)
          .map((t) => t?.shape?.join('x'))
          .join(' ') +
        ' ' +
        JSON.stringify(args.attrs ?? {}).slice(0, 80);
      const prev = e.shapes.get(key) ?? [0, 0];
      e.shapes.set(key, [prev[0] + ms, prev[1] + 1]);
      const outSize = (Array.isArray(out) ? out[0] : out)?.shape?.reduce((a: number, b: number) => a * b, 1) ?? 0;
      if (outSize < 20000) e.small += ms;
      times.set(k.kernelName, e);
      return out;
    }) as tf.KernelFunc,
  });
}

const config: ArchitectureConfig =
  which === 'cnn'
    ? { kind: 'cnn', inputSize: 28, channels: 1, numClasses: 10, dropout: 0.25 }
    : { kind: 'mobilenet', inputSize: 96, channels: 3, numClasses: 10, dropout: 0.25, widthMultiplier: 0.5 };
const n = which === 'cnn' ? 64 : 32;
const model = buildModel(config, 1);
const opt = tf.train.adam(0.002);
const xs = tf.randomUniform([n, config.inputSize, config.inputSize, config.channels]);
const ys = tf.oneHot(tf.randomUniform([n], 0, 10, 'int32'), 10).toFloat();
const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
const step = () => {
  const loss = opt.minimize(
    () => tf.metrics.categoricalCrossentropy(ys, model.apply(xs, { training: true }) as tf.Tensor).mean() as tf.Scalar,
    true,
    vars,
  );
  loss!.dataSync();
  loss!.dispose();
};
step();
step();
timing = true;
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const total = performance.now() - t0;
const kernelMs = [...times.values()].reduce((s, e) => s + e.ms, 0);
console.log(
  `${which}: ${(total / steps).toFixed(1)} ms/step, ${(((n * steps) / total) * 1000).toFixed(1)} img/s; kernels ${(kernelMs / steps).toFixed(1)} ms/step`,
);
for (const [name, e] of [...times].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
  console.log(
    `${(e.ms / steps).toFixed(2).padStart(8)} ms  ${((100 * e.ms) / kernelMs).toFixed(1).padStart(5)}%  ${name} (${e.calls / steps}/step; outputs < 20k elements: ${(e.small / steps).toFixed(2)} ms)`,
  );
  for (const [s, [ms, c]] of [...e.shapes].sort((a, b) => b[1][0] - a[1][0]).slice(0, 4))
    console.log(`            ${(ms / steps).toFixed(2).padStart(7)} ms ${(c / steps).toFixed(0)}x ${((1000 * ms) / c).toFixed(0)}us ${s}`);
}
