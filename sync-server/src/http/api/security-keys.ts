import {
  CeremonyId, CeremonyPoll, CredentialId, FactorChangeProof, SecurityKeyRegistrationStart, SecurityKeyRename, WebauthnLoginStart, WebauthnStepUpStart,
  type CeremonyOptions, type CeremonyStarted, type CeremonyStatus, type SecurityKey,
} from '@depotline/shared';
import { z } from 'zod';
import { beginLoginCeremony, beginRegistration, beginStepUp, removeKey, renameKey } from '../../auth/security-keys';
import { LoginThrottle } from '../../auth/throttle';
import { listCredentials, presentKey } from '../../auth/webauthn';
import { answerCeremony, ceremonyOptions, pollCeremony } from '../../auth/webauthn-relay';
import { type Endpoint, endpoint, publicEndpoint } from '../endpoint';

const KeyParams = z.object({ keyId: CredentialId });
const CeremonyParams = z.object({ ceremonyId: CeremonyId });
/** The page posts whatever the browser produced; its shape is checked against the ceremony's purpose. */
const PageAnswer = z.object({ response: z.record(z.string(), z.unknown()) });

/**
 * Security keys (docs/api.md, "Security keys"; the design is in docs/security-model.md,
 * "Security keys and the relying party"). None of these opens a session: a key is added or
 * removed by a signed-in user who gave the password (and an existing factor) in the same
 * request, and a sign-in with a key still goes through POST /auth/login.
 */
export function securityKeyEndpoints(deps: { loginThrottle?: LoginThrottle } = {}): Endpoint[] {
  const throttle = deps.loginThrottle ?? new LoginThrottle();
  return [
    endpoint({
      method: 'get',
      path: '/security-keys',
      handle: async ({ ctx, caller: { principal } }): Promise<SecurityKey[]> => (await listCredentials(ctx.db, principal.userId)).map(presentKey),
      present: (keys) => ({ keys }),
    }),
    /** Adding a factor: the password and an existing factor in this same request (ASVS 2.2.3). */
    endpoint({
      method: 'post',
      path: '/security-keys/registrations',
      body: SecurityKeyRegistrationStart,
      status: 201,
      handle: ({ ctx, caller: { principal, actor }, input: { body }, now }): Promise<CeremonyStarted> => beginRegistration(ctx, principal, actor, body, now),
    }),
    /** For a user whose existing factor is a key: an assertion ceremony to prove it, after the password. */
    endpoint({
      method: 'post',
      path: '/security-keys/step-up',
      body: WebauthnStepUpStart,
      status: 201,
      handle: ({ ctx, caller: { principal, actor }, input: { body }, now }): Promise<CeremonyStarted> => beginStepUp(ctx, principal, actor, body.password, now),
    }),
    endpoint({
      method: 'patch',
      path: '/security-keys/:keyId',
      params: KeyParams,
      body: SecurityKeyRename,
      handle: ({ ctx, caller: { principal, actor }, input: { params, body }, now }): Promise<SecurityKey> => renameKey(ctx, principal, actor, params.keyId, body.name, now),
      present: (key) => ({ key }),
    }),
    /** Removing a factor needs the same proof as adding one. */
    endpoint({
      method: 'delete',
      path: '/security-keys/:keyId',
      params: KeyParams,
      body: FactorChangeProof,
      status: 204,
      handle: ({ ctx, caller: { principal, actor }, input: { params, body }, now }) => removeKey(ctx, principal, actor, params.keyId, body, now),
    }),
    /** Sign-in with a key, step one: the password opens a `login` ceremony (counted like a sign-in). */
    publicEndpoint({
      method: 'post',
      path: '/auth/webauthn/login',
      body: WebauthnLoginStart,
      status: 201,
      handle: ({ ctx, input: { body }, ip }): Promise<CeremonyStarted> => beginLoginCeremony(ctx, throttle, body, ip),
    }),
    /* The ceremony page's calls (same origin; it knows only the ceremony id). */
    publicEndpoint({
      method: 'get',
      path: '/webauthn/ceremonies/:ceremonyId',
      params: CeremonyParams,
      handle: ({ ctx, input: { params }, now }): Promise<CeremonyOptions> => ceremonyOptions(ctx, params.ceremonyId, now),
    }),
    publicEndpoint({
      method: 'post',
      path: '/webauthn/ceremonies/:ceremonyId/answer',
      params: CeremonyParams,
      body: PageAnswer,
      handle: ({ ctx, input: { params, body }, ip, now }) => answerCeremony(ctx, params.ceremonyId, body.response, ip, now),
    }),
    /** The starter's poll; POST so the poll token never sits in a URL. */
    publicEndpoint({
      method: 'post',
      path: '/webauthn/ceremonies/:ceremonyId/poll',
      params: CeremonyParams,
      body: CeremonyPoll,
      handle: ({ ctx, input: { params, body }, now }): Promise<CeremonyStatus> => pollCeremony(ctx, params.ceremonyId, body.pollToken, now),
    }),
  ];
}
