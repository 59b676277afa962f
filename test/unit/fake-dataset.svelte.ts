// A stand-in for the Label stage's DatasetManager in unit tests: the same reactive fields the
// LabelManager reads (project, samples), without IndexedDB.
import type { ProjectRecord, SampleRecord } from '../../src/contracts/records';

export class FakeDataset {
  project = $state<ProjectRecord | null>(null);
  samples = $state.raw<SampleRecord[]>([]);
  constructor(
    readonly projectId: string,
    labels: string[],
    samples: SampleRecord[],
  ) {
    this.project = { id: projectId, name: 'Test', labels } as ProjectRecord;
    this.samples = samples;
  }
}
