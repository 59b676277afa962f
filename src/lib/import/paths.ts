// Classifies zip entry names and folder-picker relative paths as safe files, junk or unsafe.
// Folder names become labels, so every path trick here would otherwise become a label trick.

export type EntryPath =
  | { kind: 'ok'; path: string; fileName: string; label: string | null }
  | { kind: 'junk'; path: string; reason: string }
  | { kind: 'unsafe'; path: string; reason: string };

export const MAX_PATH_LENGTH = 1024;

const JUNK_NAMES: Record<string, string> = {
  '.ds_store': 'macOS folder metadata (.DS_Store)',
  'thumbs.db': 'Windows thumbnail cache (Thumbs.db)',
  'desktop.ini': 'Windows folder settings (desktop.ini)',
};

export function classifyEntryPath(rawPath: string, opts: { dropRoot: boolean }): EntryPath {
  const full = rawPath.normalize('NFC');
  const unsafe = unsafeReason(full);
  if (unsafe) return { kind: 'unsafe', path: full, reason: unsafe };

  const isDirectory = full.endsWith('/');
  const segments = (isDirectory ? full.slice(0, -1) : full).split('/');
  // webkitRelativePath always starts with the picked folder, which is not part of the dataset.
  const kept = opts.dropRoot ? segments.slice(1) : segments;
  const path = kept.join('/') + (isDirectory && kept.length > 0 ? '/' : '');

  if (isDirectory) return { kind: 'junk', path, reason: 'directory' };
  if (kept.length === 0) return { kind: 'junk', path, reason: 'the picked folder itself, not a file' };

  const fileName = kept[kept.length - 1];
  const folders = kept.slice(0, -1);
  if (kept.includes('__MACOSX')) return { kind: 'junk', path, reason: 'macOS resource fork folder (__MACOSX)' };
  const named = JUNK_NAMES[fileName.toLowerCase()];
  if (named) return { kind: 'junk', path, reason: named };
  if (fileName.startsWith('._')) return { kind: 'junk', path, reason: 'macOS AppleDouble metadata (._ file)' };
  if (fileName.startsWith('.')) return { kind: 'junk', path, reason: 'hidden file' };
  const hiddenFolder = folders.find((f) => f.startsWith('.'));
  if (hiddenFolder) return { kind: 'junk', path, reason: `inside hidden folder ${hiddenFolder}` };

  const parent = folders.length > 0 ? folders[folders.length - 1].trim() : '';
  return { kind: 'ok', path, fileName, label: parent === '' ? null : parent };
}

function unsafeReason(path: string): string | null {
  if (path.length === 0) return 'empty path';
  if (path.length > MAX_PATH_LENGTH) return `path longer than ${MAX_PATH_LENGTH} characters`;
  if (path.includes('\0')) return 'NUL byte in path';
  const control = /[\x01-\x1f\x7f]/.exec(path);
  if (control) return `control character U+${control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} in path`;
  if (path.startsWith('\\\\') || path.startsWith('//')) return 'UNC network path (\\\\host\\share)';
  if (/^[A-Za-z]:/.test(path)) return 'absolute Windows path (drive letter)';
  if (path.startsWith('/')) return 'absolute path';
  // The zip spec requires '/', and a backslash is a separator on Windows but a name character elsewhere.
  if (path.includes('\\')) return 'backslash in path';
  const segments = (path.endsWith('/') ? path.slice(0, -1) : path).split('/');
  if (segments.includes('..')) return "'..' segment in path (escapes the folder)";
  if (segments.includes('.')) return "'.' segment in path";
  if (segments.includes('')) return "empty segment in path ('//')";
  return null;
}

/** Groups of paths that are one file on case-insensitive or normalising file systems. */
export function findCaseCollisions(paths: string[]): Array<{ paths: string[] }> {
  const groups = new Map<string, string[]>();
  for (const p of paths) {
    const key = p.normalize('NFC').toLowerCase();
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  return [...groups.values()].filter((g) => g.length > 1).map((g) => ({ paths: g }));
}
