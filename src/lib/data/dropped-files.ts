// Turns a drop (files and folders, via the File System Entry API) into an import source.
// Folder reading is callback-based and paged: readEntries returns at most 100 entries per call.
import type { ImportSource } from '../../contracts/imports';

async function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  const out: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

async function walk(entry: FileSystemEntry, prefix: string, files: File[], paths: string[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    files.push(file);
    paths.push(prefix + entry.name);
  } else if (entry.isDirectory) {
    for (const child of await readAll((entry as FileSystemDirectoryEntry).createReader())) {
      await walk(child, `${prefix}${entry.name}/`, files, paths);
    }
  }
}

export async function sourceFromDrop(items: DataTransferItemList): Promise<ImportSource | null> {
  // Entries must be taken synchronously, before the first await, or the list is emptied.
  const entries = [...items].map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  if (entries.length === 0) return null;
  const files: File[] = [];
  const paths: string[] = [];
  for (const e of entries) await walk(e, '', files, paths);
  if (entries.length === 1 && entries[0].isDirectory) return { kind: 'folder', name: entries[0].name, files, paths };
  return { kind: 'files', name: files.length === 1 ? files[0].name : `${files.length} dropped files`, files, paths };
}

export function sourceFromInput(input: HTMLInputElement, asFolder: boolean): ImportSource | null {
  const files = [...(input.files ?? [])];
  if (files.length === 0) return null;
  if (asFolder) {
    const paths = files.map((f) => f.webkitRelativePath || f.name);
    return { kind: 'folder', name: paths[0].split('/')[0] || 'folder', files, paths };
  }
  return { kind: 'files', name: files.length === 1 ? files[0].name : `${files.length} files`, files, paths: files.map((f) => f.name) };
}
