import { DeviceRename, SignInDecision, type SecurityAlert, type SignInRequest, type UserDevice } from '@depotline/shared';
import { z } from 'zod';
import { holdsOverUser, usersAtLocation } from '../../access/authorize';
import { decideSignInRequest, ownerOfSignInRequest, pendingSignInRequests } from '../../auth/device-approval';
import { findDevice, listDevicesOfUser, renameDevice, revokeDeviceIn } from '../../auth/devices';
import { listAlertsOfUser, listAlertsOfUsers, markAlertRead } from '../../auth/security-alerts';
import { notFound } from '../../errors';
import { type Endpoint, endpoint } from '../endpoint';

const Id = z.string().min(1).max(64);

/**
 * Devices, sign-in alerts and held sign-ins: the user's own (ASVS 3.3.4: users see and end what
 * signs in as them), and those of users at an admin's locations (docs/api.md).
 */
export function deviceEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/me/devices',
      handle: ({ ctx, caller: { principal } }): Promise<UserDevice[]> => listDevicesOfUser(ctx.db, principal.userId, principal.deviceId),
      present: (devices) => ({ devices }),
    }),
    endpoint({
      method: 'patch',
      path: '/me/devices/:id',
      params: z.object({ id: Id }),
      body: DeviceRename,
      handle: async ({ ctx, caller: { principal }, input }) => {
        const device = await renameDevice(ctx.db, principal.userId, input.params.id, input.body.name);
        if (!device) throw notFound('The device');
        return { ...device, current: device.deviceId === principal.deviceId };
      },
      present: (device) => ({ device }),
    }),
    /** Revoking a device ends its sessions and wipes it; this one included, if the user says so. */
    endpoint({
      method: 'delete',
      path: '/me/devices/:id',
      params: z.object({ id: Id }),
      transaction: true,
      status: 204,
      handle: async ({ db, caller: { principal }, input, now, audit }) => {
        const revoked = await revokeDeviceIn(db, principal.userId, input.params.id, now);
        if (!revoked) throw notFound('The device');
        audit({ action: 'device.revoke', outcome: 'ok', targetType: 'device', targetId: input.params.id, details: { userId: principal.userId, ...revoked } });
      },
    }),
    endpoint({
      method: 'get',
      path: '/users/:userId/devices',
      params: z.object({ userId: Id }),
      handle: async ({ ctx, caller, input, now, audit }): Promise<UserDevice[]> => {
        if (!(await holdsOverUser(ctx.db, caller.profile, input.params.userId, 'security.read', now, 'some'))) {
          audit({ action: 'device.list', outcome: 'denied', targetType: 'user', targetId: input.params.userId, details: { permission: 'security.read' } });
          throw notFound('The user');
        }
        return listDevicesOfUser(ctx.db, input.params.userId, null);
      },
      present: (devices) => ({ devices }),
    }),
    endpoint({
      method: 'delete',
      path: '/users/:userId/devices/:id',
      params: z.object({ userId: Id, id: Id }),
      status: 204,
      handle: async ({ ctx, caller, input, now, audit }) => {
        const { userId, id } = input.params;
        if (!(await holdsOverUser(ctx.db, caller.profile, userId, 'session.revokeAny', now, 'every'))) {
          audit({ action: 'device.revoke', outcome: 'denied', targetType: 'device', targetId: id, details: { userId, permission: 'session.revokeAny' } });
          throw notFound('The device');
        }
        await ctx.db.transaction().execute(async (trx) => {
          const revoked = await revokeDeviceIn(trx, userId, id, now);
          if (!revoked) throw notFound('The device');
          audit({ action: 'device.revoke', outcome: 'ok', targetType: 'device', targetId: id, details: { userId, ...revoked } });
        });
      },
    }),
    endpoint({
      method: 'get',
      path: '/me/alerts',
      query: z.object({ unread: z.enum(['0', '1']).optional() }),
      handle: ({ ctx, caller: { principal }, input }): Promise<SecurityAlert[]> =>
        listAlertsOfUser(ctx.db, principal.userId, { unreadOnly: input.query.unread === '1' }),
      present: (alerts) => ({ alerts }),
    }),
    endpoint({
      method: 'post',
      path: '/me/alerts/:id/read',
      params: z.object({ id: Id }),
      status: 204,
      handle: async ({ ctx, caller: { principal }, input, now }) => {
        if (!(await markAlertRead(ctx.db, principal.userId, input.params.id, now))) throw notFound('The alert');
      },
    }),
    endpoint({
      method: 'get',
      path: '/locations/:locationId/alerts',
      params: z.object({ locationId: Id }),
      authorize: ({ params }) => ({ permission: 'security.read', locationId: params.locationId, action: 'security.alerts.read' }),
      handle: async ({ ctx, input, now }): Promise<SecurityAlert[]> => listAlertsOfUsers(ctx.db, await usersAtLocation(ctx.db, input.params.locationId, now)),
      present: (alerts) => ({ alerts }),
    }),
    endpoint({
      method: 'get',
      path: '/me/sign-in-requests',
      handle: ({ ctx, caller: { principal }, now }): Promise<SignInRequest[]> => pendingSignInRequests(ctx.db, [principal.userId], now),
      present: (requests) => ({ requests }),
    }),
    endpoint({
      method: 'get',
      path: '/locations/:locationId/sign-in-requests',
      params: z.object({ locationId: Id }),
      authorize: ({ params }) => ({ permission: 'security.read', locationId: params.locationId, action: 'device.approvals.read' }),
      handle: async ({ ctx, input, now }): Promise<SignInRequest[]> => pendingSignInRequests(ctx.db, await usersAtLocation(ctx.db, input.params.locationId, now), now),
      present: (requests) => ({ requests }),
    }),
    /**
     * Approves or denies a held sign-in: the user themself from a session on one of their trusted
     * devices (never the held device), or whoever holds `session.revokeAny` at every location of the
     * user. Anyone else gets the same 404 as for a request that does not exist, audited as denied.
     */
    endpoint({
      method: 'post',
      path: '/sign-in-requests/:id/decision',
      params: z.object({ id: Id }),
      body: SignInDecision,
      handle: async ({ ctx, caller, input, now, audit }) => {
        const { principal } = caller;
        const owner = await ownerOfSignInRequest(ctx.db, input.params.id);
        let allowed = false;
        if (owner && owner.userId === principal.userId) {
          const here = await findDevice(ctx.db, principal.userId, principal.deviceId);
          // The session's device must itself be trusted: a held device cannot approve itself.
          allowed = here !== null && here.id !== owner.deviceRowId && here.trusted_at !== null && here.revoked_at === null;
        } else if (owner) {
          allowed = await holdsOverUser(ctx.db, caller.profile, owner.userId, 'session.revokeAny', now, 'every');
        }
        if (!allowed) {
          audit({ action: input.body.approve ? 'device.approve' : 'device.deny', outcome: 'denied', targetType: 'sign_in_request', targetId: input.params.id });
          throw notFound('The sign-in request');
        }
        return decideSignInRequest(ctx, caller.actor, input.params.id, input.body.approve);
      },
      present: (request) => ({ request }),
    }),
  ];
}
