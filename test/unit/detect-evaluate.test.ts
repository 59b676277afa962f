import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Detection, ImageAnnotations, ImageDetections } from '../../src/contracts/detection';
import { IOU_THRESHOLDS, RECALL_THRESHOLDS, boxIou, evaluateDetections } from '../../src/lib/detect/evaluate';

const W = 100;
const img = (image: string, boxes: Array<[number, number, number, number, string]>, crowd: number[] = []): ImageAnnotations => ({
  image,
  width: W,
  height: W,
  boxes: boxes.map(([x, y, w, h, label], i) => ({
    x: x / W,
    y: y / W,
    w: w / W,
    h: h / W,
    label,
    source: 'manual',
    time: 0,
    ...(crowd.includes(i) ? { crowd: true } : {}),
  })),
});
const det = (x: number, y: number, w: number, h: number, label: string, score: number): Detection => ({
  x: x / W,
  y: y / W,
  w: w / W,
  h: h / W,
  label,
  score,
});

describe('COCO evaluation, hand-computed cases', () => {
  const gt = [
    img('a', [
      [10, 10, 20, 20, 'cat'],
      [50, 50, 40, 40, 'dog'],
    ]),
    img('b', [[0, 0, 50, 50, 'cat']]),
  ];

  it('perfect detections give 1.0 everywhere defined', () => {
    const preds: ImageDetections[] = [
      { image: 'a', detections: [det(10, 10, 20, 20, 'cat', 0.9), det(50, 50, 40, 40, 'dog', 0.8)] },
      { image: 'b', detections: [det(0, 0, 50, 50, 'cat', 0.7)] },
    ];
    const r = evaluateDetections(gt, preds, ['cat', 'dog']);
    expect(r.summary.mAP).toBeCloseTo(1, 12);
    expect(r.summary.mAP50).toBeCloseTo(1, 12);
    expect(r.summary.AR100).toBe(1);
    // 20x20 = 400 px² is small; 40x40 = 1600 medium; 50x50 = 2500 medium; nothing large.
    expect(r.summary.mAPSmall).toBeCloseTo(1, 12);
    expect(r.summary.mAPLarge).toBe(-1);
    expect(r.perClassAP).toEqual({ cat: expect.closeTo(1, 12), dog: expect.closeTo(1, 12) });
    expect(r.worstImages).toEqual([]);
  });

  it('one false positive ranked first: precision 1/2 then 2/3, enveloped to 2/3 over all recall', () => {
    const preds: ImageDetections[] = [
      { image: 'a', detections: [det(60, 0, 20, 20, 'cat', 0.95), det(10, 10, 20, 20, 'cat', 0.9)] },
      { image: 'b', detections: [det(0, 0, 50, 50, 'cat', 0.7)] },
    ];
    const r = evaluateDetections(gt, preds, ['cat', 'dog']);
    // cat: ranks FP, TP, TP → precision 0, 1/2, 2/3; recall 0, 1/2, 1. Envelope: 2/3 for every recall point.
    expect(r.perClassAP50.cat).toBeCloseTo(2 / 3, 10);
    expect(r.perClassAP.cat).toBeCloseTo(2 / 3, 10);
    // dog has ground truth and no detection: AP 0, not -1.
    expect(r.perClassAP.dog).toBe(0);
    expect(r.summary.mAP).toBeCloseTo(1 / 3, 10);
    expect(r.worstImages[0]).toMatchObject({ image: 'a', missed: 1, falsePositives: 1, missedBoxes: [1], falseBoxes: [0] });
    const curve = r.curves.find((c) => c.label === 'cat' && c.iouThreshold === 0.5)!;
    expect(curve.precision.every((p) => Math.abs(p - 2 / 3) < 1e-12)).toBe(true);
    expect(curve.scores[0]).toBe(0.95); // recall 0 is first reached at rank 1 (searchsorted 'left')
    expect(curve.scores[100]).toBe(0.7);
  });

  it('one missed box: precision 1 up to recall 1/2, 0 beyond', () => {
    const preds: ImageDetections[] = [{ image: 'a', detections: [det(10, 10, 20, 20, 'cat', 0.9)] }];
    const r = evaluateDetections(gt, preds, ['cat']);
    // 51 of the 101 recall points (0 .. 0.50) reach precision 1.
    expect(r.perClassAP50.cat).toBeCloseTo(51 / 101, 12);
    expect(r.summary.AR100).toBeCloseTo(0.5, 12);
    expect(r.worstImages.map((w) => [w.image, w.missed])).toEqual([['b', 1]]);
  });

  it('an IoU exactly at a threshold matches (>=), one just below does not', () => {
    // gt 0..20 x 0..10 (200 px²); det 0..20 x 0..5 → IoU exactly 0.5; det 0..20 x 0..4.9 → 0.49.
    const g = [img('a', [[0, 0, 20, 10, 'cat']])];
    expect(boxIou({ x: 0, y: 0, w: 20, h: 5, area: 100 }, { x: 0, y: 0, w: 20, h: 10, area: 200 }, false)).toBe(0.5);
    const at = evaluateDetections(g, [{ image: 'a', detections: [det(0, 0, 20, 5, 'cat', 1)] }], ['cat']);
    expect(at.perClassAP50.cat).toBeCloseTo(1, 12); // tp / (tp + fp + eps), as COCOeval
    // At thresholds 0.55..0.95 it misses: mAP = 1/10.
    expect(at.summary.mAP).toBeCloseTo(0.1, 12);
    const below = evaluateDetections(g, [{ image: 'a', detections: [det(0, 0, 20, 4.9, 'cat', 1)] }], ['cat']);
    expect(below.perClassAP50.cat).toBe(0);
    // IoU 0.75 exactly (the 6th threshold): matches at .5 .. .75 → 6/10.
    const t75 = evaluateDetections(g, [{ image: 'a', detections: [det(0, 0, 20, 7.5, 'cat', 1)] }], ['cat']);
    expect(IOU_THRESHOLDS[5]).toBe(0.75);
    expect(t75.summary.mAP75).toBeCloseTo(1, 12);
    expect(t75.summary.mAP).toBeCloseTo(0.6, 12);
  });

  it('classes with no ground truth are -1 and left out of the means; empty predictions give 0', () => {
    const r = evaluateDetections(gt, [], ['cat', 'dog', 'bird']);
    expect(r.perClassAP).toEqual({ cat: 0, dog: 0, bird: -1 });
    expect(r.summary.mAP).toBe(0);
    expect(r.summary.AR100).toBe(0);
    // A detection of a class with no ground truth does not make it defined (COCOeval: npig == 0).
    const r2 = evaluateDetections(gt, [{ image: 'a', detections: [det(0, 0, 5, 5, 'bird', 0.9)] }], ['cat', 'dog', 'bird']);
    expect(r2.perClassAP.bird).toBe(-1);
    const none = evaluateDetections([img('x', [])], [], ['cat']);
    expect(none.summary.mAP).toBe(-1);
  });

  it('keeps the best-IoU match, and a duplicate detection is a false positive', () => {
    const g = [img('a', [[0, 0, 20, 20, 'cat']])];
    const r = evaluateDetections(g, [{ image: 'a', detections: [det(0, 0, 20, 20, 'cat', 0.9), det(1, 1, 20, 20, 'cat', 0.8)] }], ['cat']);
    expect(r.perClassAP50.cat).toBeCloseTo(1, 12); // the duplicate ranks after the TP: precision at recall 1 is 1
    expect(r.worstImages[0]).toMatchObject({ falsePositives: 1, falseBoxes: [1] });
  });

  it('a crowd box is ignored: its matches neither count nor hurt, and it can absorb many detections', () => {
    const g = [
      img(
        'a',
        [
          [0, 0, 20, 20, 'cat'],
          [50, 50, 50, 50, 'cat'],
        ],
        [1],
      ),
    ];
    const r = evaluateDetections(
      g,
      [{ image: 'a', detections: [det(55, 55, 10, 10, 'cat', 0.99), det(70, 70, 10, 10, 'cat', 0.98), det(0, 0, 20, 20, 'cat', 0.5)] }],
      ['cat'],
    );
    expect(r.perClassAP.cat).toBeCloseTo(1, 12);
    expect(r.worstImages).toEqual([]);
  });

  it('max detections: only the top-scoring box per image and class counts at maxDets 1', () => {
    const g = [
      img('a', [
        [0, 0, 20, 20, 'cat'],
        [50, 50, 20, 20, 'cat'],
      ]),
    ];
    const r = evaluateDetections(
      g,
      [{ image: 'a', detections: [det(0, 0, 20, 20, 'cat', 0.9), det(50, 50, 20, 20, 'cat', 0.8)] }],
      ['cat'],
    );
    expect(r.summary.AR1).toBeCloseTo(0.5, 12);
    expect(r.summary.AR10).toBe(1);
  });

  it('recall points are numpy linspace values', () => {
    expect(RECALL_THRESHOLDS).toHaveLength(101);
    expect(RECALL_THRESHOLDS[57]).toBe(57 * 0.01);
    expect(RECALL_THRESHOLDS[100]).toBe(1);
  });
});

describe('COCO evaluation against pycocotools', () => {
  // Made by test/fixtures/detect/cocoeval-reference.py running the reference COCOeval.
  const ref = JSON.parse(readFileSync(new URL('../fixtures/detect/cocoeval-reference.json', import.meta.url), 'utf8'));
  type Img = { id: number; file_name: string; width: number; height: number };
  const images = ref.images as Img[];
  const byId = new Map(images.map((i) => [i.id, i]));
  const catName = new Map((ref.categories as Array<{ id: number; name: string }>).map((c) => [c.id, c.name]));
  const gt: ImageAnnotations[] = images.map((i) => ({ image: i.file_name, width: i.width, height: i.height, boxes: [] }));
  for (const a of ref.annotations as Array<{ image_id: number; category_id: number; bbox: number[]; iscrowd: number }>) {
    const im = byId.get(a.image_id)!;
    const [x, y, w, h] = a.bbox;
    gt[a.image_id - 1].boxes.push({
      x: x / im.width,
      y: y / im.height,
      w: w / im.width,
      h: h / im.height,
      label: catName.get(a.category_id)!,
      source: 'import',
      time: 0,
      ...(a.iscrowd ? { crowd: true } : {}),
    });
  }
  const preds: ImageDetections[] = images.map((i) => ({ image: i.file_name, detections: [] }));
  for (const d of ref.detections as Array<{ image_id: number; category_id: number; bbox: number[]; score: number }>) {
    const im = byId.get(d.image_id)!;
    const [x, y, w, h] = d.bbox;
    preds[d.image_id - 1].detections.push({
      x: x / im.width,
      y: y / im.height,
      w: w / im.width,
      h: h / im.height,
      label: catName.get(d.category_id)!,
      score: d.score,
    });
  }
  const classes = [...catName.values()];
  const r = evaluateDetections(gt, preds, classes);

  it('gives the same twelve summary numbers', () => {
    const s = r.summary;
    const ours = [s.mAP, s.mAP50, s.mAP75, s.mAPSmall, s.mAPMedium, s.mAPLarge, s.AR1, s.AR10, s.AR100, s.ARSmall, s.ARMedium, s.ARLarge];
    ours.forEach((v, i) => expect(v, `stat ${i}`).toBeCloseTo(ref.stats[i], 9));
  });

  it('gives the same per-class AP (-1 for the class with no ground truth) and PR curve at IoU .5', () => {
    classes.forEach((c, k) => {
      expect(r.perClassAP[c]).toBeCloseTo(ref.perClassAP[k], 9);
      expect(r.perClassAP50[c]).toBeCloseTo(ref.perClassAP50[k], 9);
      const curve = r.curves.find((cv) => cv.label === c && cv.iouThreshold === 0.5)!;
      curve.precision.forEach((p, i) => expect(p).toBeCloseTo(ref.precision50[k][i], 9));
    });
    expect(r.perClassAP.never).toBe(-1);
  });
});
