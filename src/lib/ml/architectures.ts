// Model builders (small CNN, MobileNet-style, MLP, transfer head): config types, validation,
// one-line descriptions and seeded construction. Every initializer gets its own derived seed.
import * as tf from '@tensorflow/tfjs';
import { seedStream } from './random';
import type { ArchitectureConfig, ArchitectureKind } from '../../contracts/training';
export type { ArchitectureConfig, ArchitectureKind };

// MobileNet v1's depthwise-separable stack: [output filters at alpha 1, stride].
const MOBILENET_BLOCKS: Array<[number, 1 | 2]> = [
  [64, 1],
  [128, 2],
  [128, 1],
  [256, 2],
  [256, 1],
  [512, 2],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [512, 1],
  [1024, 2],
  [1024, 1],
];

const isInt = (n: number, lo: number, hi: number): boolean => Number.isInteger(n) && n >= lo && n <= hi;

/** Filters scaled by alpha, rounded to a multiple of 8 (kernel-friendly), never below 8. */
export function scaledFilters(base: number, alpha: number): number {
  return Math.max(8, Math.round((base * alpha) / 8) * 8);
}

/** CNN conv blocks: two for digit-sized input, up to five for larger images so Flatten stays small. */
function cnnBlocks(inputSize: number): number {
  let blocks = 2;
  let size = Math.ceil(inputSize / 4);
  while (size > 8 && blocks < 5) {
    size = Math.ceil(size / 2);
    blocks++;
  }
  return blocks;
}

/** MobileNet strides, with late stride-2 blocks turned to stride 1 so the map stays >= 2x2. */
function mobilenetStrides(inputSize: number): Array<1 | 2> {
  let size = Math.ceil(inputSize / 2); // after the stride-2 stem
  return MOBILENET_BLOCKS.map(([, s]) => {
    if (s === 2 && Math.ceil(size / 2) >= 2) {
      size = Math.ceil(size / 2);
      return 2;
    }
    return 1;
  });
}

export function validateArchitecture(c: ArchitectureConfig): string | null {
  if (!isInt(c.numClasses, 2, 10_000)) return `Number of classes must be a whole number from 2 to 10000 (got ${c.numClasses}).`;
  if (!(c.dropout >= 0 && c.dropout < 1)) return `Dropout must be at least 0 and below 1 (got ${c.dropout}).`;
  if (c.kind === 'head') {
    if (!isInt(c.embeddingSize, 1, 100_000)) return `Embedding size must be a whole number from 1 to 100000 (got ${c.embeddingSize}).`;
    if (!isInt(c.hidden, 0, 4096)) return `Hidden units must be a whole number from 0 to 4096 (got ${c.hidden}).`;
    return null;
  }
  if (c.channels !== 1 && c.channels !== 3) return `Channels must be 1 or 3 (got ${c.channels}).`;
  switch (c.kind) {
    case 'cnn':
      if (!isInt(c.inputSize, 8, 256)) return `CNN input size must be 8 to 256 pixels (got ${c.inputSize}).`;
      if (c.filters !== undefined && !isInt(c.filters, 1, 256)) return `CNN filters must be 1 to 256 (got ${c.filters}).`;
      return null;
    case 'mobilenet':
      if (!isInt(c.inputSize, 32, 224)) return `MobileNet input size must be 32 to 224 pixels (got ${c.inputSize}).`;
      if (!(c.widthMultiplier >= 0.25 && c.widthMultiplier <= 1))
        return `MobileNet width multiplier must be 0.25 to 1 (got ${c.widthMultiplier}).`;
      return null;
    case 'mlp':
      if (!isInt(c.inputSize, 1, 256)) return `MLP input size must be 1 to 256 pixels (got ${c.inputSize}).`;
      if (c.hidden.length > 8 || c.hidden.some((h) => !isInt(h, 1, 4096))) return 'MLP hidden layers: at most 8, each 1 to 4096 units.';
      return null;
  }
}

export function describeArchitecture(c: ArchitectureConfig): string {
  const drop = c.dropout > 0 ? `, dropout ${c.dropout}` : '';
  if (c.kind === 'head') {
    const body = c.hidden > 0 ? `dense ${c.hidden}` : 'linear';
    return `Transfer head on ${c.embeddingSize}-d features: ${body} → ${c.numClasses} classes${drop}`;
  }
  const input = `${c.inputSize}×${c.inputSize}×${c.channels}`;
  switch (c.kind) {
    case 'cnn': {
      const f = c.filters ?? 16;
      const blocks = cnnBlocks(c.inputSize);
      const fs = Array.from({ length: blocks }, (_, i) => f * 2 ** Math.min(i, 2)).join('/');
      return `Small CNN, ${input}: ${blocks} conv blocks (${fs} filters), dense 64 → ${c.numClasses} classes${drop}`;
    }
    case 'mobilenet':
      return `MobileNet-style, ${input}, width ×${c.widthMultiplier}: 13 depthwise-separable blocks → ${c.numClasses} classes${drop}`;
    case 'mlp':
      return `MLP, ${input}: ${c.hidden.length ? `dense ${c.hidden.join('/')}` : 'linear'} → ${c.numClasses} classes${drop}`;
  }
}

export function defaultArchitecture(kind: ArchitectureKind, numClasses: number, inputSize?: number, channels?: 1 | 3): ArchitectureConfig {
  switch (kind) {
    case 'cnn':
      return { kind, inputSize: inputSize ?? 28, channels: channels ?? 1, numClasses, dropout: 0.25, filters: 16 };
    case 'mobilenet':
      return { kind, inputSize: inputSize ?? 96, channels: channels ?? 3, numClasses, dropout: 0.2, widthMultiplier: 0.5 };
    case 'mlp':
      return { kind, inputSize: inputSize ?? 28, channels: channels ?? 1, numClasses, dropout: 0.2, hidden: [128] };
    case 'head': // inputSize is the embedding width here (1024 = MobileNet v1 at alpha 1)
      return { kind, embeddingSize: inputSize ?? 1024, numClasses, dropout: 0, hidden: 100 };
  }
}

/** The digits demo's model: 28×28 grayscale, 10 classes. */
export const DEFAULT_CNN = defaultArchitecture('cnn', 10);

export function buildModel(config: ArchitectureConfig, seed: number): tf.LayersModel {
  const problem = validateArchitecture(config);
  if (problem) throw new Error(problem);
  const next = seedStream(seed);
  const glorot = () => tf.initializers.glorotUniform({ seed: next() });
  const he = () => tf.initializers.heNormal({ seed: next() });
  const model = tf.sequential();
  // Dropout gets no seed here: TF.js reuses a layer's seed on every call, which would drop the
  // same units at every step. trainLoop sets a fresh seed per step from the run's seed instead.
  const dropout = () => {
    if (config.dropout > 0) model.add(tf.layers.dropout({ rate: config.dropout }));
  };
  const output = () => model.add(tf.layers.dense({ units: config.numClasses, activation: 'softmax', kernelInitializer: glorot() }));

  if (config.kind === 'head') {
    model.add(tf.layers.inputLayer({ inputShape: [config.embeddingSize] }));
    if (config.hidden > 0) model.add(tf.layers.dense({ units: config.hidden, activation: 'relu', kernelInitializer: he() }));
    dropout();
    output();
    return model;
  }
  model.add(tf.layers.inputLayer({ inputShape: [config.inputSize, config.inputSize, config.channels] }));
  if (config.kind === 'mlp') {
    model.add(tf.layers.flatten());
    for (const units of config.hidden) {
      model.add(tf.layers.dense({ units, activation: 'relu', kernelInitializer: he() }));
      dropout();
    }
    if (config.hidden.length === 0) dropout();
  } else if (config.kind === 'cnn') {
    const f = config.filters ?? 16;
    for (let i = 0; i < cnnBlocks(config.inputSize); i++) {
      const filters = f * 2 ** Math.min(i, 2);
      model.add(tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: he() }));
      model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, padding: 'same' }));
    }
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: he() }));
    dropout();
  } else {
    const alpha = config.widthMultiplier;
    const bnRelu = () => {
      model.add(tf.layers.batchNormalization({ momentum: 0.99, epsilon: 1e-3 }));
      model.add(tf.layers.activation({ activation: 'relu6' }));
    };
    model.add(
      tf.layers.conv2d({
        filters: scaledFilters(32, alpha),
        kernelSize: 3,
        strides: 2,
        padding: 'same',
        useBias: false,
        kernelInitializer: glorot(),
      }),
    );
    bnRelu();
    const strides = mobilenetStrides(config.inputSize);
    MOBILENET_BLOCKS.forEach(([base], i) => {
      model.add(
        tf.layers.depthwiseConv2d({ kernelSize: 3, strides: strides[i], padding: 'same', useBias: false, depthwiseInitializer: glorot() }),
      );
      bnRelu();
      model.add(
        tf.layers.conv2d({
          filters: scaledFilters(base, alpha),
          kernelSize: 1,
          padding: 'same',
          useBias: false,
          kernelInitializer: glorot(),
        }),
      );
      bnRelu();
    });
    model.add(tf.layers.globalAveragePooling2d({}));
    dropout();
  }
  output();
  return model;
}
