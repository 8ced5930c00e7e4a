import { usersAtLocation } from '../../access/authorize';
import { decideSignInRequest, pendingSignInRequests } from '../../auth/device-approval';
import { listDevicesOfUser, revokeDeviceIn } from '../../auth/devices';
import { listAlertsOfUser, listAlertsOfUsers } from '../../auth/security-alerts';
import { appendAudit } from '../../audit/audit-log';
import { notFound } from '../../errors';
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

const devicesList: CliCommand = {
  group: 'device',
  name: 'list',
  summary: 'List the devices a user has signed in from',
  options: { user: { type: 'string', value: '<username>', description: 'The user', required: true } },
  prepare(values) {
    const username = requiredString(values, 'user');
    return async (ctx) => {
      const devices = await listDevicesOfUser(ctx.db, (await requireUserByUsername(ctx, username)).id, null);
      const lines = devices.map((d) => `${d.id}  ${(d.name ?? '(unnamed)').padEnd(24)} ${d.trusted ? 'trusted' : d.revokedAt !== null ? 'revoked' : 'pending'}  last seen ${isoTime(d.lastSeenAt)}  ${d.lastIp ?? ''}`);
      return { json: { devices }, text: lines.length > 0 ? lines.join('\n') : `${username} has not signed in on any device.` };
    };
  },
};

const deviceRevoke: CliCommand = {
  group: 'device',
  name: 'revoke',
  summary: 'Revoke one of a user\u2019s devices: its sessions end and it wipes its local data',
  options: {
    user: { type: 'string', value: '<username>', description: 'The user', required: true },
    device: { type: 'string', value: '<device id>', description: 'The id `device list` shows', required: true },
  },
  prepare(values) {
    const username = requiredString(values, 'user');
    const deviceRowId = requiredString(values, 'device');
    return async (ctx) => {
      const user = await requireUserByUsername(ctx, username);
      const result = await ctx.db.transaction().execute(async (trx) => {
        const now = ctx.now();
        const revoked = await revokeDeviceIn(trx, user.id, deviceRowId, now);
        if (!revoked) throw notFound('The device');
        await appendAudit(trx, operatorActor(), { action: 'device.revoke', outcome: 'ok', targetType: 'device', targetId: deviceRowId, details: { userId: user.id, ...revoked } }, now);
        return revoked;
      });
      return { json: result, text: `Revoked the device; ${result.sessionsEnded} session(s) ended.` };
    };
  },
};

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

export const securityCommands = [alertsList, devicesList, deviceRevoke, signInPending, decision(true), decision(false)];
