// Vitest globalSetup for the e2e project: serves the built app (dist/) once for all e2e files,
// with the production headers (scripts/serve.mjs), and hands its URL to the tests via provide().
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { startServer } from '../../scripts/serve.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export default async function ({ provide }: TestProject) {
  // TRAINYARD_DIST lets a test run against another build (e.g. a throwaway one) without
  // touching dist/.
  const root = resolve(ROOT, process.env.TRAINYARD_DIST || 'dist');
  if (!existsSync(join(root, 'index.html'))) {
    throw new Error(`${join(root, 'index.html')} not found: run npm run build first`);
  }
  const server = await startServer({ root, port: 0 });
  provide('baseUrl', server.url);
  return async () => {
    await server.close();
  };
}
