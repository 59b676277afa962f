import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { PIXEL_BUDGET, sniffImage } from '../../src/lib/import/sniff';

const enc = (s: string) => Array.from(Buffer.from(s, 'latin1'));
const u8 = (...parts: Array<number[] | Uint8Array>) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const be16 = (n: number) => [(n >>> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >>> 8) & 255];
const le32 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: number[]): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
function chunk(type: string, data: number[]): number[] {
  const body = [...enc(type), ...data];
  return [...be32(data.length), ...body, ...be32(crc32(body))];
}
function png(width: number, height: number): Uint8Array {
  const ihdr = [...be32(width), ...be32(height), 8, 2, 0, 0, 0];
  const raw = new Uint8Array(Math.min(height, 4) * (1 + Math.min(width, 4) * 3));
  return u8(PNG_SIG, chunk('IHDR', ihdr), chunk('IDAT', Array.from(deflateSync(raw))), chunk('IEND', []));
}

function segment(marker: number, data: number[]): number[] {
  return [0xff, marker, ...be16(data.length + 2), ...data];
}
function jpeg(width: number, height: number, sof = 0xc0): Uint8Array {
  return u8(
    [0xff, 0xd8],
    segment(0xe0, [...enc('JFIF'), 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]),
    [0xff, 0xff], // fill bytes before the next marker
    segment(0xdb, new Array(65).fill(1)),
    segment(0xc4, new Array(20).fill(0)), // DHT shares the C0-CF range but is not a frame header
    segment(sof, [8, ...be16(height), ...be16(width), 1, 1, 0x11, 0]),
    segment(0xda, [1, 1, 0, 0, 0x3f, 0]),
    [0x12, 0x34, 0x56, 0xff, 0x00, 0x78],
    [0xff, 0xd9],
  );
}

const gif = (w: number, h: number, end = true) =>
  u8(enc('GIF89a'), le16(w), le16(h), [0, 0, 0], [0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0], end ? [0x3b] : []);

function riff(chunkType: string, data: number[], sizeAdjust = 0): Uint8Array {
  const body = [...enc('WEBP'), ...enc(chunkType), ...le32(data.length), ...data];
  return u8(enc('RIFF'), le32(body.length + sizeAdjust), body);
}
const vp8 = (w: number, h: number) => riff('VP8 ', [0x30, 0x01, 0x00, 0x9d, 0x01, 0x2a, ...le16(w), ...le16(h), 0, 0]);
function vp8l(w: number, h: number): Uint8Array {
  const bits = ((w - 1) & 0x3fff) | (((h - 1) & 0x3fff) << 14);
  return riff('VP8L', [0x2f, ...le32(bits), 0, 0, 0]);
}
const u24 = (n: number) => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255];
const vp8x = (w: number, h: number) => riff('VP8X', [0x10, 0, 0, 0, ...u24(w - 1), ...u24(h - 1)]);

function bmp(width: number, height: number): Uint8Array {
  const dib = [...le32(40), ...le32(width), ...le32(height), ...le16(1), ...le16(24), ...new Array(24).fill(0)];
  return u8(enc('BM'), le32(54 + 4), [0, 0, 0, 0], le32(54), dib, [0, 0, 255, 0]);
}

const fail = (bytes: Uint8Array, budget?: number) => {
  const r = sniffImage(bytes, budget);
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r)}`);
  return r;
};
const okResult = (bytes: Uint8Array) => {
  const r = sniffImage(bytes);
  if (!r.ok) throw new Error(`expected ok, got ${r.code}: ${r.reason}`);
  return r;
};

describe('sniffImage: refusals by content', () => {
  it('refuses an empty file', () => {
    expect(sniffImage(new Uint8Array())).toEqual({ ok: false, code: 'empty', reason: 'empty file (0 bytes)' });
  });

  it.each([
    ['bare svg', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'],
    ['BOM and whitespace', '\uFEFF \n\t<svg width="10"></svg>'],
    ['xml prolog and comment', '<?xml version="1.0"?>\n<!-- made by hand -->\n<svg></svg>'],
    ['doctype', '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg>'],
  ])('refuses SVG (%s) as active content', (_name, text) => {
    const r = fail(new TextEncoder().encode(text));
    expect(r.code).toBe('svg');
    expect(r.reason).toMatch(/SVG is refused.*active content/);
  });

  it('refuses a UTF-16 SVG', () => {
    const text = '<?xml version="1.0" encoding="UTF-16"?><svg/>';
    const bytes = u8([0xff, 0xfe], Array.from(Buffer.from(text, 'utf16le')));
    expect(fail(bytes).code).toBe('svg');
  });

  it('names PDF and text when content is not an image', () => {
    expect(fail(new TextEncoder().encode('%PDF-1.7\n%âãÏÓ\n1 0 obj')).reason).toBe(
      'not an image: content is not PNG, JPEG, GIF, WebP or BMP (looks like PDF)',
    );
    expect(fail(new TextEncoder().encode('hello, this was renamed to .jpg\n')).reason).toMatch(/\(looks like text\)$/);
    expect(fail(new TextEncoder().encode('<!doctype html><html></html>')).reason).toMatch(/looks like HTML text/);
    expect(fail(u8([0x50, 0x4b, 0x03, 0x04, 0, 0])).reason).toMatch(/zip archive/);
  });

  it('gives no guess for unrecognised binary', () => {
    const r = fail(u8([0x00, 0x01, 0x02, 0xfe, 0x80, 0x00]));
    expect(r.code).toBe('not-image');
    expect(r.reason).toBe('not an image: content is not PNG, JPEG, GIF, WebP or BMP');
  });

  it('does not take text starting with "BM" for a bitmap', () => {
    const r = fail(new TextEncoder().encode('BMW service history, 2019 to 2024\n'));
    expect(r).toMatchObject({ code: 'not-image', reason: expect.stringMatching(/looks like text/) });
  });

  it.each([
    ['TIFF little-endian', u8([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]), /TIFF/],
    ['TIFF big-endian', u8([0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8]), /TIFF/],
    ['HEIC', u8(be32(24), enc('ftypheic'), be32(0), enc('mif1heic')), /HEIC/],
    ['HEIF via mif1', u8(be32(20), enc('ftypmif1'), be32(0), enc('heix')), /HEIC/],
    ['AVIF', u8(be32(20), enc('ftypavif'), be32(0), enc('mif1')), /AVIF/],
    ['AVIF behind mif1', u8(be32(24), enc('ftypmif1'), be32(0), enc('mif1avif')), /AVIF/],
  ])('refuses %s as unsupported', (_name, bytes, format) => {
    const r = fail(bytes);
    expect(r.code).toBe('unsupported');
    expect(r.reason).toMatch(format);
    expect(r.reason).toMatch(/this browser cannot decode/);
  });

  it('does not call an MP4 a HEIC', () => {
    const r = fail(u8(be32(20), enc('ftypisom'), be32(0), enc('mp41')));
    expect(r.code).toBe('not-image');
    expect(r.reason).toMatch(/video/);
  });
});

describe('sniffImage: PNG', () => {
  it('reads IHDR size and finds IEND', () => {
    expect(sniffImage(png(3, 2))).toEqual({ ok: true, format: 'png', mime: 'image/png', width: 3, height: 2, truncated: false });
  });

  it('flags a cut-off file as truncated, tolerating a little trailing garbage', () => {
    const full = png(4, 4);
    expect(okResult(full.subarray(0, full.length - 10)).truncated).toBe(true);
    expect(okResult(u8(full, new Array(20).fill(0))).truncated).toBe(false);
  });

  it('refuses a PNG without IHDR', () => {
    expect(fail(u8(PNG_SIG, chunk('IDAT', [1, 2, 3]))).reason).toMatch(/no IHDR/);
    expect(fail(u8(PNG_SIG)).code).toBe('corrupt-header');
  });

  it('refuses zero width or height as corrupt', () => {
    expect(fail(png(0, 5)).code).toBe('corrupt-header');
    expect(fail(png(5, 0)).reason).toMatch(/5x0/);
  });

  it('refuses pixel bombs before decoding', () => {
    expect(fail(png(20000, 20000))).toEqual({
      ok: false,
      code: 'too-many-pixels',
      reason: '20000x20000 pixels is over the 50 MP limit; refused before decoding',
    });
    expect(okResult(png(10000, 5000)).width).toBe(10000); // exactly the budget
    expect(PIXEL_BUDGET).toBe(50_000_000);
    expect(fail(png(100, 100), 2_500_000 / 1000).code).toBe('too-many-pixels');
    expect(fail(png(2000, 2000), 2_500_000).reason).toMatch(/over the 2\.5 MP limit/);
  });
});

describe('sniffImage: JPEG', () => {
  it('walks markers past fill bytes and DHT to the SOF', () => {
    expect(sniffImage(jpeg(640, 480))).toEqual({ ok: true, format: 'jpeg', mime: 'image/jpeg', width: 640, height: 480, truncated: false });
    expect(okResult(jpeg(7, 9, 0xc2))).toMatchObject({ width: 7, height: 9 });
  });

  it('flags a missing EOI as truncated', () => {
    const full = jpeg(8, 8);
    expect(okResult(full.subarray(0, full.length - 2)).truncated).toBe(true);
  });

  it('refuses a segment length running past the end', () => {
    const bytes = u8([0xff, 0xd8, 0xff, 0xe1, 0x40, 0x00], new Array(30).fill(0));
    const r = fail(bytes);
    expect(r.code).toBe('corrupt-header');
    expect(r.reason).toMatch(/segment FFE1 .* past the end/);
  });

  it('refuses scan data before any frame header', () => {
    const r = fail(u8([0xff, 0xd8], segment(0xda, [1, 1, 0, 0, 0x3f, 0]), [0xff, 0xd9]));
    expect(r.reason).toMatch(/scan data before any frame header/);
  });

  it('refuses a file ending before the SOF, and garbage where a marker belongs', () => {
    expect(fail(u8([0xff, 0xd8], segment(0xe0, [1, 2, 3]))).reason).toMatch(/ends before any frame header/);
    expect(fail(u8([0xff, 0xd8], segment(0xe0, [1, 2]), [0x00, 0x11])).reason).toMatch(/expected a marker at byte 8/);
  });

  it('applies the pixel budget', () => {
    expect(fail(jpeg(65000, 65000)).code).toBe('too-many-pixels');
    expect(fail(jpeg(0, 10)).code).toBe('corrupt-header');
  });
});

describe('sniffImage: GIF, WebP, BMP', () => {
  it('reads the GIF logical screen and the trailer', () => {
    expect(sniffImage(gif(12, 34))).toEqual({ ok: true, format: 'gif', mime: 'image/gif', width: 12, height: 34, truncated: false });
    expect(okResult(gif(1, 1, false)).truncated).toBe(true);
    expect(okResult(u8(enc('GIF87a'), le16(2), le16(3), [0, 0, 0, 0x3b])).format).toBe('gif');
    expect(fail(u8(enc('GIF89a'), [1])).code).toBe('corrupt-header');
  });

  it('reads VP8, VP8L and VP8X sizes', () => {
    expect(sniffImage(vp8(300, 200))).toEqual({ ok: true, format: 'webp', mime: 'image/webp', width: 300, height: 200, truncated: false });
    expect(okResult(vp8l(16383, 1))).toMatchObject({ width: 16383, height: 1 });
    expect(okResult(vp8x(70000, 3))).toMatchObject({ width: 70000, height: 3 });
    expect(fail(vp8x(16000, 16000)).code).toBe('too-many-pixels');
  });

  it('flags a WebP shorter than its RIFF size as truncated', () => {
    expect(okResult(riff('VP8L', [0x2f, ...le32(0), 0, 0, 0], 100)).truncated).toBe(true);
  });

  it('refuses WebP with an unknown or broken first chunk', () => {
    expect(fail(riff('ABCD', [0, 0, 0, 0])).reason).toMatch(/unknown first chunk/);
    expect(fail(riff('VP8 ', [0, 0, 0, 1, 2, 3, 0, 0, 0, 0])).reason).toMatch(/start code/);
  });

  it('reads BMP sizes, including negative (top-down) heights', () => {
    expect(sniffImage(bmp(5, -7))).toEqual({ ok: true, format: 'bmp', mime: 'image/bmp', width: 5, height: 7, truncated: false });
    const core = u8(enc('BM'), le32(30), [0, 0, 0, 0], le32(26), le32(12), le16(9), le16(4), le16(1), le16(24));
    expect(okResult(core)).toMatchObject({ width: 9, height: 4 });
  });

  it('refuses broken BMP headers', () => {
    expect(fail(bmp(-5, 7)).code).toBe('corrupt-header');
    expect(fail(u8(enc('BM'), [0, 0])).code).toBe('corrupt-header');
    const odd = u8(enc('BM'), le32(60), [0, 0, 0, 0], le32(54), le32(99), new Array(20).fill(0xf0));
    expect(fail(odd).reason).toMatch(/unknown DIB header size 99/);
  });
});
