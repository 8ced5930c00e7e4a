import crypto from 'node:crypto';
import {
  type ColumnMapping, importBatchSize, type ImportMutation, importMutations, type ImportPlan, inBatches, mutationTarget, planImport,
  type Route, type Sheet, type Stop, validateOrderRows,
} from '@depotline/shared';
import { appendAuditEntries, type AuditActor, type AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { badRequest } from '../errors';
import { Rejection } from '../sync/mutations/handler';
import { handlerFor } from '../sync/mutations/registry';
import { presentRoute, presentStop } from '../sync/presenters';
import { webhookEventsOf } from '../webhooks/events';
import { type DomainEvent, enqueueWebhookEvents } from '../webhooks/outbox';
import { requireLocation } from './locations';

/**
 * Importing an order file on the server (the CLI's `import orders`, for IT's first load): the
 * same validator and plan as the console (shared/src/order-import), then the same mutation
 * handlers a push runs, one transaction per batch, each change audited as the operator with its
 * change-log entry, so every console pulls the result like any other edit.
 */

export interface ServerImportOptions {
  locationId: string;
  /** The day of the import (`YYYY-MM-DD`, the depot's calendar); the depot's today when omitted. */
  date?: string;
  currency: string | null;
  mapping: ColumnMapping;
  dryRun: boolean;
  /** Import the good rows and skip rows with problems; otherwise one problem refuses the file. */
  skipInvalid: boolean;
}

export interface ImportSkip {
  row: number;
  reason: string;
}

export interface ServerImportResult {
  locationId: string;
  date: string;
  dryRun: boolean;
  created: number;
  updated: number;
  routesCreated: number;
  skipped: ImportSkip[];
  /** Rows the plan sent that the handlers refused (a stop added meanwhile, say): not applied. */
  refused: ImportSkip[];
}

/** The plan for a sheet at a depot, against what the database holds now. */
export async function planServerImport(ctx: ServerContext, sheet: Sheet, o: ServerImportOptions): Promise<{ plan: ImportPlan; date: string; mutations: ImportMutation[] }> {
  const location = await requireLocation(ctx.db, o.locationId);
  const date = o.date ?? dayIn(location.timezone, ctx.now());
  const validated = validateOrderRows(sheet, o.mapping, { date, timeZone: location.timezone, currency: o.currency, mayImportBilling: true });
  if (!validated.ok) throw badRequest(validated.problems);
  const refs = [...new Set(validated.rows.flatMap((r) => (r.order ? [r.order.orderRef] : [])))];
  const routeIds = [...new Set(validated.rows.flatMap((r) => (r.order && 'id' in r.order.route ? [r.order.route.id] : [])))];
  const routes = await routesFor(ctx.db, o.locationId, date, routeIds);
  const existing = await stopsByOrderRef(ctx, o.locationId, refs);
  const plan = planImport(validated.rows, { date, routes, existing });
  const after = await lastSequences(ctx.db, o.locationId, routes.map((r) => r.id));
  const mutations = importMutations(plan, { locationId: o.locationId, date, now: ctx.now(), sequenceAfter: (id) => (after.get(id) ?? -1) + 1 }, {
    mutationId: () => crypto.randomUUID(),
    entityId: (kind) => `${kind}-${crypto.randomUUID()}`,
  });
  return { plan, date, mutations };
}

export async function importOrders(ctx: ServerContext, actor: AuditActor, sheet: Sheet, o: ServerImportOptions): Promise<ServerImportResult> {
  const { plan, date, mutations } = await planServerImport(ctx, sheet, o);
  const problems = plan.rows.flatMap((r) => r.problems.map((p) => `row ${p.row}${p.column ? `, ${p.column}` : ''}: ${p.message}`));
  if (problems.length > 0 && !o.skipInvalid) {
    throw badRequest([
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the file; nothing was imported (fix them, or add --skip-invalid to import the other rows):`,
      ...problems.slice(0, 100),
      ...(problems.length > 100 ? [`... and ${problems.length - 100} more`] : []),
    ]);
  }
  const result: ServerImportResult = {
    locationId: o.locationId, date, dryRun: o.dryRun, created: 0, updated: 0, routesCreated: 0,
    skipped: plan.rows.filter((r) => r.action === 'skip').map((r) => ({ row: r.row, reason: r.reason ?? '' })), refused: [],
  };
  if (o.dryRun) {
    result.created = plan.counts.create;
    result.updated = plan.counts.update;
    result.routesCreated = plan.newRoutes.length;
    return result;
  }
  const updatedRows = new Set<number>();
  for (const batch of inBatches(mutations, importBatchSize)) {
    const counted = await ctx.db.transaction().execute(async (trx) => {
      const now = ctx.now();
      const audits: { actor: AuditActor; event: AuditEvent }[] = [];
      const events: DomainEvent[] = [];
      const counted = { created: 0, routesCreated: 0, updated: new Set<number>(), refused: [] as ImportSkip[] };
      for (const { row, mutation: m } of batch) {
        const handler = handlerFor(m);
        const target = mutationTarget(m);
        try {
          const applied = await handler.apply({ ctx, trx, by: actor.label, now, ownDrivers: new Set() }, m);
          audits.push({
            actor,
            event: { action: m.type, outcome: 'ok', targetType: target.kind, targetId: target.id, locationId: m.locationId, details: { ...handler.auditDetails(m, applied.before), source: 'import' } },
          });
          events.push(...webhookEventsOf(m, applied, now));
          if (m.type === 'route.create') counted.routesCreated += 1;
          else if (m.type === 'stop.create') counted.created += 1;
          else if (row !== null) counted.updated.add(row);
        } catch (err) {
          // A refusal is decided before the handler writes anything (handler.ts), so the batch goes on.
          if (!(err instanceof Rejection)) throw err;
          counted.refused.push({ row: row ?? 0, reason: err.reason });
          audits.push({ actor, event: { action: 'mutation.rejected', outcome: 'failed', targetType: target.kind, targetId: target.id, locationId: m.locationId, details: { type: m.type, errorCode: err.code, source: 'import' } } });
        }
      }
      await enqueueWebhookEvents(trx, ctx, events);
      await appendAuditEntries(trx, audits, now);
      return counted;
    });
    // Counted once the batch has committed.
    result.created += counted.created;
    result.routesCreated += counted.routesCreated;
    for (const r of counted.updated) updatedRows.add(r);
    result.refused.push(...counted.refused);
  }
  result.updated = updatedRows.size;
  return result;
}

function dayIn(timeZone: string, at: number): string {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at).map((p) => [p.type, p.value]));
  return `${parts['year']}-${parts['month']}-${parts['day']}`;
}

async function routesFor(db: Db, locationId: string, date: string, ids: readonly string[]): Promise<Route[]> {
  const rows = await db.selectFrom('routes').selectAll().where('location_id', '=', locationId)
    .where((eb) => (ids.length > 0 ? eb.or([eb('date', '=', date), eb('id', 'in', ids)]) : eb('date', '=', date)))
    .execute();
  return rows.map(presentRoute);
}

/** The depot's stops carrying one of these order references, decrypted. */
async function stopsByOrderRef(ctx: ServerContext, locationId: string, refs: readonly string[]): Promise<Map<string, Stop>> {
  const out = new Map<string, Stop>();
  for (const chunk of inBatches(refs, 500)) {
    const rows = await ctx.db.selectFrom('stops').selectAll().where('location_id', '=', locationId).where('order_ref', 'in', chunk).execute();
    for (const row of rows) {
      const stop = presentStop(ctx, row);
      if (stop.orderRef) out.set(stop.orderRef, stop);
    }
  }
  return out;
}

async function lastSequences(db: Db, locationId: string, routeIds: readonly string[]): Promise<Map<string, number>> {
  if (routeIds.length === 0) return new Map();
  const rows = await db.selectFrom('stops').select(['route_id', (eb) => eb.fn.max('sequence').as('last')])
    .where('location_id', '=', locationId).where('route_id', 'in', routeIds).groupBy('route_id').execute();
  return new Map(rows.map((r) => [r.route_id, Number(r.last)]));
}
