// Minimal view of TF.js's WASM backend (tfjs-backend-wasm 4.22) used by the training kernels:
// tensors live on the WebAssembly heap; a kernel allocates its output with makeOutput and
// writes it through a Float32Array view of the heap. Typed structurally so this module does
// not import the WASM backend package (the kernel receives the backend object at run time).
import * as tf from '@tensorflow/tfjs';
import { simdKernelsFor, type SimdKernels } from './simd-kernels';

type TensorInfo = tf.TensorInfo;

export interface WasmBackendLike {
  /** The Emscripten module; its WebAssembly.Memory is `asm.memory` (or `wasmMemory` in threaded builds). */
  wasm?: { asm?: { memory?: WebAssembly.Memory }; wasmMemory?: WebAssembly.Memory };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: object, force?: boolean): boolean;
  /** One more reference to a tensor's memory (disposeData frees it at zero). */
  incRef?(dataId: object): void;
}

export type KernelArgs = {
  inputs: Record<string, TensorInfo>;
  backend: WasmBackendLike;
  attrs: Record<string, unknown>;
};
export type WasmKernelFunc = (args: KernelArgs) => TensorInfo;

/** A float32 view of a tensor's heap memory. Take views only after the last allocation: a
 * malloc may grow the heap, which detaches every earlier view. */
export function heapF32(backend: WasmBackendLike, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`wasm training kernels need float32 tensors (got ${info.dtype})`);
  return backend.typedArrayFromHeap(info) as Float32Array;
}

/** Throws unless every tensor is float32 (the training kernels' loops read raw float32). */
export function requireF32(kernel: string, ...infos: TensorInfo[]): void {
  for (const t of infos) if (t.dtype !== 'float32') throw new Error(`${kernel} on wasm needs float32 tensors (got ${t.dtype})`);
}

/** A new float32 tensor on the WASM heap. Its memory is uninitialised (malloc). */
export function alloc(backend: WasmBackendLike, shape: number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

/** Float64 values written by a WebAssembly kernel into a scratch tensor (count of them). */
export function heapF64(backend: WasmBackendLike, scratch: TensorInfo, count: number): Float64Array {
  const f = heapF32(backend, scratch);
  if (f.byteOffset % 8 === 0) return new Float64Array(f.buffer, f.byteOffset, count);
  const dv = new DataView(f.buffer, f.byteOffset, 8 * count);
  return Float64Array.from({ length: count }, (_, i) => dv.getFloat64(8 * i, true));
}

export function free(backend: WasmBackendLike, info: TensorInfo): void {
  backend.disposeData(info.dataId);
}

/** The same memory seen with another shape (same element count). No copy, no new reference. */
export function view(info: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: info.dataId, shape, dtype: info.dtype };
}

/** Calls a WASM kernel's function directly, the way the WASM backend's own kernels compose
 * (no engine bookkeeping, no tape). `impl` lets a wrapper reach the kernel it replaced. */
export function callWasm(
  name: string,
  backend: WasmBackendLike,
  inputs: Record<string, TensorInfo>,
  attrs: Record<string, unknown>,
  impl?: WasmKernelFunc,
): TensorInfo {
  const fn = impl ?? (tf.getKernel(name, 'wasm')?.kernelFunc as WasmKernelFunc | undefined);
  if (!fn) throw new Error(`Kernel '${name}' not registered for backend 'wasm'`);
  const out = fn({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`Kernel '${name}' returned several outputs`);
  return out;
}

let scratchElements = 1 << 22; // 16 MiB of float32

/** Elements allowed in one scratch buffer (im2col columns); bigger jobs run in batch chunks. */
export function scratchLimit(): number {
  return scratchElements;
}

/** Overrides the scratch limit (tests use a tiny one to exercise the chunked paths). */
export function setScratchLimit(elements: number): void {
  scratchElements = Math.max(1, Math.floor(elements));
}

/** Byte address of a tensor on the WASM heap. */
export function addr(backend: WasmBackendLike, info: TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (!data) throw new Error('tensor is not on the wasm backend');
  return data.memoryOffset;
}

let simdEnabled = true;

/** Turns the WebAssembly inner loops off, for tests and benchmarks: JS loops instead, and the
 * element-wise replacements (min/max, comparisons, batch norm) hand back to the stock kernels. */
export function setSimdKernelsEnabled(on: boolean): void {
  simdEnabled = on;
}

/** The WebAssembly SIMD inner loops bound to this backend's memory, or null (use JS). */
export function simdKernels(backend: WasmBackendLike): SimdKernels | null {
  if (!simdEnabled) return null;
  const memory = backend.wasm?.asm?.memory ?? backend.wasm?.wasmMemory;
  return memory instanceof WebAssembly.Memory ? simdKernelsFor(memory) : null;
}
