// Project files as UI state: export downloads at once (one click), and import goes
// check -> plan (what the file holds; nothing is written until confirmed) -> write (time left,
// cancel) -> report, like the image import flow. The work runs in the import worker
// (workers/project-archive.ts); this class only holds what the page shows.
import * as Comlink from 'comlink';
import { importClient } from '../clients/import-client';
import { IMPORT_CANCELLED, type ArchiveProgress, type ImportedProject, type ProjectImportPlan } from '../lib/archive/format';
import { estimateRemainingMs } from '../lib/util/format';
import type { ProjectRecord } from '../contracts/records';
import { projects } from './projects-manager.svelte';
import { storage } from './storage-manager.svelte';
import { downloadBlob } from './download';

export type ProjectImportPhase = 'checking' | 'plan' | 'writing' | 'done' | 'cancelled' | 'failed';

export interface ProjectImportState {
  fileName: string;
  fileBytes: number;
  phase: ProjectImportPhase;
  progress: { done: number; total: number; etaMs: number | null } | null;
  plan: ProjectImportPlan | null;
  result: ImportedProject | null;
  message: string | null;
}

/** A file name for a project's zip: its name with anything odd replaced. */
export function projectFileName(name: string): string {
  return `${name.replace(/[^\w.-]+/g, '_') || 'project'}.trainyard.zip`;
}

class ProjectFileManager {
  /** The project being exported (its name), or null. */
  exporting = $state<string | null>(null);
  exportProgress = $state<{ phase: string; done: number; total: number } | null>(null);
  exportNote = $state<string | null>(null);
  exportError = $state<string | null>(null);

  current = $state<ProjectImportState | null>(null);
  private answer: ((ok: boolean) => void) | null = null;
  private phaseStart = 0;
  private lastPhase = '';

  get busy(): boolean {
    return this.exporting !== null || (this.current !== null && ['checking', 'plan', 'writing'].includes(this.current.phase));
  }

  /** Builds the zip in the import worker and downloads it straight away. */
  async exportProject(p: ProjectRecord): Promise<void> {
    if (this.busy) return;
    this.exportNote = this.exportError = null;
    this.exporting = p.name;
    try {
      const blob = await importClient.call((api) =>
        api.exportProject(
          p.id,
          Comlink.proxy((progress: ArchiveProgress) => {
            this.exportProgress = { ...progress };
          }),
        ),
      );
      const name = projectFileName(p.name);
      downloadBlob(blob, name);
      this.exportNote = `Exported “${p.name}” as ${name}.`;
    } catch (err) {
      this.exportError = `Export failed: ${(err as Error).message}`;
    } finally {
      this.exporting = null;
      this.exportProgress = null;
    }
  }

  /** Checks the file, shows its plan and waits for confirm() or cancel(), then writes it. */
  async importProject(file: File): Promise<void> {
    if (this.busy) return;
    this.exportNote = this.exportError = null;
    this.current = {
      fileName: file.name,
      fileBytes: file.size,
      phase: 'checking',
      progress: null,
      plan: null,
      result: null,
      message: null,
    };
    this.phaseStart = performance.now();
    this.lastPhase = 'check';
    const onProgress = Comlink.proxy((p: ArchiveProgress) => this.progressed(p));
    const ask = Comlink.proxy((plan: ProjectImportPlan) => this.askConfirmation(plan));
    try {
      const result = await importClient.call((api) => api.importProject(file, onProgress, ask));
      if (this.current) this.current = { ...this.current, phase: 'done', result, progress: null };
      await projects.refresh();
    } catch (err) {
      const e = err as Error;
      if (this.current) {
        this.current = {
          ...this.current,
          phase: e?.name === IMPORT_CANCELLED ? 'cancelled' : 'failed',
          message: e?.message ?? String(err),
          progress: null,
        };
      }
    } finally {
      this.answer = null;
      void storage.refresh();
    }
  }

  private progressed(p: ArchiveProgress): void {
    if (!this.current || (this.current.phase !== 'checking' && this.current.phase !== 'writing')) return;
    if (p.phase !== this.lastPhase) {
      this.lastPhase = p.phase;
      this.phaseStart = performance.now();
    }
    const etaMs = estimateRemainingMs(p.done, p.total, performance.now() - this.phaseStart);
    this.current = { ...this.current, progress: { done: p.done, total: p.total, etaMs } };
  }

  private askConfirmation(plan: ProjectImportPlan): Promise<boolean> {
    if (!this.current) return Promise.resolve(false);
    this.current = { ...this.current, phase: 'plan', plan, progress: null };
    return new Promise<boolean>((resolve) => (this.answer = resolve));
  }

  /** The person read the plan and starts writing. */
  confirm(): void {
    if (!this.current || this.current.phase !== 'plan' || !this.answer) return;
    this.current = { ...this.current, phase: 'writing', progress: null };
    this.phaseStart = performance.now();
    this.lastPhase = 'write';
    const answer = this.answer;
    this.answer = null;
    answer(true);
  }

  /** Stops at any point before the report: nothing of the file is kept. */
  cancel(): void {
    if (!this.current) return;
    if (this.current.phase === 'plan' && this.answer) {
      const answer = this.answer;
      this.answer = null;
      answer(false);
    } else if (this.current.phase === 'checking' || this.current.phase === 'writing') {
      void importClient.call((api) => api.cancelProjectImport());
    }
  }

  /** Closes the report. */
  close(): void {
    if (this.current && !['checking', 'plan', 'writing'].includes(this.current.phase)) this.current = null;
  }
}

export const projectFiles = new ProjectFileManager();
