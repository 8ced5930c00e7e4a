import crypto from 'node:crypto';
import {
  type BoardSummaryView, type BridgeArgs, type EtaSettings, type LocationView, type Mutation, type Permission, type PositionView, redactStopForViewer, type RejectedNotice, type RouteRowView,
  type StopDetailView, type StopEstimate, type StopRowView, type SyncStatusView,
} from '@depotline/shared';
import { LocalEditRefusedError, type LocalStore, type StoredLocation, type SyncClient } from '../../core';
import { BoardAttention, sortByAttention, toBoardSummary } from './board-attention';
import { ConsoleError, toBridgeError } from './console-error';
import {
  permissionsOf, stopMatches, stopsWithPendingEdits, toLocationView, toPositionView, toRejectedNotice, toRouteRow, toStopDetail, toStopRow,
} from './console-views';

/** The signed-in profile, while the console is unlocked. */
export interface UnlockedSession {
  store: LocalStore;
  client: SyncClient;
}

export interface ConsoleDataOptions {
  /** The unlocked session; throws ConsoleError `locked` or `not_signed_in` otherwise. */
  session: () => UnlockedSession;
  now: () => number;
  /** An edit counts as activity for the idle lock. */
  activity: () => void;
  /** Depot names, remembered so a notice can name a depot after its data is gone. */
  locationNames: Map<string, string>;
  /** How arrival times are estimated at a depot (managed policy, eta-policy.ts). */
  etaSettings: (locationId: string) => EtaSettings;
}

/**
 * The data behind the bridge's read and edit calls: what the local store holds for the
 * user's locations, mapped through console-views (redaction by permission, transitions by the
 * state machine). Every call first asks for the unlocked session, so nothing is read while
 * the console is locked or signed out.
 */
export class ConsoleData {
  readonly #o: ConsoleDataOptions;
  readonly #attention: BoardAttention;

  constructor(options: ConsoleDataOptions) {
    this.#o = options;
    this.#attention = new BoardAttention({ now: options.now, settingsFor: options.etaSettings });
  }

  #session(): UnlockedSession {
    return this.#o.session();
  }

  async #location(session: UnlockedSession, locationId: string): Promise<StoredLocation> {
    const location = (await session.store.locations()).find((l) => l.id === locationId);
    if (!location) throw new ConsoleError('forbidden', 'That depot is not available to you.');
    return location;
  }

  async listLocations(): Promise<LocationView[]> {
    const session = this.#session();
    const locations = await session.store.locations();
    for (const location of locations) this.#o.locationNames.set(location.id, location.name);
    return locations.map(toLocationView).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The depot's day (today there without `date`) and what needs attention across it. */
  async boardSummary(args: BridgeArgs<'boardSummary'>): Promise<BoardSummaryView> {
    const session = this.#session();
    const location = await this.#location(session, args.locationId);
    const date = args.date ?? this.#attention.today(location);
    const attention = await this.#attention.of(session.store, location, permissionsOf(location), date);
    return toBoardSummary(attention, location, date);
  }

  async queryBoard(args: BridgeArgs<'queryBoard'>): Promise<RouteRowView[]> {
    const session = this.#session();
    const location = await this.#location(session, args.locationId);
    const byAttention = args.sort === 'attention';
    // Attention is counted here, not in SQL: the store sorts by name, then the counts reorder.
    const sqlSort = args.sort === undefined || args.sort === 'attention' ? 'name' : args.sort;
    const [rows, attention] = await Promise.all([
      session.store.boardQuery(args.locationId, {
        filter: {
          ...(args.statuses && args.statuses.length > 0 ? { stopStatus: args.statuses } : {}),
          ...(args.date ? { date: args.date } : {}),
        },
        ...(args.search?.trim() ? { search: args.search } : {}),
        sort: { key: sqlSort, direction: args.descending && !byAttention ? 'desc' : 'asc' },
        limit: args.limit ?? 5000,
      }),
      this.#attention.of(session.store, location, permissionsOf(location), args.date ?? null),
    ]);
    const views = rows.map((row) => {
      const counts = attention.routes.get(row.route.id);
      return { ...toRouteRow(row), ...(counts ? { attention: counts } : {}) };
    });
    return byAttention ? sortByAttention(views, args.descending ?? false) : views;
  }

  async listStops(args: BridgeArgs<'listStops'>): Promise<StopRowView[]> {
    const session = this.#session();
    const location = await this.#location(session, args.locationId);
    const permissions = permissionsOf(location);
    const routes = args.routeId !== null
      ? await this.#routeOf(session, args.locationId, args.routeId)
      : (await session.store.boardQuery(args.locationId, { ...(args.date ? { filter: { date: args.date } } : {}), sort: { key: 'name' }, limit: 5000 })).map((r) => ({
        id: r.route.id, text: [r.route.name, r.driverName, r.vehicleLabel].filter(Boolean).join(' ').toLocaleLowerCase(),
      }));
    const attention = await this.#attention.of(session.store, location, permissions, args.date ?? null);
    const pending = stopsWithPendingEdits(await session.store.pendingMutations());
    const out: StopRowView[] = [];
    for (const route of routes) {
      for (const stop of await session.store.stopsOfRoute(route.id)) {
        if (stop.locationId !== args.locationId) continue;
        const row = withEstimate(toStopRow(stop, permissions, pending.has(stop.id)), attention.stops.get(stop.id));
        if (stopMatches(row, route.text, args)) out.push(row);
      }
    }
    return out;
  }

  async #routeOf(session: UnlockedSession, locationId: string, routeId: string): Promise<Array<{ id: string; text: string }>> {
    const route = await session.store.route(routeId);
    if (!route || route.locationId !== locationId) throw new ConsoleError('not_found', 'That route is not on this device.');
    return [{ id: route.id, text: route.name.toLocaleLowerCase() }];
  }

  async stopDetail(args: BridgeArgs<'stopDetail'>): Promise<StopDetailView> {
    return this.#stopDetail(this.#session(), args.stopId);
  }

  async #stopDetail(session: UnlockedSession, stopId: string): Promise<StopDetailView> {
    const stop = await session.store.stop(stopId);
    if (!stop) throw new ConsoleError('not_found', 'That stop is not on this device any more.');
    const permissions = permissionsOf(await this.#location(session, stop.locationId));
    const route = await session.store.route(stop.routeId);
    const drivers = route?.driverId ? await session.store.drivers(stop.locationId) : [];
    const pending = stopsWithPendingEdits(await session.store.pendingMutations());
    return toStopDetail({
      stop, permissions, route, driverName: drivers.find((d) => d.id === route?.driverId)?.name ?? null, pendingEdits: pending.get(stop.id) ?? 0,
    });
  }

  setStopStatus(args: BridgeArgs<'setStopStatus'>): Promise<StopDetailView> {
    // The state machine is checked once, by the core as it queues the edit (core/mutations/stop.ts).
    return this.#editStop(args.stopId, 'stop.setStatus', (stop) =>
      ({
        type: 'stop.setStatus', stopId: stop.id, to: args.to,
        ...(args.failureReason ? { failureReason: args.failureReason } : {}), ...(args.reason ? { reason: args.reason } : {}),
      }));
  }

  editStopNotes(args: BridgeArgs<'editStopNotes'>): Promise<StopDetailView> {
    return this.#editStop(args.stopId, 'stop.editNotes', (stop, permissions) => {
      if (!permissions.has('stop.readNotes')) throw new ConsoleError('forbidden', 'You cannot see or edit delivery notes here.');
      return { type: 'stop.editNotes', stopId: stop.id, notes: args.notes };
    });
  }

  /**
   * A sensitive read: the reveal is queued in the outbox first (the server audits it with the
   * time it happened, offline too), and only then is the number handed to the page. The
   * customer's email address is contact data under the same permission and comes with it.
   */
  async revealStopPhone(args: BridgeArgs<'revealStopPhone'>): Promise<{ phone: string | null; email: string | null }> {
    const session = this.#session();
    const stop = await session.store.stop(args.stopId);
    if (!stop) throw new ConsoleError('not_found', 'That stop is not on this device any more.');
    const permissions = permissionsOf(await this.#location(session, stop.locationId));
    const { phone, email } = redactStopForViewer(stop, permissions);
    if (phone === undefined) throw new ConsoleError('forbidden', 'Your access at this depot does not show phone numbers.');
    const contact = { phone, email: email ?? null };
    // Nothing to reveal, nothing to audit.
    if (contact.phone === null && contact.email === null) return contact;
    await this.#queue(session, { type: 'stop.revealPhone', stopId: stop.id, id: crypto.randomUUID(), locationId: stop.locationId, createdAt: this.#o.now() });
    return contact;
  }

  async #editStop(
    stopId: string,
    needs: Permission,
    build: (stop: { id: string; status: StopDetailView['stop']['status'] }, permissions: ReadonlySet<Permission>) => DistributiveOmit<Mutation, 'id' | 'locationId' | 'createdAt'>,
  ): Promise<StopDetailView> {
    const session = this.#session();
    const stop = await session.store.stop(stopId);
    if (!stop) throw new ConsoleError('not_found', 'That stop is not on this device any more.');
    const permissions = permissionsOf(await this.#location(session, stop.locationId));
    if (!permissions.has(needs)) throw new ConsoleError('forbidden', 'Your access at this depot does not allow that change.');
    const mutation = { ...build(stop, permissions), id: crypto.randomUUID(), locationId: stop.locationId, createdAt: this.#o.now() } as Mutation;
    await this.#queue(session, mutation);
    return this.#stopDetail(session, stopId);
  }

  async #queue(session: UnlockedSession, mutation: Mutation): Promise<void> {
    try {
      await session.client.edit(mutation);
    } catch (err) {
      // The core refuses an edit that cannot succeed (the stop state machine, checked once, in
      // core/mutations/): answer it as the console's own error, with the same wording.
      if (!(err instanceof LocalEditRefusedError)) throw err;
      const refusal = toBridgeError(err);
      throw new ConsoleError(refusal.code, refusal.message);
    }
    this.#o.activity();
  }

  async listPositions(args: BridgeArgs<'listPositions'>): Promise<PositionView[]> {
    const session = this.#session();
    const permissions = permissionsOf(await this.#location(session, args.locationId));
    if (!permissions.has('position.read')) throw new ConsoleError('forbidden', 'You may not see driver positions at this depot.');
    const [positions, drivers] = await Promise.all([session.store.positions(args.locationId), session.store.drivers(args.locationId)]);
    const byId = new Map(drivers.map((d) => [d.id, d]));
    return positions.map((p) => toPositionView(p, byId)).sort((a, b) => b.recordedAt - a.recordedAt);
  }

  async syncNow(): Promise<SyncStatusView> {
    const session = this.#session();
    await session.client.syncNow();
    return session.client.status;
  }

  async listRejected(): Promise<RejectedNotice[]> {
    const session = this.#session();
    const locations = new Map((await session.store.locations()).map((l) => [l.id, permissionsOf(l)]));
    const notices: RejectedNotice[] = [];
    for (const rejected of await session.store.rejectedMutations()) {
      const permissions = locations.get(rejected.mutation.locationId);
      if (!permissions) continue;
      notices.push(toRejectedNotice(rejected, await this.#labelOf(session, rejected.mutation, permissions), permissions));
    }
    return notices;
  }

  async #labelOf(session: UnlockedSession, m: Mutation, permissions: ReadonlySet<Permission>): Promise<string | null> {
    if ('stopId' in m) {
      const stop = await session.store.stop(m.stopId);
      if (!stop) return null;
      const route = await session.store.route(stop.routeId);
      const who = permissions.has('stop.readCustomer') && stop.customerName ? ` · ${stop.customerName}` : '';
      return `${route?.name ?? 'Route'} · stop ${stop.sequence + 1}${who}`;
    }
    if ('routeId' in m) return (await session.store.route(m.routeId))?.name ?? null;
    return null;
  }

  async dismissRejected(args: BridgeArgs<'dismissRejected'>): Promise<null> {
    await this.#session().store.dismissRejected(args.id);
    return null;
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The stop row with the board's ETA (estimated, or as recorded) and its late or at-risk flag. */
function withEstimate(row: StopRowView, estimate: StopEstimate | undefined): StopRowView {
  if (!estimate) return row;
  return { ...row, eta: estimate.eta, etaSource: estimate.etaSource, attention: estimate.attention };
}
