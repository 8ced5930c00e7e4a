import crypto from 'node:crypto';
import {
  billingImportFields, type BridgeArgs, type ColumnMapping, depotDateOf, importBatchSize, importFields, importFieldSpecs, importMutations,
  type ImportFileView, type ImportPlan, type ImportPreviewView, type ImportRowView, type ImportSummaryView, inBatches, mappingProblems,
  type Permission, planImport, type PlannedRow, requiredImportFields, type Sheet, suggestColumnMapping, validateOrderRows,
} from '@depotline/shared';
import { readOrderFile, type StoredLocation } from '../../core';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { permissionsOf } from './console-views';

/**
 * Asks the user for a file to open; null when they closed the dialog. In Electron this is the
 * native open dialog (main/electron/main.ts); where there is none it is not set, and the console
 * cannot import.
 */
export type ChooseOpenPath = (request: { title: string; extensions: readonly string[] }) => Promise<string | null>;

export interface ConsoleImportOptions {
  /** The unlocked session; throws ConsoleError `locked` or `not_signed_in` otherwise. */
  session: () => ActiveSession;
  chooseOpenPath: ChooseOpenPath | undefined;
  now: () => number;
  activity: () => void;
}

/** Route and stop editing at the depot: what importing orders changes. */
const importPermissions: readonly Permission[] = ['stop.edit', 'route.edit'];

interface ChosenFile {
  locationId: string;
  fileName: string;
  sheet: Sheet;
}

/**
 * The order import (docs/architecture.md, "Importing orders"): main reads the chosen file, checks
 * it with the shared validator against what this device holds (routes of the day, stops by
 * order reference), and queues the creates and updates as outbox edits, `importBatchSize` per
 * local transaction, so a failure part-way leaves whole batches queued and nothing half-written;
 * the outbox then delivers them exactly once, like any edit. Rows with problems are never sent.
 */
export class ConsoleImport {
  readonly #o: ConsoleImportOptions;
  #file: ChosenFile | null = null;
  /** The last preview's plan, so paging through 10,000 rows does not check them again. */
  #planned: { key: string; plan: ImportPlan; invalid: number } | null = null;
  #progress: { done: number; total: number } | null = null;

  constructor(options: ConsoleImportOptions) {
    this.#o = options;
  }

  async chooseFile(args: BridgeArgs<'importChooseFile'>): Promise<ImportFileView> {
    const { location, permissions } = await this.#require(args.locationId);
    const choose = this.#o.chooseOpenPath;
    if (!choose) throw new ConsoleError('forbidden', 'This console cannot open files. Import from a Depotline console on a computer.');
    const path = await choose({ title: 'Import orders', extensions: ['csv', 'xlsx', 'txt'] });
    if (path === null) return { outcome: 'cancelled' };
    const read = await readOrderFile(path);
    if (!read.ok) throw new ConsoleError('bad_request', `${read.fileName}: ${read.message}`);
    this.#file = { locationId: location.id, fileName: read.fileName, sheet: read.sheet };
    this.#planned = null;
    const remembered = (await this.#o.session().store.importMapping(location.id)) ?? {};
    const mayBill = permissions.has('stop.readBilling');
    const mapping = suggestColumnMapping(read.sheet.header, remembered);
    if (!mayBill) for (const f of billingImportFields) delete mapping[f];
    return {
      outcome: 'chosen',
      fileName: read.fileName.slice(0, 260),
      rowCount: read.sheet.rows.length,
      header: read.sheet.header.slice(0, 200).map((h) => h.slice(0, 200)),
      mapping,
      fields: importFields.filter((f) => mayBill || !billingImportFields.includes(f))
        .map((field) => ({ field, label: importFieldSpecs[field].label, required: requiredImportFields.includes(field) })),
      date: depotDateOf(location.timezone, this.#o.now()),
    };
  }

  async preview(args: BridgeArgs<'importPreview'>): Promise<ImportPreviewView> {
    const file = this.#chosen(args.locationId);
    const { location, permissions } = await this.#require(args.locationId);
    const planned = await this.#plan(file, location, permissions, args);
    if ('problems' in planned) {
      return { problems: planned.problems.slice(0, 40), counts: { create: 0, update: 0, skip: 0 }, invalid: 0, newRoutes: [], rows: [], matching: 0 };
    }
    const { plan, invalid } = planned;
    const matching = args.onlyProblems ? plan.rows.filter((r) => r.problems.length > 0) : plan.rows;
    return {
      problems: [],
      counts: plan.counts,
      invalid,
      newRoutes: plan.newRoutes.slice(0, 1000),
      rows: matching.slice(args.offset, args.offset + args.limit).map(toRowView),
      matching: matching.length,
    };
  }

  async apply(args: BridgeArgs<'importApply'>): Promise<ImportSummaryView> {
    const file = this.#chosen(args.locationId);
    const { location, permissions } = await this.#require(args.locationId);
    if (this.#progress) throw new ConsoleError('bad_request', 'An import is already running.');
    const planned = await this.#plan(file, location, permissions, args);
    if ('problems' in planned) throw new ConsoleError('bad_request', planned.problems.join(' '));
    const { plan } = planned;
    const session = this.#o.session();
    const lastSequence = new Map<string, number>();
    for (const w of plan.work) {
      if (w.kind !== 'create' || !('id' in w.route) || lastSequence.has(w.route.id)) continue;
      const stops = await session.store.stopsOfRoute(w.route.id);
      lastSequence.set(w.route.id, stops.reduce((max, s) => Math.max(max, s.sequence), -1));
    }
    const mutations = importMutations(plan, {
      locationId: location.id, date: args.date, now: this.#o.now(), sequenceAfter: (routeId) => (lastSequence.get(routeId) ?? -1) + 1,
    }, { mutationId: () => crypto.randomUUID(), entityId: (kind) => `${kind}-${crypto.randomUUID()}` });

    await session.store.setImportMapping(location.id, args.mapping);
    const refusedRows = new Map<number, string>();
    let routesRefused = 0;
    this.#progress = { done: 0, total: mutations.length };
    try {
      for (const batch of inBatches(mutations, importBatchSize)) {
        const outcome = await session.client.editBatch(batch.map((b) => b.mutation));
        for (const refused of outcome.refused) {
          const row = batch.find((b) => b.mutation.id === refused.id)?.row ?? null;
          if (row === null) routesRefused += 1;
          else if (!refusedRows.has(row)) refusedRows.set(row, refused.message);
        }
        this.#progress = { done: this.#progress.done + batch.length, total: mutations.length };
        this.#o.activity();
      }
    } finally {
      // The file is not needed once its edits are queued (or the import failed): it holds customer data.
      this.#progress = null;
      this.#planned = null;
      this.#file = null;
    }
    const skippedRows = [
      ...plan.rows.filter((r) => r.action === 'skip').map((r) => ({ row: r.row, reason: (r.reason ?? '').slice(0, 2000) })),
      ...[...refusedRows].map(([row, reason]) => ({ row, reason: `not queued: ${reason}`.slice(0, 2000) })),
    ].sort((a, b) => a.row - b.row);
    const creates = plan.rows.filter((r) => r.action === 'create' && !refusedRows.has(r.row)).length;
    const updates = plan.rows.filter((r) => r.action === 'update' && !refusedRows.has(r.row)).length;
    return {
      created: creates, updated: updates, routesCreated: plan.newRoutes.length - routesRefused, skipped: skippedRows.length,
      skippedRows: skippedRows.slice(0, 500),
    };
  }

  progress(): { done: number; total: number } | null {
    return this.#progress ? { ...this.#progress } : null;
  }

  discard(): null {
    this.#file = null;
    this.#planned = null;
    return null;
  }

  async #plan(
    file: ChosenFile, location: StoredLocation, permissions: ReadonlySet<Permission>,
    args: { mapping: ColumnMapping; date: string; currency: string | null },
  ): Promise<{ plan: ImportPlan; invalid: number } | { problems: string[] }> {
    const key = JSON.stringify([args.mapping, args.date, args.currency]);
    if (this.#planned?.key === key) return this.#planned;
    const problems = mappingProblems(file.sheet.header, args.mapping);
    if (problems.length > 0) return { problems };
    const validated = validateOrderRows(file.sheet, args.mapping, {
      date: args.date, timeZone: location.timezone, currency: args.currency, mayImportBilling: permissions.has('stop.readBilling'),
    });
    if (!validated.ok) return { problems: validated.problems };
    const store = this.#o.session().store;
    const refs = new Set(validated.rows.flatMap((r) => (r.order ? [r.order.orderRef] : [])));
    const existing = await store.stopsByOrderRef(location.id, refs);
    const routes = (await store.boardQuery(location.id, { filter: { date: args.date }, sort: { key: 'name' }, limit: 5000 })).map((r) => r.route);
    // Routes a row names by id may be of another day: looked up one by one (the plan says so).
    for (const id of new Set(validated.rows.flatMap((r) => (r.order && 'id' in r.order.route ? [r.order.route.id] : [])))) {
      const route = routes.some((r) => r.id === id) ? null : await store.route(id);
      if (route && route.locationId === location.id) routes.push(route);
    }
    const plan = planImport(validated.rows, { date: args.date, routes, existing });
    this.#planned = { key, plan, invalid: validated.rows.filter((r) => r.problems.length > 0).length };
    return this.#planned;
  }

  #chosen(locationId: string): ChosenFile {
    const file = this.#file;
    if (!file || file.locationId !== locationId) throw new ConsoleError('not_found', 'Choose the order file again: none is open for this depot.');
    return file;
  }

  async #require(locationId: string): Promise<{ location: StoredLocation; permissions: Set<Permission> }> {
    const location = (await this.#o.session().store.locations()).find((l) => l.id === locationId);
    const permissions = location ? permissionsOf(location) : new Set<Permission>();
    if (!location || !importPermissions.every((p) => permissions.has(p))) {
      throw new ConsoleError('forbidden', 'Importing orders needs route and stop editing at this depot, which your access does not allow.');
    }
    return { location, permissions };
  }
}

function toRowView(r: PlannedRow): ImportRowView {
  return {
    row: r.row,
    action: r.action,
    orderRef: r.orderRef?.slice(0, 200) ?? null,
    routeName: r.routeName?.slice(0, 200) ?? null,
    reason: r.reason?.slice(0, 2000) ?? null,
    problems: r.problems.slice(0, 40).map((p) => ({ column: p.column?.slice(0, 200) ?? null, message: p.message.slice(0, 2000) })),
    changes: r.changes.slice(0, 40),
  };
}
