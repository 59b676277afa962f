// The Monitor stage's state: a project's logged predictions (newest 20,000), the drift reference
// of the shown version, its alerts; the dashboard numbers are computed here with the pure
// lib/monitor functions. Drift checks run in the inference worker; "send to labeling" imports the
// kept images as unlabeled samples through the ordinary import manager.
import { inferClient } from '../clients/ml-clients';
import { listAliases, listVersions } from '../db/models';
import {
  acknowledgeAlerts,
  DEFAULT_RETENTION,
  getMonitorReference,
  getPredictionInputs,
  listAlerts,
  listPredictionLogs,
  markSentToLabeling,
} from '../db/monitoring';
import type { AlertRecord, AliasRecord, ModelVersionRecord, MonitorReferenceRecord, PredictionLogRecord } from '../contracts/records';
import type { DriftReport } from '../lib/monitor/drift';
import {
  classDistribution,
  confidenceHistogramOverTime,
  DAY_MS,
  latencySummary,
  percentile,
  pickBucket,
  totalVariation,
  volumeOverTime,
} from '../lib/monitor/summary';
import type { DriftCheckResult } from '../../workers/infer.api';
import type { ImportSource } from '../../workers/import.api';
import { imports, type ImportPhase } from './import-manager.svelte';
import { errorMessage } from '../lib/util/errors';

/** Read fresh after an await (TypeScript keeps the narrowing from before it). */
const importPhase = (): ImportPhase => imports.phase;

/** How many logs the page reads: the retention limit, so in practice every stored log. */
export const LOG_CAP = DEFAULT_RETENTION.maxLogs;
export const ALL_VERSIONS = 'all';
export const CONFIDENCE_BINS = 10;

/** What an alert stores: the drift report and the window of logs it covered. */
export type AlertReport = DriftReport & { firstLogId: string; lastLogId: string; logCount: number };

export const alertReport = (alert: AlertRecord): AlertReport => alert.report as AlertReport;

/** The retention rule in words, from the storage limits. */
export function retentionNote(): string {
  const r = DEFAULT_RETENTION;
  return `Keeps the newest ${r.maxLogs.toLocaleString('en-US')} predictions and ${r.maxInputs.toLocaleString('en-US')} images for ${r.maxAgeDays} days`;
}

/** Alerts of a project nobody has acknowledged yet (for a badge on the stage link). */
export async function unacknowledgedAlertCount(projectId: string): Promise<number> {
  return (await listAlerts(projectId)).filter((a) => !a.acknowledged).length;
}

export interface SendOutcome {
  /** Distinct images handed to the importer. */
  images: number;
  /** New samples stored. */
  imported: number;
  /** Images already in the project (stored once, still marked sent). */
  duplicates: number;
  skipped: number;
  /** Predictions whose image was no longer kept or was sent before. */
  notSendable: number;
}

export interface VersionOption {
  id: string;
  label: string;
  logs: number;
}

const EXT: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'image/avif': 'avif',
};

/**
 * A flat, safe, unique file name for an image sent to labeling: no folders (a folder would become a
 * label), no hidden-file dot, an image extension (never .csv or .zip), unique ignoring case.
 */
export function labelingFileName(fileName: string, mime: string, inputId: string, taken: Set<string>): string {
  const base = (fileName.split(/[\\/]/).pop() ?? '')
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x1f\x7f:]/g, '_')
    .replace(/^[._\s]+/, '')
    .trim()
    .slice(0, 120);
  const ext = EXT[mime] ?? 'png';
  let name = base || 'image';
  if (!/\.(png|jpe?g|webp|gif|bmp|avif)$/i.test(name)) name = `${name}.${ext}`;
  if (taken.has(name.toLowerCase())) {
    const dot = name.lastIndexOf('.');
    name = `${name.slice(0, dot)}-${inputId.slice(0, 10)}${name.slice(dot)}`;
  }
  taken.add(name.toLowerCase());
  return name;
}

const mean = (values: number[]) => (values.length ? values.reduce((s, v) => s + v, 0) / values.length : NaN);

export class MonitorManager {
  versions = $state.raw<ModelVersionRecord[]>([]);
  aliases = $state.raw<AliasRecord[]>([]);
  /** The project's logs, oldest first (newest LOG_CAP). */
  logs = $state.raw<PredictionLogRecord[]>([]);
  alerts = $state.raw<AlertRecord[]>([]);
  /** The drift reference of the shown version (made by its first drift check). */
  reference = $state.raw<MonitorReferenceRecord | null>(null);
  /** A version id, or ALL_VERSIONS. */
  versionId = $state<string>(ALL_VERSIONS);
  loaded = $state(false);
  loading = $state(false);
  error = $state<string | null>(null);
  checking = $state(false);
  lastCheck = $state.raw<DriftCheckResult | null>(null);
  sending = $state<string | null>(null);
  sent = $state.raw<SendOutcome | null>(null);
  /** Shown when a send had nothing to do. */
  notice = $state<string | null>(null);
  threshold = $state(0.6);
  /** "Now" for the last-24-hours count, set on each load. */
  now = $state(Date.now());

  private reads = 0;

  constructor(public readonly projectId: string) {}

  // --- what is shown -------------------------------------------------------------------------

  productionId = $derived(this.aliases.find((a) => a.alias === 'production')?.versionId ?? null);

  logCounts = $derived.by(() => {
    const counts = new Map<string, number>();
    for (const l of this.logs) counts.set(l.versionId, (counts.get(l.versionId) ?? 0) + 1);
    return counts;
  });

  /** Versions that have logs, plus the production version, newest first. */
  options = $derived.by((): VersionOption[] => {
    const ids = new Set(this.logCounts.keys());
    if (this.productionId) ids.add(this.productionId);
    const byId = new Map(this.versions.map((v) => [v.id, v]));
    return [...ids]
      .map((id) => {
        const v = byId.get(id);
        const aliases = this.aliases.filter((a) => a.versionId === id).map((a) => a.alias);
        const label = `${v ? `Version ${v.number}` : 'Deleted version'}${aliases.length ? ` (${aliases.join(', ')})` : ''}`;
        return { id, label, logs: this.logCounts.get(id) ?? 0, number: v?.number ?? -1 };
      })
      .sort((a, b) => b.number - a.number)
      .map(({ id, label, logs }) => ({ id, label, logs }));
  });

  shown = $derived(this.versionId === ALL_VERSIONS ? this.logs : this.logs.filter((l) => l.versionId === this.versionId));

  summary = $derived.by(() => {
    const logs = this.shown;
    const since = this.now - DAY_MS;
    const latency = latencySummary(logs.map((l) => l.latencyMs));
    const bySource: Record<string, number> = {};
    for (const l of logs) bySource[l.source] = (bySource[l.source] ?? 0) + 1;
    return {
      count: logs.length,
      last24h: logs.filter((l) => l.at >= since).length,
      p50: latency.p50,
      p95: latency.p95,
      meanConfidence: mean(logs.map((l) => l.confidence)),
      bySource,
      first: logs[0]?.at ?? null,
      last: logs[logs.length - 1]?.at ?? null,
    };
  });

  bucket = $derived(pickBucket(this.summary.first !== null && this.summary.last !== null ? this.summary.last - this.summary.first : 0));

  volume = $derived(volumeOverTime(this.shown, this.bucket.ms));

  confidenceOverTime = $derived(confidenceHistogramOverTime(this.shown, this.bucket.ms, CONFIDENCE_BINS));

  /** p50 and p95 latency per bucket (null in empty buckets), aligned with `volume`. */
  latencyOverTime = $derived.by(() => {
    const rows = this.volume;
    if (!rows.length) return [] as Array<{ start: number; p50: number | null; p95: number | null }>;
    const groups: number[][] = rows.map(() => []);
    const first = rows[0].start;
    for (const l of this.shown) groups[Math.floor((l.at - first) / this.bucket.ms)]?.push(l.latencyMs);
    return rows.map((r, i) => ({
      start: r.start,
      p50: groups[i].length ? percentile(groups[i], 50) : null,
      p95: groups[i].length ? percentile(groups[i], 95) : null,
    }));
  });

  classes = $derived(
    classDistribution(
      this.shown.map((l) => l.predicted),
      this.reference?.classCounts ?? {},
    ),
  );

  /** Total variation between predicted and training class shares; null without both sides. */
  classShift = $derived(this.reference && this.shown.length ? totalVariation(this.classes) : null);

  lowConfidence = $derived(Number.isFinite(this.threshold) ? this.shown.filter((l) => l.confidence < this.threshold) : []);

  /** Low-confidence predictions whose image is kept and was not sent yet. */
  lowConfidenceSendable = $derived(this.lowConfidence.filter((l) => l.inputId && !l.sentToLabeling));

  unacknowledged = $derived(this.alerts.filter((a) => !a.acknowledged).length);

  versionLabel(versionId: string): string {
    const v = this.versions.find((x) => x.id === versionId);
    return v ? `version ${v.number}` : 'a deleted version';
  }

  /** The logs an alert covered: its version's, from its first to its last log id. */
  alertLogs(alert: AlertRecord): PredictionLogRecord[] {
    const r = alertReport(alert);
    if (!r?.firstLogId || !r.lastLogId) return [];
    return this.logs.filter((l) => l.versionId === alert.versionId && l.id >= r.firstLogId && l.id <= r.lastLogId);
  }

  // --- loading -------------------------------------------------------------------------------

  async load(): Promise<void> {
    const read = ++this.reads;
    this.loading = true;
    try {
      const [versions, aliases, logs, alerts] = await Promise.all([
        listVersions(this.projectId),
        listAliases(this.projectId),
        listPredictionLogs(this.projectId, { limit: LOG_CAP }),
        listAlerts(this.projectId),
      ]);
      if (read !== this.reads) return;
      this.versions = versions;
      this.aliases = aliases;
      this.logs = logs;
      this.alerts = alerts;
      this.now = Date.now();
      if (!this.loaded || (this.versionId !== ALL_VERSIONS && !this.options.some((o) => o.id === this.versionId))) {
        this.versionId = this.defaultVersion();
      }
      this.loaded = true;
      await this.loadReference();
    } catch (err) {
      this.error = message(err);
    } finally {
      if (read === this.reads) this.loading = false;
    }
  }

  /** The production version when it has logs (or nothing has), else the newest version with logs. */
  private defaultVersion(): string {
    const prod = this.productionId;
    if (prod && (this.logCounts.has(prod) || this.logCounts.size === 0)) return prod;
    const withLogs = this.options.find((o) => o.logs > 0);
    return withLogs?.id ?? prod ?? ALL_VERSIONS;
  }

  async selectVersion(versionId: string): Promise<void> {
    this.versionId = versionId;
    this.lastCheck = null;
    await this.loadReference();
  }

  private async loadReference(): Promise<void> {
    const id = this.versionId;
    const ref = id === ALL_VERSIONS ? undefined : await getMonitorReference(id);
    if (id === this.versionId) this.reference = ref && ref.projectId === this.projectId ? ref : null;
  }

  private async reloadLogsAndAlerts(): Promise<void> {
    const [logs, alerts] = await Promise.all([listPredictionLogs(this.projectId, { limit: LOG_CAP }), listAlerts(this.projectId)]);
    this.logs = logs;
    this.alerts = alerts;
    this.now = Date.now();
  }

  // --- actions -------------------------------------------------------------------------------

  /** Compares the shown version's newest predictions with its training data (in the inference worker). */
  async checkDrift(): Promise<void> {
    const versionId = this.versionId;
    if (versionId === ALL_VERSIONS || this.checking) return;
    this.checking = true;
    this.error = null;
    try {
      const result = await inferClient.call((api) => api.checkDrift(this.projectId, versionId));
      if (versionId === this.versionId) this.lastCheck = result;
      await this.reloadLogsAndAlerts();
      await this.loadReference();
    } catch (err) {
      this.error = `The drift check failed: ${message(err)}`;
    } finally {
      this.checking = false;
    }
  }

  async acknowledge(alertId: string): Promise<void> {
    this.error = null;
    try {
      await acknowledgeAlerts(this.projectId, [alertId]);
      this.alerts = await listAlerts(this.projectId);
    } catch (err) {
      this.error = message(err);
    }
  }

  sendAlertSamples(alert: AlertRecord): Promise<void> {
    return this.sendToLabeling(
      this.alertLogs(alert).map((l) => l.id),
      `alert-${alert.id}`,
    );
  }

  sendLowConfidence(): Promise<void> {
    return this.sendToLabeling(
      this.lowConfidence.map((l) => l.id),
      'low-confidence',
    );
  }

  /**
   * Imports the kept images of these predictions into the project as unlabeled samples (logs
   * without a kept image, or sent before, are left out; one file per distinct image), then marks
   * the predictions sent. Images already in the project are deduplicated by the importer.
   */
  async sendToLabeling(logIds: string[], what = 'samples'): Promise<void> {
    this.error = null;
    this.notice = null;
    this.sent = null;
    if (imports.busy) {
      this.error = 'Another import is running; send the images to labeling when it has finished.';
      return;
    }
    if (this.sending) return;
    this.sending = what;
    let ours = false;
    try {
      const wanted = new Set(logIds);
      const fresh = await listPredictionLogs(this.projectId, { limit: LOG_CAP });
      const asked = fresh.filter((l) => wanted.has(l.id));
      const picked = asked.filter((l) => l.inputId && !l.sentToLabeling);
      const inputIds = [...new Set(picked.map((l) => l.inputId!))];
      if (inputIds.length === 0) {
        this.notice = 'Nothing to send: these predictions have no kept image, or were sent to labeling already.';
        return;
      }
      const inputs = await getPredictionInputs(this.projectId, inputIds);
      const files: File[] = [];
      const found = new Set<string>();
      const taken = new Set<string>();
      inputs.forEach((rec, i) => {
        if (!rec) return;
        found.add(inputIds[i]);
        const name = labelingFileName(rec.fileName, rec.mime, rec.id, taken);
        files.push(new File([rec.data], name, { type: rec.mime }));
      });
      if (files.length === 0) {
        this.notice = 'Nothing to send: the images of these predictions are no longer kept (retention removed them).';
        return;
      }
      if (imports.busy) throw new Error('Another import is running; send the images to labeling when it has finished.');
      const source: ImportSource = { kind: 'files', name: 'Sent from monitoring', files, paths: files.map((f) => f.name) };
      ours = true;
      await imports.prepare(this.projectId, source);
      if (imports.phase !== 'planned' || !imports.plan) throw new Error(imports.error ?? 'The images could not be prepared for import.');
      await imports.start();
      const report = imports.report;
      if (importPhase() !== 'done' || !report) throw new Error(imports.error ?? 'The import did not finish.');
      if (report.state !== 'complete') throw new Error(report.message ?? `The import was ${report.state}; nothing was marked as sent.`);
      const sentIds = picked.filter((l) => found.has(l.inputId!)).map((l) => l.id);
      await markSentToLabeling(this.projectId, sentIds);
      this.sent = {
        images: files.length,
        imported: report.imported,
        duplicates: report.duplicates,
        skipped: report.skipped.length,
        notSendable: asked.length - sentIds.length,
      };
      // The result is shown here; the Data stage need not show this import's report as well.
      if (importPhase() === 'done' && imports.projectId === this.projectId) imports.dismiss();
      await this.reloadLogsAndAlerts();
    } catch (err) {
      this.error = `Sending to labeling failed: ${message(err)}`;
      // The failure is told here; leave no stale plan or error of this send on the Data stage.
      if (ours && !imports.busy && imports.projectId === this.projectId) imports.cancel();
      if (ours && importPhase() === 'error' && imports.projectId === this.projectId) imports.dismiss();
    } finally {
      this.sending = null;
    }
  }
}

function message(err: unknown): string {
  return errorMessage(err);
}
