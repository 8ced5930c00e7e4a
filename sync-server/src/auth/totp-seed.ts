import { appendAudit, type AuditActor } from '../audit/audit-log';
import { claimWithheldAlert, type WithheldRecord, withheldAlertDetails } from '../audit/withheld-values';
import type { ServerContext } from '../context';
import { mfaUnavailable } from '../errors';
import { readTotpSecret, type UserRow } from '../users/users';
import { raiseSecurityAlert } from './security-alerts';

/**
 * The user's TOTP seed for checking a code, or null when none is enrolled.
 *
 * A seed that does not decrypt (altered, or planted from another row, by someone with database
 * access) fails closed: no code can pass, so MFA is never bypassed, and the caller gets
 * `mfa_unavailable` (the user can still use a recovery code or a security key, or an admin
 * resets the authenticator). Each refusal is audited; the `value_withheld` alert (notice to the
 * user, `security.alert` entry) is raised once per window (audit/withheld-values.ts). Every
 * other user signs in as before.
 */
export async function readTotpSeed(ctx: ServerContext, user: Pick<UserRow, 'id' | 'totp_secret_enc' | 'totp_enrolled_at'>, actor: AuditActor, action: string): Promise<string | null> {
  const read = readTotpSecret(ctx, user);
  if (read === null) return null;
  if (read.ok) return read.value;
  const now = ctx.now();
  const record: WithheldRecord = { table: 'users', rowId: user.id, targetType: 'user', locationId: null, columns: { totp_secret: read.reason } };
  const alerted = await ctx.db.transaction().execute(async (trx) => {
    await appendAudit(trx, actor, { action, outcome: 'failed', targetType: 'user', targetId: user.id, details: { reason: 'mfa_seed_unreadable', cause: read.reason } }, now);
    if (!(await claimWithheldAlert(trx, record, now))) return false;
    await raiseSecurityAlert(trx, { userId: user.id, kind: 'value_withheld', details: withheldAlertDetails(record), actor }, now);
    return true;
  });
  if (alerted) ctx.log.error('a stored authenticator seed does not decrypt (altered in the database): its sign-ins are refused', { userId: user.id, cause: read.reason });
  throw mfaUnavailable();
}
