// Hands a file to the browser's downloads, the one way every "Export…" button does it: an <a
// download> click on an object URL. The URL is revoked a minute later, not at once: the
// download takes its own copy when it starts, which a slow or busy browser does late.
const KEEP_URL_MS = 60_000;

export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), KEEP_URL_MS);
}
