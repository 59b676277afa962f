// Data-fit proposals on the Train stage: profiles the open project's images (sizes from sample
// records, colour from a few thumbnails), proposes settings (lib/train/proposals.ts), applies one
// on request, and runs "Quick model": download the backbone if needed, train a head, save a version.
import { getThumbnail } from '../db/samples';
import type { SampleRecord } from '../contracts/records';
import { isGrayscaleRgba, profileData, proposeSettings, type DataProfile, type Proposal } from '../lib/train/proposals';
import { backbones } from './backbone-manager.svelte';
import { catalog } from './catalog-manager.svelte';
import { training } from './train-manager.svelte';

/** Thumbnails looked at for colour: spread over the dataset, few enough to stay instant. */
const COLOUR_SAMPLE = 24;

async function isGrayscaleThumb(projectId: string, id: string): Promise<boolean | null> {
  const t = await getThumbnail(projectId, id);
  if (!t) return null;
  try {
    const bitmap = await createImageBitmap(new Blob([t.data], { type: t.mime }));
    const w = Math.min(bitmap.width, 64);
    const h = Math.min(bitmap.height, 64);
    const ctx = new OffscreenCanvas(w, h).getContext('2d', { willReadFrequently: true })!;
    ctx.drawImage(bitmap, 0, 0, w, h);
    bitmap.close();
    return isGrayscaleRgba(ctx.getImageData(0, 0, w, h).data);
  } catch {
    return null;
  }
}

class DataFit {
  projectId = $state<string | null>(null);
  profile = $state<DataProfile | null>(null);
  proposals = $state<Proposal[]>([]);
  /** The proposal last applied (its settings are now in the form, still editable). */
  applied = $state<Proposal | null>(null);
  quickRunning = $state(false);
  quickMessage = $state<string | null>(null);
  private key = '';

  async analyse(projectId: string, samples: SampleRecord[]): Promise<void> {
    const labeled = samples.filter((s) => s.label !== null);
    const key = `${projectId}:${labeled.length}:${labeled[0]?.id ?? ''}:${labeled[labeled.length - 1]?.id ?? ''}`;
    if (key === this.key) return;
    this.key = key;
    const step = Math.max(1, Math.floor(labeled.length / COLOUR_SAMPLE));
    const picks = labeled.filter((_, i) => i % step === 0).slice(0, COLOUR_SAMPLE);
    const checks = (await Promise.all(picks.map((s) => isGrayscaleThumb(projectId, s.id)))).filter((g): g is boolean => g !== null);
    if (key !== this.key) return; // the data changed while thumbnails were read
    this.projectId = projectId;
    this.profile = profileData(labeled, checks);
    this.proposals = proposeSettings(this.profile);
  }

  /** Puts a proposal's settings in the form (and its backbone, when stored). */
  apply(p: Proposal): void {
    if (training.running) return;
    Object.assign(training.settings, p.settings);
    if (p.kind === 'transfer') training.settings.backboneId = (p.catalogId && catalog.stored(p.catalogId)?.id) || null;
    this.applied = p;
  }

  /** Downloads the proposal's backbone if needed, applies it and trains: one button to a saved version. */
  async quickModel(projectId: string, p: Proposal): Promise<void> {
    if (this.quickRunning || training.running || !p.catalogId) return;
    this.quickRunning = true;
    this.quickMessage = null;
    try {
      const b = await catalog.ensure(p.catalogId);
      if (!b) {
        this.quickMessage = catalog.error ?? 'The backbone could not be downloaded.';
        return;
      }
      await backbones.load();
      Object.assign(training.settings, p.settings);
      training.settings.backboneId = b.id;
      this.applied = p;
      await training.start(projectId);
      const o = training.outcome;
      this.quickMessage = o?.versionId
        ? `Quick model ready: ${o.message ?? 'a new version was saved.'}`
        : (training.error ?? o?.message ?? null);
    } finally {
      this.quickRunning = false;
    }
  }
}

export const dataFit = new DataFit();
