import {
  EntityId, LegalHoldCreate, LegalHoldListQuery, LegalHoldReleaseRequest, LocationRetentionUpdate, type RetentionSettingsView,
  locationRetentionClasses, retentionClasses, retentionClassSpecs, retentionDaysField,
} from '@depotline/shared';
import { z } from 'zod';
import { authorize, checkPermission, deniedEvent } from '../../access/authorize';
import { requestApproval } from '../../approvals/requests';
import { notFound } from '../../errors';
import { locationRetentionView, placeLegalHold, type RetentionUpdateOutcome, updateLocationRetention } from '../../retention/admin';
import { listLegalHolds, loadLegalHold } from '../../retention/legal-holds';
import { globalRetention } from '../../retention/policy';
import type { LiveFeed } from '../../sync/mutations/handler';
import type { ServerContext } from '../../context';
import { type Endpoint, endpoint } from '../endpoint';
import { approvalRequired, requesterOf } from './approvals';

const LocationParams = z.object({ locationId: EntityId });
const HoldParams = z.object({ holdId: EntityId });

/** `GET /retention`: every class with its default, bounds and what its age counts from. */
function retentionSettingsView(ctx: ServerContext): RetentionSettingsView {
  const g = globalRetention(ctx.config);
  const serverWide = { integrationLog: g.integrationLogDays, session: g.sessionDays, audit: g.auditDays } as const;
  return {
    classes: retentionClasses.map((c) => {
      const spec = retentionClassSpecs[c];
      const perLocation = (locationRetentionClasses as readonly string[]).includes(c);
      const field = perLocation ? retentionDaysField[c as (typeof locationRetentionClasses)[number]] : null;
      return {
        class: c,
        defaultDays: field ? g.location[field] : serverWide[c as keyof typeof serverWide],
        maxDays: field ? g.maxDays[field] : null,
        minDays: spec.minDays,
        perLocation,
        agedFrom: spec.agedFrom,
        holds: spec.holds,
      };
    }),
  };
}

/**
 * Retention periods and legal holds (docs/api.md, "Retention and legal holds"). Reading a
 * location's periods needs `location.read` there (its desktops receive them anyway); changing them
 * `retention.manage`, a widening answered 202 with the approval request; holds `legalHold.manage`,
 * a release always 202. Refusals are audited by the pipeline.
 */
export function retentionEndpoints(live: LiveFeed | null = null): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/retention',
      handle: ({ ctx }) => Promise.resolve(retentionSettingsView(ctx)),
    }),
    endpoint({
      method: 'get',
      path: '/locations/:locationId/retention',
      params: LocationParams,
      authorize: ({ params }) => ({ permission: 'location.read', locationId: params.locationId, action: 'retention.read' }),
      handle: ({ ctx, input: { params } }) => locationRetentionView(ctx, params.locationId),
    }),
    endpoint({
      method: 'put',
      path: '/locations/:locationId/retention',
      params: LocationParams,
      body: LocationRetentionUpdate,
      authorize: ({ params }) => ({ permission: 'retention.manage', locationId: params.locationId, action: 'retention.set' }),
      status: (r: RetentionUpdateOutcome) => (r.approval ? 202 : 200),
      handle: ({ ctx, caller, input: { params, body } }) => updateLocationRetention(ctx, caller.actor, requesterOf(caller), params.locationId, body),
      present: (r: RetentionUpdateOutcome) => (r.approval ? { ...approvalRequired(r.approval), retention: r.retention } : { retention: r.retention }),
    }),
    endpoint({
      method: 'get',
      path: '/locations/:locationId/legal-holds',
      params: LocationParams,
      query: LegalHoldListQuery,
      authorize: ({ params }) => ({ permission: 'legalHold.manage', locationId: params.locationId, action: 'legalHold.list' }),
      handle: async ({ ctx, input: { params, query } }) => ({ holds: await listLegalHolds(ctx.db, params.locationId, query.active === 'true') }),
    }),
    endpoint({
      method: 'post',
      path: '/locations/:locationId/legal-holds',
      params: LocationParams,
      body: LegalHoldCreate,
      status: 201,
      authorize: ({ params }) => ({ permission: 'legalHold.manage', locationId: params.locationId, action: 'legalHold.place' }),
      handle: async ({ ctx, caller, input: { params, body } }) => {
        // A customer hold looks the customer up (404 when they have no stop here): that answer
        // is a privacy search, so it needs privacy.manage as well, checked before the lookup.
        if (body.scope === 'customer') {
          await authorize(ctx, caller.actor, caller.profile, { permission: 'privacy.manage', locationId: params.locationId, action: 'legalHold.place' });
        }
        return placeLegalHold(ctx, caller.actor, params.locationId, body, live);
      },
      present: (hold) => ({ hold }),
    }),
    /**
     * Releasing always needs a second person. An unknown hold and one at a location where the
     * caller lacks `legalHold.manage` get the same 404 (the second audited): ids cannot be probed.
     */
    endpoint({
      method: 'post',
      path: '/legal-holds/:holdId/release',
      params: HoldParams,
      body: LegalHoldReleaseRequest,
      status: 202,
      handle: async ({ ctx, caller, input: { params, body }, now, audit }) => {
        const hold = await loadLegalHold(ctx.db, params.holdId);
        if (!hold) throw notFound('The legal hold');
        const req = { permission: 'legalHold.manage' as const, locationId: hold.location_id, action: 'legalHold.release', targetType: 'legal_hold', targetId: hold.id };
        if (!checkPermission(caller.profile, req, now)) {
          audit(deniedEvent(req));
          throw notFound('The legal hold');
        }
        return requestApproval(ctx, requesterOf(caller), { kind: 'legalHold.release', change: { holdId: hold.id, reason: body.reason }, reason: body.reason });
      },
      present: approvalRequired,
    }),
  ];
}
