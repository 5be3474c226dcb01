// Undo and redo of annotation changes that live on the server. A command is
// {label, run(), revert()}, both async; steps run one at a time, in order, so a
// quick Ctrl+Z Ctrl+Z never overtakes the request before it.

export class UndoHistory extends EventTarget {
  constructor() {
    super();
    this.done = [];
    this.undone = [];
    this.queue = Promise.resolve();
  }

  get canUndo() {
    return this.done.length > 0;
  }

  get canRedo() {
    return this.undone.length > 0;
  }

  /** Run a new command; it becomes undoable and clears what could be redone. */
  perform(command) {
    return this.enqueue(async () => {
      await command.run();
      this.done.push(command);
      this.undone = [];
      return command;
    });
  }

  /** Revert the last command; resolves to it, or null if there was nothing to undo. */
  undo() {
    return this.enqueue(async () => {
      const command = this.done.at(-1);
      if (!command) return null;
      await command.revert();
      this.undone.push(this.done.pop());
      return command;
    });
  }

  /** Run the last undone command again; resolves to it, or null. */
  redo() {
    return this.enqueue(async () => {
      const command = this.undone.at(-1);
      if (!command) return null;
      await command.run();
      this.done.push(this.undone.pop());
      return command;
    });
  }

  enqueue(step) {
    // A failed step stays where it was (still undoable or redoable) and does not
    // block the ones after it; its caller sees the error.
    const result = this.queue.then(step);
    this.queue = result.catch(() => undefined);
    return result.finally(() => this.dispatchEvent(new Event("change")));
  }
}
