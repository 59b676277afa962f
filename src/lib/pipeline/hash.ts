// Content hashing for pipeline step caching: the same settings and inputs must give the same key
// in every tab, browser and Node, whatever order the object keys were written in.

/**
 * JSON with object keys sorted at every level and undefined properties left out, so two equal
 * values always give the same text. Throws on what JSON would silently change (NaN and Infinity
 * become null, undefined in an array becomes null, a Date or Map loses its contents), since a
 * cache key built from a silently changed value would match inputs that differ.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`canonicalJson: ${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value
      .map((item, i) => {
        if (item === undefined) throw new Error(`canonicalJson: undefined at array index ${i}`);
        return canonicalJson(item);
      })
      .join(',')}]`;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new Error('canonicalJson: only plain objects and arrays can be hashed');
    const record = value as Record<string, unknown>;
    const parts = Object.keys(record)
      .filter((k) => record[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`);
    return `{${parts.join(',')}}`;
  }
  throw new Error(`canonicalJson: a ${typeof value} has no JSON form`);
}

/** Lower-case hex SHA-256 of the UTF-8 bytes of a text (re-exported: the pipeline's callers import it from here). */
export { sha256Hex } from '../util/hex';
