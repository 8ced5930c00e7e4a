import { checkPermission, usersAtLocation } from '../access/authorize';
import { loadAccessProfile } from '../access/access-profile';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import { insertAlertNotice } from '../auth/security-alerts';
import type { Db } from '../db/database';

/**
 * A proof captured far from its stop (proofs/distance.ts) is a `security.alert`: one audit entry
 * (target: the stop) and a notice to each of the location's managers and admins, meaning the
 * users who there hold both `pod.view` (they can look at the proof) and `audit.read` (they can
 * follow it up in the audit log). Details are ids, kinds and distances, never a position.
 * At most one alert per stop and hour (`false` when this one was held back).
 */
export async function raiseSuspiciousProofAlert(
  trx: Db,
  actor: AuditActor,
  alert: { stopId: string; locationId: string; proofId: string | null; kind: string; distanceM: number; thresholdM: number; refused: boolean },
  now: number,
): Promise<boolean> {
  if (await alertedWithinHour(trx, alert.stopId, now)) return false;
  const details = {
    kind: 'pod_suspicious', stopId: alert.stopId, proofId: alert.proofId, proofKind: alert.kind,
    distanceM: alert.distanceM, thresholdM: alert.thresholdM, refused: alert.refused,
  };
  await appendAudit(trx, actor, {
    action: 'security.alert', outcome: 'ok', targetType: 'stop', targetId: alert.stopId, locationId: alert.locationId, details,
  }, now);
  for (const userId of await proofReviewersAt(trx, alert.locationId, now)) {
    await insertAlertNotice(trx, { userId, kind: 'pod_suspicious', details: { ...details, locationId: alert.locationId }, actor }, now);
  }
  return true;
}

const alertQuietMs = 60 * 60 * 1000;

/**
 * One alert per stop and hour: a device sending far-away stamps again and again must not flood
 * the managers and the notification webhooks. Each capture (or refusal) keeps its own audit entry.
 */
async function alertedWithinHour(db: Db, stopId: string, now: number): Promise<boolean> {
  const recent = await db.selectFrom('audit_log').select('details')
    .where('action', '=', 'security.alert').where('target_type', '=', 'stop').where('target_id', '=', stopId)
    .where('at', '>', now - alertQuietMs).limit(50).execute();
  return recent.some((r) => r.details.includes('"pod_suspicious"'));
}

async function proofReviewersAt(db: Db, locationId: string, now: number): Promise<string[]> {
  const out: string[] = [];
  for (const userId of await usersAtLocation(db, locationId, now)) {
    const profile = await loadAccessProfile(db, userId, now);
    const holds = (permission: 'pod.view' | 'audit.read') => checkPermission(profile, { permission, locationId }, now) !== null;
    if (holds('pod.view') && holds('audit.read')) out.push(userId);
  }
  return out;
}
