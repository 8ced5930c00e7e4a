import {
  type AttentionResult, type BoardSummaryView, compareByAttention, computeAttention, dateInZone, emptyAttentionCounts, type EtaSettings, type Permission,
  type RouteRowView,
} from '@depotline/shared';
import type { LocalStore, StoreChange, StoredLocation } from '../../core';

/** What the board needs of one day: the shared attention result, and how it was made. */
export interface DayAttention extends AttentionResult {
  /** The day counted; null: every day the store holds (a query without a date). */
  date: string | null;
  asOf: number;
  settings: EtaSettings;
  usesPositions: boolean;
}

export interface BoardAttentionOptions {
  now: () => number;
  /** The ETA settings of a depot (managed policy, eta-policy.ts). */
  settingsFor: (locationId: string) => EtaSettings;
}

/** A result is reused by the calls of one board refresh (summary, routes, stops), never across data changes. */
const reuseWithinMs = 2000;

/**
 * Counts what needs attention on a depot's day, with the shared pure functions (attention.ts,
 * eta.ts), from the store's compact day read (`boardDay`). One refresh of the board asks three
 * times (summary, routes, stops); the result is computed once for them, and again after any
 * change to the store or once the clock has moved on.
 *
 * Driver positions are used only where the user may read them (`position.read`): an estimate
 * would otherwise tell where a driver is.
 */
export class BoardAttention {
  readonly #o: BoardAttentionOptions;
  readonly #generations = new WeakMap<LocalStore, { n: number }>();
  #last: { store: LocalStore; key: string; generation: number; result: DayAttention } | null = null;

  constructor(options: BoardAttentionOptions) {
    this.#o = options;
  }

  /** The depot's today by the console's clock. */
  today(location: StoredLocation): string {
    return dateInZone(this.#o.now(), location.timezone);
  }

  async of(store: LocalStore, location: StoredLocation, permissions: ReadonlySet<Permission>, date: string | null): Promise<DayAttention> {
    const now = this.#o.now();
    const generation = this.#generation(store).n;
    const key = `${location.id}|${date ?? '*'}`;
    const last = this.#last;
    if (last && last.store === store && last.key === key && last.generation === generation && Math.abs(now - last.result.asOf) < reuseWithinMs) {
      return last.result;
    }
    const usesPositions = permissions.has('position.read');
    const [day, positions] = await Promise.all([
      store.boardDay(location.id, date ?? undefined),
      usesPositions ? store.positions(location.id) : Promise.resolve([]),
    ]);
    const settings = this.#o.settingsFor(location.id);
    const result: DayAttention = {
      ...computeAttention({ now, timeZone: location.timezone, routes: day.routes, stops: day.stops, positions, settings }),
      date, asOf: now, settings, usesPositions,
    };
    this.#last = { store, key, generation, result };
    return result;
  }

  #generation(store: LocalStore): { n: number } {
    let g = this.#generations.get(store);
    if (!g) {
      const counter = { n: 0 };
      store.subscribe((change: StoreChange) => {
        if (change.data || change.outbox || change.locations) counter.n++;
      });
      this.#generations.set(store, counter);
      g = counter;
    }
    return g;
  }
}

export function toBoardSummary(attention: DayAttention, location: StoredLocation, date: string): BoardSummaryView {
  return {
    date,
    today: attention.today,
    timeZone: location.timezone,
    asOf: attention.asOf,
    counts: attention.depot,
    eta: { settings: attention.settings, usesPositions: attention.usesPositions },
  };
}

/** Routes needing most attention first (shared order), then by name; stable otherwise. */
export function sortByAttention(rows: RouteRowView[], descending: boolean): RouteRowView[] {
  const empty = emptyAttentionCounts();
  const sorted = [...rows].sort((a, b) =>
    compareByAttention(a.attention ?? empty, b.attention ?? empty) || a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }) || (a.id < b.id ? -1 : 1));
  return descending ? sorted.reverse() : sorted;
}
