/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"): many consoles reconnecting after a depot-wide outage spread out instead of
 * hitting the server in waves.
 */
export class Backoff {
  #attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.max(this.baseMs / 2, Math.round(ceiling * this.random()));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
