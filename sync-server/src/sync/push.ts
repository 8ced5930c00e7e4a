import { type Mutation, mutationPermissions, type MutationResult, mutationTarget } from '@depotline/shared';
import { checkPermission } from '../access/authorize';
import type { Caller } from '../access/caller';
import { appendAuditEntries, type AuditActor, type AuditEvent } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { type DomainEvent, enqueueWebhookEvents } from '../webhooks/outbox';
import { webhookEventsOf } from '../webhooks/events';
import { withHeldFlag } from '../retention/holds';
import { trackingAfterMutation } from '../tracking/dispatch';
import { driverIdsOfUser } from './driver-queries';
import { type LiveFeed, type MutationScope, Rejection, type Touched, type Trx } from './mutations/handler';
import { handlerFor } from './mutations/registry';
import { refreshCompletionAfter } from './route-completion';
import { type ClaimedIds, claimMutationIds, settleMutationIds } from './mutation-ids';
import type { StopRow } from './presenters';
import { readPushStops } from './push-stops';
import { loadViewerScope, redactChangeForScope } from './visibility';

interface MutationOutcome {
  result: MutationResult;
  touched: Touched[];
}

/** What one push needs once, not per mutation. */
interface PushState {
  caller: Caller;
  now: number;
  /** The caller's driver records per location. */
  ownDrivers: Map<string, ReadonlySet<string>>;
  /** Audit entries of the push, appended together before it commits. */
  audits: { actor: AuditActor; event: AuditEvent }[];
  /** What integrations hear of the push, queued for their webhooks before it commits. */
  events: DomainEvent[];
  /** The push's mutation ids: claimed before the first is applied, settled before the commit. */
  ids: ClaimedIds & {
    /** Applied in this push, with the version each produced. */
    applied: Map<string, number>;
    /** Claimed by this push and refused: released before the commit. */
    released: Set<string>;
  };
  /** The stops the push's stop mutations start from, read once (sync/push-stops.ts); a stop a mutation touched is dropped. */
  stops: Map<string, StopRow>;
}

/**
 * A whole push, in order, answered per id, in one transaction; all audit entries are appended
 * together before the commit, and committed changes go to the live feed afterwards. Shared by
 * the socket event and the REST endpoint (docs/sync-protocol.md).
 */
export async function pushMutations(
  ctx: ServerContext,
  live: LiveFeed,
  caller: Caller,
  mutations: readonly Mutation[],
): Promise<{ results: MutationResult[] }> {
  const now = ctx.now();
  const results: MutationResult[] = [];
  const touched: Touched[] = [];
  await ctx.db.transaction().execute(async (trx) => {
    const ids = await claimMutationIds(trx, caller.principal.userId, mutations, now);
    const stops = await readPushStops(trx, caller.profile, mutations.filter((m) => ids.claimed.has(m.id)));
    const state: PushState = { caller, now, ownDrivers: new Map(), audits: [], events: [], ids: { ...ids, applied: new Map(), released: new Set() }, stops };
    for (const m of mutations) {
      const outcome = await applyOne(ctx, trx, state, m);
      results.push(outcome.result);
      touched.push(...outcome.touched);
    }
    await settleMutationIds(trx, state.ids.applied, state.ids.released);
    await enqueueWebhookEvents(trx, ctx, state.events);
    await appendAuditEntries(trx, state.audits, state.now);
  });
  await live.publish(touched);
  return { results };
}

/**
 * Applies one pushed mutation inside the push's transaction.
 *
 * Its id was claimed with the push's (sync/mutation-ids.ts): an id claimed before (a replay, or a
 * concurrent push of the same id, which PostgreSQL waited for), or applied earlier in this push,
 * is answered `duplicate` and nothing runs. Then authorization and the type's business rules;
 * every refusal is decided before anything is written, so undoing it is only releasing the
 * claim. Then the write and its change-log entry, through the type's handler. The audit entry
 * is queued on the push and written in the same transaction.
 */
async function applyOne(ctx: ServerContext, trx: Trx, state: PushState, m: Mutation): Promise<MutationOutcome> {
  const { caller: { principal, actor, profile }, now, ids } = state;
  const appliedAt = ids.applied.get(m.id);
  if (appliedAt !== undefined) return duplicateOrClash(principal.userId, m, { user_id: principal.userId, version: appliedAt });
  if (!ids.claimed.has(m.id)) {
    const seen = ids.seen.get(m.id);
    if (!seen) throw new Error(`mutation id ${m.id} was neither claimed nor found`);
    return duplicateOrClash(principal.userId, m, seen);
  }
  // Refused in this push before (an id sent twice): its claim is ours again.
  ids.released.delete(m.id);
  const release = () => ids.released.add(m.id);

  const handler = handlerFor(m);
  const target = mutationTarget(m);
  const audit = (event: Omit<AuditEvent, 'targetType' | 'targetId' | 'locationId'>) =>
    state.audits.push({ actor, event: { ...event, targetType: target.kind, targetId: target.id, locationId: m.locationId } });
  const scope: MutationScope = { ctx, trx, by: principal.username, now, ownDrivers: await ownDriversAt(state, trx, m.locationId), stops: state.stops };

  // The type's permission, and any its content adds (billing data needs stop.readBilling).
  const assignedToCaller = (await handler.assignedToCaller?.(scope, m)) ?? false;
  const owns = handler.ownedByCaller?.(scope, m) ?? true;
  const permissions = mutationPermissions(m);
  const missing = permissions.find((p) => !checkPermission(profile, { permission: p, locationId: m.locationId, assignedToCaller }, now));
  if (!owns || missing !== undefined) {
    release();
    audit({ action: m.type, outcome: 'denied', details: { permission: missing ?? permissions[0] } });
    return { result: { id: m.id, status: 'rejected', code: 'forbidden', reason: 'You do not have access to this.', current: null }, touched: [] };
  }

  try {
    const applied = await handler.apply(scope, m);
    const { touched, version, before } = applied;
    ids.applied.set(m.id, version);
    audit({ action: m.type, outcome: 'ok', details: handler.auditDetails(m, before) });
    state.events.push(...webhookEventsOf(m, applied, now));
    // A route dispatched gets tracking links; a stop finished brings its links' end forward (tracking/dispatch.ts).
    const tracking = await trackingAfterMutation(ctx, trx, m, applied, { actor, userId: principal.userId }, now);
    state.events.push(...tracking.events);
    state.audits.push(...tracking.audits);
    // A route whose last stop closed is complete; its driver's access ends after the grace period (sync/route-completion.ts).
    const reopened = await refreshCompletionAfter(trx, ctx.config, applied, now);
    const more = reopened.filter((r) => !touched.some((t) => t.entity === r.entity && t.id === r.id));
    for (const t of [...touched, ...more]) if (t.entity === 'stop') state.stops.delete(t.id);
    return { result: { id: m.id, status: 'applied', version }, touched: [...touched, ...more] };
  } catch (err) {
    // Anything else (a database fault) fails the whole push: its transaction rolls back and
    // the device retries it later; replays are harmless.
    if (!(err instanceof Rejection)) throw err;
    release();
    audit({ action: 'mutation.rejected', outcome: 'failed', details: { type: m.type, errorCode: err.code, mutationId: m.id } });
    const current = err.current ? redactChangeForScope(await withHeldFlag(trx, err.current), await loadViewerScope(trx, profile, m.locationId, now)) : null;
    return { result: { id: m.id, status: 'rejected', code: err.code, reason: err.reason, current }, touched: [] };
  }
}

async function ownDriversAt(state: PushState, trx: Trx, locationId: string): Promise<ReadonlySet<string>> {
  let own = state.ownDrivers.get(locationId);
  if (!own) {
    own = await driverIdsOfUser(trx, state.caller.principal.userId, locationId);
    state.ownDrivers.set(locationId, own);
  }
  return own;
}

function duplicateOrClash(userId: string, m: Mutation, seen: { user_id: string; version: number }): MutationOutcome {
  if (seen.user_id === userId) {
    return { result: { id: m.id, status: 'duplicate', version: seen.version }, touched: [] };
  }
  // Another user's id: say nothing about it.
  return { result: { id: m.id, status: 'rejected', code: 'conflict', reason: 'This mutation id is already in use.', current: null }, touched: [] };
}
