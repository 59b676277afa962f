// Training settings as people read them (the Models stage's version comparison): names instead of
// keys, numbers rounded to what matters, words without JSON quotes.

const SETTING_NAMES: Record<string, string> = {
  architecture: 'Architecture',
  inputSize: 'Input size (px)',
  channels: 'Colour',
  resize: 'Resize',
  widthMultiplier: 'Width multiplier',
  hidden: 'Hidden units',
  optimizer: 'Optimizer',
  learningRate: 'Learning rate',
  batchSize: 'Batch size',
  epochs: 'Epochs',
  dropout: 'Dropout',
  momentum: 'Momentum',
  augmentation: 'Augmentation strength',
  excludeAutoLabels: 'Leave auto-accepted labels out',
  earlyStoppingPatience: 'Early stopping patience',
  seed: 'Seed',
  backend: 'Backend',
  backboneId: 'Backbone',
};

const WORDS: Record<string, Record<string, string>> = {
  architecture: { cnn: 'Small CNN', mobilenet: 'MobileNet-style', mlp: 'Small MLP' },
  optimizer: { adam: 'Adam', sgd: 'SGD with momentum', rmsprop: 'RMSprop' },
  resize: { pad: 'Pad (keep aspect)', 'center-crop': 'Center crop', stretch: 'Stretch' },
  backend: { auto: 'Automatic', webgpu: 'WebGPU', webgl: 'WebGL', wasm: 'WebAssembly', cpu: 'CPU (JavaScript)' },
};

export function settingName(key: string): string {
  return SETTING_NAMES[key] ?? key;
}

/** A number with at most 3 significant digits (integers whole): 0.41978933953214437 -> "0.42". */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString('en-US');
  const abs = Math.abs(n);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e6)) return n.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(n.toPrecision(3)));
}

/** One setting's value for a table cell; "–" when the version does not have it. */
export function formatSetting(key: string, value: unknown): string {
  if (value === undefined || value === null || value === '') return '–';
  if (key === 'channels' && (value === 1 || value === 3)) return value === 1 ? 'Grayscale' : 'RGB';
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return WORDS[key]?.[value] ?? value;
  if (Array.isArray(value)) return value.map((v) => formatSetting(key, v)).join(', ');
  return JSON.stringify(value);
}
