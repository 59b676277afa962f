// The Tune stage's study form as plain data, and its parsing: the search-space editor's rows
// (numbers as typed) into a SearchSpace, and the whole form into a StudyPlan, or the first reason
// it cannot be one. Pure: the Tune stage's state class (src/state/tune-manager) holds the form.
import type { TrainSettings } from '../train/train-config';
import { validateSpace, type ParamSpec, type ParamValue, type SearchSpace } from './space';
import { type Strategy, validatePlan, type StudyPlan } from './study';
import type { PrunerConfig } from './pruners';
import { DEFAULT_SPACE, spaceProblem, TUNABLE, type TunableName } from './training-space';

export type StrategyKind = Strategy;
export type ObjectiveMetric = 'valAcc' | 'valLoss';
export type PrunerKind = 'none' | 'median' | 'asha';
export type ValueKind = 'float' | 'int' | 'choice';

/** One line of the search-space editor. Numbers stay as typed (null when a field is empty). */
export interface ParamRow {
  name: TunableName;
  include: boolean;
  kind: ValueKind;
  low: number | null;
  high: number | null;
  log: boolean;
  /** Comma-separated values when kind is 'choice'. */
  choices: string;
}

interface RowInfo {
  /** The range type of a numeric setting; categorical settings are choices only. */
  range: 'float' | 'int' | null;
  /** Only active when another setting has this value. */
  condition?: { param: TunableName; value: string };
}

export const ROW_INFO: Record<TunableName, RowInfo> = {
  architecture: { range: null },
  learningRate: { range: 'float' },
  batchSize: { range: 'int' },
  epochs: { range: 'int' },
  optimizer: { range: null },
  momentum: { range: 'float', condition: { param: 'optimizer', value: 'sgd' } },
  dropout: { range: 'float' },
  widthMultiplier: { range: 'float', condition: { param: 'architecture', value: 'mobilenet' } },
  inputSize: { range: 'int' },
  augmentation: { range: 'float' },
  hiddenUnits: { range: 'int', condition: { param: 'architecture', value: 'mlp' } },
};

/** Editor order: a parent (architecture, optimizer) comes before the settings that depend on it. */
export const ROW_ORDER: TunableName[] = [
  'architecture',
  'learningRate',
  'batchSize',
  'epochs',
  'optimizer',
  'momentum',
  'dropout',
  'widthMultiplier',
  'inputSize',
  'augmentation',
  'hiddenUnits',
];

/** Where a setting starts when it is not in DEFAULT_SPACE. */
const FALLBACK: Record<TunableName, Omit<ParamRow, 'name' | 'include'>> = {
  architecture: { kind: 'choice', low: null, high: null, log: false, choices: 'cnn, mlp' },
  learningRate: { kind: 'float', low: 1e-4, high: 3e-2, log: true, choices: '0.001, 0.003, 0.01' },
  batchSize: { kind: 'choice', low: 16, high: 128, log: true, choices: '32, 64, 128' },
  epochs: { kind: 'int', low: 2, high: 10, log: false, choices: '3, 6, 10' },
  optimizer: { kind: 'choice', low: null, high: null, log: false, choices: 'adam, sgd, rmsprop' },
  momentum: { kind: 'float', low: 0.5, high: 0.99, log: false, choices: '0.8, 0.9, 0.95' },
  dropout: { kind: 'float', low: 0, high: 0.5, log: false, choices: '0, 0.25, 0.5' },
  widthMultiplier: { kind: 'float', low: 0.25, high: 1, log: false, choices: '0.25, 0.5, 1' },
  inputSize: { kind: 'choice', low: 16, high: 48, log: false, choices: '16, 28, 32' },
  augmentation: { kind: 'float', low: 0, high: 1, log: false, choices: '0, 0.5, 1' },
  hiddenUnits: { kind: 'choice', low: 32, high: 256, log: true, choices: '64, 128, 256' },
};

const listText = (values: ParamValue[]) => values.map(String).join(', ');

export function defaultRows(): ParamRow[] {
  return ROW_ORDER.map((name) => {
    const spec = DEFAULT_SPACE.find((p) => p.name === name);
    const row: ParamRow = { name, include: !!spec, ...FALLBACK[name] };
    if (spec?.type === 'choice') return { ...row, kind: 'choice', choices: listText(spec.values) };
    if (spec) return { ...row, kind: spec.type, low: spec.low, high: spec.high, log: !!spec.log };
    return row;
  });
}

function parseChoices(row: ParamRow): ParamValue[] | string {
  const parts = row.choices
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) return `${TUNABLE[row.name]}: list at least one value.`;
  if (ROW_INFO[row.name].range === null) return parts;
  const values: number[] = [];
  for (const p of parts) {
    const v = Number(p);
    if (!Number.isFinite(v)) return `${TUNABLE[row.name]}: “${p}” is not a number.`;
    if (ROW_INFO[row.name].range === 'int' && !Number.isInteger(v)) return `${TUNABLE[row.name]}: “${p}” is not a whole number.`;
    values.push(v);
  }
  return values;
}

/**
 * The search space the editor describes, or a reason it cannot be one. A conditional setting whose
 * parent is not searched is plain when the base settings already give the parent that value.
 */
export function buildSpace(rows: ParamRow[], base: TrainSettings): SearchSpace | string {
  const space: SearchSpace = [];
  const included = new Map(rows.filter((r) => r.include).map((r) => [r.name, r]));
  for (const row of rows) {
    if (!row.include) continue;
    const label = TUNABLE[row.name];
    let spec: ParamSpec;
    if (row.kind === 'choice') {
      const values = parseChoices(row);
      if (typeof values === 'string') return values;
      spec = { name: row.name, type: 'choice', values };
    } else {
      if (row.low === null || row.high === null || !Number.isFinite(row.low) || !Number.isFinite(row.high))
        return `${label}: enter both low and high.`;
      spec =
        row.kind === 'int'
          ? { name: row.name, type: 'int', low: row.low, high: row.high, log: row.log }
          : { name: row.name, type: 'float', low: row.low, high: row.high, log: row.log };
    }
    const cond = ROW_INFO[row.name].condition;
    if (cond) {
      const parent = included.get(cond.param);
      const parentLabel = TUNABLE[cond.param];
      if (parent) {
        const parentValues = parseChoices(parent);
        if (typeof parentValues !== 'string' && !parentValues.includes(cond.value)) {
          return `${label} only matters when ${parentLabel} is ${cond.value}: add ${cond.value} to the ${parentLabel} choices or leave ${label} out.`;
        }
        spec = { ...spec, condition: { param: cond.param, in: [cond.value] } };
      } else if (String(base[cond.param as keyof TrainSettings]) !== cond.value) {
        return `${label} only matters when ${parentLabel} is ${cond.value}, and the Train stage uses ${String(base[cond.param as keyof TrainSettings])}: search ${parentLabel} too, or leave ${label} out.`;
      }
    }
    space.push(spec);
  }
  if (space.length === 0) return 'Include at least one setting to search.';
  return validateSpace(space) ?? spaceProblem(space) ?? space;
}

export interface StudyForm {
  name: string;
  rows: ParamRow[];
  strategy: StrategyKind;
  objective: ObjectiveMetric;
  maxTrials: number | null;
  /** Optional wall-time budget; null or empty for none. */
  maxMinutes: number | null;
  /** Points per float range on a grid. */
  gridSteps: number | null;
  pruner: PrunerKind;
  warmupEpochs: number | null;
  minTrials: number | null;
  minEpochs: number | null;
  reductionFactor: number | null;
  seed: number | null;
}

export function defaultForm(): StudyForm {
  return {
    name: 'Study 1',
    rows: defaultRows(),
    strategy: 'random',
    objective: 'valAcc',
    maxTrials: 10,
    maxMinutes: null,
    gridSteps: 3,
    pruner: 'median',
    warmupEpochs: 1,
    minTrials: 3,
    minEpochs: 1,
    reductionFactor: 3,
    seed: 1,
  };
}

const isWhole = (v: number | null, min: number): v is number => v !== null && Number.isInteger(v) && v >= min;

export function buildPlan(form: StudyForm, space: SearchSpace): StudyPlan | string {
  if (!isWhole(form.maxTrials, 1)) return 'The number of trials must be a whole number of at least 1.';
  if (form.maxMinutes !== null && !(Number.isFinite(form.maxMinutes) && form.maxMinutes > 0))
    return 'The time budget must be a positive number of minutes (or empty for none).';
  if (form.seed === null || !Number.isInteger(form.seed)) return 'The seed must be a whole number.';
  if (form.strategy === 'grid' && !isWhole(form.gridSteps, 1)) return 'Grid points per range must be a whole number of at least 1.';
  let pruner: PrunerConfig;
  if (form.pruner === 'median') {
    if (!isWhole(form.warmupEpochs, 0)) return 'Warm-up epochs must be a whole number of 0 or more.';
    if (!isWhole(form.minTrials, 1)) return 'Minimum trials must be a whole number of at least 1.';
    pruner = { kind: 'median', warmupEpochs: form.warmupEpochs, minTrials: form.minTrials };
  } else if (form.pruner === 'asha') {
    if (!isWhole(form.minEpochs, 1)) return 'ASHA minimum epochs must be a whole number of at least 1.';
    if (!isWhole(form.reductionFactor, 2)) return 'The reduction factor must be a whole number of at least 2.';
    pruner = { kind: 'asha', minEpochs: form.minEpochs, reductionFactor: form.reductionFactor };
  } else {
    pruner = { kind: 'none' };
  }
  const plan: StudyPlan = {
    space,
    strategy: form.strategy,
    objective: { metric: form.objective },
    maxTrials: form.maxTrials,
    maxMinutes: form.maxMinutes,
    seed: form.seed,
    pruner,
    ...(form.strategy === 'grid' ? { gridFloatSteps: form.gridSteps! } : {}),
  };
  return validatePlan(plan) ?? plan;
}
