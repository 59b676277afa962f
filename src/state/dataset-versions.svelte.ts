// The project's dataset versions as the Pipeline stage shows them: the list, which pipeline run
// made each, a summary of each (split sizes, classes) and what changed between two of them.
import { listProjectPipelineRuns } from '../db/pipelines';
import { listDatasetVersions } from '../db/datasets';
import type { DatasetVersionRecord } from '../contracts/records';
import { NO_AUGMENTATION, validateAugmentation, type AugmentationSpec } from '../lib/augment/spec';
import { diffVersions, splitCounts, unpackItems, type DatasetItem, type VersionDiff } from '../lib/dataset/version';
import type { Split } from '../lib/ml/split';
import { errorMessage } from '../lib/util/errors';

export interface VersionSummary {
  totals: Record<Split, number>;
  classes: number;
}

export class DatasetVersions {
  versions = $state.raw<DatasetVersionRecord[]>([]);
  /** Pipeline run numbers by run id (all pipelines of the project), for dataset version origins. */
  runNumbers = $state.raw<Record<string, { number: number; pipelineId: string }>>({});

  private unpacked = new Map<string, DatasetItem[]>();
  private summaries = new Map<string, VersionSummary>();
  private destroyed = false;

  constructor(readonly projectId: string) {}

  destroy(): void {
    this.destroyed = true;
  }

  /** Reads the versions and the runs that made them again (rejects when they cannot be read). */
  async refresh(): Promise<void> {
    const [versions, runs] = await Promise.all([listDatasetVersions(this.projectId), listProjectPipelineRuns(this.projectId)]);
    if (this.destroyed) return;
    const numbers: Record<string, { number: number; pipelineId: string }> = {};
    for (const r of runs) numbers[r.id] = { number: r.number, pipelineId: r.pipelineId };
    this.runNumbers = numbers;
    this.versions = versions;
  }

  private items(version: DatasetVersionRecord): DatasetItem[] {
    let items = this.unpacked.get(version.id);
    if (!items) {
      items = unpackItems(version, version.classes);
      this.unpacked.set(version.id, items);
    }
    return items;
  }

  summary(version: DatasetVersionRecord): VersionSummary | null {
    let s = this.summaries.get(version.id);
    if (!s) {
      try {
        const counts = splitCounts(this.items(version));
        const total = (split: Split) => Object.values(counts[split]).reduce((a, b) => a + b, 0);
        s = { totals: { train: total('train'), val: total('val'), test: total('test') }, classes: version.classes.length };
        this.summaries.set(version.id, s);
      } catch {
        return null;
      }
    }
    return s;
  }

  /** What changed from version `a` to version `b`. */
  diff(aId: string, bId: string): VersionDiff | string {
    const a = this.versions.find((v) => v.id === aId);
    const b = this.versions.find((v) => v.id === bId);
    if (!a || !b) return 'Pick two versions.';
    try {
      return diffVersions(
        { items: this.items(a), classes: a.classes, preprocess: a.preprocess, augmentation: validAugmentation(a.augmentation) },
        { items: this.items(b), classes: b.classes, preprocess: b.preprocess, augmentation: validAugmentation(b.augmentation) },
      );
    } catch (err) {
      return `These versions could not be compared: ${errorMessage(err)}`;
    }
  }
}

/** A stored version's augmentation as a spec (an unreadable one compares as no augmentation). */
function validAugmentation(x: unknown): AugmentationSpec {
  const checked = validateAugmentation(x ?? {});
  return checked.ok ? checked.spec : { ...NO_AUGMENTATION };
}
