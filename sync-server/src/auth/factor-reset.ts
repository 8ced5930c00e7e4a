import type { SignInFactor } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { Db } from '../db/database';
import { raiseSecurityAlert } from './security-alerts';

export interface FactorsHeld {
  totp: boolean;
  recoveryCodes: boolean;
  securityKeys: boolean;
}

/** Which second factors the user has now: an authenticator, unused recovery codes, security keys. */
export async function factorsHeld(db: Db, userId: string): Promise<FactorsHeld> {
  const user = await db.selectFrom('users').select('totp_enrolled_at').where('id', '=', userId).executeTakeFirst();
  const codes = await db.selectFrom('recovery_codes').select('id').where('user_id', '=', userId).where('used_at', 'is', null).limit(1).execute();
  const keys = await db.selectFrom('webauthn_credentials').select('id').where('user_id', '=', userId).limit(1).execute();
  return { totp: user?.totp_enrolled_at != null, recoveryCodes: codes.length > 0, securityKeys: keys.length > 0 };
}

/**
 * Removes some of another user's second factors inside the caller's transaction, each with
 * its audit entry and a `factor_removed` alert the user sees. Run only as an approved
 * sensitive change (approvals/): nobody removes someone's factors on their own say-so. The
 * user's next sign-in enrolls what policy requires.
 */
export async function removeSecondFactors(trx: Db, actor: AuditActor, userId: string, factors: readonly SignInFactor[], now: number, context: Record<string, unknown>): Promise<Record<SignInFactor, number>> {
  const removed: Record<SignInFactor, number> = { totp: 0, recoveryCodes: 0, securityKeys: 0 };
  for (const factor of factors) {
    if (factor === 'totp') {
      const r = await trx.updateTable('users').set({ totp_secret_enc: null, totp_enrolled_at: null, totp_last_step: null })
        .where('id', '=', userId).where('totp_enrolled_at', 'is not', null).executeTakeFirst();
      removed.totp = Number(r.numUpdatedRows);
      await appendAudit(trx, actor, { action: 'mfa.reset', outcome: 'ok', targetType: 'user', targetId: userId, details: { wasEnrolled: removed.totp === 1, ...context } }, now);
    } else if (factor === 'recoveryCodes') {
      const r = await trx.deleteFrom('recovery_codes').where('user_id', '=', userId).executeTakeFirst();
      removed.recoveryCodes = Number(r.numDeletedRows);
      await appendAudit(trx, actor, { action: 'mfa.recovery_codes_remove', outcome: 'ok', targetType: 'user', targetId: userId, details: { removed: removed.recoveryCodes, ...context } }, now);
    } else {
      const r = await trx.deleteFrom('webauthn_credentials').where('user_id', '=', userId).executeTakeFirst();
      removed.securityKeys = Number(r.numDeletedRows);
      await appendAudit(trx, actor, { action: 'webauthn.remove_all', outcome: 'ok', targetType: 'user', targetId: userId, details: { removed: removed.securityKeys, ...context } }, now);
    }
  }
  await raiseSecurityAlert(trx, { userId, kind: 'factor_removed', details: { factors: [...factors], ...context }, actor }, now);
  return removed;
}
