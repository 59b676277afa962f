// Opens an import source (files, folder, zip, demo asset) as a list of raw entries that can be
// read one at a time, so the whole dataset never sits in memory.
import { BlobReader, ZipReader, configure, type Entry, type FileEntry } from '@zip.js/zip.js';
import { ZipGuard } from '../src/lib/import/zip-guard';
import { inflateEntry } from './zip-entry';
import type { RawEntry } from '../src/lib/import/plan';
import type { ImportSource } from './import.api';
import { errorMessage } from '../src/lib/util/errors';

// zip.js would otherwise start its own workers from blob URLs; we are already in one.
configure({ useWebWorkers: false });

export interface OpenedSource {
  name: string;
  kind: 'folder' | 'files' | 'zip' | 'demo' | 'webcam';
  dropRoot: boolean;
  raw: RawEntry[];
  read(index: number): Promise<Uint8Array>;
  /**
   * The first `bytes` of an entry, cheaply, where the source allows it (picked files and folders:
   * a slice of the File). Zips have none: reading an entry means inflating it.
   */
  readHead?(index: number, bytes: number): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function openSource(source: ImportSource): Promise<OpenedSource> {
  switch (source.kind) {
    case 'folder':
    case 'files':
    case 'webcam': {
      const onlyZip = source.kind !== 'webcam' && source.files.length === 1 && /\.zip$/i.test(source.files[0].name);
      if (onlyZip) return openZip(source.files[0], source.files[0].name, 'zip');
      return {
        name: source.name,
        kind: source.kind,
        dropRoot: source.kind === 'folder',
        raw: source.files.map((f, i) => ({ path: source.paths[i] || f.name, size: f.size })),
        read: async (i) => new Uint8Array(await source.files[i].arrayBuffer()),
        readHead: async (i, bytes) => new Uint8Array(await source.files[i].slice(0, bytes).arrayBuffer()),
        close: async () => {},
      };
    }
    case 'zip':
      return openZip(source.file, source.file.name, 'zip');
    case 'demo': {
      const response = await fetch(source.url);
      if (!response.ok) throw new Error(`The demo data could not be loaded (${response.status}).`);
      return openZip(await response.blob(), 'Digits demo', 'demo');
    }
  }
}

async function openZip(blob: Blob, name: string, kind: 'zip' | 'demo'): Promise<OpenedSource> {
  const guard = new ZipGuard();
  // 'tolerant': zip.js would refuse the whole archive on one unsafe name; we refuse per entry
  // (src/lib/import/paths.ts) and import the rest, listing each refused name with its reason.
  const reader = new ZipReader(new BlobReader(blob), { filenameValidation: 'tolerant' });
  let entries: Entry[];
  try {
    entries = await reader.getEntries();
  } catch (err) {
    throw new Error(`${name} is not a readable zip file: ${errorMessage(err)}`, { cause: err });
  }
  guard.checkEntryCount(entries.length);
  // Declared sizes can lie low (caught while inflating) but when they admit a bomb, refuse now.
  for (const e of entries) if (!e.directory) guard.checkDeclared(e.filename, e.uncompressedSize, e.compressedSize);
  // One entry inflates at a time: the guard counts actual bytes per entry, and memory stays bounded.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    name,
    kind,
    dropRoot: false,
    raw: entries.map((e) => ({
      path: e.directory ? `${e.filename.replace(/\/?$/, '/')}` : e.filename,
      size: e.directory ? 0 : e.uncompressedSize || e.compressedSize || 1,
    })),
    read(index) {
      const next = queue.then(() => inflateEntry(entries[index] as FileEntry, guard));
      queue = next.catch(() => {});
      return next;
    },
    close: () => reader.close().then(() => {}),
  };
}
