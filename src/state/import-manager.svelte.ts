// One import at a time, seen from the UI: plan -> confirm -> run with progress -> report.
// Work happens in the import worker; only plain numbers and the final report come back.
import * as Comlink from 'comlink';
import { importClient } from '../clients/import-client';
import type { ImportPlan, ImportProgress, ImportSource } from '../../workers/import.api';
import type { ImportSession } from '../contracts/records';
import { storage } from './storage-manager.svelte';
import { rememberClosedImport } from '../db/closed-imports';

export type ImportPhase = 'idle' | 'planning' | 'planned' | 'running' | 'done' | 'error';

export const DEMO_URL = '/demo/digits.zip';

class ImportManager {
  private sourceKind: ImportSource['kind'] | null = null;
  /** The automatic demo import (first run, "Add Digits demo"): shown as preparing, not as the person's import. */
  isDemo = $state(false);
  phase = $state<ImportPhase>('idle');
  projectId = $state<string | null>(null);
  plan = $state<ImportPlan | null>(null);
  progress = $state<ImportProgress | null>(null);
  report = $state<ImportSession | null>(null);
  error = $state<string | null>(null);
  cancelling = $state(false);
  private resumeImportId: string | undefined;
  private finishedListeners = new Set<(projectId: string) => void>();

  get busy(): boolean {
    return this.phase === 'planning' || this.phase === 'running';
  }

  onFinished(listener: (projectId: string) => void): () => void {
    this.finishedListeners.add(listener);
    return () => this.finishedListeners.delete(listener);
  }

  async prepare(projectId: string, source: ImportSource, resumeImportId?: string): Promise<void> {
    if (this.busy) throw new Error('Another import is running; wait for it or cancel it first.');
    this.reset();
    this.sourceKind = source.kind;
    this.isDemo = source.kind === 'demo';
    this.projectId = projectId;
    this.resumeImportId = resumeImportId;
    this.phase = 'planning';
    try {
      this.plan = await importClient.call((api) => api.plan(projectId, source));
      this.phase = 'planned';
    } catch (err) {
      this.fail(err);
    }
  }

  async start(): Promise<void> {
    if (this.phase !== 'planned' || !this.plan || !this.projectId) return;
    const projectId = this.projectId;
    this.phase = 'running';
    // Persistence is asked for on a person's first real save, not for the automatic demo import.
    if (this.sourceKind !== 'demo') void storage.requestPersistence();
    try {
      const report = await importClient.call((api) =>
        api.run(
          this.plan!.planId,
          { resumeImportId: this.resumeImportId },
          Comlink.proxy((p: ImportProgress) => {
            this.progress = p;
          }),
        ),
      );
      if (report.closeUnsaved) rememberClosedImport(report);
      this.report = report;
      this.phase = 'done';
      // Nobody asked for the demo's import: a clean finish leaves no report behind (a failure or
      // a cancel still shows one).
      if (this.isDemo && report.state === 'complete' && !report.closeUnsaved && report.skipped.length === 0) this.reset();
    } catch (err) {
      this.fail(err);
    } finally {
      this.cancelling = false;
      void storage.refresh();
      this.finishedListeners.forEach((l) => l(projectId));
    }
  }

  /** Plans and starts at once (the demo, and resumes of the demo). */
  async run(projectId: string, source: ImportSource, resumeImportId?: string): Promise<void> {
    await this.prepare(projectId, source, resumeImportId);
    await this.start();
  }

  cancel(): void {
    if (this.phase === 'planned' && this.plan) {
      void importClient.api.discardPlan(this.plan.planId);
      this.reset();
      return;
    }
    if (this.phase === 'running') {
      this.cancelling = true;
      void importClient.api.cancel();
    }
  }

  dismiss(): void {
    if (!this.busy) this.reset();
  }

  private fail(err: unknown): void {
    const e = err as { name?: string; message?: string };
    this.error =
      e?.name === 'ZipBombError'
        ? `Import refused, nothing was stored: ${e.message}`
        : e?.name === 'QuotaExceededError'
          ? 'Storage is full: nothing could be saved. Free space (delete a project or other site data) and try again.'
          : e?.message || e?.name || String(err);
    this.phase = 'error';
  }

  private reset(): void {
    this.phase = 'idle';
    this.plan = null;
    this.progress = null;
    this.report = null;
    this.error = null;
    this.cancelling = false;
    this.isDemo = false;
  }
}

export const imports = new ImportManager();
