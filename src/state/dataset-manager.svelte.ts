// The open project's dataset as UI state: samples (finished imports only), filters, stats,
// and interrupted imports that wait for resume or discard.
import { listSamples, deleteSamples } from '../db/samples';
import { discardImport, keepImport, listImports } from '../db/imports';
import { closedImport, flushClosedImports } from '../db/closed-imports';
import { getProject } from '../db/projects';
import type { ImportSession, ProjectRecord, SampleRecord } from '../contracts/records';
import { NO_FILTER, datasetStats, datasetWarnings, filterSamples, type SampleFilter } from '../lib/data/dataset-stats';
import { imports } from './import-manager.svelte';

async function heldImportLocks(): Promise<Set<string>> {
  const state = await navigator.locks.query();
  return new Set((state.held ?? []).map((l) => l.name ?? ''));
}

export class DatasetManager {
  project = $state<ProjectRecord | null>(null);
  samples = $state.raw<SampleRecord[]>([]);
  damaged = $state(0);
  sessions = $state<ImportSession[]>([]);
  /** Sessions still 'running' on disk that no tab is running: killed mid-import. */
  interrupted = $state<ImportSession[]>([]);
  running = $state<ImportSession[]>([]);
  filter = $state<SampleFilter>({ ...NO_FILTER });
  loading = $state(true);
  missing = $state(false);

  stats = $derived(datasetStats(this.samples));
  filtered = $derived(filterSamples(this.samples, this.filter));
  warnings = $derived(
    datasetWarnings(
      this.stats,
      this.sessions.reduce((n, s) => n + (s.state === 'running' ? 0 : s.duplicates), 0),
    ),
  );

  private unsubscribe: () => void;

  constructor(public readonly projectId: string) {
    this.unsubscribe = imports.onFinished((id) => id === projectId && void this.load());
  }

  async load(): Promise<void> {
    const [project, { samples, damaged }, sessions, held] = await Promise.all([
      getProject(this.projectId),
      listSamples(this.projectId),
      listImports(this.projectId),
      heldImportLocks(),
    ]);
    this.missing = !project;
    this.project = project;
    // A closing record kept outside IndexedDB (disk was full) counts as written.
    for (let i = 0; i < sessions.length; i++) {
      const closed = sessions[i].state === 'running' ? closedImport(sessions[i].id) : null;
      if (closed) sessions[i] = closed;
    }
    void flushClosedImports(sessions.filter((s) => s.state !== 'running').map((s) => s.id));
    const unfinished = sessions.filter((s) => s.state === 'running');
    this.running = unfinished.filter((s) => held.has(`trainyard-import-${s.id}`));
    this.interrupted = unfinished.filter((s) => !held.has(`trainyard-import-${s.id}`));
    // Readers ignore samples whose import has no manifest yet (see db/imports.ts).
    const hidden = new Set(unfinished.map((s) => s.id));
    this.samples = hidden.size ? samples.filter((s) => !hidden.has(s.importId)) : samples;
    this.unfinishedBySession = new Map(unfinished.map((s) => [s.id, samples.filter((x) => x.importId === s.id).length]));
    this.damaged = damaged;
    this.sessions = sessions;
    this.loading = false;
  }

  /** Saved images of an unfinished import (hidden from the total; the project card's rule too). */
  unfinishedCount(importId: string): number {
    return this.unfinishedBySession.get(importId) ?? 0;
  }
  private unfinishedBySession = $state<Map<string, number>>(new Map());

  async discard(importId: string): Promise<void> {
    await discardImport(importId);
    await this.load();
  }

  async keep(importId: string): Promise<void> {
    await keepImport(importId);
    await this.load();
  }

  async remove(ids: string[]): Promise<number> {
    const n = await deleteSamples(this.projectId, ids);
    await this.load();
    return n;
  }

  destroy(): void {
    this.unsubscribe();
  }
}
