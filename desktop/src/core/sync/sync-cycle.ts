import {
  LocationAccess, maxPushBatch, PullResponse, PushResponse, type Change, type Mutation, type MutationResult,
} from '@depotline/shared';
import { z } from 'zod';
import { ServerDataRejectedError, ServerRequestError } from '../errors';
import type { DroppedLocation, LocalStore } from '../store/local-store';
import type { SyncChannel } from './sync-channel';

/**
 * The steps of a sync, each against the channel and the store. The server's Socket.IO
 * messages are capped (MAX_SOCKET_MESSAGE_BYTES, 256 KiB by default; a larger one closes the
 * connection), so pushes are cut to a byte budget as well as to maxPushBatch.
 */
export const pushByteBudget = 192 * 1024;

export interface PushOutcome {
  sent: number;
  acknowledged: number;
  rejected: number;
}

/** Pushes the whole outbox, oldest first, one batch at a time, each answer applied before the next. */
export async function pushOutbox(channel: SyncChannel, store: LocalStore, now: () => number): Promise<PushOutcome> {
  const total: PushOutcome = { sent: 0, acknowledged: 0, rejected: 0 };
  let limit = maxPushBatch;
  for (;;) {
    const batch = withinBudget((await store.pendingMutations(limit)).map((p) => p.mutation));
    if (batch.length === 0) return total;
    await store.recordPushAttempt(batch.map((m) => m.id), now());
    let results: MutationResult[];
    try {
      results = (await channel.request('sync:push', { mutations: batch }, PushResponse)).results;
    } catch (err) {
      // The server refuses a whole push whose payload fails its schema. Find the culprit one at
      // a time; that one is recorded as refused for the user instead of blocking the queue.
      if (!(err instanceof ServerRequestError) || (err.code !== 'bad_request' && err.code !== 'payload_too_large')) throw err;
      if (batch.length > 1) {
        limit = 1;
        continue;
      }
      results = [{ id: batch[0]!.id, status: 'rejected', code: err.code, reason: err.message, current: null }];
    }
    const sentIds = new Set(batch.map((m) => m.id));
    const outcome = await store.markAcknowledged(results.filter((r) => sentIds.has(r.id)));
    total.sent += batch.length;
    total.acknowledged += outcome.acknowledged.length;
    total.rejected += outcome.rejected.length;
    if (outcome.acknowledged.length + outcome.rejected.length === 0) {
      throw new ServerDataRejectedError('the server answered a push without answering any of its edits');
    }
  }
}

function withinBudget(mutations: readonly Mutation[]): Mutation[] {
  const out: Mutation[] = [];
  let bytes = 32;
  for (const m of mutations) {
    const size = Buffer.byteLength(JSON.stringify(m)) + 1;
    if (out.length > 0 && bytes + size > pushByteBudget) break;
    out.push(m);
    bytes += size;
  }
  return out;
}

/** Asks which locations this user may see; every other location's data is deleted. */
export async function refreshLocations(channel: SyncChannel, store: LocalStore): Promise<{ locationIds: string[]; dropped: DroppedLocation[] }> {
  const access = await channel.request('sync:locations', {}, z.array(LocationAccess));
  const dropped = await store.replaceLocations(access);
  return { locationIds: access.map((a) => a.location.id), dropped };
}

/**
 * A pull page as the channel checks it: everything but the changes, which the store parses
 * (against the shared Change schema) before it applies them, as it does with every change
 * it is given. Parsing them here as well would do the same work twice per page.
 */
const PullPage = PullResponse.extend({ changes: z.array(z.unknown()) });

/**
 * Pulls one location from its cursor until the server has no more. Returns changes applied.
 * Pipelined: a page's cursor is known when it arrives, so the next page is requested before
 * this one is applied, and the server reads it while the store writes. Pages are still applied
 * one at a time, in order, each with its cursor in its own transaction; a page that fails
 * stops the pull, and the page already asked for is dropped unapplied.
 */
export async function pullLocation(channel: SyncChannel, store: LocalStore, locationId: string, pageSize: number, now: () => number): Promise<number> {
  const fetchPage = async (after: number) => {
    const page = await channel.request('sync:pull', { locationId, after, limit: pageSize }, PullPage);
    if (page.locationId !== locationId) throw new ServerDataRejectedError(`asked for ${locationId}, got a page of ${page.locationId}`);
    return page;
  };
  let after = await store.cursor(locationId);
  let next = fetchPage(after);
  let applied = 0;
  for (;;) {
    const page = await next;
    // A server that keeps saying "more" without moving on would pull forever.
    const advanced = page.cursor > after;
    if (page.hasMore && advanced) {
      next = fetchPage(page.cursor);
      // Awaited on the next turn; if applying this page fails first, its outcome is moot.
      next.catch(() => undefined);
    }
    // Unparsed until here: applyChanges refuses the whole page if any change is malformed.
    applied += (await store.applyChanges(page.changes as Change[], { locationId, cursor: page.cursor })).applied;
    if (!page.hasMore) break;
    if (!advanced) throw new ServerDataRejectedError(`the cursor of ${locationId} did not advance`);
    after = page.cursor;
  }
  await store.markSynced(locationId, now());
  return applied;
}
