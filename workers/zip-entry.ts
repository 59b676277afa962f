// Reading one zip entry (zip.js) through a ZipGuard that counts the bytes actually inflated:
// shared by imports, model zips and backbone zips, so every zip gets the same bomb limits.
import type { FileEntry } from '@zip.js/zip.js';
import { ZipBombError, type ZipGuard } from '../src/lib/import/zip-guard';
import { errorMessage } from '../src/lib/util/errors';

export function concatBytes(chunks: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

export async function inflateEntry(entry: FileEntry, guard: ZipGuard): Promise<Uint8Array<ArrayBuffer>> {
  guard.startEntry(entry.filename, entry.compressedSize);
  const chunks: Uint8Array[] = [];
  let bomb: unknown = null;
  const sink = new WritableStream<Uint8Array>({
    write(chunk) {
      try {
        guard.addInflated(chunk.byteLength);
      } catch (err) {
        bomb = err;
        throw err;
      }
      chunks.push(chunk);
    },
  });
  try {
    await entry.getData!(sink);
  } catch (err) {
    // zip.js may wrap the sink's error: report the guard's own reason when it was the cause.
    if (bomb) throw bomb;
    if (err instanceof ZipBombError) throw err;
    // An entry inflating past the size its header declares is lying about itself: treat the
    // whole zip like any other bomb rather than importing the rest of it.
    if (err instanceof Error && /uncompressed size/i.test(err.message)) {
      throw new ZipBombError(`zip entry "${entry.filename}" inflates past the size its header declares`);
    }
    throw new Error(`could not be extracted: ${errorMessage(err)}`, { cause: err });
  }
  if (bomb) throw bomb;
  return concatBytes(chunks);
}
