import { describe, expect, it } from 'vitest';
import { classifyEntryPath, findCaseCollisions } from '../../src/lib/import/paths';
import { isArchiveJunk } from '../../src/lib/util/archive-junk';

const zip = (p: string) => classifyEntryPath(p, { dropRoot: false });
const picked = (p: string) => classifyEntryPath(p, { dropRoot: true });

describe('classifyEntryPath: accepted files', () => {
  it('uses the parent folder as the label', () => {
    expect(zip('cats/a.png')).toEqual({ kind: 'ok', path: 'cats/a.png', fileName: 'a.png', label: 'cats' });
    expect(zip('train/dogs/b.jpg')).toEqual({ kind: 'ok', path: 'train/dogs/b.jpg', fileName: 'b.jpg', label: 'dogs' });
  });

  it('gives files at the root no label', () => {
    expect(zip('a.png')).toEqual({ kind: 'ok', path: 'a.png', fileName: 'a.png', label: null });
    expect(picked('Photos/a.png')).toEqual({ kind: 'ok', path: 'a.png', fileName: 'a.png', label: null });
  });

  it('drops the picked folder from webkitRelativePath', () => {
    expect(picked('Dataset/cat/x.png')).toEqual({ kind: 'ok', path: 'cat/x.png', fileName: 'x.png', label: 'cat' });
    // The picked folder may itself be hidden; that must not hide everything in it.
    expect(picked('.data/cat/x.png').kind).toBe('ok');
  });

  it('trims the label and treats a blank folder name as no label', () => {
    expect(zip(' Cat /a.png')).toMatchObject({ kind: 'ok', label: 'Cat', path: ' Cat /a.png' });
    expect(zip('   /a.png')).toMatchObject({ kind: 'ok', label: null });
  });

  it('normalises names to NFC', () => {
    const nfd = 'Cafe\u0301/e\u0301.png';
    const r = zip(nfd);
    expect(r).toEqual({ kind: 'ok', path: 'Caf\u00e9/\u00e9.png', fileName: '\u00e9.png', label: 'Caf\u00e9' });
  });

  it('keeps markup in names as plain text', () => {
    expect(zip('<img src=x onerror=alert(1)>/a.png')).toMatchObject({ kind: 'ok', label: '<img src=x onerror=alert(1)>' });
  });
});

describe('classifyEntryPath: unsafe paths', () => {
  it.each([
    ['../x.png', /'\.\.' segment/],
    ['cats/../../x.png', /'\.\.' segment/],
    ['cats/..', /'\.\.' segment/],
    ['/etc/passwd', /absolute path/],
    ['C:\\x.png', /drive letter/],
    ['C:/x.png', /drive letter/],
    ['c:x.png', /drive letter/],
    ['\\\\host\\share\\x.png', /UNC/],
    ['//host/share/x.png', /UNC/],
    ['cats\\a.png', /backslash in path/],
    ['cats/a\0.png', /NUL byte/],
    ['cats/a\n.png', /control character U\+000A/],
    ['cats/a\x1b.png', /control character U\+001B/],
    ['a//b.png', /empty segment/],
    ['./a.png', /'\.' segment/],
    ['', /empty path/],
    ['a/'.repeat(600) + 'x.png', /longer than 1024/],
  ])('rejects %j', (path, reason) => {
    const r = zip(path);
    expect(r.kind).toBe('unsafe');
    if (r.kind === 'unsafe') expect(r.reason).toMatch(reason);
  });

  it('checks the whole path even when the root is dropped', () => {
    expect(picked('../cat/a.png').kind).toBe('unsafe');
    expect(picked('Root/cat\\a.png').kind).toBe('unsafe');
  });

  it('accepts names with dots that are not traversal', () => {
    expect(zip('v1..2/a..b.png').kind).toBe('ok');
    expect(zip('a' + '/b'.repeat(100) + '.png').kind).toBe('ok');
  });
});

describe('classifyEntryPath: junk', () => {
  it.each([
    ['__MACOSX/cats/._a.png', /__MACOSX/],
    ['data/__MACOSX/a.png', /__MACOSX/],
    ['cats/.DS_Store', /\.DS_Store/],
    ['cats/Thumbs.db', /Thumbs\.db/],
    ['cats/thumbs.db', /Thumbs\.db/],
    ['cats/desktop.ini', /desktop\.ini/],
    ['cats/._a.png', /AppleDouble/],
    ['cats/.hidden.png', /hidden file/],
    ['.git/objects/ab', /hidden folder \.git/],
    ['cats/.thumbs/a.png', /hidden folder \.thumbs/],
  ])('ignores %j', (path, reason) => {
    const r = zip(path);
    expect(r.kind).toBe('junk');
    if (r.kind === 'junk') expect(r.reason).toMatch(reason);
  });

  it('marks directory entries with reason "directory"', () => {
    expect(zip('cats/')).toEqual({ kind: 'junk', path: 'cats/', reason: 'directory' });
    expect(picked('Root/cats/')).toEqual({ kind: 'junk', path: 'cats/', reason: 'directory' });
  });

  it('drops the root in junk paths', () => {
    expect(picked('Root/cats/.DS_Store')).toMatchObject({ kind: 'junk', path: 'cats/.DS_Store' });
  });
});

describe('findCaseCollisions', () => {
  it('groups paths equal after NFC and lowercasing', () => {
    const groups = findCaseCollisions(['Cat/a.png', 'dog/b.png', 'cat/A.png', 'CAT/a.PNG', 'caf\u00e9/x.png', 'cafe\u0301/x.png']);
    expect(groups).toEqual([{ paths: ['Cat/a.png', 'cat/A.png', 'CAT/a.PNG'] }, { paths: ['caf\u00e9/x.png', 'cafe\u0301/x.png'] }]);
  });

  it('reports exact duplicates and nothing for distinct paths', () => {
    expect(findCaseCollisions(['a/x.png', 'a/x.png'])).toEqual([{ paths: ['a/x.png', 'a/x.png'] }]);
    expect(findCaseCollisions(['a/x.png', 'b/x.png', 'a/y.png'])).toEqual([]);
    expect(findCaseCollisions([])).toEqual([]);
  });
});

describe('isArchiveJunk (model, backbone and kit archives)', () => {
  it('skips macOS resource forks and Finder metadata at any depth, and nothing else', () => {
    for (const junk of [
      '__MACOSX/model.json',
      'export/__MACOSX/export/._model.json',
      '._model.json',
      'dir/._weights.bin',
      '.DS_Store',
      'export/.DS_Store',
    ]) {
      expect(isArchiveJunk(junk), junk).toBe(true);
    }
    for (const kept of [
      'model.json',
      'export/group1-shard1of1.bin',
      'my__MACOSX/model.json',
      'a.DS_Store.json',
      'x._y',
      '.hidden/model.json',
    ]) {
      expect(isArchiveJunk(kept), kept).toBe(false);
    }
  });
});
