import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTargets } from '../../src/lib/detect/centernet';
import { buildDetector, centernetLoss, predictBoxes, targetBatch, type DetectorConfig } from '../../src/lib/detect/model';

const cfg: DetectorConfig = { inputSize: 32, stride: 4, numClasses: 2, channels: 1, width: 4 };
const boxes = [[{ x: 0.1, y: 0.1, w: 0.4, h: 0.4, classIndex: 0 }], [{ x: 0.5, y: 0.4, w: 0.3, h: 0.5, classIndex: 1 }]];

describe('CenterNet-lite model (TF.js, cpu backend)', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('outputs numClasses + 4 channels at stride 4', () => {
    const model = buildDetector(cfg, 1);
    expect(model.outputs[0].shape).toEqual([null, 8, 8, 6]);
    expect(() => buildDetector({ ...cfg, stride: 8 }, 1)).toThrow(/stride 4/);
  });

  it('the loss is near zero for an output that matches the targets, and large for the initial model', () => {
    const t = targetBatch(boxes, cfg);
    const logit = tf.tidy(() => tf.where(tf.greaterEqual(t.heatmap, 1), tf.fill(t.heatmap.shape, 12), tf.fill(t.heatmap.shape, -12)));
    const perfect = tf.concat([logit, t.size, t.offset], 3) as tf.Tensor4D;
    const good = centernetLoss(perfect, t, 2);
    expect(good.total.dataSync()[0]).toBeLessThan(1e-3);
    expect(good.size.dataSync()[0]).toBe(0);
    const model = buildDetector(cfg, 1);
    const x = tf.zeros([2, 32, 32, 1]);
    const initial = centernetLoss(model.predict(x) as tf.Tensor4D, t, 2);
    expect(initial.focal.dataSync()[0]).toBeGreaterThan(1);
    tf.dispose([
      t.heatmap,
      t.size,
      t.offset,
      t.mask,
      logit,
      perfect,
      x,
      good.total,
      good.focal,
      good.size,
      good.offset,
      initial.total,
      initial.focal,
      initial.size,
      initial.offset,
    ]);
  });

  it('a few training steps lower the loss; predictions decode to boxes inside the image', () => {
    const model = buildDetector(cfg, 3);
    const x = tf.tidy(() => {
      const px = new Float32Array(2 * 32 * 32);
      boxes.forEach(([b], i) => {
        for (let y = Math.round(b.y * 32); y < Math.round((b.y + b.h) * 32); y++)
          for (let xx = Math.round(b.x * 32); xx < Math.round((b.x + b.w) * 32); xx++) px[i * 1024 + y * 32 + xx] = 1;
      });
      return tf.tensor4d(px, [2, 32, 32, 1]);
    });
    const t = targetBatch(boxes, cfg);
    const opt = tf.train.adam(0.02);
    const losses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const loss = opt.minimize(() => centernetLoss(model.apply(x, { training: true }) as tf.Tensor4D, t, 2).total, true) as tf.Scalar;
      losses.push(loss.dataSync()[0]);
      loss.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    expect(buildTargets(boxes[0], cfg).mask.reduce((s, v) => s + v, 0)).toBe(1);
    const dets = predictBoxes(model, x, cfg, { scoreThreshold: 0.01, nmsIou: 0.5 });
    expect(dets).toHaveLength(2);
    expect(dets[0].length).toBeGreaterThan(0);
    for (const d of dets) for (const b of d) expect(b.x >= 0 && b.y >= 0 && b.x + b.w <= 1 + 1e-6 && b.y + b.h <= 1 + 1e-6).toBe(true);
    // Six steps on the CPU backend: about 4 s on a quiet 2-core machine, more under load.
  }, 60_000);
});
