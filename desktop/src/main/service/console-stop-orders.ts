import crypto from 'node:crypto';
import {
  stopBillingFields, stopOrderProblems,
  type BridgeArgs, type Permission, type StopOrderInput, type StopOrderView,
} from '@depotline/shared';
import { ConsoleError } from './console-error';
import { stopsWithPendingEdits } from './console-views';
import { depotOf, type PlanningOptions, queueEdit, routeOf, stopOf, type UnlockedSession } from './planning-edits';
import { toStopOrder } from './planning-views';

/** Contact fields the user changes only where they may see them. */
const contactFields = ['phone', 'email'] as const;

/**
 * The stop editor's calls: read a stop with the order it carries, create one, change one. Each
 * is queued as outbox mutations (stop.create, stop.update, stop.editNotes), so the editor works
 * offline; the server checks each again.
 */
export class ConsoleStopOrders {
  readonly #o: PlanningOptions;

  constructor(options: PlanningOptions) {
    this.#o = options;
  }

  async stopOrder(args: BridgeArgs<'stopOrder'>): Promise<StopOrderView> {
    return this.#view(this.#o.session(), args.stopId);
  }

  async #view(session: UnlockedSession, stopId: string): Promise<StopOrderView> {
    const stop = await stopOf(session, stopId);
    const { permissions } = await depotOf(session, stop.locationId);
    const route = await session.store.route(stop.routeId);
    const pending = stopsWithPendingEdits(await session.store.pendingMutations());
    return toStopOrder(stop, permissions, { routeName: route?.name ?? null, pendingEdits: pending.get(stop.id) ?? 0 });
  }

  /** Refuses what the user may not set here: billing without `stop.readBilling`, contact details they cannot see. */
  #refuseHidden(changes: StopOrderInput, permissions: ReadonlySet<Permission>): void {
    if (!permissions.has('stop.readBilling') && stopBillingFields.some((f) => changes[f] !== undefined && changes[f] !== null)) {
      throw new ConsoleError('forbidden', 'Your access at this depot does not allow billing data.');
    }
    if (!permissions.has('stop.readPhone') && contactFields.some((f) => changes[f] !== undefined && changes[f] !== null)) {
      throw new ConsoleError('forbidden', 'Your access at this depot does not show phone numbers and email addresses.');
    }
    const problems = stopOrderProblems(changes);
    if (problems.length > 0) throw new ConsoleError('bad_request', problems.join(' '));
  }

  async createStop(args: BridgeArgs<'createStop'>): Promise<StopOrderView> {
    const session = this.#o.session();
    const route = await routeOf(session, args.routeId);
    const { permissions } = await depotOf(session, route.locationId, 'stop.edit');
    const { customerName, address, window, phone, notes, ...order } = args.order;
    this.#refuseHidden(args.order, permissions);
    if (notes && !permissions.has('stop.readNotes')) throw new ConsoleError('forbidden', 'Your access at this depot does not allow delivery notes.');
    const stopId = `st-${crypto.randomUUID()}`;
    const sequence = (await session.store.stopsOfRoute(route.id)).length;
    const defined = Object.fromEntries(Object.entries(order).filter(([, v]) => v !== undefined));
    await queueEdit(this.#o, session, route.locationId, {
      type: 'stop.create', stopId, routeId: route.id, sequence, customerName, address, window, phone: phone ?? null, notes: notes ?? '', ...defined,
    });
    return this.#view(session, stopId);
  }

  /**
   * Only what changed is sent. Notes go as their own `stop.editNotes` (their own permission);
   * the rest as one `stop.update`. Nothing is queued when a check here refuses.
   */
  async updateStop(args: BridgeArgs<'updateStop'>): Promise<StopOrderView> {
    const session = this.#o.session();
    const stop = await stopOf(session, args.stopId);
    const { permissions } = await depotOf(session, stop.locationId, 'stop.edit');
    const { notes, ...changes } = args.changes;
    this.#refuseHidden(changes, permissions);
    if (stopOrderProblems({ ...stop, ...changes }).length > 0) throw new ConsoleError('bad_request', stopOrderProblems({ ...stop, ...changes }).join(' '));
    if (notes !== undefined && !(permissions.has('stop.editNotes') && permissions.has('stop.readNotes'))) {
      throw new ConsoleError('forbidden', 'Your access at this depot does not allow editing delivery notes.');
    }
    if (Object.keys(changes).length > 0) await queueEdit(this.#o, session, stop.locationId, { type: 'stop.update', stopId: stop.id, changes });
    if (notes !== undefined && notes !== stop.notes) await queueEdit(this.#o, session, stop.locationId, { type: 'stop.editNotes', stopId: stop.id, notes });
    return this.#view(session, stop.id);
  }
}
