// Files a zip or a picked folder carries that are nobody's content: macOS resource forks
// (__MACOSX/ folders and ._ AppleDouble files) and Finder's .DS_Store. Readers of model, backbone
// and kit archives skip them before looking for model.json and its weights. (Dataset imports
// classify paths in detail, with reasons, in lib/import/paths.)
const JUNK = /(^|\/)(__MACOSX\/|\.DS_Store$|\._)/;

/** True for a path (zip entry name or relative path, '/'-separated) that is archive junk. */
export function isArchiveJunk(path: string): boolean {
  return JUNK.test(path);
}
