// Generator of the hostile inputs for test/reliability/bad-input-import.e2e.ts: every row of the
// reliability catalog's "Bad-input catalog for importers" plus the Security cases that go through
// the image importer (zip paths, zip bombs, pixel bombs, active content, markup in names).
// Deterministic, written into a temp folder by the test; nothing downloaded, nothing committed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipWriter, configure } from '@zip.js/zip.js';
import jpeg from 'jpeg-js';
import { crc32 } from '../fixtures/generate.mjs';

configure({ useWebWorkers: false });

const SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

function ihdr(w: number, h: number, depth: number, colorType: number): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(w, 0);
  b.writeUInt32BE(h, 4);
  b[8] = depth;
  b[9] = colorType;
  return b;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/**
 * A PNG of any colour type / bit depth, written by hand (filter 0 on every row). `sample(x, y, c)`
 * gives channel c of pixel (x, y) in 0..(2^depth - 1).
 */
export function png(
  w: number,
  h: number,
  opts: { depth?: number; colorType?: number; palette?: number[][]; sample: (x: number, y: number, c: number) => number },
): Buffer {
  const depth = opts.depth ?? 8;
  const ct = opts.colorType ?? 2;
  const ch = CHANNELS[ct];
  const bpp = (ch * depth) / 8;
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * bpp);
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < ch; c++) {
        const v = opts.sample(x, y, c);
        if (depth === 16) row.writeUInt16BE(v, 1 + x * bpp + c * 2);
        else row[1 + x * bpp + c] = v;
      }
    }
    rows.push(row);
  }
  const parts = [SIG, chunk('IHDR', ihdr(w, h, depth, ct))];
  if (ct === 3) parts.push(chunk('PLTE', Buffer.from(opts.palette!.flat())));
  parts.push(chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** Distinct 16x16 RGB PNG for `seed`. */
export function rgbPng(seed: number, w = 16, h = 16): Buffer {
  return png(w, h, { sample: (x, y, c) => (seed * 37 + x * (c + 3) + y * (7 - c) + c * 50) & 255 });
}

function rgbJpeg(seed: number, w = 24, h = 16): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([(seed * 40 + i) & 255, (i * 3) & 255, (seed * 90) & 255, 255], i * 4);
  return Buffer.from(jpeg.encode({ data, width: w, height: h }, 90).data);
}

/** The JPEG with an EXIF APP1 segment carrying `orientation`, after SOI + APP0. */
function withExifOrientation(j: Buffer, orientation: number): Buffer {
  const tiff = Buffer.from([
    0x4d,
    0x4d,
    0x00,
    0x2a,
    0x00,
    0x00,
    0x00,
    0x08, // "MM", 42, IFD at 8
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
    0x00, // Orientation SHORT
    0x00,
    0x00,
    0x00,
    0x00, // no next IFD
  ]);
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.alloc(4);
  seg.writeUInt16BE(0xffe1, 0);
  seg.writeUInt16BE(payload.length + 2, 2);
  const app0End = j[2] === 0xff && j[3] === 0xe0 ? 4 + j.readUInt16BE(4) : 2;
  return Buffer.concat([j.subarray(0, app0End), seg, payload, j.subarray(app0End)]);
}

/** A 2x2, two-frame looping GIF (black frame, then white), LZW written without compression. */
function animatedGif(): Buffer {
  const lzw = (index: number) => {
    // Code size 2 → codes are 3 bits; a clear code (4) before every pixel keeps the width fixed.
    const codes = [4, index, 4, index, 4, index, 4, index, 5];
    const out: number[] = [];
    let acc = 0;
    let bits = 0;
    for (const c of codes) {
      acc |= c << bits;
      bits += 3;
      while (bits >= 8) {
        out.push(acc & 255);
        acc >>= 8;
        bits -= 8;
      }
    }
    if (bits > 0) out.push(acc & 255);
    return Buffer.from([2, out.length, ...out, 0]);
  };
  const frame = (index: number) =>
    Buffer.concat([
      Buffer.from([0x21, 0xf9, 0x04, 0x00, 0x0a, 0x00, 0x00, 0x00]), // GCE, 100 ms
      Buffer.from([0x2c, 0, 0, 0, 0, 2, 0, 2, 0, 0]), // image descriptor 2x2
      lzw(index),
    ]);
  return Buffer.concat([
    Buffer.from('GIF89a', 'latin1'),
    Buffer.from([2, 0, 2, 0, 0x80, 0, 0]), // 2x2, global colour table of 2
    Buffer.from([0, 0, 0, 255, 255, 255]),
    Buffer.from([0x21, 0xff, 0x0b]),
    Buffer.from('NETSCAPE2.0', 'latin1'),
    Buffer.from([3, 1, 0, 0, 0]),
    frame(0),
    frame(1),
    Buffer.from([0x3b]),
  ]);
}

function put(path: string, bytes: Buffer | string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
}

// No '/' in it: folder names become labels, and a slash would make two folders.
export const MARKUP_LABEL = '<svg onload=alert(3)><b>bold';
export const MARKUP_FILE = '<img src=x onerror=alert(2)>.png';

export interface HostileFolder {
  dir: string;
  /** Skipped files and what their reason must say. */
  skipped: Record<string, RegExp>;
  /** Good files per label as the dataset should show them (after dedupe and label merges). */
  classes: Record<string, number>;
  /** Distinct stored images. */
  stored: number;
  ignored: number;
  /** Bad inputs in the folder (skipped + ignored + duplicates + conflicts). */
  badInputs: number;
}

/** The folder of hostile image files, one subfolder per class. */
export function writeHostileFolder(root: string): HostileFolder {
  const dir = join(root, 'hostile');
  const good = rgbPng(1);
  // Good images, one with markup in its file name.
  put(join(dir, 'ok', 'ok-1.png'), good);
  put(join(dir, 'ok', 'ok-2.png'), rgbPng(2));
  put(join(dir, 'ok', MARKUP_FILE), rgbPng(3));
  // The same bytes twice under one label (stored once), and under a second label (conflict).
  put(join(dir, 'ok', 'ok-1-copy.png'), good);
  put(join(dir, 'other', 'ok-1.png'), good);
  put(join(dir, 'other', 'other-1.png'), rgbPng(4));
  // A label that contains markup.
  put(join(dir, MARKUP_LABEL, 'm.png'), rgbPng(5));

  // Zero-byte, text and PDF renamed as images.
  put(join(dir, 'bad', 'empty.png'), Buffer.alloc(0));
  put(join(dir, 'bad', 'notes.jpg'), 'just some text, not a JPEG\n');
  put(join(dir, 'bad', 'report.jpg'), Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n', 'latin1'));
  // Truncated PNG (no IEND) and JPEG (no FFD9).
  const p = rgbPng(6, 32, 32);
  put(join(dir, 'bad', 'truncated.png'), p.subarray(0, p.length - 30));
  const j = rgbJpeg(6, 64, 64);
  put(join(dir, 'bad', 'truncated.jpg'), j.subarray(0, Math.floor(j.length * 0.6)));
  // Corrupt header: IHDR with a wrong checksum.
  const corrupt = Buffer.from(rgbPng(7));
  corrupt[29] ^= 0xff;
  put(join(dir, 'bad', 'corrupt-header.png'), corrupt);
  // Pixel bombs: headers that declare 20000x20000 and 100000x1000 with one tiny IDAT.
  for (const [name, w, h] of [
    ['huge.png', 20000, 20000],
    ['wide.png', 100000, 1000],
  ] as const) {
    put(
      join(dir, 'bad', name),
      Buffer.concat([SIG, chunk('IHDR', ihdr(w, h, 8, 2)), chunk('IDAT', deflateSync(Buffer.alloc(64))), chunk('IEND', Buffer.alloc(0))]),
    );
  }
  // Active content, with and without an honest extension.
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><script>alert(1)</script></svg>\n';
  put(join(dir, 'bad', 'vector.svg'), svg);
  put(join(dir, 'bad', 'vector.png'), svg);
  // Formats this browser cannot decode.
  put(
    join(dir, 'bad', 'photo.heic'),
    Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(32)]),
  );
  put(join(dir, 'bad', 'scan.tif'), Buffer.concat([Buffer.from('II*\0\x08\0\0\0', 'latin1'), Buffer.alloc(32)]));

  // PNG colour types and depths: gray, gray+alpha, palette, RGBA, 16-bit RGB.
  const f = (x: number, y: number) => (x * 16 + y * 3) & 255;
  put(join(dir, 'formats', 'gray.png'), png(16, 16, { colorType: 0, sample: (x, y) => f(x, y) }));
  put(join(dir, 'formats', 'gray-alpha.png'), png(16, 16, { colorType: 4, sample: (x, y, c) => (c === 0 ? f(x, y) : 128) }));
  put(
    join(dir, 'formats', 'palette.png'),
    png(16, 16, {
      colorType: 3,
      palette: [
        [255, 0, 0],
        [0, 255, 0],
        [0, 0, 255],
        [9, 9, 9],
      ],
      sample: (x, y) => (x + y) % 4,
    }),
  );
  put(
    join(dir, 'formats', 'rgba.png'),
    png(16, 16, { colorType: 6, sample: (x, y, c) => (c === 3 ? (x * 16) & 255 : f(x, y) ^ (c * 60)) }),
  );
  put(join(dir, 'formats', 'rgb16.png'), png(16, 16, { colorType: 2, depth: 16, sample: (x, y, c) => (f(x, y) << 8) | (c * 20) }));
  put(join(dir, 'formats', 'photo.jpg'), rgbJpeg(8));
  // An animated GIF (the first frame is used).
  put(join(dir, 'formats', 'animated.gif'), animatedGif());

  // EXIF orientations 1-8 of one JPEG.
  const base = rgbJpeg(9, 24, 16);
  for (let o = 1; o <= 8; o++) put(join(dir, 'exif', `orient-${o}.jpg`), withExifOrientation(base, o));

  // Extreme sizes that are still within the pixel budget.
  put(join(dir, 'sizes', 'one.png'), rgbPng(10, 1, 1));
  put(join(dir, 'sizes', 'tall.png'), rgbPng(11, 1, 10000));

  // One class spelled three ways: " Cat", "cat" (2 files) and "CAT".
  put(join(dir, ' Cat', 'c1.png'), rgbPng(12));
  put(join(dir, 'cat', 'c2.png'), rgbPng(13));
  put(join(dir, 'cat', 'c3.png'), rgbPng(14));
  put(join(dir, 'CAT', 'c4.png'), rgbPng(15));

  // OS junk.
  put(join(dir, '.DS_Store'), Buffer.from('\0\0\0\x01Bud1', 'latin1'));
  put(join(dir, 'ok', 'Thumbs.db'), Buffer.from('\xd0\xcf\x11\xe0', 'latin1'));
  put(join(dir, '__MACOSX', 'ok', '._ok-1.png'), Buffer.from('\0\x05\x16\x07\0\x02\0\0Mac OS X', 'latin1'));
  put(join(dir, 'ok', '._ok-2.png'), Buffer.from('\0\x05\x16\x07\0\x02\0\0Mac OS X', 'latin1'));

  const skipped: Record<string, RegExp> = {
    'bad/empty.png': /empty/i,
    'bad/notes.jpg': /not an image/i,
    'bad/report.jpg': /not an image/i,
    'bad/truncated.png': /truncated/i,
    'bad/truncated.jpg': /truncated/i,
    'bad/corrupt-header.png': /corrupt/i,
    'bad/huge.png': /20000x20000 pixels is over the .* limit/,
    'bad/wide.png': /100000x1000 pixels is over the .* limit/,
    'bad/vector.svg': /SVG is refused/,
    'bad/vector.png': /SVG is refused/,
    'bad/photo.heic': /HEIC\/HEIF images are not supported/,
    'bad/scan.tif': /TIFF images are not supported/,
  };
  return {
    dir,
    skipped,
    // ok: ok-1, ok-2, markup file (ok-1-copy deduplicated); other: other-1 (+ the conflicting copy,
    // stored once under the label that arrived first); formats 7; exif 8; sizes 2; cat 4.
    classes: { ok: 3, other: 1, [MARKUP_LABEL]: 1, formats: 7, exif: 8, sizes: 2, cat: 4 },
    stored: 3 + 1 + 1 + 7 + 8 + 2 + 4,
    ignored: 4,
    badInputs:
      Object.keys(skipped).length +
      4 /* junk */ +
      2 /* copy, conflict */ +
      3 /* " Cat", "CAT" merged, markup label */ +
      1 /* markup file name */,
  };
}

/** Zip with unsafe names, collisions and junk next to two good entries. */
export async function writeTrickyZip(path: string): Promise<{ unsafe: string[]; collisions: string[][]; junk: string[]; good: string[] }> {
  const zip = new ZipWriter(new Uint8ArrayWriter());
  const unsafe = [
    '../evil.png',
    '/abs.png',
    'C:\\win.png',
    'cats\\back.png',
    'cats/nul\u0000byte.png',
    'cats/../../up.png',
    '//host/share.png',
  ];
  const written: string[] = [];
  let seed = 100;
  for (const name of unsafe) {
    try {
      await zip.add(name, new Uint8ArrayReader(rgbPng(seed++)));
      written.push(name);
    } catch {
      // zip.js refuses to write a few names; those cases are then simply absent.
    }
  }
  const good = ['cats/ok-1.png', 'dogs/ok-2.png', 'cats/Same.png', 'cats/same.png', 'cats/caf\u00e9.png', 'cats/cafe\u0301.png'];
  for (const name of good) await zip.add(name, new Uint8ArrayReader(rgbPng(seed++)));
  const junk = ['__MACOSX/cats/._ok-1.png', 'cats/._ok-1.png', '.DS_Store'];
  for (const name of junk) await zip.add(name, new Uint8ArrayReader(Buffer.from('\0\x05\x16\x07junk', 'latin1')));
  writeFileSync(path, await zip.close());
  return {
    unsafe: written,
    collisions: [
      ['cats/Same.png', 'cats/same.png'],
      ['cats/caf\u00e9.png', 'cats/cafe\u0301.png'],
    ],
    junk,
    good,
  };
}

/** A stream of `total` zero bytes, so a big entry never sits in memory here. */
function zeros(total: number): ReadableStream<Uint8Array> {
  const c = new Uint8Array(1024 * 1024);
  let left = total;
  return new ReadableStream({
    pull(ctrl) {
      if (left <= 0) return ctrl.close();
      const n = Math.min(left, c.length);
      ctrl.enqueue(n === c.length ? c : c.subarray(0, n));
      left -= n;
    },
  });
}

/**
 * Zip bombs for the image importer (a good entry first, then zeros deflated ~1000:1):
 * - size.zip: 96 MiB entry, sizes declared honestly → over the per-file limit (64 MiB);
 * - ratio.zip: 48 MiB entry, declared honestly → under the size limit, over the 100:1 ratio;
 * - liar.zip: ratio.zip with the entry's declared size rewritten to 1,000 bytes in the local and
 *   central headers, so only what the inflater actually produces can give it away.
 */
export async function writeZipBombs(dir: string): Promise<{ size: string; ratio: string; liar: string }> {
  const make = async (bytes: number) => {
    const zip = new ZipWriter(new Uint8ArrayWriter(), { dataDescriptor: false, zip64: false });
    await zip.add('cats/a.png', new Uint8ArrayReader(rgbPng(400)), { level: 0 });
    await zip.add('cats/bomb.png', zeros(bytes), { level: 9 });
    return Buffer.from(await zip.close());
  };
  const size = join(dir, 'size.zip');
  writeFileSync(size, await make(96 * 1024 * 1024));
  const BYTES = 48 * 1024 * 1024;
  const bytes = await make(BYTES);
  const ratio = join(dir, 'ratio.zip');
  writeFileSync(ratio, bytes);
  // Local header: uncompressed size at +22; central directory header: at +24 (no zip64).
  const liar = Buffer.from(bytes);
  let patched = 0;
  for (let i = 0; i + 30 < liar.length; i++) {
    const sig = liar.readUInt32LE(i);
    if (sig === 0x04034b50 && liar.readUInt32LE(i + 22) === BYTES) {
      liar.writeUInt32LE(1000, i + 22);
      patched++;
    } else if (sig === 0x02014b50 && liar.readUInt32LE(i + 24) === BYTES) {
      liar.writeUInt32LE(1000, i + 24);
      patched++;
    }
  }
  if (patched < 2) throw new Error(`liar.zip: patched ${patched} size fields, expected 2`);
  const liarPath = join(dir, 'liar.zip');
  writeFileSync(liarPath, liar);
  return { size, ratio, liar: liarPath };
}

/** `count` distinct 8x8 PNGs in two class folders, zipped without compression. */
export async function writeManyZip(path: string, count: number): Promise<void> {
  const zip = new ZipWriter(new Uint8ArrayWriter(), { level: 0 });
  for (let i = 0; i < count; i++) {
    const bytes = png(8, 8, { sample: (x, y, c) => (c === 0 ? i & 255 : c === 1 ? (i >> 8) & 255 : (x * 8 + y) & 255) });
    await zip.add(`${i % 2 ? 'odd' : 'even'}/img-${i}.png`, new Uint8ArrayReader(bytes));
  }
  writeFileSync(path, await zip.close());
}

/** A CSV manifest with every edge case of the catalog, beside its images. */
export function writeManifest(root: string): { dir: string; csv: string; images: string[] } {
  const dir = join(root, 'manifest');
  const images = ['a.png', 'b.png', 'c.png', 'd.png', 'cafe\u0301.png', 'unlisted.png'];
  images.forEach((n, i) => put(join(dir, n), rgbPng(600 + i)));
  const rows = [
    'filename;label',
    'a.png;"big; cat"',
    'b.png;"x, y"',
    '',
    'c.png;dog',
    'ghost.png;dog',
    'd.png;dog',
    'd.png;dog',
    'caf\u00e9.png;dog',
    '',
  ];
  const csv = join(dir, 'labels.csv');
  put(csv, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(rows.join('\r\n'), 'utf8')]));
  return { dir, csv, images };
}
