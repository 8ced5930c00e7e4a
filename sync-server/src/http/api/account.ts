import {
  type LoginResponse, PasswordChange, PasswordChangeComplete, type PasswordChangeResult, type RecoveryCodeSet,
  RecoveryCodesGenerate, type RecoveryCodesStatus,
} from '@depotline/shared';
import { changeOwnPassword } from '../../auth/password-change';
import { completeRequiredPasswordChange } from '../../auth/password-change-completion';
import { proveFactorChange } from '../../auth/security-keys';
import { recoveryCodesStatus, replaceRecoveryCodes } from '../../auth/recovery-codes';
import { LoginThrottle } from '../../auth/throttle';
import { type Endpoint, endpoint, publicEndpoint } from '../endpoint';

/**
 * The caller's own account: recovery codes and password change; and the public second half of
 * a sign-in held for a password change after an administrator's reset (docs/api.md).
 */
export function accountEndpoints(): Endpoint[] {
  // Completing a held sign-in costs two argon2id runs: limited per address like sign-in itself.
  const completions = new LoginThrottle({ name: 'password-completion' });
  return [
    endpoint({
      method: 'get',
      path: '/me/recovery-codes',
      handle: ({ ctx, caller: { principal } }): Promise<RecoveryCodesStatus> => recoveryCodesStatus(ctx.db, principal.userId),
    }),
    /**
     * A new set of ten codes, shown once; the old set stops working. The password and the current
     * second factor (a TOTP code, or a security-key step-up) are checked before anything is written.
     */
    endpoint({
      method: 'post',
      path: '/me/recovery-codes',
      body: RecoveryCodesGenerate,
      handle: async ({ ctx, caller: { principal, actor }, input: { body } }): Promise<RecoveryCodeSet> => {
        // The same proof as adding any factor: password, and the current second factor whatever it is.
        await proveFactorChange(ctx, principal, actor, body, ctx.now());
        return ctx.db.transaction().execute((trx) => replaceRecoveryCodes(ctx, trx, principal.userId, actor, ctx.now()));
      },
    }),
    endpoint({
      method: 'post',
      path: '/me/password',
      body: PasswordChange,
      handle: ({ ctx, caller: { principal, actor }, input: { body } }): Promise<PasswordChangeResult> => changeOwnPassword(ctx, principal, actor, body),
    }),
    publicEndpoint({
      method: 'post',
      path: '/auth/password/complete',
      body: PasswordChangeComplete,
      handle: async ({ ctx, input: { body }, ip }): Promise<LoginResponse> => {
        await completions.consumeAttempt(ctx.rateLimits, ip);
        return completeRequiredPasswordChange(ctx, body, ip);
      },
    }),
  ];
}
