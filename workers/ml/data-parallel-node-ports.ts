// Starts data-parallel members as Node worker_threads Workers (tests and bench): one MemberPort each.
import { Worker } from 'node:worker_threads';
import type { MemberPort } from '../../src/lib/ml/data-parallel/coordinator';
import type { FromMember, ToMember } from '../../src/lib/ml/data-parallel/protocol';

export interface NodeMemberPort extends MemberPort {
  worker: Worker;
}

export function startNodeMembers(count: number): NodeMemberPort[] {
  return Array.from({ length: count }, () => {
    const worker = new Worker(new URL('./data-parallel.node-boot.mjs', import.meta.url));
    let exited = false;
    return {
      worker,
      post: (m: ToMember, transfer?: Transferable[]) => worker.postMessage(m, (transfer ?? []) as never),
      listen(onMessage: (m: FromMember) => void, onExit: (reason: string) => void) {
        worker.on('message', onMessage);
        worker.on('error', (e) => {
          if (!exited) onExit(`error: ${e.message}`);
          exited = true;
        });
        worker.on('exit', (code) => {
          if (!exited) onExit(`exit code ${code}`);
          exited = true;
        });
      },
      terminate: () => void worker.terminate(),
    };
  });
}
