// Types only: what the import worker is given (sources) and hands back (plans, progress), and
// project-file import/export (src/lib/import, src/lib/archive, workers/import.worker.ts).

export type LabelMerge = {
  into: string;
  from: string[];
  /** `into` is a class the project already has (this import's spellings join it). */
  existing?: true;
};

export interface PlannedEntry {
  /** Index into the raw entry list, so the worker can find the file or zip entry. */
  index: number;
  path: string;
  fileName: string;
  label: string | null;
  labelFrom: 'folder' | 'csv' | null;
  /** The CSV named several labels for this file: imported unlabeled and flagged. */
  conflictLabels?: string[];
}

export interface PathNote {
  path: string;
  reason: string;
}

export interface ManifestSummary {
  path: string;
  rows: number;
  delimiter: string;
  problems: Array<{ line: number; fileName?: string; message: string }>;
  unlisted: string[];
}

export interface ImportPlanSummary {
  total: number;
  entries: PlannedEntry[];
  ignored: PathNote[];
  refused: PathNote[];
  labelCounts: Record<string, number>;
  unlabeled: number;
  merges: LabelMerge[];
  collisions: string[][];
  manifest: ManifestSummary | null;
}

/** A required backbone this browser has no copy of (by id or by weights hash). */
export interface MissingBackbone {
  id: string;
  /** The name it had where the file was made ("" for files from before names were kept). */
  name: string;
  catalogId?: string;
}

export interface ArchiveProgress {
  phase: string;
  done: number;
  total: number;
}

/**
 * What a checked project file holds, shown before anything is written (the import asks for
 * confirmation with it). Counts are of the records actually in the file, not its manifest's claims.
 */
export interface ProjectImportPlan {
  /** The name the new project will get (the file's, or "(imported)" when this browser has it). */
  name: string;
  /** The name in the file. */
  originalName: string;
  exportedAt: number;
  appVersion: string;
  counts: Record<string, number>;
  /** The project's classes. */
  labels: string[];
  /** Bytes of images and thumbnails to be stored. */
  imageBytes: number;
  /** Backbones the file's versions need that this browser lacks (ids in the file). */
  missingBackbones: string[];
  /** The same, with the name and catalog entry the file gives for each. */
  missingBackboneDetails: MissingBackbone[];
  /** Required backbones found here under another id, by their weights' SHA-256: versions use this browser's copy. */
  matchedBackbones: number;
}

export interface ImportedProject {
  projectId: string;
  name: string;
  counts: Record<string, number>;
  /** requiredBackbones this browser does not have: versions using them cannot predict until imported. */
  missingBackbones: string[];
  missingBackboneDetails: MissingBackbone[];
  matchedBackbones: number;
}

export type ImportSource =
  /** A picked or dropped folder: paths are webkitRelativePath-style, first segment is the folder. */
  | { kind: 'folder'; name: string; files: File[]; paths: string[] }
  /** Loose files: images, optionally with one CSV manifest. Zips picked this way are opened. */
  | { kind: 'files'; name: string; files: File[]; paths: string[] }
  | { kind: 'zip'; file: File }
  /** Webcam frames (JPEG files encoded on the page); paths are `<class>/<file>`. */
  | { kind: 'webcam'; name: string; files: File[]; paths: string[] }
  /** The bundled Digits demo, fetched from the app's own (precached) assets. */
  | { kind: 'demo'; url: string };
