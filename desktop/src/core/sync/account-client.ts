import {
  CeremonyStarted, PasswordChangeResult, RecoveryCodeSet, RecoveryCodesStatus, SecurityAlert, SecurityKey, SessionInfo, SignInRequest, UserDevice,
  type FactorChangeProof, type PasswordChange, type RecoveryCodesGenerate, type SecurityKeyRegistrationStart,
} from '@depotline/shared';
import { z } from 'zod';
import { authorizedCall, type AccessTokens } from './authorized';
import { RestTransport, segment, type RestMethod, type RestOptions } from './rest';

export type { AccessTokens } from './authorized';

const Sessions = z.object({ sessions: z.array(SessionInfo) });
const Devices = z.object({ devices: z.array(UserDevice) });
const Device = z.object({ device: UserDevice });
const Alerts = z.object({ alerts: z.array(SecurityAlert) });
const Requests = z.object({ requests: z.array(SignInRequest) });
const Request = z.object({ request: SignInRequest });
const Keys = z.object({ keys: z.array(SecurityKey) });
const Key = z.object({ key: SecurityKey });

/**
 * The signed-in user's own account over REST (docs/api.md): sessions, devices, sign-in alerts,
 * held sign-ins, recovery codes, password, security keys; and, for admins, a depot's alerts and
 * held sign-ins. Every call carries the session's
 * access token and nothing else of the session; every answer is parsed with its shared schema.
 * Calls that add or remove a factor carry the password in the same request, as the server
 * requires (ASVS 2.2.3); the client keeps none of it.
 */
export class AccountClient {
  readonly #rest: RestTransport;
  readonly #tokens: AccessTokens;

  constructor(serverUrl: URL, tokens: AccessTokens, options: RestOptions = {}) {
    this.#rest = new RestTransport(serverUrl, options);
    this.#tokens = tokens;
  }

  /* sessions and devices */

  async sessions(): Promise<SessionInfo[]> {
    return (await this.#json('GET', '/sessions', Sessions)).sessions;
  }

  revokeSession(sessionId: string): Promise<void> {
    return this.#empty('DELETE', `/sessions/${segment(sessionId)}`);
  }

  async devices(): Promise<UserDevice[]> {
    return (await this.#json('GET', '/me/devices', Devices)).devices;
  }

  async renameDevice(id: string, name: string): Promise<UserDevice> {
    return (await this.#json('PATCH', `/me/devices/${segment(id)}`, Device, { name })).device;
  }

  /** Its sessions end and, when it next reaches the server, it wipes its data. */
  revokeDevice(id: string): Promise<void> {
    return this.#empty('DELETE', `/me/devices/${segment(id)}`);
  }

  /* alerts and held sign-ins */

  async alerts(options: { unreadOnly?: boolean } = {}): Promise<SecurityAlert[]> {
    return (await this.#json('GET', options.unreadOnly ? '/me/alerts?unread=1' : '/me/alerts', Alerts)).alerts;
  }

  markAlertRead(id: string): Promise<void> {
    return this.#empty('POST', `/me/alerts/${segment(id)}/read`);
  }

  async signInRequests(): Promise<SignInRequest[]> {
    return (await this.#json('GET', '/me/sign-in-requests', Requests)).requests;
  }

  /** The user's own held sign-in from a trusted device, or (with `session.revokeAny`) another user's. */
  async decideSignIn(id: string, approve: boolean): Promise<SignInRequest> {
    return (await this.#json('POST', `/sign-in-requests/${segment(id)}/decision`, Request, { approve })).request;
  }

  /* a depot's users, for its admins (`security.read` there; the server answers 403 otherwise) */

  async locationAlerts(locationId: string): Promise<SecurityAlert[]> {
    return (await this.#json('GET', `/locations/${segment(locationId)}/alerts`, Alerts)).alerts;
  }

  async locationSignInRequests(locationId: string): Promise<SignInRequest[]> {
    return (await this.#json('GET', `/locations/${segment(locationId)}/sign-in-requests`, Requests)).requests;
  }

  /* recovery codes and password */

  recoveryCodes(): Promise<RecoveryCodesStatus> {
    return this.#json('GET', '/me/recovery-codes', RecoveryCodesStatus);
  }

  /** Ten new codes, shown once: the server keeps only keyed hashes; the old set stops working. */
  regenerateRecoveryCodes(body: RecoveryCodesGenerate): Promise<RecoveryCodeSet> {
    return this.#json('POST', '/me/recovery-codes', RecoveryCodeSet, body);
  }

  changePassword(body: PasswordChange): Promise<PasswordChangeResult> {
    return this.#json('POST', '/me/password', PasswordChangeResult, body);
  }

  /* security keys */

  async securityKeys(): Promise<SecurityKey[]> {
    return (await this.#json('GET', '/security-keys', Keys)).keys;
  }

  async renameSecurityKey(id: string, name: string): Promise<SecurityKey> {
    return (await this.#json('PATCH', `/security-keys/${segment(id)}`, Key, { name })).key;
  }

  removeSecurityKey(id: string, proof: FactorChangeProof): Promise<void> {
    return this.#empty('DELETE', `/security-keys/${segment(id)}`, proof);
  }

  /** Opens a registration ceremony; the key is made on the server's page, in a browser. */
  startKeyRegistration(body: SecurityKeyRegistrationStart): Promise<CeremonyStarted> {
    return this.#json('POST', '/security-keys/registrations', CeremonyStarted, body);
  }

  /* transport */

  #json<S extends z.ZodType>(method: RestMethod, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    return authorizedCall(this.#tokens, (accessToken) => this.#rest.json(method, `/api/v1${path}`, schema, { accessToken, ...(body !== undefined ? { body } : {}) }));
  }

  #empty(method: RestMethod, path: string, body?: unknown): Promise<void> {
    return authorizedCall(this.#tokens, (accessToken) => this.#rest.empty(method, `/api/v1${path}`, { accessToken, ...(body !== undefined ? { body } : {}) }));
  }
}
