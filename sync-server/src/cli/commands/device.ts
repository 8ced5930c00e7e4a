import fs from 'node:fs';
import path from 'node:path';
import type { EnrolledDevice } from '@depotline/shared';
import { createEnrollmentTokens, listEnrolledDevices, maxTokensPerCommand, revokeEnrolledDevice } from '../../devices/enrollment';
import { appendAudit } from '../../audit/audit-log';
import { listDevicesOfUser, revokeDeviceIn } from '../../auth/devices';
import { badRequest, notFound } from '../../errors';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, commaList, isoTime, optionalInteger, optionalString, parseExpiry, requiredString, UsageError } from '../command';
import { requireUserByUsername } from './users';

/**
 * Devices at the server host's command line (docs/operations.md "Device enrollment"): one-time
 * enrollment tokens, the enrolled devices and a user's trusted devices, and revoking either.
 * Audited as `cli:<OS user>`.
 */

/** `--expires`: a duration from now (`90m`, `12h`, `7d`), or a date or time as every other `--expires` takes. */
function readTokenExpiry(value: string): { afterMs: number } | { at: number } {
  const d = /^\s*(\d{1,4})\s*([mhd])\s*$/.exec(value);
  if (!d) return { at: parseExpiry(value) };
  const afterMs = Number(d[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[d[2] as 'm' | 'h' | 'd'];
  if (afterMs <= 0) throw badRequest(['--expires: a duration must be more than zero']);
  return { afterMs };
}

const enrollTokenCreate: CliCommand = {
  group: 'device',
  name: 'enroll-token create',
  summary: 'Issue one-time enrollment tokens binding new console devices to locations',
  options: {
    locations: { type: 'string', value: '<id,id...>', description: 'The locations the enrolled devices are bound to', required: true },
    expires: { type: 'string', value: '<when>', description: 'When unused tokens stop working: a duration (90m, 12h, 7d) or an ISO 8601 date or time', required: true },
    count: { type: 'string', value: '<n>', description: `How many tokens (default 1, at most ${maxTokensPerCommand})` },
    out: { type: 'string', value: '<file>', description: 'Write the tokens to this new file (mode 0600, one a line) instead of printing them' },
  },
  notes: [
    'Example: depotline-admin device enroll-token create --locations depot-north --expires 7d --count 50 --out tokens.txt',
    'Each token is shown once and works once; the server keeps only its SHA-256. Put one in a console\'s policy (enrollmentToken) or type it in.',
  ],
  prepare(values) {
    const locationIds = commaList(requiredString(values, 'locations'));
    if (locationIds.length === 0) throw badRequest(['--locations: name at least one location']);
    const expires = readTokenExpiry(requiredString(values, 'expires'));
    const count = optionalInteger(values, 'count') ?? 1;
    if (count < 1 || count > maxTokensPerCommand) throw badRequest([`--count: 1 to ${maxTokensPerCommand}`]);
    const outOption = optionalString(values, 'out');
    const out = outOption === undefined ? null : path.resolve(outOption);
    if (out !== null && fs.existsSync(out)) throw badRequest([`--out: ${out} already exists; choose a new file name`]);
    return async (ctx) => {
      // The file exists (0600, empty) before any token does, so a token is never issued that could not be written.
      let fd: number | null = null;
      if (out !== null) {
        try {
          fd = fs.openSync(out, 'wx', 0o600);
        } catch (err) {
          throw badRequest([`--out: cannot create ${out} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
        }
      }
      const expiresAt = 'afterMs' in expires ? ctx.now() + expires.afterMs : expires.at;
      try {
        const tokens = await createEnrollmentTokens(ctx, operatorActor(), { locationIds, expiresAt, count });
        const listed = tokens.map((t) => ({ id: t.id, locationIds: t.locationIds, expiresAt: new Date(t.expiresAt).toISOString() }));
        if (fd !== null) {
          fs.writeSync(fd, tokens.map((t) => t.token).join('\n') + '\n');
          fs.closeSync(fd);
          fd = null;
          return {
            json: { file: out, tokens: listed },
            text: `${tokens.length} enrollment token${tokens.length === 1 ? '' : 's'} written to ${out} (mode 0600), for ${locationIds.join(', ')}, usable once each until ${isoTime(expiresAt)}.`,
          };
        }
        return {
          json: { tokens: tokens.map((t, i) => ({ ...listed[i], token: t.token })) },
          text: [...tokens.map((t) => t.token), '', `Usable once each until ${isoTime(expiresAt)}, for ${locationIds.join(', ')}. They are not shown again.`].join('\n'),
        };
      } catch (err) {
        if (fd !== null) {
          fs.closeSync(fd);
          fs.rmSync(out!, { force: true });
        }
        throw err;
      }
    };
  },
};

const line = (d: EnrolledDevice) =>
  `${d.id}\t${d.name}\t${d.platform ?? '-'}\t${d.locationIds.join(',')}\tenrolled ${isoTime(d.enrolledAt)}\tlast seen ${isoTime(d.lastSeenAt)}${d.revokedAt !== null ? `\trevoked ${isoTime(d.revokedAt)}` : ''}`;

/** One command for both kinds of device: a user's trusted devices (`--user`) and the enrolled machines. */
const deviceList: CliCommand = {
  group: 'device',
  name: 'list',
  summary: 'List enrolled devices, or with --user the devices a user has signed in from',
  options: {
    user: { type: 'string', value: '<username>', description: 'The devices this user has signed in from' },
    all: { type: 'boolean', description: 'Enrolled devices: include revoked ones' },
  },
  prepare(values) {
    const username = optionalString(values, 'user');
    const includeRevoked = values.all === true;
    return async (ctx) => {
      if (username !== undefined) {
        const devices = await listDevicesOfUser(ctx.db, (await requireUserByUsername(ctx, username)).id, null);
        const lines = devices.map((d) => `${d.id}  ${(d.name ?? '(unnamed)').padEnd(24)} ${d.trusted ? 'trusted' : d.revokedAt !== null ? 'revoked' : 'pending'}  last seen ${isoTime(d.lastSeenAt)}  ${d.lastIp ?? ''}`);
        return { json: { devices }, text: lines.length > 0 ? lines.join('\n') : `${username} has not signed in on any device.` };
      }
      const devices = await listEnrolledDevices(ctx, { includeRevoked });
      return { json: { devices }, text: devices.length === 0 ? 'No enrolled devices.' : devices.map(line).join('\n') };
    };
  },
};

const deviceRevoke: CliCommand = {
  group: 'device',
  name: 'revoke',
  summary: 'Revoke an enrolled device (--id), or one of a user\u2019s devices (--user, --device): sessions end and it wipes at next contact',
  options: {
    id: { type: 'string', value: '<enrolled device id>', description: 'An enrolled device, from device list' },
    user: { type: 'string', value: '<username>', description: 'The user, with --device' },
    device: { type: 'string', value: '<device id>', description: 'The id `device list --user` shows' },
  },
  notes: [
    'Example: depotline-admin device revoke --id <enrolled device id>',
    'An enrolled device: its challenges and signatures are refused from now on, and every user\u2019s sessions on it end with a wipe.',
  ],
  prepare(values) {
    const id = optionalString(values, 'id')?.trim();
    const username = optionalString(values, 'user');
    const deviceRowId = optionalString(values, 'device');
    if ((id === undefined) === (username === undefined || deviceRowId === undefined)) {
      throw new UsageError('Give either --id (an enrolled device) or both --user and --device (a user\u2019s device).');
    }
    return async (ctx) => {
      if (id !== undefined) {
        const { device, sessionsEnded } = await revokeEnrolledDevice(ctx, operatorActor(), id);
        return { json: { device, sessionsEnded }, text: `Device ${device.id} (${device.name}) revoked; ${sessionsEnded} session${sessionsEnded === 1 ? '' : 's'} ended.` };
      }
      const user = await requireUserByUsername(ctx, username!);
      const result = await ctx.db.transaction().execute(async (trx) => {
        const now = ctx.now();
        const revoked = await revokeDeviceIn(trx, user.id, deviceRowId!, now);
        if (!revoked) throw notFound('The device');
        await appendAudit(trx, operatorActor(), { action: 'device.revoke', outcome: 'ok', targetType: 'device', targetId: deviceRowId!, details: { userId: user.id, ...revoked } }, now);
        return revoked;
      });
      return { json: result, text: `Revoked the device; ${result.sessionsEnded} session(s) ended.` };
    };
  },
};

export const deviceCommands = [enrollTokenCreate, deviceList, deviceRevoke];
