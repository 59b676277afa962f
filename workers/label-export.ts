// Labels out as an ImageFolder zip: <class>/<file> with the original bytes, plus labels.csv with
// every label's source, so the zip is both a training set for other tools and a provenance record.
import { BlobWriter, TextReader, Uint8ArrayReader, ZipWriter, configure } from '@zip.js/zip.js';
import { getOriginal } from '../src/db/samples';
import { listCommittedSamples } from '../src/db/committed';
import { labelsToCsv } from '../src/lib/label/labels-csv';

configure({ useWebWorkers: false });

/** Folder and file names safe on every OS: no separators, no control or reserved characters. */
export function safeName(name: string): string {
  const cleaned = name
    .replace(/[\u0000-\u001f<>:"/\\|?*]/g, '_')
    .replace(/^\.+/, '_')
    .trim();
  return cleaned.slice(0, 120) || '_';
}

export async function exportImageFolder(projectId: string, onProgress: (done: number, total: number) => void): Promise<Blob> {
  const { samples } = await listCommittedSamples(projectId);
  const labeled = samples.filter((s) => s.label !== null).sort((a, b) => a.path.localeCompare(b.path));
  const writer = new ZipWriter(new BlobWriter('application/zip'));
  const used = new Set<string>();
  for (const [i, s] of labeled.entries()) {
    const original = await getOriginal(projectId, s.id);
    if (!original) continue;
    let name = `${safeName(s.label!)}/${safeName(s.fileName)}`;
    // Two images with one file name in a class: the content hash keeps both.
    if (used.has(name.toLowerCase())) name = name.replace(/(\.[^./]*)?$/, (ext) => `-${s.id.slice(0, 8)}${ext}`);
    used.add(name.toLowerCase());
    // Images are already compressed: storing them is as small and much faster.
    await writer.add(name, new Uint8ArrayReader(new Uint8Array(original.data)), { level: 0 });
    if (i % 64 === 0) onProgress(i, labeled.length);
  }
  const csv = labelsToCsv(samples.map((s) => ({ filename: s.path, label: s.label, source: s.labelSource })));
  await writer.add('labels.csv', new TextReader(csv));
  onProgress(labeled.length, labeled.length);
  return writer.close();
}
