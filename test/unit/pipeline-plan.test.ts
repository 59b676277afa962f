import { describe, expect, it } from 'vitest';
import { defaultPipeline, type PipelineDefinition } from '../../src/lib/pipeline/definition';
import { canonicalJson, sha256Hex } from '../../src/lib/pipeline/hash';
import {
  REASON_ALWAYS_RUNS,
  REASON_CACHED,
  REASON_NOT_IN_CACHE,
  computeStepKeys,
  planRun,
  type StepKeyParts,
} from '../../src/lib/pipeline/plan';

const fingerprints = {
  validate: { labeledHash: 'abc', count: 120 },
  gate: { championVersionId: 'v1' },
  promote: { aliasVersionId: 'v1' },
};

function withGate(def: PipelineDefinition, settings: object): PipelineDefinition {
  return { ...def, steps: def.steps.map((s) => (s.kind === 'gate' ? { ...s, settings } : s)) as PipelineDefinition['steps'] };
}

const cacheOf = (keys: StepKeyParts[]) => new Set(keys.map((k) => k.key));
const summary = (plan: ReturnType<typeof planRun>) => plan.map((p) => `${p.stepId}: ${p.action}, ${p.reason}`);

describe('canonicalJson', () => {
  it('sorts keys at every level and leaves out undefined properties', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it('throws on values JSON would silently change', () => {
    expect(() => canonicalJson({ x: NaN })).toThrow(/NaN has no JSON form/);
    expect(() => canonicalJson([Infinity])).toThrow(/Infinity has no JSON form/);
    expect(() => canonicalJson([1, undefined])).toThrow(/undefined at array index 1/);
    expect(() => canonicalJson({ when: new Date(0) })).toThrow(/only plain objects/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/function has no JSON form/);
  });
});

describe('sha256Hex', () => {
  it('matches the standard test vector', async () => {
    expect(await sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('computeStepKeys', () => {
  it('chains each key to the previous one', async () => {
    const keys = await computeStepKeys(defaultPipeline('p'), fingerprints);
    expect(keys.map((k) => k.stepId)).toEqual([
      'validate',
      'snapshot',
      'split',
      'preprocess',
      'train',
      'evaluate',
      'gate',
      'register',
      'promote',
    ]);
    expect(keys[0].upstream).toBeNull();
    for (let i = 1; i < keys.length; i++) expect(keys[i].upstream).toBe(keys[i - 1].key);
    expect(new Set(keys.map((k) => k.key)).size).toBe(9);
    expect(keys[0].fingerprint).toEqual(fingerprints.validate);
    expect(keys[1].fingerprint).toBeNull();
    expect(keys[0].key).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable across key order of settings and fingerprints', async () => {
    const def = defaultPipeline('p');
    const a = await computeStepKeys(withGate(def, { minImprovement: 0, maxClassDrop: 0.05 }), {
      validate: { labeledHash: 'abc', count: 120 },
    });
    const b = await computeStepKeys(withGate(def, { maxClassDrop: 0.05, minImprovement: 0 }), {
      validate: { count: 120, labeledHash: 'abc' },
    });
    expect(b).toEqual(a);
  });

  it('ignores the pipeline name and step ids', async () => {
    const def = defaultPipeline('p');
    const renamed = {
      ...defaultPipeline('other'),
      steps: def.steps.map((s) => ({ ...s, id: `${s.id}-x` })) as PipelineDefinition['steps'],
    };
    const a = await computeStepKeys(def, {});
    const b = await computeStepKeys(renamed, {});
    expect(b.map((k) => k.key)).toEqual(a.map((k) => k.key));
  });

  it('changes from the changed step on when settings, fingerprint or upstream change', async () => {
    const def = defaultPipeline('p');
    const base = await computeStepKeys(def, fingerprints);
    const settings = await computeStepKeys(withGate(def, { minImprovement: 0.01, maxClassDrop: 0.05 }), fingerprints);
    const fingerprint = await computeStepKeys(def, { ...fingerprints, validate: { labeledHash: 'def', count: 121 } });
    const gateIndex = 6;
    expect(settings.slice(0, gateIndex).map((k) => k.key)).toEqual(base.slice(0, gateIndex).map((k) => k.key));
    expect(settings[gateIndex].settingsHash).not.toBe(base[gateIndex].settingsHash);
    for (let i = gateIndex; i < 9; i++) expect(settings[i].key).not.toBe(base[i].key);
    // Upstream alone: register's settings and fingerprint are equal, its key still differs.
    expect(settings[7].settingsHash).toBe(base[7].settingsHash);
    for (let i = 0; i < 9; i++) expect(fingerprint[i].key).not.toBe(base[i].key);
    expect(fingerprint[4].settingsHash).toBe(base[4].settingsHash);
  });
});

describe('planRun', () => {
  it('runs everything the first time', async () => {
    const def = defaultPipeline('p');
    const keys = await computeStepKeys(def, fingerprints);
    const plan = planRun(def, keys, new Set<string>(), null);
    expect(plan.every((p) => p.action === 'run' && p.reason === 'never run')).toBe(true);
    expect(plan[0]).toEqual({ stepId: 'validate', kind: 'validate', action: 'run', reason: 'never run' });
  });

  it('reuses every step when nothing changed', async () => {
    const def = defaultPipeline('p');
    const keys = await computeStepKeys(def, fingerprints);
    const plan = planRun(def, keys, cacheOf(keys), keys);
    expect(plan.map((p) => p.action)).toEqual(Array(9).fill('cached'));
    expect(plan[4].reason).toBe(REASON_CACHED);
  });

  it('reruns from a step whose settings changed, naming it as the cause', async () => {
    const def = defaultPipeline('p');
    const before = await computeStepKeys(def, fingerprints);
    const changed = withGate(def, { minImprovement: 0.02, maxClassDrop: 0.05 });
    const keys = await computeStepKeys(changed, fingerprints);
    expect(summary(planRun(changed, keys, cacheOf(before), before)).slice(5)).toEqual([
      `evaluate: cached, ${REASON_CACHED}`,
      'gate: run, settings changed',
      'register: run, an earlier step reruns (gate)',
      'promote: run, an earlier step reruns (gate)',
    ]);
  });

  it('explains an input change with the host description, or generically', async () => {
    const def = defaultPipeline('p');
    const before = await computeStepKeys(def, fingerprints);
    const keys = await computeStepKeys(def, { ...fingerprints, validate: { labeledHash: 'new', count: 160 } });
    const describe = (kind: string, a: unknown, b: unknown) =>
      kind === 'validate' ? `labels changed: ${(b as { count: number }).count - (a as { count: number }).count} new labels` : null;
    const plan = planRun(def, keys, cacheOf(before), before, { describeFingerprintChange: describe });
    expect(plan[0].reason).toBe('labels changed: 40 new labels');
    expect(plan.slice(1).map((p) => p.reason)).toEqual(Array(8).fill('an earlier step reruns (validate)'));
    expect(planRun(def, keys, cacheOf(before), before)[0].reason).toBe('its inputs changed');
  });

  it('reruns the gate and what follows when the champion changed', async () => {
    const def = defaultPipeline('p');
    const before = await computeStepKeys(def, fingerprints);
    const keys = await computeStepKeys(def, { ...fingerprints, gate: { championVersionId: 'v2' } });
    expect(summary(planRun(def, keys, cacheOf(before), before)).slice(6)).toEqual([
      'gate: run, its inputs changed',
      'register: run, an earlier step reruns (gate)',
      'promote: run, an earlier step reruns (gate)',
    ]);
  });

  it('names the nearest step that changed by itself', async () => {
    const def = defaultPipeline('p');
    const before = await computeStepKeys(def, fingerprints);
    const keys = await computeStepKeys(withGate(def, { minImprovement: 0.02, maxClassDrop: 0.05 }), {
      ...fingerprints,
      validate: { labeledHash: 'x', count: 1 },
    });
    const reasons = planRun(def, keys, new Set(), before).map((p) => p.reason);
    expect(reasons).toEqual([
      'its inputs changed',
      'an earlier step reruns (validate)',
      'an earlier step reruns (validate)',
      'an earlier step reruns (validate)',
      'an earlier step reruns (validate)',
      'an earlier step reruns (validate)',
      'settings changed',
      'an earlier step reruns (gate)',
      'an earlier step reruns (gate)',
    ]);
  });

  it('decides from keys: an evicted step reruns, later steps with unchanged keys stay cached', async () => {
    const def = defaultPipeline('p');
    const keys = await computeStepKeys(def, fingerprints);
    const cache = cacheOf(keys);
    cache.delete(keys[2].key);
    const plan = planRun(def, keys, cache, keys);
    expect(plan[2]).toEqual({ stepId: 'split', kind: 'split', action: 'run', reason: REASON_NOT_IN_CACHE });
    expect(plan.filter((p) => p.action === 'run').map((p) => p.stepId)).toEqual(['split']);
  });

  it('runs uncacheable kinds every time', async () => {
    const def = defaultPipeline('p');
    const keys = await computeStepKeys(def, fingerprints);
    const plan = planRun(def, keys, cacheOf(keys), keys, { uncacheable: ['promote'] });
    expect(plan[8]).toEqual({ stepId: 'promote', kind: 'promote', action: 'run', reason: REASON_ALWAYS_RUNS });
    expect(plan[7].action).toBe('cached');
  });

  it('treats a step the last run did not have as never run, and the next one as following a change', async () => {
    const def = defaultPipeline('p');
    const withoutValidate = { ...def, steps: def.steps.slice(1) };
    const before = await computeStepKeys(withoutValidate, fingerprints);
    const keys = await computeStepKeys(def, fingerprints);
    const reasons = planRun(def, keys, cacheOf(before), before).map((p) => p.reason);
    expect(reasons.slice(0, 3)).toEqual(['never run', 'an earlier step reruns (validate)', 'an earlier step reruns (validate)']);
    const removed = planRun(withoutValidate, before, new Set(), keys).map((p) => p.reason);
    expect(removed[0]).toBe('the steps before it changed');
  });

  it('refuses keys computed for another definition', async () => {
    const def = defaultPipeline('p');
    const keys = await computeStepKeys(def, {});
    expect(() => planRun({ ...def, steps: def.steps.slice(1) }, keys, new Set(), null)).toThrow(/different pipeline definition/);
  });
});
