// Pure rules for transfer-learning backbones: where to cut a classifier to get its embedding,
// which input shapes and URLs are accepted, how pixels are normalised, and how reuse is reported.

/** Limits for one imported backbone: MobileNet v2 at alpha 1 is ~14 MB, EfficientNet-B0 ~21 MB. */
export const BACKBONE_LIMITS = { maxJsonBytes: 50 * 1024 * 1024, maxWeightBytes: 256 * 1024 * 1024, maxInput: 512 };

export interface LayerSummary {
  className: string;
  /** Activation name for Dense/Activation layers ('softmax', 'linear', …). */
  activation?: string | null;
}

const CLASSIFIER_ACTIVATIONS = new Set(['softmax', 'sigmoid']);

/**
 * How many trailing layers to drop so the model's output is its feature vector. A classifier ends
 * in Dense(softmax) or Dense then Activation(softmax): both go, with the Dropout before them (an
 * identity at inference anyway). A model that already ends in features (pooling, flatten, or a
 * Dense without a classifier activation) is used as it is.
 */
export function embeddingCut(layers: LayerSummary[]): number {
  let end = layers.length;
  const at = (i: number) => layers[i];
  let classifier = false;
  if (end > 1 && at(end - 1).className === 'Activation' && CLASSIFIER_ACTIVATIONS.has(at(end - 1).activation ?? '')) {
    end--;
    classifier = true;
  }
  if (end > 1 && at(end - 1).className === 'Dense' && (classifier || CLASSIFIER_ACTIVATIONS.has(at(end - 1).activation ?? ''))) {
    end--;
    classifier = true;
  }
  while (classifier && end > 1 && at(end - 1).className === 'Dropout') end--;
  return layers.length - end;
}

/** [h, w, c] from a model input shape like [null, 224, 224, 3], or the reason it cannot be used. */
export function backboneInputShape(shape: ReadonlyArray<number | null | undefined> | undefined): [number, number, number] | string {
  const show = JSON.stringify(shape ?? null);
  if (!shape || shape.length !== 4)
    return `A backbone needs one image input of rank 4 [batch, height, width, channels]; this one has ${show}.`;
  const [, h, w, c] = shape;
  const fixed = (d: unknown): d is number => typeof d === 'number' && Number.isInteger(d) && d > 0;
  if (!fixed(h) || !fixed(w)) return `A backbone needs a fixed input size; this one has ${show}.`;
  if (h !== w) return `Only square backbone inputs are supported (input ${h}×${w}).`;
  if (h > BACKBONE_LIMITS.maxInput)
    return `Backbone inputs above ${BACKBONE_LIMITS.maxInput} pixels are too large for a browser tab (input ${h}×${w}).`;
  if (c !== 1 && c !== 3) return `A backbone needs 1 or 3 input channels; this one has ${String(c)}.`;
  return [h, w, c];
}

/** The model.json URL, or why it is refused: only http(s), never credentials in the URL. */
export function checkBackboneUrl(text: string): URL | string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return 'That is not a valid URL (it must start with https:// or http://).';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `Only http(s) URLs can be loaded (got ${url.protocol}).`;
  if (url.username || url.password) return 'URLs with a user name or password are refused.';
  return url;
}

/**
 * The URL of one weight file, next to model.json. The path has passed checkWeightPath (a plain
 * relative name), so it cannot leave the model's folder; the origin is checked again anyway.
 */
export function weightUrl(modelUrl: URL, path: string): string {
  const url = new URL(path, modelUrl);
  if (url.origin !== modelUrl.origin) throw new Error(`Weight file ${path} would be loaded from another origin; refused.`);
  return url.href;
}

/** Pixels (uint8, row-major) to float model input in the backbone's range. */
export function normalizePixels(pixels: Uint8Array, normalization: '0..1' | '-1..1', out?: Float32Array, offset = 0): Float32Array {
  const target = out ?? new Float32Array(pixels.length);
  const symmetric = normalization === '-1..1';
  for (let i = 0; i < pixels.length; i++) target[offset + i] = symmetric ? pixels[i] / 127.5 - 1 : pixels[i] / 255;
  return target;
}

/** Shown in progress and in the run's outcome, so a person sees the cache at work. */
export function embeddingSummary(counts: { computed: number; reused: number }): string {
  return `Embeddings: ${counts.computed} computed, ${counts.reused} reused.`;
}

/** A default display name from the picked file, folder or URL. */
export function backboneDisplayName(
  source: { kind: 'zip'; fileName: string } | { kind: 'files'; paths: string[] } | { kind: 'url'; url: string },
): string {
  if (source.kind === 'zip') return source.fileName.replace(/\.zip$/i, '') || 'Backbone';
  if (source.kind === 'files') {
    const model = source.paths.find((p) => /(^|\/)model\.json$/.test(p)) ?? '';
    const folder = model.split('/').slice(0, -1).pop();
    return folder || 'Backbone';
  }
  const parts = source.url.split(/[?#]/)[0].split('/').filter(Boolean);
  return (parts.length > 1 && parts[parts.length - 1] === 'model.json' ? parts[parts.length - 2] : parts.pop()) ?? 'Backbone';
}
