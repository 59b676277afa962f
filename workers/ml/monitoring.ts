// Monitoring in the inference worker: every logged prediction keeps cheap image statistics and a
// compact sketch of the model's features; drift compares a window of recent predictions with the
// version's training data (the reference, computed once per version and stored).
import * as tf from '@tensorflow/tfjs';
import { getVersion } from '../../src/db/models';
import { listSamples, getOriginal } from '../../src/db/samples';
import { getDatasetVersion } from '../../src/db/datasets';
import {
  appendPredictionLogs,
  getMonitorReference,
  listAlerts,
  listPredictionLogs,
  putAlert,
  putMonitorReference,
  timeOrderedId,
} from '../../src/db/monitoring';
import type { AlertRecord, MonitorReferenceRecord, PredictionInputRecord, PredictionLogRecord } from '../../src/contracts/records';
import type { ImageStats } from '../../src/contracts/monitor';
import { embeddingSketch } from '../../src/lib/monitor/sketch';
import { driftReport, type DriftReport } from '../../src/lib/monitor/drift';
import { STAT_NAMES } from '../../src/lib/monitor/image-stats';
import { unpackItems } from '../../src/lib/dataset/version';
import { mulberry32, shuffleInPlace } from '../../src/lib/ml/random';
import { featuresAndProbs, twoHeaded, type PrelabelModel } from './prelabel';
import { toModelPixelsWithStats } from './pixels';
import { toHex } from '../../src/lib/util/hex';

export interface MonitoredModel extends PrelabelModel {
  /** The model with a second output at its penultimate layer, built once per loaded version. */
  both?: tf.LayersModel;
}

export interface MonitoredPrediction {
  probs: Float32Array;
  sketch: number[];
  stats: ImageStats;
  latencyMs: number;
}

function bothOf(m: MonitoredModel): tf.LayersModel {
  m.both ??= twoHeaded(m.model);
  return m.both;
}

/** Decodes once, predicts, and returns what a log line needs. Latency covers the model only. */
export async function predictMonitored(m: MonitoredModel, image: Blob): Promise<MonitoredPrediction> {
  const { pixels, stats } = await toModelPixelsWithStats(image, image.type, m.preprocess);
  const input = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) input[i] = pixels[i] / 255;
  const t0 = performance.now();
  const { features, probs } = await featuresAndProbs(m, bothOf(m), input, 1);
  return { probs, sketch: embeddingSketch(features), stats, latencyMs: performance.now() - t0 };
}

/** Collects log lines and writes them in batches (one transaction per batch, retention applied). */
export class PredictionLogWriter {
  private logs: PredictionLogRecord[] = [];
  private inputs: PredictionInputRecord[] = [];
  constructor(
    private readonly projectId: string,
    private readonly flushEvery = 64,
  ) {}

  async add(
    entry: Omit<PredictionLogRecord, 'projectId' | 'id' | 'inputId' | 'inputBytes' | 'sentToLabeling'>,
    image: Blob,
  ): Promise<PredictionLogRecord> {
    const data = await image.arrayBuffer();
    const inputId = toHex(await crypto.subtle.digest('SHA-256', data));
    const log: PredictionLogRecord = {
      ...entry,
      projectId: this.projectId,
      id: timeOrderedId(entry.at),
      inputId,
      inputBytes: data.byteLength,
      sentToLabeling: false,
    };
    this.logs.push(log);
    this.inputs.push({ projectId: this.projectId, id: inputId, fileName: entry.fileName, mime: image.type, data });
    if (this.logs.length >= this.flushEvery) await this.flush();
    return log;
  }

  async flush(): Promise<void> {
    if (!this.logs.length) return;
    const [logs, inputs] = [this.logs, this.inputs];
    this.logs = [];
    this.inputs = [];
    await appendPredictionLogs(this.projectId, logs, inputs);
  }
}

/** How many training images describe "normal" for drift: enough for KS and MMD, cheap to compute. */
const REFERENCE_SIZE = 400;

/**
 * The drift reference of a version: statistics and sketches of (up to REFERENCE_SIZE) training
 * images, decoded exactly like predictions are. Stored, so it is computed once per version.
 */
export async function ensureReference(projectId: string, versionId: string, m: MonitoredModel): Promise<MonitorReferenceRecord> {
  const stored = await getMonitorReference(versionId);
  if (stored) return stored;
  const version = await getVersion(versionId);
  if (!version) throw new Error('That model version no longer exists.');
  const meta = version.meta as { labels: string[]; datasetVersionId?: string };
  const { samples } = await listSamples(projectId);
  let train: Array<{ id: string; label: string }>;
  const dataset = meta.datasetVersionId ? await getDatasetVersion(meta.datasetVersionId) : undefined;
  if (dataset) train = unpackItems(dataset, dataset.classes).filter((i) => i.split === 'train');
  else train = samples.filter((s) => s.split === 'train' && s.label !== null).map((s) => ({ id: s.id, label: s.label! }));
  if (!train.length) throw new Error('This version has no training images left to compare with.');
  const classCounts: Record<string, number> = {};
  for (const t of train) classCounts[t.label] = (classCounts[t.label] ?? 0) + 1;

  const picked = shuffleInPlace(train.slice(), mulberry32(7)).slice(0, REFERENCE_SIZE);
  const stats = Object.fromEntries(STAT_NAMES.map((n) => [n, [] as number[]])) as MonitorReferenceRecord['stats'];
  const sketches: number[][] = [];
  for (const item of picked) {
    const original = await getOriginal(projectId, item.id);
    if (!original) continue;
    const p = await predictMonitored(m, new Blob([original.data], { type: original.mime }));
    for (const n of STAT_NAMES) stats[n].push(p.stats[n]);
    sketches.push(p.sketch);
  }
  const record: MonitorReferenceRecord = {
    versionId,
    projectId,
    createdAt: Date.now(),
    count: sketches.length,
    stats,
    sketches,
    classCounts,
  };
  await putMonitorReference(record);
  return record;
}

/** The window drift is measured on: the newest predictions of a version. */
export const DRIFT_WINDOW = 500;

export interface DriftCheck {
  versionId: string;
  report: DriftReport;
  /** Ids of the logs the report covered (oldest first). */
  logIds: string[];
  /** A new alert, when drift was found on predictions no earlier alert covered. */
  alert: AlertRecord | null;
}

export async function checkDrift(projectId: string, versionId: string, m: MonitoredModel): Promise<DriftCheck> {
  const logs = await listPredictionLogs(projectId, { versionId, limit: DRIFT_WINDOW });
  const reference = await ensureReference(projectId, versionId, m);
  const current = Object.fromEntries(STAT_NAMES.map((n) => [n, logs.map((l) => l.stats[n])]));
  const report = driftReport(reference.stats, current, {
    embeddings: { reference: reference.sketches, current: logs.map((l) => l.sketch) },
  });
  const drifted = report.enough && (report.datasetDrift || report.embedding?.drifted === true);
  const logIds = logs.map((l) => l.id);
  let alert: AlertRecord | null = null;
  if (drifted) {
    // One alert per new evidence: fire only if this window has predictions newer than the last alert's.
    const newest = logIds[logIds.length - 1];
    const previous = (await listAlerts(projectId)).find((a) => a.versionId === versionId);
    const coveredUpTo = (previous?.report as { lastLogId?: string } | undefined)?.lastLogId ?? '';
    if (newest > coveredUpTo) {
      const drifting = report.perStat.filter((s) => s.drifted).map((s) => s.name);
      const parts = [
        drifting.length ? `${drifting.length} of ${report.perStat.length} image statistics drifted (${drifting.join(', ')})` : null,
        report.embedding?.drifted ? 'the model’s feature distribution shifted' : null,
      ].filter(Boolean);
      const at = Date.now();
      alert = {
        projectId,
        id: timeOrderedId(at),
        at,
        kind: 'drift',
        versionId,
        report: { ...report, firstLogId: logIds[0], lastLogId: newest, logCount: logIds.length },
        message: `Drift on the last ${logIds.length} predictions: ${parts.join('; ')}.`,
        acknowledged: false,
      };
      await putAlert(alert);
    }
  }
  return { versionId, report, logIds, alert };
}
