import {
  type LoginResponse, LoginRequest, type Me, MfaEnrollConfirm, type MfaEnrollment, RefreshRequest, type SessionInfo,
  type SessionTokens,
} from '@depotline/shared';
import { z } from 'zod';
import { appendAudit } from '../audit/audit-log';
import type { RouteModule } from '../http/app';
import { actorOf, clientIp, parseWith, requirePrincipal } from '../http/pipeline';
import { notFound, unauthenticated } from '../errors';
import { beginTotpEnrollment, confirmTotpEnrollment, findUserById } from '../users/users';
import { loadAccessProfile } from '../access/access-profile';
import { mayRevokeSessionsOf } from '../access/authorize';
import { buildMe, completeSignIn, login } from './login';
import { requireAuth } from './require-auth';
import { findSession, listSessions, refreshSession, revokeSession } from './sessions';
import { LoginThrottle } from './throttle';

export { requireAuth };

const SessionIdParam = z.string().min(1).max(64);

/**
 * Sign-in, MFA enrollment, token refresh, sign-out and the caller's own sessions
 * (ASVS 3.3.4: users can see and end their sessions).
 */
export const authRoutes: RouteModule = (router, ctx) => {
  const auth = requireAuth(ctx);
  const throttle = new LoginThrottle();

  router.post('/auth/login', async (req, res) => {
    const input = parseWith(LoginRequest, req.body);
    const body: LoginResponse = await login(ctx, throttle, input, clientIp(req));
    res.json(body);
  });

  router.post('/auth/mfa/confirm', async (req, res) => {
    const input = parseWith(MfaEnrollConfirm, req.body);
    const ip = clientIp(req);
    await throttle.consumeAttempt(ip);
    const user = await confirmTotpEnrollment(ctx, input, { deviceId: input.deviceId, ip });
    const body: LoginResponse = await completeSignIn(ctx, user, { deviceId: input.deviceId, deviceName: input.deviceName ?? null, ip }, {
      method: 'mfa_enrollment', totpStep: null,
    });
    res.json(body);
  });

  router.post('/auth/refresh', async (req, res) => {
    const input = parseWith(RefreshRequest, req.body);
    const body: SessionTokens = await refreshSession(ctx, input, clientIp(req));
    res.json(body);
  });

  router.post('/auth/logout', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    await revokeSession(ctx, actorOf(req, principal), principal.sessionId, 'logout');
    res.status(204).end();
  });

  /** A signed-in user sets up an authenticator although their roles do not require one. */
  router.post('/auth/mfa/enroll', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const body: MfaEnrollment = await beginTotpEnrollment(ctx, principal.userId);
    await ctx.db.transaction().execute((trx) =>
      appendAudit(trx, actorOf(req, principal), { action: 'mfa.enroll_start', outcome: 'ok', targetType: 'user', targetId: principal.userId }, ctx.now()));
    res.json(body);
  });

  router.get('/me', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const user = await findUserById(ctx, principal.userId);
    if (!user) throw unauthenticated();
    const body: Me = await buildMe(ctx, user, principal.sessionId);
    res.json(body);
  });

  router.get('/sessions', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const sessions: SessionInfo[] = await listSessions(ctx, principal.userId, principal.sessionId);
    res.json({ sessions });
  });

  /**
   * Ends one of the caller's sessions, or anyone's for holders of `session.revokeAny`. For
   * others, a session that exists and one that does not get the same 404 (OWASP API1), and
   * the attempt is audited as denied.
   */
  router.delete('/sessions/:sessionId', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const sessionId = parseWith(SessionIdParam, req.params.sessionId);
    const actor = actorOf(req, principal);
    const session = await findSession(ctx, sessionId);
    const own = session?.userId === principal.userId;
    const allowed = own || (session !== null && await mayRevokeSessionsOf(ctx.db, await loadAccessProfile(ctx.db, principal.userId, ctx.now()), session.userId, ctx.now()));
    if (!allowed) {
      await ctx.db.transaction().execute((trx) =>
        appendAudit(trx, actor, {
          action: 'session.revoke', outcome: 'denied', targetType: 'session', targetId: sessionId, details: { permission: 'session.revokeAny' },
        }, ctx.now()));
      throw notFound('The session');
    }
    if (!session) throw notFound('The session');
    await revokeSession(ctx, actor, sessionId, own ? 'revoked_by_user' : 'revoked_by_admin');
    res.status(204).end();
  });
};
