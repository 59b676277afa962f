import 'fake-indexeddb/auto';
import { createHash } from 'node:crypto';
import { BlobReader, BlobWriter, Uint8ArrayReader, Uint8ArrayWriter, ZipReader, ZipWriter, type FileEntry } from '@zip.js/zip.js';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { db, resetConnection } from '../../src/db/open';
import { createProject, listProjects } from '../../src/db/projects';
import { beginImport, finishImport } from '../../src/db/imports';
import { writeSampleBatch } from '../../src/db/samples';
import { addVersion, setAlias } from '../../src/db/models';
import { DB_NAME } from '../../src/db/schema';
import { MANIFEST_PATH, type ArchiveManifest } from '../../src/lib/archive/format';
import { buildProjectArchive, restoreProjectArchive } from '../../workers/project-archive';
import { versionMeta } from '../record-fixtures';

const noop = () => {};
const hex = (n: number) => n.toString(16).padStart(64, '0');
type Files = Map<string, Uint8Array>;

let valid: Files;

async function wipe(): Promise<void> {
  await resetConnection();
  await new Promise<void>((resolve) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}

async function unzip(blob: Blob): Promise<Files> {
  const reader = new ZipReader(new BlobReader(blob));
  const files: Files = new Map();
  for (const e of await reader.getEntries()) files.set(e.filename, await (e as FileEntry).getData(new Uint8ArrayWriter()));
  await reader.close();
  return files;
}

/** Zips `files`; unless `rehash` is false, the manifest's file list is recomputed so only the intended flaw remains. */
async function zip(files: Files, { rehash = true, level = 0 } = {}): Promise<Blob> {
  const out = new Map(files);
  const manifestBytes = out.get(MANIFEST_PATH);
  if (rehash && manifestBytes) {
    const manifest = JSON.parse(new TextDecoder().decode(manifestBytes)) as ArchiveManifest;
    manifest.files = [...out]
      .filter(([path]) => path !== MANIFEST_PATH)
      .map(([path, b]) => ({ path, sha256: createHash('sha256').update(b).digest('hex'), bytes: b.byteLength }));
    out.set(MANIFEST_PATH, new TextEncoder().encode(JSON.stringify(manifest)));
  }
  const writer = new ZipWriter(new BlobWriter('application/zip'));
  for (const [path, b] of out) await writer.add(path, new Uint8ArrayReader(b), { level });
  return writer.close();
}

const text = (files: Files, path: string) => new TextDecoder().decode(files.get(path)!);
const setText = (files: Files, path: string, value: string) => files.set(path, new TextEncoder().encode(value));

/** A copy of the valid archive with line `line` of a records file changed (as text, so any JSON fits). */
function withLine(path: string, line: number, edit: (json: string) => string): Files {
  const files = new Map(valid);
  const lines = text(files, path).split('\n');
  lines[line] = edit(lines[line]);
  setText(files, path, lines.join('\n'));
  return files;
}
const withRecord = (path: string, line: number, edit: (r: Record<string, unknown>) => Record<string, unknown>) =>
  withLine(path, line, (json) => JSON.stringify(edit(JSON.parse(json) as Record<string, unknown>)));
function withManifest(edit: (m: Record<string, unknown>) => void): Files {
  const files = new Map(valid);
  const m = JSON.parse(text(files, MANIFEST_PATH)) as Record<string, unknown>;
  edit(m);
  setText(files, MANIFEST_PATH, JSON.stringify(m));
  return files;
}

async function storeCounts(): Promise<number> {
  const d = await db();
  return (await Promise.all([...d.objectStoreNames].map((n) => d.count(n as never)))).reduce((a, b) => a + b, 0);
}

beforeAll(async () => {
  await wipe();
  const p = await createProject('Cats');
  const session = await beginImport(p.id, { kind: 'files', name: 'cats', fileCount: 2 });
  await writeSampleBatch(
    p.id,
    [1, 2].map((n) => ({
      sample: {
        projectId: p.id,
        id: hex(n),
        fileName: `c${n}.png`,
        path: `c${n}.png`,
        label: 'cat',
        labelSource: { kind: 'folder' as const },
        labeledAt: null,
        width: 4,
        height: 4,
        mime: 'image/png',
        bytes: 8,
        split: 'train' as const,
        addedAt: 1,
        importId: session.id,
        flags: [],
      },
      original: { projectId: p.id, id: hex(n), mime: 'image/png', data: new Uint8Array(8).fill(n).buffer },
      thumbnail: { projectId: p.id, id: hex(n), mime: 'image/png', data: new Uint8Array(2).fill(n).buffer },
    })),
  );
  await finishImport({ ...session, state: 'complete', endedAt: 2, imported: 2 });
  const versionId = crypto.randomUUID();
  await addVersion(
    { id: versionId, projectId: p.id, createdAt: 3, runId: null, parentId: null, meta: versionMeta({ labels: ['cat'] }) },
    { versionId, modelTopology: {}, weightSpecs: [], weightData: new Float32Array([1, 2]).buffer },
  );
  await setAlias(p.id, 'production', versionId);
  valid = await unzip(await buildProjectArchive(p.id, noop));
});

// Each refusal happens in the database that already holds the exported project: nothing may be added.
beforeEach(async () => {
  expect((await listProjects()).length).toBe(1);
});

async function expectRefused(file: Blob, message: RegExp): Promise<void> {
  const before = await storeCounts();
  await expect(restoreProjectArchive(file, noop)).rejects.toThrow(message);
  expect(await listProjects()).toHaveLength(1);
  expect(await storeCounts()).toBe(before);
}

describe('hostile project files', () => {
  it('accepts the untouched file (the baseline every case below changes one thing of)', async () => {
    expect([...valid.keys()]).toEqual(expect.arrayContaining([MANIFEST_PATH, 'records/samples.jsonl', 'blobs/originals/0.bin']));
    const before = await storeCounts();
    const result = await restoreProjectArchive(await zip(valid), noop);
    expect(result.name).toBe('Cats (imported)');
    const { deleteProject } = await import('../../src/db/projects');
    await deleteProject(result.projectId);
    expect(await storeCounts()).toBe(before);
  });

  it('refuses a file that is not a zip', async () => {
    await expectRefused(new Blob(['just some text']), /not a zip file/);
  });

  it('refuses a zip without a manifest', async () => {
    const files = new Map(valid);
    files.delete(MANIFEST_PATH);
    await expectRefused(await zip(files), /no trainyard-project\.json.*not a Trainyard project/);
  });

  it('refuses another format', async () => {
    await expectRefused(await zip(withManifest((m) => (m.format = 'someone.else'))), /does not describe a Trainyard project/);
  });

  it('refuses a file made by a newer Trainyard (format or database version)', async () => {
    await expectRefused(await zip(withManifest((m) => (m.formatVersion = 2))), /made by a newer Trainyard \(project file format 2/);
    await expectRefused(await zip(withManifest((m) => (m.dbVersion = 99))), /made by a newer Trainyard \(database version 99/);
  });

  it('refuses a records file changed after export (hash mismatch)', async () => {
    const files = withRecord('records/samples.jsonl', 0, (r) => ({ ...r, label: 'dog' }));
    await expectRefused(await zip(files, { rehash: false }), /records\/samples\.jsonl does not match the SHA-256/);
  });

  it('refuses a path outside records/ and blobs/', async () => {
    const files = new Map(valid);
    files.set('../x', new Uint8Array([1]));
    await expectRefused(await zip(files), /"\.\.\/x", a path outside records\/ and blobs\//);
  });

  it('refuses a blob reference to a file that is not there', async () => {
    const files = withRecord('records/originals.jsonl', 0, (r) => ({ ...r, data: { $blob: 'blobs/originals/99.bin' } }));
    await expectRefused(
      await zip(files),
      /records\/originals\.jsonl, line 1: data refers to blobs\/originals\/99\.bin, which is not in the archive/,
    );
  });

  it('refuses a blob reference into another store', async () => {
    const files = withRecord('records/originals.jsonl', 0, (r) => ({ ...r, data: { $blob: 'blobs/modelWeights/0.bin' } }));
    await expectRefused(await zip(files), /outside blobs\/originals\//);
  });

  it('refuses a record of another project', async () => {
    const files = withRecord('records/samples.jsonl', 1, (r) => ({ ...r, projectId: 'someone-elses' }));
    await expectRefused(await zip(files), /records\/samples\.jsonl, line 2: "projectId" is "someone-elses", not the archived project's id/);
  });

  it('refuses a sample whose id is not a SHA-256', async () => {
    const files = withRecord('records/samples.jsonl', 0, (r) => ({ ...r, id: '../../etc' }));
    await expectRefused(await zip(files), /records\/samples\.jsonl, line 1: "id" must be a SHA-256/);
  });

  it('refuses prototype-pollution keys', async () => {
    const files = withLine('records/samples.jsonl', 0, (json) => json.replace('{', '{"__proto__":{"polluted":true},'));
    await expectRefused(await zip(files), /line 1: the record has a key named "__proto__"/);
    const nested = withLine('records/models.jsonl', 0, (json) => json.replace('"meta":{', '"meta":{"constructor":{"prototype":{}},'));
    await expectRefused(await zip(nested), /records\/models\.jsonl, line 1: meta has a key named "constructor"/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses an oversized string', async () => {
    const files = withRecord('records/samples.jsonl', 0, (r) => ({ ...r, path: 'a/'.repeat(5000) }));
    await expectRefused(await zip(files), /records\/samples\.jsonl, line 1: "path" is longer than 4096 characters/);
  });

  it('refuses a zip bomb (an entry that expands far more than images or JSON do)', async () => {
    const files = new Map(valid);
    files.set('blobs/originals/0.bin', new Uint8Array(8 * 1024 * 1024));
    await expectRefused(await zip(files, { level: 9 }), /zip bomb/);
  });

  it('refuses broken references between records', async () => {
    const orphan = withRecord('records/thumbnails.jsonl', 0, (r) => ({ ...r, id: hex(99) }));
    await expectRefused(await zip(orphan), /records\/thumbnails\.jsonl, line 1: "id" is "0+63", which is not a sample/);
    const alias = withRecord('records/aliases.jsonl', 0, (r) => ({ ...r, versionId: 'no-such-version' }));
    await expectRefused(
      await zip(alias),
      /records\/aliases\.jsonl, line 1: "versionId" is "no-such-version", which is not a model version/,
    );
  });

  // Issue #22, 4: a sample naming an import that is not in the file was imported.
  it('refuses a sample whose import is not in the file (samples.importId)', async () => {
    const files = withRecord('records/samples.jsonl', 1, (r) => ({ ...r, importId: 'no-such-import' }));
    await expectRefused(
      await zip(files),
      /records\/samples\.jsonl, line 2: "importId" is "no-such-import", which is not an import in records\/imports\.jsonl\. Nothing was imported\./,
    );
  });

  // Issue #22, 2+3: one policy for untrusted JSON: unknown keys refused with where they were.
  it('refuses unknown keys in a record and in the manifest, naming the key', async () => {
    const files = withRecord('records/samples.jsonl', 0, (r) => ({ ...r, sneaky: 1 }));
    await expectRefused(
      await zip(files),
      /records\/samples\.jsonl, line 1 has an unknown key "sneaky" at \$; unknown keys are refused, not ignored/,
    );
    await expectRefused(
      await zip(withManifest((m) => ((m.project as Record<string, unknown>).extra = 1))),
      /trainyard-project\.json has an unknown key "extra" at \$\.project/,
    );
  });

  // Issue #22, 1: depth bounded on the text before anything walks it.
  it('refuses a record nested deeper than the limit (a loop measures it, no stack overflow)', async () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const files = withLine('records/models.jsonl', 0, (json) => json.replace('"meta":{', `"meta":{"x":${deep},`));
    await expectRefused(await zip(files), /records\/models\.jsonl, line 1 is nested more than 64 levels deep; the limit is 64/);
  });

  it('refuses files the manifest does not list, blobs no record uses, and counts that do not match', async () => {
    const extra = new Map(valid);
    extra.set('blobs/originals/7.bin', new Uint8Array([1]));
    const blob = await zip(extra, { rehash: false });
    await expectRefused(blob, /blobs\/originals\/7\.bin is in the archive but not listed/);
    await expectRefused(await zip(extra), /blobs\/originals\/7\.bin is listed in trainyard-project\.json but no record refers to it/);
    await expectRefused(
      await zip(withManifest((m) => ((m.counts as Record<string, number>).samples = 5))),
      /samples\.jsonl has 2 records but trainyard-project\.json says 5/,
    );
  });
});
