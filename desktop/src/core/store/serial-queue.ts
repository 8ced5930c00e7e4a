import { StoreClosedError } from '../errors';

/**
 * Runs tasks one at a time, in submission order. The store has one SQLCipher connection and
 * transactions that span several awaits; without this, a read or a second transaction could
 * slip between the statements of another and see or commit half of it.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;

  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreClosedError());
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Refuses new tasks and resolves once the ones already queued have finished. */
  async drainAndClose(): Promise<void> {
    this.#closed = true;
    await this.#tail;
  }

  get closed(): boolean {
    return this.#closed;
  }
}
