import {
  type ApprovalRequired, EntityId, type Group, GroupCreate, groupChangeNeedsApproval, GroupId, GroupListQuery, GroupUpdate, type LocationAccessList,
  WithApprovalReason,
} from '@depotline/shared';
import { z } from 'zod';
import { viewAt } from '../../access/access-profile';
import { AccessRefused, type Granter } from '../../access/authority';
import { deniedEvent } from '../../access/authorize';
import type { Caller } from '../../access/caller';
import { findGroup, groupManagingLocations, listGroupRecords, presentGroup, presentGroups } from '../../access/group-records';
import { applyGroupCreate, applyGroupRetire, applyJudgedGroupUpdate, groupAfterUpdate, groupUpdateNeedsSecondPerson } from '../../access/groups';
import { listLocationHolders } from '../../access/location-holders';
import { requestApproval } from '../../approvals/requests';
import type { AuditEvent } from '../../audit/audit-log';
import { forbidden, notFound } from '../../errors';
import { type Endpoint, endpoint } from '../endpoint';
import { approvalRequired, requesterOf } from './approvals';

/*
 * Permission groups and "who holds what" (docs/api.md). Who may change a group is decided
 * inside the `apply*` functions of access/groups.ts (group.manage and every permission involved,
 * at every location of the group's scope), so no single permission check stands on the changes.
 * Reading a group needs `group.manage` or `grant.manage` at one location of its scope (granting
 * it needs to see it); otherwise it is answered as missing. What is shown of a group or of
 * someone's grants is limited to those locations (`visibleTo`). Creating or widening a group that
 * allows grant.manage, audit.read or an export permission is a sensitive change
 * (`groupChangeNeedsApproval`): it is requested (`group.sensitive`) and answered 202.
 */

const userGranter = (caller: Caller): Granter => ({ kind: 'user', actor: caller.actor, profile: caller.profile });
const groupParams = z.object({ groupId: GroupId });
/** Where the caller sees groups and grants: scopes, holder counts and grants' locations are cut to these. */
const visibleTo = (caller: Caller, now: number) => groupManagingLocations(caller.profile, now);

/** Turns a refusal found in the transaction into its audit entry (written after the rollback) and a 403. */
async function auditingRefusal<R>(audit: (event: AuditEvent) => void, work: () => Promise<R>): Promise<R> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof AccessRefused) audit(deniedEvent(err.request));
    throw err;
  }
}

/** A group is visible where its scope meets a location the caller manages groups or grants at; otherwise it does not exist. */
async function visibleGroup(call: { db: Parameters<typeof findGroup>[0]; caller: Caller; now: number }, groupId: string) {
  const group = await findGroup(call.db, { id: groupId });
  const mine = groupManagingLocations(call.caller.profile, call.now);
  if (!group || !group.locationIds.some((l) => mine.includes(l))) throw notFound('The group');
  return group;
}

export function groupEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/groups',
      query: GroupListQuery,
      handle: async ({ db, caller, input, now }) => {
        const within = groupManagingLocations(caller.profile, now);
        return presentGroups(db, await listGroupRecords(db, { within, locationId: input.query.locationId, includeRetired: input.query.includeRetired === 'true' }), within, now);
      },
      present: (groups) => ({ groups }),
    }),
    endpoint({
      method: 'post',
      path: '/groups',
      body: z.intersection(GroupCreate, WithApprovalReason),
      status: (result: { group: Group } | ApprovalRequired) => ('approvalRequired' in result ? 202 : 201),
      // No endpoint transaction: a request for approval writes in its own.
      handle: async ({ ctx, caller, input, now, audit }) => {
        const { reason, ...group } = input.body;
        if (groupChangeNeedsApproval(null, group)) {
          return approvalRequired(await requestApproval(ctx, requesterOf(caller), { kind: 'group.sensitive', change: { op: 'create', group }, reason }));
        }
        return { group: await ctx.db.transaction().execute((trx) => auditingRefusal(audit, async () =>
          presentGroup(trx, await applyGroupCreate(trx, userGranter(caller), group, now), visibleTo(caller, now), now))) };
      },
    }),
    endpoint({
      method: 'get',
      path: '/groups/:groupId',
      params: groupParams,
      handle: async (call) => presentGroup(call.db, await visibleGroup(call, call.input.params.groupId), visibleTo(call.caller, call.now), call.now),
      present: (group) => ({ group }),
    }),
    endpoint({
      method: 'patch',
      path: '/groups/:groupId',
      params: groupParams,
      body: z.intersection(GroupUpdate, WithApprovalReason),
      status: (result: { group: Group } | ApprovalRequired) => ('approvalRequired' in result ? 202 : 200),
      // No endpoint transaction: a request for approval writes in its own.
      handle: async ({ ctx, caller, input, now, audit }) => {
        const { groupId } = input.params;
        const { reason, ...update } = input.body;
        const before = await findGroup(ctx.db, { id: groupId });
        if (before && await groupUpdateNeedsSecondPerson(ctx.db, before, groupAfterUpdate(before, update), now)) {
          const { expectedVersion, ...changes } = update;
          return approvalRequired(await requestApproval(ctx, requesterOf(caller), {
            kind: 'group.sensitive', change: { op: 'update', groupId, version: expectedVersion ?? before.version, update: changes }, reason,
          }));
        }
        if (!before) throw notFound('The group');
        return { group: await ctx.db.transaction().execute((trx) => auditingRefusal(audit, async () => {
          const { after } = await applyJudgedGroupUpdate(trx, userGranter(caller), before, update, now);
          return presentGroup(trx, after, visibleTo(caller, now), now);
        })) };
      },
    }),
    endpoint({
      method: 'post',
      path: '/groups/:groupId/retire',
      params: groupParams,
      transaction: true,
      handle: (call) => auditingRefusal(call.audit, async () => {
        const { group, revokedGrantIds } = await applyGroupRetire(call.db, userGranter(call.caller), call.input.params.groupId, call.now);
        return { group: await presentGroup(call.db, group, visibleTo(call.caller, call.now), call.now), revokedGrantIds };
      }),
    }),
    endpoint({
      method: 'get',
      path: '/locations/:locationId/access',
      params: z.object({ locationId: EntityId }),
      handle: async ({ ctx, db, caller, input, now, audit }): Promise<LocationAccessList> => {
        const { locationId } = input.params;
        const general = viewAt(caller.profile, locationId, now)?.general;
        if (!general?.has('group.manage') && !general?.has('grant.manage')) {
          audit(deniedEvent({ permission: 'grant.manage', locationId, action: 'access.read' }));
          throw forbidden();
        }
        return { locationId, holders: await listLocationHolders(db, locationId, ctx.config.mfaRequiredRoles, visibleTo(caller, now), now) };
      },
    }),
  ];
}
