// Reads a backbone's model.json and weight bytes from a zip, a picked folder or a URL, validating
// model.json before anything else happens. No TensorFlow.js here (it runs in Node tests too).
// Zip and folder imports never fetch: weights come only from the picked files.
import { BlobReader, ZipReader, configure, type FileEntry } from '@zip.js/zip.js';
import { validateModelJson, validateWeightBytes, validateWeightValues, type ModelJsonResult } from '../../src/lib/ml/model-json-validate';
import { BACKBONE_LIMITS, checkBackboneUrl, weightUrl } from '../../src/lib/ml/backbone';
import { CATALOG_ORIGIN } from '../../src/lib/ml/backbone-catalog';
import { ZipGuard } from '../../src/lib/import/zip-guard';
import { JSON_LIMITS, UntrustedJsonError, parseUntrustedJson } from '../../src/lib/util/safe-json';
import { concatBytes, inflateEntry } from '../zip-entry';
import { errorMessage } from '../../src/lib/util/errors';
import { sha256Hex } from '../../src/lib/util/hex';
import { isArchiveJunk } from '../../src/lib/util/archive-junk';

configure({ useWebWorkers: false });

export type BackboneSource = { kind: 'zip'; file: File } | { kind: 'files'; files: File[]; paths: string[] } | { kind: 'url'; url: string };

export interface BackboneFiles {
  json: Record<string, unknown>;
  checked: Extract<ModelJsonResult, { ok: true }>;
  weightData: ArrayBuffer;
  /** metadata.json beside model.json (Teachable Machine writes one), when present and valid. */
  metadata: Record<string, unknown> | null;
  /** model.json and each weight file as read, with its SHA-256 (hex). */
  files: Array<{ path: string; bytes: number; sha256: string }>;
  /** SHA-256 (hex) of all weight bytes in manifest order: one fingerprint for the weights. */
  sha256: string;
}

/** Limits and hooks for one read; catalog downloads pass a tighter weight limit than imports. */
export interface ReadOptions {
  maxWeightBytes?: number;
  /** Called once model.json is validated, with the weight bytes it declares. */
  onExpected?: (modelJsonBytes: number, weightBytes: number) => void;
}

/** Re-exported for the backbone readers that import it from here. */
export { sha256Hex };

export type FetchLike = (url: string, init?: RequestInit) => Promise<Response>;

/** One source's files by path relative to model.json's folder; read lazily. */
interface FileSet {
  modelJson: () => Promise<Uint8Array>;
  /** Null when absent; throws when the file is larger than `limit` bytes. */
  file: (path: string, limit: number) => Promise<Uint8Array | null>;
}

function parseAndCheck(bytes: Uint8Array): { json: Record<string, unknown>; checked: Extract<ModelJsonResult, { ok: true }> } {
  const text = new TextDecoder().decode(bytes);
  // Parsed through lib/util/safe-json (size, depth, prototype keys) before anything else reads it.
  const checked = validateModelJson(text);
  if (!checked.ok) throw new Error(`model.json refused: ${checked.reason}`);
  return { json: JSON.parse(text) as Record<string, unknown>, checked };
}

async function collect(files: FileSet, opts: ReadOptions = {}): Promise<BackboneFiles> {
  const jsonBytes = await files.modelJson();
  const { json, checked } = parseAndCheck(jsonBytes);
  const maxWeightBytes = Math.min(opts.maxWeightBytes ?? Infinity, BACKBONE_LIMITS.maxWeightBytes);
  if (checked.expectedBytes > maxWeightBytes) {
    const mb = (n: number) => (n / 2 ** 20).toFixed(1);
    throw new Error(`The backbone's weights would be ${mb(checked.expectedBytes)} MB; the limit is ${mb(maxWeightBytes)} MB.`);
  }
  opts.onExpected?.(jsonBytes.byteLength, checked.expectedBytes);
  const hashed: BackboneFiles['files'] = [{ path: 'model.json', bytes: jsonBytes.byteLength, sha256: await sha256Hex(jsonBytes) }];
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const path of checked.weightFiles) {
    // Each file may hold at most what the manifest still expects: a hostile source cannot make us
    // read more than the declared (and limited) weight size.
    const bytes = await files.file(path, checked.expectedBytes - total);
    if (!bytes) throw new Error(`Weights file ${path} named in model.json was not found next to it.`);
    parts.push(bytes);
    hashed.push({ path, bytes: bytes.byteLength, sha256: await sha256Hex(bytes) });
    total += bytes.byteLength;
  }
  const sizeProblem = validateWeightBytes(checked.expectedBytes, total);
  if (sizeProblem) throw new Error(sizeProblem);
  const weightData = concatBytes(parts);
  const valueProblem = validateWeightValues(weightData.buffer, checked.weights);
  if (valueProblem) throw new Error(valueProblem);
  let metadata: Record<string, unknown> | null = null;
  const metaBytes = await files.file('metadata.json', 1024 * 1024).catch(() => null);
  if (metaBytes) {
    // A hostile metadata.json (too deep, prototype keys) is refused like model.json; one that is
    // merely not JSON only loses the optional hints, the model itself was validated.
    let parsed: unknown;
    try {
      parsed = parseUntrustedJson(metaBytes, 'metadata.json', JSON_LIMITS.metadataJson);
    } catch (e) {
      if (!(e instanceof UntrustedJsonError) || / not valid JSON/.test(e.message)) parsed = null;
      else throw e;
    }
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) metadata = parsed as Record<string, unknown>;
  }
  return { json, checked, weightData: weightData.buffer as ArrayBuffer, metadata, files: hashed, sha256: await sha256Hex(weightData) };
}

async function fromZip(file: Blob): Promise<BackboneFiles> {
  const reader = new ZipReader(new BlobReader(file), { filenameValidation: 'tolerant' });
  try {
    let entries;
    try {
      entries = (await reader.getEntries()).filter((e) => !e.directory && !isArchiveJunk(e.filename));
    } catch {
      throw new Error('This is not a readable zip file.');
    }
    const guard = new ZipGuard({
      maxEntries: 256,
      maxEntryBytes: BACKBONE_LIMITS.maxWeightBytes,
      maxTotalBytes: BACKBONE_LIMITS.maxWeightBytes + BACKBONE_LIMITS.maxJsonBytes,
    });
    guard.checkEntryCount(entries.length);
    const models = entries.filter((e) => /(^|\/)model\.json$/.test(e.filename));
    if (models.length === 0) throw new Error('The zip has no model.json.');
    // The shallowest model.json wins, so a zip of a folder works as well as a flat one.
    const model = models.sort((a, b) => a.filename.split('/').length - b.filename.split('/').length)[0];
    const dir = model.filename.slice(0, -'model.json'.length);
    const find = (path: string) => entries.find((e) => e.filename === dir + path);
    return await collect({
      modelJson: () => inflateEntry(model as FileEntry, guard),
      file: async (path, limit) => {
        const e = find(path);
        if (!e) return null;
        const bytes = await inflateEntry(e as FileEntry, guard);
        if (bytes.byteLength > limit) throw new Error(`${path} is larger than model.json says its weights are.`);
        return bytes;
      },
    });
  } finally {
    await reader.close();
  }
}

async function fromFiles(files: File[], paths: string[]): Promise<BackboneFiles> {
  if (files.length !== paths.length) throw new Error('Each picked file needs its path.');
  const byPath = new Map(paths.map((p, i) => [p.replace(/^\/+/, ''), files[i]]));
  const model = [...byPath.keys()].filter((p) => /(^|\/)model\.json$/.test(p)).sort((a, b) => a.split('/').length - b.split('/').length)[0];
  if (!model) throw new Error('The folder has no model.json.');
  const dir = model.slice(0, -'model.json'.length);
  const read = async (f: File | undefined, limit: number) => {
    if (!f) return null;
    if (f.size > limit) throw new Error(`${f.name} is larger than model.json allows (${limit.toLocaleString('en-US')} bytes).`);
    return new Uint8Array(await f.arrayBuffer());
  };
  return collect({
    modelJson: async () => (await read(byPath.get(model), BACKBONE_LIMITS.maxJsonBytes))!,
    file: (path, limit) => read(byPath.get(dir + path), limit),
  });
}

/** Reads a response body, stopping as soon as it passes `limit` bytes (Content-Length can lie or be absent). */
async function readLimited(res: Response, limit: number, what: string, onChunk?: (bytes: number) => void): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit)
    throw new Error(`${what} is ${declared.toLocaleString('en-US')} bytes; the limit is ${limit.toLocaleString('en-US')}.`);
  if (!res.body) return new Uint8Array(await res.arrayBuffer());
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let step: ReadableStreamReadResult<Uint8Array>;
    try {
      step = await reader.read();
    } catch (err) {
      if ((err as { name?: string })?.name === 'AbortError') throw err;
      throw new Error(`The download of ${what} was cut off after ${size.toLocaleString('en-US')} bytes (${errorMessage(err)}).`, {
        cause: err,
      });
    }
    const { done, value } = step;
    if (done) break;
    size += value.byteLength;
    onChunk?.(value.byteLength);
    if (size > limit) {
      await reader.cancel();
      throw new Error(`${what} is larger than ${limit.toLocaleString('en-US')} bytes; refused.`);
    }
    chunks.push(value);
  }
  return concatBytes(chunks);
}

export interface UrlOptions extends ReadOptions {
  signal?: AbortSignal;
  /** Bytes received so far and bytes expected in all (null until model.json is read). */
  onProgress?: (received: number, total: number | null) => void;
  /** Catalog downloads: the one origin allowed, and the words for a blocked request. */
  catalogOrigin?: string;
}

const OFFLINE = 'You are offline: import a backbone zip instead.';
const isOffline = () => typeof navigator !== 'undefined' && navigator.onLine === false;

/**
 * Fetches model.json from an http(s) URL, then only the weight files model.json lists, as plain
 * names next to it (validated before any of them is requested). `fetchImpl` is injectable so the
 * same code is tested in Node against a local server. Requests are CORS-mode without credentials,
 * which is what a cross-origin read needs under COEP require-corp.
 */
export async function fromUrl(text: string, fetchImpl: FetchLike = fetch, opts: UrlOptions = {}): Promise<BackboneFiles> {
  const url = checkBackboneUrl(text);
  if (typeof url === 'string') throw new Error(url);
  if (opts.catalogOrigin && url.origin !== new URL(opts.catalogOrigin).origin) {
    throw new Error(`Catalog downloads may only come from ${new URL(opts.catalogOrigin).origin}; ${url.origin} is refused.`);
  }
  let received = 0;
  let total: number | null = null;
  const report = () => opts.onProgress?.(received, total);
  const get = async (href: string, limit: number, what: string, optional = false): Promise<Uint8Array | null> => {
    if (opts.signal?.aborted) throw abortError();
    let res: Response;
    try {
      res = await fetchImpl(href, { credentials: 'omit', cache: 'no-store', mode: 'cors', signal: opts.signal });
    } catch (err) {
      if (opts.signal?.aborted) throw abortError();
      if (optional) return null;
      if (isOffline()) throw new Error(OFFLINE, { cause: err });
      // A CSP block or a missing CORS header both surface as a bare TypeError; say what it may be.
      throw new Error(
        `Could not load ${what} from ${href} (${errorMessage(err)}). ` +
          (opts.catalogOrigin
            ? 'The catalog server could not be reached or refused a cross-origin read; check the connection, or import a backbone zip instead.'
            : `The app may only connect to its own origin and the backbone catalog's (Content-Security-Policy connect-src 'self' ${new URL(CATALOG_ORIGIN).origin}), and the server must allow ` +
              'cross-origin reads: host the model next to the app, or download it and import the zip or folder instead.'),
        { cause: err },
      );
    }
    if (!res.ok) {
      if (optional) return null;
      throw new Error(`Could not load ${what} from ${href}: HTTP ${res.status}.`);
    }
    try {
      return await readLimited(res, limit, what, (n) => {
        if (optional) return;
        received += n;
        report();
      });
    } catch (err) {
      if (opts.signal?.aborted) throw abortError();
      if (optional) return null;
      if (isOffline()) throw new Error(OFFLINE, { cause: err });
      throw err;
    }
  };
  return collect(
    {
      modelJson: async () => (await get(url.href, BACKBONE_LIMITS.maxJsonBytes, 'model.json'))!,
      file: (path, limit) => get(weightUrl(url, path), limit, path, path === 'metadata.json'),
    },
    {
      ...opts,
      onExpected: (jsonBytes, weightBytes) => {
        total = jsonBytes + weightBytes;
        report();
        opts.onExpected?.(jsonBytes, weightBytes);
      },
    },
  );
}

function abortError(): Error {
  const err = new Error('The download was cancelled; nothing was stored.');
  err.name = 'AbortError';
  return err;
}

export function readBackboneSource(source: BackboneSource, fetchImpl?: FetchLike): Promise<BackboneFiles> {
  if (source.kind === 'zip') return fromZip(source.file);
  if (source.kind === 'files') return fromFiles(source.files, source.paths);
  return fromUrl(source.url, fetchImpl);
}
