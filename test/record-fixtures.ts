// Whole, typed records for tests that only care about a few fields: the contracts type every
// stored value to the leaf, so a fixture fills the rest with defaults instead of `{}` and a cast.
import type { VersionMeta, RunConfig, WeightsBlob } from '../src/contracts/training';
import type { AugmentationSpec } from '../src/contracts/augment';
import type { PipelineRunRecord } from '../src/contracts/pipeline';
import { DEFAULT_SETTINGS } from '../src/lib/train/train-config';
import { NO_AUGMENTATION } from '../src/lib/augment/spec';
import { defaultPipeline, defaultTunePlan } from '../src/lib/pipeline/definition';

export { DEFAULT_SETTINGS as SETTINGS, defaultTunePlan as studyPlan, defaultPipeline as pipelineDefinition };

export const noAugmentation = (): AugmentationSpec => ({ ...NO_AUGMENTATION });

export function versionMeta(over: Partial<VersionMeta> = {}): VersionMeta {
  return {
    labels: [],
    inputShape: [8, 8, 1],
    preprocess: { inputSize: 8, channels: 1, resize: 'stretch', background: [0, 0, 0] },
    source: 'trained',
    appVersion: '0.1.0',
    tfjsVersion: '4.22.0',
    ...over,
  };
}

export function runConfig(over: Partial<RunConfig> = {}): RunConfig {
  return { settings: { ...DEFAULT_SETTINGS }, labels: [], ...over };
}

export function weightsBlob(...values: number[]): WeightsBlob {
  return { specs: [{ name: 'w', shape: [values.length], dtype: 'float32' }], data: new Float32Array(values).buffer };
}

export function pipelineRun(
  over: Partial<PipelineRunRecord> & Pick<PipelineRunRecord, 'id' | 'pipelineId' | 'projectId'>,
): PipelineRunRecord {
  return {
    number: 1,
    definition: defaultPipeline('p'),
    trigger: { kind: 'manual', detail: '' },
    state: 'running',
    createdAt: 1,
    updatedAt: 1,
    steps: [],
    keys: [],
    message: null,
    ...over,
  };
}
