// Hex digests, one way for everything that names bytes by their SHA-256 (samples, weights, kit
// files, dataset versions, pipeline step keys). Web Crypto: browsers, workers and Node 20.

/** Lower-case hex of the bytes. */
export function toHex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let hex = '';
  for (const b of view) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/** Lower-case hex SHA-256 of bytes, or of a string's UTF-8 bytes. */
export async function sha256Hex(data: string | ArrayBuffer | Uint8Array): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return toHex(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
}
