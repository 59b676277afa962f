// CSV manifests (`filename,label`): tolerant parsing with source line numbers, strict matching
// against the imported files (nothing guessed), and injection-safe CSV export that round-trips.
import Papa from 'papaparse';

export type ManifestRow = { line: number; fileName: string; label: string | null };

export type ParsedManifest = {
  rows: ManifestRow[];
  problems: Array<{ line: number; message: string }>;
  delimiter: string;
  hadHeader: boolean;
};

const DELIMITERS = [',', ';', '\t'];
const HEADER_FIRST = new Set(['filename', 'file', 'path', 'image', 'name', 'filepath', 'imagepath', 'imagefile', 'imagename']);
const FILE_KEYS = new Set(['filename', 'file', 'path', 'image', 'filepath', 'imagepath', 'imagefile', 'imagename']);
const LABEL_KEYS = new Set(['label', 'labels', 'class', 'classname', 'classlabel', 'category']);

export function parseManifest(text: string): ParsedManifest {
  const source = text.replace(/^\uFEFF/, '');
  const delimiter = detectDelimiter(source);
  const problems: ParsedManifest['problems'] = [];
  const rows: ManifestRow[] = [];
  let hadHeader = false;
  let seenFirst = false;
  let fileCol = 0;
  let labelCol = 1;
  let rowStart = 0;
  const lines = new LineCounter(source);

  // step mode, because only meta.cursor tells where each row (maybe spanning lines) begins.
  Papa.parse<string[]>(source, {
    delimiter,
    skipEmptyLines: false,
    step: (result) => {
      const line = lines.lineAt(rowStart);
      rowStart = result.meta.cursor;
      const raw = result.data;
      if (raw.length === 1 && raw[0].trim() === '') return;
      if (result.errors.length > 0) {
        problems.push({ line, message: `cannot parse row: ${result.errors[0].message.toLowerCase()}` });
        return;
      }
      const cells = raw.map(unneutraliseCell);
      if (!seenFirst) {
        seenFirst = true;
        if (HEADER_FIRST.has(headerKey(cells[0]))) {
          hadHeader = true;
          const keys = cells.map(headerKey);
          // "name" is too vague to pick over a real file column, but names one when alone.
          fileCol = firstIndexIn(keys, FILE_KEYS) ?? firstIndexIn(keys, new Set(['name'])) ?? 0;
          labelCol = firstIndexIn(keys, LABEL_KEYS) ?? keys.findIndex((_, i) => i !== fileCol);
          return;
        }
      }
      if (!cells.some((c) => c.trim() !== '')) {
        problems.push({ line, message: 'row has no values' });
        return;
      }
      const file = (cells[fileCol] ?? '').trim();
      if (file === '') {
        problems.push({ line, message: 'row has an empty file name' });
        return;
      }
      const label = (labelCol >= 0 ? (cells[labelCol] ?? '') : '').trim().normalize('NFC');
      rows.push({ line, fileName: normaliseFileName(file), label: label === '' ? null : label });
    },
  });
  return { rows, problems, delimiter, hadHeader };
}

/** Windows tools write `\`; macOS gives NFD names while CSVs are usually NFC. */
function normaliseFileName(name: string): string {
  return name
    .replace(/\\/g, '/')
    .normalize('NFC')
    .replace(/^(\.\/)+/, '');
}

function headerKey(cell: string | undefined): string {
  return (cell ?? '')
    .trim()
    .toLowerCase()
    .replace(/[\s_.-]/g, '');
}

function firstIndexIn(keys: string[], wanted: Set<string>): number | null {
  const i = keys.findIndex((k) => wanted.has(k));
  return i >= 0 ? i : null;
}

/** Picks the delimiter that splits the most rows into the same number (>= 2) of fields. */
function detectDelimiter(text: string): string {
  const sample = text.slice(0, 64 * 1024);
  let best = { delimiter: ',', score: 0 };
  for (const delimiter of DELIMITERS) {
    const { data } = Papa.parse<string[]>(sample, { delimiter, preview: 50, skipEmptyLines: 'greedy' });
    const freq = new Map<number, number>();
    for (const row of data) freq.set(row.length, (freq.get(row.length) ?? 0) + 1);
    let score = 0;
    for (const [fields, n] of freq) if (fields >= 2) score = Math.max(score, n / data.length);
    if (score > best.score) best = { delimiter, score };
  }
  return best.delimiter;
}

/** Maps character offsets to 1-based lines; CRLF, LF and lone CR each end one line. */
class LineCounter {
  private pos = 0;
  private line = 1;
  private readonly text: string;

  constructor(text: string) {
    this.text = text;
  }

  lineAt(offset: number): number {
    for (; this.pos < offset; this.pos++) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 10 || (c === 13 && this.text.charCodeAt(this.pos + 1) !== 10)) this.line++;
    }
    return this.line;
  }
}

export type ManifestProblem = 'missing-file' | 'ambiguous' | 'duplicate-row' | 'conflicting-rows';

export type ManifestMatch = {
  labels: Map<string, string | null>;
  conflicts: Map<string, string[]>;
  report: Array<{ line: number; fileName: string; problem: ManifestProblem; message: string }>;
  unlisted: string[];
};

export function matchManifest(rows: ManifestRow[], filePaths: string[]): ManifestMatch {
  const paths = [...new Set(filePaths.map((p) => p.normalize('NFC')))];
  const exact = new Set(paths);
  const byBase = new Map<string, string[]>();
  for (const p of paths) {
    const base = p.slice(p.lastIndexOf('/') + 1);
    byBase.set(base, [...(byBase.get(base) ?? []), p]);
  }

  const report: ManifestMatch['report'] = [];
  const hits = new Map<string, ManifestRow[]>();
  // "First" and "repeat" follow the file's order even if the caller's rows do not.
  for (const row of [...rows].sort((a, b) => a.line - b.line)) {
    const name = row.fileName.normalize('NFC');
    const candidates = exact.has(name) ? [name] : name.includes('/') ? [] : (byBase.get(name) ?? []);
    if (candidates.length === 0) {
      report.push({ line: row.line, fileName: row.fileName, problem: 'missing-file', message: `${row.fileName} matches no imported file` });
    } else if (candidates.length > 1) {
      const shown = candidates.slice(0, 3).join(', ') + (candidates.length > 3 ? ', …' : '');
      report.push({
        line: row.line,
        fileName: row.fileName,
        problem: 'ambiguous',
        message: `${row.fileName} matches ${candidates.length} files (${shown}); give its folder too`,
      });
    } else {
      hits.set(candidates[0], [...(hits.get(candidates[0]) ?? []), row]);
    }
  }

  const labels = new Map<string, string | null>();
  const conflicts = new Map<string, string[]>();
  for (const [path, listed] of hits) {
    const distinct = [...new Set(listed.map((r) => r.label))];
    if (distinct.length === 1) {
      labels.set(path, distinct[0]);
      for (const r of listed.slice(1)) {
        const message = `${r.fileName} is listed again (first on line ${listed[0].line}) with the same label; the repeat is ignored`;
        report.push({ line: r.line, fileName: r.fileName, problem: 'duplicate-row', message });
      }
      continue;
    }
    // A missing label is one of the disagreeing answers, but the map holds only real labels.
    conflicts.set(
      path,
      distinct.filter((l): l is string => l !== null),
    );
    const answers = listed.map((r) => `${r.label ?? '(no label)'} (line ${r.line})`).join(', ');
    for (const r of listed) {
      const message = `${path} has conflicting labels: ${answers}; left unlabelled until you choose`;
      report.push({ line: r.line, fileName: r.fileName, problem: 'conflicting-rows', message });
    }
  }
  report.sort((a, b) => a.line - b.line);
  return { labels, conflicts, report, unlisted: paths.filter((p) => !hits.has(p)) };
}

// OWASP CSV injection: spreadsheets run cells starting with these as formulas.
const TRIGGER = /^'*[=+\-@\t\r]/;
const NEUTRALISED = /^'+[=+\-@\t\r]/;

/** Also escapes cells already starting with quotes before a trigger, so unneutraliseCell is exact. */
export function neutraliseCell(value: string): string {
  return TRIGGER.test(value) ? `'${value}` : value;
}

export function unneutraliseCell(value: string): string {
  return NEUTRALISED.test(value) ? value.slice(1) : value;
}

/** RFC 4180 with CRLF; `;` and tab are quoted too so delimiter detection on re-import stays on `,`. */
export function toCsv(rows: string[][]): string {
  return rows.map((row) => row.map((cell) => quote(neutraliseCell(cell))).join(',') + '\r\n').join('');
}

function quote(cell: string): string {
  return /[",;\t\r\n]|^\s|\s$/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell;
}
