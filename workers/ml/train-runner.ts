// One training run, start to finish: data checks -> frozen stratified split -> preprocessing cache
// -> streamed training with per-epoch checkpoints -> evaluation on the test split -> model version.
import * as tf from '@tensorflow/tfjs';
import { listSamples, updateSplits } from '../../src/db/samples';
import { listImports } from '../../src/db/imports';
import { getCheckpoint, saveCheckpoint, saveRun, deleteCheckpoint } from '../../src/db/runs';
import type { EpochMetrics, SampleRecord, TrainRunRecord } from '../../src/db/schema';
import { assignSplits, splitProblems } from '../../src/lib/ml/split';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { trainLoop, predictAll } from '../../src/lib/ml/train-loop';
import { allFinite, captureOptimizer, captureWeights, restoreOptimizer, restoreWeights, type WeightsBlob } from '../../src/lib/ml/checkpoint';
import { evaluate, predictions } from '../../src/lib/ml/metrics';
import { preprocessOf, validateSettings, type TrainSettings } from '../../src/lib/train/train-config';
import { Throttle } from '../../src/lib/util/format';
import type { TrainProgress } from '../train.api';
import type { BackendInfo } from './backend';
import { ensurePreprocessed, epochData, type LabeledId } from './data-feed';
import { saveTrainedVersion } from './save-version';
import { prepareTransfer, type TransferSetup } from './transfer';
import { embeddingSummary } from '../../src/lib/ml/backbone';

export interface RunControl {
  isStopped: () => boolean;
  onProgress: (p: TrainProgress) => void;
  backend: BackendInfo;
}

export class RefusedError extends Error {}

/** Labeled samples from finished imports, without label conflicts. */
export async function trainableSamples(projectId: string): Promise<SampleRecord[]> {
  const [{ samples }, sessions] = await Promise.all([listSamples(projectId), listImports(projectId)]);
  const unfinished = new Set(sessions.filter((s) => s.state === 'running').map((s) => s.id));
  return samples.filter((s) => s.label !== null && !s.flags.includes('conflict') && !unfinished.has(s.importId));
}

export function architectureOf(s: TrainSettings, numClasses: number): ArchitectureConfig {
  const common = { inputSize: s.inputSize, channels: s.channels, numClasses, dropout: s.dropout };
  if (s.architecture === 'mobilenet') return { kind: 'mobilenet', ...common, widthMultiplier: s.widthMultiplier };
  if (s.architecture === 'mlp') return { kind: 'mlp', ...common, hidden: s.hidden };
  return { kind: 'cnn', ...common };
}

function makeOptimizer(s: TrainSettings): tf.Optimizer {
  if (s.optimizer === 'sgd') return tf.train.momentum(s.learningRate, 0.9);
  if (s.optimizer === 'rmsprop') return tf.train.rmsprop(s.learningRate);
  return tf.train.adam(s.learningRate);
}

export interface RunConfig {
  settings: TrainSettings;
  labels: string[];
}

export async function executeRun(run: TrainRunRecord, ctl: RunControl): Promise<TrainRunRecord> {
  const { settings, labels } = run.config as RunConfig;
  const refused = validateSettings(settings);
  if (refused) throw new RefusedError(refused);
  const preprocess = preprocessOf(settings);
  const samples = await trainableSamples(run.projectId);
  const problem = splitProblems(samples.map((s) => s.label));
  if (problem) throw new RefusedError(problem);
  const classIndex = new Map(labels.map((l, i) => [l, i]));
  const usable = samples.filter((s) => classIndex.has(s.label!));

  // Split: seeded, stratified, and the test split is frozen per dataset (kept across runs).
  const splits = assignSplits(
    usable.map((s) => ({ id: s.id, label: s.label!, split: s.split })),
    { seed: settings.seed, keepExisting: true },
  );
  await updateSplits(run.projectId, splits);
  const bySplit = (name: string): LabeledId[] =>
    usable.filter((s) => splits.get(s.id) === name).map((s) => ({ id: s.id, classIndex: classIndex.get(s.label!)! }));
  const train = bySplit('train');
  const val = bySplit('val');
  const test = bySplit('test');

  const progress = (p: Omit<TrainProgress, 'runId' | 'epochs'>) => ctl.onProgress({ ...p, runId: run.id, epochs: settings.epochs });
  const numClasses = labels.length;
  progress({ phase: 'preprocessing', done: 0, total: usable.length, epoch: 0 });
  // Transfer runs (a backbone is chosen) train a head on cached embeddings instead of pixels.
  let transfer: TransferSetup | null = null;
  if (settings.backboneId) {
    transfer = await prepareTransfer(run.projectId, settings, usable, numClasses, (done, total, embeddings) => progress({ phase: 'preprocessing', done, total, epoch: 0, embeddings: { ...embeddings } }), ctl.isStopped);
  } else {
    await ensurePreprocessed(run.projectId, usable, preprocess, (done, total) => progress({ phase: 'preprocessing', done, total, epoch: 0 }), ctl.isStopped);
  }
  const note = transfer ? embeddingSummary(transfer.counts) : null;
  if (ctl.isStopped()) return { ...run, state: 'stopped', message: withNote('Stopped while preparing images.', note) };
  const architecture = transfer?.architecture ?? architectureOf(settings, numClasses);
  const feed = (items: LabeledId[], batchSize: number, seed: number | null) =>
    transfer ? transfer.data(items, numClasses, batchSize, seed) : epochData(run.projectId, items, preprocess, numClasses, batchSize, seed);

  const model = buildModel(architecture, settings.seed);
  const optimizer = makeOptimizer(settings);
  const started = performance.now();
  try {
    let startEpoch = 0;
    const checkpoint = run.checkpointEpoch > 0 ? await getCheckpoint(run.id) : undefined;
    if (checkpoint) {
      restoreWeights(model, checkpoint.weights as WeightsBlob);
      if (checkpoint.optimizer) {
        // Adam's slots exist only after a first step; one zero-learning-rate-free step is avoided by
        // restoring lazily: TF.js creates the slots on setWeights when names match.
        await restoreOptimizer(optimizer, checkpoint.optimizer as WeightsBlob).catch(() => undefined);
      }
      startEpoch = checkpoint.epoch;
    }
    const trainData = feed(train, settings.batchSize, settings.seed);
    trainData.epoch = startEpoch;
    const valData = val.length ? feed(val, settings.batchSize, null) : undefined;
    const batchesPerEpoch = Math.ceil(train.length / settings.batchSize);
    const throttle = new Throttle(125);
    let current: TrainRunRecord = { ...run, state: 'running' };
    let imagesSeen = 0;
    let batchInEpoch = 0;
    const outcome = await trainLoop(
      model,
      trainData,
      {
        epochs: settings.epochs,
        startEpoch,
        optimizer,
        validation: valData,
        shouldStop: ctl.isStopped,
        readEvery: 10,
        earlyStopping: settings.earlyStoppingPatience > 0 ? { patience: settings.earlyStoppingPatience } : undefined,
      },
      {
        onBatch: ({ epoch, batch, loss, acc }) => {
          batchInEpoch = batch + 1;
          imagesSeen = (epoch - startEpoch) * train.length + batchInEpoch * settings.batchSize;
          if (!throttle.ready()) return;
          const seconds = (performance.now() - started) / 1000;
          progress({ phase: 'training', done: batchInEpoch, total: batchesPerEpoch, epoch: epoch + 1, batch: { step: epoch * batchesPerEpoch + batch, loss, acc }, imagesPerSecond: imagesSeen / seconds });
        },
        onEpoch: async (m) => {
          const epochMetrics: EpochMetrics = { epoch: m.epoch + 1, loss: m.loss, acc: m.acc, valLoss: m.valLoss, valAcc: m.valAcc };
          const weights = await captureWeights(model);
          // Never store a checkpoint with NaN/Inf weights: the last good one stays.
          if (!allFinite(weights)) return;
          const opt = await captureOptimizer(optimizer);
          current = { ...current, history: [...current.history.filter((h) => h.epoch < epochMetrics.epoch), epochMetrics] };
          await saveCheckpoint(current, { runId: run.id, epoch: epochMetrics.epoch, weights, optimizer: opt, savedAt: Date.now() });
          current.checkpointEpoch = epochMetrics.epoch;
          const seconds = (performance.now() - started) / 1000;
          progress({ phase: 'training', done: batchesPerEpoch, total: batchesPerEpoch, epoch: epochMetrics.epoch, epochMetrics, imagesPerSecond: ((epochMetrics.epoch - startEpoch) * train.length) / seconds });
        },
      },
    );
    const trainMs = performance.now() - started;
    if (outcome.status === 'diverged') {
      return { ...current, state: 'diverged', message: withNote(`${outcome.reason ?? 'The loss became NaN or infinite.'} The last good checkpoint (epoch ${current.checkpointEpoch}) is kept.`, note) };
    }
    if (outcome.status === 'stopped') {
      return { ...current, state: 'stopped', message: withNote(`Stopped. Resume continues from epoch ${current.checkpointEpoch}.`, note) };
    }

    progress({ phase: 'evaluating', done: 0, total: test.length, epoch: settings.epochs });
    const testData = feed(test, 128, null);
    const probs = await predictAll(model, (async function* () {
      for await (const b of testData.batches()) {
        b.ys.dispose();
        yield b.xs;
      }
    })());
    const report = evaluate(test.map((t) => t.classIndex), probs, numClasses);
    progress({ phase: 'saving', done: 0, total: 1, epoch: settings.epochs });
    const saved = transfer ? await transfer.versionModel(model) : { model, meta: undefined, release: () => undefined };
    const version = await saveTrainedVersion({
      model: saved.model,
      extraMeta: saved.meta,
      run: current,
      settings,
      labels,
      preprocess: transfer?.preprocess ?? preprocess,
      architecture,
      report,
      testIds: test.map((t) => t.id),
      testPredicted: predictions(probs, numClasses),
      testTrue: test.map((t) => t.classIndex),
      splitCounts: { train: train.length, val: val.length, test: test.length },
      backend: ctl.backend,
      timings: { trainMs, epochs: outcome.epochsDone, imagesPerSecond: (outcome.epochsDone - startEpoch) * train.length / (trainMs / 1000) },
      earlyStopped: outcome.status === 'early-stopped',
    }).finally(saved.release);
    await deleteCheckpoint(run.id);
    return {
      ...current,
      state: 'completed',
      checkpointEpoch: 0,
      versionId: version.id,
      message: withNote(outcome.status === 'early-stopped' ? `Stopped early after epoch ${outcome.epochsDone}: validation loss stopped improving.` : null, note),
    };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}

function withNote(message: string | null, note: string | null): string | null {
  return [message, note].filter(Boolean).join(' ') || null;
}

export async function persist(run: TrainRunRecord): Promise<TrainRunRecord> {
  await saveRun(run);
  return run;
}
