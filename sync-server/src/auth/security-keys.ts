import type { CeremonyStarted, FactorChangeProof, SecurityKey, WebauthnLoginStart } from '@depotline/shared';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import { conflict, invalidCredentials, notFound, webauthnRequired } from '../errors';
import { findUserByUsername, type UserRow } from '../users/users';
import { failureBucketOf, recordSignInFailure, refuseIfLocked } from './login';
import { verifyAgainstDummy, verifyPassword } from './passwords';
import type { Principal } from './principal';
import { reauthenticate } from './reauthentication';
import { raiseSecurityAlert } from './security-alerts';
import type { LoginThrottle } from './throttle';
import { securityKeyRequired } from './webauthn-policy';
import { hasSecurityKeys, presentKey, startAssertion, startKeyRegistration, verifyAssertion } from './webauthn';

/**
 * The account side of security keys: who may add or remove one (the password and an existing
 * factor in the same request, ASVS 2.2.3 / 3.7.1), renaming, and the password step before a
 * sign-in with a key. The sign-in branch and the policy are in webauthn-policy.ts.
 */

/**
 * The proof for changing factors, for the signed-in `principal`: the password, and then one
 * of the user's existing second factors (a TOTP code, or an assertion from a `step_up`
 * ceremony) when they have any. Wrong passwords and codes count like failed sign-ins
 * (reauthentication.ts). Returns the user.
 */
export async function proveFactorChange(ctx: ServerContext, principal: Principal, actor: AuditActor, proof: FactorChangeProof, now: number): Promise<UserRow> {
  const hasKeys = await hasSecurityKeys(ctx.db, principal.userId);
  if (proof.webauthn !== undefined) {
    if (!hasKeys) throw conflict('This account has no security key to confirm with.');
    const user = await reauthenticate(ctx, principal, actor, { password: proof.password }, { secondFactor: false });
    // Bound to the device of the session that started it, like the sign-in ceremony to its device.
    await verifyAssertion(ctx, proof.webauthn, { userId: user.id, purpose: 'step_up', actor, deviceId: principal.deviceId }, now);
    return user;
  }
  const totpFirst = proof.totp !== undefined;
  const user = await reauthenticate(ctx, principal, actor, { password: proof.password, totp: proof.totp }, { secondFactor: true });
  // With keys but no authenticator app, the existing factor is a key: ask for an assertion.
  if (hasKeys && !totpFirst && user.totp_enrolled_at === null) {
    throw webauthnRequired('Confirm with one of your security keys (start a step-up ceremony).');
  }
  return user;
}

export async function beginRegistration(ctx: ServerContext, principal: Principal, actor: AuditActor, body: FactorChangeProof & { name: string }, now: number): Promise<CeremonyStarted> {
  const user = await proveFactorChange(ctx, principal, actor, body, now);
  const started = await startKeyRegistration(ctx, user, body.name, principal.sessionId, now);
  await ctx.db.transaction().execute((trx) =>
    appendAudit(trx, actor, { action: 'webauthn.register_start', outcome: 'ok', targetType: 'user', targetId: user.id, details: { name: body.name } }, now));
  return started;
}

/** A step-up ceremony, for a user whose existing factor is a key: needs the password first. */
export async function beginStepUp(ctx: ServerContext, principal: Principal, actor: AuditActor, password: string, now: number): Promise<CeremonyStarted> {
  const user = await reauthenticate(ctx, principal, actor, { password }, { secondFactor: false });
  return startAssertion(ctx, user.id, 'step_up', principal.deviceId, now);
}

export async function renameKey(ctx: ServerContext, principal: Principal, actor: AuditActor, keyId: string, name: string, now: number): Promise<SecurityKey> {
  return ctx.db.transaction().execute(async (trx) => {
    const r = await trx.updateTable('webauthn_credentials').set({ name }).where('id', '=', keyId).where('user_id', '=', principal.userId).executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) throw notFound('The security key');
    await appendAudit(trx, actor, { action: 'webauthn.rename', outcome: 'ok', targetType: 'security_key', targetId: keyId, details: { name } }, now);
    return presentKey(await trx.selectFrom('webauthn_credentials').selectAll().where('id', '=', keyId).executeTakeFirstOrThrow());
  });
}

/**
 * Removes one of the caller's keys after the same proof as adding one. A user whose role must
 * use a key cannot remove their last one: they would be left with a factor the policy refuses.
 */
export async function removeKey(ctx: ServerContext, principal: Principal, actor: AuditActor, keyId: string, proof: FactorChangeProof, now: number): Promise<void> {
  const owned = await ctx.db.selectFrom('webauthn_credentials').select(['id', 'name']).where('id', '=', keyId).where('user_id', '=', principal.userId).executeTakeFirst();
  if (!owned) throw notFound('The security key');
  await proveFactorChange(ctx, principal, actor, proof, now);
  await ctx.db.transaction().execute(async (trx) => {
    const count = await trx.selectFrom('webauthn_credentials').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', principal.userId).executeTakeFirstOrThrow();
    if (Number(count.n) <= 1 && (await securityKeyRequired(ctx, principal.userId, now))) {
      throw conflict('Your role requires a security key: register another one before removing this one.');
    }
    const r = await trx.deleteFrom('webauthn_credentials').where('id', '=', keyId).where('user_id', '=', principal.userId).executeTakeFirst();
    if (Number(r.numDeletedRows) !== 1) throw notFound('The security key');
    await appendAudit(trx, actor, { action: 'webauthn.remove', outcome: 'ok', targetType: 'security_key', targetId: keyId, details: { name: owned.name } }, now);
    await raiseSecurityAlert(trx, { userId: principal.userId, kind: 'factor_removed', details: { factor: 'security_key', name: owned.name }, actor }, now);
  });
}

/**
 * Sign-in with a key, step one: the password opens a `login` ceremony bound to the user and the
 * device. Everything before the ceremony is sign-in's own code (login.ts): the same lockout
 * buckets, the same failure counting, and for an unknown username the same argon2 cost, the
 * same counting and the same answer as a wrong password, so this endpoint tells a guesser no
 * more than POST /auth/login does.
 */
export async function beginLoginCeremony(ctx: ServerContext, throttle: LoginThrottle, input: WebauthnLoginStart, ip: string | null): Promise<CeremonyStarted> {
  await throttle.consumeAttempt(ctx.rateLimits, ip);
  const now = ctx.now();
  const user = await findUserByUsername(ctx, input.username);
  if (!user) {
    const actor: AuditActor = { userId: null, label: input.username.slice(0, 64), deviceId: input.deviceId, ip };
    await refuseIfLocked(ctx, await throttle.unknownUserState(ctx.rateLimits, input.username), actor, now);
    await verifyAgainstDummy(input.password);
    const next = await throttle.recordUnknownUserFailure(ctx.rateLimits, input.username, now);
    await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, {
      action: 'auth.login', outcome: 'failed', targetType: 'user', targetId: null, details: { reason: 'unknown_user', failedLogins: next.failedLogins, step: 'webauthn_options' },
    }, now));
    throw invalidCredentials();
  }
  const actor: AuditActor = { userId: user.id, label: user.username, deviceId: input.deviceId, ip };
  const { bucket, state } = await failureBucketOf(ctx.db, user, { deviceId: input.deviceId, deviceSecret: input.deviceSecret });
  await refuseIfLocked(ctx, state, actor, now);
  if (!(await verifyPassword(user.password_hash, input.password))) {
    throw await recordSignInFailure(ctx, user, bucket, actor, 'bad_password', invalidCredentials());
  }
  if (user.disabled_at !== null) {
    await ctx.db.transaction().execute((trx) => appendAudit(trx, actor, {
      action: 'auth.login', outcome: 'failed', targetType: 'user', targetId: user.id, details: { reason: 'disabled', step: 'webauthn_options' },
    }, now));
    throw invalidCredentials();
  }
  return startAssertion(ctx, user.id, 'login', input.deviceId, now);
}
