// Database connection health as UI state: too new (update required), blocked, closed by another tab.
import { DatabaseTooNewError, db, onConnectionEvent } from '../db/open';
import { errorMessage } from '../lib/util/errors';

type Status = 'opening' | 'ready' | 'too-new' | 'blocked' | 'closed-for-upgrade' | 'error';

class DbStatus {
  status = $state<Status>('opening');
  message = $state<string | null>(null);

  async open(): Promise<boolean> {
    onConnectionEvent((e) => {
      if (e.kind === 'blocked') this.status = 'blocked';
      else if (e.kind === 'closed-for-upgrade') this.status = 'closed-for-upgrade';
      else {
        this.status = 'error';
        this.message = 'The browser closed the database connection. Reload the page.';
      }
    });
    try {
      await db();
      this.status = 'ready';
      return true;
    } catch (err) {
      this.status = err instanceof DatabaseTooNewError ? 'too-new' : 'error';
      this.message = errorMessage(err);
      return false;
    }
  }
}

export const dbStatus = new DbStatus();
