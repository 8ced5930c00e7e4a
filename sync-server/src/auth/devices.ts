import crypto from 'node:crypto';
import type { UserDevice } from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';

/**
 * The devices a user signs in from. A device is *known* once a sign-in on it has completed and
 * it presents the secret it was given then (kept in its encrypted local database): OWASP's
 * "device cookie" pattern, so a device id read from a log or a screen does not make a stranger
 * "known". Known devices count their failed sign-ins apart (throttle.ts) and do not trigger new
 * device alerts or approval.
 */

export type DeviceRow = Selectable<Database['user_devices']>;

export interface DevicePresented {
  deviceId: string;
  /** The device's secret (base64url); absent for clients that keep none. */
  deviceSecret?: string | undefined;
  deviceName: string | null;
  platform?: string | null | undefined;
  ip: string | null;
  /** The enrolled device that proved itself for this sign-in, where enrolled devices are required (devices/enrollment.ts). */
  enrolledDeviceId?: string | undefined;
}

export const hashDeviceSecret = (secret: string) => crypto.createHash('sha256').update(secret, 'utf8').digest('hex');

export async function findDevice(db: Db, userId: string, deviceId: string): Promise<DeviceRow | null> {
  return (await db.selectFrom('user_devices').selectAll().where('user_id', '=', userId).where('device_id', '=', deviceId).executeTakeFirst()) ?? null;
}

/** True when the row is a trusted, unrevoked device of the user and the secret matches. */
export function isKnownDevice(row: DeviceRow | null, secret: string | undefined): boolean {
  if (!row || row.revoked_at !== null || row.trusted_at === null || row.secret_hash === null || secret === undefined) return false;
  const presented = Buffer.from(hashDeviceSecret(secret), 'hex');
  const stored = Buffer.from(row.secret_hash, 'hex');
  return presented.length === stored.length && crypto.timingSafeEqual(presented, stored);
}

/**
 * Records a completed sign-in on a device, inside the sign-in's transaction: the device becomes
 * (or stays) trusted, takes the presented secret, and its failure count starts over. Returns the
 * row as it was before, null for a device never seen.
 */
export async function recordDeviceSignIn(trx: Db, userId: string, device: DevicePresented, now: number): Promise<DeviceRow | null> {
  const before = await findDevice(trx, userId, device.deviceId);
  const fields = {
    last_seen_at: now, last_ip: device.ip, trusted_at: before?.trusted_at ?? now, revoked_at: null, failed_logins: 0, locked_until: null,
    ...(device.deviceSecret !== undefined ? { secret_hash: hashDeviceSecret(device.deviceSecret) } : {}),
    ...(device.deviceName !== null ? { name: device.deviceName } : {}),
    ...(device.platform ? { platform: device.platform } : {}),
  };
  if (before) {
    await trx.updateTable('user_devices').set(fields).where('id', '=', before.id).execute();
  } else {
    await trx.insertInto('user_devices').values({
      id: crypto.randomUUID(), user_id: userId, device_id: device.deviceId, first_seen_at: now, secret_hash: null, name: null, platform: null, ...fields,
    }).execute();
  }
  return before;
}

/** Creates the row of a device seen for the first time without completing a sign-in (held or failed). */
export async function ensureDeviceRow(trx: Db, userId: string, device: DevicePresented, now: number): Promise<DeviceRow> {
  const existing = await findDevice(trx, userId, device.deviceId);
  if (existing) return existing;
  const row: DeviceRow = {
    id: crypto.randomUUID(), user_id: userId, device_id: device.deviceId, secret_hash: null, name: device.deviceName,
    platform: device.platform ?? null, first_seen_at: now, last_seen_at: now, last_ip: device.ip, trusted_at: null, revoked_at: null,
    failed_logins: 0, locked_until: null,
  };
  await trx.insertInto('user_devices').values(row).onConflict((oc) => oc.columns(['user_id', 'device_id']).doNothing()).execute();
  return (await findDevice(trx, userId, device.deviceId)) ?? row;
}

export function presentDevice(row: DeviceRow, currentDeviceId: string | null): UserDevice {
  return {
    id: row.id, userId: row.user_id, deviceId: row.device_id, name: row.name, platform: row.platform,
    firstSeenAt: Number(row.first_seen_at), lastSeenAt: Number(row.last_seen_at), lastIp: row.last_ip,
    trusted: row.trusted_at !== null && row.revoked_at === null, revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    current: row.device_id === currentDeviceId,
  };
}

export async function listDevicesOfUser(db: Db, userId: string, currentDeviceId: string | null): Promise<UserDevice[]> {
  const rows = await db.selectFrom('user_devices').selectAll().where('user_id', '=', userId).orderBy('last_seen_at', 'desc').orderBy('id').execute();
  return rows.map((r) => presentDevice(r, currentDeviceId));
}

/**
 * The network a client address belongs to, for "new network" and "another network" alerts:
 * an IPv4 /24 or an IPv6 /48, so a home router's changing address is not a new network.
 */
export function networkOf(ip: string | null): string | null {
  if (!ip) return null;
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.\d+$/i.exec(ip);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0/24`;
  if (!ip.includes(':')) return ip;
  const [head = ''] = ip.toLowerCase().split('%')[0]!.split('::');
  const groups = head.split(':').filter((g) => g.length > 0);
  return `${[...groups, '0', '0', '0'].slice(0, 3).join(':')}::/48`;
}

/** Renames one of the user's devices. False when the device is not theirs. */
export async function renameDevice(db: Db, userId: string, deviceRowId: string, name: string): Promise<UserDevice | null> {
  const r = await db.updateTable('user_devices').set({ name }).where('id', '=', deviceRowId).where('user_id', '=', userId).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) return null;
  const row = await db.selectFrom('user_devices').selectAll().where('id', '=', deviceRowId).executeTakeFirstOrThrow();
  return presentDevice(row, null);
}

/**
 * Revokes a device, inside the caller's transaction: it is no longer trusted or known, and every
 * session on it ends with a wipe (the security watcher tells its sockets at once). Returns how
 * many sessions ended, or null when the device is not the user's.
 */
export async function revokeDeviceIn(trx: Db, userId: string, deviceRowId: string, now: number): Promise<{ sessionsEnded: number; deviceId: string } | null> {
  const row = await trx.selectFrom('user_devices').selectAll().where('id', '=', deviceRowId).where('user_id', '=', userId).executeTakeFirst();
  if (!row) return null;
  await trx.updateTable('user_devices').set({ revoked_at: now, secret_hash: null }).where('id', '=', row.id).execute();
  const ended = await trx.updateTable('sessions').set({ revoked_at: now, revoke_reason: 'device_revoked' })
    .where('user_id', '=', userId).where('device_id', '=', row.device_id).where('revoked_at', 'is', null).executeTakeFirst();
  return { sessionsEnded: Number(ended.numUpdatedRows), deviceId: row.device_id };
}
