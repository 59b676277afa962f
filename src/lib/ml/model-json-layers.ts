// The layer side of model.json validation: an allowlist of Keras layer classes TF.js 4.22 can
// build, and a bounded walk of the topology that rejects unknown classes and absurd sizes.

/** Registered in @tensorflow/tfjs-layers 4.22 (checked against its serialization registry). */
export const ALLOWED_LAYERS: ReadonlySet<string> = new Set([
  'Sequential',
  'Functional',
  'Model',
  'InputLayer',
  'Dense',
  'Flatten',
  'Reshape',
  'Permute',
  'RepeatVector',
  'Activation',
  'Dropout',
  'SpatialDropout1D',
  'GaussianNoise',
  'GaussianDropout',
  'AlphaDropout',
  'Masking',
  'Embedding',
  'Conv1D',
  'Conv2D',
  'Conv2DTranspose',
  'Conv3D',
  'DepthwiseConv2D',
  'SeparableConv2D',
  'Cropping2D',
  'UpSampling2D',
  'ZeroPadding2D',
  'MaxPooling1D',
  'MaxPooling2D',
  'MaxPooling3D',
  'AveragePooling1D',
  'AveragePooling2D',
  'AveragePooling3D',
  'GlobalAveragePooling1D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling1D',
  'GlobalMaxPooling2D',
  'BatchNormalization',
  'LayerNormalization',
  'ReLU',
  'LeakyReLU',
  'PReLU',
  'ELU',
  'ThresholdedReLU',
  'Softmax',
  'Add',
  'Average',
  'Concatenate',
  'Maximum',
  'Minimum',
  'Multiply',
  'Dot',
  'Rescaling',
  'CenterCrop',
  'Resizing',
]);
const CONTAINERS = new Set(['Sequential', 'Functional', 'Model']);

/** Sizes above these are not a real image classifier; they are an attempt to exhaust memory. */
const MAX_UNITS = 1e6;
const MAX_KERNEL = 1024;
const MAX_INPUT_DIM = 1e5;
const MAX_INPUT_VALUES = 1e8;
const MAX_DEPTH = 32;
const MAX_LAYERS = 10_000;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const UNIT_FIELDS = ['units', 'filters', 'depth_multiplier', 'output_dim', 'input_dim', 'n'];
const KERNEL_FIELDS = ['kernel_size', 'pool_size', 'strides', 'size', 'dilation_rate'];

function checkLayerConfig(cls: string, name: string, cfg: Record<string, unknown>): string | null {
  for (const f of UNIT_FIELDS) {
    const v = cfg[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      return `Layer '${name}' (${cls}) has an invalid ${f}: ${JSON.stringify(v)}.`;
    if (v > MAX_UNITS) return `Layer '${name}' (${cls}) declares ${f} = ${v}: absurd size (limit ${MAX_UNITS}).`;
  }
  for (const f of KERNEL_FIELDS) {
    const v = cfg[f];
    const parts = typeof v === 'number' ? [v] : Array.isArray(v) ? v : [];
    if (parts.some((p) => typeof p === 'number' && p > MAX_KERNEL))
      return `Layer '${name}' (${cls}) declares ${f} = ${JSON.stringify(v)}: absurd size.`;
  }
  for (const f of ['batch_input_shape', 'batch_shape', 'input_shape', 'target_shape']) {
    const v = cfg[f];
    if (v === undefined || v === null) continue;
    if (!Array.isArray(v)) return `Layer '${name}' (${cls}) has an invalid ${f}.`;
    let values = 1;
    for (const d of v) {
      if (d === null) continue;
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < -1)
        return `Layer '${name}' (${cls}) has an invalid ${f}: ${JSON.stringify(v)}.`;
      if (d > MAX_INPUT_DIM) return `Layer '${name}' (${cls}) declares ${f} ${JSON.stringify(v)}: absurd size.`;
      values *= Math.max(1, d);
    }
    if (values > MAX_INPUT_VALUES) return `Layer '${name}' (${cls}) declares ${f} ${JSON.stringify(v)}: absurd size.`;
  }
  return null;
}

/**
 * Walks a layers-model topology (plain `{class_name, config}` or Keras' `{model_config: ...}`),
 * including nested models. Depth and layer count are bounded so hostile input returns quickly.
 */
export function checkTopology(topology: unknown): string | null {
  let count = 0;
  const visit = (node: unknown, depth: number): string | null => {
    if (depth > MAX_DEPTH) return `model.json nests models more than ${MAX_DEPTH} deep.`;
    if (!isObj(node)) return 'model.json has a layer that is not an object.';
    if (isObj(node.model_config)) return visit(node.model_config, depth + 1);
    const cls = node.class_name;
    if (typeof cls !== 'string') return 'model.json has a layer without a class_name.';
    if (!ALLOWED_LAYERS.has(cls))
      return `Unsupported layer type '${cls.slice(0, 80)}': this app can only load standard Keras layers that TensorFlow.js supports.`;
    if (++count > MAX_LAYERS) return `model.json has more than ${MAX_LAYERS} layers.`;
    const cfg = node.config;
    if (CONTAINERS.has(cls)) {
      // Old Keras saves a Sequential's config as the bare layer array.
      const layers = Array.isArray(cfg) ? cfg : isObj(cfg) ? cfg.layers : undefined;
      if (!Array.isArray(layers)) return `Model '${String(isObj(cfg) ? cfg.name : cls)}' has no layer list.`;
      if (layers.length === 0) return 'model.json has a model with no layers.';
      for (const layer of layers) {
        const problem = visit(layer, depth + 1);
        if (problem) return problem;
      }
      return null;
    }
    if (cfg !== undefined && !isObj(cfg)) return `Layer of type ${cls} has an invalid config.`;
    const name = isObj(cfg) && typeof cfg.name === 'string' ? cfg.name.slice(0, 80) : cls;
    return isObj(cfg) ? checkLayerConfig(cls, name, cfg) : null;
  };
  return visit(topology, 0);
}
