// One training run, start to finish: data checks -> frozen stratified split -> preprocessing cache
// -> streamed training with per-epoch checkpoints -> evaluation on the test split -> model version.
import { listSamples, updateSplits } from '../../src/db/samples';
import { getDatasetVersion } from '../../src/db/datasets';
import { unpackItems } from '../../src/lib/dataset/version';
import type { AugmentationSpec } from '../../src/lib/augment/spec';
import { listImports } from '../../src/db/imports';
import { getCheckpoint, saveCheckpoint, saveRun, deleteCheckpoint } from '../../src/db/runs';
import type { EpochMetrics, PreprocessConfig } from '../../src/contracts/training';
import type { SampleRecord, TrainRunRecord } from '../../src/contracts/records';
import type { EpochData } from '../../src/lib/ml/train-loop';
import { assignSplits, splitProblems } from '../../src/lib/ml/split';
import { buildModel, type ArchitectureConfig } from '../../src/lib/ml/architectures';
import { trainLoop, predictAll, type TrainLoopResult } from '../../src/lib/ml/train-loop';
import type { LayersModel, Optimizer } from '@tensorflow/tfjs';
import {
  allFinite,
  captureOptimizer,
  captureWeights,
  restoreOptimizer,
  restoreWeights,
  type WeightsBlob,
} from '../../src/lib/ml/checkpoint';
import { evaluate, predictions, type EvaluationReport } from '../../src/lib/ml/metrics';
import { PLATEAU, preprocessOf, validateSettings, withDefaults, type TrainSettings } from '../../src/lib/train/train-config';
import { warmStart } from './warm-start';
import { disposeOptimizer, makeOptimizer } from '../../src/lib/ml/optimizers';
import { Throttle } from '../../src/lib/util/format';
import type { TrainProgress } from '../train.api';
import type { BackendInfo } from './backend';
import { ensurePreprocessed, epochData, type LabeledId } from './data-feed';
import { saveTrainedVersion } from './save-version';
import { runTimings } from '../../src/lib/train/run-timings';
import { prepareTransfer, type TransferSetup } from './transfer';
import { embeddingSummary } from '../../src/lib/ml/backbone';
import type { RunConfig, VersionMeta } from '../../src/contracts/training';
import { startParallelRun, type ParallelRun } from './parallel-run';
export type { RunConfig };

export interface RunControl {
  isStopped: () => boolean;
  onProgress: (p: TrainProgress) => void;
  backend: BackendInfo;
  /**
   * True once the run has been given up on (its GPU was lost): nothing more may be stored, since
   * reads from a lost device can return garbage, and the interrupted run resumes from the last
   * good checkpoint.
   */
  abandoned?: () => boolean;
  /** Data-parallel training threads on the WASM backend (parallel-run.ts); absent or 1: this thread alone. */
  cpuThreads?: number;
}

export class RefusedError extends Error {}

export { PLATEAU };

/** Labeled samples from finished imports, without label conflicts (and without auto-accepted labels if asked). */
export async function trainableSamples(projectId: string, options: { excludeAutoLabels?: boolean } = {}): Promise<SampleRecord[]> {
  const [{ samples }, sessions] = await Promise.all([listSamples(projectId), listImports(projectId)]);
  const unfinished = new Set(sessions.filter((s) => s.state === 'running').map((s) => s.id));
  return samples.filter(
    (s) =>
      s.label !== null &&
      !s.flags.includes('conflict') &&
      !unfinished.has(s.importId) &&
      !(options.excludeAutoLabels && s.labelSource?.kind === 'model' && s.labelSource.accepted === 'auto'),
  );
}

export function architectureOf(s: TrainSettings, numClasses: number): ArchitectureConfig {
  const common = { inputSize: s.inputSize, channels: s.channels, numClasses, dropout: s.dropout };
  if (s.architecture === 'mobilenet') return { kind: 'mobilenet', ...common, widthMultiplier: s.widthMultiplier };
  if (s.architecture === 'mlp') return { kind: 'mlp', ...common, hidden: s.hidden };
  return { kind: 'cnn', ...common };
}

export interface PreparedInputs {
  transfer: TransferSetup | null;
  architecture: ArchitectureConfig;
  preprocess: PreprocessConfig;
  /** Batches for these samples; a seed shuffles (and augments) them, null keeps order. */
  feed(items: LabeledId[], batchSize: number, seed: number | null): EpochData & { epoch: number; waitMs: number };
}

/**
 * Gets every sample ready to feed: cached embeddings for transfer runs (a backbone is chosen), else
 * the preprocessed-pixel cache. Shared by training runs, tuning trials and the label-quality check.
 */
export async function prepareInputs(
  projectId: string,
  settings: TrainSettings,
  samples: SampleRecord[],
  numClasses: number,
  onProgress: (done: number, total: number, embeddings?: { computed: number; reused: number }) => void,
  isStopped: () => boolean,
  augmentation?: AugmentationSpec,
): Promise<PreparedInputs> {
  const preprocess = preprocessOf(settings);
  let transfer: TransferSetup | null = null;
  if (settings.backboneId) {
    transfer = await prepareTransfer(projectId, settings, samples, numClasses, onProgress, isStopped);
  } else {
    await ensurePreprocessed(projectId, samples, preprocess, (done, total) => onProgress(done, total), isStopped);
  }
  const t = transfer;
  return {
    transfer,
    preprocess: t?.preprocess ?? preprocess,
    architecture: t?.architecture ?? architectureOf(settings, numClasses),
    feed: (items, batchSize, seed) =>
      t
        ? t.data(items, numClasses, batchSize, seed)
        : epochData(projectId, items, preprocess, numClasses, batchSize, seed, augmentation ?? settings.augmentation),
  };
}

/**
 * The samples a run trains on, split. A pipeline run names a dataset version: its frozen items,
 * labels and splits are used as they were snapshotted, whatever has been labeled since. Otherwise
 * the current labels, with the frozen-per-dataset split (existing assignments kept).
 */
async function selectData(
  projectId: string,
  config: RunConfig,
  settings: TrainSettings,
): Promise<{ usable: SampleRecord[]; train: LabeledId[]; val: LabeledId[]; test: LabeledId[] }> {
  const classIndex = new Map(config.labels.map((l, i) => [l, i]));
  if (config.dataset) {
    const version = await getDatasetVersion(config.dataset.versionId);
    if (!version) throw new RefusedError('The dataset version this run trains on no longer exists.');
    const items = unpackItems(version, version.classes);
    const { samples } = await listSamples(projectId);
    const byId = new Map(samples.map((s) => [s.id, s]));
    const missing = items.filter((i) => !byId.has(i.id)).length;
    if (missing) throw new RefusedError(`${missing} image(s) of dataset version ${version.number} were deleted; snapshot the data again.`);
    const usable = items.filter((i) => classIndex.has(i.label)).map((i) => ({ ...byId.get(i.id)!, label: i.label }));
    const of = (split: string): LabeledId[] =>
      items.filter((i) => i.split === split && classIndex.has(i.label)).map((i) => ({ id: i.id, classIndex: classIndex.get(i.label)! }));
    return { usable, train: of('train'), val: of('val'), test: of('test') };
  }
  const samples = await trainableSamples(projectId, { excludeAutoLabels: settings.excludeAutoLabels });
  const problem = splitProblems(samples.map((s) => s.label));
  if (problem) throw new RefusedError(problem);
  const usable = samples.filter((s) => classIndex.has(s.label!));
  // Split: seeded, stratified, and the test split is frozen per dataset (kept across runs).
  const splits = assignSplits(
    usable.map((s) => ({ id: s.id, label: s.label!, split: s.split })),
    { seed: settings.seed, keepExisting: true },
  );
  await updateSplits(projectId, splits);
  const bySplit = (name: string): LabeledId[] =>
    usable.filter((s) => splits.get(s.id) === name).map((s) => ({ id: s.id, classIndex: classIndex.get(s.label!)! }));
  return { usable, train: bySplit('train'), val: bySplit('val'), test: bySplit('test') };
}

export interface RunHooks {
  /** Called after each epoch's checkpoint; a returned reason stops the run there (pruning). */
  afterEpoch?(m: EpochMetrics): string | null;
  /** The test-split report, before the version is saved (or instead of it, with evaluateOnly). */
  onEvaluated?(report: EvaluationReport, labels: string[]): void;
}

/** Sends progress with the run's id and epoch count, and remembers the last one sent. */
class ProgressReporter {
  last: Omit<TrainProgress, 'runId' | 'epochs'> | null = null;
  constructor(
    private readonly runId: string,
    private readonly epochs: number,
    private readonly onProgress: (p: TrainProgress) => void,
  ) {}
  send(p: Omit<TrainProgress, 'runId' | 'epochs'>): void {
    this.last = p;
    this.onProgress({ ...p, runId: this.runId, epochs: this.epochs });
  }
}

/** The best epoch so far (1-based) and its weights, kept for early stopping. */
type BestEpoch = { epoch: number; weights: WeightsBlob };

/**
 * Puts a resumed run's last checkpoint into the model and optimizer; returns the epoch it ends
 * on (0 for a fresh run) and the best epoch so far.
 */
async function restoreCheckpoint(
  run: TrainRunRecord,
  model: LayersModel,
  optimizer: Optimizer,
): Promise<{ startEpoch: number; best: BestEpoch | null; optimizerState?: WeightsBlob }> {
  const checkpoint = run.checkpointEpoch > 0 ? await getCheckpoint(run.id) : undefined;
  if (!checkpoint) return { startEpoch: 0, best: null };
  restoreWeights(model, checkpoint.weights as WeightsBlob);
  if (checkpoint.optimizer) {
    // Adam's slots exist only after a first step; one zero-learning-rate-free step is avoided by
    // restoring lazily: TF.js creates the slots on setWeights when names match.
    await restoreOptimizer(optimizer, checkpoint.optimizer as WeightsBlob).catch(() => undefined);
  }
  const best = checkpoint.best
    ? { epoch: checkpoint.best.epoch, weights: checkpoint.best.weights as WeightsBlob }
    : { epoch: checkpoint.epoch, weights: checkpoint.weights as WeightsBlob };
  return { startEpoch: checkpoint.epoch, best, optimizerState: (checkpoint.optimizer as WeightsBlob | undefined) ?? undefined };
}

interface TrainedEpochs {
  outcome: TrainLoopResult;
  /** The run record with every durable epoch in its history and checkpointEpoch. */
  current: TrainRunRecord;
  best: BestEpoch | null;
  /** A hook stopped the run (pruning). */
  stopReason: string | null;
  /** The epoch whose weights became NaN or infinite (its checkpoint was not stored). */
  weightsDivergedAt: number | null;
  breakdown: { trainMs: number; validationMs: number; checkpointMs: number; waitingForDataMs: number };
  trainMs: number;
}

/**
 * Trains from `startEpoch` and writes a checkpoint after each epoch while the next one trains;
 * stops when asked, when a hook says so, or when the weights stop being finite.
 */
async function trainWithCheckpoints(
  run: TrainRunRecord,
  model: LayersModel,
  optimizer: Optimizer,
  settings: TrainSettings,
  data: { train: LabeledId[]; val: LabeledId[]; feed: PreparedInputs['feed'] },
  resume: { startEpoch: number; best: BestEpoch | null },
  /** When the run started training (performance.now()), checkpoint restore included. */
  started: number,
  ctl: RunControl,
  hooks: RunHooks,
  reporter: ProgressReporter,
  /** Data-parallel members, when the run trains on more than one thread: they step, this thread checkpoints. */
  cores: ParallelRun | null,
): Promise<TrainedEpochs> {
  const { train, val, feed } = data;
  const { startEpoch } = resume;
  let stopReason: string | null = null;
  let weightsDivergedAt: number | null = null;
  // With early stopping, the best epoch so far (1-based) and its weights: the run ends on them, and
  // each checkpoint carries them (when they are not its own) so a resumed run still can.
  let best = resume.best;
  const trainData = feed(train, settings.batchSize, settings.seed);
  trainData.epoch = startEpoch;
  const valData = val.length ? feed(val, settings.batchSize, null) : undefined;
  const batchesPerEpoch = Math.ceil(train.length / settings.batchSize);
  const throttle = new Throttle(125);
  let current: TrainRunRecord = { ...run, state: 'running' };
  let imagesSeen = 0;
  let batchInEpoch = 0;
  // Where the time goes (stored with the version, shown by bench:train): training batches,
  // validation passes, and the part of checkpointing that holds training up (reading the weights).
  // waitingForDataMs is the part of trainMs spent waiting for the batch loader.
  const breakdown = { trainMs: 0, validationMs: 0, checkpointMs: 0, waitingForDataMs: 0 };
  // A checkpoint is written while the next epoch trains: the worker only snapshots the weights
  // (a copy), and IndexedDB's durable commit runs on the browser's storage thread. One write is
  // in flight at a time; a failed write (e.g. the disk is full) fails the run at the next epoch
  // end or when training ends, and the checkpoint before it stays the last good one.
  let checkpointWrite: Promise<void> | null = null;
  const finishCheckpointWrite = async () => {
    const pending = checkpointWrite;
    checkpointWrite = null;
    await pending;
  };
  const outcome = await trainLoop(
    model,
    trainData,
    {
      epochs: settings.epochs,
      startEpoch,
      optimizer,
      validation: valData,
      shouldStop: () => ctl.isStopped() || stopReason !== null || weightsDivergedAt !== null,
      readEvery: 10,
      earlyStopping:
        settings.earlyStoppingPatience > 0
          ? { patience: settings.earlyStoppingPatience, previous: run.history.map((h) => ({ ...h, epoch: h.epoch - 1 })) }
          : undefined,
      seed: settings.seed,
      // Halve the rate after 2 epochs without improvement; early stopping ends the run later.
      reduceOnPlateau: settings.earlyStoppingPatience > 2 ? PLATEAU(settings.learningRate) : undefined,
      parallel: cores?.parallel,
    },
    {
      onBatch: ({ epoch, batch, loss, acc }) => {
        batchInEpoch = batch + 1;
        imagesSeen = (epoch - startEpoch) * train.length + batchInEpoch * settings.batchSize;
        if (!throttle.ready()) return;
        const seconds = (performance.now() - started) / 1000;
        reporter.send({
          phase: 'training',
          done: batchInEpoch,
          total: batchesPerEpoch,
          epoch: epoch + 1,
          batch: { step: epoch * batchesPerEpoch + batch, loss, acc },
          imagesPerSecond: imagesSeen / seconds,
        });
      },
      onEpoch: async (m) => {
        const epochMetrics: EpochMetrics = { epoch: m.epoch + 1, loss: m.loss, acc: m.acc, valLoss: m.valLoss, valAcc: m.valAcc };
        breakdown.trainMs += m.trainMs;
        breakdown.validationMs += m.validationMs;
        breakdown.waitingForDataMs = trainData.waitMs;
        if (ctl.abandoned?.()) return;
        const snapshotStart = performance.now();
        const weights = await captureWeights(model);
        // Never store a checkpoint with NaN/Inf weights: the last good one stays, and the run ends
        // diverged (the loss can stay finite while the weights overflow, e.g. on WebGPU).
        if (!allFinite(weights)) {
          weightsDivergedAt = epochMetrics.epoch;
          return;
        }
        if (ctl.abandoned?.()) return;
        const opt = cores ? await cores.optimizerState() : await captureOptimizer(optimizer);
        if (ctl.abandoned?.()) return;
        if (m.improved) best = { epoch: epochMetrics.epoch, weights };
        await finishCheckpointWrite();
        breakdown.checkpointMs += performance.now() - snapshotStart;
        current = { ...current, history: [...current.history.filter((h) => h.epoch < epochMetrics.epoch), epochMetrics] };
        const epochEnd = {
          phase: 'training' as const,
          done: batchesPerEpoch,
          total: batchesPerEpoch,
          epoch: epochMetrics.epoch,
          imagesPerSecond: ((epochMetrics.epoch - startEpoch) * train.length) / ((performance.now() - started) / 1000),
        };
        const write = saveCheckpoint(current, {
          runId: run.id,
          epoch: epochMetrics.epoch,
          weights,
          optimizer: opt,
          savedAt: Date.now(),
          best: best && best.epoch !== epochMetrics.epoch ? best : null,
        }).then(() => {
          current = { ...current, checkpointEpoch: Math.max(current.checkpointEpoch, epochMetrics.epoch) };
          // The epoch is shown once its checkpoint is durable, so every epoch on screen survives
          // a crash. The next epoch is usually under way by then: keep its live position.
          const lastProgress = reporter.last;
          const live = lastProgress && lastProgress.epoch > epochMetrics.epoch ? { ...lastProgress, batch: undefined } : epochEnd;
          reporter.send({ ...live, epochMetrics });
        });
        write.catch(() => undefined); // handled where it is awaited; this only keeps it from being reported as unhandled meanwhile
        checkpointWrite = write;
        stopReason = hooks.afterEpoch?.(epochMetrics) ?? null;
      },
    },
  ).finally(() => (ctl.abandoned?.() ? undefined : finishCheckpointWrite()));
  return { outcome, current, best, stopReason, weightsDivergedAt, breakdown, trainMs: performance.now() - started };
}

/** How a run that did not train to the end (diverged, stopped, pruned, a tuning trial) ends; null if it did. */
function unfinishedEnd(t: TrainedEpochs, config: RunConfig, note: string | null): TrainRunRecord | null {
  const { outcome, current, weightsDivergedAt, stopReason } = t;
  if (outcome.status === 'diverged') {
    return {
      ...current,
      state: 'diverged',
      message: withNote(
        `${outcome.reason ?? 'The loss became NaN or infinite.'} The last good checkpoint (epoch ${current.checkpointEpoch}) is kept.`,
        note,
      ),
    };
  }
  if (weightsDivergedAt !== null) {
    return {
      ...current,
      state: 'diverged',
      message: withNote(
        `The weights became NaN or infinite in epoch ${weightsDivergedAt}: training diverged. Try a lower learning rate. The last good checkpoint (epoch ${current.checkpointEpoch}) is kept.`,
        note,
      ),
    };
  }
  if (stopReason !== null) return { ...current, state: 'stopped', message: stopReason };
  if (outcome.status === 'stopped') {
    return { ...current, state: 'stopped', message: withNote(`Stopped. Resume continues from epoch ${current.checkpointEpoch}.`, note) };
  }
  // A tuning trial ends here: its final checkpoint stays so "register best" can evaluate and save it.
  if (config.trial) return { ...current, state: 'trained', message: withNote(outcome.reason ?? null, note) };
  return null;
}

/** Class probabilities for the test split, in its order. */
async function predictTest(model: LayersModel, feed: PreparedInputs['feed'], test: LabeledId[]): Promise<Float32Array> {
  const testData = feed(test, 128, null);
  return predictAll(
    model,
    (async function* () {
      for await (const b of testData.batches()) {
        b.ys.dispose();
        yield b.xs;
      }
    })(),
  );
}

export async function executeRun(run: TrainRunRecord, ctl: RunControl, hooks: RunHooks = {}): Promise<TrainRunRecord> {
  const config = run.config as RunConfig;
  const { labels } = config;
  const settings = withDefaults(config.settings);
  const refused = validateSettings(settings);
  if (refused) throw new RefusedError(refused);
  const { usable, train, val, test } = await selectData(run.projectId, config, settings);

  const reporter = new ProgressReporter(run.id, settings.epochs, ctl.onProgress);
  const numClasses = labels.length;
  reporter.send({ phase: 'preprocessing', done: 0, total: usable.length, epoch: 0 });
  const inputs = await prepareInputs(
    run.projectId,
    settings,
    usable,
    numClasses,
    (done, total, embeddings) =>
      reporter.send({ phase: 'preprocessing', done, total, epoch: 0, ...(embeddings ? { embeddings: { ...embeddings } } : {}) }),
    ctl.isStopped,
    config.augmentation,
  );
  const { transfer, architecture, feed } = inputs;
  const note = transfer ? embeddingSummary(transfer.counts) : null;
  if (ctl.isStopped()) return { ...run, state: 'stopped', message: withNote('Stopped while preparing images.', note) };

  const model = buildModel(architecture, settings.seed);
  // Transfer heads train from cached embeddings in seconds, so only pixel models warm-start.
  if (config.init && !transfer && run.checkpointEpoch === 0) await warmStart(model, config.init.versionId);
  const optimizer = makeOptimizer(settings.optimizer, settings.learningRate, settings.momentum);
  const started = performance.now();
  let cores: ParallelRun | null = null;
  try {
    const resume = await restoreCheckpoint(run, model, optimizer);
    cores = await startParallelRun(ctl.cpuThreads ?? 1, ctl.backend, architecture, settings, model, resume.optimizerState);
    const trained = await trainWithCheckpoints(
      run,
      model,
      optimizer,
      settings,
      { train, val, feed },
      resume,
      started,
      ctl,
      hooks,
      reporter,
      cores,
    );
    const ended = unfinishedEnd(trained, config, note);
    if (ended) return ended;
    const { outcome, current, best } = trained;

    // Early stopping ends on the best epoch's weights, not the last (patience) epochs' ones.
    const keptBest =
      outcome.bestEpoch !== undefined && best !== null && best.epoch === outcome.bestEpoch + 1 && best.epoch < outcome.epochsDone
        ? best.epoch
        : null;
    if (keptBest !== null) restoreWeights(model, best!.weights);
    reporter.send({ phase: 'evaluating', done: 0, total: test.length, epoch: settings.epochs });
    const probs = await predictTest(model, feed, test);
    const report = evaluate(
      test.map((t) => t.classIndex),
      probs,
      numClasses,
    );
    hooks.onEvaluated?.(report, labels);
    if (config.evaluateOnly) return { ...current, state: 'trained' };
    reporter.send({ phase: 'saving', done: 0, total: 1, epoch: settings.epochs });
    const saved = transfer
      ? await transfer.versionModel(model)
      : { model, meta: undefined as Partial<VersionMeta> | undefined, release: () => undefined };
    const extraMeta = {
      ...saved.meta,
      ...(config.origin ? { origin: config.origin } : {}),
      ...(config.init ? { warmStartFrom: config.init.versionId } : {}),
      ...(config.dataset ? { datasetVersionId: config.dataset.versionId } : {}),
    };
    const version = await saveTrainedVersion({
      model: saved.model,
      extraMeta,
      run: current,
      settings,
      labels,
      preprocess: inputs.preprocess,
      architecture,
      report,
      testIds: test.map((t) => t.id),
      testPredicted: predictions(probs, numClasses),
      testTrue: test.map((t) => t.classIndex),
      splitCounts: { train: train.length, val: val.length, test: test.length },
      backend: cores
        ? { ...ctl.backend, adapter: `${ctl.backend.adapter ?? 'WASM'}; data parallel over ${cores.threads} training threads` }
        : ctl.backend,
      timings: {
        ...runTimings({
          loopMs: trained.trainMs,
          epochsDone: outcome.epochsDone,
          startEpoch: resume.startEpoch,
          trainImages: train.length,
          priorMs: config.priorTrainMs,
        }),
        breakdown: trained.breakdown,
      },
      earlyStopped: outcome.status === 'early-stopped',
    }).finally(saved.release);
    if (!config.keepCheckpoint) await deleteCheckpoint(run.id);
    return {
      ...current,
      state: 'completed',
      checkpointEpoch: config.keepCheckpoint ? current.checkpointEpoch : 0,
      versionId: version.id,
      message: withNote(
        [
          outcome.status === 'early-stopped' ? `Stopped early after epoch ${outcome.epochsDone}: validation loss stopped improving.` : null,
          keptBest !== null ? `The version keeps the weights of epoch ${keptBest}, the one with the lowest validation loss.` : null,
        ]
          .filter(Boolean)
          .join(' ') || null,
        note,
      ),
    };
  } finally {
    cores?.close();
    model.dispose();
    disposeOptimizer(optimizer);
  }
}

function withNote(message: string | null, note: string | null): string | null {
  return [message, note].filter(Boolean).join(' ') || null;
}

export async function persist(run: TrainRunRecord): Promise<TrainRunRecord> {
  await saveRun(run);
  return run;
}
