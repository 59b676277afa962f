// Page side of the bare-fit benchmark page: each call starts a fresh worker (fresh TF.js backend,
// fresh GPU device), runs one measurement through Comlink and ends the worker. The benchmark
// script calls window.fitBench(...) through page.evaluate.
import * as Comlink from 'comlink';
import type { FitBenchApi, FitBenchOptions, FitBenchResult } from './fit-bench.worker';

async function fitBench(options: FitBenchOptions): Promise<FitBenchResult> {
  const worker = new Worker(new URL('./fit-bench.worker.ts', import.meta.url), { type: 'module', name: 'fit-bench' });
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) => reject(new Error(`fit-bench worker failed: ${e.message || 'script error'}`)));
  });
  try {
    const api = Comlink.wrap<FitBenchApi>(worker);
    return await Promise.race([api.run(options), failed]);
  } finally {
    worker.terminate();
  }
}

declare global {
  interface Window {
    fitBench: typeof fitBench;
    fitBenchReady: boolean;
  }
}

window.fitBench = fitBench;
window.fitBenchReady = true;
document.getElementById('status')!.textContent = `Ready (crossOriginIsolated: ${self.crossOriginIsolated}).`;
