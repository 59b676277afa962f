import { describe, expect, it } from 'vitest';
import {
  STEP_ORDER,
  defaultPipeline,
  effectiveTrainSettings,
  parsePipeline,
  serializePipeline,
  type PipelineDefinition,
  defaultTunePlan,
  findStep,
} from '../../src/lib/pipeline/definition';
import type { StudyPlan } from '../../src/lib/tune/study';

type Json = Record<string, any>;

/** A default pipeline as mutable plain JSON, like an imported file. */
function raw(): Json {
  return JSON.parse(JSON.stringify(defaultPipeline('Digits nightly')));
}

function stepOf(json: Json, kind: string): Json {
  return json.steps.find((s: Json) => s.kind === kind);
}

function errorsOf(input: unknown): string[] {
  const result = parsePipeline(input);
  if (result.ok) throw new Error('expected the pipeline to be refused');
  return result.errors;
}

const plan: StudyPlan = {
  space: [
    { name: 'learningRate', type: 'float', low: 1e-4, high: 3e-2, log: true },
    { name: 'optimizer', type: 'choice', values: ['adam', 'sgd'] },
    { name: 'momentum', type: 'float', low: 0.5, high: 0.99, condition: { param: 'optimizer', in: ['sgd'] } },
    { name: 'batchSize', type: 'int', low: 16, high: 128, step: 16 },
  ],
  strategy: 'random',
  objective: { metric: 'valAcc' },
  maxTrials: 12,
  maxMinutes: null,
  seed: 7,
  pruner: { kind: 'median', warmupEpochs: 1, minTrials: 3 },
};

describe('defaultPipeline', () => {
  it('has all nine steps in order, parses as valid and trains with the Train stage defaults', () => {
    const def = defaultPipeline('Digits nightly');
    expect(def.steps.map((s) => s.kind)).toEqual(STEP_ORDER);
    expect(def.steps.find((s) => s.kind === 'train')!.settings).toEqual({ mode: 'train', settings: {} });
    const parsed = parsePipeline(def);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(parsed.definition).toEqual(def);
  });

  it('takes settings overrides per kind', () => {
    const def = defaultPipeline('x', { gate: { minImprovement: 0.01, maxClassDrop: 0.1 }, promote: { alias: 'staging' } });
    expect(def.steps.find((s) => s.kind === 'gate')!.settings).toEqual({ minImprovement: 0.01, maxClassDrop: 0.1 });
    expect(def.steps.find((s) => s.kind === 'promote')!.settings).toEqual({ alias: 'staging' });
  });
});

describe('serializePipeline', () => {
  it('export -> import -> export is byte-identical, including a tune plan and augmentation', () => {
    const def = defaultPipeline('Round trip', {
      preprocess: { inputSize: 32, channels: 3, resize: 'center-crop', augmentation: { rotation: 10, hflip: 0.5, cutout: 0.25 } },
      train: { mode: 'tune', settings: { epochs: 4, architecture: 'mobilenet' }, plan },
    });
    const text = serializePipeline(def);
    const parsed = parsePipeline(text);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(serializePipeline(parsed.definition)).toBe(text);
    expect(parsed.definition).toEqual(def);
    expect(text.startsWith('{\n  "format": "trainyard.pipeline",\n  "schemaVersion": 1,\n  "name": "Round trip",')).toBe(true);
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('does not depend on the key order of the input', () => {
    const def = defaultPipeline('Order');
    const shuffled = JSON.parse(JSON.stringify(def), (_key, value) =>
      value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).reverse()) : value,
    );
    expect(Object.keys(shuffled)[0]).toBe('triggers');
    expect(serializePipeline(shuffled)).toBe(serializePipeline(def));
  });

  it('refuses to export an invalid definition', () => {
    const def = defaultPipeline('');
    expect(() => serializePipeline(def)).toThrow(/Cannot export an invalid pipeline: The pipeline needs a name/);
  });
});

describe('parsePipeline: what it accepts', () => {
  it('fills missing settings with defaults', () => {
    const json = raw();
    stepOf(json, 'validate').settings = { minPerClass: 3 };
    delete stepOf(json, 'split').settings;
    stepOf(json, 'train').settings = { mode: 'train', settings: { epochs: 3 } };
    const parsed = parsePipeline(json);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.definition.steps[0].settings).toEqual({ minPerClass: 3, minClasses: 2 });
    expect(parsed.definition.steps[2].settings).toEqual({ train: 0.7, val: 0.15, test: 0.15, seed: 42 });
    expect(parsed.definition.steps[4].settings).toEqual({ mode: 'train', settings: { epochs: 3 } });
  });

  // Issue #22: unknown keys were silently dropped. One policy with the project-file importer:
  // refused, naming the key and its JSON path (a newer app version says so by schemaVersion).
  it('refuses unknown keys anywhere, naming the key and its JSON path', () => {
    const cases: Array<[(json: Json) => void, string, string]> = [
      [(j) => (j.extra = 'x'), 'extra', '$'],
      [(j) => (stepOf(j, 'validate').settings = { minPerClass: 3, extra: 1 }), 'extra', '$.steps[0].settings'],
      [
        (j) => (stepOf(j, 'train').settings = { mode: 'train', settings: { epochs: 3, unknownSetting: 1 } }),
        'unknownSetting',
        '$.steps[4].settings.settings',
      ],
      [
        (j) => (stepOf(j, 'train').settings = { mode: 'train', settings: {}, plan: { ignored: true } }),
        'ignored',
        '$.steps[4].settings.plan',
      ],
      [(j) => (j.steps[1].note = 'hi'), 'note', '$.steps[1]'],
      [(j) => (j.triggers[1].cron = '* * *'), 'cron', '$.triggers[1]'],
    ];
    for (const [edit, key, path] of cases) {
      const json = raw();
      edit(json);
      expect(errorsOf(json)).toEqual([
        `The pipeline file has an unknown key "${key}" at ${path}; unknown keys are refused, not ignored (a file from a newer Trainyard says so by its version number).`,
      ]);
      expect(errorsOf(JSON.stringify(json))).toHaveLength(1);
    }
    const json = raw();
    stepOf(json, 'preprocess').settings.augmentation = { rotation: 5, twirl: 1 };
    expect(errorsOf(json)[0]).toMatch(
      /^Step "preprocess": the augmentation settings have an unknown key "twirl"; unknown keys are refused/,
    );
  });

  it('a newer schema version is refused by its version, before any key is looked at', () => {
    const json = raw();
    json.schemaVersion = 2;
    json.newThing = { x: 1 };
    expect(errorsOf(json)[0]).toMatch(/made by a newer Trainyard \(pipeline format 2/);
  });

  it('allows leaving out validate, gate and promote', () => {
    const json = raw();
    json.steps = json.steps.filter((s: Json) => !['validate', 'gate', 'promote'].includes(s.kind));
    const parsed = parsePipeline(json);
    expect(parsed.ok).toBe(true);
    if (parsed.ok)
      expect(parsed.definition.steps.map((s) => s.kind)).toEqual(['snapshot', 'split', 'preprocess', 'train', 'evaluate', 'register']);
  });

  it('reads the text of a file as well as a parsed value', () => {
    const parsed = parsePipeline(JSON.stringify(raw()));
    expect(parsed.ok).toBe(true);
  });

  it('trains with the preprocess step input shape', () => {
    const def = defaultPipeline('x', {
      preprocess: { inputSize: 64, channels: 3, resize: 'stretch', augmentation: {} },
      train: { mode: 'train', settings: { inputSize: 28, epochs: 9 } },
    });
    const s = effectiveTrainSettings(def);
    expect([s.inputSize, s.channels, s.resize, s.epochs, s.optimizer]).toEqual([64, 3, 'stretch', 9, 'adam']);
  });
});

describe('parsePipeline: what it refuses, and why', () => {
  it('something that is not a pipeline', () => {
    expect(errorsOf({ format: 'trainyard.model', schemaVersion: 1 })).toEqual([
      'This is not a Trainyard pipeline file (its "format" is not "trainyard.pipeline").',
    ]);
    expect(errorsOf(null)[0]).toMatch(/not a Trainyard pipeline file/);
    expect(errorsOf([1, 2])[0]).toMatch(/not a Trainyard pipeline file/);
    expect(errorsOf('{"format": ')).toEqual(['The file is not valid JSON.']);
  });

  it('a file from a newer Trainyard', () => {
    const json = raw();
    json.schemaVersion = 2;
    expect(errorsOf(json)).toEqual([
      'This pipeline was made by a newer Trainyard (pipeline format 2; this version reads format 1). Update Trainyard to open it.',
    ]);
    json.schemaVersion = '1';
    expect(errorsOf(json)).toEqual(['The pipeline format version "1" is not one Trainyard knows.']);
  });

  it('an unknown step kind', () => {
    const json = raw();
    json.steps.splice(6, 0, { id: 'deploy', kind: 'deploy', settings: {} });
    expect(errorsOf(json)).toEqual([
      'Step 7 ("deploy") has an unknown kind "deploy"; known kinds are validate, snapshot, split, preprocess, train, evaluate, gate, register, promote.',
    ]);
  });

  it('a missing required step', () => {
    const json = raw();
    json.steps = json.steps.filter((s: Json) => s.kind !== 'evaluate');
    expect(errorsOf(json)).toEqual(['The pipeline has no evaluate step; every pipeline needs one.']);
  });

  it('a duplicated step', () => {
    const json = raw();
    json.steps.splice(5, 0, { id: 'train-again', kind: 'train', settings: { mode: 'train', settings: {} } });
    expect(errorsOf(json)).toContain('The pipeline has 2 train steps; it can have only one.');
  });

  it('duplicated step ids', () => {
    const json = raw();
    stepOf(json, 'split').id = 'snapshot';
    expect(errorsOf(json)).toEqual(['Two steps have the id "snapshot"; step ids must be unique.']);
  });

  it('steps out of order', () => {
    const json = raw();
    const train = json.steps.findIndex((s: Json) => s.kind === 'train');
    [json.steps[train], json.steps[train + 1]] = [json.steps[train + 1], json.steps[train]];
    expect(errorsOf(json)).toEqual(['Step "evaluate" comes before step "train", but train must run before evaluate.']);
  });

  it('promote without a gate', () => {
    const json = raw();
    json.steps = json.steps.filter((s: Json) => s.kind !== 'gate');
    expect(errorsOf(json)).toEqual(['Step "promote" needs a gate step before it, so that only a model that beats production is promoted.']);
  });

  it('more than 32 steps', () => {
    const json = raw();
    json.steps = Array.from({ length: 33 }, (_, i) => ({ id: `s${i}`, kind: 'evaluate' }));
    expect(errorsOf(json)).toEqual(['A pipeline has at most 32 steps; this one has 33.']);
  });

  it('NaN, Infinity and out-of-range numbers, naming the step', () => {
    const json = raw();
    stepOf(json, 'gate').settings = { minImprovement: NaN, maxClassDrop: 1.5 };
    stepOf(json, 'validate').settings = { minPerClass: 2.5 };
    stepOf(json, 'preprocess').settings.augmentation = { rotate: Infinity };
    expect(errorsOf(json)).toEqual([
      'Step "validate": the minimum images per class must be a whole number from 1 to 1000000 (got 2.5).',
      'Step "preprocess": the augmentation settings are not usable: Infinity is not a finite number.',
      'Step "gate": the minimum improvement must be a number from -1 to 1 (got NaN).',
      'Step "gate": the largest allowed drop for one class must be a number from 0 to 1 (got 1.5).',
    ]);
  });

  it('split fractions that do not add up', () => {
    const json = raw();
    stepOf(json, 'split').settings = { train: 0.8, val: 0.15, test: 0.15, seed: 1 };
    expect(errorsOf(json)).toEqual(['Step "split": the fractions must add up to 1 (they add up to 1.1).']);
    stepOf(json, 'split').settings = { train: 0.85, val: 0.15, test: 0 };
    expect(errorsOf(json)).toEqual(['Step "split": the train, validation and test fractions must all be above 0.']);
  });

  it('huge strings', () => {
    const json = raw();
    json.name = 'x'.repeat(101);
    expect(errorsOf(json)).toEqual(['The pipeline needs a name of 1 to 100 characters.']);
    json.name = 'ok';
    stepOf(json, 'preprocess').settings.augmentation = { note: 'y'.repeat(1001) };
    expect(errorsOf(json)).toEqual([
      'Step "preprocess": the augmentation settings are not usable: a text value is longer than 1000 characters.',
    ]);
    expect(errorsOf('x'.repeat(1_000_001))).toEqual(['The file is too large to be a pipeline.']);
  });

  it('deeply nested augmentation', () => {
    const json = raw();
    let deep: Json = {};
    for (let i = 0; i < 20; i++) deep = { inner: deep };
    stepOf(json, 'preprocess').settings.augmentation = deep;
    expect(errorsOf(json)).toEqual(['Step "preprocess": the augmentation settings are not usable: it is nested more than 8 levels deep.']);
  });

  // Issue #22: these keys were dropped and the file imported; now refused like a project file's.
  it('refuses __proto__, constructor and prototype keys anywhere, naming the key and its JSON path, without polluting', () => {
    const base = JSON.stringify(raw());
    const cases: Array<[string, string, string]> = [
      [base.replace('"format"', '"__proto__":{"polluted":"top"},"format"'), '__proto__', '$'],
      [base.replace('"format"', '"constructor":{"prototype":{"polluted":"ctor"}},"format"'), 'constructor', '$'],
      [
        base.replace('"augmentation":{}', '"augmentation":{"rotation":5,"nested":{"__proto__":{"polluted":"deep"}}}'),
        '__proto__',
        '$.steps[3].settings.augmentation.nested',
      ],
      [
        base.replace('"settings":{"mode":"train","settings":{}}', '"settings":{"mode":"train","settings":{"prototype":{"epochs":99}}}'),
        'prototype',
        '$.steps[4].settings.settings',
      ],
    ];
    for (const [text, key, path] of cases) {
      expect(text).not.toBe(base);
      expect(errorsOf(text)).toEqual([
        `The pipeline file has a key named "${key}" at ${path}; such keys are refused because they could alter the objects they are merged into.`,
      ]);
    }
    expect(({} as Json).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('refuses a file nested deeper than the limit before walking it (no stack overflow)', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(errorsOf(deep)).toEqual(['The pipeline file is nested more than 32 levels deep; the limit is 32, so it was refused.']);
  });

  it('an invalid alias', () => {
    const json = raw();
    stepOf(json, 'promote').settings = { alias: 'Production!' };
    expect(errorsOf(json)).toEqual([
      'Step "promote": the alias "Production!" is not valid; aliases use lower-case letters, digits, - and _ (up to 32).',
    ]);
    stepOf(json, 'promote').settings = { alias: 'a'.repeat(33) };
    expect(errorsOf(json)[0]).toMatch(/^Step "promote": the alias/);
  });

  it('invalid training settings, by type and by range', () => {
    const json = raw();
    stepOf(json, 'train').settings = { mode: 'train', settings: { optimizer: 'adamw' } };
    expect(errorsOf(json)).toEqual(['Step "train": the training setting "optimizer" has an unusable value ("adamw").']);
    stepOf(json, 'train').settings = { mode: 'train', settings: { epochs: 0 } };
    expect(errorsOf(json)).toEqual(['Step "train": Epochs must be between 1 and 500.']);
    // Valid alone, but the preprocess step feeds it 28-pixel inputs.
    stepOf(json, 'train').settings = { mode: 'train', settings: { architecture: 'mobilenet' } };
    expect(errorsOf(json)).toEqual(['Step "train": The MobileNet-style network needs inputs of at least 32 pixels.']);
    stepOf(json, 'train').settings = { mode: 'fit' };
    expect(errorsOf(json)).toEqual(['Step "train": the mode must be one of "train", "tune" (got "fit").']);
  });

  it('an invalid or missing tuning plan', () => {
    const json = raw();
    stepOf(json, 'train').settings = { mode: 'tune', settings: {} };
    expect(errorsOf(json)).toEqual(['Step "train": tuning needs a study plan (the "plan" object).']);
    stepOf(json, 'train').settings = { mode: 'tune', settings: {}, plan: { ...plan, maxTrials: 0 } };
    expect(errorsOf(json)).toEqual(['Step "train": the study plan is not usable: Maximum trials must be a whole number ≥ 1.']);
    stepOf(json, 'train').settings = {
      mode: 'tune',
      settings: {},
      plan: { ...plan, space: [{ name: 'inputSize', type: 'choice', values: [28, 32] }] },
    };
    expect(errorsOf(json)).toEqual([
      'Step "train": the study plan is not usable: the input size is set by the preprocess step and cannot be tuned in a pipeline.',
    ]);
    stepOf(json, 'train').settings = { mode: 'tune', settings: {}, plan: { ...plan, space: [null] } };
    expect(errorsOf(json)).toEqual(['Step "train": search-space parameter 1 is malformed.']);
  });

  it('bad triggers', () => {
    const json = raw();
    json.triggers = [{ kind: 'manual' }, { kind: 'new-labels', count: 0, enabled: true }, { kind: 'manual' }, { kind: 'cron' }];
    expect(errorsOf(json)).toEqual([
      'The new-labels trigger: the number of new labels must be a whole number from 1 to 1000000 (got 0).',
      'The manual trigger is listed twice.',
      'Trigger 4 has an unknown kind "cron"; known kinds are manual, new-labels and drift-alert.',
    ]);
  });

  it('reports several problems at once', () => {
    const json = raw();
    json.name = '   ';
    json.revision = 0;
    stepOf(json, 'split').id = 'bad id!';
    const errors = errorsOf(json);
    expect(errors).toEqual([
      'The pipeline needs a name of 1 to 100 characters.',
      'The pipeline revision must be a whole number of at least 1 (got 0).',
      'Step 3 (split) has an unusable id "bad id!"; ids use letters, digits, - and _ (up to 64).',
    ]);
  });

  it('keeps the parsed definition independent of the input object', () => {
    const json = raw();
    const parsed = parsePipeline(json);
    if (!parsed.ok) throw new Error('expected a valid pipeline');
    stepOf(json, 'gate').settings.minImprovement = 0.5;
    expect((parsed.definition as PipelineDefinition).steps[6].settings).toEqual({ minImprovement: 0, maxClassDrop: 0.05 });
  });
});

describe('a tune step', () => {
  it('with the default plan parses, and serializes back byte for byte', () => {
    const def = defaultPipeline('Tuned', { train: { mode: 'tune', settings: { architecture: 'mlp' }, plan: defaultTunePlan() } });
    const parsed = parsePipeline(JSON.parse(serializePipeline(def)));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const train = findStep(parsed.definition, 'train')!;
    expect(train.settings.mode).toBe('tune');
    expect(train.settings.mode === 'tune' && train.settings.plan.space.map((p) => p.name)).toEqual([
      'learningRate',
      'batchSize',
      'optimizer',
      'momentum',
      'dropout',
    ]);
    expect(serializePipeline(parsed.definition)).toBe(serializePipeline(def));
  });
});
