import {
  AuthenticationResponseJson, type CeremonyOptions, type CeremonyPurpose, type CeremonyStatus, RegistrationResponseJson,
} from '@depotline/shared';
import type { ServerContext } from '../context';
import { conflict, notFound, parseInput } from '../errors';
import { findCeremony, pollTokenMatches, readPayload, settleCeremony, type CeremonyRow } from './webauthn-ceremonies';
import { finishKeyRegistration, presentKey } from './webauthn';

/**
 * The relay between the ceremony page (on the server's origin, where the browser runs
 * WebAuthn) and the client that started the ceremony (RFC 8252's pattern: the app hands the
 * user to a browser and gets the result back, here by polling, with no custom URL scheme and no
 * loopback listener on the desktop).
 *
 * The page knows only the ceremony id, from its URL fragment; the client holds the poll token.
 * Every unknown, expired or spent ceremony is the same `not_found` to the page.
 */

async function pendingCeremony(ctx: ServerContext, ceremonyId: string, now: number): Promise<CeremonyRow> {
  const row = await findCeremony(ctx.db, ceremonyId);
  if (!row || row.state !== 'pending' || row.used_at !== null || row.expires_at <= now) throw notFound('The security key request');
  return row;
}

/** What the page passes to `startRegistration` / `startAuthentication`. */
export async function ceremonyOptions(ctx: ServerContext, ceremonyId: string, now: number): Promise<CeremonyOptions> {
  const row = await pendingCeremony(ctx, ceremonyId, now);
  const options = readPayload(row).options ?? {};
  return { purpose: row.purpose as CeremonyPurpose, options };
}

/**
 * The page's answer. A registration is verified and stored now (the user proved themselves when
 * starting it); an assertion is kept for the client to present, and is verified when presented,
 * against this ceremony's challenge, once.
 */
export async function answerCeremony(ctx: ServerContext, ceremonyId: string, response: unknown, ip: string | null, now: number): Promise<{ status: 'done' | 'answered' }> {
  const row = await pendingCeremony(ctx, ceremonyId, now);
  if (row.purpose === 'register') {
    await finishKeyRegistration(ctx, row, parseInput(RegistrationResponseJson, response), ip, now);
    return { status: 'done' };
  }
  const assertion = parseInput(AuthenticationResponseJson, response);
  if (!(await settleCeremony(ctx.db, row.id, 'answered', { ...readPayload(row), response: assertion }, now))) {
    throw conflict('This security key request was already answered.');
  }
  return { status: 'answered' };
}

/** What the starter learns. A wrong poll token is `not_found`, like an unknown ceremony. */
export async function pollCeremony(ctx: ServerContext, ceremonyId: string, pollToken: string, now: number): Promise<CeremonyStatus> {
  const row = await findCeremony(ctx.db, ceremonyId);
  if (!row || !pollTokenMatches(row, pollToken)) throw notFound('The security key request');
  const payload = readPayload(row);
  if (row.state === 'done') {
    const key = await ctx.db.selectFrom('webauthn_credentials').selectAll().where('id', '=', payload.credentialId ?? '').executeTakeFirst();
    return key ? { status: 'done', key: presentKey(key) } : { status: 'failed', reason: 'The key was removed.' };
  }
  if (row.state === 'failed') return { status: 'failed', reason: 'The security key could not be registered. Start again.' };
  if (row.used_at !== null) return { status: 'used' };
  if (row.expires_at <= now) return { status: 'expired' };
  if (row.state === 'answered') return { status: 'answered', response: parseInput(AuthenticationResponseJson, payload.response) };
  return { status: 'pending', expiresAt: Number(row.expires_at) };
}
