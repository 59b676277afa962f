// Runs one planned import: read -> sniff -> decode (pool) -> batched writes -> manifest last.
// Cancel keeps what was committed; a zip bomb discards everything; a full disk stops with usage.
import { sniffImage } from '../src/lib/import/sniff';
import { ZipBombError } from '../src/lib/import/zip-guard';
import { Throttle, estimateRemainingMs, formatBytes } from '../src/lib/util/format';
import type { PlannedEntry } from '../src/lib/import/plan';
import { beginImport, discardImport, finishImport, getImport } from '../src/db/imports';
import { writeSampleBatch, type PreparedSample } from '../src/db/samples';
import type { ImportSession } from '../src/contracts/records';
import type { DecodePool } from './decode-pool';
import type { ImportProgress } from './import.api';
import type { OpenedSource } from './import-sources';
import { errorMessage } from '../src/lib/util/errors';

export const BATCH_SIZE = 128;
/** Entries in flight between reading and writing; bounds memory whatever the dataset size. */
const WINDOW = 24;
const MAX_LISTED = 2000;

export class ImportCancelled extends Error {}

export interface RunContext {
  projectId: string;
  source: OpenedSource;
  entries: PlannedEntry[];
  ignored: number;
  refused: Array<{ path: string; reason: string }>;
  pool: DecodePool;
  resumeImportId?: string;
  isCancelled: () => boolean;
  onProgress: (p: ImportProgress) => void;
}

export async function runImport(ctx: RunContext): Promise<ImportSession> {
  let session: ImportSession;
  const resumed = ctx.resumeImportId ? await getImport(ctx.resumeImportId) : null;
  if (resumed && resumed.projectId === ctx.projectId) {
    session = { ...resumed, state: 'running', skipped: [], conflicts: [], truncated: [], duplicates: 0 };
  } else {
    session = await beginImport(ctx.projectId, { kind: ctx.source.kind, name: ctx.source.name, fileCount: ctx.source.raw.length });
  }
  return navigator.locks.request(`trainyard-import-${session.id}`, () => execute(ctx, session));
}

async function execute(ctx: RunContext, session: ImportSession): Promise<ImportSession> {
  const started = performance.now();
  const total = ctx.entries.length;
  const throttle = new Throttle(125);
  let done = 0;
  let pending: PreparedSample[] = [];
  let writing: Promise<void> = Promise.resolve();
  let fatal: unknown = null;
  const skip = (path: string, reason: string) => {
    if (session.skipped.length < MAX_LISTED) session.skipped.push({ path, reason });
  };
  ctx.refused.forEach((r) => skip(r.path, r.reason));
  session.ignored = ctx.ignored;
  const alreadyImported = session.imported;
  let imported = 0;

  const report = (force = false) => {
    if (!force && !throttle.ready()) return;
    const elapsedMs = performance.now() - started;
    ctx.onProgress({
      done,
      total,
      imported,
      duplicates: session.duplicates,
      skipped: session.skipped.length,
      elapsedMs,
      etaMs: estimateRemainingMs(done, total, elapsedMs),
    });
  };

  const flush = () => {
    if (pending.length === 0) return writing;
    const batch = pending;
    pending = [];
    writing = writing.then(async () => {
      if (fatal) return;
      try {
        const result = await writeSampleBatch(ctx.projectId, batch);
        imported += result.added + result.resumed;
        session.duplicates += result.duplicates.length;
        for (const p of result.conflicts) if (session.conflicts.length < MAX_LISTED) session.conflicts.push(p);
      } catch (err) {
        fatal = err;
      }
    });
    return writing;
  };

  const processEntry = async (entry: PlannedEntry) => {
    try {
      const bytes = await ctx.source.read(entry.index);
      const sniff = sniffImage(bytes);
      if (!sniff.ok) return skip(entry.path, sniff.reason);
      const decoded = await ctx.pool.decode({ path: entry.path, mime: sniff.mime, data: bytes.buffer as ArrayBuffer });
      if (!decoded.ok) {
        const why = sniff.truncated ? `truncated file (it ends before the image data does) and ${decoded.reason}` : decoded.reason;
        return skip(entry.path, why);
      }
      if (sniff.truncated && session.truncated.length < MAX_LISTED) session.truncated.push(entry.path);
      const flags: PreparedSample['sample']['flags'] = [];
      if (sniff.truncated) flags.push('truncated');
      if (entry.conflictLabels) flags.push('conflict');
      const now = Date.now();
      pending.push({
        sample: {
          projectId: ctx.projectId,
          id: decoded.id,
          fileName: entry.fileName,
          path: entry.path,
          label: entry.label,
          labelSource: entry.labelFrom ? { kind: entry.labelFrom } : null,
          labeledAt: entry.label ? now : null,
          width: decoded.width,
          height: decoded.height,
          mime: sniff.mime,
          bytes: decoded.data.byteLength,
          split: 'unassigned',
          addedAt: now,
          importId: session.id,
          flags,
          ...(entry.conflictLabels ? { conflictLabels: entry.conflictLabels } : {}),
        },
        original: { projectId: ctx.projectId, id: decoded.id, mime: sniff.mime, data: decoded.data },
        thumbnail: { projectId: ctx.projectId, id: decoded.id, mime: decoded.thumbnailMime, data: decoded.thumbnail },
      });
      if (pending.length >= BATCH_SIZE) await flush();
    } catch (err) {
      if (err instanceof ZipBombError) throw err;
      skip(entry.path, errorMessage(err));
    } finally {
      done++;
      report();
    }
  };

  const inflight = new Set<Promise<void>>();
  let bomb: unknown = null;
  for (const entry of ctx.entries) {
    if (ctx.isCancelled() || fatal || bomb) break;
    while (inflight.size >= WINDOW) await Promise.race(inflight);
    const p: Promise<void> = processEntry(entry)
      .catch((err) => void (bomb = err))
      .finally(() => inflight.delete(p));
    inflight.add(p);
  }
  await Promise.all(inflight);
  if (!bomb) await flush();
  await writing;
  report(true);
  session.imported = alreadyImported + imported;
  session.endedAt = Date.now();

  if (bomb) {
    await discardImport(session.id);
    session = { ...session, state: 'failed', imported: 0, message: `Import refused, nothing was stored: ${(bomb as Error).message}` };
  } else if (fatal) {
    session.state = 'failed';
    session.message = await describeWriteFailure(fatal);
  } else if (ctx.isCancelled()) {
    session.state = 'cancelled';
    session.message = `Cancelled after ${done} of ${total} files; the ${session.imported} saved images are kept.`;
  } else {
    session.state = 'complete';
  }
  try {
    await finishImport(session);
  } catch (err) {
    // The manifest itself could not be written (the disk is still full): the session stays
    // 'running' on disk and the app offers resume or discard on the next load.
    // The page keeps the closing record outside IndexedDB until there is room (see db/closed-imports.ts).
    session.closeUnsaved = true;
  }
  return session;
}

async function describeWriteFailure(err: unknown): Promise<string> {
  const name = (err as { name?: string })?.name;
  if (name === 'QuotaExceededError') {
    const { usage = 0, quota = 0 } = (await navigator.storage?.estimate?.()) ?? {};
    return (
      `Storage is full: the browser allows this site ${formatBytes(quota)} and ${formatBytes(usage)} is used. ` +
      'The import stopped; images saved before this point are kept, the last batch was rolled back. ' +
      'Free space (delete a project or other site data) and import again: saved images are skipped.'
    );
  }
  return `Saving failed: ${(err as Error)?.message ?? String(err)}`;
}
