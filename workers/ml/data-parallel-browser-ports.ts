// Starts data-parallel members as nested module workers of the training worker: one MemberPort
// each. A worker that fails to load or throws outside a message reports through onExit.
import type { MemberPort } from '../../src/lib/ml/data-parallel/coordinator';
import type { FromMember, ToMember } from '../../src/lib/ml/data-parallel/protocol';

export function startBrowserMembers(count: number): MemberPort[] {
  return Array.from({ length: count }, (_, i) => {
    const worker = new Worker(new URL('../data-parallel.worker.ts', import.meta.url), { type: 'module', name: `train-thread-${i + 1}` });
    let ended = false;
    return {
      post: (m: ToMember, transfer?: Transferable[]) => worker.postMessage(m, transfer ?? []),
      listen(onMessage: (m: FromMember) => void, onExit: (reason: string) => void) {
        worker.onmessage = (e: MessageEvent<FromMember>) => onMessage(e.data);
        const fail = (reason: string) => {
          if (!ended) onExit(reason);
          ended = true;
        };
        worker.onerror = (e) => fail(`error: ${e.message || 'the worker script failed'}`);
        worker.onmessageerror = () => fail('a message could not be read');
      },
      terminate: () => {
        ended = true;
        worker.terminate();
      },
    };
  });
}
