// Validates an untrusted TF.js model.json before TensorFlow.js sees it: weight paths must be plain
// file names (a URL would make the loader fetch it), dtypes, shapes and sizes must be sane.
import { checkTopology } from './model-json-layers';
import { JSON_LIMITS, UntrustedJsonError, checkUntrustedValue, parseUntrustedJson } from '../util/safe-json';

export type WeightDtype = 'float32' | 'int32' | 'bool';
export type QuantDtype = 'uint8' | 'uint16' | 'float16';
export interface ManifestWeight {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  /** Present when the stored bytes are quantized; decides the byte size. */
  quantization?: QuantDtype;
}
export type ModelJsonResult =
  | { ok: true; weightFiles: string[]; weights: ManifestWeight[]; expectedBytes: number; format: 'layers-model' | 'graph-model' }
  | { ok: false; reason: string };

const MAX_FILES = 10_000;
const MAX_WEIGHTS = 100_000;
const MAX_GRAPH_NODES = 200_000;
const BYTES: Record<WeightDtype | QuantDtype, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });
const show = (s: string) => JSON.stringify(s.length > 120 ? `${s.slice(0, 120)}…` : s);

/**
 * Weight paths are resolved against the model.json URL by TF.js's loaders, so anything but a plain
 * relative name could make a network request or reach outside the model's own files.
 */
export function checkWeightPath(p: unknown): string | null {
  if (typeof p !== 'string' || p.length === 0) return 'model.json has an empty or non-text weight path.';
  const why = (what: string) => `Weight path ${show(p)} ${what}; loading it would make a network request, so the model is refused.`;
  if (/^data:/i.test(p)) return why('is a data: URL');
  if (/^[a-z][a-z0-9+.-]*:/i.test(p)) return why('is a URL with a scheme');
  if (p.startsWith('//')) return why('is a protocol-relative URL (//host)');
  if (p.startsWith('/')) return why('is an absolute path');
  if (p.includes('\\')) return why('contains a backslash');
  const segments = p.split('/');
  if (segments.some((s) => s === '..' || s === '.')) return why("contains '..' or '.' segments");
  // Percent escapes are refused too: a URL parser reads %2e%2e as '..'.
  if (p.length > 255 || segments.some((s) => !/^[\p{L}\p{N}_][\p{L}\p{N}._\- ()+]*$/u.test(s))) {
    return why('is not a plain file name');
  }
  return null;
}

function checkWeight(w: unknown, i: number): ManifestWeight | string {
  if (!isObj(w) || typeof w.name !== 'string' || w.name === '') return `Weight entry ${i} in model.json has no name.`;
  const name = w.name.slice(0, 120);
  if (w.dtype !== 'float32' && w.dtype !== 'int32' && w.dtype !== 'bool')
    return `Weight '${name}' has unsupported dtype ${JSON.stringify(w.dtype)}.`;
  if (!Array.isArray(w.shape) || w.shape.length > 8 || !w.shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return `Weight '${name}' has an invalid shape ${JSON.stringify(w.shape)?.slice(0, 80)}.`;
  }
  const out: ManifestWeight = { name: w.name, shape: w.shape as number[], dtype: w.dtype };
  if (w.quantization !== undefined) {
    const q = w.quantization;
    if (!isObj(q) || (q.dtype !== 'uint8' && q.dtype !== 'uint16' && q.dtype !== 'float16'))
      return `Weight '${name}' has unsupported quantization.`;
    if (q.dtype !== 'float16' && !(Number.isFinite(q.scale) && Number.isFinite(q.min)))
      return `Weight '${name}' has quantization without a finite scale and min.`;
    out.quantization = q.dtype;
  }
  return out;
}

/** Accepts the parsed object or the raw text (parse errors become a reason, never a throw). */
export function validateModelJson(json: unknown, opts: { maxParams?: number } = {}): ModelJsonResult {
  const maxParams = opts.maxParams ?? 50e6;
  // Size, depth and prototype keys (lib/util/safe-json), on the text before parsing; a value handed
  // over already parsed gets the same walk below, after the specific checks. TF.js's config
  // conversion recurses, and a deeply nested layer config would overflow its stack.
  if (typeof json === 'string') {
    try {
      json = parseUntrustedJson(json, 'model.json', JSON_LIMITS.modelJson);
    } catch (e) {
      if (e instanceof UntrustedJsonError) return fail(e.message);
      throw e;
    }
  }
  if (!isObj(json)) return fail('model.json must contain a JSON object.');
  if (!isObj(json.modelTopology)) return fail('model.json has no modelTopology: it is not a TensorFlow.js model.');
  if (!Array.isArray(json.weightsManifest)) return fail('model.json has no weightsManifest list.');
  if (json.format !== undefined && json.format !== 'layers-model' && json.format !== 'graph-model') {
    return fail(`model.json has unknown format ${JSON.stringify(json.format)?.slice(0, 60)}.`);
  }

  const weightFiles: string[] = [];
  const weights: ManifestWeight[] = [];
  const names = new Set<string>();
  let params = 0;
  let expectedBytes = 0;
  for (const group of json.weightsManifest) {
    if (!isObj(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      return fail('model.json weightsManifest entries need a paths list and a weights list.');
    }
    if (group.weights.length > 0 && group.paths.length === 0) return fail('model.json lists weights without any weight file.');
    for (const p of group.paths) {
      const problem = checkWeightPath(p);
      if (problem) return fail(problem);
      weightFiles.push(p as string);
    }
    for (const raw of group.weights) {
      const w = checkWeight(raw, weights.length);
      if (typeof w === 'string') return fail(w);
      if (names.has(w.name)) return fail(`Weight '${w.name.slice(0, 120)}' is listed twice in model.json.`);
      names.add(w.name);
      const count = w.shape.reduce((a, b) => a * b, 1);
      params += count;
      if (params > maxParams) {
        return fail(
          `model.json declares more than ${maxParams.toLocaleString('en-US')} parameters (weight '${w.name.slice(0, 120)}' has shape [${w.shape}]): absurd size.`,
        );
      }
      expectedBytes += count * BYTES[w.quantization ?? w.dtype];
      weights.push(w);
    }
    if (weightFiles.length > MAX_FILES || weights.length > MAX_WEIGHTS) return fail('model.json lists too many weight files or weights.');
  }

  const topo = json.modelTopology;
  const isGraph = json.format === 'graph-model' || Array.isArray(topo.node);
  if (isGraph) {
    // Graph models run ops, not layers; only bounded size is checked here. They cannot be fine-tuned.
    if (!Array.isArray(topo.node)) return fail('graph-model model.json has no node list.');
    if (topo.node.length > MAX_GRAPH_NODES) return fail(`model.json has ${topo.node.length} graph nodes: absurd size.`);
  } else {
    const problem = checkTopology(topo);
    if (problem) return fail(problem);
  }
  try {
    checkUntrustedValue(json, 'model.json', JSON_LIMITS.modelJson.maxDepth);
  } catch (e) {
    if (e instanceof UntrustedJsonError) return fail(e.message);
    throw e;
  }
  return { ok: true, weightFiles, weights, expectedBytes, format: isGraph ? 'graph-model' : 'layers-model' };
}

/** The concatenated weight files must be exactly the size the manifest promises. */
export function validateWeightBytes(expectedBytes: number, actual: number): string | null {
  if (actual === expectedBytes) return null;
  const fmt = (n: number) => n.toLocaleString('en-US');
  return `The weights file is ${fmt(actual)} bytes, model.json expects ${fmt(expectedBytes)}${actual < expectedBytes ? ' (truncated?)' : ''}.`;
}

/** Scans the concatenated weight bytes (little-endian, manifest order) for NaN or Infinity. */
export function validateWeightValues(buffer: ArrayBuffer, weights: ManifestWeight[]): string | null {
  const view = new DataView(buffer);
  let offset = 0;
  for (const w of weights) {
    const count = w.shape.reduce((a, b) => a * b, 1);
    const bytes = count * BYTES[w.quantization ?? w.dtype];
    if (offset + bytes > buffer.byteLength) return validateWeightBytes(offset + bytes, buffer.byteLength);
    const kind = w.quantization ?? w.dtype;
    for (let i = 0; i < count && (kind === 'float32' || kind === 'float16'); i++) {
      const bad =
        kind === 'float32'
          ? !Number.isFinite(view.getFloat32(offset + i * 4, true))
          : (view.getUint16(offset + i * 2, true) & 0x7c00) === 0x7c00; // float16 exponent all ones
      if (bad) return `Weight '${w.name.slice(0, 120)}' contains NaN or infinite values; the model is refused.`;
    }
    offset += bytes;
  }
  return null;
}
