import { LoginRequest, MfaEnrollConfirm, RefreshRequest, type LoginResponse, type MfaEnrollment, type SessionTokens } from '@depotline/shared';
import { buildMe, completeSignIn, login } from '../../auth/login';
import { refreshSession, revokeSession } from '../../auth/sessions';
import { LoginThrottle } from '../../auth/throttle';
import { unauthenticated } from '../../errors';
import { beginTotpEnrollment, confirmTotpEnrollment, findUserById } from '../../users/users';
import { type Endpoint, endpoint, publicEndpoint } from '../endpoint';

/** Sign-in, MFA enrollment, token refresh, sign-out and the caller's own account (docs/api.md). */
export function authEndpoints(): Endpoint[] {
  const throttle = new LoginThrottle();
  return [
    publicEndpoint({
      method: 'post',
      path: '/auth/login',
      body: LoginRequest,
      handle: ({ ctx, input, ip }): Promise<LoginResponse> => login(ctx, throttle, input.body, ip),
    }),
    publicEndpoint({
      method: 'post',
      path: '/auth/mfa/confirm',
      body: MfaEnrollConfirm,
      handle: async ({ ctx, input: { body }, ip }): Promise<LoginResponse> => {
        await throttle.consumeAttempt(ip);
        const user = await confirmTotpEnrollment(ctx, body, { deviceId: body.deviceId, ip });
        return completeSignIn(ctx, user, { deviceId: body.deviceId, deviceName: body.deviceName ?? null, ip }, { method: 'mfa_enrollment', totpStep: null });
      },
    }),
    publicEndpoint({
      method: 'post',
      path: '/auth/refresh',
      body: RefreshRequest,
      handle: ({ ctx, input, ip }): Promise<SessionTokens> => refreshSession(ctx, input.body, ip),
    }),
    endpoint({
      method: 'post',
      path: '/auth/logout',
      status: 204,
      handle: ({ ctx, caller }) => revokeSession(ctx, caller.actor, caller.principal.sessionId, 'logout'),
    }),
    /** A signed-in user sets up an authenticator although their roles do not require one. */
    endpoint({
      method: 'post',
      path: '/auth/mfa/enroll',
      handle: async ({ ctx, caller: { principal }, audit }): Promise<MfaEnrollment> => {
        const body = await beginTotpEnrollment(ctx, principal.userId);
        audit({ action: 'mfa.enroll_start', outcome: 'ok', targetType: 'user', targetId: principal.userId });
        return body;
      },
    }),
    endpoint({
      method: 'get',
      path: '/me',
      handle: async ({ ctx, caller: { principal } }) => {
        const user = await findUserById(ctx, principal.userId);
        if (!user) throw unauthenticated();
        return buildMe(ctx, user, principal.sessionId);
      },
    }),
  ];
}
