// Hand-written encoders for the decoded-pixel cases of the reliability catalog
// (test/reliability/bad-input-pixels.e2e.ts): baseline JPEGs with 1 (grayscale), 3 (YCbCr) or
// 4 (CMYK, Adobe APP14) components and an optional EXIF orientation, lossless WebP (VP8L) frames
// and animated WebP / GIF files. Every image is flat per 8x8 block, so the JPEGs are exact:
// each block is DC-only (every AC coefficient zero → one EOB), with a quantisation table of ones.
// Deterministic, nothing downloaded; checked in Node by test/unit/pixel-fixtures.test.ts.

export type Rgb = [number, number, number];
export type Rgba = [number, number, number, number];

// ---- JPEG -----------------------------------------------------------------------------------

/** Writes bits most-significant first, with JPEG byte stuffing (0xFF → 0xFF 0x00). */
class JpegBits {
  private bytes: number[] = [];
  private acc = 0;
  private n = 0;
  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0x00);
    this.acc = 0;
    this.n = 0;
  }
  /** Pads the last byte with 1 bits, as the standard asks. */
  end(): Buffer {
    while (this.n !== 0) this.put(1, 1);
    return Buffer.from(this.bytes);
  }
}

interface HuffTable {
  /** Number of codes of each length 1..16. */
  bits: number[];
  values: number[];
}

/** The standard luminance DC table (ITU T.81 K.3): every category 0..11, so any DC difference. */
const DC_TABLE: HuffTable = { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
/** An AC table with one symbol, EOB (0x00), coded as the single bit 0. */
const AC_TABLE: HuffTable = { bits: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], values: [0x00] };

/** Canonical Huffman codes (T.81 C.2): symbol → [code, length]. */
function huffCodes(t: HuffTable): Map<number, [number, number]> {
  const out = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < t.bits[len - 1]; i++) out.set(t.values[k++], [code++, len]);
    code <<= 1;
  }
  return out;
}

function segment(marker: number, payload: Buffer | number[]): Buffer {
  const p = Buffer.from(payload);
  const head = Buffer.alloc(4);
  head.writeUInt16BE(0xff00 | marker, 0);
  head.writeUInt16BE(p.length + 2, 2);
  return Buffer.concat([head, p]);
}

/** APP1 "Exif" with a big-endian TIFF header and IFD0 holding only the Orientation tag (0x0112). */
export function exifSegment(orientation: number): Buffer {
  const tiff = [
    0x4d,
    0x4d,
    0x00,
    0x2a,
    0x00,
    0x00,
    0x00,
    0x08, // "MM", 42, IFD0 at offset 8
    0x00,
    0x01, // one entry
    0x01,
    0x12,
    0x00,
    0x03,
    0x00,
    0x00,
    0x00,
    0x01,
    0x00,
    orientation,
    0x00,
    0x00, // Orientation, SHORT, count 1
    0x00,
    0x00,
    0x00,
    0x00, // no next IFD
  ];
  return segment(0xe1, [...Buffer.from('Exif\0\0', 'latin1'), ...tiff]);
}

/** APP14 "Adobe": version 100, no flags, the given colour transform (0: none/CMYK, 1: YCbCr, 2: YCCK). */
export function adobeSegment(transform: 0 | 1 | 2): Buffer {
  return segment(0xee, [...Buffer.from('Adobe', 'latin1'), 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, transform]);
}

export interface BlockJpegOptions {
  width: number;
  height: number;
  /**
   * The stored component values (0..255) of the 8x8 block at block column bx, row by: [Y] for 1
   * component, [Y, Cb, Cr] for 3, [C, M, Y, K] for 4 (as stored: Adobe CMYK is usually inverted,
   * 255 = no ink). The number of values is the number of components.
   */
  block: (bx: number, by: number) => number[];
  /** Adds an APP14 Adobe marker with this transform (4-component files need one to be read as CMYK). */
  adobe?: 0 | 1 | 2;
  /** Adds an APP1 Exif segment with this Orientation (1..8). */
  orientation?: number;
}

/**
 * A baseline JPEG whose every 8x8 block is flat: one DC coefficient per block and component
 * (quantiser 1, so DC = 8 × (value − 128) exactly), every AC coefficient zero (EOB).
 * Components are not subsampled (1x1 each), the scan is interleaved.
 */
export function blockJpeg(opts: BlockJpegOptions): Buffer {
  const { width, height } = opts;
  const bw = Math.ceil(width / 8);
  const bh = Math.ceil(height / 8);
  const nc = opts.block(0, 0).length;
  if (![1, 3, 4].includes(nc)) throw new Error(`blockJpeg: ${nc} components (1, 3 or 4 supported)`);
  const ids = Array.from({ length: nc }, (_, i) => i + 1);

  const parts: Buffer[] = [Buffer.from([0xff, 0xd8])];
  if (opts.orientation !== undefined) parts.push(exifSegment(opts.orientation));
  if (opts.adobe !== undefined) parts.push(adobeSegment(opts.adobe));
  // DQT: table 0, 8-bit, all ones.
  parts.push(segment(0xdb, [0x00, ...new Array(64).fill(1)]));
  // SOF0: 8-bit samples, every component 1x1 sampled, quant table 0.
  parts.push(segment(0xc0, [8, height >> 8, height & 255, width >> 8, width & 255, nc, ...ids.flatMap((id) => [id, 0x11, 0])]));
  // DHT: DC table 0 and AC table 0.
  parts.push(segment(0xc4, [0x00, ...DC_TABLE.bits, ...DC_TABLE.values, 0x10, ...AC_TABLE.bits, ...AC_TABLE.values]));
  // SOS: all components, tables 0/0, spectral 0..63, no approximation.
  parts.push(segment(0xda, [nc, ...ids.flatMap((id) => [id, 0x00]), 0, 63, 0]));

  const dc = huffCodes(DC_TABLE);
  const ac = huffCodes(AC_TABLE);
  const [eobCode, eobLen] = ac.get(0x00)!;
  const bits = new JpegBits();
  const pred = new Array(nc).fill(0);
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      const values = opts.block(bx, by);
      if (values.length !== nc) throw new Error(`blockJpeg: block (${bx}, ${by}) has ${values.length} components, expected ${nc}`);
      for (let c = 0; c < nc; c++) {
        const v = Math.round(values[c]);
        if (!(v >= 0 && v <= 255)) throw new Error(`blockJpeg: value ${values[c]} out of 0..255`);
        const coef = 8 * (v - 128);
        const diff = coef - pred[c];
        pred[c] = coef;
        const size = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
        const [code, len] = dc.get(size)!;
        bits.put(code, len);
        if (size > 0) bits.put(diff > 0 ? diff : diff + (1 << size) - 1, size);
        bits.put(eobCode, eobLen);
      }
    }
  }
  parts.push(bits.end(), Buffer.from([0xff, 0xd9]));
  return Buffer.concat(parts);
}

/** JFIF RGB → YCbCr (T.871), the transform every JPEG decoder inverts for 3-component files. */
export function rgbToYcbcr([r, g, b]: Rgb): [number, number, number] {
  const clamp = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
  return [
    clamp(0.299 * r + 0.587 * g + 0.114 * b),
    clamp(128 - 0.168736 * r - 0.331264 * g + 0.5 * b),
    clamp(128 + 0.5 * r - 0.418688 * g - 0.081312 * b),
  ];
}

/** A flat-colour 3-component (YCbCr) JPEG of the given RGB colour. */
export function solidRgbJpeg(width: number, height: number, rgb: Rgb): Buffer {
  const ycc = rgbToYcbcr(rgb);
  return blockJpeg({ width, height, block: () => ycc });
}

/** A flat grayscale (1-component) JPEG. */
export function solidGrayJpeg(width: number, height: number, y: number): Buffer {
  return blockJpeg({ width, height, block: () => [y] });
}

/** A flat 4-component JPEG with an Adobe APP14 marker, transform 0 (CMYK stored as given). */
export function solidCmykJpeg(width: number, height: number, cmyk: [number, number, number, number]): Buffer {
  return blockJpeg({ width, height, block: () => cmyk, adobe: 0 });
}

/**
 * The rule this test suite asserts for Adobe CMYK JPEGs (what Chromium and jpeg-js both do): the
 * stored samples are inverted CMYK (Photoshop's convention, 255 = no ink), so
 * R = C·K/255, G = M·K/255, B = Y·K/255 on the stored values.
 */
export function adobeCmykToRgb([c, m, y, k]: [number, number, number, number]): Rgb {
  return [(c * k) / 255, (m * k) / 255, (y * k) / 255];
}

// ---- EXIF orientation -----------------------------------------------------------------------

/**
 * For EXIF orientation o, where the stored pixel shown at upright position (x, y) lives, for an
 * upright image of w x h (the stored image is h x w for 5..8). Orientation o says how to turn the
 * stored image to show it upright: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90° CW,
 * 7 transverse, 8 rotate 90° CCW.
 */
export function storedPosition(o: number, x: number, y: number, w: number, h: number): [number, number] {
  switch (o) {
    case 1:
      return [x, y];
    case 2:
      return [w - 1 - x, y];
    case 3:
      return [w - 1 - x, h - 1 - y];
    case 4:
      return [x, h - 1 - y];
    case 5:
      return [y, x];
    case 6:
      return [y, w - 1 - x];
    case 7:
      return [h - 1 - y, w - 1 - x];
    case 8:
      return [h - 1 - y, x];
    default:
      throw new Error(`orientation ${o}`);
  }
}

/** Stored size for orientation o of an upright w x h image. */
export function storedSize(o: number, w: number, h: number): [number, number] {
  return o >= 5 ? [h, w] : [w, h];
}

/**
 * Eight JPEGs (orientation 1..8) of one upright image made of flat 8x8 blocks (`upright[by][bx]`,
 * RGB): each is stored pre-transformed so that applying its EXIF orientation gives the upright image.
 */
export function orientedJpegs(upright: Rgb[][]): Buffer[] {
  const bh = upright.length;
  const bw = upright[0].length;
  const out: Buffer[] = [];
  for (let o = 1; o <= 8; o++) {
    const [sw, sh] = storedSize(o, bw, bh);
    // Invert the mapping: for every upright block, write its colour at its stored position.
    const stored: Rgb[][] = Array.from({ length: sh }, () => new Array<Rgb>(sw));
    for (let y = 0; y < bh; y++) {
      for (let x = 0; x < bw; x++) {
        const [sx, sy] = storedPosition(o, x, y, bw, bh);
        stored[sy][sx] = upright[y][x];
      }
    }
    out.push(blockJpeg({ width: sw * 8, height: sh * 8, orientation: o, block: (bx, by) => rgbToYcbcr(stored[by][bx]) }));
  }
  return out;
}

// ---- WebP -----------------------------------------------------------------------------------

/** Writes bits least-significant first (the VP8L bit order). */
class LsbBits {
  private bytes: number[] = [];
  private acc = 0;
  private n = 0;
  put(value: number, length: number): void {
    for (let i = 0; i < length; i++) {
      this.acc |= ((value >> i) & 1) << this.n;
      if (++this.n === 8) {
        this.bytes.push(this.acc);
        this.acc = 0;
        this.n = 0;
      }
    }
  }
  end(): Buffer {
    if (this.n) this.bytes.push(this.acc);
    return Buffer.from(this.bytes);
  }
}

/**
 * A VP8L (lossless WebP) bitstream of one flat colour: no transforms, no colour cache, no meta
 * prefix codes, and five "simple" prefix codes of one symbol each (green, red, blue, alpha,
 * distance), so every pixel costs zero bits.
 */
export function vp8lSolid(width: number, height: number, [r, g, b, a]: Rgba): Buffer {
  const bits = new LsbBits();
  bits.put(0x2f, 8); // signature
  bits.put(width - 1, 14);
  bits.put(height - 1, 14);
  bits.put(a < 255 ? 1 : 0, 1); // alpha_is_used (a hint)
  bits.put(0, 3); // version
  bits.put(0, 1); // no transform
  bits.put(0, 1); // no colour cache
  bits.put(0, 1); // no meta prefix codes
  for (const symbol of [g, r, b, a, 0]) {
    bits.put(1, 1); // simple code
    bits.put(0, 1); // one symbol
    bits.put(1, 1); // 8-bit symbol
    bits.put(symbol, 8);
  }
  return bits.end();
}

function riffChunk(fourcc: string, payload: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.write(fourcc, 0, 'latin1');
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload, payload.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
}

function riff(chunks: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), ...chunks]);
  const head = Buffer.alloc(8);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body]);
}

function u24(v: number): number[] {
  return [v & 255, (v >> 8) & 255, (v >> 16) & 255];
}

/** A still lossless WebP (simple format: RIFF + one VP8L chunk) of one flat colour. */
export function solidWebp(width: number, height: number, rgba: Rgba): Buffer {
  return riff([riffChunk('VP8L', vp8lSolid(width, height, rgba))]);
}

/**
 * An animated WebP (extended format: VP8X with the animation flag, ANIM, one ANMF per frame), each
 * frame a full-canvas VP8L image of one flat colour, 100 ms each, looping, no blending.
 */
export function animatedWebp(width: number, height: number, frames: Rgba[]): Buffer {
  const vp8x = Buffer.from([0x02, 0, 0, 0, ...u24(width - 1), ...u24(height - 1)]); // animation flag
  const anim = Buffer.from([0, 0, 0, 0, 0, 0]); // background BGRA 0, loop forever
  const anmf = frames.map((c) =>
    riffChunk(
      'ANMF',
      Buffer.concat([
        Buffer.from([...u24(0), ...u24(0), ...u24(width - 1), ...u24(height - 1), ...u24(100), 0x02]), // at (0,0), 100 ms, do not blend, no dispose
        riffChunk('VP8L', vp8lSolid(width, height, c)),
      ]),
    ),
  );
  return riff([riffChunk('VP8X', vp8x), riffChunk('ANIM', anim), ...anmf]);
}

// ---- GIF ------------------------------------------------------------------------------------

/**
 * An animated GIF of full-canvas frames, each one flat colour (frame i uses palette entry i),
 * 100 ms each, looping. LZW is written without compression: a clear code before every pixel keeps
 * the code width at 3 bits (code size 2).
 */
export function animatedGif(width: number, height: number, frames: Rgb[]): Buffer {
  if (frames.length > 4) throw new Error('animatedGif: at most 4 frames (a 4-entry palette)');
  const palette = [...frames, ...new Array<Rgb>(4 - frames.length).fill([0, 0, 0])];
  const le16 = (v: number) => [v & 255, v >> 8];
  const lzw = (index: number): Buffer => {
    const bits = new LsbBits();
    for (let i = 0; i < width * height; i++) {
      bits.put(4, 3); // clear
      bits.put(index, 3);
    }
    bits.put(5, 3); // end of information
    const data = bits.end();
    const blocks: number[] = [2]; // LZW minimum code size
    for (let i = 0; i < data.length; i += 255) {
      const part = data.subarray(i, i + 255);
      blocks.push(part.length, ...part);
    }
    blocks.push(0);
    return Buffer.from(blocks);
  };
  return Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    Buffer.from([...le16(width), ...le16(height), 0x81, 0, 0]), // global colour table of 4
    Buffer.from(palette.flat()),
    Buffer.from([0x21, 0xff, 0x0b]),
    Buffer.from('NETSCAPE2.0', 'latin1'),
    Buffer.from([3, 1, 0, 0, 0]),
    ...frames.map((_, i) =>
      Buffer.concat([
        Buffer.from([0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00]), // GCE: 100 ms, no disposal
        Buffer.from([0x2c, 0, 0, 0, 0, ...le16(width), ...le16(height), 0]), // full-canvas frame
        lzw(i),
      ]),
    ),
    Buffer.from([0x3b]),
  ]);
}
