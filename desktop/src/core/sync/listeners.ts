/** A tiny typed event hub: listeners of one event get exactly that event's payload. */
export class Listeners<Events extends Record<string, unknown>> {
  readonly #byEvent = new Map<keyof Events, Set<(payload: never) => void>>();

  on<E extends keyof Events>(event: E, listener: (payload: Events[E]) => void): () => void {
    let set = this.#byEvent.get(event);
    if (!set) this.#byEvent.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends keyof Events>(event: E, payload: Events[E]): void {
    for (const listener of this.#byEvent.get(event) ?? []) {
      try {
        (listener as (payload: Events[E]) => void)(payload);
      } catch {
        // A failing listener (UI code) must not break the sync that told it.
      }
    }
  }

  clear(): void {
    this.#byEvent.clear();
  }
}
