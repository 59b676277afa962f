// Model weights and optimizer state as plain ArrayBuffers (specs + one buffer) for IndexedDB, with
// the checks that keep a mismatched, truncated or non-finite checkpoint from ever being used.
import * as tf from '@tensorflow/tfjs';
import type { WeightSpec, WeightsBlob } from '../../contracts/training';
export type { WeightSpec, WeightsBlob };

// tf.NamedTensor is not re-exported by @tensorflow/tfjs 4.22; this is its shape.
type NamedTensor = { name: string; tensor: tf.Tensor };

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** Reads every tensor with async data() (no sync GPU read) and packs them, 4 bytes per value. */
async function pack(named: NamedTensor[]): Promise<WeightsBlob> {
  const specs: WeightSpec[] = named.map(({ name, tensor }) => {
    if (tensor.dtype !== 'float32' && tensor.dtype !== 'int32') throw new Error(`Cannot checkpoint '${name}': dtype ${tensor.dtype}`);
    return { name, shape: tensor.shape.slice(), dtype: tensor.dtype };
  });
  const values = await Promise.all(named.map(({ tensor }) => tensor.data()));
  const bytes = new Uint8Array(values.reduce((s, v) => s + v.byteLength, 0));
  let offset = 0;
  for (const v of values) {
    bytes.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), offset);
    offset += v.byteLength;
  }
  return { specs, data: bytes.buffer };
}

/** Validates byte counts and finiteness, then builds tensors; the caller disposes them. */
function unpack(blob: WeightsBlob, what: string): tf.Tensor[] {
  const expected = blob.specs.reduce((s, w) => s + size(w.shape) * 4, 0);
  if (blob.data.byteLength !== expected) {
    throw new Error(
      `${what} data is ${blob.data.byteLength} bytes but its specs need ${expected}: the checkpoint is truncated or corrupt.`,
    );
  }
  if (!allFinite(blob)) throw new Error(`${what} contains NaN or infinite values and cannot be used.`);
  let offset = 0;
  return blob.specs.map((w) => {
    const n = size(w.shape);
    const view = w.dtype === 'int32' ? new Int32Array(blob.data, offset, n) : new Float32Array(blob.data, offset, n);
    offset += n * 4;
    return tf.tensor(view.slice(), w.shape, w.dtype);
  });
}

/** All weights, trainable and not (batch-norm statistics included), in model.weights order. */
export async function captureWeights(model: tf.LayersModel): Promise<WeightsBlob> {
  // getWeights() hands back the live variables: read them, never dispose them.
  const tensors = model.getWeights();
  return pack(model.weights.map((w, i) => ({ name: w.originalName, tensor: tensors[i] })));
}

/** Throws a clear error, without touching the model, when the checkpoint does not fit it. */
export function restoreWeights(model: tf.LayersModel, blob: WeightsBlob): void {
  const weights = model.weights;
  if (blob.specs.length !== weights.length) {
    throw new Error(
      `Checkpoint has ${blob.specs.length} weight arrays; this model has ${weights.length}. It belongs to a different architecture.`,
    );
  }
  // Names carry TF.js's per-session layer counters (dense_Dense3), so only shapes and dtypes are compared.
  weights.forEach((w, i) => {
    const spec = blob.specs[i];
    if (!sameShape(spec.shape, w.shape as number[]) || spec.dtype !== w.dtype) {
      throw new Error(
        `Checkpoint weight ${i} ('${spec.name}') is ${spec.dtype}[${spec.shape}], the model expects ${w.dtype}[${w.shape}] ('${w.originalName}').`,
      );
    }
  });
  const tensors = unpack(blob, 'Checkpoint');
  try {
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}

/** False if any float32 value is NaN or ±Infinity: such a checkpoint must never be stored. */
export function allFinite(blob: WeightsBlob): boolean {
  let offset = 0;
  for (const w of blob.specs) {
    const n = size(w.shape);
    if (w.dtype === 'float32') {
      if (offset + n * 4 > blob.data.byteLength) return false;
      const v = new Float32Array(blob.data, offset, n);
      for (let i = 0; i < n; i++) if (!Number.isFinite(v[i])) return false;
    }
    offset += n * 4;
  }
  return true;
}

/** Tensors from getWeights() that are not variables (the iteration count) are fresh copies we own. */
function disposeCopies(named: NamedTensor[]): void {
  for (const { tensor } of named) if (!(tensor instanceof tf.Variable)) tensor.dispose();
}

/** Optimizer slots (e.g. Adam moments) plus its iteration count; null if it keeps no state. */
export async function captureOptimizer(opt: tf.Optimizer): Promise<WeightsBlob | null> {
  let named: NamedTensor[];
  try {
    named = await opt.getWeights();
  } catch {
    return null; // the base class throws "not implemented" for optimizers without state export
  }
  try {
    return named.length === 0 ? null : await pack(named);
  } finally {
    disposeCopies(named);
  }
}

/**
 * Restores into an optimizer built with the same class and the same model. TF.js replaces its
 * slot variables without disposing the old ones, so those are disposed here.
 */
export async function restoreOptimizer(opt: tf.Optimizer, blob: WeightsBlob): Promise<void> {
  const tensors = unpack(blob, 'Optimizer state');
  const before = await opt.getWeights();
  try {
    await opt.setWeights(blob.specs.map((s, i) => ({ name: s.name, tensor: tensors[i] })));
    const after = await opt.getWeights();
    const live = new Set(after.map((w) => w.tensor.id));
    disposeCopies(after);
    for (const { tensor } of before) if (tensor instanceof tf.Variable && !live.has(tensor.id)) tensor.dispose();
  } finally {
    disposeCopies(before);
    tf.dispose(tensors);
  }
}
