// Types only: model export formats as the page sees them (the worker holds the builders).

// What the main thread knows of an export format (the worker holds the builders).
export interface ExportFormatInfo {
  id: string;
  label: string;
  /** What runs it, in words ("ONNX Runtime ..."). */
  runsWith: string;
}

/** One format's outcome for a version, as the Export dialog shows it. */
export type ExportOutcome =
  | (ExportFormatInfo & { ok: true; fileName: string; bytes: number; modelBytes: number; ms: number })
  | (ExportFormatInfo & { ok: false; error: string; layer?: string });
