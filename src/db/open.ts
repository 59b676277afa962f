// Opens the one Trainyard database connection per thread, runs migrations in order
// and turns the multi-tab upgrade cases into visible events instead of hangs.
import { openDB } from 'idb';
import { DB_NAME, DB_VERSION, migrations, type TrainyardDB, type TrainyardSchema } from './schema';

export class DatabaseTooNewError extends Error {
  constructor(public readonly found: number) {
    super(
      `This copy of Trainyard is older than your saved data (database version ${found}, app knows ${DB_VERSION}). ` +
        'Reload to update the app; nothing has been changed or deleted.',
    );
    this.name = 'DatabaseTooNewError';
  }
}

export type ConnectionEvent =
  | { kind: 'blocked' } // our upgrade waits for another tab to close its connection
  | { kind: 'closed-for-upgrade' } // another tab upgrades: we closed, a reload is needed
  | { kind: 'terminated' }; // the browser closed the connection (e.g. storage cleared)

type Listener = (e: ConnectionEvent) => void;
const listeners = new Set<Listener>();
export function onConnectionEvent(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
const emit = (e: ConnectionEvent) => listeners.forEach((l) => l(e));

let connection: Promise<TrainyardDB> | null = null;

export function openDatabase(name = DB_NAME, version = DB_VERSION): Promise<TrainyardDB> {
  return openDB<TrainyardSchema>(name, version, {
    upgrade(db, oldVersion, _newVersion, tx) {
      for (let v = oldVersion; v < version; v++) migrations[v](db, tx);
    },
    blocked() {
      emit({ kind: 'blocked' });
    },
    blocking(_current, _blocked, event) {
      // Close at once so the other tab's upgrade can proceed; this tab must reload. Close the
      // connection that is blocking (not only the shared one: a second openDatabase() may exist).
      (event.target as IDBDatabase | null)?.close();
      connection?.then((db) => db.close());
      connection = null;
      emit({ kind: 'closed-for-upgrade' });
    },
    terminated() {
      connection = null;
      emit({ kind: 'terminated' });
    },
  }).catch((err: unknown): Promise<TrainyardDB> => {
    if (err instanceof DOMException && err.name === 'VersionError') {
      return readStoredVersion(name).then((found) => {
        throw new DatabaseTooNewError(found);
      });
    }
    throw err;
  });
}

async function readStoredVersion(name: string): Promise<number> {
  const dbs = (await indexedDB.databases?.()) ?? [];
  return dbs.find((d) => d.name === name)?.version ?? NaN;
}

/** The shared connection of this thread (page or worker). */
export function db(): Promise<TrainyardDB> {
  if (!connection) {
    connection = openDatabase();
    connection.catch(() => (connection = null));
  }
  return connection;
}

/** For tests: forget the cached connection (after deleting the database). */
export async function resetConnection(): Promise<void> {
  const c = connection;
  connection = null;
  if (c) (await c.catch(() => null))?.close();
}
