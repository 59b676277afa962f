// A data-parallel training member in the browser: started (nested) by the training worker, one per
// CPU thread used, on the WASM backend with Trainyard's training kernels. Plain postMessage, not
// Comlink: the coordinator (src/lib/ml/data-parallel/coordinator.ts) speaks a small protocol and
// pipelines steps. workers/ml/data-parallel-member.ts holds the handler.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import './ml/wasm-setup';
import { registerWasmTrainingKernels } from '../src/lib/ml/wasm-training';
import { createMemberHandler } from './ml/data-parallel-member';
import type { ToMember } from '../src/lib/ml/data-parallel/protocol';

const handler = createMemberHandler(
  async () => {
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('The WASM backend did not start in a training thread.');
  },
  (m, transfer) => self.postMessage(m, { transfer: transfer ?? [] }),
);
self.onmessage = (e: MessageEvent<ToMember>) => void handler(e.data);
