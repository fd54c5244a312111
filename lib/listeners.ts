import type { Logger } from './log.js';

/** Who wants to hear that something changed: a listener that throws is logged, the others still run. */
export class ChangeListeners {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  /** Returns the function that removes the listener. */
  add(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  fire(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.log.error({ err: error }, `${this.what} change listener failed`);
      }
    }
  }
}
