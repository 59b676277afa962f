// Node worker_threads entry for a data-parallel member: registers tsx's loader in this thread
// (execArgv ['--import', 'tsx'] does not reach worker threads in Node 20), then loads the member.
import { register } from 'tsx/esm/api';

register();
await import('./data-parallel.node.ts');
