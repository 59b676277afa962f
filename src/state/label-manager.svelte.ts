// The Label stage's state: the queue (unlabeled pool, pre-labels, auto-accepted, likely label
// errors), the cursor and selection, every edit as an undoable change set, pre-labeling and
// "Retrain now" through the workers, and labels in and out as CSV or an ImageFolder zip.
import * as Comlink from 'comlink';
import { clearPrelabels, listPrelabels, setPrelabelsRejected, writeLabels } from '../db/labels';
import { getMeta } from '../db/meta';
import { listAliases, listVersions } from '../db/models';
import type { LabelSource, ModelVersionRecord, PrelabelRecord } from '../contracts/records';
import {
  addClass,
  assignLabels,
  invertChangeSet,
  mergeClasses,
  renameClass,
  resolveConflicts,
  type ChangeSet,
} from '../lib/label/label-ops';
import { labelsToCsv, parseLabelsCsv, planLabelImport, type LabelImportPlan } from '../lib/label/labels-csv';
import type { UncertaintyStrategy } from '../lib/label/uncertainty';
import { DEFAULT_ACQUISITION, type AcquisitionStrategy } from '../lib/label/acquisition';
import {
  buildQueue,
  byName,
  classesAfterChange,
  conflictOptions,
  patchSamples,
  qualityNotesOf,
  queueCounts,
  rankPool,
  type LabelMode,
  type Prelabel,
  type QualityNote,
  type QueueKind,
} from '../lib/label/queue';
import { DEFAULT_SETTINGS, withDefaults, type TrainSettings } from '../lib/train/train-config';
import type { LabelQualityReport, LabelQualityProgress } from '../../workers/train.api';
import { inferClient, trainClient } from '../clients/ml-clients';
import { importClient } from '../clients/import-client';
import type { DatasetManager } from './dataset-manager.svelte';
import { LabelHistory } from './label-history.svelte';
import { errorMessage } from '../lib/util/errors';

export { conflictOptions };
export type { LabelMode, Prelabel, QualityNote, QueueKind };

export class LabelManager {
  queueKind = $state<QueueKind>('unlabeled');
  mode = $state<LabelMode>('grid');
  order = $state<'uncertainty' | 'file'>('uncertainty');
  strategy = $state<UncertaintyStrategy>('margin');
  /** How the next batch is chosen (measured by npm run bench:label; the default is the best there). */
  acquisition = $state<AcquisitionStrategy>(DEFAULT_ACQUISITION);
  batchSize = $state(50);
  cursor = $state(0);
  selected = $state(new Set<string>());
  prelabels = $state.raw(new Map<string, Prelabel>());
  /** Uncertainty order of the unlabeled pool: ids, the diverse next batch first. */
  ranking = $state.raw<string[]>([]);
  nextBatch = $state.raw(new Set<string>());
  versions = $state.raw<ModelVersionRecord[]>([]);
  versionId = $state<string | null>(null);
  autoAccept = $state(false);
  autoThreshold = $state(0.95);
  /** Every edit as a change set, for undo and redo. */
  readonly history = new LabelHistory();
  busy = $state<string | null>(null);
  progress = $state<{ done: number; total: number } | null>(null);
  message = $state<string | null>(null);
  error = $state<string | null>(null);
  quality = $state.raw<LabelQualityReport | null>(null);
  qualityNotes = $state.raw(new Map<string, QualityNote>());
  importPlan = $state.raw<LabelImportPlan | null>(null);
  retrainEpochs = $state(3);
  lastCycleSeconds = $state<number | null>(null);

  constructor(private readonly dataset: DatasetManager) {}

  get projectId(): string {
    return this.dataset.projectId;
  }

  get classes(): string[] {
    return this.dataset.project?.labels ?? [];
  }

  queue = $derived.by(() => buildQueue(this.dataset.samples, this.queueKind, this.prelabels, this.ranking, this.qualityNotes, this.order));
  current = $derived(this.queue[Math.min(this.cursor, this.queue.length - 1)] ?? null);
  counts = $derived.by(() => queueCounts(this.dataset.samples, this.prelabels, this.qualityNotes.size));

  async load(): Promise<void> {
    const [versions, aliases, records, report] = await Promise.all([
      listVersions(this.projectId),
      listAliases(this.projectId),
      listPrelabels(this.projectId),
      getMeta<LabelQualityReport>(`label-quality:${this.projectId}`),
    ]);
    this.versions = versions;
    const production = aliases.find((a) => a.alias === 'production')?.versionId;
    if (!this.versionId || !versions.some((v) => v.id === this.versionId)) this.versionId = production ?? versions[0]?.id ?? null;
    this.setPrelabels(records);
    if (report) this.setQuality(report);
  }

  private setPrelabels(records: PrelabelRecord[]): void {
    const map = new Map<string, Prelabel>();
    for (const r of records)
      map.set(r.id, { versionId: r.versionId, predicted: r.predicted, confidence: r.confidence, rejected: r.rejected });
    this.prelabels = map;
    this.rerank(records);
  }

  /** Orders the unlabeled pool by the chosen uncertainty, with the next batch (chosen by `acquisition`) first. */
  rerank(records?: PrelabelRecord[]): void {
    void (records ? Promise.resolve(records) : listPrelabels(this.projectId)).then((all) => {
      const { ranking, nextBatch } = rankPool(all, this.dataset.samples, {
        strategy: this.strategy,
        acquisition: this.acquisition,
        batchSize: this.batchSize,
      });
      this.ranking = ranking;
      this.nextBatch = nextBatch;
    });
  }

  private async run(what: string, work: () => Promise<void>): Promise<void> {
    this.busy = what;
    this.error = null;
    this.message = null;
    try {
      await work();
    } catch (err) {
      this.error = errorMessage(err);
    } finally {
      this.busy = null;
      this.progress = null;
    }
  }

  // ---- edits -------------------------------------------------------------------------------

  /** Writes a change set, patches the in-memory samples, and records it for undo. */
  private async apply(cs: ChangeSet, record = true): Promise<void> {
    if (cs.changes.length === 0 && cs.classesBefore.join('\n') === cs.classesAfter.join('\n')) return;
    await writeLabels(
      this.projectId,
      cs.changes.map((c) => ({ id: c.id, ...c.after })),
      { before: cs.classesBefore, after: cs.classesAfter },
    );
    this.dataset.samples = patchSamples(this.dataset.samples, cs);
    if (this.dataset.project) {
      this.dataset.project = { ...this.dataset.project, labels: classesAfterChange(this.dataset.project.labels, cs, this.dataset.samples) };
    }
    if (record) this.history.record(cs);
    this.message = cs.description;
  }

  private targets(): string[] {
    if (this.selected.size) return [...this.selected];
    return this.current ? [this.current.id] : [];
  }

  assign(label: string | null, ids = this.targets()): Promise<void> {
    return this.run('label', async () => {
      const cs = assignLabels(this.dataset.samples, ids, label, label === null ? null : { kind: 'human' }, Date.now(), this.classes);
      await this.apply(cs);
      this.afterEdit(ids);
    });
  }

  /**
   * Number key n (1-based; 0 = 10th) labels the targets with the n-th class. In the Conflicts
   * queue it settles the current image's conflict with the n-th label it arrived with.
   */
  assignByKey(n: number): Promise<void> {
    if (this.queueKind === 'conflicts') {
      const options = this.current ? conflictOptions(this.current) : [];
      const pick = options[n - 1];
      if (!pick) {
        this.error = options.length
          ? `Press 1 to ${options.length} to keep one of this image's labels.`
          : 'There is no label conflict here.';
        return Promise.resolve();
      }
      return this.resolveConflict(pick);
    }
    const cls = this.classes[n - 1];
    if (!cls) {
      this.error = `There is no class ${n}; add classes first.`;
      return Promise.resolve();
    }
    return this.assign(cls);
  }

  /** Keeps `label` for the conflicted targets: they get it (from a person) and go back into training. */
  resolveConflict(label: string, ids = this.targets()): Promise<void> {
    return this.run('label', async () => {
      const cs = resolveConflicts(this.dataset.samples, ids, label, Date.now(), this.classes);
      if (!cs.changes.length) throw new Error('There is no label conflict here.');
      await this.apply(cs);
      this.afterEdit(ids);
    });
  }

  /** What the Accept / Reject / Remove buttons would act on (nothing: they are disabled). */
  targetInfo = $derived.by(() => {
    const ids = this.selected.size ? [...this.selected] : this.current ? [this.current.id] : [];
    const byId = new Map(this.dataset.samples.map((s) => [s.id, s]));
    let withPrelabel = 0;
    let withLabel = 0;
    for (const id of ids) {
      const p = this.prelabels.get(id);
      if (p && !p.rejected && byId.get(id)?.label === null) withPrelabel++;
      if (byId.get(id)?.label != null) withLabel++;
    }
    return { count: ids.length, withPrelabel, withLabel };
  });

  /** Enter: take the model's pre-label for the targets (recorded as model + accepted by a person). */
  accept(ids = this.targets()): Promise<void> {
    return this.run('accept', async () => {
      const sources = ids
        .map((id) => ({ id, p: this.prelabels.get(id) }))
        .filter((x): x is { id: string; p: Prelabel } => !!x.p && !x.p.rejected);
      if (!sources.length) throw new Error('No pre-label to accept here: pre-label with a model first.');
      await this.applyModelLabels(sources, 'human');
      this.afterEdit(ids);
    });
  }

  private async applyModelLabels(items: Array<{ id: string; p: Prelabel }>, accepted: 'human' | 'auto'): Promise<void> {
    // One change set for all (one undo step), built class by class.
    let classes = this.classes;
    const merged: ChangeSet = { description: '', changes: [], classesBefore: [...classes], classesAfter: [] };
    const now = Date.now();
    for (const { id, p } of items) {
      const source: LabelSource = { kind: 'model', versionId: p.versionId, confidence: p.confidence, accepted };
      const cs = assignLabels(this.dataset.samples, [id], p.predicted, source, now, classes);
      merged.changes.push(...cs.changes);
      classes = cs.classesAfter;
    }
    merged.classesAfter = classes;
    merged.description =
      accepted === 'auto'
        ? `Auto-accepted ${merged.changes.length} pre-labels`
        : `Accepted ${merged.changes.length} pre-label${merged.changes.length === 1 ? '' : 's'}`;
    await this.apply(merged);
  }

  /** X: the pre-label is wrong; it is no longer offered and the image stays unlabeled. */
  reject(ids = this.targets()): Promise<void> {
    return this.run('reject', async () => {
      const withPre = ids.filter((id) => this.prelabels.has(id));
      await setPrelabelsRejected(this.projectId, withPre, true);
      const map = new Map(this.prelabels);
      for (const id of withPre) map.set(id, { ...map.get(id)!, rejected: true });
      this.prelabels = map;
      this.message = `Rejected ${withPre.length} pre-label${withPre.length === 1 ? '' : 's'}`;
    });
  }

  /** Accepts every pending pre-label at or above the threshold, marked auto (never seen by a person). */
  applyAutoAccept(): Promise<void> {
    return this.run('auto-accept', async () => {
      const t = this.autoThreshold;
      if (!(t > 0 && t <= 1)) throw new Error('The threshold must be above 0 and at most 1.');
      const items = this.dataset.samples
        .filter((s) => s.label === null)
        .map((s) => ({ id: s.id, p: this.prelabels.get(s.id) }))
        .filter((x): x is { id: string; p: Prelabel } => !!x.p && !x.p.rejected && x.p.confidence >= t);
      await this.applyModelLabels(items, 'auto');
      if (!items.length) this.message = `No pre-label reaches ${Math.round(t * 100)}%.`;
      this.rerank();
    });
  }

  undo(): Promise<void> {
    const cs = this.history.undoStack.at(-1);
    if (!cs) return Promise.resolve();
    return this.run('undo', async () => {
      await this.apply(invertChangeSet(cs), false);
      this.history.undone(cs);
      this.rerank();
    });
  }

  redo(): Promise<void> {
    const cs = this.history.redoStack.at(-1);
    if (!cs) return Promise.resolve();
    return this.run('redo', async () => {
      await this.apply(cs, false);
      this.history.redone(cs);
      this.rerank();
    });
  }

  addClass(name: string): Promise<void> {
    return this.run('class', async () => {
      const after = addClass(this.classes, name);
      await this.apply({ description: `Add class “${name.trim()}”`, changes: [], classesBefore: [...this.classes], classesAfter: after });
    });
  }

  renameClass(from: string, to: string): Promise<void> {
    return this.run('class', async () => {
      const cs = renameClass(this.dataset.samples, from, to, this.classes, Date.now());
      await this.apply(cs);
      this.message = `${cs.description}: ${cs.changes.length} images updated`;
    });
  }

  mergeClasses(from: string[], into: string): Promise<void> {
    return this.run('class', async () => {
      const cs = mergeClasses(this.dataset.samples, from, into, this.classes, Date.now());
      await this.apply(cs);
      this.message = `${cs.description}: ${cs.changes.length} images updated`;
    });
  }

  private afterEdit(ids: string[]): void {
    // Labeled images leave the unlabeled queue, so the same index is the next one; in a queue
    // they stay in (All, Labeled), step on, as Label Studio and CVAT do.
    const single = !this.selected.size && ids.length === 1;
    if (this.selected.size) this.selected = new Set();
    if (this.queueKind === 'issues') {
      const notes = new Map(this.qualityNotes);
      for (const id of ids) notes.delete(id);
      this.qualityNotes = notes;
    }
    const still = single ? this.queue.findIndex((s) => s.id === ids[0]) : -1;
    this.cursor = Math.min(still >= 0 ? still + 1 : this.cursor, Math.max(0, this.queue.length - 1));
  }

  // ---- navigation -----------------------------------------------------------------------------

  move(delta: number): void {
    if (!this.queue.length) return;
    this.cursor = Math.max(0, Math.min(this.queue.length - 1, this.cursor + delta));
  }

  toggle(id: string): void {
    const next = new Set(this.selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    this.selected = next;
  }

  selectAll(): void {
    this.selected = new Set(this.queue.map((s) => s.id));
  }

  selectNextBatch(): void {
    this.selected = new Set([...this.nextBatch].filter((id) => this.queue.some((s) => s.id === id)));
  }

  // ---- model-assisted -------------------------------------------------------------------------

  /** Pre-labels the unlabeled pool with the chosen version, then re-ranks (and auto-accepts if on). */
  prelabel(versionId = this.versionId): Promise<void> {
    return this.run('prelabel', async () => {
      if (!versionId) throw new Error('Train a model first (or pick a version) to pre-label with.');
      const ids = this.dataset.samples.filter((s) => s.label === null).map((s) => s.id);
      if (!ids.length) throw new Error('Every image is labeled: there is nothing to pre-label.');
      const r = await inferClient.call((api) =>
        api.prelabel(
          this.projectId,
          versionId,
          ids,
          Comlink.proxy((p) => {
            this.progress = { done: p.done, total: p.total };
          }),
        ),
      );
      this.setPrelabels(await listPrelabels(this.projectId));
      this.message = `Pre-labeled ${r.predicted} images (${r.imagesPerSecond.toFixed(0)} images/s).`;
      if (this.autoAccept) {
        this.busy = null;
        await this.applyAutoAccept();
      }
    });
  }

  async clearPrelabels(): Promise<void> {
    await clearPrelabels(this.projectId);
    this.setPrelabels([]);
  }

  /** The loop's turn: fine-tune the chosen version on every label so far, then pre-label and re-rank. */
  retrainNow(): Promise<void> {
    return this.run('retrain', async () => {
      const started = performance.now();
      const base = this.versions.find((v) => v.id === this.versionId);
      const settings: TrainSettings = withDefaults({
        ...((base?.meta.hyperparameters as Partial<TrainSettings>) ?? DEFAULT_SETTINGS),
        epochs: this.retrainEpochs,
        earlyStoppingPatience: 0,
      });
      const outcome = await trainClient.call((api) =>
        api.start(
          this.projectId,
          settings,
          Comlink.proxy((p) => {
            this.progress = { done: p.phase === 'training' ? (p.epoch - 1) * p.total + p.done : 0, total: p.total * p.epochs };
          }),
          base ? { initFromVersionId: base.id } : undefined,
        ),
      );
      if (!outcome.versionId) throw new Error(outcome.message ?? `Retraining ended: ${outcome.state}.`);
      await this.load();
      this.versionId = outcome.versionId;
      this.busy = null;
      await this.prelabel(outcome.versionId);
      this.lastCycleSeconds = (performance.now() - started) / 1000;
      this.message = `Retrained (version ${this.versions.find((v) => v.id === outcome.versionId)?.number ?? '?'}) and re-ranked in ${this.lastCycleSeconds.toFixed(1)} s.`;
    });
  }

  // ---- label quality --------------------------------------------------------------------------

  private setQuality(report: LabelQualityReport): void {
    this.quality = report;
    this.qualityNotes = qualityNotesOf(report, this.dataset.samples);
  }

  checkLabels(settings: TrainSettings, folds: number): Promise<void> {
    return this.run('check', async () => {
      const report = await trainClient.call((api) =>
        api.checkLabels(
          this.projectId,
          { ...settings },
          folds,
          Comlink.proxy((p: LabelQualityProgress) => {
            this.progress = {
              done: p.phase === 'fold' ? (p.fold - 1) * p.total + p.done : p.done,
              total: p.phase === 'fold' ? p.total * p.folds : p.total,
            };
          }),
        ),
      );
      this.setQuality(report);
      this.queueKind = 'issues';
      this.cursor = 0;
      this.message = `Checked ${report.checked} labels with ${report.folds} folds: ${report.issues.length} likely errors, ${report.duplicates.length} disagreeing near-duplicate pairs.`;
    });
  }

  stopWorker(): void {
    void trainClient.call((api) => api.stop());
  }

  // ---- labels in and out ----------------------------------------------------------------------

  exportCsv(): Blob {
    const rows = [...this.dataset.samples]
      .sort((a, b) => a.path.localeCompare(b.path))
      .map((s) => ({ filename: s.path, label: s.label, source: s.labelSource }));
    return new Blob([labelsToCsv(rows)], { type: 'text/csv' });
  }

  exportImageFolder(): Promise<Blob | null> {
    let blob: Blob | null = null;
    return this.run('export', async () => {
      blob = await importClient.call((api) =>
        api.exportImageFolder(
          this.projectId,
          Comlink.proxy((done: number, total: number) => {
            this.progress = { done, total };
          }),
        ),
      );
    }).then(() => blob);
  }

  planCsvImport(text: string): void {
    this.error = null;
    this.importPlan = planLabelImport(parseLabelsCsv(text), this.dataset.samples);
  }

  applyCsvImport(): Promise<void> {
    const plan = this.importPlan;
    if (!plan) return Promise.resolve();
    return this.run('import', async () => {
      const byId = new Map(this.dataset.samples.map((s) => [s.id, s]));
      const now = Date.now();
      const classes = new Set(this.classes);
      const changes = plan.changes.flatMap((c) => {
        const s = byId.get(c.id);
        if (!s) return [];
        if (c.label) classes.add(c.label);
        return [
          {
            id: c.id,
            before: { label: s.label, labelSource: s.labelSource, labeledAt: s.labeledAt },
            after: { label: c.label, labelSource: c.label ? c.source : null, labeledAt: c.label ? now : null },
          },
        ];
      });
      await this.apply({
        description: `Imported ${changes.length} labels from CSV`,
        changes,
        classesBefore: [...this.classes],
        classesAfter: [...classes].sort(byName),
      });
      this.importPlan = null;
      this.rerank();
    });
  }
}
