// The Label stage's state: the queue (unlabeled pool, pre-labels, auto-accepted, likely label
// errors), the cursor and selection, every edit as an undoable change set, pre-labeling and
// "Retrain now" through the workers, and labels in and out as CSV or an ImageFolder zip.
import * as Comlink from 'comlink';
import { clearPrelabels, listPrelabels, setPrelabelsRejected, writeLabels } from '../db/labels';
import { getMeta } from '../db/meta';
import { listAliases, listVersions } from '../db/models';
import type { LabelSource, ModelVersionRecord, PrelabelRecord, SampleRecord } from '../contracts/records';
import { addClass, assignLabels, invertChangeSet, isAutoLabel, mergeClasses, renameClass, resolveConflicts, type ChangeSet } from '../lib/label/label-ops';
import { labelsToCsv, parseLabelsCsv, planLabelImport, type LabelImportPlan } from '../lib/label/labels-csv';
import { rankByUncertainty, type UncertaintyStrategy } from '../lib/label/uncertainty';
import { DEFAULT_ACQUISITION, acquire, needsFeatures, type AcquisitionStrategy } from '../lib/label/acquisition';
import { hashString } from '../lib/ml/random';
import { DEFAULT_SETTINGS, withDefaults, type TrainSettings } from '../lib/train/train-config';
import type { LabelQualityReport, LabelQualityProgress } from '../../workers/train.api';
import { inferClient, trainClient } from '../clients/ml-clients';
import { importClient } from '../clients/import-client';
import type { DatasetManager } from './dataset-manager.svelte';
import { errorMessage } from '../lib/util/errors';

export type QueueKind = 'unlabeled' | 'prelabeled' | 'auto' | 'issues' | 'conflicts' | 'labeled' | 'all';
export type LabelMode = 'grid' | 'single';

export interface Prelabel {
  versionId: string;
  predicted: string;
  confidence: number;
  rejected: boolean;
}

/** What the label-quality queue shows beside an image. */
export interface QualityNote {
  kind: 'error' | 'duplicate';
  text: string;
  suggested?: string;
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

/** The labels a conflicted image arrived with, in the order offered for keys 1, 2, ... */
export function conflictOptions(s: SampleRecord): string[] {
  if (!s.flags.includes('conflict')) return [];
  return [...new Set([...(s.conflictLabels ?? []), ...(s.label ? [s.label] : [])])];
}

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
  undoStack = $state.raw<ChangeSet[]>([]);
  redoStack = $state.raw<ChangeSet[]>([]);
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

  queue = $derived.by(() => this.buildQueue(this.dataset.samples, this.queueKind, this.prelabels, this.ranking, this.qualityNotes, this.order));
  current = $derived(this.queue[Math.min(this.cursor, this.queue.length - 1)] ?? null);
  counts = $derived.by(() => {
    const s = this.dataset.samples;
    let unlabeled = 0;
    let auto = 0;
    let pre = 0;
    let conflicts = 0;
    for (const x of s) {
      if (x.flags.includes('conflict')) conflicts++;
      if (x.label === null) {
        unlabeled++;
        const p = this.prelabels.get(x.id);
        if (p && !p.rejected) pre++;
      } else if (isAutoLabel(x.labelSource)) auto++;
    }
    return { unlabeled, auto, prelabeled: pre, labeled: s.length - unlabeled, issues: this.qualityNotes.size, conflicts };
  });

  private buildQueue(
    samples: SampleRecord[],
    kind: QueueKind,
    prelabels: Map<string, Prelabel>,
    ranking: string[],
    notes: Map<string, QualityNote>,
    order: 'uncertainty' | 'file',
  ): SampleRecord[] {
    const byId = new Map(samples.map((s) => [s.id, s]));
    if (kind === 'issues') return [...notes.keys()].map((id) => byId.get(id)).filter((s): s is SampleRecord => !!s);
    let list: SampleRecord[];
    switch (kind) {
      case 'unlabeled': list = samples.filter((s) => s.label === null); break;
      case 'prelabeled': list = samples.filter((s) => s.label === null && prelabels.has(s.id) && !prelabels.get(s.id)!.rejected); break;
      case 'auto': list = samples.filter((s) => isAutoLabel(s.labelSource)); break;
      case 'conflicts': list = samples.filter((s) => s.flags.includes('conflict')); break;
      case 'labeled': list = samples.filter((s) => s.label !== null); break;
      default: list = samples.slice();
    }
    if (order === 'uncertainty' && ranking.length && (kind === 'unlabeled' || kind === 'prelabeled')) {
      const rank = new Map(ranking.map((id, i) => [id, i]));
      return list.sort((a, b) => (rank.get(a.id) ?? Infinity) - (rank.get(b.id) ?? Infinity) || a.path.localeCompare(b.path));
    }
    return list.sort((a, b) => a.path.localeCompare(b.path));
  }

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
    for (const r of records) map.set(r.id, { versionId: r.versionId, predicted: r.predicted, confidence: r.confidence, rejected: r.rejected });
    this.prelabels = map;
    this.rerank(records);
  }

  /** Orders the unlabeled pool by the chosen uncertainty, with the next batch (chosen by `acquisition`) first. */
  rerank(records?: PrelabelRecord[]): void {
    void (records ? Promise.resolve(records) : listPrelabels(this.projectId)).then((all) => {
      const unlabeled = new Set(this.dataset.samples.filter((s) => s.label === null).map((s) => s.id));
      // One version's predictions only: probabilities and features of two models do not mix.
      const newest = all.filter((r) => unlabeled.has(r.id)).sort((a, b) => b.createdAt - a.createdAt)[0]?.versionId;
      const rows = all.filter((r) => unlabeled.has(r.id) && r.versionId === newest && !r.rejected);
      if (!rows.length) {
        this.ranking = [];
        this.nextBatch = new Set();
        return;
      }
      const k = rows[0].classes.length;
      const probs = new Float32Array(rows.length * k);
      rows.forEach((r, i) => probs.set(new Float32Array(r.probs), i * k));
      const order = rankByUncertainty(probs, k, this.strategy);
      const dim = rows[0].embedding ? rows[0].embedding.byteLength / 4 : 0;
      const withFeatures = needsFeatures(this.acquisition) && dim > 0 && rows.every((r) => r.embedding && r.embedding.byteLength === dim * 4);
      let emb: Float32Array | null = null;
      if (withFeatures) {
        emb = new Float32Array(rows.length * dim);
        rows.forEach((r, i) => emb!.set(new Float32Array(r.embedding!), i * dim));
      }
      // Seeded by the predicting version, so the same model proposes the same batch every time.
      const batch = acquire({ probs, numClasses: k, features: emb, dim: withFeatures ? dim : 0 }, { strategy: this.acquisition, batchSize: this.batchSize, seed: hashString(newest ?? "") });
      const inBatch = new Set(batch);
      const ranking = [...batch, ...order.filter((i) => !inBatch.has(i))].map((i) => rows[i].id);
      this.ranking = ranking;
      this.nextBatch = new Set(batch.map((i) => rows[i].id));
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
    const after = new Map(cs.changes.map((c) => [c.id, c.after]));
    this.dataset.samples = this.dataset.samples.map((s) => {
      const a = after.get(s.id);
      if (!a) return s;
      const { conflictLabels, ...state } = a;
      const next: SampleRecord = { ...s, ...state };
      if (conflictLabels === null) {
        next.flags = s.flags.filter((f) => f !== 'conflict');
        delete next.conflictLabels;
      } else if (conflictLabels !== undefined) {
        next.flags = s.flags.includes('conflict') ? s.flags : [...s.flags, 'conflict'];
        next.conflictLabels = [...conflictLabels];
      }
      return next;
    });
    if (this.dataset.project) {
      const list = new Set(this.dataset.project.labels);
      for (const c of cs.classesBefore) if (!cs.classesAfter.includes(c)) list.delete(c);
      for (const c of cs.classesAfter) list.add(c);
      for (const s of this.dataset.samples) if (s.label) list.add(s.label);
      this.dataset.project = { ...this.dataset.project, labels: [...list].sort(byName) };
    }
    if (record) {
      this.undoStack = [...this.undoStack.slice(-99), cs];
      this.redoStack = [];
    }
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
        this.error = options.length ? `Press 1 to ${options.length} to keep one of this image's labels.` : 'There is no label conflict here.';
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
    merged.description = accepted === 'auto' ? `Auto-accepted ${merged.changes.length} pre-labels` : `Accepted ${merged.changes.length} pre-label${merged.changes.length === 1 ? '' : 's'}`;
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
    const cs = this.undoStack.at(-1);
    if (!cs) return Promise.resolve();
    return this.run('undo', async () => {
      await this.apply(invertChangeSet(cs), false);
      this.undoStack = this.undoStack.slice(0, -1);
      this.redoStack = [...this.redoStack, cs];
      this.rerank();
    });
  }

  redo(): Promise<void> {
    const cs = this.redoStack.at(-1);
    if (!cs) return Promise.resolve();
    return this.run('redo', async () => {
      await this.apply(cs, false);
      this.redoStack = this.redoStack.slice(0, -1);
      this.undoStack = [...this.undoStack, cs];
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
      const r = await inferClient.call((api) => api.prelabel(this.projectId, versionId, ids, Comlink.proxy((p) => {
        this.progress = { done: p.done, total: p.total };
      })));
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
        api.start(this.projectId, settings, Comlink.proxy((p) => {
          this.progress = { done: p.phase === 'training' ? (p.epoch - 1) * p.total + p.done : 0, total: p.total * p.epochs };
        }),
          base ? { initFromVersionId: base.id } : undefined),
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
    const notes = new Map<string, QualityNote>();
    const current = new Map(this.dataset.samples.map((s) => [s.id, s.label]));
    for (const issue of report.issues) {
      // An issue someone already fixed (label changed since the check) is no longer shown.
      if (current.get(issue.id) !== issue.given) continue;
      notes.set(issue.id, { kind: 'error', suggested: issue.suggested, text: `labeled “${issue.given}”, looks like “${issue.suggested}” (${Math.round(issue.suggestedConfidence * 100)}%)` });
    }
    for (const d of report.duplicates) {
      for (const [id, other, mine, theirs] of [[d.a, d.b, d.labelA, d.labelB], [d.b, d.a, d.labelB, d.labelA]] as const) {
        if (notes.has(id) || current.get(id) !== mine) continue;
        notes.set(id, { kind: 'duplicate', text: `near-duplicate (${(d.similarity * 100).toFixed(1)}%) of an image labeled “${theirs}” (${other.slice(0, 8)})` });
      }
    }
    this.qualityNotes = notes;
  }

  checkLabels(settings: TrainSettings, folds: number): Promise<void> {
    return this.run('check', async () => {
      const report = await trainClient.call((api) =>
        api.checkLabels(this.projectId, { ...settings }, folds, Comlink.proxy((p: LabelQualityProgress) => {
          this.progress = { done: p.phase === 'fold' ? (p.fold - 1) * p.total + p.done : p.done, total: p.phase === 'fold' ? p.total * p.folds : p.total };
        })),
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
    const rows = [...this.dataset.samples].sort((a, b) => a.path.localeCompare(b.path)).map((s) => ({ filename: s.path, label: s.label, source: s.labelSource }));
    return new Blob([labelsToCsv(rows)], { type: 'text/csv' });
  }

  exportImageFolder(): Promise<Blob | null> {
    let blob: Blob | null = null;
    return this.run('export', async () => {
      blob = await importClient.call((api) => api.exportImageFolder(this.projectId, Comlink.proxy((done: number, total: number) => {
        this.progress = { done, total };
      })));
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
        return [{ id: c.id, before: { label: s.label, labelSource: s.labelSource, labeledAt: s.labeledAt }, after: { label: c.label, labelSource: c.label ? c.source : null, labeledAt: c.label ? now : null } }];
      });
      await this.apply({ description: `Imported ${changes.length} labels from CSV`, changes, classesBefore: [...this.classes], classesAfter: [...classes].sort(byName) });
      this.importPlan = null;
      this.rerank();
    });
  }
}
