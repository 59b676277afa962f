// The import plan counts only what will be imported (files sniffing can refuse are listed as
// refused up front) and merges case-only label differences against the project's classes too.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { planImport, type RawEntry } from '../../src/lib/import/plan';
import { planLabelMerges } from '../../src/lib/import/labels';
import { HEAD_BYTES, sniffHead } from '../../src/lib/import/sniff';

const raw = (...paths: string[]): RawEntry[] => paths.map((path) => ({ path, size: 100 }));

describe('planLabelMerges against existing classes', () => {
  it('sends a case variant to the existing spelling and marks the merge as existing', () => {
    const { canonical, merges } = planLabelMerges(['Circle', 'Circle', 'square'], ['circle', 'triangle']);
    expect(canonical.get('Circle')).toBe('circle');
    expect(canonical.get('square')).toBe('square');
    expect(merges).toEqual([{ into: 'circle', from: ['Circle'], existing: true }]);
  });

  it('keeps the existing class even when the import spells it another way more often', () => {
    const { canonical, merges } = planLabelMerges(['CAT', 'CAT', 'CAT', 'cat'], ['cat']);
    expect(canonical.get('CAT')).toBe('cat');
    expect(canonical.get('cat')).toBe('cat');
    expect(merges).toEqual([{ into: 'cat', from: ['CAT'], existing: true }]);
  });

  it('lists no merge when the import uses the existing spelling exactly', () => {
    expect(planLabelMerges(['circle', 'circle'], ['circle']).merges).toEqual([]);
  });

  it('matches across spacing too, and leaves a project with two variants as it is', () => {
    expect(planLabelMerges(['Golden  retriever'], ['golden retriever']).canonical.get('Golden retriever')).toBe('golden retriever');
    const both = planLabelMerges(['Cat', 'cat', 'CAT'], ['Cat', 'cat']);
    expect(both.canonical.get('Cat')).toBe('Cat');
    expect(both.canonical.get('cat')).toBe('cat');
    expect(both.canonical.get('CAT')).toBe('Cat');
    expect(both.merges).toEqual([{ into: 'Cat', from: ['CAT'], existing: true }]);
  });
});

describe('planImport', () => {
  it('merges a folder "Circle" into the project class "circle" and counts it there', () => {
    const plan = planImport(raw('shapes/Circle/a.png', 'shapes/Circle/b.png', 'shapes/square/c.png'), {
      dropRoot: true,
      existingLabels: ['circle'],
    });
    expect(plan.labelCounts).toEqual({ circle: 2, square: 1 });
    expect(plan.entries.map((e) => e.label)).toEqual(['circle', 'circle', 'square']);
    expect(plan.merges).toEqual([{ into: 'circle', from: ['Circle'], existing: true }]);
  });

  it('without existing classes, behaves as before', () => {
    const plan = planImport(raw('s/Circle/a.png'), { dropRoot: true });
    expect(plan.labelCounts).toEqual({ Circle: 1 });
    expect(plan.merges).toEqual([]);
  });

  it('lists files sniffing refused as refused and leaves them out of every count', () => {
    const plan = planImport(raw('shapes/Circle/a.png', 'shapes/Circle/readme.txt', 'shapes/Circle/b.png', 'shapes/Circle/logo.svg'), {
      dropRoot: true,
      sniffRefused: new Map([
        [1, 'not an image: content is not PNG, JPEG, GIF, WebP or BMP (looks like text)'],
        [3, 'SVG is refused'],
      ]),
    });
    expect(plan.entries.map((e) => e.path)).toEqual(['Circle/a.png', 'Circle/b.png']);
    expect(plan.labelCounts).toEqual({ Circle: 2 });
    expect(plan.refused).toEqual([
      { path: 'Circle/readme.txt', reason: 'not an image: content is not PNG, JPEG, GIF, WebP or BMP (looks like text)' },
      { path: 'Circle/logo.svg', reason: 'SVG is refused' },
    ]);
  });

  it('a sniff refusal never overrides junk: .DS_Store stays ignored, not refused', () => {
    const plan = planImport(raw('f/a/.DS_Store', 'f/a/x.png'), { dropRoot: true, sniffRefused: new Map([[0, 'not an image']]) });
    expect(plan.ignored.map((i) => i.path)).toEqual(['a/.DS_Store']);
    expect(plan.refused).toEqual([]);
    expect(plan.entries).toHaveLength(1);
  });
});

// ---- sniffHead: what a file's first bytes are enough to refuse ------------------------------------

const enc = (s: string) => Array.from(Buffer.from(s, 'latin1'));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const CRC = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (bytes: number[]) => {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type: string, data: number[]) => {
  const body = [...enc(type), ...data];
  return [...be32(data.length), ...body, ...be32(crc32(body))];
};
function png(w: number, h: number): Uint8Array {
  const idat = Array.from(deflateSync(new Uint8Array(200)));
  return Uint8Array.from([
    0x89,
    0x50,
    0x4e,
    0x47,
    0x0d,
    0x0a,
    0x1a,
    0x0a,
    ...chunk('IHDR', [...be32(w), ...be32(h), 8, 2, 0, 0, 0]),
    ...chunk('IDAT', idat),
    ...chunk('IEND', []),
  ]);
}

describe('sniffHead', () => {
  it('refuses text, SVG and TIFF from the head alone', () => {
    expect(sniffHead(new Uint8Array(enc('This folder holds circles.\n')), false)?.reason).toMatch(/not an image.*text/);
    expect(sniffHead(new Uint8Array(enc('<svg xmlns="http://www.w3.org/2000/svg"></svg>')), false)?.code).toBe('svg');
    expect(sniffHead(new Uint8Array([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]), false)?.code).toBe('unsupported');
  });

  it('accepts the head of a good PNG that goes on past it (truncation is judged later)', () => {
    const head = png(28, 28).subarray(0, 40);
    expect(sniffHead(head, false)).toBeNull();
  });

  it('refuses a PNG that declares too many pixels, from its IHDR', () => {
    expect(sniffHead(png(20000, 20000).subarray(0, 64), false)?.code).toBe('too-many-pixels');
  });

  it('does not judge a JPEG whose frame header lies past the head', () => {
    // SOI + a long APP1 (EXIF) segment: the size is further on.
    const head = Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, 0xff, 0xff, ...new Array(HEAD_BYTES - 6).fill(0)]);
    expect(sniffHead(head, false)).toBeNull();
    // The same bytes as a whole file are certainly broken.
    expect(sniffHead(head, true)).not.toBeNull();
  });
});
