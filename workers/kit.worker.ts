// Training-kit worker: builds kits from dataset versions and brings PyTorch results back. TF.js
// runs here (the app's model topology for export, evaluation of an imported result), on WASM when
// it starts, else the CPU backend.
import * as Comlink from 'comlink';
import './ml/wasm-setup';
import { chooseBackend } from './ml/backend';
import { exportTrainingKit, exportTrainingKitFromRun } from './ml/kit-export';
import { gateKitVersion, importKitResult } from './ml/kit-import';
import type { KitApi } from './kit.api';

let ready: Promise<unknown> | null = null;
const backend = () => (ready ??= chooseBackend(['wasm', 'cpu']));

const api = {
  async exportKit(projectId, datasetVersionId, onProgress) {
    await backend();
    return exportTrainingKit(projectId, datasetVersionId, onProgress);
  },
  async exportKitFromRun(projectId, pipelineRunId, onProgress) {
    await backend();
    return exportTrainingKitFromRun(projectId, pipelineRunId, onProgress);
  },
  async importResult(projectId, source) {
    await backend();
    return importKitResult(projectId, source);
  },
  async gate(projectId, versionId, promote) {
    await backend();
    return gateKitVersion(projectId, versionId, promote);
  },
} satisfies KitApi;

Comlink.expose(api);
