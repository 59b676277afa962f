// The Label stage's undo and redo: every edit is one change set (label-ops), undone by writing
// its inverse. The last 100 edits are kept; a new edit clears what could be redone.
import type { ChangeSet } from '../lib/label/label-ops';

const KEEP = 100;

export class LabelHistory {
  undoStack = $state.raw<ChangeSet[]>([]);
  redoStack = $state.raw<ChangeSet[]>([]);

  /** A new edit was written. */
  record(cs: ChangeSet): void {
    this.undoStack = [...this.undoStack.slice(-(KEEP - 1)), cs];
    this.redoStack = [];
  }

  /** The last edit (`cs`) was undone: it can be redone. */
  undone(cs: ChangeSet): void {
    this.undoStack = this.undoStack.slice(0, -1);
    this.redoStack = [...this.redoStack, cs];
  }

  /** The last undone edit (`cs`) was written again. */
  redone(cs: ChangeSet): void {
    this.redoStack = this.redoStack.slice(0, -1);
    this.undoStack = [...this.undoStack, cs];
  }
}
