// A data-parallel member in a Node worker_threads Worker, on TF.js's WASM backend with
// Trainyard's training kernels (single-threaded WASM, as in the app). Used by the unit test and
// bench/train-parallel.bench.ts; started through data-parallel.node-boot.mjs.
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { registerWasmTrainingKernels } from '../../src/lib/ml/wasm-training';
import { createMemberHandler } from './data-parallel-member';
import type { ToMember } from '../../src/lib/ml/data-parallel/protocol';

if (!parentPort) throw new Error('data-parallel.node.ts runs in a worker_threads Worker.');
const port = parentPort;
const handler = createMemberHandler(
  async () => {
    setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('The WASM backend did not start.');
  },
  (m, transfer) => port.postMessage(m, (transfer ?? []) as never),
);
port.on('message', (m: ToMember) => void handler(m));
