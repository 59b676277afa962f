// The hand-written encoders of test/reliability/pixel-fixtures.ts, checked against independent
// decoders in Node before the reliability suite relies on them in Chromium: jpeg-js for the
// grayscale / YCbCr / Adobe-CMYK JPEGs (it decodes all three, and reads APP14 and APP1), and a
// small VP8L / GIF reader here for the structure of the WebP and GIF files.
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import {
  adobeCmykToRgb,
  animatedGif,
  animatedWebp,
  blockJpeg,
  orientedJpegs,
  rgbToYcbcr,
  solidCmykJpeg,
  solidGrayJpeg,
  solidRgbJpeg,
  solidWebp,
  storedPosition,
  storedSize,
  vp8lSolid,
  type Rgb,
} from '../reliability/pixel-fixtures';

function decode(bytes: Buffer) {
  return jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
}

/** Largest per-channel difference between every pixel of an RGBA buffer and one colour. */
function maxDiff(rgba: Uint8Array, rgb: number[]): number {
  let d = 0;
  for (let i = 0; i < rgba.length; i += 4) for (let c = 0; c < 3; c++) d = Math.max(d, Math.abs(rgba[i + c] - rgb[c]));
  return d;
}

/** JPEG segments before the scan: marker → payloads. */
function markers(bytes: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let pos = 2;
  while (pos < bytes.length && bytes[pos] === 0xff && bytes[pos + 1] !== 0xda) {
    const m = bytes[pos + 1];
    const len = bytes.readUInt16BE(pos + 2);
    out.set(m, [...(out.get(m) ?? []), bytes.subarray(pos + 4, pos + 2 + len)]);
    pos += 2 + len;
  }
  return out;
}

describe('pixel fixtures: block JPEG encoder', () => {
  it('grayscale (1 component) decodes to the stored luma, exactly', () => {
    for (const y of [0, 1, 90, 127, 128, 200, 255]) {
      const img = decode(solidGrayJpeg(24, 24, y));
      expect([img.width, img.height]).toEqual([24, 24]);
      expect(maxDiff(img.data, [y, y, y]), `Y=${y}`).toBe(0);
    }
    const sof = markers(solidGrayJpeg(8, 8, 1)).get(0xc0)![0];
    expect(sof[5]).toBe(1); // one component
  });

  it('YCbCr (3 components) decodes to the RGB colour within rounding', () => {
    for (const rgb of [
      [200, 60, 30],
      [0, 0, 0],
      [255, 255, 255],
      [30, 160, 220],
      [12, 250, 7],
    ] as Rgb[]) {
      const img = decode(solidRgbJpeg(24, 16, rgb));
      expect([img.width, img.height]).toEqual([24, 16]);
      expect(maxDiff(img.data, rgb), rgb.join()).toBeLessThanOrEqual(2);
    }
  });

  it('CMYK (4 components, Adobe APP14 transform 0) decodes by the inverted-CMYK rule R = C·K/255', () => {
    const cmyk: [number, number, number, number] = [200, 100, 50, 220];
    const bytes = solidCmykJpeg(24, 24, cmyk);
    const adobe = markers(bytes).get(0xee)![0];
    expect(adobe.subarray(0, 5).toString('latin1')).toBe('Adobe');
    expect(adobe[11]).toBe(0); // transform 0: no colour transform, the samples are CMYK
    expect(markers(bytes).get(0xc0)![0][5]).toBe(4);
    const img = decode(bytes);
    const expected = adobeCmykToRgb(cmyk);
    expect(expected.map(Math.round)).toEqual([173, 86, 43]);
    expect(maxDiff(img.data, expected)).toBeLessThanOrEqual(1);
    // Without the Adobe marker jpeg-js refuses 4 components: the marker is what makes it CMYK.
    expect(() => decode(blockJpeg({ width: 8, height: 8, block: () => cmyk }))).toThrow(/4 components/);
  });

  it('per-block colours are exact (flat 8x8 blocks, DC only), wide DC differences included', () => {
    const colours: Rgb[] = [
      [255, 0, 0],
      [0, 0, 255],
      [0, 255, 0],
      [255, 255, 255],
      [0, 0, 0],
      [128, 128, 0],
    ];
    const img = decode(blockJpeg({ width: 24, height: 16, block: (bx, by) => rgbToYcbcr(colours[by * 3 + bx]) }));
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 24; x++) {
        const want = colours[Math.floor(y / 8) * 3 + Math.floor(x / 8)];
        const i = (y * 24 + x) * 4;
        for (let c = 0; c < 3; c++) expect(Math.abs(img.data[i + c] - want[c]), `(${x},${y})`).toBeLessThanOrEqual(2);
      }
    }
  });

  it('byte stuffing: scans that produce 0xFF bytes still decode', () => {
    // Alternating extreme blocks give long DC difference codes; some of them are all-ones bytes.
    const img = decode(blockJpeg({ width: 64, height: 64, block: (bx, by) => [(bx + by) % 2 ? 255 : 0] }));
    const bytes = blockJpeg({ width: 64, height: 64, block: (bx, by) => [(bx + by) % 2 ? 255 : 0] });
    const scan = bytes.subarray(bytes.indexOf(Buffer.from([0xff, 0xda])) + 10, bytes.length - 2);
    expect(scan.includes(0xff)).toBe(true);
    for (let y = 0; y < 64; y += 8) for (let x = 0; x < 64; x += 8) expect(img.data[(y * 64 + x) * 4]).toBe(((x + y) / 8) % 2 ? 255 : 0);
  });
});

describe('pixel fixtures: EXIF orientation set', () => {
  const upright: Rgb[][] = [
    [
      [220, 30, 30],
      [30, 200, 40],
      [40, 60, 220],
    ],
    [
      [240, 220, 30],
      [200, 40, 200],
      [40, 210, 210],
    ],
  ];

  it('the mapping follows the EXIF definitions (where the stored first row and column end up)', () => {
    const [W, H] = [3, 2];
    // 6 (rotate 90° CW to show): the stored top-left pixel is shown top-right.
    expect(storedPosition(6, W - 1, 0, W, H)).toEqual([0, 0]);
    // 8 (rotate 90° CCW): shown bottom-left.
    expect(storedPosition(8, 0, H - 1, W, H)).toEqual([0, 0]);
    // 5 (transpose): the stored first row is the visual left column, read downwards.
    expect([0, 1].map((y) => storedPosition(5, 0, y, W, H))).toEqual([
      [0, 0],
      [1, 0],
    ]);
    // 7 (transverse): the stored first row is the visual right column, read upwards.
    expect([1, 0].map((y) => storedPosition(7, W - 1, y, W, H))).toEqual([
      [0, 0],
      [1, 0],
    ]);
    // 2 mirror, 3 rotate 180, 4 flip.
    expect(storedPosition(2, 0, 0, W, H)).toEqual([W - 1, 0]);
    expect(storedPosition(3, 0, 0, W, H)).toEqual([W - 1, H - 1]);
    expect(storedPosition(4, 0, 0, W, H)).toEqual([0, H - 1]);
    for (let o = 1; o <= 8; o++) expect(storedSize(o, W, H)).toEqual(o >= 5 ? [H, W] : [W, H]);
  });

  it('each of the 8 files carries its Orientation tag and, turned by it, shows the same upright image', () => {
    const files = orientedJpegs(upright);
    expect(files).toHaveLength(8);
    expect(new Set(files.map((f) => f.toString('base64'))).size).toBe(8);
    files.forEach((bytes, i) => {
      const o = i + 1;
      const exif = markers(bytes).get(0xe1)![0];
      expect(exif.subarray(0, 6).toString('latin1')).toBe('Exif\0\0');
      expect(exif.readUInt16BE(6 + 10)).toBe(0x0112);
      expect(exif.readUInt16BE(6 + 18)).toBe(o);
      const img = decode(bytes);
      const [sw, sh] = storedSize(o, 24, 16);
      expect([img.width, img.height], `orientation ${o}`).toEqual([sw, sh]);
      // Apply the orientation by hand (jpeg-js does not) and compare with the upright blocks.
      for (let y = 0; y < 16; y++) {
        for (let x = 0; x < 24; x++) {
          const [sx, sy] = storedPosition(o, x, y, 24, 16);
          const want = upright[Math.floor(y / 8)][Math.floor(x / 8)];
          const j = (sy * sw + sx) * 4;
          for (let c = 0; c < 3; c++) expect(Math.abs(img.data[j + c] - want[c]), `o=${o} (${x},${y})`).toBeLessThanOrEqual(2);
        }
      }
    });
  });
});

/** Reads bits least-significant first. */
function lsbReader(bytes: Buffer, start = 0) {
  let pos = start * 8;
  return (n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++, pos++) v |= ((bytes[pos >> 3] >> (pos & 7)) & 1) << i;
    return v;
  };
}

describe('pixel fixtures: WebP and GIF', () => {
  it('VP8L: header, no transform / cache / meta codes, one 8-bit symbol per prefix code (green, red, blue, alpha, distance)', () => {
    const bytes = vp8lSolid(24, 16, [10, 20, 30, 255]);
    const read = lsbReader(bytes);
    expect(read(8)).toBe(0x2f);
    expect([read(14) + 1, read(14) + 1, read(1), read(3)]).toEqual([24, 16, 0, 0]);
    expect([read(1), read(1), read(1)]).toEqual([0, 0, 0]);
    const symbols = [];
    for (let i = 0; i < 5; i++) {
      expect([read(1), read(1), read(1)]).toEqual([1, 0, 1]);
      symbols.push(read(8));
    }
    expect(symbols).toEqual([20, 10, 30, 255, 0]);
    // 8 + 32 + 3 + 5 × 11 bits = 98 bits: 13 bytes; pixels cost nothing.
    expect(bytes.length).toBe(13);
  });

  it('still and animated WebP containers: sizes, VP8X animation flag, ANIM, one ANMF per frame', () => {
    const still = solidWebp(24, 24, [1, 2, 3, 255]);
    expect(still.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(still.readUInt32LE(4) + 8).toBe(still.length);
    expect(still.subarray(8, 16).toString('latin1')).toBe('WEBPVP8L');

    const anim = animatedWebp(24, 24, [
      [200, 40, 60, 255],
      [30, 160, 220, 255],
    ]);
    expect(anim.readUInt32LE(4) + 8).toBe(anim.length);
    const chunks: Array<[string, Buffer]> = [];
    for (let p = 12; p < anim.length;) {
      const size = anim.readUInt32LE(p + 4);
      chunks.push([anim.subarray(p, p + 4).toString('latin1'), anim.subarray(p + 8, p + 8 + size)]);
      p += 8 + size + (size % 2);
    }
    expect(chunks.map((c) => c[0])).toEqual(['VP8X', 'ANIM', 'ANMF', 'ANMF']);
    const vp8x = chunks[0][1];
    expect(vp8x[0] & 0x02).toBe(0x02);
    expect([vp8x.readUIntLE(4, 3) + 1, vp8x.readUIntLE(7, 3) + 1]).toEqual([24, 24]);
    for (const [i, [, anmf]] of chunks.slice(2).entries()) {
      expect([anmf.readUIntLE(6, 3) + 1, anmf.readUIntLE(9, 3) + 1]).toEqual([24, 24]);
      expect(anmf.subarray(16, 20).toString('latin1')).toBe('VP8L');
      const read = lsbReader(anmf, 24);
      read(8 + 32 + 3);
      const green = (read(3), read(8));
      expect(green).toBe([40, 160][i]);
    }
  });

  it('animated GIF: 2 full-canvas frames, each with its own palette index, LZW in ≤255-byte sub-blocks', () => {
    const gif = animatedGif(24, 24, [
      [20, 180, 90],
      [230, 90, 20],
    ]);
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    expect([gif.readUInt16LE(6), gif.readUInt16LE(8)]).toEqual([24, 24]);
    expect([...gif.subarray(13, 19)]).toEqual([20, 180, 90, 230, 90, 20]);
    // Walk the blocks: two image descriptors, and every pixel code is the frame's index.
    let p = 13 + 12;
    const frames: number[][] = [];
    while (gif[p] !== 0x3b) {
      if (gif[p] === 0x21) {
        p += 2;
        while (gif[p]) p += gif[p] + 1;
        p++;
      } else {
        expect(gif[p]).toBe(0x2c);
        p += 10;
        expect(gif[p++]).toBe(2);
        const data: number[] = [];
        while (gif[p]) {
          expect(gif[p]).toBeLessThanOrEqual(255);
          data.push(...gif.subarray(p + 1, p + 1 + gif[p]));
          p += gif[p] + 1;
        }
        p++;
        const read = lsbReader(Buffer.from(data));
        const codes: number[] = [];
        for (let i = 0; i < 24 * 24; i++) {
          expect(read(3)).toBe(4);
          codes.push(read(3));
        }
        expect(read(3)).toBe(5);
        frames.push([...new Set(codes)]);
      }
    }
    expect(frames).toEqual([[0], [1]]);
  });
});
