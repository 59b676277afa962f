// YOLO (Darknet / Ultralytics) labels in and out: one `labels/<image stem>.txt` per image whose
// lines are `class cx cy w h` (class index, box centre and size normalised to 0..1), and a class
// list in `classes.txt` (one name a line) or `data.yaml` (`names:` as a list, a flow list or an
// index map). Images pair with label files the YOLO way (the last `images/` folder of the path
// becomes `labels/`, the extension `.txt`), or by file stem where that is unique.
import type {
  AnnotationFileReport,
  AnnotationImportResult,
  BoxAnnotation,
  DetectionSet,
  ImageAnnotations,
} from '../../contracts/detection';
import { FileReportBuilder, acceptBox, baseName, byteLength, decodeText, stripExtension, type TextFile } from './boxes';

export interface YoloImage {
  name: string;
  width: number;
  height: number;
}

export interface YoloImportOptions {
  time?: number;
}

/** A label file larger than this is refused (100,000 boxes of 40 characters). */
export const YOLO_MAX_LABEL_BYTES = 4 * 1024 * 1024;
export const YOLO_MAX_CLASSES = 10_000;

/** `images/train/a.jpg` → `labels/train/a`; `a.jpg` → `labels/a`. */
export function yoloLabelKey(imagePath: string): string {
  const stem = stripExtension(imagePath);
  const at = stem.lastIndexOf('images/');
  if (at === 0 || (at > 0 && stem[at - 1] === '/')) return `${stem.slice(0, at)}labels/${stem.slice(at + 7)}`;
  return `labels/${stem}`;
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
const NONFINITE = /^[-+]?(nan|inf|infinity)$/i;
const unquote = (s: string) => {
  const t = s.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    try {
      const v: unknown = JSON.parse(t);
      if (typeof v === 'string') return v;
    } catch {
      /* not JSON-escaped: strip the quotes only */
    }
    return t.slice(1, -1);
  }
  return t.length >= 2 && t.startsWith("'") && t.endsWith("'") ? t.slice(1, -1).replace(/''/g, "'") : t;
};

/**
 * The `names` of an Ultralytics data.yaml (only that key is read; this is not a YAML parser):
 * `names: [a, b]`, `names: {0: a, 1: b}`, or an indented block of `- a` or `0: a` lines.
 * Returns null when there is no usable `names`.
 */
export function parseYamlNames(text: string): string[] | null {
  const lines = text.split('\n').map((l) => l.replace(/\s+#.*$/, '').replace(/\s+$/, ''));
  const start = lines.findIndex((l) => /^names\s*:/.test(l));
  if (start === -1) return null;
  let rest = lines[start].replace(/^names\s*:\s*/, '');
  if (rest.startsWith('[') || rest.startsWith('{')) {
    const close = rest[0] === '[' ? ']' : '}';
    let k = start;
    while (!rest.includes(close) && k + 1 < lines.length) rest += ' ' + lines[++k].trim();
    if (!rest.includes(close)) return null;
    const items = rest
      .slice(1, rest.lastIndexOf(close))
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (close === ']') return items.map(unquote);
    return indexMap(items.map((s) => s.split(/:(.*)/s)));
  }
  if (rest !== '') return null;
  const block: string[] = [];
  for (let k = start + 1; k < lines.length && (/^\s+/.test(lines[k]) || lines[k] === ''); k++)
    if (lines[k].trim() !== '') block.push(lines[k].trim());
  if (block.length === 0) return null;
  if (block.every((l) => l.startsWith('- ') || l === '-')) return block.map((l) => unquote(l.slice(1)));
  return indexMap(block.map((l) => l.split(/:(.*)/s)));
}

function indexMap(pairs: string[][]): string[] | null {
  const out: string[] = [];
  for (const [k, v] of pairs) {
    if (v === undefined || !/^\d+$/.test(k.trim())) return null;
    out[Number(k.trim())] = unquote(v);
  }
  for (let i = 0; i < out.length; i++) if (out[i] === undefined) return null;
  return out;
}

/**
 * Reads a YOLO folder's text files against the images being imported (names with their pixel
 * sizes). Without a class list the import is refused (class indices alone name nothing).
 */
export function importYolo(
  files: readonly TextFile[],
  images: readonly YoloImage[],
  options: YoloImportOptions = {},
): AnnotationImportResult {
  const time = options.time ?? Date.now();
  const reports: AnnotationFileReport[] = [];
  const refuseAll = (file: string, message: string): AnnotationImportResult => ({
    format: 'yolo',
    set: { classes: [], images: [] },
    files: [new FileReportBuilder(file).refuse(message)],
  });

  // The class list.
  const yamlFile = files.find((f) => /(^|\/)[^/]*\.ya?ml$/i.test(f.path));
  const txtFile = files.find((f) => /(^|\/)(classes\.txt|[^/]*\.names)$/i.test(f.path));
  let classes: string[] | null = null;
  let classFile: string;
  if (yamlFile) {
    classFile = yamlFile.path;
    if (byteLength(yamlFile.data) > 1024 * 1024) return refuseAll(classFile, `${classFile} is larger than 1 MB; it was refused.`);
    classes = parseYamlNames(decodeText(yamlFile.data).replace(/\r\n?/g, '\n'));
    if (!classes)
      return refuseAll(
        classFile,
        `${classFile} has no "names:" list the import can read (a list, [a, b], or 0: a lines); nothing was imported.`,
      );
  } else if (txtFile) {
    classFile = txtFile.path;
    if (byteLength(txtFile.data) > 1024 * 1024) return refuseAll(classFile, `${classFile} is larger than 1 MB; it was refused.`);
    classes = decodeText(txtFile.data)
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
  } else {
    return refuseAll(
      'classes.txt',
      'The YOLO folder has no class list (classes.txt, *.names or data.yaml with "names:"); class numbers alone name nothing, so nothing was imported.',
    );
  }
  if (classes.length === 0 || classes.length > YOLO_MAX_CLASSES)
    return refuseAll(
      classFile,
      `${classFile} lists ${classes.length} classes; between 1 and ${YOLO_MAX_CLASSES} are needed, so nothing was imported.`,
    );
  const seen = new Set<string>();
  for (const c of classes) {
    if (c === '') return refuseAll(classFile, `${classFile} has an empty class name; nothing was imported.`);
    if (seen.has(c))
      return refuseAll(
        classFile,
        `${classFile} names the class "${c.slice(0, 60)}" twice, so its boxes would be ambiguous; nothing was imported.`,
      );
    seen.add(c);
  }
  const classReport = new FileReportBuilder(classFile);
  if (yamlFile && txtFile) {
    const other = decodeText(txtFile.data)
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    if (other.join('\n') !== classes.join('\n')) {
      classReport.add({
        kind: 'duplicate-id',
        action: 'kept',
        message: `${yamlFile.path} and ${txtFile.path} list different classes; ${yamlFile.path} was used.`,
      });
    }
  }

  // Pair images with label files.
  const byKey = new Map<string, ImageAnnotations>();
  const byStem = new Map<string, ImageAnnotations[]>();
  for (const im of images) {
    const ann: ImageAnnotations = { image: im.name, width: im.width, height: im.height, boxes: [] };
    byKey.set(yoloLabelKey(im.name), ann);
    const stem = stripExtension(baseName(im.name));
    byStem.set(stem, [...(byStem.get(stem) ?? []), ann]);
  }
  const labelled = new Set<ImageAnnotations>();
  const labelFiles = files.filter((f) => f !== txtFile && f !== yamlFile && /\.txt$/i.test(f.path));
  for (const file of labelFiles) {
    const report = new FileReportBuilder(file.path);
    const key = stripExtension(file.path);
    let image = byKey.get(key);
    if (!image) {
      const stemMatches = byStem.get(stripExtension(baseName(file.path))) ?? [];
      if (stemMatches.length === 1) image = stemMatches[0];
    }
    if (!image) {
      report.add({
        kind: 'unknown-image',
        action: 'skipped-file',
        message: `${file.path} matches none of the imported images; its boxes were skipped.`,
      });
      reports.push(report.done());
      continue;
    }
    if (labelled.has(image)) {
      report.add({
        kind: 'duplicate-id',
        action: 'skipped-file',
        message: `${image.image} already has a label file; ${file.path} was skipped.`,
        image: image.image,
      });
      reports.push(report.done());
      continue;
    }
    if (byteLength(file.data) > YOLO_MAX_LABEL_BYTES) {
      reports.push(report.refuse(`${file.path} is larger than ${YOLO_MAX_LABEL_BYTES / 1024 / 1024} MB; it was refused.`));
      continue;
    }
    labelled.add(image);
    const lines = decodeText(file.data).split(/\r\n|\r|\n/);
    lines.forEach((line, k) => {
      const t = line.trim();
      if (t === '') return;
      const box = `line ${k + 1}`;
      const where = { image: image.image, box };
      const tok = t.split(/\s+/);
      if (tok.length !== 5) {
        const why = tok.length > 5 && (tok.length - 1) % 2 === 0 ? ' (a segmentation polygon, which boxes do not use)' : '';
        report.add({
          kind: 'malformed-line',
          action: 'dropped',
          message: `${file.path} ${box} has ${tok.length} values, not "class cx cy w h"${why}; it was dropped.`,
          ...where,
        });
        return;
      }
      if (!/^\d+$/.test(tok[0]) || Number(tok[0]) >= classes.length) {
        report.add({
          kind: 'unknown-class',
          action: 'dropped',
          message: `${file.path} ${box} has class "${tok[0].slice(0, 20)}", but the class list has ${classes.length} classes (0..${classes.length - 1}); it was dropped.`,
          ...where,
        });
        return;
      }
      const v = tok.slice(1).map((s) => (NUMBER.test(s) ? Number(s) : NONFINITE.test(s) ? NaN : null));
      if (v.some((x) => x === null)) {
        report.add({
          kind: 'malformed-line',
          action: 'dropped',
          message: `${file.path} ${box} has a value that is not a number; it was dropped.`,
          ...where,
        });
        return;
      }
      const [cx, cy, w, h] = v as number[];
      const meta: Omit<BoxAnnotation, 'x' | 'y' | 'w' | 'h'> = { label: classes[Number(tok[0])], source: 'import', time };
      const kept = acceptBox({ x: cx - w / 2, y: cy - h / 2, w, h }, meta, report, where);
      if (kept) {
        image.boxes.push(kept);
        report.report.boxesKept++;
      }
    });
    report.report.images = 1;
    reports.push(report.done());
  }
  for (const ann of byKey.values()) {
    if (!labelled.has(ann)) {
      classReport.add({
        kind: 'no-label-file',
        action: 'kept',
        message: `${ann.image} has no label file; it was kept with no boxes (YOLO's way of marking an image with no objects).`,
        image: ann.image,
      });
    }
  }
  reports.unshift(classReport.done());
  return { format: 'yolo', set: { classes, images: [...byKey.values()] }, files: reports };
}

const r6 = (v: number) => String(Math.round(v * 1e6) / 1e6);

/** `labels/<stem>.txt` per image (empty for an image with no boxes), `classes.txt` and `data.yaml`. */
export function exportYolo(set: DetectionSet): TextFile[] {
  const index = new Map(set.classes.map((c, i) => [c, i]));
  const out: TextFile[] = set.images.map((im) => ({
    path: `${yoloLabelKey(im.image)}.txt`,
    data: im.boxes
      .map((b) => {
        const c = index.get(b.label);
        if (c === undefined) throw new Error(`exportYolo: box label "${b.label}" on ${im.image} is not in the class list`);
        return `${c} ${r6(b.x + b.w / 2)} ${r6(b.y + b.h / 2)} ${r6(b.w)} ${r6(b.h)}\n`;
      })
      .join(''),
  }));
  out.push({ path: 'classes.txt', data: set.classes.map((c) => `${c}\n`).join('') });
  out.push({
    path: 'data.yaml',
    data: `nc: ${set.classes.length}\nnames:\n${set.classes.map((c) => `  - ${JSON.stringify(c)}`).join('\n')}\n`,
  });
  return out;
}
