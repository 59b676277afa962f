// The catalog of pretrained backbones one click away: the exact TF.js layers models that Teachable
// Machine's public libraries load (@teachablemachine/image 0.8.5, src/custom-mobilenet.ts, and the
// Teachable Machine app's grayscale "tiny image" model), all on one origin. Pure: no fetch, no DOM.
//
// The origin is fixed at build time (TRAINYARD_CATALOG_ORIGIN, see vite.config.ts), so tests serve
// small stand-in models from a local server and the production CSP names exactly one origin.
import type { DownloadProgress } from '../../contracts/training';
export type { DownloadProgress };

declare const __TRAINYARD_CATALOG_ORIGIN__: string | undefined;

/** Google's public bucket, where @teachablemachine/image loads MobileNet from. */
export const DEFAULT_CATALOG_ORIGIN = 'https://storage.googleapis.com';

/** The one origin catalog downloads may reach (the CSP's connect-src names it, and nothing else). */
export const CATALOG_ORIGIN: string =
  typeof __TRAINYARD_CATALOG_ORIGIN__ === 'string' && __TRAINYARD_CATALOG_ORIGIN__ ? __TRAINYARD_CATALOG_ORIGIN__ : DEFAULT_CATALOG_ORIGIN;

export interface CatalogEntry {
  id: string;
  name: string;
  /** Path of model.json on the catalog origin. */
  path: string;
  inputSize: number;
  channels: 1 | 3;
  /** Width of the feature vector after `pooling` of `outputLayer`. */
  embeddingSize: number;
  /** The layer Teachable Machine cuts at ("trainingLayer"), and how its map becomes a vector. */
  outputLayer: string;
  pooling: 'avg' | 'flatten';
  normalization: '-1..1';
  /** Float32 weight bytes computed from the published parameter counts (shown as "about"). */
  approxBytes: number;
  license: string;
  licenseUrl: string;
  /** When the model suits a dataset (used by the data-fit proposals). */
  suits: string;
}

const APACHE = { license: 'Apache-2.0', licenseUrl: 'https://www.apache.org/licenses/LICENSE-2.0' };
// Keras MobileNetV2(include_top=False) parameter counts; every width ends in 1280 channels (out_relu).
const V2: Array<[string, number]> = [
  ['0.35', 410_208],
  ['0.50', 706_224],
  ['0.75', 1_382_064],
  ['1.00', 2_257_984],
];

export const CATALOG: readonly CatalogEntry[] = Object.freeze([
  ...V2.map(([alpha, params]): CatalogEntry => ({
    id: `mobilenet-v2-${alpha}-224`,
    name: `MobileNet v2 ${alpha} (224 px, RGB)`,
    path: `/teachable-machine-models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_${alpha}_224_no_top/model.json`,
    inputSize: 224,
    channels: 3,
    embeddingSize: 1280,
    outputLayer: 'out_relu',
    pooling: 'avg',
    normalization: '-1..1',
    approxBytes: params * 4,
    ...APACHE,
    suits:
      alpha === '0.35'
        ? "photos; the fastest (Teachable Machine's default)"
        : alpha === '1.00'
          ? 'photos; the most accurate, the slowest'
          : 'photos',
  })),
  {
    id: 'mobilenet-v1-0.25-96-gray',
    name: 'MobileNet v1 0.25 (96 px, grayscale)',
    path: '/teachable-machine-models/mobilenet_v1_grayscale_025_96/model.json',
    inputSize: 96,
    channels: 1,
    // conv_pw_13_relu at 96 px is 3×3×256, flattened as Teachable Machine does.
    embeddingSize: 2304,
    outputLayer: 'conv_pw_13_relu',
    pooling: 'flatten',
    normalization: '-1..1',
    // MobileNet v1 0.25 with its classifier: about 475,000 parameters.
    approxBytes: 475_000 * 4,
    ...APACHE,
    suits: "small grayscale images (Teachable Machine's microcontroller model)",
  },
]);

export function catalogEntry(id: string): CatalogEntry | null {
  return CATALOG.find((e) => e.id === id) ?? null;
}

/** model.json's URL for an entry on the given origin (the build's origin by default). */
export function catalogUrl(entry: CatalogEntry, origin: string = CATALOG_ORIGIN): string {
  return new URL(entry.path, origin.replace(/\/+$/, '') + '/').href;
}

/**
 * The most weight bytes a download of this entry may bring: its known size with room for a
 * re-export, never an unbounded stream from a server that lies about its size.
 */
export function catalogMaxBytes(entry: CatalogEntry): number {
  return Math.ceil(entry.approxBytes * 1.5) + 1024 * 1024;
}

/** Null when `url` is on the catalog origin, else why it is refused. */
export function checkCatalogUrl(url: string, origin: string = CATALOG_ORIGIN): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'Not a valid URL.';
  }
  return u.origin === new URL(origin).origin
    ? null
    : `Catalog downloads may only come from ${new URL(origin).origin}; ${u.origin} is refused.`;
}

/**
 * Checks what a downloaded model turned out to be against what the catalog promised, so a swapped
 * or re-exported file cannot silently change the contract. Null when it matches.
 */
export function checkCatalogContract(
  entry: CatalogEntry,
  got: { inputShape: [number, number, number]; embeddingSize: number },
): string | null {
  const [h, w, c] = got.inputShape;
  if (h !== entry.inputSize || w !== entry.inputSize || c !== entry.channels) {
    return `${entry.name} should take ${entry.inputSize}×${entry.inputSize}×${entry.channels} images; the downloaded model takes ${got.inputShape.join('×')}. Nothing was stored.`;
  }
  if (got.embeddingSize !== entry.embeddingSize) {
    return `${entry.name} should give ${entry.embeddingSize} features; the downloaded model gives ${got.embeddingSize}. Nothing was stored.`;
  }
  return null;
}

/** Seconds left at the average rate so far, or null when it cannot be told yet. */
export function secondsLeft(p: DownloadProgress): number | null {
  if (p.total === null || p.received <= 0 || p.elapsedMs < 200) return null;
  const rate = p.received / p.elapsedMs;
  return Math.max(0, Math.ceil((p.total - p.received) / rate / 1000));
}

/** "1.2 MB of 9.0 MB, about 4 s left". */
export function describeDownload(p: DownloadProgress, format: (bytes: number) => string): string {
  const left = secondsLeft(p);
  const of = p.total === null ? format(p.received) : `${format(p.received)} of ${format(p.total)}`;
  return left === null ? of : `${of}, about ${left < 60 ? `${left} s` : `${Math.ceil(left / 60)} min`} left`;
}
