// What a pipeline is: its steps with their settings and what starts it. Definitions arrive from
// files people import, so parsing treats every value as hostile: the text goes through
// lib/util/safe-json (size, depth, `__proto__`/`constructor`/`prototype` keys refused), a key this
// schema version does not know is refused with its JSON path (never silently dropped), then the
// definition is rebuilt from known keys, every number and string checked, and each problem
// explained in a sentence that names the step.
import { DEFAULT_SETTINGS, LIMITS, validateSettings, withDefaults, type TrainSettings } from '../train/train-config';
import { validatePlan, type StudyPlan } from '../tune/study';
import { DEFAULT_SPACE, spaceProblem } from '../tune/training-space';
import { defaultPruner } from '../tune/pruners';
import type { ParamSpec, ParamValue } from '../tune/space';
import { AUGMENTATION_LIMITS } from '../augment/spec';
import {
  JSON_LIMITS,
  UntrustedJsonError,
  checkUntrustedValue,
  findUnknownKey,
  parseUntrustedJson,
  unknownKeyMessage,
  type KeyShape,
} from '../util/safe-json';
import type {
  StepKind,
  TrainStepSettings,
  StepSettings,
  StepDefinition,
  TriggerDefinition,
  PipelineDefinition,
} from '../../contracts/pipeline';
import type { ResizeMode } from '../../contracts/training';
export type { ResizeMode };
export type { StepKind, TrainStepSettings, StepSettings, StepDefinition, TriggerDefinition, PipelineDefinition };

/** The only order steps may run in: each step consumes what the ones before it produced. */
export const STEP_ORDER: StepKind[] = ['validate', 'snapshot', 'split', 'preprocess', 'train', 'evaluate', 'gate', 'register', 'promote'];

/**
 * Steps every pipeline has. Validate, gate and promote may be left out (a pipeline that only
 * registers candidates for a person to promote), but promote needs a gate before it.
 */
export const REQUIRED_STEPS: StepKind[] = ['snapshot', 'split', 'preprocess', 'train', 'evaluate', 'register'];

export const PIPELINE_FORMAT = 'trainyard.pipeline';
export const PIPELINE_SCHEMA_VERSION = 1;
export const ALIAS_PATTERN = /^[a-z0-9][a-z0-9_-]{0,31}$/;
export const MAX_STEPS = 32;
export const MAX_NAME_LENGTH = 100;

export const DEFAULT_STEP_SETTINGS: { [K in StepKind]: StepSettings[K] } = {
  validate: { minPerClass: 5, minClasses: 2 },
  snapshot: { excludeAutoLabels: false },
  split: { train: 0.7, val: 0.15, test: 0.15, seed: 42 },
  preprocess: {
    inputSize: DEFAULT_SETTINGS.inputSize,
    channels: DEFAULT_SETTINGS.channels,
    resize: DEFAULT_SETTINGS.resize,
    augmentation: {},
  },
  train: { mode: 'train', settings: {} },
  evaluate: {},
  gate: { minImprovement: 0, maxClassDrop: 0.05 },
  register: {},
  promote: { alias: 'production' },
};

/** All nine steps with default settings; automatic triggers present but off. */
export function defaultPipeline(name: string, overrides: { [K in StepKind]?: StepSettings[K] } = {}): PipelineDefinition {
  const steps = STEP_ORDER.map(
    (kind) => ({ id: kind, kind, settings: structuredClone(overrides[kind] ?? DEFAULT_STEP_SETTINGS[kind]) }) as StepDefinition,
  );
  return {
    format: PIPELINE_FORMAT,
    schemaVersion: PIPELINE_SCHEMA_VERSION,
    name,
    revision: 1,
    steps,
    triggers: [{ kind: 'manual' }, { kind: 'new-labels', count: 100, enabled: false }, { kind: 'drift-alert', enabled: false }],
  };
}

/**
 * The settings the train step really trains with: the Train stage defaults, the step's own
 * settings, and the preprocess step's input shape (which wins, since the preprocessed tensors
 * the model is fed have that shape).
 */
export function effectiveTrainSettings(def: PipelineDefinition): TrainSettings {
  const train = findStep(def, 'train');
  const pre = findStep(def, 'preprocess');
  const shape = pre ? { inputSize: pre.settings.inputSize, channels: pre.settings.channels, resize: pre.settings.resize } : {};
  return withDefaults({ ...train?.settings.settings, ...shape });
}

/** A tune step starts as the Tune stage's default search (learning rate, batch size, optimizer, momentum, dropout). */
export function defaultTunePlan(): StudyPlan {
  return {
    space: structuredClone(DEFAULT_SPACE),
    strategy: 'bayes',
    objective: { metric: 'valAcc' },
    maxTrials: 6,
    maxMinutes: null,
    seed: 42,
    pruner: defaultPruner('median'),
  };
}

export function findStep<K extends StepKind>(def: PipelineDefinition, kind: K): StepDefinition<K> | undefined {
  return def.steps.find((s) => s.kind === kind) as StepDefinition<K> | undefined;
}

export type ParseResult = { ok: true; definition: PipelineDefinition } | { ok: false; errors: string[] };

/** Text longer than this is not a pipeline someone wrote; refuse before JSON.parse allocates it. */
const MAX_TEXT_LENGTH = 1_000_000;
/** Bounds for the free-form augmentation object. */
const MAX_JSON_DEPTH = 8;
const MAX_JSON_NODES = 1000;
const MAX_STRING_LENGTH = 1000;
const STEP_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

type Obj = Record<string, unknown>;

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Own properties only: `obj.constructor` on a plain object is Object, not absent. */
function own(obj: Obj, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

function show(v: unknown): string {
  if (typeof v === 'number' || v === undefined) return String(v);
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/** Reads typed fields of one untrusted object, recording a sentence per bad field. Missing fields take the fallback. */
class Fields {
  constructor(
    private readonly obj: Obj,
    private readonly where: string,
    private readonly errors: string[],
  ) {}

  private value(key: string): unknown {
    return own(this.obj, key);
  }

  fail(message: string): void {
    this.errors.push(`${this.where}: ${message}`);
  }

  number(key: string, label: string, min: number, max: number, fallback: number, integer = false): number {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      this.fail(`${label} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max} (got ${show(v)}).`);
      return fallback;
    }
    return v;
  }

  boolean(key: string, label: string, fallback: boolean): boolean {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      this.fail(`${label} must be true or false (got ${show(v)}).`);
      return fallback;
    }
    return v;
  }

  choice<T>(key: string, label: string, options: readonly T[], fallback: T): T {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (!options.includes(v as T)) {
      this.fail(`${label} must be one of ${options.map((o) => show(o)).join(', ')} (got ${show(v)}).`);
      return fallback;
    }
    return v as T;
  }
}

/**
 * A clean copy of untrusted JSON: keys sorted (so export is stable), prototype keys dropped,
 * bounded in depth, size and string length. Returns an error sentence instead when it is unusable.
 */
function plainJson(value: unknown): { value: unknown } | { error: string } {
  let nodes = 0;
  const copy = (v: unknown, depth: number): unknown => {
    if (++nodes > MAX_JSON_NODES) throw new Error(`it has more than ${MAX_JSON_NODES} values`);
    if (depth > MAX_JSON_DEPTH) throw new Error(`it is nested more than ${MAX_JSON_DEPTH} levels deep`);
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`${v} is not a finite number`);
      return v;
    }
    if (typeof v === 'string') {
      if (v.length > MAX_STRING_LENGTH) throw new Error(`a text value is longer than ${MAX_STRING_LENGTH} characters`);
      return v;
    }
    if (Array.isArray(v)) return v.map((item) => copy(item, depth + 1));
    if (isObject(v)) {
      const out: Obj = {};
      for (const key of Object.keys(v).sort()) {
        if (key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
        out[key] = copy(v[key], depth + 1);
      }
      return out;
    }
    throw new Error(`a ${typeof v} is not JSON`);
  };
  try {
    return { value: copy(value, 0) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

const RESIZE_MODES: readonly ResizeMode[] = ['stretch', 'center-crop', 'pad'];

type SettingsParser<K extends StepKind> = (f: Fields, raw: Obj) => StepSettings[K];

const SETTINGS_PARSERS: { [K in StepKind]: SettingsParser<K> } = {
  validate: (f) => ({
    minPerClass: f.number('minPerClass', 'the minimum images per class', 1, 1_000_000, DEFAULT_STEP_SETTINGS.validate.minPerClass, true),
    minClasses: f.number('minClasses', 'the minimum number of classes', 2, 10_000, DEFAULT_STEP_SETTINGS.validate.minClasses, true),
  }),
  snapshot: (f) => ({ excludeAutoLabels: f.boolean('excludeAutoLabels', '"exclude auto-accepted labels"', false) }),
  split: (f) => {
    const d = DEFAULT_STEP_SETTINGS.split;
    const s = {
      train: f.number('train', 'the train fraction', 0, 1, d.train),
      val: f.number('val', 'the validation fraction', 0, 1, d.val),
      test: f.number('test', 'the test fraction', 0, 1, d.test),
      seed: f.number('seed', 'the seed', 0, 0xffffffff, d.seed, true),
    };
    // Evaluate and the gate need a test set, early stopping a validation set.
    if (s.train <= 0 || s.val <= 0 || s.test <= 0) f.fail('the train, validation and test fractions must all be above 0.');
    else if (Math.abs(s.train + s.val + s.test - 1) > 1e-6)
      f.fail(`the fractions must add up to 1 (they add up to ${show(s.train + s.val + s.test)}).`);
    return s;
  },
  preprocess: (f, raw) => {
    const d = DEFAULT_STEP_SETTINGS.preprocess;
    let augmentation: unknown = {};
    const rawAugmentation = own(raw, 'augmentation');
    if (rawAugmentation !== undefined) {
      const clean = plainJson(rawAugmentation);
      const unknown =
        'error' in clean || !isObject(clean.value)
          ? undefined
          : Object.keys(clean.value).find((k) => !Object.hasOwn(AUGMENTATION_LIMITS, k));
      if ('error' in clean) f.fail(`the augmentation settings are not usable: ${clean.error}.`);
      else if (!isObject(clean.value)) f.fail('the augmentation settings must be an object.');
      else if (unknown !== undefined)
        f.fail(
          `the augmentation settings have an unknown key "${unknown.slice(0, 80)}"; unknown keys are refused, not ignored (known keys: ${Object.keys(AUGMENTATION_LIMITS).join(', ')}).`,
        );
      else augmentation = clean.value;
    }
    return {
      inputSize: f.number('inputSize', 'the input size', LIMITS.minInput, LIMITS.maxInput, d.inputSize, true),
      channels: f.choice('channels', 'channels', [1, 3] as const, d.channels),
      resize: f.choice('resize', 'the resize mode', RESIZE_MODES, d.resize),
      augmentation,
    };
  },
  train: (f, raw) => {
    const mode = f.choice('mode', 'the mode', ['train', 'tune'] as const, 'train');
    const rawSettings = own(raw, 'settings');
    let settings: Partial<TrainSettings> = {};
    if (rawSettings !== undefined && !isObject(rawSettings)) f.fail('the training settings must be an object.');
    else if (rawSettings !== undefined) settings = parseTrainSettings(rawSettings, f);
    if (mode === 'train') return { mode, settings };
    const rawPlan = own(raw, 'plan');
    if (!isObject(rawPlan)) {
      f.fail('tuning needs a study plan (the "plan" object).');
      return { mode: 'train', settings };
    }
    const plan = parsePlan(rawPlan, f);
    return plan ? { mode, settings, plan } : { mode: 'train', settings };
  },
  evaluate: () => ({}),
  gate: (f) => ({
    minImprovement: f.number('minImprovement', 'the minimum improvement', -1, 1, DEFAULT_STEP_SETTINGS.gate.minImprovement),
    maxClassDrop: f.number('maxClassDrop', 'the largest allowed drop for one class', 0, 1, DEFAULT_STEP_SETTINGS.gate.maxClassDrop),
  }),
  register: () => ({}),
  promote: (f, raw) => {
    const alias = own(raw, 'alias') ?? DEFAULT_STEP_SETTINGS.promote.alias;
    if (typeof alias !== 'string' || !ALIAS_PATTERN.test(alias)) {
      f.fail(`the alias ${show(alias)} is not valid; aliases use lower-case letters, digits, - and _ (up to 32).`);
      return { alias: DEFAULT_STEP_SETTINGS.promote.alias };
    }
    return { alias };
  },
};

const isFiniteNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const oneOf = (options: readonly unknown[]) => (v: unknown) => options.includes(v);

/** Type checks per training setting; ranges are validateSettings' job (plus what it leaves out). */
const TRAIN_FIELD_CHECKS: { [K in keyof TrainSettings]-?: (v: unknown) => boolean } = {
  architecture: oneOf(['cnn', 'mobilenet', 'mlp']),
  inputSize: (v) => Number.isInteger(v),
  channels: oneOf([1, 3]),
  resize: oneOf(RESIZE_MODES),
  widthMultiplier: isFiniteNumber,
  hidden: (v) => Array.isArray(v) && v.length >= 1 && v.length <= 8 && v.every((n) => Number.isInteger(n) && n >= 1 && n <= 4096),
  optimizer: oneOf(['adam', 'sgd', 'rmsprop']),
  learningRate: isFiniteNumber,
  batchSize: isFiniteNumber,
  epochs: isFiniteNumber,
  dropout: isFiniteNumber,
  momentum: isFiniteNumber,
  augmentation: isFiniteNumber,
  excludeAutoLabels: (v) => typeof v === 'boolean',
  earlyStoppingPatience: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= LIMITS.maxEpochs,
  seed: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff,
  backend: oneOf(['auto', 'webgpu', 'webgl', 'wasm', 'cpu']),
  cpuThreads: (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 16,
  backboneId: (v) => v === null || (typeof v === 'string' && v.length >= 1 && v.length <= 100),
};

/** Known settings in the Train stage's key order (stable export); unknown ones are dropped. */
function parseTrainSettings(raw: Obj, f: Fields): Partial<TrainSettings> {
  const out: Obj = {};
  for (const key of Object.keys(TRAIN_FIELD_CHECKS) as (keyof TrainSettings)[]) {
    const v = own(raw, key);
    if (v === undefined) continue;
    if (!TRAIN_FIELD_CHECKS[key](v)) f.fail(`the training setting "${key}" has an unusable value (${show(v)}).`);
    else out[key] = key === 'hidden' ? [...(v as number[])] : v;
  }
  return out as Partial<TrainSettings>;
}

function isParamValue(v: unknown): v is ParamValue {
  return typeof v === 'boolean' || isFiniteNumber(v) || (typeof v === 'string' && v.length <= 100);
}

function parseParamValues(v: unknown): ParamValue[] | null {
  return Array.isArray(v) && v.length <= 100 && v.every(isParamValue) ? [...v] : null;
}

/** One search-space parameter with only its known keys; null when its shape is wrong. */
function parseParamSpec(raw: unknown): ParamSpec | null {
  if (!isObject(raw)) return null;
  const name = own(raw, 'name');
  const type = own(raw, 'type');
  if (typeof name !== 'string' || name.length > 64) return null;
  let condition: ParamSpec['condition'];
  const rawCondition = own(raw, 'condition');
  if (rawCondition !== undefined) {
    if (!isObject(rawCondition)) return null;
    const param = own(rawCondition, 'param');
    const values = parseParamValues(own(rawCondition, 'in'));
    if (typeof param !== 'string' || param.length > 64 || !values) return null;
    condition = { param, in: values };
  }
  let spec: ParamSpec;
  if (type === 'choice') {
    const values = parseParamValues(own(raw, 'values'));
    if (!values) return null;
    spec = { name, type, values };
  } else if (type === 'float' || type === 'int') {
    const low = own(raw, 'low');
    const high = own(raw, 'high');
    const step = own(raw, 'step');
    const log = own(raw, 'log');
    if (!isFiniteNumber(low) || !isFiniteNumber(high)) return null;
    if (log !== undefined && typeof log !== 'boolean') return null;
    if (step !== undefined && (type !== 'int' || !isFiniteNumber(step))) return null;
    spec = { name, type, low, high, ...(step !== undefined && { step }), ...(log !== undefined && { log }) } as ParamSpec;
  } else {
    return null;
  }
  if (condition) spec.condition = condition;
  return spec;
}

function parsePruner(raw: unknown): StudyPlan['pruner'] | null {
  if (!isObject(raw)) return null;
  const kind = own(raw, 'kind');
  const num = (key: string) => (isFiniteNumber(own(raw, key)) ? (own(raw, key) as number) : NaN);
  if (kind === 'none') return { kind };
  if (kind === 'median') return { kind, warmupEpochs: num('warmupEpochs'), minTrials: num('minTrials') };
  if (kind === 'asha') return { kind, minEpochs: num('minEpochs'), reductionFactor: num('reductionFactor') };
  return null;
}

function parsePlan(raw: Obj, f: Fields): StudyPlan | null {
  const rawSpace = own(raw, 'space');
  if (!Array.isArray(rawSpace) || rawSpace.length > 32) {
    f.fail('the study plan needs a search space of at most 32 parameters.');
    return null;
  }
  const space: ParamSpec[] = [];
  for (const [i, rawSpec] of rawSpace.entries()) {
    const spec = parseParamSpec(rawSpec);
    if (!spec) {
      f.fail(`search-space parameter ${i + 1} is malformed.`);
      return null;
    }
    space.push(spec);
  }
  const objective = own(raw, 'objective');
  const metric = isObject(objective) ? own(objective, 'metric') : undefined;
  const strategy = own(raw, 'strategy');
  const maxMinutes = own(raw, 'maxMinutes') ?? null;
  const gridFloatSteps = own(raw, 'gridFloatSteps');
  const pruner = parsePruner(own(raw, 'pruner'));
  if (metric !== 'valAcc' && metric !== 'valLoss') f.fail('the study objective must be "valAcc" or "valLoss".');
  else if (strategy !== 'grid' && strategy !== 'random' && strategy !== 'bayes')
    f.fail('the study strategy must be "grid", "random" or "bayes".');
  else if (!pruner) f.fail('the study pruner must be "none", "median" or "asha".');
  else if (maxMinutes !== null && !isFiniteNumber(maxMinutes)) f.fail('the study time limit must be a number of minutes or null.');
  else if (
    gridFloatSteps !== undefined &&
    !(Number.isInteger(gridFloatSteps) && (gridFloatSteps as number) >= 2 && (gridFloatSteps as number) <= 100)
  )
    f.fail('grid steps must be a whole number from 2 to 100.');
  else {
    const maxTrials = own(raw, 'maxTrials');
    const seed = own(raw, 'seed');
    const plan: StudyPlan = {
      space,
      strategy,
      objective: { metric },
      maxTrials: isFiniteNumber(maxTrials) ? (maxTrials as number) : NaN,
      maxMinutes: maxMinutes as number | null,
      seed: isFiniteNumber(seed) ? (seed as number) : NaN,
      pruner,
    };
    if (gridFloatSteps !== undefined) plan.gridFloatSteps = gridFloatSteps as number;
    // The preprocess step fixes the input size for the whole run; its cached tensors have one shape.
    const problem = space.some((p) => p.name === 'inputSize')
      ? 'the input size is set by the preprocess step and cannot be tuned in a pipeline'
      : (spaceProblem(space) ?? validatePlan(plan));
    if (!problem) return plan;
    f.fail(`the study plan is not usable: ${problem.replace(/\.$/, '')}.`);
  }
  return null;
}

function stepLabel(id: string, kind: string): string {
  return id === kind ? `Step "${id}"` : `Step "${id}" (${kind})`;
}

function parseSteps(raw: unknown[], errors: string[]): StepDefinition[] {
  const steps: StepDefinition[] = [];
  const ids = new Set<string>();
  for (const [i, rawStep] of raw.entries()) {
    if (!isObject(rawStep)) {
      errors.push(`Step ${i + 1} is not an object.`);
      continue;
    }
    const kind = own(rawStep, 'kind');
    const id = own(rawStep, 'id') ?? kind;
    if (!STEP_ORDER.includes(kind as StepKind)) {
      errors.push(
        `Step ${i + 1}${typeof id === 'string' && STEP_ID_PATTERN.test(id) ? ` ("${id}")` : ''} has an unknown kind ${show(kind)}; known kinds are ${STEP_ORDER.join(', ')}.`,
      );
      continue;
    }
    if (typeof id !== 'string' || !STEP_ID_PATTERN.test(id)) {
      errors.push(`Step ${i + 1} (${kind}) has an unusable id ${show(id)}; ids use letters, digits, - and _ (up to 64).`);
      continue;
    }
    if (ids.has(id)) errors.push(`Two steps have the id "${id}"; step ids must be unique.`);
    ids.add(id);
    const where = stepLabel(id, kind as string);
    const rawSettings = own(rawStep, 'settings') ?? {};
    if (!isObject(rawSettings)) {
      errors.push(`${where}: settings must be an object.`);
      continue;
    }
    const parser = SETTINGS_PARSERS[kind as StepKind] as SettingsParser<StepKind>;
    steps.push({ id, kind, settings: parser(new Fields(rawSettings, where, errors), rawSettings) } as StepDefinition);
  }
  return steps;
}

/** Each kind at most once, the required ones present, all in STEP_ORDER. */
function checkStructure(steps: StepDefinition[], errors: string[]): void {
  for (const kind of STEP_ORDER) {
    const count = steps.filter((s) => s.kind === kind).length;
    if (count > 1) errors.push(`The pipeline has ${count} ${kind} steps; it can have only one.`);
    else if (count === 0 && REQUIRED_STEPS.includes(kind)) errors.push(`The pipeline has no ${kind} step; every pipeline needs one.`);
  }
  for (let i = 1; i < steps.length; i++) {
    const [before, after] = [steps[i - 1], steps[i]];
    if (STEP_ORDER.indexOf(before.kind) > STEP_ORDER.indexOf(after.kind)) {
      errors.push(
        `${stepLabel(before.id, before.kind)} comes before ${stepLabel(after.id, after.kind).replace(/^Step/, 'step')}, but ${after.kind} must run before ${before.kind}.`,
      );
    }
  }
  const promote = steps.find((s) => s.kind === 'promote');
  if (promote && !steps.some((s) => s.kind === 'gate')) {
    errors.push(`${stepLabel(promote.id, 'promote')} needs a gate step before it, so that only a model that beats production is promoted.`);
  }
}

function parseTriggers(raw: unknown, errors: string[]): TriggerDefinition[] {
  if (raw === undefined) return [{ kind: 'manual' }];
  if (!Array.isArray(raw) || raw.length > 8) {
    errors.push('Triggers must be a list of at most 8 entries.');
    return [];
  }
  const triggers: TriggerDefinition[] = [];
  for (const [i, rawTrigger] of raw.entries()) {
    const kind = isObject(rawTrigger) ? own(rawTrigger, 'kind') : undefined;
    if (!isObject(rawTrigger) || (kind !== 'manual' && kind !== 'new-labels' && kind !== 'drift-alert')) {
      errors.push(`Trigger ${i + 1} has an unknown kind ${show(kind)}; known kinds are manual, new-labels and drift-alert.`);
      continue;
    }
    if (triggers.some((t) => t.kind === kind)) {
      errors.push(`The ${kind} trigger is listed twice.`);
      continue;
    }
    const f = new Fields(rawTrigger, `The ${kind} trigger`, errors);
    if (kind === 'manual') triggers.push({ kind });
    else if (kind === 'new-labels')
      triggers.push({
        kind,
        count: f.number('count', 'the number of new labels', 1, 1_000_000, 100, true),
        enabled: f.boolean('enabled', '"enabled"', false),
      });
    else triggers.push({ kind, enabled: f.boolean('enabled', '"enabled"', false) });
  }
  return triggers;
}

// ---- Known keys of schema version 1 (anything else is refused, naming the key and its path) ------

const keysOf = (...names: string[]) => Object.fromEntries(names.map((n) => [n, true as const]));
const PLAN_SHAPE: KeyShape = {
  keys: {
    ...keysOf('strategy', 'maxTrials', 'maxMinutes', 'seed', 'gridFloatSteps'),
    space: {
      items: { keys: { ...keysOf('name', 'type', 'values', 'low', 'high', 'step', 'log'), condition: { keys: keysOf('param', 'in') } } },
    },
    objective: { keys: keysOf('metric') },
    pruner: { keys: keysOf('kind', 'warmupEpochs', 'minTrials', 'minEpochs', 'reductionFactor') },
  },
};
/** Augmentation keys are checked after its bounds (plainJson), in the preprocess parser. */
const SETTINGS_SHAPES: { [K in StepKind]: KeyShape } = {
  validate: { keys: keysOf('minPerClass', 'minClasses') },
  snapshot: { keys: keysOf('excludeAutoLabels') },
  split: { keys: keysOf('train', 'val', 'test', 'seed') },
  preprocess: { keys: keysOf('inputSize', 'channels', 'resize', 'augmentation') },
  train: { keys: { mode: true, settings: { keys: keysOf(...Object.keys(TRAIN_FIELD_CHECKS)) }, plan: PLAN_SHAPE } },
  evaluate: { keys: {} },
  gate: { keys: keysOf('minImprovement', 'maxClassDrop') },
  register: { keys: {} },
  promote: { keys: keysOf('alias') },
};
const TOP_SHAPE: KeyShape = {
  keys: {
    ...keysOf('format', 'schemaVersion', 'name', 'revision'),
    steps: { items: { keys: keysOf('id', 'kind', 'settings') } },
    triggers: { items: { keys: keysOf('kind', 'count', 'enabled') } },
  },
};

/** The first key schema version 1 does not know, with its JSON path; steps are checked by their kind. */
function unknownPipelineKey(json: Obj): { key: string; path: string } | null {
  const top = findUnknownKey(json, TOP_SHAPE);
  if (top) return top;
  const steps = own(json, 'steps');
  if (!Array.isArray(steps)) return null;
  for (const [i, step] of steps.entries()) {
    if (!isObject(step)) continue;
    const kind = own(step, 'kind');
    const settings = own(step, 'settings');
    if (!STEP_ORDER.includes(kind as StepKind) || !isObject(settings)) continue;
    const found = findUnknownKey(settings, SETTINGS_SHAPES[kind as StepKind], ['steps', i, 'settings']);
    if (found) return found;
  }
  return null;
}

/**
 * Checks an untrusted pipeline (a parsed JSON value, or the file's text) and rebuilds it from
 * known keys. Missing step settings take their defaults; present ones must be valid.
 */
export function parsePipeline(json: unknown): ParseResult {
  try {
    if (typeof json === 'string') {
      if (json.length > MAX_TEXT_LENGTH) return { ok: false, errors: ['The file is too large to be a pipeline.'] };
      json = parseUntrustedJson(json, 'The pipeline file', JSON_LIMITS.pipeline);
    } else {
      checkUntrustedValue(json, 'The pipeline', JSON_LIMITS.pipeline.maxDepth);
    }
  } catch (e) {
    if (!(e instanceof UntrustedJsonError)) throw e;
    return { ok: false, errors: [/ is not valid JSON/.test(e.message) ? 'The file is not valid JSON.' : e.message] };
  }
  if (!isObject(json) || own(json, 'format') !== PIPELINE_FORMAT) {
    return { ok: false, errors: ['This is not a Trainyard pipeline file (its "format" is not "trainyard.pipeline").'] };
  }
  const version = own(json, 'schemaVersion');
  if (typeof version === 'number' && Number.isInteger(version) && version > PIPELINE_SCHEMA_VERSION) {
    return {
      ok: false,
      errors: [
        `This pipeline was made by a newer Trainyard (pipeline format ${version}; this version reads format ${PIPELINE_SCHEMA_VERSION}). Update Trainyard to open it.`,
      ],
    };
  }
  if (version !== PIPELINE_SCHEMA_VERSION)
    return { ok: false, errors: [`The pipeline format version ${show(version)} is not one Trainyard knows.`] };

  const unknown = unknownPipelineKey(json);
  if (unknown) return { ok: false, errors: [unknownKeyMessage('The pipeline file', unknown.key, unknown.path)] };

  const errors: string[] = [];
  const rawName = own(json, 'name');
  const name = typeof rawName === 'string' ? rawName.trim() : '';
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) errors.push(`The pipeline needs a name of 1 to ${MAX_NAME_LENGTH} characters.`);
  const revision = own(json, 'revision') ?? 1;
  if (!Number.isSafeInteger(revision) || (revision as number) < 1)
    errors.push(`The pipeline revision must be a whole number of at least 1 (got ${show(revision)}).`);

  const rawSteps = own(json, 'steps');
  let steps: StepDefinition[] = [];
  if (!Array.isArray(rawSteps)) errors.push('The pipeline has no list of steps.');
  else if (rawSteps.length > MAX_STEPS) errors.push(`A pipeline has at most ${MAX_STEPS} steps; this one has ${rawSteps.length}.`);
  else {
    steps = parseSteps(rawSteps, errors);
    // Order and presence only mean something once every step was readable.
    if (steps.length === rawSteps.length) checkStructure(steps, errors);
  }
  const triggers = parseTriggers(own(json, 'triggers'), errors);
  if (errors.length > 0) return { ok: false, errors };

  const definition: PipelineDefinition = {
    format: PIPELINE_FORMAT,
    schemaVersion: PIPELINE_SCHEMA_VERSION,
    name,
    revision: revision as number,
    steps,
    triggers,
  };
  const train = findStep(definition, 'train')!;
  const problem = validateSettings(effectiveTrainSettings(definition));
  if (problem) return { ok: false, errors: [`${stepLabel(train.id, 'train')}: ${problem}`] };
  return { ok: true, definition };
}

/**
 * Pretty JSON in one fixed key order, so export → import → export gives the same bytes.
 * Throws on an invalid definition: exporting one is a bug in the caller.
 */
export function serializePipeline(def: PipelineDefinition): string {
  const parsed = parsePipeline(def);
  if (!parsed.ok) throw new Error(`Cannot export an invalid pipeline: ${parsed.errors.join(' ')}`);
  return `${JSON.stringify(parsed.definition, null, 2)}\n`;
}
