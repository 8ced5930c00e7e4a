import type { Backoff } from './backoff';

/**
 * The client's one pending retry. A reconnect and a failed sync step share it on purpose:
 * whichever was scheduled last replaces the other, so a client never has two retries racing,
 * and stopping cancels whichever is pending. Both draw their delays from the same backoff.
 */
export class RetryTimer {
  readonly #backoff: Backoff;
  #timer: NodeJS.Timeout | undefined;

  constructor(backoff: Backoff) {
    this.#backoff = backoff;
  }

  /** The next backoff delay; each call without a `reset` waits longer. */
  nextDelay(): number {
    return this.#backoff.next();
  }

  /** Something worked: the next failure starts again from the shortest delay. */
  reset(): void {
    this.#backoff.reset();
  }

  /** Replaces any pending retry. The timer does not keep the process alive. */
  schedule(run: () => void, delayMs: number): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(run, delayMs);
    this.#timer.unref();
  }

  cancel(): void {
    clearTimeout(this.#timer);
  }
}
