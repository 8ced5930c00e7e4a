import {
  type AuthenticatorTransportFuture, generateAuthenticationOptions, generateRegistrationOptions, verifyAuthenticationResponse, verifyRegistrationResponse,
} from '@simplewebauthn/server';
import type {
  CeremonyPurpose, CeremonyStarted, RegistrationResponseJson, SecurityKey, WebauthnProof,
} from '@depotline/shared';
import type { Selectable } from 'kysely';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import type { WebauthnRelyingParty } from '../config';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import type { Database } from '../db/schema';
import { conflict, webauthnInvalid } from '../errors';
import { raiseSecurityAlert } from './security-alerts';
import {
  type CeremonyRow, ceremonyTtlMs, createCeremony, findCeremony, pollTokenMatches, readPayload, settleCeremony, spendCeremony,
} from './webauthn-ceremonies';

/**
 * Security keys (WebAuthn / FIDO2) as a second factor, with @simplewebauthn/server doing the
 * W3C WebAuthn Level 3 verification steps (sections 7.1 and 7.2). What stays here is what the
 * library leaves to the relying party: which challenge belongs to which user and purpose (and
 * that it is used once), which credentials a user has, and what a signature counter that goes
 * backwards means. Refusals are audited with the precise reason; the client only learns
 * `webauthn_invalid`.
 */

export type CredentialRow = Selectable<Database['webauthn_credentials']>;

/** The configured relying party (config.ts); without one, security keys are unavailable. */
export function relyingParty(ctx: ServerContext): WebauthnRelyingParty {
  if (!ctx.config.webauthn) throw conflict('Security keys are not set up on this server: set WEBAUTHN_ORIGIN (and WEBAUTHN_RP_ID).');
  return ctx.config.webauthn;
}

/** Where the client sends the user: the server's own origin; the id in the fragment never reaches a server log. */
export const ceremonyUrl = (rp: WebauthnRelyingParty, ceremonyId: string) => `${rp.origin}/webauthn/ceremony#${ceremonyId}`;

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const transportsOf = (row: Pick<CredentialRow, 'transports'>) => JSON.parse(row.transports) as AuthenticatorTransportFuture[];

export function presentKey(row: CredentialRow): SecurityKey {
  return {
    id: row.id, name: row.name, createdAt: Number(row.created_at), lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    transports: transportsOf(row), backedUp: row.backed_up === 1,
  };
}

export async function listCredentials(db: Db, userId: string): Promise<CredentialRow[]> {
  return db.selectFrom('webauthn_credentials').selectAll().where('user_id', '=', userId).orderBy('created_at').orderBy('id').execute();
}

export async function hasSecurityKeys(db: Db, userId: string): Promise<boolean> {
  return (await db.selectFrom('webauthn_credentials').select('id').where('user_id', '=', userId).limit(1).executeTakeFirst()) !== undefined;
}

function started(rp: WebauthnRelyingParty, c: { ceremonyId: string; pollToken: string; expiresAt: number }): CeremonyStarted {
  return { ...c, ceremonyUrl: ceremonyUrl(rp, c.ceremonyId) };
}

/* ---------------------------------------------------------------------------- registration */

/**
 * Opens a registration ceremony for a user whose password (and existing factor) the caller has
 * just checked. The user handle is the opaque user id, never the username (L3 section 14.6.1);
 * the user's existing keys are excluded so one authenticator is not registered twice.
 */
export async function startKeyRegistration(
  ctx: ServerContext, user: { id: string; username: string; display_name: string }, name: string, sessionId: string, now: number,
): Promise<CeremonyStarted> {
  const rp = relyingParty(ctx);
  const existing = await listCredentials(ctx.db, user.id);
  const options = await generateRegistrationOptions({
    rpName: 'Depotline', rpID: rp.rpId, userName: user.username, userDisplayName: user.display_name,
    userID: new TextEncoder().encode(user.id),
    timeout: ceremonyTtlMs,
    // A second factor after the password: presence is enough, verification (PIN) is welcome.
    attestationType: 'none',
    authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
    excludeCredentials: existing.map((c) => ({ id: c.id, transports: transportsOf(c) })),
  });
  const c = await createCeremony(ctx.db, { userId: user.id, purpose: 'register', challenge: options.challenge, payload: { name, sessionId, options: { ...options } } }, now);
  return started(rp, c);
}

/**
 * The page's answer to a registration ceremony: verified at once (origin, RP id, challenge,
 * user presence: L3 section 7.1), then the key is stored and the user alerted, in one
 * transaction. The ceremony ends either way; a failed one must be started again.
 */
export async function finishKeyRegistration(ctx: ServerContext, row: CeremonyRow, response: RegistrationResponseJson, ip: string | null, now: number): Promise<SecurityKey> {
  const rp = relyingParty(ctx);
  const userId = row.user_id!;
  const user = await ctx.db.selectFrom('users').select(['username', 'disabled_at']).where('id', '=', userId).executeTakeFirstOrThrow();
  const actor: AuditActor = { userId, label: user.username, deviceId: null, ip };
  const payload = readPayload(row);
  // The user proved themselves in a session; if it ended meanwhile (signed out, revoked because
  // the token was stolen, expired) or the account was disabled, the ceremony dies with it.
  const session = await ctx.db.selectFrom('sessions').select(['revoked_at', 'expires_at'])
    .where('id', '=', payload.sessionId ?? '').where('user_id', '=', userId).executeTakeFirst();
  if (user.disabled_at !== null || !session || session.revoked_at !== null || session.expires_at <= now) {
    await refuse(ctx, actor, 'webauthn.register', userId, { reason: 'session_ended' }, () => settleCeremony(ctx.db, row.id, 'failed', { ...payload, reason: 'session_ended' }, now));
    throw webauthnInvalid('The sign-in that started this has ended. Sign in and start again.');
  }
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
  try {
    verified = await verifyRegistrationResponse({
      response, expectedChallenge: row.challenge, expectedOrigin: rp.origin, expectedRPID: rp.rpId, requireUserVerification: false,
    });
    if (!verified.verified || !verified.registrationInfo) throw new Error('not verified');
  } catch (err) {
    await refuse(ctx, actor, 'webauthn.register', userId, { reason: reasonOf(err) }, () => settleCeremony(ctx.db, row.id, 'failed', { ...payload, reason: 'verification' }, now));
    throw webauthnInvalid('The security key could not be registered. Start again.');
  }
  const info = verified.registrationInfo;
  const credential: CredentialRow = {
    id: info.credential.id, user_id: userId, public_key: b64url(info.credential.publicKey), sign_count: info.credential.counter,
    transports: JSON.stringify(info.credential.transports ?? response.response.transports ?? []), name: payload.name ?? 'Security key',
    aaguid: info.aaguid, backed_up: info.credentialBackedUp ? 1 : 0, created_at: now, last_used_at: null,
  };
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    // L3 section 7.1 step 26: a credential id registered to anyone already fails the ceremony.
    const taken = await trx.selectFrom('webauthn_credentials').select('id').where('id', '=', credential.id).executeTakeFirst();
    if (taken) return 'taken' as const;
    if (!(await settleCeremony(trx, row.id, 'done', { ...payload, credentialId: credential.id, options: undefined }, now))) return 'spent' as const;
    await trx.insertInto('webauthn_credentials').values(credential).execute();
    await appendAudit(trx, actor, { action: 'webauthn.register', outcome: 'ok', targetType: 'security_key', targetId: credential.id, details: { name: credential.name } }, now);
    await raiseSecurityAlert(trx, { userId, kind: 'factor_added', details: { factor: 'security_key', name: credential.name }, actor }, now);
    return 'ok' as const;
  });
  if (outcome !== 'ok') {
    await refuse(ctx, actor, 'webauthn.register', userId, { reason: outcome === 'taken' ? 'credential_already_registered' : 'ceremony_spent' },
      () => settleCeremony(ctx.db, row.id, 'failed', { ...payload, reason: outcome }, now));
    throw webauthnInvalid(outcome === 'taken' ? 'That security key is already registered.' : 'This ceremony has ended. Start again.');
  }
  return presentKey(credential);
}

/* -------------------------------------------------------------------------- authentication */

/** Opens an assertion ceremony (`login` or `step_up`) over the user's keys. */
export async function startAssertion(ctx: ServerContext, userId: string, purpose: Exclude<CeremonyPurpose, 'register'>, deviceId: string, now: number): Promise<CeremonyStarted> {
  const rp = relyingParty(ctx);
  const keys = await listCredentials(ctx.db, userId);
  if (keys.length === 0) throw conflict('This account has no security key.');
  const options = await generateAuthenticationOptions({
    rpID: rp.rpId, timeout: ceremonyTtlMs, userVerification: 'preferred',
    allowCredentials: keys.map((k) => ({ id: k.id, transports: transportsOf(k) })),
  });
  const c = await createCeremony(ctx.db, { userId, purpose, challenge: options.challenge, payload: { options: { ...options }, deviceId } }, now);
  return started(rp, c);
}

export interface AssertionContext {
  userId: string;
  purpose: Exclude<CeremonyPurpose, 'register'>;
  actor: AuditActor;
  /** The device the proof comes from, which must be the one that started the ceremony. */
  deviceId?: string;
}

/**
 * Verifies a presented assertion against its ceremony, once (L3 section 7.2). The ceremony is
 * spent before the signature is checked, so a replay or a second try with the same challenge
 * finds it spent whatever the first outcome. Returns the credential used.
 */
export async function verifyAssertion(ctx: ServerContext, proof: WebauthnProof, a: AssertionContext, now: number): Promise<CredentialRow> {
  const rp = relyingParty(ctx);
  const row = await findCeremony(ctx.db, proof.ceremonyId);
  const deny = async (reason: string, details: Record<string, unknown> = {}) => {
    await refuse(ctx, a.actor, 'webauthn.assert', a.userId, { reason, purpose: a.purpose, ...details });
    return webauthnInvalid();
  };
  // One answer for every mismatch: whose ceremony it is, or whether it exists, is not the client's to learn.
  if (!row || row.user_id !== a.userId || row.purpose !== a.purpose || !pollTokenMatches(row, proof.pollToken)) throw await deny('unknown_ceremony');
  if (a.deviceId !== undefined && readPayload(row).deviceId !== a.deviceId) throw await deny('other_device');
  if (row.used_at !== null) throw await deny('replayed', { ceremonyId: row.id });
  if (row.expires_at <= now) throw await deny('expired');
  if (!(await spendCeremony(ctx.db, row.id, now))) throw await deny('replayed', { ceremonyId: row.id });

  const cred = await ctx.db.selectFrom('webauthn_credentials').selectAll()
    .where('id', '=', proof.response.id).where('user_id', '=', a.userId).executeTakeFirst();
  if (!cred) throw await deny('unknown_credential');
  let info: Awaited<ReturnType<typeof verifyAuthenticationResponse>>['authenticationInfo'];
  try {
    const result = await verifyAuthenticationResponse({
      response: proof.response, expectedChallenge: row.challenge, expectedOrigin: rp.origin, expectedRPID: rp.rpId, requireUserVerification: false,
      // The counter is checked below, after the signature, so a clone is told apart from a forgery.
      credential: { id: cred.id, publicKey: Buffer.from(cred.public_key, 'base64url'), counter: 0, transports: transportsOf(cred) },
    });
    if (!result.verified) throw new Error('not verified');
    info = result.authenticationInfo;
  } catch (err) {
    throw await deny(reasonOf(err), { credentialId: cred.id });
  }

  // L3 section 7.2 step 22: when either count is non-zero, a count not above the stored one is
  // a sign that the authenticator may be cloned. We refuse the sign-in, record it and alert the
  // user and their admins; the key itself stays (which copy is genuine is for a person to decide).
  const stored = Number(cred.sign_count);
  if ((info.newCounter > 0 || stored > 0) && info.newCounter <= stored) {
    await ctx.db.transaction().execute(async (trx) => {
      await appendAudit(trx, a.actor, {
        action: 'webauthn.assert', outcome: 'denied', targetType: 'security_key', targetId: cred.id,
        details: { reason: 'sign_count_regressed', storedSignCount: stored, presentedSignCount: info.newCounter, purpose: a.purpose },
      }, now);
      await raiseSecurityAlert(trx, {
        userId: a.userId, kind: 'cloned_authenticator', actor: a.actor,
        details: { credentialId: cred.id, name: cred.name, storedSignCount: stored, presentedSignCount: info.newCounter },
      }, now);
    });
    throw webauthnInvalid();
  }
  // Conditional on the count read, so two racing assertions cannot both move it.
  const moved = await ctx.db.updateTable('webauthn_credentials')
    .set({ sign_count: info.newCounter, last_used_at: now, backed_up: info.credentialBackedUp ? 1 : 0 })
    .where('id', '=', cred.id).where('sign_count', '=', stored).executeTakeFirst();
  if (Number(moved.numUpdatedRows) !== 1) throw await deny('sign_count_race', { credentialId: cred.id });
  return cred;
}

/* ------------------------------------------------------------------------------ the audit */

function reasonOf(err: unknown): string {
  // The library's messages name the failed check (origin, RP id, challenge, signature); they
  // carry no secrets, and they are what an investigator needs. Bounded for the log.
  return (err instanceof Error ? err.message : 'unknown').slice(0, 200);
}

/** Records a refusal in its own transaction (the caller throws afterwards), with an optional state change. */
async function refuse(ctx: ServerContext, actor: AuditActor, action: string, userId: string, details: Record<string, unknown>, also?: () => Promise<unknown>): Promise<void> {
  await ctx.db.transaction().execute(async (trx) => {
    await appendAudit(trx, actor, { action, outcome: 'denied', targetType: 'user', targetId: userId, details }, ctx.now());
  });
  if (also) await also();
}
