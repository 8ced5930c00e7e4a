import {
  LoginRequest, MfaAddConfirm, MfaAddStart, MfaEnrollConfirm, RefreshRequest, SignInPoll, type SignInPollResponse, type LoginResponse, type Me, type MfaEnrollment, type SessionTokens,
} from '@depotline/shared';
import { holdForApproval, pollSignInRequest } from '../../auth/device-approval';
import { failureBucketOf, buildMe, completeSignIn, login, recordSignInFailure } from '../../auth/login';
import { holdForPasswordChange } from '../../auth/password-change-token';
import { sessionBucketOf } from '../../auth/reauthentication';
import { proveFactorChange } from '../../auth/security-keys';
import { refreshSession, revokeSession } from '../../auth/sessions';
import { type LoginThrottle } from '../../auth/throttle';
import { conflict, mfaInvalid, notFound, unauthenticated } from '../../errors';
import { beginTotpEnrollment, confirmTotpEnrollment, findUserById } from '../../users/users';
import { type Endpoint, endpoint, publicEndpoint } from '../endpoint';

/** Sign-in, MFA enrollment, token refresh, sign-out and the caller's own account (docs/api.md). */
/** `throttle` is shared with every other endpoint that checks a password before a session exists. */
export function authEndpoints(throttle: LoginThrottle): Endpoint[] {
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
        await throttle.consumeAttempt(ctx.rateLimits, ip);
        const device = { deviceId: body.deviceId, deviceSecret: body.deviceSecret, deviceName: body.deviceName ?? null, platform: body.platform ?? null, ip };
        const user = await confirmTotpEnrollment(ctx, body, { deviceId: body.deviceId, ip, binding: { purpose: 'sign_in', deviceId: body.deviceId } }, async (u) => {
          const { bucket } = await failureBucketOf(ctx.db, u, device);
          await recordSignInFailure(ctx, u, bucket, { userId: u.id, label: u.username, deviceId: body.deviceId, ip }, 'mfa_invalid', mfaInvalid());
        });
        // A reset password must still be changed before any session, enrollment or not.
        const held = await holdForPasswordChange(ctx, user, device, { method: 'password+totp_enrollment', totpStep: null });
        if (held) return held;
        const waiting = await holdForApproval(ctx, user, device, { method: 'password+totp_enrollment', totpStep: null });
        if (waiting) return waiting;
        return completeSignIn(ctx, user, device, { method: 'password+totp_enrollment', totpStep: null });
      },
    }),
    /** The held device asks whether its sign-in was approved; the first poll after approval gets the session. */
    publicEndpoint({
      method: 'post',
      path: '/auth/sign-in-requests/poll',
      body: SignInPoll,
      handle: async ({ ctx, input: { body }, ip }): Promise<SignInPollResponse> => {
        await throttle.consumeAttempt(ctx.rateLimits, ip);
        return pollSignInRequest(ctx, body, async (userId, method) => {
          const user = await findUserById(ctx, userId);
          if (!user || user.disabled_at !== null) throw unauthenticated('The sign-in request is not valid; sign in again.');
          return completeSignIn(ctx, user, { deviceId: body.deviceId, deviceSecret: body.deviceSecret, deviceName: null, ip }, { method, totpStep: null });
        });
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
    /**
     * A signed-in user sets up an authenticator although their roles do not require one. The
     * password is asked again here (a stolen access token alone cannot add a factor), wrong ones
     * count like failed sign-ins, and the enrollment can be confirmed only by this session.
     */
    endpoint({
      method: 'post',
      path: '/auth/mfa/enroll',
      body: MfaAddStart,
      handle: async ({ ctx, caller: { principal, actor }, input: { body }, now, audit }): Promise<MfaEnrollment> => {
        // Password plus the current factor, if the user has a security key (a TOTP user cannot
        // enroll a second app); wrong answers count in the session's device bucket.
        const user = await findUserById(ctx, principal.userId);
        if (user?.totp_enrolled_at != null) throw conflict('An authenticator is already set up; ask an administrator to reset it first.');
        await proveFactorChange(ctx, principal, actor, body, now);
        const enrollment = await beginTotpEnrollment(ctx, principal.userId, { purpose: 'add_factor', sessionId: principal.sessionId });
        audit({ action: 'mfa.enroll_start', outcome: 'ok', targetType: 'user', targetId: principal.userId, details: { purpose: 'add_factor' } });
        return enrollment;
      },
    }),
    /** Confirms an authenticator added while signed in. No session is opened: the caller has one. */
    endpoint({
      method: 'post',
      path: '/auth/mfa/enroll/confirm',
      body: MfaAddConfirm,
      handle: async ({ ctx, caller: { principal, actor }, input: { body }, ip }): Promise<Me> => {
        const user = await confirmTotpEnrollment(ctx, body, { deviceId: principal.deviceId, ip, binding: { purpose: 'add_factor', sessionId: principal.sessionId } }, async (u) => {
          await recordSignInFailure(ctx, u, await sessionBucketOf(ctx, u, principal), actor, 'mfa_invalid', mfaInvalid());
        });
        const me = await buildMe(ctx, user, principal.sessionId);
        if (!me) throw notFound('The user');
        return me;
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
