// A TF.js layers model as Teachable Machine's own runtime (@teachablemachine/image) expects it.
// That library feeds the model x / 127 - 1 (see its utils/tf.js capture()), while Trainyard's
// models read x / 255: a frozen 1x1 convolution in front undoes TM's scaling exactly,
// y * 127/255 + 127/255 = x / 255. Models that already read -1..1 (transfer on MobileNet-style
// backbones) get the matching map y * 127/127.5 + (127/127.5 - 1). Pure JSON and bytes, so it
// runs in a worker and in Node alike; Conv2D 1x1 loads in TF.js 1.x, which the library pins.

export const TM_RESCALE_LAYER = 'trainyard_tm_rescale';
/** The metadata.json tmVersion of Teachable Machine image projects this export matches. */
export const TM_VERSION = '2.4.10';

export interface LayersArtifacts {
  modelTopology: unknown;
  weightSpecs: Array<{ name: string; shape: number[]; dtype: string; quantization?: unknown }>;
  weightData: ArrayBuffer;
}

type LayerJson = { class_name: string; config: Record<string, unknown>; name?: string; inbound_nodes?: unknown };

/** Scale and offset that turn TM's input (x / 127 - 1) into this model's range. */
export function tmRescale(normalization: '0..1' | '-1..1'): { scale: number; offset: number } {
  return normalization === '-1..1' ? { scale: 127 / 127.5, offset: 127 / 127.5 - 1 } : { scale: 127 / 255, offset: 127 / 255 };
}

function rescaleLayer(channels: number, extra: Partial<LayerJson> = {}): LayerJson {
  return {
    class_name: 'Conv2D',
    config: {
      name: TM_RESCALE_LAYER,
      trainable: false,
      filters: channels,
      kernel_size: [1, 1],
      strides: [1, 1],
      padding: 'valid',
      data_format: 'channels_last',
      dilation_rate: [1, 1],
      activation: 'linear',
      use_bias: true,
      kernel_initializer: { class_name: 'Zeros', config: {} },
      bias_initializer: { class_name: 'Zeros', config: {} },
      kernel_regularizer: null,
      bias_regularizer: null,
      activity_regularizer: null,
      kernel_constraint: null,
      bias_constraint: null,
    },
    ...extra,
  };
}

/** The model with the rescaling layer in front; throws for shapes TM cannot feed. */
export function teachableArtifacts(src: LayersArtifacts, inputShape: number[], normalization: '0..1' | '-1..1'): LayersArtifacts {
  const [h, w, c] = inputShape;
  if (inputShape.length !== 3 || h !== w || (c !== 1 && c !== 3)) {
    throw new Error(
      `Teachable Machine's runtime feeds square 1- or 3-channel images; this model's input is ${JSON.stringify(inputShape)}.`,
    );
  }
  const topology = structuredClone(src.modelTopology) as { class_name: string; config: { layers: LayerJson[] } };
  const layers = topology.config.layers;
  const inputIndex = layers.findIndex((l) => l.class_name === 'InputLayer');
  if (topology.class_name === 'Sequential') {
    if (inputIndex === 0) layers.splice(1, 0, rescaleLayer(c));
    else {
      const first = layers[0].config;
      const batchShape = first.batch_input_shape;
      delete first.batch_input_shape;
      layers.unshift(rescaleLayer(c, { config: { ...rescaleLayer(c).config, batch_input_shape: batchShape } }));
    }
  } else {
    if (inputIndex < 0) throw new Error('The model has no input layer.');
    const inputName = String(layers[inputIndex].config.name ?? layers[inputIndex].name);
    const rewire = (v: unknown): unknown =>
      Array.isArray(v)
        ? typeof v[0] === 'string' && v[0] === inputName && v.length >= 3
          ? [TM_RESCALE_LAYER, ...v.slice(1)]
          : v.map(rewire)
        : v;
    for (const l of layers) if (l.inbound_nodes) l.inbound_nodes = rewire(l.inbound_nodes);
    layers.splice(inputIndex + 1, 0, rescaleLayer(c, { name: TM_RESCALE_LAYER, inbound_nodes: [[[inputName, 0, 0, {}]]] }));
  }
  const { scale, offset } = tmRescale(normalization);
  const kernel = new Float32Array(c * c);
  for (let i = 0; i < c; i++) kernel[i * c + i] = scale;
  const bias = new Float32Array(c).fill(offset);
  const head = new Uint8Array(kernel.byteLength + bias.byteLength);
  head.set(new Uint8Array(kernel.buffer), 0);
  head.set(new Uint8Array(bias.buffer), kernel.byteLength);
  const data = new Uint8Array(head.byteLength + src.weightData.byteLength);
  data.set(head, 0);
  data.set(new Uint8Array(src.weightData), head.byteLength);
  return {
    modelTopology: topology,
    weightSpecs: [
      { name: `${TM_RESCALE_LAYER}/kernel`, shape: [1, 1, c, c], dtype: 'float32' },
      { name: `${TM_RESCALE_LAYER}/bias`, shape: [c], dtype: 'float32' },
      ...src.weightSpecs,
    ],
    weightData: data.buffer,
  };
}
