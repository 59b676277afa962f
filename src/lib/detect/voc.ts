// Pascal VOC XML in and out: one file per image (`<annotation>` with `<filename>`, `<size>` and
// `<object>`s holding `<name>` and `<bndbox>` xmin/ymin/xmax/ymax in 1-based pixels). Read with
// the safe reader in xml.ts. Pixel convention (the one Ultralytics' converter uses): the box spans
// x from xmin - 1 to xmax - 1, so normalised x = (xmin - 1) / width, w = (xmax - xmin) / width.
import type {
  AnnotationFileReport,
  AnnotationImportResult,
  BoxAnnotation,
  DetectionSet,
  ImageAnnotations,
} from '../../contracts/detection';
import { FileReportBuilder, acceptBox, byteLength, decodeText, stripExtension, type TextFile } from './boxes';
import { XML_LIMITS, XmlError, child, escapeXml, parseXml, type XmlElement } from './xml';

export interface VocImportOptions {
  knownImages?: ReadonlySet<string>;
  time?: number;
  /** Class names to keep; an object whose name is not in the list is reported as an unknown class. */
  classes?: readonly string[];
}

const num = (el: XmlElement | undefined): number => {
  if (!el) return NaN;
  const t = el.text.trim();
  return /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : NaN;
};

function readOne(
  file: TextFile,
  options: VocImportOptions,
  time: number,
  classes: string[],
): { report: AnnotationFileReport; image?: ImageAnnotations } {
  const report = new FileReportBuilder(file.path);
  if (byteLength(file.data) > XML_LIMITS.maxBytes)
    return { report: report.refuse(`${file.path} is larger than ${XML_LIMITS.maxBytes} bytes; it was refused.`) };
  let root: XmlElement;
  try {
    root = parseXml(decodeText(file.data), file.path);
  } catch (e) {
    if (e instanceof XmlError) return { report: report.refuse(e.message) };
    throw e;
  }
  if (root.name !== 'annotation')
    return { report: report.refuse(`${file.path} is not a Pascal VOC file: its root element is <${root.name}>, not <annotation>.`) };
  const filename = child(root, 'filename')?.text.trim() ?? '';
  const name = filename !== '' ? filename : null;
  if (name === null) return { report: report.refuse(`${file.path} has no <filename>, so its boxes belong to no image; it was refused.`) };
  const size = child(root, 'size');
  const width = num(size && child(size, 'width'));
  const height = num(size && child(size, 'height'));
  if (!(width >= 1) || !(height >= 1) || !Number.isFinite(width) || !Number.isFinite(height)) {
    return {
      report: report.refuse(
        `${file.path} has no positive <size><width>/<height> for ${name}; its pixel boxes cannot be placed, so it was refused.`,
      ),
    };
  }
  if (options.knownImages && !options.knownImages.has(name)) {
    report.add({
      kind: 'unknown-image',
      action: 'skipped-file',
      message: `${name} is not among the imported images; the file's boxes were skipped.`,
      image: name,
    });
    return { report: report.done() };
  }
  const image: ImageAnnotations = { image: name, width, height, boxes: [] };
  const objects = root.children.filter((c) => c.name === 'object');
  objects.forEach((obj, k) => {
    const box = String(k + 1);
    const label = child(obj, 'name')?.text.trim() ?? '';
    if (label === '') {
      report.add({
        kind: 'missing-field',
        action: 'dropped',
        message: `Object ${box} on ${name} has no <name>; it was dropped.`,
        image: name,
        box,
      });
      return;
    }
    if (options.classes && !options.classes.includes(label)) {
      report.add({
        kind: 'unknown-class',
        action: 'dropped',
        message: `Object ${box} on ${name} is "${label.slice(0, 60)}", which is not among the classes; it was dropped.`,
        image: name,
        box,
      });
      return;
    }
    const bb = child(obj, 'bndbox');
    if (!bb) {
      report.add({
        kind: 'missing-field',
        action: 'dropped',
        message: `Object ${box} on ${name} has no <bndbox>; it was dropped.`,
        image: name,
        box,
      });
      return;
    }
    const [x0, y0, x1, y1] = ['xmin', 'ymin', 'xmax', 'ymax'].map((t) => num(child(bb, t)));
    const meta: Omit<BoxAnnotation, 'x' | 'y' | 'w' | 'h'> = { label, source: 'import', time };
    const kept = acceptBox({ x: (x0 - 1) / width, y: (y0 - 1) / height, w: (x1 - x0) / width, h: (y1 - y0) / height }, meta, report, {
      image: name,
      box,
    });
    if (kept) {
      image.boxes.push(kept);
      report.report.boxesKept++;
      if (!classes.includes(label)) classes.push(label);
    }
  });
  report.report.images = 1;
  return { report: report.done(), image };
}

/** Reads VOC XML files, one report each; a second file for the same image is reported and skipped. */
export function importVoc(files: readonly TextFile[], options: VocImportOptions = {}): AnnotationImportResult {
  const time = options.time ?? Date.now();
  const classes = options.classes ? [...options.classes] : [];
  const images = new Map<string, ImageAnnotations>();
  const reports: AnnotationFileReport[] = [];
  for (const file of files) {
    const { report, image } = readOne(file, options, time, classes);
    if (image && images.has(image.image)) {
      report.issues.push({
        kind: 'duplicate-id',
        action: 'skipped-file',
        message: `${image.image} is already annotated by another file; this file was skipped.`,
        image: image.image,
      });
      report.status = 'issues';
      report.boxesKept = 0;
      report.images = 0;
    } else if (image) images.set(image.image, image);
    reports.push(report);
  }
  return { format: 'voc', set: { classes, images: [...images.values()] }, files: reports };
}

const px = (v: number) => Math.round(v * 100) / 100;

/** One `Annotations/<image stem>.xml` per image. */
export function exportVoc(set: DetectionSet): TextFile[] {
  return set.images.map((im) => {
    const objects = im.boxes
      .map(
        (b) =>
          `  <object>\n    <name>${escapeXml(b.label)}</name>\n    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n    <difficult>0</difficult>\n    <bndbox>\n` +
          `      <xmin>${px(b.x * im.width + 1)}</xmin>\n      <ymin>${px(b.y * im.height + 1)}</ymin>\n` +
          `      <xmax>${px((b.x + b.w) * im.width + 1)}</xmax>\n      <ymax>${px((b.y + b.h) * im.height + 1)}</ymax>\n    </bndbox>\n  </object>\n`,
      )
      .join('');
    const data =
      `<?xml version="1.0" encoding="UTF-8"?>\n<annotation>\n  <folder>images</folder>\n  <filename>${escapeXml(im.image)}</filename>\n` +
      `  <size>\n    <width>${im.width}</width>\n    <height>${im.height}</height>\n    <depth>3</depth>\n  </size>\n  <segmented>0</segmented>\n${objects}</annotation>\n`;
    return { path: `Annotations/${stripExtension(im.image)}.xml`, data };
  });
}
