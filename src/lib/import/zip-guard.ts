// Zip bomb limits, enforced on bytes actually inflated: declared sizes in a zip are written by
// whoever made it and may lie, so only counting while inflating keeps memory bounded.

export class ZipBombError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipBombError';
  }
}

export type ZipLimits = {
  maxEntries: number;
  maxTotalBytes: number;
  maxEntryBytes: number;
  maxRatio: number;
  /** Below this many inflated bytes the ratio is not checked: tiny, very compressible files are normal. */
  ratioMinBytes: number;
};

export const DEFAULT_ZIP_LIMITS: ZipLimits = {
  maxEntries: 100_000,
  maxTotalBytes: 4 * 1024 ** 3,
  maxEntryBytes: 64 * 1024 ** 2,
  maxRatio: 100,
  ratioMinBytes: 1024 * 1024,
};

export class ZipGuard {
  readonly limits: ZipLimits;
  private total = 0;
  private entryName: string | null = null;
  private entryBytes = 0;
  private compressedSize = 0;

  constructor(limits: Partial<ZipLimits> = {}) {
    this.limits = { ...DEFAULT_ZIP_LIMITS, ...limits };
  }

  checkEntryCount(n: number): void {
    if (n > this.limits.maxEntries) {
      throw new ZipBombError(`zip has ${n} entries, over the limit of ${this.limits.maxEntries}`);
    }
  }

  startEntry(name: string, compressedSize: number): void {
    this.entryName = name;
    this.entryBytes = 0;
    this.compressedSize = Math.max(compressedSize, 0);
  }

  /** Call for every inflated chunk, before keeping it, so a bomb stops at the first chunk too many. */
  addInflated(n: number): void {
    if (this.entryName === null) throw new Error('ZipGuard.addInflated called before startEntry');
    this.entryBytes += n;
    this.total += n;
    const { maxEntryBytes, maxTotalBytes, maxRatio, ratioMinBytes } = this.limits;
    const name = this.entryName;
    if (this.entryBytes > maxEntryBytes) {
      throw new ZipBombError(`zip entry "${name}" inflates to more than ${mib(maxEntryBytes)}, the per-file limit`);
    }
    if (this.total > maxTotalBytes) {
      throw new ZipBombError(`zip inflates to more than ${mib(maxTotalBytes)} in total (limit reached at "${name}")`);
    }
    const ratio = this.entryBytes / Math.max(this.compressedSize, 1);
    if (this.entryBytes > ratioMinBytes && ratio > maxRatio) {
      throw new ZipBombError(
        `zip entry "${name}" expands more than ${maxRatio}x (${this.compressedSize} compressed bytes to ` +
          `${this.entryBytes} so far), the compression ratio limit`,
      );
    }
  }

  /** Refuses an entry whose declared (central directory) sizes already exceed the limits. */
  checkDeclared(name: string, uncompressed: number, compressed: number): void {
    if (uncompressed > this.limits.maxEntryBytes) {
      throw new ZipBombError(`${name} declares ${uncompressed} bytes when extracted; the limit per file is ${this.limits.maxEntryBytes}`);
    }
    if (uncompressed > this.limits.ratioMinBytes && uncompressed / Math.max(compressed, 1) > this.limits.maxRatio) {
      throw new ZipBombError(
        `${name} expands ${Math.round(uncompressed / Math.max(compressed, 1))}:1 (limit ${this.limits.maxRatio}:1), a sign of a zip bomb`,
      );
    }
  }

  get totalInflated(): number {
    return this.total;
  }
}

function mib(bytes: number): string {
  if (bytes >= 1024 ** 3 && bytes % 1024 ** 3 === 0) return `${bytes / 1024 ** 3} GiB`;
  if (bytes >= 1024 ** 2) return `${Number((bytes / 1024 ** 2).toFixed(1))} MiB`;
  return `${bytes} bytes`;
}
