import type { Route, Stop } from '../domain';
import type { Mutation, StopOrderFields } from '../mutations';
import type { ImportedOrder, RowProblem, ValidatedRow } from './validate';

/**
 * What an import will do, row by row, before anything is sent: create a stop, update the stop
 * that already carries the order reference at this depot (never a second one), or skip the row
 * with its reason. The same plan turns into the mutations a console queues and the CLI applies.
 */

export type ImportAction = 'create' | 'update' | 'skip';

export interface PlannedRow {
  row: number;
  action: ImportAction;
  orderRef: string | null;
  /** The route the stop is (or will be) on, by name. */
  routeName: string | null;
  /** Why the row is skipped, or a remark on an update; in plain words. */
  reason: string | null;
  problems: RowProblem[];
  /** The fields an update changes. */
  changes: string[];
}

export interface ImportPlan {
  rows: PlannedRow[];
  /** Route names of the import's day that do not exist yet: created first. */
  newRoutes: string[];
  counts: { create: number; update: number; skip: number };
  /** Per row to create or update: what it is sent as (not for the preview). */
  work: PlannedWork[];
}

export type PlannedWork =
  | { kind: 'create'; row: number; order: ImportedOrder; route: { id: string } | { newName: string } }
  | { kind: 'update'; row: number; order: ImportedOrder; stop: Stop };

export interface ImportContext {
  /** The day of the import: routes named in the file are that day's. */
  date: string;
  /** The depot's routes (those of the import's day at least, and any a row names by id). */
  routes: readonly Route[];
  /** Stops at the depot that carry an order reference, by that reference. */
  existing: ReadonlyMap<string, Stop>;
}

const nameKey = (name: string) => name.trim().toLocaleLowerCase();

export function planImport(rows: readonly ValidatedRow[], context: ImportContext): ImportPlan {
  const routesById = new Map(context.routes.map((r) => [r.id, r]));
  const routesByName = new Map<string, Route>();
  for (const r of context.routes) if (r.date === context.date && !routesByName.has(nameKey(r.name))) routesByName.set(nameKey(r.name), r);
  const newRoutes = new Map<string, string>();
  const planned: PlannedRow[] = [];
  const work: PlannedWork[] = [];

  for (const v of rows) {
    const skip = (reason: string, problems: RowProblem[] = v.problems): void => {
      planned.push({ row: v.row, action: 'skip', orderRef: v.order?.orderRef ?? v.ref, routeName: null, reason, problems, changes: [] });
    };
    const order = v.order;
    if (!order) {
      skip(v.problems.map((p) => (p.column ? `${p.column}: ${p.message}` : p.message)).join('; '));
      continue;
    }
    let route: { id: string } | { newName: string };
    let routeName: string;
    if ('id' in order.route) {
      const known = routesById.get(order.route.id);
      if (!known) {
        const problem = { row: v.row, column: null, message: `route ${order.route.id} is not known at this depot` };
        skip(problem.message, [problem]);
        continue;
      }
      if (known.date !== context.date) {
        const problem = { row: v.row, column: null, message: `route “${known.name}” is for ${known.date}, but this import is for ${context.date}` };
        skip(problem.message, [problem]);
        continue;
      }
      route = { id: known.id };
      routeName = known.name;
    } else {
      const known = routesByName.get(nameKey(order.route.name));
      if (known) {
        route = { id: known.id };
        routeName = known.name;
      } else {
        const key = nameKey(order.route.name);
        if (!newRoutes.has(key)) newRoutes.set(key, order.route.name);
        route = { newName: newRoutes.get(key)! };
        routeName = newRoutes.get(key)!;
      }
    }

    const stop = context.existing.get(order.orderRef);
    if (!stop) {
      planned.push({ row: v.row, action: 'create', orderRef: order.orderRef, routeName, reason: null, problems: [], changes: [] });
      work.push({ kind: 'create', row: v.row, order, route });
      continue;
    }
    if (stop.status !== 'planned') {
      skip(`order ${order.orderRef} is already ${stop.status.replace('_', ' ')}: it is not changed`, []);
      continue;
    }
    const changes = changedFields(order, stop);
    if (changes.length === 0) {
      planned.push({ row: v.row, action: 'skip', orderRef: order.orderRef, routeName, reason: `order ${order.orderRef} is already there, unchanged`, problems: [], changes: [] });
      continue;
    }
    const onRoute = context.routes.find((r) => r.id === stop.routeId);
    const moved = 'id' in route ? route.id !== stop.routeId : true;
    planned.push({
      row: v.row, action: 'update', orderRef: order.orderRef, routeName: onRoute?.name ?? routeName, problems: [], changes,
      reason: moved ? `stays on route “${onRoute?.name ?? stop.routeId}” (move it on the board)` : null,
    });
    work.push({ kind: 'update', row: v.row, order, stop });
  }
  const count = (a: ImportAction) => planned.filter((p) => p.action === a).length;
  return { rows: planned, newRoutes: [...newRoutes.values()], counts: { create: count('create'), update: count('update'), skip: count('skip') }, work };
}

/** The order fields of a stop as an import sets them. */
function orderFieldsOf(o: ImportedOrder): Partial<StopOrderFields> {
  return {
    orderRef: o.orderRef, parcelCount: o.parcelCount, barcodes: o.barcodes, coordinates: o.coordinates, email: o.email,
    minimumAge: o.minimumAge, idCheck: o.idCheck, pinRequired: o.pinRequired,
    ...(o.billing ? { paymentRef: o.billing.paymentRef, codAmount: o.billing.codAmount, deliveryFee: o.billing.deliveryFee, currency: o.billing.currency } : {}),
  };
}

type UpdateChanges = Extract<Mutation, { type: 'stop.update' }>['changes'];

/** What differs between the row and the stop, as a `stop.update`'s changes (notes go separately). */
function updateChanges(o: ImportedOrder, stop: Stop): UpdateChanges {
  const wanted: Record<string, unknown> = {
    customerName: o.customerName, address: o.address, phone: o.phone, window: o.window, ...orderFieldsOf(o),
  };
  const changes: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(wanted)) {
    // A stop from an older cache carries no PIN requirement: none.
    const current = field === 'pinRequired' ? (stop.pinRequired ?? false) : (stop as Record<string, unknown>)[field];
    if (JSON.stringify(current ?? null) !== JSON.stringify(value ?? null)) changes[field] = value;
  }
  return changes;
}

const notesChange = (o: ImportedOrder, stop: Stop) => stop.notes !== undefined && stop.notes !== o.notes && o.notes !== '';

function changedFields(o: ImportedOrder, stop: Stop): string[] {
  return [...Object.keys(updateChanges(o, stop)), ...(notesChange(o, stop) ? ['notes'] : [])];
}

/** A mutation of an import, with the row it comes from (null: a new route the rows share). */
export interface ImportMutation {
  row: number | null;
  mutation: Mutation;
}

export interface MutationIds {
  /** A fresh mutation id (a UUID). */
  mutationId(): string;
  /** A fresh record id for a new stop or route. */
  entityId(kind: 'stop' | 'route'): string;
}

/**
 * The plan as mutations, in order: the new routes first, then each row's stop (a create, or an
 * update plus, when the notes differ, a notes edit). `sequenceAfter` says where a route's stops
 * end now, so new stops are appended in the file's order.
 */
export function importMutations(
  plan: ImportPlan,
  scope: { locationId: string; date: string; now: number; sequenceAfter: (routeId: string) => number },
  ids: MutationIds,
): ImportMutation[] {
  const base = () => ({ id: ids.mutationId(), locationId: scope.locationId, createdAt: scope.now });
  const out: ImportMutation[] = [];
  const routeIds = new Map<string, string>();
  for (const name of plan.newRoutes) {
    const routeId = ids.entityId('route');
    routeIds.set(name, routeId);
    out.push({ row: null, mutation: { ...base(), type: 'route.create', routeId, name, date: scope.date } });
  }
  const next = new Map<string, number>();
  for (const w of plan.work) {
    const o = w.order;
    if (w.kind === 'create') {
      const routeId = 'id' in w.route ? w.route.id : routeIds.get(w.route.newName)!;
      const sequence = next.get(routeId) ?? ('id' in w.route ? scope.sequenceAfter(routeId) : 0);
      next.set(routeId, sequence + 1);
      out.push({
        row: w.row,
        mutation: {
          ...base(), type: 'stop.create', stopId: ids.entityId('stop'), routeId, sequence,
          customerName: o.customerName, address: o.address, phone: o.phone, notes: o.notes, window: o.window, ...orderFieldsOf(o),
        },
      });
    } else {
      const changes = updateChanges(o, w.stop);
      if (Object.keys(changes).length > 0) out.push({ row: w.row, mutation: { ...base(), type: 'stop.update', stopId: w.stop.id, changes } });
      if (notesChange(o, w.stop)) out.push({ row: w.row, mutation: { ...base(), type: 'stop.editNotes', stopId: w.stop.id, notes: o.notes } });
    }
  }
  return out;
}

/** Mutations in batches of `size`, each queued (or applied) in one transaction. */
export function inBatches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
