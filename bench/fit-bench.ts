// Page side of the bare-fit benchmark page (used only by bench/train.bench.mjs). Each session is
// a fresh worker (fresh TF.js backend, fresh GPU device): fitBenchStart builds and warms up,
// fitBenchTime runs one timed fit (callable again later, without a second warm-up), fitBenchEnd
// ends the worker. The benchmark calls these through page.evaluate.
import * as Comlink from 'comlink';
import type { FitBenchApi, FitBenchOptions, TimedFit, WarmupInfo } from './fit-bench.worker';

interface Session {
  worker: Worker;
  api: Comlink.Remote<FitBenchApi>;
  failed: Promise<never>;
}

const sessions = new Map<number, Session>();
let nextId = 1;

function session(id: number): Session {
  const s = sessions.get(id);
  if (!s) throw new Error(`no fit-bench session ${id}`);
  return s;
}

/** Comlink leaves calls pending forever when a worker dies; race them against its error event. */
function guarded<T>(s: Session, call: Promise<T>): Promise<T> {
  return Promise.race([call, s.failed]);
}

async function fitBenchStart(options: FitBenchOptions): Promise<{ id: number; warmup: WarmupInfo }> {
  const worker = new Worker(new URL('./fit-bench.worker.ts', import.meta.url), { type: 'module', name: 'fit-bench' });
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (e) => reject(new Error(`fit-bench worker failed: ${e.message || 'script error'}`)));
  });
  failed.catch(() => {}); // only observed through guarded()
  const id = nextId++;
  const s: Session = { worker, api: Comlink.wrap<FitBenchApi>(worker), failed };
  sessions.set(id, s);
  try {
    return { id, warmup: await guarded(s, s.api.prepare(options)) };
  } catch (err) {
    fitBenchEnd(id);
    throw err;
  }
}

function fitBenchTime(id: number, mode: 'fit' | 'fit-val' | 'loop' = 'fit'): Promise<TimedFit> {
  const s = session(id);
  return guarded(s, s.api.time(mode));
}

function fitBenchEnd(id: number): void {
  const s = sessions.get(id);
  if (!s) return;
  s.worker.terminate();
  sessions.delete(id);
}

declare global {
  interface Window {
    fitBenchStart: typeof fitBenchStart;
    fitBenchTime: typeof fitBenchTime;
    fitBenchEnd: typeof fitBenchEnd;
    fitBenchReady: boolean;
  }
}

window.fitBenchStart = fitBenchStart;
window.fitBenchTime = fitBenchTime;
window.fitBenchEnd = fitBenchEnd;
window.fitBenchReady = true;
document.getElementById('status')!.textContent = `Ready (crossOriginIsolated: ${self.crossOriginIsolated}).`;
