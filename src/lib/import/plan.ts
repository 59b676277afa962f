// Turns a raw list of file paths (a folder, a zip, picked files) and an optional CSV manifest
// into an import plan: which files to import under which label, what is ignored and why.
// Pure: the import worker shows this plan to the user before anything is written.
import { classifyEntryPath, findCaseCollisions } from './paths';
import { normaliseLabel, planLabelMerges } from './labels';
import { matchManifest, parseManifest } from './csv-manifest';
import type { PlannedEntry, PathNote, ManifestSummary, ImportPlanSummary } from '../../contracts/imports';
export type { PlannedEntry, PathNote, ManifestSummary, ImportPlanSummary };

/** Single files above this are refused before being read (no training image needs more). */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

export interface RawEntry {
  path: string;
  size: number;
}

const isCsv = (p: string) => /\.csv$/i.test(p);

export interface PlanOptions {
  dropRoot: boolean;
  manifest?: { path: string; text: string };
  /** The project's classes: labels differing from one only in case or spacing join it. */
  existingLabels?: string[];
  /**
   * Refusals known before importing, by raw entry index (from sniffing each file's first bytes:
   * a readme.txt, an SVG, a TIFF). Such files are listed as refused and not counted.
   */
  sniffRefused?: Map<number, string>;
}

export function planImport(raw: RawEntry[], opts: PlanOptions): ImportPlanSummary {
  const ignored: PathNote[] = [];
  const refused: PathNote[] = [];
  const candidates: Array<Omit<PlannedEntry, 'labelFrom'>> = [];
  raw.forEach((entry, index) => {
    const c = classifyEntryPath(entry.path, { dropRoot: opts.dropRoot });
    if (c.kind === 'junk') return void ignored.push({ path: c.path, reason: c.reason });
    if (c.kind === 'unsafe') return void refused.push({ path: c.path, reason: `unsafe path: ${c.reason}` });
    if (isCsv(c.path)) {
      if (!opts.manifest || opts.manifest.path !== entry.path)
        ignored.push({ path: c.path, reason: 'extra CSV file (only one manifest is used)' });
      return;
    }
    if (entry.size === 0) return void refused.push({ path: c.path, reason: 'empty file (0 bytes)' });
    if (entry.size > MAX_FILE_BYTES)
      return void refused.push({ path: c.path, reason: `file too large (${Math.round(entry.size / 1048576)} MB; limit 64 MB)` });
    const sniffed = opts.sniffRefused?.get(index);
    if (sniffed) return void refused.push({ path: c.path, reason: sniffed });
    candidates.push({ index, path: c.path, fileName: c.fileName, label: c.label === null ? null : normaliseLabel(c.label) });
  });

  let manifest: ManifestSummary | null = null;
  const csvLabel = new Map<string, string | null>();
  const csvConflicts = new Map<string, string[]>();
  if (opts.manifest) {
    const parsed = parseManifest(opts.manifest.text);
    const match = matchManifest(
      parsed.rows,
      candidates.map((c) => c.path),
    );
    match.labels.forEach((label, path) => csvLabel.set(path, label === null ? null : normaliseLabel(label)));
    match.conflicts.forEach((labels, path) => csvConflicts.set(path, labels));
    manifest = {
      path: opts.manifest.path,
      rows: parsed.rows.length,
      delimiter: parsed.delimiter,
      problems: [...parsed.problems, ...match.report.map((r) => ({ line: r.line, fileName: r.fileName, message: r.message }))].sort(
        (a, b) => a.line - b.line,
      ),
      unlisted: match.unlisted,
    };
  }

  const entries: PlannedEntry[] = candidates.map((c) => {
    if (csvConflicts.has(c.path)) return { ...c, label: null, labelFrom: null, conflictLabels: csvConflicts.get(c.path) };
    if (csvLabel.has(c.path)) {
      const label = csvLabel.get(c.path) ?? null;
      return { ...c, label, labelFrom: label === null ? null : 'csv' };
    }
    return { ...c, labelFrom: c.label === null ? null : 'folder' };
  });

  const { canonical, merges } = planLabelMerges(
    entries.flatMap((e) => (e.label === null ? [] : [e.label])),
    opts.existingLabels ?? [],
  );
  const labelCounts: Record<string, number> = {};
  let unlabeled = 0;
  for (const e of entries) {
    if (e.label === null) {
      unlabeled++;
      continue;
    }
    e.label = canonical.get(e.label) ?? e.label;
    labelCounts[e.label] = (labelCounts[e.label] ?? 0) + 1;
  }
  return {
    total: raw.length,
    entries,
    ignored,
    refused,
    labelCounts,
    unlabeled,
    merges,
    collisions: findCaseCollisions(entries.map((e) => e.path)).map((g) => g.paths),
    manifest,
  };
}

/** Picks the manifest among the raw entries: the one CSV at the top of the source. */
export function findManifest(raw: RawEntry[], dropRoot: boolean): RawEntry | null {
  const csvs = raw.filter((e) => isCsv(e.path) && classifyEntryPath(e.path, { dropRoot }).kind === 'ok');
  if (csvs.length === 0) return null;
  const depth = (p: string) => p.split('/').length;
  return csvs.sort((a, b) => depth(a.path) - depth(b.path) || a.path.localeCompare(b.path))[0];
}
