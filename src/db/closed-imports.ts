// When the disk is full, even an import's small closing record cannot be written to IndexedDB.
// The page then keeps it in localStorage (a separate, small quota) so the saved images stay listed,
// and writes it to IndexedDB at the next load that has room. Workers have no localStorage.
import { finishImport } from './imports';
import type { ImportSession } from '../contracts/records';

const PREFIX = 'trainyard:closed-import:';

export function rememberClosedImport(session: ImportSession): void {
  const { closeUnsaved: _, skipped, ...rest } = session;
  try {
    localStorage.setItem(PREFIX + session.id, JSON.stringify({ ...rest, skipped: skipped.slice(0, 50) }));
  } catch {
    // localStorage full or unavailable: the session stays 'running' and is offered as incomplete.
  }
}

export function closedImport(id: string): ImportSession | null {
  try {
    const raw = localStorage.getItem(PREFIX + id);
    return raw ? (JSON.parse(raw) as ImportSession) : null;
  } catch {
    return null;
  }
}

/** Moves remembered closing records into IndexedDB where there is room again. */
export async function flushClosedImports(ids: string[]): Promise<void> {
  for (const id of ids) {
    const session = closedImport(id);
    if (!session) continue;
    try {
      await finishImport(session);
      localStorage.removeItem(PREFIX + id);
    } catch {
      return; // still no room: try again next time
    }
  }
}
