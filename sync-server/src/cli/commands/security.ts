import { usersAtLocation } from '../../access/authorize';
import { decideSignInRequest, pendingSignInRequests } from '../../auth/device-approval';
import { listAlertsOfUser, listAlertsOfUsers } from '../../auth/security-alerts';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, isoTime, optionalString, requiredString } from '../command';
import { requireUserByUsername } from './users';

/**
 * Sign-in alerts, devices and held sign-ins for IT admins on the server host: the same data
 * and rules as the REST endpoints, acting as the operator (audited under the OS account).
 */

const alertsList: CliCommand = {
  group: 'security',
  name: 'alerts',
  summary: 'List sign-in alerts of one user, or of every user with access to a location',
  options: {
    user: { type: 'string', value: '<username>', description: 'Only this user' },
    location: { type: 'string', value: '<location id>', description: 'Users holding a grant at this location' },
  },
  prepare(values) {
    const username = optionalString(values, 'user');
    const locationId = optionalString(values, 'location');
    return async (ctx) => {
      const alerts = username !== undefined
        ? await listAlertsOfUser(ctx.db, (await requireUserByUsername(ctx, username)).id)
        : await listAlertsOfUsers(ctx.db, locationId !== undefined ? await usersAtLocation(ctx.db, locationId, ctx.now()) : (await ctx.db.selectFrom('users').select('id').execute()).map((u) => u.id));
      const lines = alerts.map((a) => `${isoTime(a.at)}  ${a.username.padEnd(20)} ${a.kind.padEnd(26)} ${a.readAt === null ? 'unread' : 'read'}  ${a.ip ?? ''}`);
      return { json: { alerts }, text: lines.length > 0 ? lines.join('\n') : 'No sign-in alerts.' };
    };
  },
};

// `device list` and `device revoke` (a user's devices and enrolled devices) are in device.ts.

const signInPending: CliCommand = {
  group: 'sign-in',
  name: 'pending',
  summary: 'List sign-ins held for approval (all, or of users with access to a location)',
  options: { location: { type: 'string', value: '<location id>', description: 'Users holding a grant at this location' } },
  prepare(values) {
    const locationId = optionalString(values, 'location');
    return async (ctx) => {
      const now = ctx.now();
      const users = locationId !== undefined ? await usersAtLocation(ctx.db, locationId, now) : (await ctx.db.selectFrom('users').select('id').execute()).map((u) => u.id);
      const requests = await pendingSignInRequests(ctx.db, users, now);
      const lines = requests.map((r) => `${r.id}  ${r.username.padEnd(20)} ${(r.deviceName ?? '(unnamed)').padEnd(24)} ${r.ip ?? ''}  until ${isoTime(r.expiresAt)}`);
      return { json: { requests }, text: lines.length > 0 ? lines.join('\n') : 'No sign-ins are waiting.' };
    };
  },
};

const decision = (approve: boolean): CliCommand => ({
  group: 'sign-in',
  name: approve ? 'approve' : 'deny',
  summary: approve ? 'Approve a held sign-in: the waiting device gets its session' : 'Deny a held sign-in: the waiting device never gets a session',
  options: { request: { type: 'string', value: '<request id>', description: 'The id `sign-in pending` shows', required: true } },
  prepare(values) {
    const requestId = requiredString(values, 'request');
    return async (ctx) => {
      const request = await decideSignInRequest(ctx, operatorActor(), requestId, approve);
      return { json: { request }, text: `${approve ? 'Approved' : 'Denied'} the sign-in of ${request.username} on ${request.deviceName ?? 'an unnamed device'}.` };
    };
  },
});

export const securityCommands = [alertsList, signInPending, decision(true), decision(false)];
