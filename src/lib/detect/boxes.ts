// Box helpers shared by the importers, evaluation, the head maths and augmentation: IoU, and the
// one policy for a box read from an untrusted file (non-finite, degenerate, out of bounds), so the
// three formats report the same problem with the same words and the same action.
import type { AnnotationFileReport, AnnotationIssue, BoxAnnotation, NormBox } from '../../contracts/detection';

/** Issues listed per file; further ones are counted in `issuesNotListed`. */
export const MAX_LISTED_ISSUES = 5_000;

/** Tolerance for "on the edge": exporters round to 6 decimals (YOLO) or whole pixels (VOC). */
export const EDGE_EPS = 1e-6;

export function iou(a: NormBox, b: NormBox): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** A file report under construction; `add` keeps the listing bounded and the count exact. */
export class FileReportBuilder {
  readonly report: AnnotationFileReport;
  constructor(file: string) {
    this.report = { file, status: 'ok', images: 0, boxesKept: 0, issues: [], issuesNotListed: 0 };
  }
  add(issue: AnnotationIssue): void {
    if (this.report.issues.length < MAX_LISTED_ISSUES) this.report.issues.push(issue);
    else this.report.issuesNotListed++;
  }
  refuse(message: string): AnnotationFileReport {
    return { file: this.report.file, status: 'refused', message, images: 0, boxesKept: 0, issues: [], issuesNotListed: 0 };
  }
  done(): AnnotationFileReport {
    if (this.report.status !== 'refused' && (this.report.issues.length > 0 || this.report.issuesNotListed > 0))
      this.report.status = 'issues';
    return this.report;
  }
}

const fmt = (n: number) => (Number.isFinite(n) ? String(Math.round(n * 10000) / 10000) : String(n));

/**
 * Checks one box read from a file, in normalised units (already divided by the image's size), and
 * returns the box to keep (clipped to the image where it sticks out) or null when it is dropped;
 * every problem is added to `out` with what was done. `where` names the box in messages.
 */
export function acceptBox(
  raw: NormBox,
  meta: Omit<BoxAnnotation, keyof NormBox>,
  out: FileReportBuilder,
  where: { image: string; box: string },
): BoxAnnotation | null {
  const { x, y, w, h } = raw;
  const at = `box ${where.box} on ${where.image}`;
  if (![x, y, w, h].every(Number.isFinite)) {
    out.add({
      kind: 'non-finite',
      action: 'dropped',
      message: `${at} has a coordinate that is not a finite number; it was dropped.`,
      ...where,
    });
    return null;
  }
  if (!(w > 0) || !(h > 0)) {
    out.add({
      kind: 'degenerate',
      action: 'dropped',
      message: `${at} has width ${fmt(w)} and height ${fmt(h)} (an empty box); it was dropped.`,
      ...where,
    });
    return null;
  }
  const x0 = Math.max(0, x);
  const y0 = Math.max(0, y);
  const x1 = Math.min(1, x + w);
  const y1 = Math.min(1, y + h);
  const outside = x < -EDGE_EPS || y < -EDGE_EPS || x + w > 1 + EDGE_EPS || y + h > 1 + EDGE_EPS;
  if (x1 - x0 <= EDGE_EPS || y1 - y0 <= EDGE_EPS) {
    out.add({ kind: 'out-of-bounds', action: 'dropped', message: `${at} lies entirely outside the image; it was dropped.`, ...where });
    return null;
  }
  if (outside) {
    out.add({
      kind: 'out-of-bounds',
      action: 'clipped',
      message: `${at} extends past the image (x ${fmt(x)}..${fmt(x + w)}, y ${fmt(y)}..${fmt(y + h)} of 0..1); it was clipped to the image.`,
      ...where,
    });
  }
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, ...meta };
}

/** Strips a UTF-8 byte-order mark and decodes bytes; text is returned as given otherwise. */
export function decodeText(input: string | Uint8Array): string {
  const text = typeof input === 'string' ? input : new TextDecoder('utf-8').decode(input);
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

export const byteLength = (input: string | Uint8Array) => (typeof input === 'string' ? input.length : input.byteLength);

/** `a/b/c.jpg` → `a/b/c`; `c` stays `c`. */
export function stripExtension(path: string): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? path.slice(0, dot) : path;
}

export const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** A text file of a multi-file format (YOLO labels, VOC XML): its path in the folder and its content. */
export interface TextFile {
  path: string;
  data: string | Uint8Array;
}
