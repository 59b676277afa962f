import { describe, expect, it } from 'vitest';
import {
  JSON_LIMITS,
  UntrustedJsonError,
  checkUntrustedValue,
  findUnknownKey,
  jsonPath,
  jsonTextDepth,
  parseUntrustedJson,
} from '../../src/lib/util/safe-json';
import { validateModelJson } from '../../src/lib/ml/model-json-validate';

/** `{"a":{"a":…1…}}` nested `n` deep, built without recursion. */
const nestedText = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

describe('jsonTextDepth (a loop over the text, no recursion)', () => {
  it('counts objects and arrays, not brackets inside strings or escapes', () => {
    expect(jsonTextDepth('1')).toBe(0);
    expect(jsonTextDepth('{"a":[1,{"b":[]}]}')).toBe(4);
    expect(jsonTextDepth('{"a":"[[[{{{\\"[[["}')).toBe(1);
    expect(jsonTextDepth('["\\\\",[]]')).toBe(2);
  });

  it('stops at the first point past the limit', () => {
    expect(jsonTextDepth(nestedText(1_000_000), 10)).toBe(11);
  });
});

describe('parseUntrustedJson', () => {
  const limits = { maxBytes: 1000, maxDepth: 4 };

  it('parses what is within the limits', () => {
    expect(parseUntrustedJson('{"a":[1,{"b":2}]}', 'x.json', limits)).toEqual({ a: [1, { b: 2 }] });
    expect(parseUntrustedJson(new TextEncoder().encode('{"é":1}'), 'x.json', limits)).toEqual({ é: 1 });
  });

  it('refuses text over the size limit before parsing, naming the limit', () => {
    expect(() => parseUntrustedJson(`"${'x'.repeat(2000)}"`, 'x.json', limits)).toThrow(
      'x.json is 2 KB; the limit is 1000 bytes, so it was refused.',
    );
  });

  it('refuses nesting past the depth limit, naming the limit', () => {
    expect(() => parseUntrustedJson('[[[[[1]]]]]', 'x.json', limits)).toThrow(
      'x.json is nested more than 4 levels deep; the limit is 4, so it was refused.',
    );
  });

  it('refuses prototype keys anywhere, with the key and its JSON path', () => {
    expect(() => parseUntrustedJson('{"a":[{"__proto__":{}}]}', 'x.json', limits)).toThrow(
      'x.json has a key named "__proto__" at $.a[0]; such keys are refused because they could alter the objects they are merged into.',
    );
    expect(() => parseUntrustedJson('{"odd key":{"constructor":1}}', 'x.json', limits)).toThrow('at $["odd key"]');
    expect(() => parseUntrustedJson('{"prototype":1}', 'x.json', limits)).toThrow('"prototype" at $;');
  });

  it("throws only UntrustedJsonError, with JSON.parse's reason for malformed text", () => {
    expect(() => parseUntrustedJson('{"a":', 'x.json', limits)).toThrow(UntrustedJsonError);
    expect(() => parseUntrustedJson('{"a":', 'x.json', limits)).toThrow(/^x\.json is not valid JSON: /);
  });
});

describe('checkUntrustedValue (already-parsed values, walked with an explicit stack)', () => {
  it('refuses a 100,000-deep object without overflowing the stack', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(() => checkUntrustedValue(deep, 'model.json', 100)).toThrow(
      /^model\.json is nested more than 100 levels deep \(at \$(\.a){100}\); the limit is 100/,
    );
  });
});

describe('findUnknownKey', () => {
  it('names the first unknown key and the path of its object; `true` values are not looked into', () => {
    const shape = { keys: { a: { items: { keys: { b: true as const } } }, free: true as const } };
    expect(findUnknownKey({ a: [{ b: 1 }], free: { anything: 1 } }, shape)).toBeNull();
    expect(findUnknownKey({ a: [{ b: 1 }, { c: 2 }] }, shape)).toEqual({ key: 'c', path: '$.a[1]' });
    expect(findUnknownKey({ z: 1 }, shape, ['steps', 2])).toEqual({ key: 'z', path: '$.steps[2]' });
  });

  it('writes JSON paths', () => {
    expect(jsonPath(['a', 0, 'b c', 'd'])).toBe('$.a[0]["b c"].d');
  });
});

describe('model.json: the issue #22 file', () => {
  it('a layer config nested ~1,000,000 deep (about 6 MB) is refused with the limit named, before TF.js', () => {
    const topology = `{"class_name":"Sequential","config":{"name":"s","layers":[{"class_name":"Dense","config":{"units":2,"kernel_initializer":${nestedText(1_000_000)}}}]}}`;
    const text = `{"format":"layers-model","modelTopology":${topology},"weightsManifest":[]}`;
    const started = performance.now();
    const result = validateModelJson(text);
    expect(result).toEqual({
      ok: false,
      reason: `model.json is nested more than ${JSON_LIMITS.modelJson.maxDepth} levels deep; the limit is ${JSON_LIMITS.modelJson.maxDepth}, so it was refused.`,
    });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('the same value handed over already parsed is refused too', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 200_000; i++) deep = { a: deep };
    const result = validateModelJson({
      modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: { x: deep } }] } },
      weightsManifest: [],
    });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/nested more than 100 levels deep/);
  });

  it('a model.json with a __proto__ key is refused with its path', () => {
    const result = validateModelJson('{"modelTopology":{"__proto__":{"x":1}},"weightsManifest":[]}');
    expect(result).toEqual({
      ok: false,
      reason:
        'model.json has a key named "__proto__" at $.modelTopology; such keys are refused because they could alter the objects they are merged into.',
    });
  });
});
