// One test per rule of REFERENCE_RULES (lib/archive/validate.ts): a consistent set of records
// passes; making one rule's reference dangle is refused, naming the file, the field and the value.
// That nothing is stored is shown through the whole import in archive-hostile.test.ts (the check
// runs before the first write) and through the UI in test/reliability/hostile-files.e2e.ts.
import { describe, expect, it } from 'vitest';
import { ARCHIVE_STORES } from '../../src/lib/archive/format';
import { ArchiveError, REFERENCE_RULES, checkReferences, type ArchiveRecords } from '../../src/lib/archive/validate';

const sha = (n: number) => n.toString(16).padStart(64, '0');
type Rec = Record<string, unknown>;

/** Every store with the fields references use; each reference resolves. */
function consistent(): ArchiveRecords {
  const records = Object.fromEntries(ARCHIVE_STORES.map((s) => [s, [] as Rec[]])) as ArchiveRecords;
  const add = (store: keyof ArchiveRecords, r: Rec) => records[store].push(r);
  add('imports', { id: 'imp-1' });
  add('samples', { id: sha(1), importId: 'imp-1', labelSource: { kind: 'model', versionId: 'deleted-version' } });
  add('originals', { id: sha(1) });
  add('thumbnails', { id: sha(1) });
  add('prelabels', { id: sha(1), versionId: 'deleted-version' });
  add('datasetVersions', {
    id: 'dv-1',
    ids: [sha(1)],
    labelIndex: [0],
    splitCode: [0],
    origin: { kind: 'pipeline', pipelineId: 'deleted-pipeline', runId: 'x' },
  });
  add('pipelines', { id: 'pl-1' });
  add('stepCache', { key: 'artifact-1', outputs: { items: [] } });
  add('stepCache', { key: 'snap-1', outputs: { artifact: 'artifact-1' } });
  add('stepCache', { key: 'split-1', outputs: { datasetVersionId: 'dv-1' } });
  add('stepCache', { key: 'tune-1', outputs: { studyId: 'st-1', runId: 'run-1' } });
  add('pipelineRuns', {
    id: 'pr-1',
    pipelineId: 'pl-1',
    steps: [
      { outputs: { artifact: 'artifact-1' } },
      { outputs: { datasetVersionId: 'dv-1' } },
      { outputs: { studyId: 'st-1' } },
      { outputs: null },
      { outputs: { versionId: 'deleted-version' } },
    ],
  });
  add('runs', { id: 'run-1', versionId: 'deleted-version', config: { dataset: { versionId: 'dv-1' } } });
  add('checkpoints', { runId: 'run-1' });
  add('models', { id: 'm-1', runId: 'run-1', parentId: 'deleted-version', meta: { datasetVersionId: 'dv-1' } });
  add('modelWeights', { versionId: 'm-1' });
  add('aliases', { alias: 'production', versionId: 'm-1', history: [{ versionId: 'deleted-version', at: 1 }] });
  add('aliases', { alias: 'staging', versionId: null, history: [] });
  add('studies', { id: 'st-1', registeredVersionId: 'deleted-version' });
  add('trials', { studyId: 'st-1', number: 1, runId: 'run-1' });
  add('trials', { studyId: 'st-1', number: 2, runId: null });
  add('predictionInputs', { id: 'in-1' });
  add('predictionLogs', { id: 'log-1', versionId: 'deleted-version', inputId: 'in-1' });
  add('predictionLogs', { id: 'log-2', versionId: 'm-1', inputId: null });
  add('monitorReferences', { versionId: 'deleted-version' });
  add('alerts', { id: 'al-1', versionId: 'deleted-version' });
  return records;
}

/** Makes one reference of each rule dangle. */
const DANGLE: Record<string, (r: ArchiveRecords) => void> = {
  'samples.importId': (r) => (r.samples[0].importId = 'no-such-import'),
  'originals.id': (r) => (r.originals[0].id = sha(99)),
  'thumbnails.id': (r) => (r.thumbnails[0].id = sha(99)),
  'samples.id (its original)': (r) => r.originals.splice(0, 1),
  'prelabels.id': (r) => (r.prelabels[0].id = sha(99)),
  'datasetVersions.ids[]': (r) => ((r.datasetVersions[0].ids as string[])[0] = sha(99)),
  'pipelineRuns.pipelineId': (r) => (r.pipelineRuns[0].pipelineId = 'no-such-pipeline'),
  'pipelineRuns.steps[].outputs.datasetVersionId': (r) =>
    ((r.pipelineRuns[0].steps as Rec[])[1].outputs = { datasetVersionId: 'no-such-version' }),
  'pipelineRuns.steps[].outputs.artifact': (r) => ((r.pipelineRuns[0].steps as Rec[])[0].outputs = { artifact: 'no-such-artifact' }),
  'pipelineRuns.steps[].outputs.studyId': (r) => ((r.pipelineRuns[0].steps as Rec[])[2].outputs = { studyId: 'no-such-study' }),
  'stepCache.outputs.datasetVersionId': (r) => (r.stepCache[2].outputs = { datasetVersionId: 'no-such-version' }),
  'stepCache.outputs.artifact': (r) => (r.stepCache[1].outputs = { artifact: 'no-such-artifact' }),
  'stepCache.outputs.studyId': (r) => (r.stepCache[3].outputs = { studyId: 'no-such-study' }),
  'runs.config.dataset.versionId': (r) => (r.runs[0].config = { dataset: { versionId: 'no-such-version' } }),
  'checkpoints.runId': (r) => (r.checkpoints[0].runId = 'no-such-run'),
  'models.id (its weights)': (r) => r.modelWeights.splice(0, 1),
  'models.meta.datasetVersionId': (r) => (r.models[0].meta = { datasetVersionId: 'no-such-version' }),
  'modelWeights.versionId': (r) => r.modelWeights.push({ versionId: 'no-such-model' }),
  'aliases.versionId': (r) => (r.aliases[0].versionId = 'no-such-model'),
  'trials.studyId': (r) => (r.trials[0].studyId = 'no-such-study'),
  'trials.runId': (r) => (r.trials[0].runId = 'no-such-run'),
  'predictionLogs.inputId': (r) => (r.predictionLogs[0].inputId = 'no-such-input'),
  'predictionInputs.id (its log)': (r) => (r.predictionLogs[0].inputId = null),
};

describe('checkReferences: every rule', () => {
  it('accepts a file whose references all resolve (and the references that may dangle)', () => {
    expect(() => checkReferences(consistent())).not.toThrow();
  });

  it('has a dangling-reference case for every rule, and no case without a rule', () => {
    expect(Object.keys(DANGLE).sort()).toEqual(REFERENCE_RULES.map((r) => `${r.store}.${r.field}`).sort());
  });

  for (const rule of REFERENCE_RULES) {
    const name = `${rule.store}.${rule.field}`;
    it(`refuses a dangling ${name} (must be a ${rule.to}.${rule.key})`, () => {
      const records = consistent();
      DANGLE[name](records);
      let error: unknown;
      try {
        checkReferences(records);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ArchiveError);
      expect((error as Error).message).toContain(`records/${rule.store}.jsonl, line `);
      expect((error as Error).message).toContain(`"${rule.field}" is "`);
      expect((error as Error).message).toContain(`in records/${rule.to}.jsonl. Nothing was imported.`);
    });
  }

  it('refuses a dataset version whose labelIndex or splitCode does not match its ids', () => {
    const records = consistent();
    records.datasetVersions[0].labelIndex = [0, 1];
    expect(() => checkReferences(records)).toThrow(/"labelIndex" and "splitCode" must have one entry per id \(1\)/);
  });
});
