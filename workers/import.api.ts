// The import worker's API: plan an import (shown to the user first), run it, cancel it.
import type { ImportSession } from '../src/contracts/records';
import type { ArchiveProgress, ImportedProject, ImportPlanSummary, ImportSource, ProjectImportPlan } from '../src/contracts/imports';

export type { ImportSource };

export type ImportPlan = Omit<ImportPlanSummary, 'entries'> & {
  planId: string;
  sourceName: string;
  images: number;
};

export interface ImportProgress {
  done: number;
  total: number;
  imported: number;
  duplicates: number;
  skipped: number;
  elapsedMs: number;
  etaMs: number | null;
}

export interface RunOptions {
  /** Continue an interrupted session: what it already saved is kept, the rest is added. */
  resumeImportId?: string;
}

export interface ImportApi {
  plan(projectId: string, source: ImportSource): Promise<ImportPlan>;
  run(planId: string, options: RunOptions, onProgress: (p: ImportProgress) => void): Promise<ImportSession>;
  /** Stops after the current batch; what was committed is kept and the session is closed. */
  cancel(): void;
  discardPlan(planId: string): void;
  /** Labeled images as <class>/<file> with a labels.csv (all samples, with sources). */
  exportImageFolder(projectId: string, onProgress: (done: number, total: number) => void): Promise<Blob>;
  /** The whole project as one portable zip (src/lib/archive/format.ts). */
  exportProject(projectId: string, onProgress: (p: ArchiveProgress) => void): Promise<Blob>;
  /**
   * Checks a project file completely, then stores it as a new project (nothing is written if it is
   * refused). With `confirm`, the plan is shown after the check and nothing is written unless it
   * answers true. Stopped by cancelProjectImport (an error named ImportCancelled).
   */
  importProject(
    file: Blob,
    onProgress: (p: ArchiveProgress) => void,
    confirm?: (plan: ProjectImportPlan) => Promise<boolean>,
  ): Promise<ImportedProject>;
  /** Stops the running project import at the next file or batch; what it wrote is removed. */
  cancelProjectImport(): void;
}
