// What a person sets on the Train stage, with defaults that reach 97.5%+ on the Digits demo in
// about a minute on a 2-core machine (bench/digits-default.bench.mjs), and the checks that refuse
// a run up front with a reason.
import type { PreprocessConfig, SettingsArchitecture, OptimizerKind, TrainSettings } from '../../contracts/training';
import type { BackendChoice } from '../../contracts/backend';
export type { SettingsArchitecture, OptimizerKind, BackendChoice, TrainSettings };
import { MAX_CPU_THREADS } from '../ml/data-parallel/threads';

export const DEFAULT_SETTINGS: TrainSettings = {
  architecture: 'cnn',
  inputSize: 28,
  channels: 1,
  resize: 'pad',
  widthMultiplier: 0.5,
  hidden: [128],
  optimizer: 'adam',
  learningRate: 0.002,
  batchSize: 64,
  // A maximum: the run goes on while validation improves, stops after `earlyStoppingPatience`
  // epochs without improvement (halving the learning rate after 2), and keeps the best epoch.
  epochs: 20,
  dropout: 0.25,
  momentum: 0.9,
  // Light: up to ±4.5° rotation, crops keeping 90%+ of the area, ±9% brightness; no flips.
  augmentation: 0.3,
  excludeAutoLabels: false,
  earlyStoppingPatience: 4,
  seed: 42,
  backend: 'auto',
  backboneId: null,
};

/** With early stopping: halve the learning rate after 2 epochs without improvement, down to 1/16 of it. */
export const PLATEAU = (learningRate: number) => ({ patience: 2, factor: 0.5, minLearningRate: learningRate / 16 });

/** Limits that keep a run inside what a browser tab can hold. */
export const LIMITS = { maxBatch: 512, maxInput: 224, minInput: 8, maxEpochs: 500 };

export function validateSettings(s: TrainSettings): string | null {
  if (!Number.isFinite(s.learningRate) || s.learningRate <= 0) return 'The learning rate must be a positive number.';
  if (!Number.isInteger(s.batchSize) || s.batchSize < 1) return 'The batch size must be a whole number of at least 1.';
  if (s.batchSize > LIMITS.maxBatch) return `A batch of ${s.batchSize} is too big for a browser tab; try ${LIMITS.maxBatch} or less.`;
  if (!Number.isInteger(s.epochs) || s.epochs < 1 || s.epochs > LIMITS.maxEpochs)
    return `Epochs must be between 1 and ${LIMITS.maxEpochs}.`;
  if (s.inputSize < LIMITS.minInput || s.inputSize > LIMITS.maxInput)
    return `Input size must be between ${LIMITS.minInput} and ${LIMITS.maxInput} pixels.`;
  if (s.architecture === 'mobilenet' && s.inputSize < 32) return 'The MobileNet-style network needs inputs of at least 32 pixels.';
  if (s.dropout < 0 || s.dropout >= 1) return 'Dropout must be at least 0 and below 1.';
  if (!(s.momentum >= 0 && s.momentum < 1)) return 'Momentum must be at least 0 and below 1.';
  if (!(s.augmentation >= 0 && s.augmentation <= 1)) return 'Augmentation strength must be from 0 to 1.';
  if (s.widthMultiplier <= 0 || s.widthMultiplier > 1) return 'The width multiplier must be above 0 and at most 1.';
  if (s.cpuThreads !== undefined && !(Number.isInteger(s.cpuThreads) && s.cpuThreads >= 0 && s.cpuThreads <= MAX_CPU_THREADS))
    return `CPU threads must be a whole number from 1 to ${MAX_CPU_THREADS}, or 0 for automatic.`;
  const pixels = s.batchSize * s.inputSize * s.inputSize * s.channels;
  if (pixels > 64 * 224 * 224 * 3) return 'This batch size and input size together are too large for a browser tab; lower one of them.';
  return null;
}

/** Settings stored by older versions lack newer fields: fill them from the defaults. */
export function withDefaults(s: Partial<TrainSettings>): TrainSettings {
  return { ...DEFAULT_SETTINGS, ...s };
}

export function preprocessOf(s: TrainSettings): PreprocessConfig {
  return { inputSize: s.inputSize, channels: s.channels, resize: s.resize, background: [0, 0, 0] };
}
