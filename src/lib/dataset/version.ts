// Dataset versions: an immutable snapshot of which samples, labels and splits, under which
// preprocessing and augmentation. The id is the SHA-256 of a canonical form, so the same content
// always gets the same id whatever order it was gathered in (pipeline step caching relies on it).
import type { AugmentationSpec } from '../augment/spec';
import type { Split } from '../ml/split';
import { sha256Hex } from '../util/hex';

export interface DatasetItem {
  id: string;
  label: string;
  split: Split;
}

export interface DatasetContent {
  items: DatasetItem[];
  classes: string[];
  preprocess: { inputSize: number; channels: 1 | 3; resize: string; background?: [number, number, number] };
  augmentation: AugmentationSpec;
}

/**
 * Natural order ("img2" before "img10"). Hand-written rather than localeCompare because the hash
 * depends on it and locale collation differs between browsers and ICU versions.
 */
export function naturalCompare(a: string, b: string): number {
  const chunk = /(\d+)|(\D+)/g;
  const pa = a.match(chunk) ?? [];
  const pb = b.match(chunk) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === y) continue;
    const xd = x.charCodeAt(0) >= 48 && x.charCodeAt(0) <= 57;
    const yd = y.charCodeAt(0) >= 48 && y.charCodeAt(0) <= 57;
    if (xd && yd) {
      // Compare digit runs by value without Number(), which loses precision past 2^53.
      const xs = x.replace(/^0+(?=\d)/, '');
      const ys = y.replace(/^0+(?=\d)/, '');
      if (xs.length !== ys.length) return xs.length - ys.length;
      if (xs !== ys) return xs < ys ? -1 : 1;
      // Equal values: fewer leading zeros first, so distinct strings never compare equal.
      return x.length - y.length;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

function byId(a: DatasetItem, b: DatasetItem): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Items sorted by id (code units), classes in natural order; other fields as given. */
export function normalizeContent(c: DatasetContent): DatasetContent {
  return { ...c, items: [...c.items].sort(byId), classes: [...c.classes].sort(naturalCompare) };
}

/** JSON with object keys sorted at every level; undefined fields are left out, as JSON does. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const obj = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(obj).sort()) {
    if (obj[key] !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalJson(obj[key])}`);
  }
  return `{${parts.join(',')}}`;
}

/** The canonical string a version id is the hash of. */
export function contentKey(c: DatasetContent): string {
  return canonicalJson(normalizeContent(c));
}

/** Hex SHA-256 of contentKey (Web Crypto: available in browsers, workers and Node 20). */
export async function datasetVersionHash(c: DatasetContent): Promise<string> {
  return sha256Hex(contentKey(c));
}

export interface VersionDiff {
  added: DatasetItem[];
  removed: DatasetItem[];
  relabeled: Array<{ id: string; from: string; to: string }>;
  resplit: Array<{ id: string; from: Split; to: Split }>;
  /** Items present in both with the same label and split. */
  unchanged: number;
  /** 'classes', 'preprocess.inputSize', 'augmentation.rotation', … */
  settingsChanged: string[];
}

function changedFields(prefix: string, a: object, b: object): string[] {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(ra), ...Object.keys(rb)])].sort();
  return keys.filter((k) => canonicalJson(ra[k]) !== canonicalJson(rb[k])).map((k) => `${prefix}.${k}`);
}

/** What changed from version a to version b; every list is sorted by id. An item may be both relabeled and resplit. */
export function diffVersions(a: DatasetContent, b: DatasetContent): VersionDiff {
  const before = new Map(a.items.map((it) => [it.id, it]));
  const after = new Map(b.items.map((it) => [it.id, it]));
  const diff: VersionDiff = { added: [], removed: [], relabeled: [], resplit: [], unchanged: 0, settingsChanged: [] };
  for (const it of [...b.items].sort(byId)) {
    const old = before.get(it.id);
    if (!old) {
      diff.added.push(it);
      continue;
    }
    if (old.label !== it.label) diff.relabeled.push({ id: it.id, from: old.label, to: it.label });
    if (old.split !== it.split) diff.resplit.push({ id: it.id, from: old.split, to: it.split });
    if (old.label === it.label && old.split === it.split) diff.unchanged++;
  }
  for (const it of [...a.items].sort(byId)) if (!after.has(it.id)) diff.removed.push(it);
  if (canonicalJson([...a.classes].sort(naturalCompare)) !== canonicalJson([...b.classes].sort(naturalCompare)))
    diff.settingsChanged.push('classes');
  diff.settingsChanged.push(
    ...changedFields('preprocess', a.preprocess, b.preprocess),
    ...changedFields('augmentation', a.augmentation, b.augmentation),
  );
  return diff;
}

export function splitCounts(items: DatasetItem[]): Record<Split, Record<string, number>> {
  const counts: Record<Split, Record<string, number>> = { train: {}, val: {}, test: {} };
  for (const it of items) counts[it.split][it.label] = (counts[it.split][it.label] ?? 0) + 1;
  return counts;
}

/** Storage codes for splits; never reorder, stored versions depend on them. */
export const SPLIT_CODES: readonly Split[] = ['train', 'val', 'test'];

/** Column form for storage: a 50k-sample version keeps ids plus two small integers each. */
export interface PackedItems {
  ids: string[];
  /** Index into the version's `classes`. */
  labelIndex: number[];
  /** Index into SPLIT_CODES. */
  splitCode: number[];
}

export function packItems(items: DatasetItem[], classes: string[]): PackedItems {
  if (classes.length > 0xffff) throw new Error('packItems: more than 65535 classes');
  const index = new Map(classes.map((name, i) => [name, i]));
  const packed: PackedItems = { ids: [], labelIndex: [], splitCode: [] };
  for (const it of items) {
    const li = index.get(it.label);
    if (li === undefined) throw new Error(`packItems: label '${it.label}' of '${it.id}' is not in classes`);
    const code = SPLIT_CODES.indexOf(it.split);
    if (code < 0) throw new Error(`packItems: split '${it.split}' of '${it.id}' is not train, val or test`);
    packed.ids.push(it.id);
    packed.labelIndex.push(li);
    packed.splitCode.push(code);
  }
  return packed;
}

/** Inverse of packItems; throws on inconsistent columns (a corrupt or foreign record). */
export function unpackItems(packed: PackedItems, classes: string[]): DatasetItem[] {
  const { ids, labelIndex, splitCode } = packed;
  if (labelIndex.length !== ids.length || splitCode.length !== ids.length) throw new Error('unpackItems: column lengths differ');
  return ids.map((id, i) => {
    const label = classes[labelIndex[i]];
    const split = SPLIT_CODES[splitCode[i]];
    if (label === undefined || split === undefined) throw new Error(`unpackItems: bad label or split code for '${id}'`);
    return { id, label, split };
  });
}
