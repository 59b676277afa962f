// COCO box evaluation, a line-by-line port of pycocotools' COCOeval (iouType 'bbox', useCats 1),
// cocodataset/cocoapi @ 8c9bcc3 (2020-02-20), PythonAPI/pycocotools/cocoeval.py; line numbers
// below refer to that file. Boxes come in normalised and are scaled to each image's real pixel
// size first, because the area ranges (small < 32², large > 96²) are in pixels.
//
// Differences from COCOeval, all documented here:
//  - A ground-truth box's area is its box's w*h in pixels (COCO's instance files give the
//    segmentation's area; boxes-only data has none). Detections use w*h as COCO's loadRes does
//    (coco.py:338).
//  - Images are taken in the order given (COCOeval sorts numeric image ids); this only decides
//    the order of detections with exactly equal scores across images (stable sort, as mergesort).
//  - Matches are kept as booleans and indices, not ids, so an id of 0 cannot read as "unmatched".
//  - Detections whose label is not a class, or whose image is not in the ground truth, are not
//    evaluated (COCOeval's _prepare only loads the evaluated categories and images); they are
//    counted in `ignoredDetections`.
// Crowd boxes are supported: IoU with a crowd box is intersection over the detection's area
// (maskApi.c bbIou: `u = crowd ? da : da+ga-i`), a detection matched to one is ignored, and a
// crowd box can be matched many times.
import type {
  CocoSummary,
  Detection,
  DetectionEvaluation,
  ImageAnnotations,
  ImageDetections,
  ImageErrorSummary,
  PrecisionRecallCurve,
} from '../../contracts/detection';

/** numpy's linspace exactly (i * step + start, the last point set to stop), so thresholds compare bit for bit. */
const linspace = (start: number, stop: number, num: number) =>
  Array.from({ length: num }, (_, i) => (i === num - 1 ? stop : i * ((stop - start) / (num - 1)) + start));
/** cocoeval.py:506: np.linspace(.5, 0.95, 10) (0.8999999999999999, not 0.9, as in numpy). */
export const IOU_THRESHOLDS: readonly number[] = linspace(0.5, 0.95, 10);
/** cocoeval.py:507: np.linspace(0, 1, 101). */
export const RECALL_THRESHOLDS: readonly number[] = linspace(0, 1, 101);
/** cocoeval.py:508. */
export const MAX_DETS = [1, 10, 100] as const;
/** cocoeval.py:509-510: all, small, medium, large (pixel areas, both ends inclusive). */
export const AREA_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0, 1e5 ** 2],
  [0, 32 ** 2],
  [32 ** 2, 96 ** 2],
  [96 ** 2, 1e5 ** 2],
];
const EPS = 2.220446049250313e-16; // np.spacing(1)

interface PxBox {
  x: number;
  y: number;
  w: number;
  h: number;
  area: number;
}

/** One (image, class, area range) result: evaluateImg's dict (cocoeval.py:301-312). */
interface ImgEval {
  /** Detection scores, highest first, at most 100 (cocoeval.py:259-260). */
  scores: number[];
  /** [T][D] matched (dtm != 0). */
  dtm: Uint8Array[];
  /** [T][D] ignored. */
  dtIg: Uint8Array[];
  /** [G] ignored, in the sorted order (not-ignored first). */
  gtIg: Uint8Array;
  /** [T][G] matched, sorted order. */
  gtm: Uint8Array[];
  /** Original indices of the sorted detections / ground truths (into the image's lists). */
  dtIndex: number[];
  gtIndex: number[];
}

/** maskApi.c bbIou: IoU of a detection with a ground-truth box, intersection over the detection for crowd. */
export function boxIou(d: PxBox, g: PxBox, crowd: boolean): number {
  const w = Math.min(d.x + d.w, g.x + g.w) - Math.max(d.x, g.x);
  if (w <= 0) return 0;
  const h = Math.min(d.y + d.h, g.y + g.h) - Math.max(d.y, g.y);
  if (h <= 0) return 0;
  const i = w * h;
  const u = crowd ? d.w * d.h : d.w * d.h + g.w * g.h - i;
  return i / u;
}

/** Stable argsort by key ascending (numpy's kind='mergesort'). */
function stableArgsort(keys: readonly number[]): number[] {
  return keys
    .map((k, i) => [k, i] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map((p) => p[1]);
}

/**
 * evaluateImg (cocoeval.py:235-312) for one image, one class, one area range. `ious` is [D][G] for
 * the detections already sorted by score and cut to 100 (computeIoU, cocoeval.py:163-186).
 */
function evaluateImg(
  gts: PxBox[],
  gtCrowd: boolean[],
  dts: PxBox[],
  dtScores: number[],
  dtIndex: number[],
  ious: number[][],
  aRng: readonly [number, number],
): ImgEval {
  // cocoeval.py:250-254: crowd boxes and boxes outside the area range are ignored.
  const ignore = gts.map((g, i) => (gtCrowd[i] || g.area < aRng[0] || g.area > aRng[1] ? 1 : 0));
  // cocoeval.py:257: ignored ground truths last (stable).
  const gtind = stableArgsort(ignore);
  const gtIg = Uint8Array.from(gtind.map((i) => ignore[i]));
  const iscrowd = gtind.map((i) => gtCrowd[i]);
  const T = IOU_THRESHOLDS.length;
  const D = dts.length;
  const G = gts.length;
  const gtm = Array.from({ length: T }, () => new Uint8Array(G));
  const dtm = Array.from({ length: T }, () => new Uint8Array(D));
  const dtIg = Array.from({ length: T }, () => new Uint8Array(D));
  if (D > 0 && G > 0) {
    for (let t = 0; t < T; t++) {
      for (let d = 0; d < D; d++) {
        // cocoeval.py:276: a match needs IoU >= the threshold (ties match: `< iou` continues).
        let iou = Math.min(IOU_THRESHOLDS[t], 1 - 1e-10);
        let m = -1;
        for (let g = 0; g < G; g++) {
          // cocoeval.py:280-281: an already-matched, non-crowd ground truth is taken.
          if (gtm[t][g] && !iscrowd[g]) continue;
          // cocoeval.py:283-284: matched to a regular box and now reaching ignored ones: stop.
          if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break;
          // cocoeval.py:286-290: keep the best IoU so far.
          const v = ious[d][gtind[g]];
          if (v < iou) continue;
          iou = v;
          m = g;
        }
        if (m === -1) continue;
        // cocoeval.py:294-296.
        dtIg[t][d] = gtIg[m];
        dtm[t][d] = 1;
        gtm[t][m] = 1;
      }
    }
  }
  // cocoeval.py:298-299: unmatched detections outside the area range are ignored.
  for (let d = 0; d < D; d++) {
    const out = dts[d].area < aRng[0] || dts[d].area > aRng[1];
    if (out) for (let t = 0; t < T; t++) if (!dtm[t][d]) dtIg[t][d] = 1;
  }
  return { scores: dtScores, dtm, dtIg, gtIg, gtm, dtIndex, gtIndex: gtind };
}

export interface EvaluateOptions {
  /** Detections below this score do not count as false boxes in the worst-images list (COCO metrics use every detection). */
  worstImagesScoreThreshold?: number;
  /** How many images the worst-images list keeps. */
  worstImagesLimit?: number;
}

export interface DetectionEvaluationFull extends DetectionEvaluation {
  /** Detections not evaluated: unknown label or image not in the ground truth. */
  ignoredDetections: number;
  /** precision[t][r][k][a][m] flattened, as COCOeval's eval['precision'] (-1 where undefined). */
  precision: Float64Array;
  /** recall[t][k][a][m] flattened. */
  recall: Float64Array;
}

/**
 * Evaluates detections against ground truth over `classes` (COCOeval's catIds: a class with no
 * ground-truth box gets -1 and is left out of every mean, as COCOeval does).
 */
export function evaluateDetections(
  groundTruth: readonly ImageAnnotations[],
  predictions: readonly ImageDetections[],
  classes: readonly string[],
  options: EvaluateOptions = {},
): DetectionEvaluationFull {
  const T = IOU_THRESHOLDS.length;
  const R = RECALL_THRESHOLDS.length;
  const K = classes.length;
  const A = AREA_RANGES.length;
  const M = MAX_DETS.length;
  const maxDet = MAX_DETS[M - 1];
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const predByImage = new Map<string, Detection[]>();
  let ignoredDetections = 0;
  const gtNames = new Set(groundTruth.map((g) => g.image));
  for (const p of predictions) {
    if (!gtNames.has(p.image)) {
      ignoredDetections += p.detections.length;
      continue;
    }
    predByImage.set(p.image, [...(predByImage.get(p.image) ?? []), ...p.detections]);
  }

  // evalImgs[k][a][i] (null where the image has neither boxes nor detections of the class).
  const evalImgs: Array<Array<Array<ImgEval | null>>> = Array.from({ length: K }, () => Array.from({ length: A }, () => []));
  let gtCount = 0;
  let dtCount = 0;
  groundTruth.forEach((im) => {
    const toPx = (b: { x: number; y: number; w: number; h: number }): PxBox => {
      const x = b.x * im.width;
      const y = b.y * im.height;
      const w = b.w * im.width;
      const h = b.h * im.height;
      return { x, y, w, h, area: w * h };
    };
    const gtBy: Array<{ boxes: PxBox[]; crowd: boolean[]; index: number[] }> = Array.from({ length: K }, () => ({
      boxes: [],
      crowd: [],
      index: [],
    }));
    im.boxes.forEach((b, i) => {
      const k = classIndex.get(b.label);
      if (k === undefined) return;
      gtBy[k].boxes.push(toPx(b));
      gtBy[k].crowd.push(b.crowd === true);
      gtBy[k].index.push(i);
      gtCount++;
    });
    const dtBy: Array<{ boxes: PxBox[]; scores: number[]; index: number[] }> = Array.from({ length: K }, () => ({
      boxes: [],
      scores: [],
      index: [],
    }));
    (predByImage.get(im.image) ?? []).forEach((d, i) => {
      const k = classIndex.get(d.label);
      if (k === undefined || !Number.isFinite(d.score)) {
        ignoredDetections++;
        return;
      }
      dtBy[k].boxes.push(toPx(d));
      dtBy[k].scores.push(d.score);
      dtBy[k].index.push(i);
      dtCount++;
    });
    for (let k = 0; k < K; k++) {
      const gt = gtBy[k];
      const dt = dtBy[k];
      if (gt.boxes.length === 0 && dt.boxes.length === 0) {
        for (let a = 0; a < A; a++) evalImgs[k][a].push(null); // cocoeval.py:247-248
        continue;
      }
      // computeIoU (cocoeval.py:173-176): detections by score, highest first (stable), at most 100.
      const order = stableArgsort(dt.scores.map((s) => -s)).slice(0, maxDet);
      const dts = order.map((i) => dt.boxes[i]);
      const scores = order.map((i) => dt.scores[i]);
      const dtIndex = order.map((i) => dt.index[i]);
      const ious = dts.map((d) => gt.boxes.map((g, j) => boxIou(d, g, gt.crowd[j])));
      for (let a = 0; a < A; a++) {
        const e = evaluateImg(gt.boxes, gt.crowd, dts, scores, dtIndex, ious, AREA_RANGES[a]);
        e.gtIndex = e.gtIndex.map((j) => gt.index[j]);
        evalImgs[k][a].push(e);
      }
    }
  });

  // accumulate (cocoeval.py:315-410).
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const scoresAt = new Float64Array(T * R * K * A * M).fill(-1);
  const pIdx = (t: number, r: number, k: number, a: number, m: number) => (((t * R + r) * K + k) * A + a) * M + m;
  const rIdx = (t: number, k: number, a: number, m: number) => ((t * K + k) * A + a) * M + m;
  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      for (let m = 0; m < M; m++) {
        const E = evalImgs[k][a].filter((e): e is ImgEval => e !== null); // cocoeval.py:358-361
        if (E.length === 0) continue;
        const md = MAX_DETS[m];
        // cocoeval.py:362-371: every image's first maxDet detections, sorted by score (stable).
        const dtScores: number[] = [];
        const where: Array<[ImgEval, number]> = [];
        for (const e of E) {
          const n = Math.min(md, e.scores.length);
          for (let d = 0; d < n; d++) {
            dtScores.push(e.scores[d]);
            where.push([e, d]);
          }
        }
        const inds = stableArgsort(dtScores.map((s) => -s));
        let npig = 0;
        for (const e of E) for (const g of e.gtIg) if (g === 0) npig++;
        if (npig === 0) continue; // cocoeval.py:372-374
        for (let t = 0; t < T; t++) {
          // cocoeval.py:375-379: cumulative true and false positives, ignored detections skipped.
          const tp: number[] = [];
          const fp: number[] = [];
          let tpSum = 0;
          let fpSum = 0;
          for (const i of inds) {
            const [e, d] = where[i];
            if (!e.dtIg[t][d]) {
              if (e.dtm[t][d]) tpSum++;
              else fpSum++;
            }
            tp.push(tpSum);
            fp.push(fpSum);
          }
          const nd = tp.length;
          const rc = tp.map((v) => v / npig); // cocoeval.py:384
          const pr = tp.map((v, i) => v / (fp[i] + v + EPS)); // cocoeval.py:385
          recall[rIdx(t, k, a, m)] = nd ? rc[nd - 1] : 0; // cocoeval.py:389-392
          // cocoeval.py:398-400: the monotone (non-increasing) precision envelope.
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          // cocoeval.py:402-408: precision at the first detection reaching each recall point
          // (searchsorted side='left'); points past the last recall keep 0.
          let pi = 0;
          for (let r = 0; r < R; r++) {
            while (pi < nd && rc[pi] < RECALL_THRESHOLDS[r]) pi++;
            if (pi >= nd) {
              for (let rr = r; rr < R; rr++) {
                precision[pIdx(t, rr, k, a, m)] = 0;
                scoresAt[pIdx(t, rr, k, a, m)] = 0;
              }
              break;
            }
            precision[pIdx(t, r, k, a, m)] = pr[pi];
            scoresAt[pIdx(t, r, k, a, m)] = dtScores[inds[pi]];
          }
        }
      }
    }
  }

  // summarize (cocoeval.py:427-457): the mean over defined entries, -1 when none.
  const mean = (vals: number[]) => {
    const ok = vals.filter((v) => v > -1);
    return ok.length === 0 ? -1 : ok.reduce((s, v) => s + v, 0) / ok.length;
  };
  const ap = (opts: { t?: number; a?: number; m?: number; k?: number }) => {
    const vals: number[] = [];
    const a = opts.a ?? 0;
    const m = opts.m ?? M - 1;
    for (let t = 0; t < T; t++) {
      if (opts.t !== undefined && t !== opts.t) continue;
      for (let r = 0; r < R; r++)
        for (let k = 0; k < K; k++) if (opts.k === undefined || k === opts.k) vals.push(precision[pIdx(t, r, k, a, m)]);
    }
    return mean(vals);
  };
  const ar = (a: number, m: number) => {
    const vals: number[] = [];
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) vals.push(recall[rIdx(t, k, a, m)]);
    return mean(vals);
  };
  const t50 = 0;
  const t75 = 5;
  // _summarizeDets, cocoeval.py:458-471.
  const summary: CocoSummary = {
    mAP: ap({}),
    mAP50: ap({ t: t50 }),
    mAP75: ap({ t: t75 }),
    mAPSmall: ap({ a: 1 }),
    mAPMedium: ap({ a: 2 }),
    mAPLarge: ap({ a: 3 }),
    AR1: ar(0, 0),
    AR10: ar(0, 1),
    AR100: ar(0, 2),
    ARSmall: ar(1, 2),
    ARMedium: ar(2, 2),
    ARLarge: ar(3, 2),
  };
  const perClassAP: Record<string, number> = {};
  const perClassAP50: Record<string, number> = {};
  const curves: PrecisionRecallCurve[] = [];
  classes.forEach((c, k) => {
    perClassAP[c] = ap({ k });
    perClassAP50[c] = ap({ k, t: t50 });
    for (const t of [t50, t75]) {
      curves.push({
        label: c,
        iouThreshold: Math.round(IOU_THRESHOLDS[t] * 100) / 100,
        recall: [...RECALL_THRESHOLDS],
        precision: RECALL_THRESHOLDS.map((_, r) => precision[pIdx(t, r, k, 0, M - 1)]),
        scores: RECALL_THRESHOLDS.map((_, r) => Math.max(0, scoresAt[pIdx(t, r, k, 0, M - 1)])),
      });
    }
  });

  // Worst images: at IoU 0.5, area all, 100 detections per class.
  const threshold = options.worstImagesScoreThreshold ?? 0.3;
  const perImage: ImageErrorSummary[] = groundTruth.map((im) => ({
    image: im.image,
    missed: 0,
    falsePositives: 0,
    missedBoxes: [],
    falseBoxes: [],
  }));
  for (let k = 0; k < K; k++) {
    evalImgs[k][0].forEach((e, i) => {
      if (!e) return;
      const s = perImage[i];
      e.gtIg.forEach((ig, g) => {
        if (!ig && !e.gtm[t50][g]) s.missedBoxes.push(e.gtIndex[g]);
      });
      e.scores.forEach((score, d) => {
        if (!e.dtm[t50][d] && !e.dtIg[t50][d] && score >= threshold) s.falseBoxes.push(e.dtIndex[d]);
      });
    });
  }
  for (const s of perImage) {
    s.missedBoxes.sort((a, b) => a - b);
    s.falseBoxes.sort((a, b) => a - b);
    s.missed = s.missedBoxes.length;
    s.falsePositives = s.falseBoxes.length;
  }
  const worstImages = perImage
    .filter((s) => s.missed + s.falsePositives > 0)
    .sort((a, b) => b.missed + b.falsePositives - (a.missed + a.falsePositives) || b.missed - a.missed)
    .slice(0, options.worstImagesLimit ?? 50);

  return {
    summary,
    perClassAP,
    perClassAP50,
    curves,
    worstImages,
    images: groundTruth.length,
    groundTruthBoxes: gtCount,
    detections: dtCount,
    ignoredDetections,
    precision,
    recall,
  };
}
