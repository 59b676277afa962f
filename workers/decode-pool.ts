// A small pool of decode workers owned by the import worker: decoding, hashing and thumbnails
// run in parallel while the import worker reads sources and writes batches.
import * as Comlink from 'comlink';
import type { DecodeApi, DecodeRequest, DecodeResult } from './decode.api';

export class DecodePool {
  private workers: Worker[] = [];
  private apis: Comlink.Remote<DecodeApi>[] = [];
  private next = 0;

  constructor(size = Math.max(2, Math.min(4, (navigator.hardwareConcurrency || 2) - 1))) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./decode.worker.ts', import.meta.url), { type: 'module', name: `decode-${i}` });
      this.workers.push(worker);
      this.apis.push(Comlink.wrap<DecodeApi>(worker));
    }
  }

  get size(): number {
    return this.apis.length;
  }

  decode(request: DecodeRequest): Promise<DecodeResult> {
    const api = this.apis[this.next];
    this.next = (this.next + 1) % this.apis.length;
    return api.decode(Comlink.transfer(request, [request.data]));
  }

  terminate(): void {
    this.workers.forEach((w) => w.terminate());
    this.workers = [];
    this.apis = [];
  }
}
