// Small app-wide settings and markers (first-run flags, persistence prompts).
import { db } from './open';
import { restoreMeta, restoreOne } from './restore';

export async function getMeta<T>(key: string): Promise<T | undefined> {
  return restoreOne(await (await db()).get('meta', key), restoreMeta)?.value as T | undefined;
}

export async function setMeta(key: string, value: unknown): Promise<void> {
  await (await db()).put('meta', { key, value });
}
