// A tiny WebAssembly binary emitter: just enough to write the training kernels' loops as
// WebAssembly (with SIMD) in TypeScript, so no compiler, no build step and no opaque binary
// blob are needed. The module imports the TF.js WASM backend's own memory, so the kernels read
// and write tensors in place, by heap address.
//
// Code is written as nested arrays of bytes (flattened on emit). Helpers cover structured
// control flow (for-loops, if/else), locals by name, loads/stores and the opcodes used.

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';
export type Code = number | readonly Code[];

const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function flatten(code: Code, out: number[] = []): number[] {
  if (typeof code === 'number') out.push(code);
  else for (const c of code) flatten(c, out);
  return out;
}

const name = (s: string): number[] => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

/** Opcodes (numeric ops take their operands from the stack). */
export const op = {
  drop: 0x1a,
  select: 0x1b,
  i32: {
    eqz: 0x45,
    eq: 0x46,
    ne: 0x47,
    lt_s: 0x48,
    lt_u: 0x49,
    gt_s: 0x4a,
    le_s: 0x4c,
    ge_s: 0x4e,
    add: 0x6a,
    sub: 0x6b,
    mul: 0x6c,
    and: 0x71,
    shl: 0x74,
  },
  f32: {
    eq: 0x5b,
    lt: 0x5d,
    gt: 0x5e,
    le: 0x5f,
    ge: 0x60,
    add: 0x92,
    sub: 0x93,
    mul: 0x94,
    div: 0x95,
    min: 0x96,
    max: 0x97,
    demote_f64: 0xb6,
  },
  f64: { add: 0xa0, mul: 0xa2, promote_f32: 0xbb },
  // SIMD (0xfd prefix, LEB opcode)
  f32x4: {
    splat: [0xfd, ...uleb(19)],
    eq: [0xfd, ...uleb(65)],
    lt: [0xfd, ...uleb(67)],
    gt: [0xfd, ...uleb(68)],
    le: [0xfd, ...uleb(69)],
    ge: [0xfd, ...uleb(70)],
    add: [0xfd, ...uleb(228)],
    sub: [0xfd, ...uleb(229)],
    mul: [0xfd, ...uleb(230)],
    div: [0xfd, ...uleb(231)],
    min: [0xfd, ...uleb(232)],
    max: [0xfd, ...uleb(233)],
  },
  i32x4: { splat: [0xfd, ...uleb(17)], eq: [0xfd, ...uleb(55)], extract_lane0: [0xfd, ...uleb(27), 0] },
  i16x8: { narrow_i32x4_u: [0xfd, ...uleb(134)] },
  i8x16: { narrow_i16x8_u: [0xfd, ...uleb(102)] },
  v128: { and: [0xfd, ...uleb(78)], bitselect: [0xfd, ...uleb(82)] },
} as const;

const memarg = (align: number, offset = 0): number[] => [...uleb(align), ...uleb(offset)];

/** One function under construction: parameters and locals by name. */
export class Fn {
  private readonly index = new Map<string, number>();
  private readonly types: ValType[] = [];
  readonly paramCount: number;

  constructor(
    readonly exportName: string,
    params: Array<[string, ValType]>,
  ) {
    for (const [n, t] of params) this.declare(n, t);
    this.paramCount = params.length;
  }

  private declare(n: string, t: ValType): number {
    if (this.index.has(n)) throw new Error(`duplicate local ${n}`);
    this.index.set(n, this.types.length);
    this.types.push(t);
    return this.types.length - 1;
  }

  /** Declares locals (zero-initialised by WebAssembly). */
  locals(t: ValType, ...names: string[]): void {
    for (const n of names) this.declare(n, t);
  }

  private at(n: string): number {
    const i = this.index.get(n);
    if (i === undefined) throw new Error(`unknown local ${n}`);
    return i;
  }

  get = (n: string): Code => [0x20, ...uleb(this.at(n))];
  set = (n: string, value: Code): Code => [value, 0x21, ...uleb(this.at(n))];
  /** n += value (i32). */
  inc = (n: string, value: Code): Code => this.set(n, [this.get(n), value, op.i32.add]);

  /** for (n = from; n < to; n += step) body — signed compare; `to` is re-evaluated each time. */
  for = (n: string, from: Code, to: Code, step: Code, body: Code): Code => [
    this.set(n, from),
    0x02,
    0x40, // block
    0x03,
    0x40, // loop
    this.get(n),
    to,
    op.i32.ge_s,
    0x0d,
    0x01, // br_if 1 (exit)
    body,
    this.inc(n, step),
    0x0c,
    0x00, // br 0
    0x0b,
    0x0b,
  ];

  localTypes(): ValType[] {
    return this.types.slice(this.paramCount);
  }

  paramTypes(): ValType[] {
    return this.types.slice(0, this.paramCount);
  }
}

export const i32c = (n: number): Code => [0x41, ...sleb(n)];
export const f32c = (v: number): Code => [0x43, ...new Uint8Array(new Float32Array([v]).buffer)];
/** if/else that leaves one value of type `t` on the stack. */
export const ifValue = (t: ValType, cond: Code, then: Code, otherwise: Code): Code => [cond, 0x04, VALTYPE[t], then, 0x05, otherwise, 0x0b];
export const ifThen = (cond: Code, then: Code, otherwise?: Code): Code =>
  otherwise === undefined ? [cond, 0x04, 0x40, then, 0x0b] : [cond, 0x04, 0x40, then, 0x05, otherwise, 0x0b];
/** (a as u32) < (b as u32): also rejects negative a. */
export const inRange = (a: Code, b: Code): Code => [a, b, op.i32.lt_u];
export const max32 = (a: Code, b: Code): Code => [a, b, a, b, op.i32.gt_s, op.select];
export const min32 = (a: Code, b: Code): Code => [a, b, a, b, op.i32.lt_s, op.select];
export const add = (...xs: Code[]): Code => [xs[0], ...xs.slice(1).map((x) => [x, op.i32.add])];
export const mul = (...xs: Code[]): Code => [xs[0], ...xs.slice(1).map((x) => [x, op.i32.mul])];
export const sub = (a: Code, b: Code): Code => [a, b, op.i32.sub];
/** byte address of element `index` of a float32 array starting at byte address `base`. */
export const f32addr = (base: Code, index: Code): Code => [base, index, i32c(2), op.i32.shl, op.i32.add];

export const f32load = (addr: Code): Code => [addr, 0x2a, ...memarg(2)];
export const f32store = (addr: Code, value: Code): Code => [addr, value, 0x38, ...memarg(2)];
export const f64load = (addr: Code): Code => [addr, 0x2b, ...memarg(3)];
export const f64store = (addr: Code, value: Code): Code => [addr, value, 0x39, ...memarg(3)];
export const v128load = (addr: Code): Code => [addr, 0xfd, ...uleb(0), ...memarg(2)];
/** Loads one float32 and splats it to four lanes. */
export const v128load32splat = (addr: Code): Code => [addr, 0xfd, ...uleb(9), ...memarg(2)];
export const i32store = (addr: Code, value: Code): Code => [addr, value, 0x36, ...memarg(0)];
export const i32store8 = (addr: Code, value: Code): Code => [addr, value, 0x3a, ...memarg(0)];
export const v128store = (addr: Code, value: Code): Code => [addr, value, 0xfd, ...uleb(11), ...memarg(2)];
/** memory.fill(dst, byte, count) (bulk memory). */
export const memfill = (dst: Code, byte: Code, count: Code): Code => [dst, byte, count, 0xfc, ...uleb(11), 0x00];

export interface MemoryImport {
  shared: boolean;
}

/** A module of exported functions whose only import is the memory `env.memory`. */
export function assemble(fns: Array<{ fn: Fn; body: Code }>, memory: MemoryImport): Uint8Array {
  const types = fns.map(({ fn }) => [0x60, ...vec(fn.paramTypes().map((t) => [VALTYPE[t]])), 0x00]);
  // Shared memories must declare a maximum; 65536 pages (4 GiB) accepts any.
  const limits = memory.shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const imports = vec([[...name('env'), ...name('memory'), 0x02, ...limits]]);
  const funcs = vec(fns.map((_, i) => uleb(i)));
  const exports = vec(fns.map(({ fn }, i) => [...name(fn.exportName), 0x00, ...uleb(i)]));
  const codes = vec(
    fns.map(({ fn, body }) => {
      const locals = vec(fn.localTypes().map((t) => [1, VALTYPE[t]]));
      const bytes = [...locals, ...flatten(body), 0x0b];
      return [...uleb(bytes.length), ...bytes];
    }),
  );
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, vec(types)),
    ...section(2, imports),
    ...section(3, funcs),
    ...section(7, exports),
    ...section(10, codes),
  ]);
}
