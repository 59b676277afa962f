// NumPy .npy (format 1.0) writer and header reader: the kit's data arrays (uint8 pixels, int32
// labels) load with plain numpy.load(allow_pickle=False). Pure, so Node tests check the bytes.

export type NpyDtype = 'uint8' | 'int32' | 'float32';
const DESCR: Record<NpyDtype, string> = { uint8: '|u1', int32: '<i4', float32: '<f4' };
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export type NpyData = Uint8Array | Int32Array | Float32Array;

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int32Array) return 'int32';
  return 'float32';
}

/** The 10-byte preamble plus the header dict, space-padded so the data starts on a 64-byte boundary. */
export function npyHeader(dtype: NpyDtype, shape: number[]): Uint8Array {
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`npy: bad shape ${JSON.stringify(shape)}`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = 10 + dict.length + 1;
  dict += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  if (dict.length > 0xffff) throw new Error('npy: header too long');
  const out = new Uint8Array(10 + dict.length);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = dict.length & 0xff;
  out[9] = dict.length >> 8;
  for (let i = 0; i < dict.length; i++) out[10 + i] = dict.charCodeAt(i);
  return out;
}

/** One .npy file: header then the values, little-endian (typed arrays are little-endian on every platform we run on). */
export function encodeNpy(data: NpyData, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`npy: shape ${JSON.stringify(shape)} holds ${count} values, got ${data.length}`);
  const header = npyHeader(dtypeOf(data), shape);
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(header.length + body.length);
  out.set(header, 0);
  out.set(body, header.length);
  return out;
}

/** Reads an .npy file written by encodeNpy (or NumPy, for these three little-endian dtypes). */
export function decodeNpy(bytes: Uint8Array): { dtype: NpyDtype; shape: number[]; data: NpyData } {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw new Error('npy: not an .npy file');
  if (bytes[6] !== 1) throw new Error(`npy: format ${bytes[6]}.${bytes[7]} is not supported`);
  const len = bytes[8] | (bytes[9] << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + len));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const dtype = (Object.keys(DESCR) as NpyDtype[]).find((k) => DESCR[k] === descr);
  if (!dtype) throw new Error(`npy: dtype ${descr} is not supported`);
  if (!/'fortran_order':\s*False/.test(header)) throw new Error('npy: Fortran order is not supported');
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const start = 10 + len;
  const body = bytes.slice(start);
  const data = dtype === 'uint8' ? body : dtype === 'int32' ? new Int32Array(body.buffer) : new Float32Array(body.buffer);
  if (data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error('npy: data length does not match the shape');
  return { dtype, shape, data };
}
