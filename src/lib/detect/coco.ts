// COCO instances JSON in and out (boxes only: `bbox` [x, y, width, height] in pixels, top-left
// origin). The file is untrusted: parsed by the house's guarded parser (size, depth, prototype
// keys), then every image, category and annotation is type-checked; each problem is reported per
// box with what was done. Keys COCO files commonly carry and boxes do not use (info, licenses,
// segmentation, …) are ignored.
import type { AnnotationImportResult, BoxAnnotation, DetectionSet, ImageAnnotations } from '../../contracts/detection';
import { UntrustedJsonError, parseUntrustedJson, type JsonLimits } from '../util/safe-json';
import { FileReportBuilder, acceptBox, byteLength, decodeText } from './boxes';

/** COCO train2017's instances file is 450 MB; the tab reads files up to this size. */
export const COCO_LIMITS: JsonLimits = { maxBytes: 256 * 1024 * 1024, maxDepth: 16 };

export interface CocoImportOptions {
  /** File names of the images being imported; images the file lists but that are not here are reported. */
  knownImages?: ReadonlySet<string>;
  /** Time stamped on each box (ms); defaults to Date.now(). */
  time?: number;
  limits?: JsonLimits;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number | string => (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length > 0);
const idText = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.slice(0, 60)) : String(v));

/**
 * Reads one COCO instances file. A file that is not JSON, too large, too deep, has a forbidden key
 * or lacks the `images`/`annotations`/`categories` lists is refused (status `refused`, empty set);
 * otherwise every box problem is reported and the readable boxes are kept.
 */
export function importCoco(input: string | Uint8Array, fileName: string, options: CocoImportOptions = {}): AnnotationImportResult {
  const report = new FileReportBuilder(fileName);
  const empty = (message: string): AnnotationImportResult => ({
    format: 'coco',
    set: { classes: [], images: [] },
    files: [report.refuse(message)],
  });
  const time = options.time ?? Date.now();
  let doc: unknown;
  try {
    // Size first, on the raw input, so a huge file is never decoded into a string: given the
    // oversized input, parseUntrustedJson throws its size refusal before reading anything.
    const limits = options.limits ?? COCO_LIMITS;
    if (byteLength(input) > limits.maxBytes) parseUntrustedJson(input, fileName, limits);
    doc = parseUntrustedJson(decodeText(input), fileName, limits);
  } catch (e) {
    if (e instanceof UntrustedJsonError) return empty(e.message);
    throw e;
  }
  if (!isObject(doc)) return empty(`${fileName} is not a COCO file: its top level is not an object.`);
  for (const key of ['images', 'annotations', 'categories'] as const) {
    if (!Array.isArray(doc[key])) return empty(`${fileName} is not a COCO instances file: it has no "${key}" list.`);
  }
  const rawImages = doc.images as unknown[];
  const rawAnns = doc.annotations as unknown[];
  const rawCats = doc.categories as unknown[];

  // Categories: a duplicate id makes every box of that id ambiguous, so the file is refused.
  const catName = new Map<string, string>();
  const classes: string[] = [];
  for (let i = 0; i < rawCats.length; i++) {
    const c = rawCats[i];
    if (!isObject(c) || !isId(c.id) || typeof c.name !== 'string' || c.name.trim() === '') {
      return empty(`${fileName}: categories[${i}] needs an "id" and a non-empty "name"; the file was refused.`);
    }
    const key = String(c.id);
    if (catName.has(key))
      return empty(`${fileName}: category id ${idText(c.id)} appears twice, so its boxes are ambiguous; the file was refused.`);
    const name = c.name.trim();
    if (classes.includes(name)) {
      report.add({
        kind: 'duplicate-id',
        action: 'kept',
        message: `Categories ${idText(c.id)} and an earlier one are both named "${name}"; their boxes were merged into one class.`,
      });
    } else classes.push(name);
    catName.set(key, name);
  }

  // Images.
  const images = new Map<string, ImageAnnotations>();
  const skippedImages = new Set<string>();
  for (let i = 0; i < rawImages.length; i++) {
    const im = rawImages[i];
    if (!isObject(im) || !isId(im.id)) {
      report.add({ kind: 'missing-field', action: 'dropped', message: `images[${i}] has no usable "id"; it was skipped.` });
      continue;
    }
    const key = String(im.id);
    const name = typeof im.file_name === 'string' && im.file_name !== '' ? im.file_name : null;
    if (images.has(key) || skippedImages.has(key)) {
      report.add({
        kind: 'duplicate-id',
        action: 'dropped',
        message: `Image id ${idText(im.id)} appears twice; the first entry was kept and images[${i}] was skipped.`,
        image: name ?? undefined,
      });
      continue;
    }
    if (name === null) {
      report.add({
        kind: 'missing-field',
        action: 'dropped',
        message: `Image id ${idText(im.id)} has no "file_name"; it and its boxes were skipped.`,
      });
      skippedImages.add(key);
      continue;
    }
    const { width, height } = im;
    if (
      typeof width !== 'number' ||
      typeof height !== 'number' ||
      !Number.isFinite(width) ||
      !Number.isFinite(height) ||
      width < 1 ||
      height < 1
    ) {
      report.add({
        kind: 'image-without-size',
        action: 'dropped',
        message: `${name} has no positive "width" and "height", so its pixel boxes cannot be placed; it and its boxes were skipped.`,
        image: name,
      });
      skippedImages.add(key);
      continue;
    }
    if (options.knownImages && !options.knownImages.has(name)) {
      report.add({
        kind: 'unknown-image',
        action: 'dropped',
        message: `${name} is listed in the file but is not among the imported images; its boxes were skipped.`,
        image: name,
      });
      skippedImages.add(key);
      continue;
    }
    images.set(key, { image: name, width, height, boxes: [] });
  }

  // Annotations.
  const annIds = new Set<string>();
  for (let i = 0; i < rawAnns.length; i++) {
    const a = rawAnns[i];
    const box = isObject(a) && isId(a.id) ? idText(a.id) : `annotations[${i}]`;
    if (!isObject(a)) {
      report.add({ kind: 'wrong-type', action: 'dropped', message: `annotations[${i}] is not an object; it was dropped.`, box });
      continue;
    }
    if (!isId(a.id))
      report.add({ kind: 'missing-field', action: 'kept', message: `annotations[${i}] has no "id"; it was read by position.`, box });
    else if (annIds.has(String(a.id)))
      report.add({
        kind: 'duplicate-id',
        action: 'kept',
        message: `Annotation id ${idText(a.id)} appears more than once; both boxes were kept.`,
        box,
      });
    else annIds.add(String(a.id));
    const imageKey = isId(a.image_id) ? String(a.image_id) : null;
    const image = imageKey === null ? undefined : images.get(imageKey);
    if (!image) {
      if (imageKey !== null && skippedImages.has(imageKey)) continue; // counted with its image
      report.add({
        kind: 'unknown-image',
        action: 'dropped',
        message: `Annotation ${box} refers to image id ${idText(a.image_id)}, which the file does not list; it was dropped.`,
        box,
      });
      continue;
    }
    const label = isId(a.category_id) ? catName.get(String(a.category_id)) : undefined;
    if (label === undefined) {
      report.add({
        kind: 'unknown-class',
        action: 'dropped',
        message: `Annotation ${box} on ${image.image} has category id ${idText(a.category_id)}, which is not among the categories; it was dropped.`,
        image: image.image,
        box,
      });
      continue;
    }
    const bb = a.bbox;
    if (!Array.isArray(bb) || bb.length !== 4 || !bb.every((v) => typeof v === 'number')) {
      report.add({
        kind: 'wrong-type',
        action: 'dropped',
        message: `Annotation ${box} on ${image.image} has no "bbox" of four numbers; it was dropped.`,
        image: image.image,
        box,
      });
      continue;
    }
    const [x, y, w, h] = bb as number[];
    const crowd = a.iscrowd === 1 || a.iscrowd === true;
    const meta: Omit<BoxAnnotation, 'x' | 'y' | 'w' | 'h'> = crowd
      ? { label, source: 'import', time, crowd: true }
      : { label, source: 'import', time };
    const kept = acceptBox({ x: x / image.width, y: y / image.height, w: w / image.width, h: h / image.height }, meta, report, {
      image: image.image,
      box,
    });
    if (kept) {
      image.boxes.push(kept);
      report.report.boxesKept++;
    }
  }
  report.report.images = images.size;
  return { format: 'coco', set: { classes, images: [...images.values()] }, files: [report.done()] };
}

const round2 = (v: number) => Math.round(v * 100) / 100;

/** Writes a COCO instances file: image ids 1..n, category ids 1..k in class order, bbox in pixels. */
export function exportCoco(set: DetectionSet): string {
  const catId = new Map(set.classes.map((c, i) => [c, i + 1]));
  const annotations: unknown[] = [];
  set.images.forEach((im, i) => {
    for (const b of im.boxes) {
      const id = catId.get(b.label);
      if (id === undefined) throw new Error(`exportCoco: box label "${b.label}" on ${im.image} is not in the class list`);
      const bbox = [round2(b.x * im.width), round2(b.y * im.height), round2(b.w * im.width), round2(b.h * im.height)];
      annotations.push({
        id: annotations.length + 1,
        image_id: i + 1,
        category_id: id,
        bbox,
        area: round2(bbox[2] * bbox[3]),
        iscrowd: b.crowd ? 1 : 0,
      });
    }
  });
  return JSON.stringify({
    info: { description: 'Exported by Trainyard' },
    images: set.images.map((im, i) => ({ id: i + 1, file_name: im.image, width: im.width, height: im.height })),
    categories: set.classes.map((name, i) => ({ id: i + 1, name })),
    annotations,
  });
}
