// Data-fit proposals: look at a project's images (size, colour, count per class) and propose
// training settings that suit them, each with the reasons it was made. Pure, tested in Node.
import { CATALOG, type CatalogEntry } from '../ml/backbone-catalog';
import { LIMITS, type TrainSettings } from './train-config';

export interface DataProfile {
  /** Labeled images per class. */
  perClass: Array<{ label: string; count: number }>;
  /** Median of each labeled image's shorter side, in pixels (0 when there are none). */
  medianSide: number;
  /** How many images were looked at for colour, and how many of them were grayscale. */
  colourSampled: number;
  grayscaleSampled: number;
}

export interface Proposal {
  kind: 'transfer' | 'small-cnn';
  title: string;
  /** Why it was proposed, in words a person can check against their data. */
  reasons: string[];
  /** Transfer: the catalog backbone to use (downloaded if not stored yet). */
  catalogId?: string;
  /** Settings to apply; every field stays editable afterwards. */
  settings: Partial<TrainSettings>;
}

/** Below this many images in the smallest class, training from scratch rarely generalises. */
export const FEW_PER_CLASS = 50;
/** Above this shorter side (px), images are treated as photos rather than small icons/glyphs. */
export const PHOTO_SIDE = 64;

/**
 * True when an RGBA image is (nearly) gray: under 1% of pixels have channels more than 16 levels
 * apart, which tolerates JPEG chroma noise in thumbnails.
 */
export function isGrayscaleRgba(rgba: ArrayLike<number>): boolean {
  const pixels = Math.floor(rgba.length / 4);
  if (pixels === 0) return true;
  let coloured = 0;
  for (let i = 0; i < pixels; i++) {
    const r = rgba[i * 4],
      g = rgba[i * 4 + 1],
      b = rgba[i * 4 + 2];
    if (Math.max(Math.abs(r - g), Math.abs(g - b), Math.abs(r - b)) > 16) coloured++;
  }
  return coloured / pixels < 0.01;
}

export function profileData(samples: Array<{ label: string | null; width: number; height: number }>, grayscale: boolean[]): DataProfile {
  const counts = new Map<string, number>();
  const sides: number[] = [];
  for (const s of samples) {
    if (s.label === null) continue;
    counts.set(s.label, (counts.get(s.label) ?? 0) + 1);
    if (s.width > 0 && s.height > 0) sides.push(Math.min(s.width, s.height));
  }
  sides.sort((a, b) => a - b);
  const medianSide = sides.length ? sides[Math.floor((sides.length - 1) / 2)] : 0;
  return {
    perClass: [...counts].map(([label, count]) => ({ label, count })).sort((a, b) => a.label.localeCompare(b.label)),
    medianSide,
    colourSampled: grayscale.length,
    grayscaleSampled: grayscale.filter(Boolean).length,
  };
}

/** Settings for a small head on a catalog backbone, close to Teachable Machine's (Adam 0.001, batch 16). */
function transfer(entry: CatalogEntry, reasons: string[]): Proposal {
  return {
    kind: 'transfer',
    title: `Transfer learning on ${entry.name}`,
    reasons: [...reasons, `${entry.name} suits ${entry.suits}; only a small head is trained on its ${entry.embeddingSize} features.`],
    catalogId: entry.id,
    settings: { optimizer: 'adam', learningRate: 0.001, batchSize: 16, epochs: 30, dropout: 0.25 },
  };
}

function smallCnn(side: number, channels: 1 | 3, reasons: string[]): Proposal {
  const size = Math.max(LIMITS.minInput, Math.min(LIMITS.maxInput, Math.round(side) || 28));
  return {
    kind: 'small-cnn',
    title: `Small CNN at ${size}×${size} px, ${channels === 1 ? 'grayscale' : 'RGB'}`,
    reasons: [...reasons, `The images' own size (${size} px) is kept, so no detail is lost or invented by resizing.`],
    settings: { architecture: 'cnn', inputSize: size, channels, resize: 'pad', backboneId: null },
  };
}

/**
 * Proposals, the best fit first. Photos (colour, larger than ~64 px) or few images per class get
 * transfer learning on a catalog backbone; small grayscale images get the small CNN at their own
 * size. Both are offered when both apply.
 */
export function proposeSettings(p: DataProfile): Proposal[] {
  const labeled = p.perClass.reduce((a, c) => a + c.count, 0);
  if (labeled === 0 || p.perClass.length < 2) return [];
  const smallest = Math.min(...p.perClass.map((c) => c.count));
  const grayscale = p.colourSampled > 0 && p.grayscaleSampled / p.colourSampled >= 0.9;
  const colourWhy =
    p.colourSampled === 0
      ? 'Colour could not be checked; colour is assumed.'
      : grayscale
        ? `${p.grayscaleSampled} of ${p.colourSampled} images checked are grayscale.`
        : `${p.colourSampled - p.grayscaleSampled} of ${p.colourSampled} images checked are in colour.`;
  const sizeWhy = `Images are about ${p.medianSide} px on their shorter side (median).`;
  const few = smallest < FEW_PER_CLASS;
  const fewWhy = few
    ? `The smallest class has ${smallest} image${smallest === 1 ? '' : 's'} (under ${FEW_PER_CLASS}): too few to learn features from scratch.`
    : `Every class has at least ${smallest} images.`;
  const photos = !grayscale && p.medianSide > PHOTO_SIDE;
  const small = p.medianSide <= PHOTO_SIDE;
  const gray96 = CATALOG.find((e) => e.channels === 1)!;
  const colour = CATALOG.find((e) => e.channels === 3)!;
  const backbone = grayscale ? gray96 : colour;
  const out: Proposal[] = [];
  if (grayscale && small) {
    out.push(smallCnn(p.medianSide, 1, [colourWhy, sizeWhy, 'Small grayscale images train well with a small CNN from scratch.']));
    if (few) out.push(transfer(backbone, [fewWhy, colourWhy]));
    return out;
  }
  if (photos || few) {
    out.push(transfer(backbone, [photos ? `${colourWhy} ${sizeWhy} These look like photos.` : `${colourWhy} ${sizeWhy}`, fewWhy]));
  }
  if (small || !few) out.push(smallCnn(Math.min(p.medianSide, grayscale ? 64 : 96), grayscale ? 1 : 3, [colourWhy, sizeWhy, fewWhy]));
  return out;
}
