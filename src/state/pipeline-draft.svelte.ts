// The Pipeline stage's editor: the editable copy (draft) of the shown pipeline's definition, what
// "unsaved changes" compares it against, and the edits the form makes (training settings, train
// or tune, augmentation, triggers). Saving (checks, revision, storage) is PipelineManager's.
import type { PipelineRecord } from '../contracts/records';
import { defaultTunePlan, findStep, parsePipeline, type PipelineDefinition, type TriggerDefinition } from '../lib/pipeline/definition';
import { validateAugmentation, type AugmentationKey } from '../lib/augment/spec';
import { DEFAULT_SETTINGS, type TrainSettings } from '../lib/train/train-config';
import type { Strategy } from '../lib/tune/study';
import { defaultPruner, type PrunerConfig } from '../lib/tune/pruners';

/** A stored pipeline's definition, and why it is not valid (an old or damaged record), if it is not. */
export function definitionOf(record: PipelineRecord): { definition: PipelineDefinition; problem: string | null } {
  const parsed = parsePipeline(record.definition);
  if (parsed.ok) return { definition: parsed.definition, problem: null };
  return { definition: record.definition as PipelineDefinition, problem: parsed.errors.join(' ') };
}

/** Errors parsePipeline leaves to the augmentation code. */
export function augmentationErrors(def: PipelineDefinition): string[] {
  const pre = findStep(def, 'preprocess');
  if (!pre) return [];
  const checked = validateAugmentation(pre.settings.augmentation ?? {});
  return checked.ok ? [] : checked.errors.map((e) => `Step "${pre.id}" (augmentation): ${e}.`);
}

export class PipelineDraft {
  /** The editable copy of the shown pipeline's definition. */
  draft = $state<PipelineDefinition | null>(null);
  /** The stored definition as JSON (what "unsaved changes" compares against). */
  savedJson = $state('');
  /** Why the stored definition is not valid (an old or damaged record), if it is not. */
  storedProblem = $state<string | null>(null);

  dirty = $derived(this.draft !== null && JSON.stringify(this.draft) !== this.savedJson);

  /** Puts a stored definition (or nothing) into the editor. */
  reset(record: PipelineRecord | null): void {
    if (!record) {
      this.draft = null;
      this.savedJson = '';
      this.storedProblem = null;
      return;
    }
    const { definition, problem } = definitionOf(record);
    this.storedProblem = problem;
    this.savedJson = JSON.stringify(definition);
    this.draft = structuredClone(definition);
  }

  /** Sets (or, at its default, removes) one training setting of the train step. */
  setTrainSetting<K extends keyof TrainSettings>(key: K, value: TrainSettings[K] | null): void {
    const step = this.draft ? findStep(this.draft, 'train') : undefined;
    if (!step) return;
    const settings = step.settings.settings as Record<string, unknown>;
    if (value === DEFAULT_SETTINGS[key]) delete settings[key];
    else settings[key] = value;
  }

  /** Train once with the step's settings, or tune: a study over DEFAULT_SPACE picks them. */
  setTrainMode(mode: 'train' | 'tune'): void {
    const step = this.draft ? findStep(this.draft, 'train') : undefined;
    if (!step || step.settings.mode === mode) return;
    const settings = step.settings.settings;
    step.settings = mode === 'tune' ? { mode, settings, plan: defaultTunePlan() } : { mode, settings };
  }

  setTunePlan(patch: { strategy?: Strategy; maxTrials?: number | null; pruner?: PrunerConfig['kind'] }): void {
    const step = this.draft ? findStep(this.draft, 'train') : undefined;
    if (!step || step.settings.mode !== 'tune') return;
    const plan = step.settings.plan;
    if (patch.strategy) plan.strategy = patch.strategy;
    if (patch.maxTrials != null) plan.maxTrials = patch.maxTrials;
    if (patch.pruner) plan.pruner = defaultPruner(patch.pruner);
  }

  /** Sets one augmentation value; 0 (off) removes the key, so an untouched spec stays `{}`. */
  setAugmentation(key: AugmentationKey, value: number | null): void {
    const step = this.draft ? findStep(this.draft, 'preprocess') : undefined;
    if (!step) return;
    if (typeof step.settings.augmentation !== 'object' || step.settings.augmentation === null) step.settings.augmentation = {};
    const aug = step.settings.augmentation as Record<string, unknown>;
    if (value === 0) delete aug[key];
    else aug[key] = value;
  }

  trigger<K extends TriggerDefinition['kind']>(kind: K): Extract<TriggerDefinition, { kind: K }> | undefined {
    return this.draft?.triggers.find((t) => t.kind === kind) as Extract<TriggerDefinition, { kind: K }> | undefined;
  }

  setNewLabelsTrigger(patch: { enabled?: boolean; count?: number | null }): void {
    if (!this.draft) return;
    let t = this.trigger('new-labels');
    if (!t) {
      this.draft.triggers.push({ kind: 'new-labels', count: 100, enabled: false });
      t = this.trigger('new-labels')!;
    }
    if (patch.enabled !== undefined) t.enabled = patch.enabled;
    if (patch.count !== undefined) t.count = patch.count as number;
  }

  setDriftTrigger(enabled: boolean): void {
    if (!this.draft) return;
    const t = this.trigger('drift-alert');
    if (t) t.enabled = enabled;
    else this.draft.triggers.push({ kind: 'drift-alert', enabled });
  }
}
