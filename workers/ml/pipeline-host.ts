// Hosts lib/pipeline's runner in the training worker: what each step does (against IndexedDB and
// TF.js), the fingerprints of what each step reads from outside the pipeline, and the step cache.
import { listSamples, updateSplits } from '../../src/db/samples';
import { deleteRun, getRun, listRuns, saveRun } from '../../src/db/runs';
import { getVersion, listAliases, setAlias } from '../../src/db/models';
import { getDatasetVersion, listDatasetVersions, putDatasetVersion } from '../../src/db/datasets';
import {
  getPipeline,
  getStepCache,
  listPipelineRuns,
  nextRunNumber,
  putStepCache,
  savePipeline,
  savePipelineRun,
} from '../../src/db/pipelines';
import type { DatasetVersionRecord, PipelineRecord, SampleRecord, StudyRecord, TrainRunRecord } from '../../src/contracts/records';
import { getStudy, listTrials, saveStudy } from '../../src/db/studies';
import type { StudyPlan } from '../../src/lib/tune/study';
import type { StudyEnd } from '../../src/lib/tune/runner';
import type { TrainSettings } from '../../src/lib/train/train-config';
import { bestStoredTrial } from './study-host';
import { findStep, effectiveTrainSettings, type PipelineDefinition, type StepKind } from '../../src/lib/pipeline/definition';
import { computeStepKeys, planRun, type StepKeyParts } from '../../src/lib/pipeline/plan';
import { sha256Hex } from '../../src/lib/pipeline/hash';
import { newRunRecord, runPipeline, type PipelineRunRecord, type StepExecutor } from '../../src/lib/pipeline/runner';
import { gateDecision } from '../../src/lib/pipeline/gate';
import { assignSplits, splitProblems, type Split } from '../../src/lib/ml/split';
import {
  datasetVersionHash,
  diffVersions,
  packItems,
  splitCounts,
  unpackItems,
  type DatasetContent,
  type DatasetItem,
} from '../../src/lib/dataset/version';
import { validateAugmentation, type AugmentationSpec } from '../../src/lib/augment/spec';
import { preprocessOf } from '../../src/lib/train/train-config';
import { preprocessHash } from '../../src/lib/preprocess/config';
import { ensurePreprocessed } from './data-feed';
import { cachedIds } from '../../src/db/preprocessed';
import { executeRun, trainableSamples, type RunConfig, type RunControl } from './train-runner';
import { evaluateVersionOn } from './evaluate-version';
import type { TrainProgress } from '../train.api';
import type { PipelinePlan, TriggerInfo, PipelineEvent } from '../../src/contracts/pipeline';
import type { VersionOrigin } from '../../src/contracts/training';
export type { PipelinePlan, TriggerInfo, PipelineEvent };

export interface PipelineControl {
  isCancelled(): boolean;
  onEvent(e: PipelineEvent): void;
  /** Runs one training run (the worker wraps it with its GPU-loss watch and backend choice). */
  train(
    run: TrainRunRecord,
    ctl: Pick<RunControl, 'onProgress' | 'isStopped'>,
    hooks?: Parameters<typeof executeRun>[2],
  ): Promise<TrainRunRecord>;
  /** Runs a tuning study whose trials train on the given dataset version (the Tune stage's host). */
  tune(
    study: StudyRecord,
    labels: string[],
    extras: Pick<RunConfig, 'dataset' | 'augmentation'>,
    ctl: Pick<RunControl, 'onProgress' | 'isStopped'>,
  ): Promise<{ study: StudyRecord; end: StudyEnd }>;
}

/** Snapshots are kept as artifacts in the step cache store under their own content key. */
const artifactKey = (hash: string) => `artifact:snapshot:${hash}`;

interface LabeledSet {
  items: Array<{ id: string; label: string }>;
  hash: string;
}

async function labeledSet(projectId: string, excludeAutoLabels: boolean): Promise<LabeledSet> {
  const samples = await trainableSamples(projectId, { excludeAutoLabels });
  const items = samples.map((s) => ({ id: s.id, label: s.label! })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { items, hash: await sha256Hex(items.map((i) => `${i.id}:${i.label}`).join('\n')) };
}

function productionAlias(def: PipelineDefinition): string {
  return findStep(def, 'promote')?.settings.alias ?? 'production';
}

async function aliasTarget(projectId: string, alias: string): Promise<string | null> {
  return (await listAliases(projectId)).find((a) => a.alias === alias)?.versionId ?? null;
}

interface PipelineOrigin {
  trainKey?: string;
  /** The gate's and promote's fingerprints when this version was registered (what they compared against). */
  fingerprints?: { gate: unknown; promote: unknown };
}

async function originOf(versionId: string | null): Promise<PipelineOrigin | null> {
  if (!versionId) return null;
  return ((await getVersion(versionId))?.meta.origin as PipelineOrigin | undefined) ?? null;
}

/**
 * Cache keys of every step. External inputs: the labeled data (validate, snapshot), the model in
 * production (gate) and where the alias points (promote). When the model in production is this
 * very pipeline's result (same train key), the gate and promote keep the inputs they had when
 * they promoted it, so a rerun with nothing changed is cached end to end.
 */
async function stepKeys(projectId: string, def: PipelineDefinition): Promise<{ keys: StepKeyParts[]; labeled: LabeledSet }> {
  const excludeAuto = findStep(def, 'snapshot')?.settings.excludeAutoLabels ?? false;
  const labeled = await labeledSet(projectId, excludeAuto);
  // The project is part of the data's identity: cached outputs name its versions and runs.
  const data = { projectId, labeled: labeled.items.length, hash: labeled.hash };
  const fingerprints: Record<string, unknown> = {};
  for (const s of def.steps) if (s.kind === 'validate' || s.kind === 'snapshot') fingerprints[s.id] = data;
  const champion = await aliasTarget(projectId, productionAlias(def));
  const trainKey = (await computeStepKeys(def, fingerprints)).find((k) => k.kind === 'train')?.key ?? null;
  const origin = await originOf(champion);
  const self = origin?.trainKey === trainKey && origin.fingerprints ? origin.fingerprints : null;
  for (const s of def.steps) {
    if (s.kind === 'gate') fingerprints[s.id] = self ? self.gate : { champion };
    if (s.kind === 'promote') fingerprints[s.id] = self ? self.promote : { alias: champion };
  }
  return { keys: await computeStepKeys(def, fingerprints), labeled };
}

/** Cached results still usable: what they point at (a run's weights, a version, a dataset) still exists. */
async function usableCache(keys: StepKeyParts[]): Promise<Map<string, Record<string, unknown>>> {
  const usable = new Map<string, Record<string, unknown>>();
  for (const k of keys) {
    const entry = await getStepCache(k.key);
    if (entry && (await stillValid(k.kind, entry.outputs))) usable.set(k.key, entry.outputs);
  }
  return usable;
}

async function stillValid(kind: StepKind, outputs: Record<string, unknown>): Promise<boolean> {
  if (kind === 'snapshot') return !!(await getStepCache(String(outputs.artifact)));
  if (kind === 'split') return !!(await getDatasetVersion(String(outputs.datasetVersionId)));
  if (kind === 'train') {
    const run = await getRun(String(outputs.runId));
    return !!run && run.checkpointEpoch > 0;
  }
  if (kind === 'register') return !!(await getVersion(String(outputs.versionId)));
  return true;
}

function describeChange(kind: StepKind, before: unknown, after: unknown): string | null {
  if (kind === 'validate' || kind === 'snapshot') {
    const b = before as { labeled: number } | null;
    const a = after as { labeled: number };
    if (!b) return 'labeled data changed';
    const delta = a.labeled - b.labeled;
    return delta === 0
      ? 'labels changed (same count, some relabeled)'
      : `labeled data changed: ${delta > 0 ? '+' : ''}${delta} labeled images`;
  }
  if (kind === 'gate') return 'the model in production changed';
  if (kind === 'promote') return 'the alias moved since the last run';
  return null;
}

/** The training run an earlier attempt of this pipeline run's train step started and did not finish, if any. */
async function cutTrainingRun(projectId: string, pipelineRunId: string, stepId: string): Promise<TrainRunRecord | null> {
  const runs = await listRuns(projectId);
  return (
    runs.find((r) => {
      const origin = (r.config as RunConfig).pipelineRun;
      return origin?.runId === pipelineRunId && origin.stepId === stepId && r.state !== 'completed';
    }) ?? null
  );
}

async function previousKeys(pipelineId: string): Promise<StepKeyParts[] | null> {
  const runs = await listPipelineRuns(pipelineId);
  return runs.find((r) => r.keys?.length)?.keys ?? null;
}

export async function planPipeline(pipeline: PipelineRecord): Promise<PipelinePlan> {
  const def = pipeline.definition as PipelineDefinition;
  const { keys, labeled } = await stepKeys(pipeline.projectId, def);
  const cached = await usableCache(keys);
  const plan = planRun(def, keys, { has: (k) => cached.has(k) }, await previousKeys(pipeline.id), {
    describeFingerprintChange: describeChange,
  });
  return { plan, labeled: labeled.items.length };
}

function datasetItems(version: { ids: string[]; labelIndex: number[]; splitCode: number[]; classes: string[] }): DatasetItem[] {
  return unpackItems(version, version.classes);
}

function executors(projectId: string, pipelineId: string, keys: StepKeyParts[], ctl: PipelineControl): Record<StepKind, StepExecutor> {
  const keyOf = (kind: StepKind) => keys.find((k) => k.kind === kind)?.key ?? null;
  const progressOf = (stepId: string) => (p: TrainProgress) => ctl.onEvent({ kind: 'progress', stepId, progress: p });

  /** The trained run's record, ready to go straight to evaluation (no epochs left to train). */
  async function trainedRun(runId: string, extra: Partial<RunConfig>): Promise<TrainRunRecord> {
    const run = await getRun(runId);
    if (!run || run.checkpointEpoch === 0) throw new Error('The trained weights of this run are no longer stored; run the pipeline again.');
    const config = run.config as RunConfig;
    return {
      ...run,
      config: {
        ...config,
        trial: false,
        evaluateOnly: false,
        settings: { ...config.settings, epochs: run.checkpointEpoch },
        ...extra,
      } satisfies RunConfig,
    };
  }

  async function datasetOf(ctxOutputs: Record<string, unknown> | null) {
    const id = String(ctxOutputs?.datasetVersionId ?? '');
    const version = await getDatasetVersion(id);
    if (!version) throw new Error('The dataset version of this run no longer exists.');
    return version;
  }

  /**
   * "Train" by tuning: a study (kept on the Tune stage like any other) whose trials all train on
   * this run's dataset version; its best complete trial's run is this step's trained model.
   */
  async function tuneStep(
    plan: StudyPlan,
    base: TrainSettings,
    version: DatasetVersionRecord,
    run: PipelineRunRecord,
    log: (m: string) => void,
    isCancelled: () => boolean,
    onProgress: (p: TrainProgress) => void,
  ): Promise<{ outputs: Record<string, unknown> }> {
    const now = Date.now();
    const study: StudyRecord = {
      id: crypto.randomUUID(),
      projectId,
      name: `${run.definition.name} · run #${run.number}`,
      plan,
      baseSettings: base,
      state: 'running',
      createdAt: now,
      updatedAt: now,
      elapsedMs: 0,
      message: null,
      registeredVersionId: null,
    };
    log(
      `Tuning: ${plan.strategy} search, up to ${plan.maxTrials} trials${plan.maxMinutes ? ` or ${plan.maxMinutes} minutes` : ''}, on dataset v${version.number} (study “${study.name}” on the Tune stage).`,
    );
    const { study: done, end } = await ctl.tune(
      study,
      version.classes,
      { dataset: { versionId: version.id }, augmentation: version.augmentation as AugmentationSpec },
      { onProgress, isStopped: isCancelled },
    );
    if (end === 'stopped') throw new Error('Cancelled while tuning.');
    const trials = await listTrials(done.id);
    const best = await bestStoredTrial(done);
    if (!best?.runId) throw new Error(`No trial of the study completed (${trials.length} tried): ${done.message ?? 'see the Tune stage'}.`);
    const trained = await getRun(best.runId);
    const counts = ['complete', 'pruned', 'failed'].map((s) => `${trials.filter((t) => t.state === s).length} ${s}`).join(', ');
    log(
      `${trials.length} trials (${counts}); best is trial ${best.number} with ${plan.objective.metric} ${best.value?.toFixed(4)}: ${Object.entries(
        best.params,
      )
        .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(3)) : v}`)
        .join(', ')}.`,
    );
    // Its checkpoint must outlive the study's clean-up: register reads it, maybe in a later run.
    await saveRun({ ...trained!, config: { ...(trained!.config as RunConfig), keepCheckpoint: true } });
    return {
      outputs: {
        runId: best.runId,
        studyId: done.id,
        trials: trials.length,
        bestTrial: best.number,
        params: best.params,
        value: best.value,
        epochs: trained?.checkpointEpoch ?? null,
      },
    };
  }

  return {
    async validate({ step, log }) {
      if (step.kind !== 'validate') throw new Error('wrong step');
      const { samples } = await listSamples(projectId);
      const labeled = samples.filter((s) => s.label !== null);
      const conflicts = samples.filter((s) => s.flags.includes('conflict')).length;
      const perClass: Record<string, number> = {};
      for (const s of labeled) if (!s.flags.includes('conflict')) perClass[s.label!] = (perClass[s.label!] ?? 0) + 1;
      const classes = Object.keys(perClass);
      log(
        `${labeled.length} labeled images in ${classes.length} classes; ${samples.length - labeled.length} unlabeled; ${conflicts} with conflicting labels (left out).`,
      );
      const { minClasses, minPerClass } = step.settings;
      if (classes.length < minClasses)
        throw new Error(`Only ${classes.length} class(es) have labeled images; this pipeline needs at least ${minClasses}.`);
      const small = classes.filter((c) => perClass[c] < minPerClass);
      if (small.length)
        throw new Error(
          `These classes have fewer than ${minPerClass} labeled images: ${small.map((c) => `${c} (${perClass[c]})`).join(', ')}.`,
        );
      return { outputs: { labeled: labeled.length, conflicts, classes: classes.length, perClass } };
    },

    async snapshot({ step, log }) {
      if (step.kind !== 'snapshot') throw new Error('wrong step');
      const set = await labeledSet(projectId, step.settings.excludeAutoLabels);
      const problem = splitProblems(set.items.map((i) => i.label));
      if (problem) throw new Error(problem);
      const artifact = artifactKey(set.hash);
      await putStepCache({ key: artifact, projectId, kind: 'artifact', outputs: { items: set.items }, createdAt: Date.now() });
      const classes = new Set(set.items.map((i) => i.label)).size;
      log(
        `Froze ${set.items.length} labeled images in ${classes} classes${step.settings.excludeAutoLabels ? ' (auto-accepted labels left out)' : ''}.`,
      );
      return { outputs: { artifact, count: set.items.length, classes, labeledHash: set.hash } };
    },

    async split({ step, outputsOf, log, run }) {
      if (step.kind !== 'split') throw new Error('wrong step');
      const snap = await getStepCache(String(outputsOf('snapshot')?.artifact ?? ''));
      if (!snap) throw new Error('The snapshot of this run is no longer stored; run the pipeline again.');
      const items = snap.outputs.items as Array<{ id: string; label: string }>;
      const { samples } = await listSamples(projectId);
      const current = new Map(samples.map((s) => [s.id, s.split]));
      const { train, val, test, seed } = step.settings;
      // The test split is frozen: images keep the split they already have; only new ones are placed.
      const splits = assignSplits(
        items.map((i) => ({ id: i.id, label: i.label, split: current.get(i.id) ?? 'unassigned' })),
        { seed, fractions: { train, val, test }, keepExisting: true },
      );
      await updateSplits(projectId, splits as Map<string, SampleRecord['split']>);
      const pre = findStep(run.definition, 'preprocess');
      const checked = validateAugmentation(pre?.settings.augmentation ?? {});
      if (!checked.ok) throw new Error(`Augmentation settings: ${checked.errors.join(' ')}`);
      const preprocess = preprocessOf(effectiveTrainSettings(run.definition));
      const content: DatasetContent = {
        items: items.map((i) => ({ id: i.id, label: i.label, split: splits.get(i.id) as Split })),
        classes: [...new Set(items.map((i) => i.label))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true })),
        preprocess,
        augmentation: checked.spec,
      };
      // Content-addressed within the project (ids are global keys; two projects may hold the same images).
      const id = await sha256Hex(`${projectId}:${await datasetVersionHash(content)}`);
      const previous = (await listDatasetVersions(projectId))[0];
      const { record, created } = await putDatasetVersion({
        id,
        projectId,
        createdAt: Date.now(),
        ...packItems(content.items, content.classes),
        classes: content.classes,
        preprocess,
        augmentation: content.augmentation,
        origin: { kind: 'pipeline', pipelineId, runId: run.id },
      });
      if (previous && previous.id !== record.id) {
        const diff = diffVersions(
          {
            ...content,
            items: datasetItems(previous),
            classes: previous.classes,
            preprocess: previous.preprocess,
            augmentation: previous.augmentation as AugmentationSpec,
          },
          content,
        );
        log(
          `Against dataset v${previous.number}: +${diff.added.length} added, -${diff.removed.length} removed, ${diff.relabeled.length} relabeled.`,
        );
      }
      const counts = splitCounts(content.items);
      const total = (s: Split) => Object.values(counts[s]).reduce((a, b) => a + b, 0);
      log(
        `${created ? 'New' : 'Same'} dataset version v${record.number}: ${total('train')} train, ${total('val')} validation, ${total('test')} test.`,
      );
      return {
        outputs: { datasetVersionId: record.id, number: record.number, train: total('train'), val: total('val'), test: total('test') },
      };
    },

    async preprocess({ step, outputsOf, log, isCancelled }) {
      if (step.kind !== 'preprocess') throw new Error('wrong step');
      const version = await datasetOf(outputsOf('split'));
      const ids = new Set(version.ids);
      const { samples } = await listSamples(projectId);
      const chosen = samples.filter((s) => ids.has(s.id));
      const config = version.preprocess;
      const hash = preprocessHash(config);
      const before = await cachedIds(hash, projectId);
      const reused = chosen.filter((s) => before.has(s.id)).length;
      const computed = await ensurePreprocessed(projectId, chosen, config, () => undefined, isCancelled);
      if (isCancelled()) throw new Error('Cancelled while preprocessing.');
      log(
        `${config.inputSize}×${config.inputSize}×${config.channels}, ${config.resize}: ${computed} images preprocessed, ${reused} reused from the cache. Augmentation is applied on the fly while training.`,
      );
      return { outputs: { configHash: hash, computed, reused } };
    },

    async train({ step, outputsOf, log, run, isCancelled }) {
      if (step.kind !== 'train') throw new Error('wrong step');
      const version = await datasetOf(outputsOf('split'));
      const settings = effectiveTrainSettings(run.definition);
      if (step.settings.mode === 'tune') return tuneStep(step.settings.plan, settings, version, run, log, isCancelled, progressOf(step.id));
      const now = Date.now();
      const config = {
        settings,
        labels: version.classes,
        dataset: { versionId: version.id },
        augmentation: version.augmentation as AugmentationSpec,
        trial: true,
        keepCheckpoint: true,
        pipelineRun: { runId: run.id, stepId: step.id },
      } satisfies RunConfig;
      // A training run this step started before its tab died (the pipeline run is being resumed):
      // adopt it when it trains the same thing (it continues from its checkpoint), else remove it.
      // Never leave it behind as a 'running' run with a checkpoint that nothing lists.
      const cut = await cutTrainingRun(projectId, run.id, step.id);
      const adopt =
        !!cut &&
        ['running', 'stopped', 'interrupted'].includes(cut.state) &&
        cut.checkpointEpoch > 0 &&
        JSON.stringify((cut.config as RunConfig).settings) === JSON.stringify(settings) &&
        (cut.config as RunConfig).dataset?.versionId === version.id;
      if (cut && !adopt) {
        await deleteRun(cut.id);
        log('Removed the training run the interruption had cut (it could not be continued).');
      }
      const record: TrainRunRecord =
        adopt && cut
          ? { ...cut, state: 'running', message: null }
          : {
              id: crypto.randomUUID(),
              projectId,
              state: 'running',
              createdAt: now,
              updatedAt: now,
              config,
              history: [],
              checkpointEpoch: 0,
              backend: 'unknown',
              adapter: null,
              message: null,
              versionId: null,
            };
      if (adopt && cut) log(`Continuing the training run the interruption cut, from its checkpoint after epoch ${cut.checkpointEpoch}.`);
      else log(`Training ${settings.architecture} for ${settings.epochs} epochs on dataset v${version.number}.`);
      const result = await ctl.train(record, { onProgress: progressOf(step.id), isStopped: isCancelled });
      if (result.state !== 'trained') throw new Error(result.message ?? `Training ended ${result.state}.`);
      const last = result.history[result.history.length - 1];
      log(
        `Trained ${result.checkpointEpoch} epochs${last?.valAcc != null ? `; validation accuracy ${(last.valAcc * 100).toFixed(1)}%` : ''}.`,
      );
      return { outputs: { runId: result.id, epochs: result.checkpointEpoch, valAcc: last?.valAcc ?? null } };
    },

    async evaluate({ step, outputsOf, log }) {
      const runId = String(outputsOf('train')?.runId ?? '');
      let scored: { accuracy: number; macroF1: number; n: number; perClass: Record<string, number> } | null = null;
      await ctl.train(
        await trainedRun(runId, { evaluateOnly: true }),
        { onProgress: progressOf(step.id), isStopped: () => false },
        {
          onEvaluated: (report, labels) => {
            scored = {
              accuracy: report.accuracy,
              macroF1: report.macroF1,
              n: report.n,
              perClass: Object.fromEntries(labels.map((l, i) => [l, report.perClass[i]?.recall ?? 0])),
            };
          },
        },
      );
      if (!scored) throw new Error('The evaluation did not finish.');
      const s = scored as { accuracy: number; macroF1: number; n: number; perClass: Record<string, number> };
      log(`Test accuracy ${(s.accuracy * 100).toFixed(1)}% on ${s.n} images; macro F1 ${s.macroF1.toFixed(3)}.`);
      return { outputs: s };
    },

    async gate({ step, outputsOf, log, run, isCancelled }) {
      if (step.kind !== 'gate') throw new Error('wrong step');
      const candidate = outputsOf('evaluate') as { accuracy: number; perClass: Record<string, number> };
      const alias = productionAlias(run.definition);
      const championId = await aliasTarget(projectId, alias);
      const isSelf = championId !== null && (await originOf(championId))?.trainKey === keyOf('train');
      let champion: { versionId: string; accuracy: number; perClass: Record<string, number> } | null = null;
      if (championId && !isSelf) {
        const version = await datasetOf(outputsOf('split'));
        const test = datasetItems(version).filter((i) => i.split === 'test');
        const score = await evaluateVersionOn(projectId, championId, test, isCancelled);
        const number = (await getVersion(championId))?.number;
        log(`The model in production (v${number}) scores ${(score.accuracy * 100).toFixed(1)}% on the same ${score.n} test images.`);
        champion = { versionId: championId, accuracy: score.accuracy, perClass: score.perClass };
      }
      const { minImprovement, maxClassDrop } = step.settings;
      const decision = isSelf
        ? { pass: true, reasons: ['This model is already in production.'], improvement: 0, worstClass: null }
        : gateDecision({
            candidate: { accuracy: candidate.accuracy, perClass: candidate.perClass },
            champion,
            minImprovement,
            maxClassDrop,
          });
      for (const r of decision.reasons) log(r);
      const outputs = { ...decision, candidateAccuracy: candidate.accuracy, champion, minImprovement, maxClassDrop };
      if (!decision.pass)
        return { outputs, halt: { state: 'rejected', message: `The gate kept the model in production: ${decision.reasons.join(' ')}` } };
      return { outputs };
    },

    async register({ step, outputsOf, log, run }) {
      const runId = String(outputsOf('train')?.runId ?? '');
      const gate = outputsOf('gate');
      const version = await datasetOf(outputsOf('split'));
      const trained = outputsOf('train');
      const tuning = trained?.studyId
        ? { studyId: trained.studyId, trialNumber: trained.bestTrial, params: trained.params, value: trained.value }
        : null;
      const fingerprintOf = (kind: StepKind) => keys.find((k) => k.kind === kind)?.fingerprint ?? null;
      const origin: VersionOrigin = {
        kind: 'pipeline',
        pipelineId,
        pipelineName: run.definition.name,
        pipelineRunId: run.id,
        pipelineRunNumber: run.number,
        datasetVersionId: version.id,
        datasetVersionNumber: version.number,
        trainKey: keyOf('train'),
        fingerprints: { gate: fingerprintOf('gate'), promote: fingerprintOf('promote') },
        gate,
        ...(tuning ? { tuning } : {}),
      };
      const result = await ctl.train(await trainedRun(runId, { origin, keepCheckpoint: true }), {
        onProgress: progressOf(step.id),
        isStopped: () => false,
      });
      if (result.state !== 'completed' || !result.versionId) throw new Error(result.message ?? 'The version could not be saved.');
      await saveRun({ ...result, state: 'completed' });
      const saved = await getVersion(result.versionId);
      if (tuning) {
        // The study's best trial is now a version: the Tune stage must not offer to register it again.
        const study = await getStudy(String(tuning.studyId));
        if (study) await saveStudy({ ...study, registeredVersionId: result.versionId });
      }
      log(`Registered as version ${saved?.number}.`);
      return { outputs: { versionId: result.versionId, number: saved?.number ?? null } };
    },

    async promote({ step, outputsOf, log }) {
      if (step.kind !== 'promote') throw new Error('wrong step');
      const versionId = String(outputsOf('register')?.versionId ?? '');
      const alias = step.settings.alias;
      const previous = await aliasTarget(projectId, alias);
      if (previous !== versionId) await setAlias(projectId, alias, versionId);
      const number = (await getVersion(versionId))?.number;
      log(previous === versionId ? `Version ${number} is already “${alias}”.` : `“${alias}” now points at version ${number}.`);
      return { outputs: { alias, versionId, previous } };
    },
  };
}

/** Starts a new run of the pipeline, or continues `resume` (a run cut by a reload, a cancel or a lost GPU). */
export async function hostPipelineRun(
  pipelineId: string,
  trigger: TriggerInfo,
  ctl: PipelineControl,
  resume?: PipelineRunRecord,
): Promise<PipelineRunRecord> {
  const pipeline = await getPipeline(pipelineId);
  if (!pipeline) throw new Error('That pipeline no longer exists.');
  const def = (resume?.definition ?? pipeline.definition) as PipelineDefinition;
  const { keys, labeled } = await stepKeys(pipeline.projectId, def);
  const cached = await usableCache(keys);
  let record: PipelineRunRecord;
  if (resume) {
    record = { ...resume, state: 'running', message: null };
  } else {
    const plan = planRun(def, keys, { has: (k) => cached.has(k) }, await previousKeys(pipelineId), {
      describeFingerprintChange: describeChange,
    });
    record = newRunRecord({
      id: crypto.randomUUID(),
      pipelineId,
      projectId: pipeline.projectId,
      number: await nextRunNumber(pipelineId),
      definition: def,
      trigger,
      plan,
      now: Date.now(),
    });
  }
  await savePipeline({ ...pipeline, labeledAtLastRun: labeled.items.length, lastRunAt: Date.now() });
  const save = async (r: PipelineRunRecord) => {
    await savePipelineRun(structuredClone(r));
    ctl.onEvent({ kind: 'run', run: r });
  };
  return runPipeline(record, {
    executors: executors(pipeline.projectId, pipelineId, keys, ctl),
    keys,
    cache: {
      get: async (key) => cached.get(key),
      put: (key, kind, outputs) => putStepCache({ key, projectId: pipeline.projectId, kind, outputs, createdAt: Date.now() }),
    },
    save,
    isCancelled: ctl.isCancelled,
  });
}
