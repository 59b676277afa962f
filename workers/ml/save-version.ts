// Turns a trained model into an immutable registry version: weights apart from metadata, and
// metadata that says everything needed to reproduce or compare it.
import * as tf from '@tensorflow/tfjs';
import { addVersion } from '../../src/db/models';
import type { ModelVersionRecord, TrainRunRecord } from '../../src/contracts/records';
import type { PreprocessConfig } from '../../src/contracts/training';
import type { ArchitectureConfig } from '../../src/lib/ml/architectures';
import type { EvaluationReport } from '../../src/lib/ml/metrics';
import type { TrainSettings } from '../../src/lib/train/train-config';
import type { BackendInfo } from './backend';
import { sha256Hex } from '../../src/lib/util/hex';
import type { VersionMeta } from '../../src/contracts/training';
export type { VersionMeta };

export const APP_VERSION = '0.1.0';

export interface LayersArtifacts {
  modelTopology: unknown;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
}

export async function modelArtifacts(model: tf.LayersModel): Promise<LayersArtifacts> {
  let captured: LayersArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData;
      const weightData = Array.isArray(data) ? tf.io.CompositeArrayBuffer.join(data) : (data as ArrayBuffer);
      captured = { modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs ?? [], weightData };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured) throw new Error('The model could not be serialised.');
  return captured;
}

export interface VersionInput {
  model: tf.LayersModel;
  run: TrainRunRecord;
  settings: TrainSettings;
  labels: string[];
  preprocess: PreprocessConfig;
  architecture: ArchitectureConfig;
  report: EvaluationReport;
  testIds: string[];
  /** Predicted class per test sample, aligned with testIds (confusion-matrix drill-down). */
  testPredicted: number[];
  testTrue: number[];
  splitCounts: { train: number; val: number; test: number };
  backend: BackendInfo;
  timings: {
    trainMs: number;
    epochs: number;
    imagesPerSecond: number;
    /** Milliseconds spent in training batches, validation passes and checkpoint snapshots (all
     *  epochs of this run), and the part of the batches' time spent waiting for data. */
    breakdown?: { trainMs: number; validationMs: number; checkpointMs: number; waitingForDataMs?: number };
  };
  earlyStopped: boolean;
  /** Transfer runs: normalization, the backbone used, and backboneId when the head alone is saved. */
  extraMeta?: Partial<VersionMeta>;
}

export async function saveTrainedVersion(input: VersionInput): Promise<ModelVersionRecord> {
  const artifacts = await modelArtifacts(input.model);
  const id = crypto.randomUUID();
  const meta: VersionMeta = {
    architecture: input.architecture,
    labels: input.labels,
    inputShape: [input.preprocess.inputSize, input.preprocess.inputSize, input.preprocess.channels],
    preprocess: input.preprocess,
    hyperparameters: input.settings,
    seed: input.settings.seed,
    // Which data the version saw: the sorted test ids plus the split sizes identify the dataset state.
    datasetHash: await sha256Hex(JSON.stringify([input.labels, input.splitCounts, [...input.testIds].sort()])),
    testIds: input.testIds,
    testPredicted: input.testPredicted,
    testTrue: input.testTrue,
    splitCounts: input.splitCounts,
    backend: input.backend.name,
    adapter: input.backend.adapter,
    metrics: input.report,
    history: input.run.history,
    timings: input.timings,
    appVersion: APP_VERSION,
    tfjsVersion: tf.version.tfjs,
    source: 'trained',
    ...input.extraMeta,
  };
  return addVersion(
    {
      id,
      projectId: input.run.projectId,
      createdAt: Date.now(),
      runId: input.run.id,
      parentId: input.extraMeta?.warmStartFrom ?? null,
      meta,
    },
    { versionId: id, modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData },
  );
}
