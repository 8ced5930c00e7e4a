/**
 * The idle lock's clock: when the user last did something, and the timer that asks the console
 * to check. It runs in main, not in the page: a page that stops reporting input still locks.
 */
export class IdleLock {
  readonly #idleLockMs: number;
  readonly #checkMs: number;
  readonly #now: () => number;
  #lastActivity = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: { idleLockMs: number; checkMs: number; now: () => number }) {
    this.#idleLockMs = options.idleLockMs;
    this.#checkMs = options.checkMs;
    this.#now = options.now;
  }

  touch(): void {
    this.#lastActivity = this.#now();
  }

  /** The user has been idle for the policy's time. */
  get expired(): boolean {
    return this.#now() - this.#lastActivity >= this.#idleLockMs;
  }

  /** Calls `check` on a timer that does not keep the process alive. */
  start(check: () => void): void {
    this.stop();
    this.#timer = setInterval(check, this.#checkMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
