// Labels out to CSV and back in, with where each label came from. Export then import must be a
// no-op, so every value is written in a form that parses back to exactly itself.
import Papa from 'papaparse';
import type { LabelSource } from '../../contracts/records';
import { toCsv, unneutraliseCell } from '../import/csv-manifest';
import { normaliseLabel } from '../import/labels';
import { sameLabelSource } from './label-ops';

export interface LabelRow {
  filename: string;
  label: string | null;
  source: LabelSource | null;
}

export interface ParsedLabelRow {
  line: number;
  filename: string;
  label: string | null;
  source: LabelSource | null;
}
export interface LabelRowProblem {
  line: number;
  filename: string;
  reason: string;
}

export interface LabelTarget {
  id: string;
  path: string;
  fileName: string;
  label: string | null;
  labelSource: LabelSource | null;
}
export interface LabelImportPlan {
  changes: Array<{ id: string; label: string | null; source: LabelSource | null }>;
  report: Array<{
    line: number;
    filename: string;
    status: 'applied' | 'unchanged' | 'unknown-file' | 'conflict' | 'ambiguous' | 'invalid';
    reason: string | null;
  }>;
}

const HEADER = ['filename', 'label', 'source', 'confidence'];
const SOURCE_HELP = 'human, folder, csv, model:<version id> or model-auto:<version id>';

/**
 * `filename,label,source,confidence`, CRLF, formula-neutralised. Confidence is String(number),
 * the shortest text that parses back to the same double, so a round trip is exact.
 */
export function labelsToCsv(rows: LabelRow[]): string {
  const body = rows.map((r) => {
    const source = r.label === null ? null : r.source;
    return [r.filename, r.label ?? '', encodeSource(source), source?.kind === 'model' ? String(source.confidence) : ''];
  });
  return toCsv([HEADER, ...body]);
}

/**
 * Needs a header naming a filename and a label column (any case; other columns are ignored, and
 * spreadsheet re-saves with ';' or tab are understood). Without a source column a label counts as
 * {kind:'csv'}. With one, an empty cell means "no source recorded" (null), because that is how a
 * label without a source exports and the round trip must be exact. An empty label means "remove
 * the label"; source and confidence are then ignored, as is a confidence given for a non-model
 * source. Labels are cleaned like folder labels (trimmed, whitespace collapsed), which the app's
 * own labels already are, so cleaning never changes an exported label.
 */
export function parseLabelsCsv(text: string): { rows: ParsedLabelRow[]; problems: LabelRowProblem[] } {
  const source = text.replace(/^\uFEFF/, '');
  const rows: ParsedLabelRow[] = [];
  const problems: LabelRowProblem[] = [];
  const lines = new LineCounter(source);
  let columns: Columns | null = null;
  let headerSeen = false;
  let rowStart = 0;

  Papa.parse<string[]>(source, {
    delimiter: detectDelimiter(source),
    skipEmptyLines: false,
    // Step mode: only meta.cursor says where a (possibly multi-line) row began.
    step: (result) => {
      const line = lines.lineAt(rowStart);
      rowStart = result.meta.cursor;
      const raw = result.data;
      if (raw.every((c) => c.trim() === '')) return;
      if (!headerSeen) {
        headerSeen = true;
        columns = readHeader(raw);
        if (columns === null) {
          problems.push({ line, filename: '', reason: 'the first row must be a header naming the filename and label columns' });
        }
        return;
      }
      if (columns === null) return;
      const cell = (i: number | null): string => (i === null ? '' : unneutraliseCell(raw[i] ?? ''));
      const filename = cell(columns.filename);
      if (result.errors.length > 0) {
        problems.push({ line, filename, reason: `cannot parse row: ${result.errors[0].message.toLowerCase()}` });
        return;
      }
      if (filename.trim() === '') {
        problems.push({ line, filename, reason: 'the filename is empty' });
        return;
      }
      const label = normaliseLabel(cell(columns.label));
      if (label === null) {
        rows.push({ line, filename, label: null, source: null });
        return;
      }
      if (columns.source === null) {
        rows.push({ line, filename, label, source: { kind: 'csv' } });
        return;
      }
      const parsed = decodeSource(cell(columns.source).trim(), cell(columns.confidence).trim());
      if (typeof parsed === 'string') problems.push({ line, filename, reason: parsed });
      else rows.push({ line, filename, label, source: parsed });
    },
  });
  if (!headerSeen)
    problems.push({ line: 1, filename: '', reason: 'the file is empty; expected a header row filename,label,source,confidence' });
  return { rows, problems };
}

/**
 * Matches rows to samples by exact path, else by file name when exactly one sample has it; a
 * light clean-up (NFC, '\' to '/', leading './', outer spaces) is tried only when the raw name
 * matches nothing. A sample named by rows that disagree (label or source) gets none of them.
 */
export function planLabelImport(parsed: { rows: ParsedLabelRow[]; problems: LabelRowProblem[] }, samples: LabelTarget[]): LabelImportPlan {
  const byPath = groupBy(samples, (s) => s.path);
  const byName = groupBy(samples, (s) => s.fileName);
  const report: LabelImportPlan['report'] = parsed.problems.map((p) => ({
    line: p.line,
    filename: p.filename,
    status: 'invalid',
    reason: p.reason,
  }));

  const rowsBySample = new Map<LabelTarget, ParsedLabelRow[]>();
  for (const row of [...parsed.rows].sort((a, b) => a.line - b.line)) {
    const found = findSamples(row.filename, byPath, byName);
    if (found.length === 0) {
      report.push({
        line: row.line,
        filename: row.filename,
        status: 'unknown-file',
        reason: `no image has the path or file name ${row.filename}`,
      });
    } else if (found.length > 1) {
      const shown =
        found
          .slice(0, 3)
          .map((s) => s.path)
          .join(', ') + (found.length > 3 ? ', …' : '');
      const reason = `${row.filename} matches ${found.length} images (${shown}); give its full path`;
      report.push({ line: row.line, filename: row.filename, status: 'ambiguous', reason });
    } else {
      const listed = rowsBySample.get(found[0]);
      if (listed) listed.push(row);
      else rowsBySample.set(found[0], [row]);
    }
  }

  const changes: LabelImportPlan['changes'] = [];
  for (const [sample, listed] of rowsBySample) {
    const [first, ...repeats] = listed;
    const disagree = repeats.some((r) => r.label !== first.label || !sameLabelSource(r.source, first.source));
    if (disagree) {
      const answers = listed
        .map((r) => `${r.label ?? '(no label)'}${r.source ? ` [${encodeSource(r.source)}]` : ''} (line ${r.line})`)
        .join(', ');
      for (const r of listed) {
        report.push({
          line: r.line,
          filename: r.filename,
          status: 'conflict',
          reason: `${sample.path} is listed with different labels: ${answers}; none applied`,
        });
      }
      continue;
    }
    const same = first.label === sample.label && sameLabelSource(first.source, sample.labelSource);
    if (same) report.push({ line: first.line, filename: first.filename, status: 'unchanged', reason: null });
    else {
      changes.push({ id: sample.id, label: first.label, source: first.source });
      report.push({ line: first.line, filename: first.filename, status: 'applied', reason: null });
    }
    for (const r of repeats) {
      report.push({ line: r.line, filename: r.filename, status: 'unchanged', reason: `repeats line ${first.line}` });
    }
  }
  report.sort((a, b) => a.line - b.line);
  return { changes, report };
}

function encodeSource(source: LabelSource | null): string {
  if (source === null) return '';
  if (source.kind !== 'model') return source.kind;
  return `${source.accepted === 'auto' ? 'model-auto' : 'model'}:${source.versionId}`;
}

/** The source, or the reason the cells cannot be one. */
function decodeSource(sourceCell: string, confidenceCell: string): LabelSource | null | string {
  if (sourceCell === '') return null;
  const simple = sourceCell.toLowerCase();
  if (simple === 'human' || simple === 'folder' || simple === 'csv') return { kind: simple };
  const model = /^(model|model-auto):(.*)$/i.exec(sourceCell);
  if (!model) return `unknown source “${sourceCell}”; expected ${SOURCE_HELP}`;
  const versionId = model[2].trim();
  if (versionId === '') return `source “${sourceCell}” names no model version`;
  if (confidenceCell === '') return `a model source needs a confidence between 0 and 1`;
  // Number() alone would take '', '0x1' and ' 1 '; require a plain decimal as String() writes.
  const confidence = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(confidenceCell) ? Number(confidenceCell) : Number.NaN;
  if (!(confidence >= 0 && confidence <= 1)) return `confidence “${confidenceCell}” is not a number between 0 and 1`;
  const accepted = model[1].toLowerCase() === 'model-auto' ? 'auto' : 'human';
  // + 0 turns a typed "-0" into 0, which is what String() writes back.
  return { kind: 'model', versionId, confidence: confidence + 0, accepted };
}

type Columns = { filename: number; label: number; source: number | null; confidence: number | null };

const FILE_KEYS = ['filename', 'file', 'path', 'filepath', 'image'];
const LABEL_KEYS = ['label', 'class', 'category'];

function readHeader(cells: string[]): Columns | null {
  const keys = cells.map((c) =>
    unneutraliseCell(c)
      .trim()
      .toLowerCase()
      .replace(/[\s_.-]/g, ''),
  );
  const first = (wanted: string[]): number | null => {
    for (const w of wanted) {
      const i = keys.indexOf(w);
      if (i >= 0) return i;
    }
    return null;
  };
  const filename = first(FILE_KEYS);
  const label = first(LABEL_KEYS);
  if (filename === null || label === null) return null;
  return { filename, label, source: first(['source']), confidence: first(['confidence']) };
}

/** The delimiter that makes the header name a filename and a label column; ',' otherwise. */
function detectDelimiter(text: string): string {
  for (const delimiter of [',', ';', '\t']) {
    const { data } = Papa.parse<string[]>(text, { delimiter, preview: 1, skipEmptyLines: 'greedy' });
    if (data.length > 0 && readHeader(data[0]) !== null) return delimiter;
  }
  return ',';
}

function findSamples(filename: string, byPath: Map<string, LabelTarget[]>, byName: Map<string, LabelTarget[]>): LabelTarget[] {
  const exact = byPath.get(filename) ?? byName.get(filename);
  if (exact) return exact;
  const tidy = filename
    .trim()
    .normalize('NFC')
    .replace(/\\/g, '/')
    .replace(/^(\.\/)+/, '');
  if (tidy === filename) return [];
  return byPath.get(tidy) ?? byName.get(tidy) ?? [];
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = out.get(k);
    if (group) group.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** Maps character offsets to 1-based lines; CRLF, LF and lone CR each end one line. */
class LineCounter {
  private pos = 0;
  private line = 1;

  constructor(private readonly text: string) {}

  lineAt(offset: number): number {
    for (; this.pos < offset; this.pos++) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 10 || (c === 13 && this.text.charCodeAt(this.pos + 1) !== 10)) this.line++;
    }
    return this.line;
  }
}
