import crypto from 'node:crypto';
import type { SecurityAlert, SecurityAlertKind } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { Db } from '../db/database';

/**
 * Sign-in alerts: each is written twice in one transaction, as an audit entry
 * (`security.alert`, part of the tamper-evident log) and as a notice for the user that stays
 * until they read it. Admins of the user's locations list them too (docs/security-model.md).
 */
export async function raiseSecurityAlert(
  trx: Db,
  alert: { userId: string; kind: SecurityAlertKind; details?: Record<string, unknown>; actor: AuditActor },
  now: number,
): Promise<void> {
  const details = alert.details ?? {};
  await insertAlertNotice(trx, alert, now);
  await appendAudit(trx, alert.actor, {
    action: 'security.alert', outcome: 'ok', targetType: 'user', targetId: alert.userId, details: { kind: alert.kind, ...details },
  }, now);
}

/**
 * The notice half alone, for an alert about something other than the user (a stop whose data
 * was altered, told to the admins of its location): the caller audits the event once.
 */
export async function insertAlertNotice(
  trx: Db,
  alert: { userId: string; kind: SecurityAlertKind; details?: Record<string, unknown>; actor: AuditActor },
  now: number,
): Promise<void> {
  await trx.insertInto('security_alerts').values({
    id: crypto.randomUUID(), user_id: alert.userId, kind: alert.kind, details: JSON.stringify(alert.details ?? {}), at: now, read_at: null,
    device_id: alert.actor.deviceId, ip: alert.actor.ip,
  }).execute();
}

type AlertRow = { id: string; user_id: string; username: string; kind: string; details: string; at: number; read_at: number | null; device_id: string | null; ip: string | null };

function present(r: AlertRow): SecurityAlert {
  return {
    id: r.id, userId: r.user_id, username: r.username, kind: r.kind as SecurityAlertKind,
    details: JSON.parse(r.details) as Record<string, unknown>, at: Number(r.at), readAt: r.read_at === null ? null : Number(r.read_at),
    deviceId: r.device_id, ip: r.ip,
  };
}

const alertColumns = [
  'security_alerts.id', 'security_alerts.user_id', 'users.username', 'security_alerts.kind', 'security_alerts.details',
  'security_alerts.at', 'security_alerts.read_at', 'security_alerts.device_id', 'security_alerts.ip',
] as const;

/** The user's own alerts, newest first; unread ones are what the console keeps showing. */
export async function listAlertsOfUser(db: Db, userId: string, options: { unreadOnly?: boolean; limit?: number } = {}): Promise<SecurityAlert[]> {
  let q = db.selectFrom('security_alerts').innerJoin('users', 'users.id', 'security_alerts.user_id')
    .select(alertColumns).where('security_alerts.user_id', '=', userId);
  if (options.unreadOnly) q = q.where('security_alerts.read_at', 'is', null);
  const rows = await q.orderBy('security_alerts.at', 'desc').orderBy('security_alerts.id').limit(options.limit ?? 200).execute();
  return rows.map(present);
}

/** Alerts of the given users (an admin's reach), newest first. */
export async function listAlertsOfUsers(db: Db, userIds: readonly string[], limit = 500): Promise<SecurityAlert[]> {
  if (userIds.length === 0) return [];
  const rows = await db.selectFrom('security_alerts').innerJoin('users', 'users.id', 'security_alerts.user_id')
    .select(alertColumns).where('security_alerts.user_id', 'in', [...userIds])
    .orderBy('security_alerts.at', 'desc').orderBy('security_alerts.id').limit(limit).execute();
  return rows.map(present);
}

/** Marks one of the user's own alerts read. False when it is not theirs (or does not exist). */
export async function markAlertRead(db: Db, userId: string, alertId: string, now: number): Promise<boolean> {
  const r = await db.updateTable('security_alerts').set({ read_at: now })
    .where('id', '=', alertId).where('user_id', '=', userId).where('read_at', 'is', null).executeTakeFirst();
  if (Number(r.numUpdatedRows) > 0) return true;
  return (await db.selectFrom('security_alerts').select('id').where('id', '=', alertId).where('user_id', '=', userId).executeTakeFirst()) !== undefined;
}
