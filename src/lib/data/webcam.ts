// Webcam capture's pure parts: which square of a video frame is kept, and what a person is told
// when the camera cannot be used.

/** Frames held for review before they are added (each a ~10-20 KB JPEG). */
export const MAX_FRAMES = 300;
/** Stored frames are at most this many pixels square (Teachable Machine captures 224). */
export const FRAME_SIZE = 224;

/** The centred square of a width x height frame, and the side it is scaled to. */
export function frameCrop(width: number, height: number, out = FRAME_SIZE): { x: number; y: number; side: number; out: number } {
  if (!(width > 0 && height > 0)) throw new Error(`A video frame needs a positive size (got ${width}x${height}).`);
  const side = Math.min(width, height);
  return { x: Math.floor((width - side) / 2), y: Math.floor((height - side) / 2), side, out: Math.min(out, side) };
}

/** A clear message for getUserMedia's failures (DOMException names per the Media Capture spec). */
export function cameraErrorMessage(err: unknown): string {
  const name = (err as { name?: string } | null)?.name ?? '';
  switch (name) {
    case 'NotAllowedError':
    case 'PermissionDeniedError':
      return 'Camera access was refused. Allow the camera for this site in the browser (the camera icon in the address bar), then press Start camera again.';
    case 'NotFoundError':
    case 'DevicesNotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect a webcam, then press Start camera again.';
    case 'NotReadableError':
    case 'TrackStartError':
      return 'The camera is in use by another application or could not be started. Close the other application, then try again.';
    case 'NotSupportedError':
    case 'SecurityError':
      return 'This browser gives no camera access to this page (it needs a secure https:// or localhost address).';
    default:
      return `The camera could not be started: ${(err as Error)?.message || String(err)}`;
  }
}
