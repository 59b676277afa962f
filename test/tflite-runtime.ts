// The real TFLite interpreter in Node, for tests and benchmarks: the official WebAssembly build
// shipped in @tensorflow/tfjs-tflite (TFLite's C++ runtime with its XNNPack-free reference and
// optimized kernels), loaded directly as an Emscripten module. The package's own JS wrapper is
// browser-only (it injects <script> tags), its WASM is not.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

interface TensorInfo {
  name: string;
  shape: string;
  dataType: string;
  data(): Int8Array | Float32Array | Uint8Array | Int32Array;
  delete?(): void;
}
interface EmVector<T> {
  size(): number;
  get(i: number): T;
  delete?(): void;
}
interface Runner {
  GetInputs(): EmVector<TensorInfo>;
  GetOutputs(): EmVector<TensorInfo>;
  Infer(): boolean;
  delete(): void;
}
interface TfliteModule {
  _malloc(n: number): number;
  _free(p: number): void;
  HEAPU8: Uint8Array;
  TFLiteWebModelRunner: {
    CreateFromBufferAndOptions(ptr: number, size: number, options: object): { ok(): boolean; errorMessage(): string; value(): Runner };
  };
}

let modulePromise: Promise<TfliteModule> | null = null;

function loadModule(): Promise<TfliteModule> {
  if (!modulePromise) {
    const require = createRequire(import.meta.url);
    const dir = join(dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm');
    const factory = require(join(dir, 'tflite_web_api_cc_simd.js')) as (m: object) => Promise<TfliteModule>;
    modulePromise = factory({
      wasmBinary: readFileSync(join(dir, 'tflite_web_api_cc_simd.wasm')),
      print: () => undefined,
      printErr: (s: string) => {
        if (process.env.TFLITE_DEBUG) console.error(s);
      },
    });
  }
  return modulePromise;
}

export interface TfliteInterpreter {
  input: { shape: number[]; dataType: string };
  output: { shape: number[]; dataType: string };
  /** One inference: `input` in the input tensor's own type; returns a copy of the output. */
  run(input: ArrayLike<number>): Int8Array | Float32Array;
  close(): void;
}

/** Loads a .tflite flatbuffer into the interpreter; throws with TFLite's message if it refuses it. */
export async function loadTflite(bytes: Uint8Array): Promise<TfliteInterpreter> {
  const m = await loadModule();
  const ptr = m._malloc(bytes.length);
  m.HEAPU8.set(bytes, ptr);
  const status = m.TFLiteWebModelRunner.CreateFromBufferAndOptions(ptr, bytes.length, {
    numThreads: 1,
    enableProfiling: false,
    maxProfilingBufferEntries: 1024,
  });
  if (!status.ok()) {
    m._free(ptr);
    throw new Error(`TFLite refused the model: ${status.errorMessage()}`);
  }
  const runner = status.value();
  // Embind vectors and tensor infos are C++ objects: read what is needed, then delete them.
  const first = <T>(v: EmVector<TensorInfo>, read: (t: TensorInfo) => T): T => {
    try {
      if (v.size() !== 1) throw new Error(`Expected one tensor, the model has ${v.size()}.`);
      const t = v.get(0);
      try {
        return read(t);
      } finally {
        t.delete?.();
      }
    } finally {
      v.delete?.();
    }
  };
  const describe = (t: TensorInfo) => ({ shape: t.shape.split(',').map(Number), dataType: t.dataType });
  const inp = first(runner.GetInputs(), describe);
  const out = first(runner.GetOutputs(), describe);
  return {
    input: { shape: inp.shape, dataType: inp.dataType },
    output: { shape: out.shape, dataType: out.dataType },
    run(input) {
      first(runner.GetInputs(), (t) => {
        const buf = t.data();
        if (buf.length !== input.length) throw new Error(`Input holds ${input.length} values, the model wants ${buf.length}.`);
        buf.set(input);
      });
      if (!runner.Infer()) throw new Error('TFLite inference failed.');
      return first(runner.GetOutputs(), (t) => {
        const o = t.data();
        return o instanceof Float32Array ? Float32Array.from(o) : Int8Array.from(o as Int8Array);
      });
    },
    close() {
      runner.delete();
      m._free(ptr);
    },
  };
}
