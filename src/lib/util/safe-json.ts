// The one way Trainyard parses JSON that came from a file a person picked (model.json,
// metadata.json, project-file manifests and records, pipeline definitions). Untrusted JSON is
// bounded BEFORE anything recursive sees it: TF.js's config conversion, structuredClone and
// IndexedDB's clone all recurse, and a 50 MB file of nested objects overflows their stack.
//
//  - size: refused before JSON.parse allocates the value;
//  - depth: measured on the text by a single loop (no recursion), before JSON.parse;
//  - keys `__proto__`, `constructor`, `prototype` anywhere: refused, naming the key and its JSON
//    path (they could alter objects a value is merged into); found by a loop with its own stack.
//
// Every refusal is an UntrustedJsonError whose message is one sentence naming the file and the
// limit. Pure: no DOM, no IndexedDB; runs in workers, the page and Node tests alike.

export class UntrustedJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntrustedJsonError';
  }
}

export interface JsonLimits {
  /** Largest text, in UTF-16 code units when given a string, in bytes when given bytes. */
  maxBytes: number;
  /** Deepest nesting of objects and arrays; the top-level value is depth 1. */
  maxDepth: number;
}

/** Keys refused in every untrusted JSON value. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Limits per kind of file; a caller may tighten them. */
export const JSON_LIMITS = {
  /** A TF.js model.json (a large model's topology and manifest are a few MB; nesting about 15). */
  modelJson: { maxBytes: 50 * 1024 * 1024, maxDepth: 100 },
  /** metadata.json beside a model (Teachable Machine writes one of a few hundred bytes). */
  metadataJson: { maxBytes: 1024 * 1024, maxDepth: 32 },
  /** A pipeline definition. */
  pipeline: { maxBytes: 1_000_000, maxDepth: 32 },
  /** A project file's manifest. */
  archiveManifest: { maxBytes: 64 * 1024 * 1024, maxDepth: 32 },
  /** One line of a project file's records (a record with a long training history or a report). */
  archiveRecord: { maxBytes: 256 * 1024 * 1024, maxDepth: 64 },
} satisfies Record<string, JsonLimits>;

const formatBytes = (n: number) =>
  n >= 1024 * 1024 ? `${Math.round((n / 1024 / 1024) * 10) / 10} MB` : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} bytes`;

/**
 * The nesting depth of JSON text, measured without recursion and without parsing; stops at the
 * first point deeper than `maxDepth` and returns that depth (maxDepth + 1), else the deepest seen.
 * Brackets inside strings do not count. Malformed text is JSON.parse's to refuse afterwards.
 */
export function jsonTextDepth(text: string, maxDepth = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) {
        deepest = depth;
        if (deepest > maxDepth) return deepest;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}

/** `$.steps[2].settings["odd key"]`: where a value sits, as a JSON path. */
export function jsonPath(segments: ReadonlyArray<string | number>): string {
  let out = '$';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s)) out += `.${s}`;
    else out += `[${JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s)}]`;
  }
  return out;
}

interface Frame {
  value: unknown;
  path: Array<string | number>;
  depth: number;
}

/**
 * Walks a parsed value with an explicit stack (never recursion). Returns the first problem: a
 * forbidden key (with its path) or nesting deeper than `maxDepth`; null when there is none.
 */
export function findUnsafeJson(
  value: unknown,
  maxDepth = Infinity,
): { problem: 'key'; key: string; path: string } | { problem: 'depth'; path: string } | null {
  const stack: Frame[] = [{ value, path: [], depth: 1 }];
  while (stack.length > 0) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > maxDepth) return { problem: 'depth', path: jsonPath(path) };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: [...path, i], depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(v);
    for (const key of keys) if (FORBIDDEN_KEYS.has(key)) return { problem: 'key', key, path: jsonPath(path) };
    for (let i = keys.length - 1; i >= 0; i--)
      stack.push({ value: (v as Record<string, unknown>)[keys[i]], path: [...path, keys[i]], depth: depth + 1 });
  }
  return null;
}

/** The sentence for a forbidden key. */
export const forbiddenKeyMessage = (what: string, key: string, path: string) =>
  `${what} has a key named "${key}" at ${path}; such keys are refused because they could alter the objects they are merged into.`;

/**
 * Checks an already-parsed value (an object handed over by code that parsed it itself): depth and
 * forbidden keys, by the same non-recursive walk. Throws UntrustedJsonError.
 */
export function checkUntrustedValue(value: unknown, what: string, maxDepth: number): void {
  const found = findUnsafeJson(value, maxDepth);
  if (!found) return;
  if (found.problem === 'depth')
    throw new UntrustedJsonError(
      `${what} is nested more than ${maxDepth} levels deep (at ${found.path}); the limit is ${maxDepth}, so it was refused.`,
    );
  throw new UntrustedJsonError(forbiddenKeyMessage(what, found.key, found.path));
}

/**
 * The size and depth checks alone, on the text, before any parsing; returns the text (decoded from
 * UTF-8 bytes when given bytes). For callers that parse and walk the value themselves.
 */
export function checkUntrustedText(input: string | Uint8Array, what: string, limits: JsonLimits): string {
  const size = typeof input === 'string' ? input.length : input.byteLength;
  if (size > limits.maxBytes) {
    throw new UntrustedJsonError(`${what} is ${formatBytes(size)}; the limit is ${formatBytes(limits.maxBytes)}, so it was refused.`);
  }
  const text = typeof input === 'string' ? input : new TextDecoder().decode(input);
  const depth = jsonTextDepth(text, limits.maxDepth);
  if (depth > limits.maxDepth) {
    throw new UntrustedJsonError(
      `${what} is nested more than ${limits.maxDepth} levels deep; the limit is ${limits.maxDepth}, so it was refused.`,
    );
  }
  return text;
}

/**
 * Parses untrusted JSON text (or UTF-8 bytes) within `limits`; `what` names the file in messages
 * ("model.json", "records/runs.jsonl, line 3"). Throws UntrustedJsonError, never anything else.
 */
export function parseUntrustedJson(input: string | Uint8Array, what: string, limits: JsonLimits): unknown {
  const text = checkUntrustedText(input, what, limits);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UntrustedJsonError(`${what} is not valid JSON: ${(e as Error).message.slice(0, 200)}`);
  }
  const found = findUnsafeJson(value);
  if (found?.problem === 'key') throw new UntrustedJsonError(forbiddenKeyMessage(what, found.key, found.path));
  return value;
}

// ---- Known keys ----------------------------------------------------------------------------------

/**
 * The keys an untrusted object may have, as a tree: `keys` lists each allowed key with the shape of
 * its value (`true`: any value, checked elsewhere); `items` is the shape of every item of a list.
 */
export interface KeyShape {
  keys?: Record<string, KeyShape | true>;
  items?: KeyShape;
}

/**
 * The first key not in `shape` (iterative walk) with the JSON path of the object holding it, or
 * null. Values whose shape is `true` are not looked into.
 */
export function findUnknownKey(value: unknown, shape: KeyShape, base: Array<string | number> = []): { key: string; path: string } | null {
  const stack: Array<{ value: unknown; shape: KeyShape; path: Array<string | number> }> = [{ value, shape, path: base }];
  while (stack.length > 0) {
    const { value: v, shape: s, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (Array.isArray(v)) {
      if (s.items) for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], shape: s.items, path: [...path, i] });
      continue;
    }
    if (!s.keys) continue;
    for (const key of Object.keys(v)) {
      if (!Object.hasOwn(s.keys, key)) return { key, path: jsonPath(path) };
    }
    for (const [key, sub] of Object.entries(s.keys)) {
      if (sub !== true && Object.hasOwn(v, key))
        stack.push({ value: (v as Record<string, unknown>)[key], shape: sub, path: [...path, key] });
    }
  }
  return null;
}

/** The sentence for an unknown key (the same policy in every importer of untrusted JSON). */
export const unknownKeyMessage = (what: string, key: string, path: string) =>
  `${what} has an unknown key "${key.length > 80 ? `${key.slice(0, 80)}…` : key}" at ${path}; unknown keys are refused, not ignored (a file from a newer Trainyard says so by its version number).`;
