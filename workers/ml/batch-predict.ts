// Batch prediction over a folder, files or a zip: every entry goes through the same safety checks
// as an import (safe paths, magic bytes, pixel budget, zip limits), then the model; the result is a
// CSV whose cells cannot be read as formulas.
import { classifyEntryPath } from '../../src/lib/import/paths';
import { sniffImage } from '../../src/lib/import/sniff';
import { toCsv } from '../../src/lib/import/csv-manifest';
import { openSource } from '../import-sources';
import type { ImportSource } from '../import.api';
import { errorMessage } from '../../src/lib/util/errors';

export interface BatchProgress {
  done: number;
  total: number;
}

export type PredictOne = (image: Blob, path: string) => Promise<{ top: Array<{ label: string; confidence: number }>; latencyMs: number }>;

export async function batchPredictCsv(
  source: ImportSource,
  predict: PredictOne,
  onProgress: (p: BatchProgress) => void,
  topK = 3,
): Promise<{ csv: string; predicted: number; skipped: number }> {
  const opened = await openSource(source);
  const header = ['filename', 'predicted', 'confidence'];
  for (let k = 2; k <= topK; k++) header.push(`top${k}`, `top${k}_confidence`);
  header.push('latency_ms', 'error');
  const rows: string[][] = [header];
  let predicted = 0;
  let skipped = 0;
  try {
    const entries = opened.raw.map((e, index) => ({ index, c: classifyEntryPath(e.path, { dropRoot: opened.dropRoot }) }));
    const images = entries.filter((e) => e.c.kind === 'ok' && !/\.csv$/i.test(e.c.path));
    for (const [i, e] of images.entries()) {
      const path = e.c.path;
      try {
        const bytes = await opened.read(e.index);
        const sniff = sniffImage(bytes);
        if (!sniff.ok) throw new Error(sniff.reason);
        const r = await predict(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: sniff.mime }), path);
        const row = [path, r.top[0]?.label ?? '', (r.top[0]?.confidence ?? 0).toFixed(6)];
        for (let k = 1; k < topK; k++) row.push(r.top[k]?.label ?? '', r.top[k] ? r.top[k].confidence.toFixed(6) : '');
        row.push(r.latencyMs.toFixed(2), '');
        rows.push(row);
        predicted++;
      } catch (err) {
        rows.push([path, '', '', ...Array((topK - 1) * 2).fill(''), '', errorMessage(err)]);
        skipped++;
      }
      if (i % 16 === 0 || i === images.length - 1) onProgress({ done: i + 1, total: images.length });
    }
    for (const e of entries) {
      if (e.c.kind === 'unsafe') {
        rows.push([e.c.path, '', '', ...Array((topK - 1) * 2).fill(''), '', `refused: ${e.c.reason}`]);
        skipped++;
      }
    }
  } finally {
    await opened.close();
  }
  return { csv: toCsv(rows), predicted, skipped };
}
