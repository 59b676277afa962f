// TFLite export measured against TF.js on the same inputs, with the real TFLite interpreter
// (the official WASM build from @tensorflow/tfjs-tflite, run in Node). Used by the unit tests,
// by `npm run bench:tflite`, and by bench:export for its TFLite rows.
import * as tf from '@tensorflow/tfjs';
import { convertToTflite } from '../src/lib/export/tflite/index';
import { loadTflite } from '../test/tflite-runtime';

export interface LabelledSet {
  /** n inputs, NHWC (or [n, features]) float32 in the model's input range, concatenated. */
  x: Float32Array;
  /** True class per input. */
  y: number[];
}

export interface TfliteAgreement {
  quantization: 'float32' | 'int8';
  bytes: number;
  exportMs: number;
  /** Largest |p_tflite − p_tfjs| over every class of every input. */
  maxProbDiff: number;
  /** Share of inputs whose top-1 class matches TF.js. */
  top1Agreement: number;
  accuracyTfjs: number;
  accuracyTflite: number;
  /** accuracyTfjs − accuracyTflite, in accuracy points (0.01 = 1 point). */
  accuracyDrop: number;
}

const argmax = (a: ArrayLike<number>, from = 0, n = a.length): number => {
  let best = 0;
  for (let k = 1; k < n; k++) if (a[from + k] > a[from + best]) best = k;
  return best;
};

/** TF.js probabilities for every input, [n × classes]. */
export function tfjsProbabilities(model: tf.LayersModel, set: LabelledSet, batch = 64): Float32Array {
  const shape = model.inputs[0].shape.slice(1) as number[];
  const per = shape.reduce((a, b) => a * b, 1);
  const n = set.x.length / per;
  const parts: Float32Array[] = [];
  for (let s = 0; s < n; s += batch) {
    const m = Math.min(batch, n - s);
    parts.push(
      tf.tidy(
        () => (model.predict(tf.tensor(set.x.subarray(s * per, (s + m) * per), [m, ...shape])) as tf.Tensor).dataSync() as Float32Array,
      ),
    );
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Sets every batch norm's moving mean and variance to the statistics of its input over `x`, layer
 * by layer ("precise BN"): a few dozen training steps leave the moving averages (momentum 0.99)
 * mostly at their initial 0/1, which makes the inference-mode model nearly constant. Layers must
 * be direct layers of `model`.
 */
export function preciseBatchNorm(model: tf.LayersModel, x: Float32Array, n: number, batch = 128): void {
  const shape = model.inputs[0].shape.slice(1) as number[];
  const per = shape.reduce((a, b) => a * b, 1);
  for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
    const probe = tf.model({ inputs: model.inputs, outputs: layer.input as tf.SymbolicTensor });
    const weights = layer.getWeights();
    const cfg = layer.getConfig() as { scale?: boolean; center?: boolean };
    const affine = weights.slice(0, (cfg.scale !== false ? 1 : 0) + (cfg.center !== false ? 1 : 0));
    // Mean and variance over all images and positions, accumulated in chunks.
    let sum: tf.Tensor | null = null;
    let sumSq: tf.Tensor | null = null;
    let count = 0;
    for (let s = 0; s < n; s += batch) {
      const m = Math.min(batch, n - s);
      const [a, b, c] = tf.tidy(() => {
        const y = probe.predict(tf.tensor(x.subarray(s * per, (s + m) * per), [m, ...shape])) as tf.Tensor;
        const axes = y.shape.slice(0, -1).map((_, i) => i);
        return [tf.sum(y, axes), tf.sum(tf.square(y), axes), y.size / y.shape[y.shape.length - 1]] as const;
      });
      const accumulate = (acc: tf.Tensor | null, t: tf.Tensor) => {
        if (!acc) return t;
        const next = tf.add(acc, t);
        acc.dispose();
        t.dispose();
        return next;
      };
      sum = accumulate(sum, a);
      sumSq = accumulate(sumSq, b);
      count += c;
    }
    tf.tidy(() => {
      const mean = tf.div(sum!, count);
      const variance = tf.relu(tf.sub(tf.div(sumSq!, count), tf.square(mean)));
      layer.setWeights([...affine, mean, variance]);
    });
    sum!.dispose();
    sumSq!.dispose();
  }
}

/** Exports with `quantization`, runs every input through TFLite, compares with `reference`. */
export async function measureTflite(
  model: tf.LayersModel,
  set: LabelledSet,
  reference: Float32Array,
  quantization: 'float32' | 'int8',
  calibration?: Float32Array,
): Promise<TfliteAgreement> {
  const t0 = performance.now();
  const ex = await convertToTflite(model, { quantization, calibration });
  const exportMs = performance.now() - t0;
  const interpreter = await loadTflite(ex.bytes);
  try {
    const per = ex.input.shape.reduce((a, b) => a * b, 1);
    const classes = ex.output.shape.reduce((a, b) => a * b, 1);
    const n = set.y.length;
    let maxProbDiff = 0;
    let agree = 0;
    let correctRef = 0;
    let correct = 0;
    const qIn = new Int8Array(per);
    for (let i = 0; i < n; i++) {
      const x = set.x.subarray(i * per, (i + 1) * per);
      let out: ArrayLike<number>;
      if (ex.input.type === 'int8') {
        const { scale, zeroPoint } = ex.input as { scale: number; zeroPoint: number };
        for (let k = 0; k < per; k++) qIn[k] = Math.max(-128, Math.min(127, Math.round(x[k] / scale) + zeroPoint));
        out = interpreter.run(qIn);
      } else out = interpreter.run(x);
      const probs = ex.output.type === 'int8' ? Array.from(out, (q) => ex.output.scale! * (q - ex.output.zeroPoint!)) : Array.from(out);
      for (let k = 0; k < classes; k++) maxProbDiff = Math.max(maxProbDiff, Math.abs(probs[k] - reference[i * classes + k]));
      const top = argmax(probs);
      const refTop = argmax(reference, i * classes, classes);
      if (top === refTop) agree++;
      if (top === set.y[i]) correct++;
      if (refTop === set.y[i]) correctRef++;
    }
    return {
      quantization,
      bytes: ex.bytes.length,
      exportMs,
      maxProbDiff,
      top1Agreement: agree / n,
      accuracyTfjs: correctRef / n,
      accuracyTflite: correct / n,
      accuracyDrop: (correctRef - correct) / n,
    };
  } finally {
    interpreter.close();
  }
}

/** Both TFLite variants of one model on one labelled test set; `calibration` comes from the training split. */
export async function tfliteAgreement(
  model: tf.LayersModel,
  test: LabelledSet,
  calibration: Float32Array,
): Promise<{ float32: TfliteAgreement; int8: TfliteAgreement }> {
  const reference = tfjsProbabilities(model, test);
  return {
    float32: await measureTflite(model, test, reference, 'float32'),
    int8: await measureTflite(model, test, reference, 'int8', calibration),
  };
}
