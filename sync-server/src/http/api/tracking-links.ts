import { type TrackingLinkCreated, type TrackingLinkInfo, TrackingLinkCreate, TrackingLinkRevoke } from '@depotline/shared';
import { z } from 'zod';
import { checkPermission, deniedEvent } from '../../access/authorize';
import type { Caller } from '../../access/caller';
import type { Db } from '../../db/database';
import { conflict, notFound } from '../../errors';
import { createTrackingLink, listTrackingLinks, presentTrackingLink, revokeTrackingLink, trackingLinkCreatedEvent, trackingUrl } from '../../tracking/links';
import { enqueueWebhookEvents } from '../../webhooks/outbox';
import { type Endpoint, type EndpointCall, endpoint } from '../endpoint';

/**
 * A stop's customer tracking links for dispatchers (`tracking.manage`, docs/api.md "Customer
 * tracking links"): list, create (the address is in this answer only) and revoke. A stop or link
 * at a location the caller cannot manage is answered like one that does not exist (404), and the
 * attempt is audited as denied.
 */

const StopParams = z.object({ stopId: z.string().min(1).max(64) }).strict();
const LinkParams = z.object({ linkId: z.string().uuid() }).strict();

type Call = EndpointCall<unknown, unknown, unknown>;

/** The stop, if the caller holds `tracking.manage` where it is; otherwise 404 (and a denied audit entry for a real stop). */
async function manageableStop(db: Db, call: Call, stopId: string, action: string): Promise<{ id: string; location_id: string; status: string }> {
  const stop = await db.selectFrom('stops').select(['id', 'location_id', 'status']).where('id', '=', stopId).executeTakeFirst();
  if (stop && mayManage(call.caller, stop.location_id, call.now)) return stop;
  if (stop) call.audit(deniedEvent({ permission: 'tracking.manage', locationId: stop.location_id, action, targetType: 'stop', targetId: stop.id }));
  throw notFound('The stop');
}

const mayManage = (caller: Caller, locationId: string, now: number) =>
  checkPermission(caller.profile, { permission: 'tracking.manage', locationId }, now) !== null;

export function trackingLinkEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/stops/:stopId/tracking-links',
      params: StopParams,
      handle: async (call): Promise<TrackingLinkInfo[]> => {
        const stop = await manageableStop(call.db, call, call.input.params.stopId, 'tracking_link.list');
        return (await listTrackingLinks(call.ctx.db, { stopId: stop.id })).map((r) => presentTrackingLink(r, call.now));
      },
      present: (links) => ({ links }),
    }),
    endpoint({
      method: 'post',
      path: '/stops/:stopId/tracking-links',
      params: StopParams,
      body: TrackingLinkCreate,
      transaction: true,
      status: 201,
      handle: async (call): Promise<TrackingLinkCreated> => {
        const { ctx, db, now, caller } = call;
        const stop = await manageableStop(db, call, call.input.params.stopId, 'tracking_link.create');
        if (stop.status === 'delivered' || stop.status === 'cancelled') {
          throw conflict('This stop is finished: a new tracking link would show nothing the customer needs.');
        }
        const { row, token } = await createTrackingLink(db, ctx, {
          stopId: stop.id, locationId: stop.location_id, stopStatus: stop.status, origin: 'dispatcher', createdBy: caller.principal.userId,
        }, now);
        await enqueueWebhookEvents(db, ctx, [trackingLinkCreatedEvent(ctx, row, token)]);
        call.audit({
          action: 'tracking_link.create', outcome: 'ok', targetType: 'tracking_link', targetId: row.id, locationId: stop.location_id,
          details: { stopId: stop.id, origin: 'dispatcher', expiresAt: row.expires_at },
        });
        const [labelled] = await listTrackingLinks(db, { linkId: row.id });
        return { link: presentTrackingLink(labelled!, now), url: trackingUrl(ctx, token) };
      },
    }),
    endpoint({
      method: 'post',
      path: '/tracking-links/:linkId/revoke',
      params: LinkParams,
      body: TrackingLinkRevoke,
      transaction: true,
      handle: (call): Promise<TrackingLinkInfo> => revoke(call.db, call, call.input.params.linkId),
      present: (link) => ({ link }),
    }),
  ];
}

async function revoke(db: Db, call: Call, linkId: string): Promise<TrackingLinkInfo> {
  const [link] = await listTrackingLinks(db, { linkId });
  if (!link || !mayManage(call.caller, link.location_id, call.now)) {
    if (link) call.audit(deniedEvent({ permission: 'tracking.manage', locationId: link.location_id, action: 'tracking_link.revoke', targetType: 'tracking_link', targetId: link.id }));
    throw notFound('The tracking link');
  }
  const revoked = await revokeTrackingLink(db, link.id, call.caller.principal.userId, call.now);
  if (revoked) {
    call.audit({
      action: 'tracking_link.revoke', outcome: 'ok', targetType: 'tracking_link', targetId: link.id, locationId: link.location_id,
      details: { stopId: link.stop_id, origin: link.origin },
    });
  }
  const [after] = await listTrackingLinks(db, { linkId });
  return presentTrackingLink(after!, call.now);
}
