// Identifies an image by its magic bytes and reads its size from the header, so empty, disguised,
// active (SVG), undecodable and oversized files are refused before any decoder sees them.

export const PIXEL_BUDGET = 50_000_000;

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp' | 'bmp';

export type SniffResult =
  | { ok: true; format: ImageFormat; mime: string; width: number | null; height: number | null; truncated: boolean }
  | {
      ok: false;
      code: 'empty' | 'svg' | 'not-image' | 'unsupported' | 'corrupt-header' | 'too-many-pixels';
      reason: string;
    };

type Fail = Extract<SniffResult, { ok: false }>;
type Dims = { width: number; height: number } | Fail;

const MIME: Record<ImageFormat, string> = {
  png: 'image/png',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
};

const NAMES: Record<ImageFormat, string> = { png: 'PNG', jpeg: 'JPEG', gif: 'GIF', webp: 'WebP', bmp: 'BMP' };

export function sniffImage(bytes: Uint8Array, pixelBudget = PIXEL_BUDGET): SniffResult {
  if (bytes.length === 0) return fail('empty', 'empty file (0 bytes)');
  const format = detectFormat(bytes);
  if (format === null) return classifyOther(bytes);

  const dims = readDims(format, bytes);
  if ('ok' in dims) return dims;
  const { width, height } = dims;
  if (width <= 0 || height <= 0) {
    return fail('corrupt-header', `corrupt ${NAMES[format]} header: image is ${width}x${height} pixels`);
  }
  if (width * height > pixelBudget) {
    return fail('too-many-pixels', `${width}x${height} pixels is over the ${formatMegapixels(pixelBudget)} limit; refused before decoding`);
  }
  return { ok: true, format, mime: MIME[format], width, height, truncated: isTruncated(format, bytes) };
}

/** How many leading bytes the import plan reads from each file to refuse what it can up front. */
export const HEAD_BYTES = 4096;

/**
 * Judges a file from its first bytes only (`head`; `complete` when that is the whole file), for
 * the import plan. Returns the refusal when the head is enough to be sure: not an image at all
 * (text, PDF, SVG), an unsupported format (TIFF, HEIC, AVIF), or a PNG/GIF/WebP/BMP whose header
 * is corrupt or declares too many pixels. Returns null when the file may be fine: a JPEG's size
 * can sit past the head, and truncation and decoding are only known once the whole file is read.
 */
export function sniffHead(head: Uint8Array, complete: boolean, pixelBudget = PIXEL_BUDGET): Fail | null {
  const r = sniffImage(head, pixelBudget);
  if (r.ok) return null;
  if (complete || r.code === 'svg' || r.code === 'unsupported' || r.code === 'not-image') return r;
  if (head.length === 0) return null;
  const format = detectFormat(head);
  return format !== null && format !== 'jpeg' ? r : null;
}

function fail(code: Fail['code'], reason: string): Fail {
  return { ok: false, code, reason };
}

function formatMegapixels(pixels: number): string {
  return pixels >= 1_000_000 ? `${Number((pixels / 1_000_000).toFixed(1))} MP` : `${pixels} pixel`;
}

function startsWith(bytes: Uint8Array, sig: ArrayLike<number>, offset = 0): boolean {
  if (bytes.length < offset + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[offset + i] !== sig[i]) return false;
  return true;
}

function ascii(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

function fourcc(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(...bytes.subarray(offset, offset + 4));
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function detectFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, PNG_SIG)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(bytes, ascii('GIF87a')) || startsWith(bytes, ascii('GIF89a'))) return 'gif';
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8)) return 'webp';
  // "BM" is only two bytes, so a text file starting with "BM" must not be taken for a bitmap.
  if (startsWith(bytes, ascii('BM')) && !(bytes.length >= 18 && !knownBmpHeader(bytes) && looksLikeText(bytes))) {
    return 'bmp';
  }
  return null;
}

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

function classifyOther(bytes: Uint8Array): SniffResult {
  if (looksLikeSvg(bytes)) {
    return fail('svg', 'SVG is refused: it is a document that can carry scripts and links (active content), not a plain image');
  }
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return fail('unsupported', 'TIFF images are not supported: this browser cannot decode them for training');
  }
  if (startsWith(bytes, ascii('ftyp'), 4)) {
    const brands = ftypBrands(bytes);
    if (brands.some((b) => AVIF_BRANDS.has(b))) {
      return fail('unsupported', 'AVIF images are not supported: this browser cannot decode them for training');
    }
    if (brands.some((b) => HEIF_BRANDS.has(b))) {
      return fail('unsupported', 'HEIC/HEIF images are not supported: this browser cannot decode them for training');
    }
  }
  const hint = guessKind(bytes);
  return fail('not-image', `not an image: content is not PNG, JPEG, GIF, WebP or BMP${hint ? ` (looks like ${hint})` : ''}`);
}

function ftypBrands(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxEnd = Math.min(bytes.length, bytes.length >= 4 ? view.getUint32(0) : 0, 256);
  const brands = bytes.length >= 12 ? [fourcc(bytes, 8)] : [];
  // Compatible brands follow the major brand and minor version; AVIF files often say mif1 first.
  for (let at = 16; at + 4 <= boxEnd; at += 4) brands.push(fourcc(bytes, at));
  return brands;
}

function guessKind(bytes: Uint8Array): string | null {
  if (startsWith(bytes, ascii('%PDF-'))) return 'PDF';
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04])) return 'a zip archive';
  if (startsWith(bytes, [0x1f, 0x8b])) return 'gzip data';
  if (startsWith(bytes, ascii('ftyp'), 4)) return 'a video or other ISO media file';
  if (looksLikeText(bytes)) {
    return /^\s*<(!doctype html|html)/i.test(headText(bytes)) ? 'HTML text' : 'text';
  }
  return null;
}

function headText(bytes: Uint8Array): string {
  const head = bytes.subarray(0, 1024);
  // A UTF-16 SVG is still an SVG; decode code units by hand because Node builds may lack utf-16be.
  const le = head[0] === 0xff && head[1] === 0xfe;
  const be = head[0] === 0xfe && head[1] === 0xff;
  if (le || be) {
    let out = '';
    for (let i = 2; i + 1 < head.length; i += 2) {
      out += String.fromCharCode(le ? head[i] | (head[i + 1] << 8) : (head[i] << 8) | head[i + 1]);
    }
    return out;
  }
  return new TextDecoder('utf-8').decode(head).replace(/^\uFEFF/, '');
}

function looksLikeSvg(bytes: Uint8Array): boolean {
  const text = headText(bytes).trimStart();
  if (/^<svg[\s>/]/i.test(text)) return true;
  // Prologs, comments and doctypes may precede the root element.
  return /^<(\?xml|!--|!doctype)/i.test(text) && /<svg[\s>/]/i.test(text);
}

function looksLikeText(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 1024);
  try {
    // stream: true so a multi-byte character cut at the 1 KB boundary is not an error.
    const text = new TextDecoder('utf-8', { fatal: true }).decode(head, { stream: true });
    return !/[\x00-\x08\x0e-\x1a\x1c-\x1f\x7f]/.test(text);
  } catch {
    return false;
  }
}

function knownBmpHeader(bytes: Uint8Array): boolean {
  const size = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(14, true);
  return [12, 16, 40, 52, 56, 64, 108, 124].includes(size);
}

function readDims(format: ImageFormat, bytes: Uint8Array): Dims {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (format) {
    case 'png':
      return pngDims(bytes, view);
    case 'jpeg':
      return jpegDims(bytes, view);
    case 'gif':
      if (bytes.length < 10) return fail('corrupt-header', 'corrupt GIF header: file ends before the logical screen size');
      return { width: view.getUint16(6, true), height: view.getUint16(8, true) };
    case 'webp':
      return webpDims(bytes, view);
    case 'bmp':
      return bmpDims(bytes, view);
  }
}

function pngDims(bytes: Uint8Array, view: DataView): Dims {
  if (bytes.length < 24 || fourcc(bytes, 12) !== 'IHDR') {
    return fail('corrupt-header', 'corrupt PNG header: no IHDR chunk after the signature');
  }
  if (view.getUint32(8) !== 13) return fail('corrupt-header', 'corrupt PNG header: IHDR chunk is not 13 bytes long');
  // A garbage IHDR would otherwise read as absurd dimensions; its CRC tells damage from intent.
  if (bytes.length < 33 || crc32(bytes, 12, 29) !== view.getUint32(29)) {
    return fail('corrupt-header', 'corrupt PNG header: the IHDR checksum does not match');
  }
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

let crcTable: Uint32Array | null = null;
function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function jpegDims(bytes: Uint8Array, view: DataView): Dims {
  let pos = 2;
  while (pos < bytes.length) {
    if (bytes[pos] !== 0xff) {
      return fail('corrupt-header', `corrupt JPEG header: expected a marker at byte ${pos}, found 0x${hex(bytes[pos])}`);
    }
    // Any number of 0xFF fill bytes may precede a marker code.
    while (pos < bytes.length && bytes[pos] === 0xff) pos++;
    if (pos >= bytes.length) break;
    const marker = bytes[pos++];
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9 || marker === 0xda) {
      return fail('corrupt-header', `corrupt JPEG header: ${marker === 0xda ? 'scan data' : 'end of image'} before any frame header (SOF)`);
    }
    if (pos + 2 > bytes.length) break;
    const length = view.getUint16(pos);
    if (length < 2 || pos + length > bytes.length) {
      return fail(
        'corrupt-header',
        `corrupt JPEG header: segment FF${hex(marker)} at byte ${pos - 2} claims ${length} bytes, past the end of the file`,
      );
    }
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (length < 7) return fail('corrupt-header', `corrupt JPEG header: frame header FF${hex(marker)} is too short`);
      return { height: view.getUint16(pos + 3), width: view.getUint16(pos + 5) };
    }
    pos += length;
  }
  return fail('corrupt-header', 'corrupt JPEG header: file ends before any frame header (SOF)');
}

function webpDims(bytes: Uint8Array, view: DataView): Dims {
  const chunk = bytes.length >= 16 ? fourcc(bytes, 12) : '';
  if (chunk === 'VP8 ') {
    if (bytes.length < 30 || !startsWith(bytes, [0x9d, 0x01, 0x2a], 23)) {
      return fail('corrupt-header', 'corrupt WebP header: VP8 frame has no start code');
    }
    return { width: view.getUint16(26, true) & 0x3fff, height: view.getUint16(28, true) & 0x3fff };
  }
  if (chunk === 'VP8L') {
    if (bytes.length < 25 || bytes[20] !== 0x2f) return fail('corrupt-header', 'corrupt WebP header: VP8L signature missing');
    const bits = view.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') {
    if (bytes.length < 30) return fail('corrupt-header', 'corrupt WebP header: VP8X chunk is cut short');
    const u24 = (at: number) => bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
    return { width: u24(24) + 1, height: u24(27) + 1 };
  }
  return fail('corrupt-header', `corrupt WebP header: unknown first chunk ${JSON.stringify(chunk)}`);
}

function bmpDims(bytes: Uint8Array, view: DataView): Dims {
  if (bytes.length < 18) return fail('corrupt-header', 'corrupt BMP header: file ends before the DIB header');
  if (!knownBmpHeader(bytes)) {
    return fail('corrupt-header', `corrupt BMP header: unknown DIB header size ${view.getUint32(14, true)}`);
  }
  if (view.getUint32(14, true) === 12) {
    if (bytes.length < 22) return fail('corrupt-header', 'corrupt BMP header: file ends inside the DIB header');
    return { width: view.getUint16(18, true), height: view.getUint16(20, true) };
  }
  if (bytes.length < 26) return fail('corrupt-header', 'corrupt BMP header: file ends inside the DIB header');
  // A negative height means rows are stored top-down; the size is its absolute value.
  return { width: view.getInt32(18, true), height: Math.abs(view.getInt32(22, true)) };
}

function isTruncated(format: ImageFormat, bytes: Uint8Array): boolean {
  switch (format) {
    case 'png':
      return !containsSeq(bytes, [...ascii('IEND'), 0xae, 0x42, 0x60, 0x82], 64);
    case 'jpeg':
      return !containsSeq(bytes, [0xff, 0xd9], 64);
    case 'gif':
      return !containsSeq(bytes, [0x3b], 16);
    case 'webp':
      return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true) + 8 > bytes.length;
    case 'bmp':
      return false;
  }
}

/** Whether seq occurs within the last `window` bytes; tolerates a little trailing garbage. */
function containsSeq(bytes: Uint8Array, seq: number[], window: number): boolean {
  for (let i = Math.max(0, bytes.length - window); i + seq.length <= bytes.length; i++) {
    if (startsWith(bytes, seq, i)) return true;
  }
  return false;
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
