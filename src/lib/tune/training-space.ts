// What a study can search over: the training settings, as search-space parameters. A trial's
// parameters override the study's base settings; everything not searched stays as the person set it.
import type { OptimizerKind, SettingsArchitecture, TrainSettings } from '../../contracts/training';
import type { Params, ParamSpec, SearchSpace } from './space';

/** Parameter names a study may use, with what they set. */
export const TUNABLE = {
  learningRate: 'Learning rate',
  batchSize: 'Batch size',
  epochs: 'Epochs',
  optimizer: 'Optimizer',
  momentum: 'Momentum (SGD)',
  dropout: 'Dropout',
  widthMultiplier: 'Width multiplier (MobileNet)',
  inputSize: 'Input size',
  augmentation: 'Augmentation strength',
  architecture: 'Architecture',
  hiddenUnits: 'Hidden units (MLP)',
} as const;
export type TunableName = keyof typeof TUNABLE;

/** A sensible default study for small image sets like the Digits demo. */
export const DEFAULT_SPACE: SearchSpace = [
  { name: 'learningRate', type: 'float', low: 1e-4, high: 3e-2, log: true },
  { name: 'batchSize', type: 'choice', values: [32, 64, 128] },
  { name: 'optimizer', type: 'choice', values: ['adam', 'sgd', 'rmsprop'] },
  { name: 'momentum', type: 'float', low: 0.5, high: 0.99, condition: { param: 'optimizer', in: ['sgd'] } },
  { name: 'dropout', type: 'float', low: 0, high: 0.5 },
];

const ARCHITECTURES: SettingsArchitecture[] = ['cnn', 'mobilenet', 'mlp'];
const OPTIMIZERS: OptimizerKind[] = ['adam', 'sgd', 'rmsprop'];

/** Refuses names the trainer does not know and values it cannot take. */
export function spaceProblem(space: SearchSpace): string | null {
  for (const p of space) {
    if (!(p.name in TUNABLE)) return `"${p.name}" is not a training setting that can be tuned.`;
    if (p.type === 'choice') {
      if (p.name === 'architecture' && p.values.some((v) => !ARCHITECTURES.includes(v as SettingsArchitecture)))
        return 'Architecture choices are cnn, mobilenet and mlp.';
      if (p.name === 'optimizer' && p.values.some((v) => !OPTIMIZERS.includes(v as OptimizerKind)))
        return 'Optimizer choices are adam, sgd and rmsprop.';
      if (p.name !== 'architecture' && p.name !== 'optimizer' && p.values.some((v) => typeof v !== 'number'))
        return `${TUNABLE[p.name as TunableName]} choices must be numbers.`;
    } else if (p.name === 'architecture' || p.name === 'optimizer') {
      return `${TUNABLE[p.name as TunableName]} is a choice, not a range.`;
    }
  }
  return null;
}

/** The settings one trial trains with: base settings, its parameters, and its own seed. */
export function applyParams(base: TrainSettings, params: Params, seed: number): TrainSettings {
  const s: TrainSettings = { ...base, seed, hidden: [...base.hidden] };
  for (const [name, value] of Object.entries(params)) {
    switch (name as TunableName) {
      case 'learningRate':
        s.learningRate = Number(value);
        break;
      case 'batchSize':
        s.batchSize = Math.round(Number(value));
        break;
      case 'epochs':
        s.epochs = Math.round(Number(value));
        break;
      case 'optimizer':
        s.optimizer = value as OptimizerKind;
        break;
      case 'momentum':
        s.momentum = Number(value);
        break;
      case 'dropout':
        s.dropout = Number(value);
        break;
      case 'widthMultiplier':
        s.widthMultiplier = Number(value);
        break;
      case 'inputSize':
        s.inputSize = Math.round(Number(value));
        break;
      case 'augmentation':
        s.augmentation = Number(value);
        break;
      case 'architecture':
        s.architecture = value as SettingsArchitecture;
        break;
      case 'hiddenUnits':
        s.hidden = [Math.round(Number(value))];
        break;
    }
  }
  // Pruning decides when to stop a trial; early stopping inside a trial would blur the comparison.
  s.earlyStoppingPatience = 0;
  return s;
}

/** Short text for a parameter value: 3 significant digits for floats. */
export function formatParam(spec: ParamSpec | undefined, value: unknown): string {
  if (typeof value === 'number' && spec?.type === 'float') return Number(value.toPrecision(3)).toString();
  return String(value);
}
