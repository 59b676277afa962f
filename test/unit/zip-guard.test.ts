import { describe, expect, it } from 'vitest';
import { DEFAULT_ZIP_LIMITS, ZipBombError, ZipGuard } from '../../src/lib/import/zip-guard';

const MiB = 1024 * 1024;

/** Feeds `total` bytes in chunks, like an inflate stream would, and returns how many were accepted. */
function feed(guard: ZipGuard, total: number, chunk = 64 * 1024): number {
  let accepted = 0;
  while (accepted < total) {
    const n = Math.min(chunk, total - accepted);
    guard.addInflated(n);
    accepted += n;
  }
  return accepted;
}

describe('ZipGuard', () => {
  it('has the documented defaults', () => {
    expect(DEFAULT_ZIP_LIMITS).toEqual({
      maxEntries: 100_000,
      maxTotalBytes: 4 * 1024 ** 3,
      maxEntryBytes: 64 * MiB,
      maxRatio: 100,
      ratioMinBytes: MiB,
    });
    expect(new ZipGuard({ maxEntries: 5 }).limits).toEqual({ ...DEFAULT_ZIP_LIMITS, maxEntries: 5 });
  });

  it('ZipBombError is an Error with its own name', () => {
    const e = new ZipBombError('boom');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('ZipBombError');
  });

  it('limits the entry count', () => {
    const guard = new ZipGuard({ maxEntries: 10 });
    expect(() => guard.checkEntryCount(10)).not.toThrow();
    expect(() => guard.checkEntryCount(11)).toThrow(ZipBombError);
    expect(() => guard.checkEntryCount(11)).toThrow(/11 entries, over the limit of 10/);
  });

  it('accepts ordinary archives and counts actual bytes', () => {
    const guard = new ZipGuard();
    for (let i = 0; i < 20; i++) {
      guard.startEntry(`cats/${i}.png`, 200_000);
      feed(guard, 250_000);
    }
    expect(guard.totalInflated).toBe(20 * 250_000);
  });

  it('allows tiny, very compressible files below ratioMinBytes', () => {
    const guard = new ZipGuard();
    guard.startEntry('blank.bmp', 100);
    expect(() => feed(guard, MiB)).not.toThrow(); // ratio 10,000x but only 1 MiB
    expect(() => guard.addInflated(1)).toThrow(/blank\.bmp.*more than 100x/);
  });

  it('stops a high-ratio entry as soon as it crosses the limit, whatever size was declared', () => {
    const guard = new ZipGuard();
    guard.startEntry('bomb.png', 1000);
    let error: unknown;
    let accepted = 0;
    try {
      accepted = feed(guard, 1024 * MiB);
    } catch (e) {
      error = e;
      accepted = guard.totalInflated;
    }
    expect(error).toBeInstanceOf(ZipBombError);
    expect((error as Error).message).toMatch(/"bomb\.png" expands more than 100x/);
    expect(accepted).toBeLessThanOrEqual(MiB + 64 * 1024);
  });

  it('treats a zero compressed size as 1 byte instead of dividing by zero', () => {
    const guard = new ZipGuard({ ratioMinBytes: 10 });
    guard.startEntry('zero', 0);
    expect(() => guard.addInflated(100)).not.toThrow();
    expect(() => guard.addInflated(1)).toThrow(ZipBombError);
  });

  it('limits bytes per entry, naming the entry and the limit', () => {
    const guard = new ZipGuard({ maxEntryBytes: 2 * MiB, maxRatio: Infinity });
    guard.startEntry('dogs/huge.jpg', 10);
    expect(() => feed(guard, 3 * MiB)).toThrow(/"dogs\/huge\.jpg" inflates to more than 2 MiB, the per-file limit/);
  });

  it('resets the per-entry count for each entry but keeps the total', () => {
    const guard = new ZipGuard({ maxEntryBytes: 1000, maxTotalBytes: 2500, maxRatio: Infinity });
    guard.startEntry('a', 1000);
    guard.addInflated(1000);
    guard.startEntry('b', 1000);
    guard.addInflated(1000);
    guard.startEntry('c', 1000);
    expect(() => guard.addInflated(501)).toThrow(/more than 2500 bytes in total \(limit reached at "c"\)/);
    expect(guard.totalInflated).toBe(2501);
  });

  it('names the total limit in GiB', () => {
    const guard = new ZipGuard({ maxEntryBytes: Infinity, maxRatio: Infinity });
    guard.startEntry('big', 1);
    expect(() => guard.addInflated(4 * 1024 ** 3 + 1)).toThrow(/more than 4 GiB in total/);
  });

  it('refuses bytes before any entry was started', () => {
    expect(() => new ZipGuard().addInflated(1)).toThrow(/before startEntry/);
  });
});

describe('declared sizes', () => {
  it('refuses an entry whose declared size or ratio already admits a bomb', async () => {
    const { ZipGuard, ZipBombError } = await import('../../src/lib/import/zip-guard');
    const g = new ZipGuard();
    expect(() => g.checkDeclared('cats/bomb.png', 200 * 1024 * 1024, 205_000)).toThrow(ZipBombError);
    expect(() => g.checkDeclared('cats/x.png', 4 * 1024 * 1024, 4_000)).toThrow(/1049:1|1048:1|expands/);
    expect(() => g.checkDeclared('cats/ok.png', 30_000, 29_000)).not.toThrow();
  });
});
