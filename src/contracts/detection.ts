// Types for object detection (issue #19): boxes, annotations, import reports, detections and
// evaluation results. Types only; imports nothing, so every layer (workers, db, state, views,
// src/lib/detect) can share them.

/** Where a box came from. */
export type BoxSource = 'manual' | 'import' | 'prediction' | 'generated';

/**
 * An axis-aligned box in normalised image coordinates: (x, y) is the top-left corner and (w, h)
 * the size, each a fraction of the image's width or height, so 0 <= x, x + w <= 1 (same for y).
 */
export interface NormBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One labelled box on one image, as stored. */
export interface BoxAnnotation extends NormBox {
  /** The class's name (never an index: class lists differ between files). */
  label: string;
  source: BoxSource;
  /** Milliseconds since the epoch when the box was made or imported. */
  time: number;
  /** COCO `iscrowd`: a region of many objects; evaluation ignores detections matched to it. */
  crowd?: boolean;
}

/** The boxes of one image; width and height are the image's real size in pixels. */
export interface ImageAnnotations {
  /** The image's file name as the annotation file names it (matched against the imported images). */
  image: string;
  width: number;
  height: number;
  boxes: BoxAnnotation[];
}

/** A set of annotated images with its class list (the order is the class index order on export). */
export interface DetectionSet {
  classes: string[];
  images: ImageAnnotations[];
}

export type AnnotationFormat = 'coco' | 'yolo' | 'voc';

/** What an importer did about one problem it found. */
export type IssueAction = 'clipped' | 'dropped' | 'kept' | 'skipped-file';

export type AnnotationIssueKind =
  | 'out-of-bounds'
  | 'degenerate'
  | 'non-finite'
  | 'unknown-image'
  | 'unknown-class'
  | 'duplicate-id'
  | 'wrong-type'
  | 'missing-field'
  | 'no-label-file'
  | 'image-without-size'
  | 'malformed-line';

/** One problem in one file, about one box (`box`) or image (`image`) where it applies. */
export interface AnnotationIssue {
  kind: AnnotationIssueKind;
  action: IssueAction;
  /** One sentence for the person importing. */
  message: string;
  image?: string;
  /** The box's identifier inside the file: a COCO annotation id, a YOLO line number, a VOC object index. */
  box?: string;
}

/** What happened to one annotation file. */
export interface AnnotationFileReport {
  file: string;
  /** `refused`: the file could not be read at all; nothing from it was kept. */
  status: 'ok' | 'issues' | 'refused';
  /** For a refused file: why, one sentence naming the file. */
  message?: string;
  images: number;
  boxesKept: number;
  issues: AnnotationIssue[];
  /** Issues past the per-file listing limit: counted here, never silently lost. */
  issuesNotListed: number;
}

export interface AnnotationImportResult {
  format: AnnotationFormat;
  set: DetectionSet;
  files: AnnotationFileReport[];
}

/** One detected box (normalised coordinates) with its class and confidence. */
export interface Detection extends NormBox {
  label: string;
  score: number;
}

/** The detections of one image. */
export interface ImageDetections {
  image: string;
  detections: Detection[];
}

/** Precision at the 101 recall points 0, 0.01, …, 1 (-1 where the class has no ground truth). */
export interface PrecisionRecallCurve {
  label: string;
  iouThreshold: number;
  recall: number[];
  precision: number[];
  /** The score of the detection that gives each precision point (0 where none reaches it). */
  scores: number[];
}

export interface ImageErrorSummary {
  image: string;
  /** Ground-truth boxes (not crowd) that no detection matched at IoU 0.5. */
  missed: number;
  /** Detections at or above the score threshold that matched nothing at IoU 0.5. */
  falsePositives: number;
  /** Indices into the image's ground-truth boxes and its detections, for drawing. */
  missedBoxes: number[];
  falseBoxes: number[];
}

/** COCO's twelve summary numbers (-1 where undefined, as COCOeval prints them). */
export interface CocoSummary {
  mAP: number;
  mAP50: number;
  mAP75: number;
  mAPSmall: number;
  mAPMedium: number;
  mAPLarge: number;
  AR1: number;
  AR10: number;
  AR100: number;
  ARSmall: number;
  ARMedium: number;
  ARLarge: number;
}

export interface DetectionEvaluation {
  summary: CocoSummary;
  /** mAP@[.5:.95] per class (-1 for a class with no ground truth: excluded from the means). */
  perClassAP: Record<string, number>;
  perClassAP50: Record<string, number>;
  /** Precision-recall curves per class at IoU 0.5 and 0.75 (area all, 100 detections). */
  curves: PrecisionRecallCurve[];
  /** Images with the most missed and false boxes first. */
  worstImages: ImageErrorSummary[];
  images: number;
  groundTruthBoxes: number;
  detections: number;
}
