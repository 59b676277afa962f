// Label normalisation and the case-insensitive merge plan shown to the user before an import
// commits (" Cat", "cat" and "CAT" must not silently become three classes).
import type { LabelMerge } from '../../contracts/imports';
export type { LabelMerge };

const LINE_SPACES = /[\t\n\v\f\r]/g;
const CONTROLS = /[\x00-\x1f\x7f]/g;
// Invisible characters that would make two labels look identical but compare unequal.
const INVISIBLE = /[\u200b\u2060\ufeff]/g;

/** Returns null for a label that is empty once cleaned. Not HTML-escaped: the UI renders text. */
export function normaliseLabel(raw: string): string | null {
  const cleaned = raw.normalize('NFC').replace(LINE_SPACES, ' ').replace(CONTROLS, '').replace(INVISIBLE, '').replace(/\s+/gu, ' ').trim();
  return cleaned === '' ? null : cleaned;
}

export type LabelMergePlan = {
  canonical: Map<string, string>;
  merges: LabelMerge[];
};

type Spelling = { count: number; first: number };

/**
 * `labels` holds one entry per file, so the canonical spelling of a group is the one most files
 * use; ties go to the spelling seen first. A group matching one of the project's `existing`
 * classes (ignoring case and spacing) goes into that class instead, spelled as the project does:
 * a second import's "Circle" must not become a second class beside "circle".
 */
export function planLabelMerges(labels: Iterable<string>, existing: Iterable<string> = []): LabelMergePlan {
  // Existing spellings by key; a project may already hold two case variants (from before merging).
  const known = new Map<string, string[]>();
  for (const raw of existing) {
    const label = normaliseLabel(raw);
    if (label === null) continue;
    const key = label.toLowerCase();
    const list = known.get(key);
    if (list) list.push(label);
    else known.set(key, [label]);
  }
  const groups = new Map<string, Map<string, Spelling>>();
  let index = 0;
  for (const raw of labels) {
    const label = normaliseLabel(raw);
    if (label === null) continue;
    const key = label.toLowerCase();
    let spellings = groups.get(key);
    if (!spellings) groups.set(key, (spellings = new Map()));
    const seen = spellings.get(label);
    if (seen) seen.count++;
    else spellings.set(label, { count: 1, first: index });
    index++;
  }

  const canonical = new Map<string, string>();
  const merges: LabelMergePlan['merges'] = [];
  for (const [key, spellings] of groups) {
    const ordered = [...spellings.entries()].sort((a, b) => a[1].first - b[1].first);
    const project = known.get(key);
    if (project) {
      // A spelling the project has stays itself; any other joins the project's first spelling.
      for (const [spelling] of ordered) canonical.set(spelling, project.includes(spelling) ? spelling : project[0]);
      const from = ordered.map(([s]) => s).filter((s) => !project.includes(s));
      if (from.length) merges.push({ into: project[0], from, existing: true });
      continue;
    }
    let best = ordered[0];
    for (const entry of ordered) if (entry[1].count > best[1].count) best = entry;
    const into = best[0];
    for (const [spelling] of ordered) canonical.set(spelling, into);
    if (ordered.length > 1) merges.push({ into, from: ordered.map(([s]) => s).filter((s) => s !== into) });
  }
  return { canonical, merges };
}
