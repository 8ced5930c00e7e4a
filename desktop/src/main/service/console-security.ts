import {
  MaxAdminAlerts, MaxAdminRequests,
  type BridgeArgs, type BridgeValue, type LocationSecurityView, type Permission, type SecurityNotices, type SecurityOverview, type SignInRequestView,
  type UserSignInRequestView,
} from '@depotline/shared';
import { ServerRequestError, type AccountClient } from '../../core';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { permissionsOf } from './console-views';
import {
  currentFirst, toAlertView, toDeviceView, toKeyView, toRequestView, toSessionView, toUserAlertView, toUserRequestView,
} from './security-views';
import { isServerPage } from './server-page';
import { makeVerifier, type UnlockVerifierVault } from './unlock-verifier';

export interface ConsoleSecurityOptions {
  /** The unlocked session; throws ConsoleError `locked` or `not_signed_in` otherwise. */
  session: () => ActiveSession;
  /** The configured server's origin: the only origin the console hands to the browser. */
  serverOrigin: string | null;
  /** Opens a URL in the system browser (Electron: shell.openExternal); absent where there is none. */
  openExternal: ((url: string) => Promise<void>) | undefined;
  verifiers: UnlockVerifierVault;
  /** A change on this screen counts as activity for the idle lock. */
  activity: () => void;
}

/**
 * The Security screen's calls: the signed-in user's devices, sessions, factors, alerts and
 * held sign-ins, asked of the server with this session's token (core/sync/account-client.ts).
 * Nothing here is kept on the device; every answer is fetched when asked for and mapped to the
 * bridge's views (security-views.ts). Like the data calls, each refuses while locked.
 */
export class ConsoleSecurity {
  readonly #o: ConsoleSecurityOptions;

  constructor(options: ConsoleSecurityOptions) {
    this.#o = options;
  }

  #account(): AccountClient {
    return this.#o.session().client.account;
  }

  async overview(): Promise<SecurityOverview> {
    const account = this.#account();
    const [sessions, devices, keys, recoveryCodes, alerts, signInRequests] = await Promise.all([
      account.sessions(),
      offered(account.devices()), offered(account.securityKeys()), offered(account.recoveryCodes()),
      offered(account.alerts()), offered(account.signInRequests()),
    ]);
    return {
      sessions: currentFirst(sessions.map(toSessionView)),
      devices: devices && currentFirst(devices.map(toDeviceView)),
      keys: keys && keys.map(toKeyView),
      recoveryCodes: recoveryCodes && { remaining: recoveryCodes.remaining, createdAt: recoveryCodes.createdAt },
      alerts: alerts && alerts.map(toAlertView),
      signInRequests: signInRequests && signInRequests.map(toRequestView),
      canRegisterKeys: this.#o.openExternal !== undefined && this.#o.serverOrigin !== null,
    };
  }

  /** What the console keeps on show until dealt with. Asked often, so a missing endpoint is just "nothing". */
  async notices(): Promise<SecurityNotices> {
    const account = this.#account();
    const [alerts, requests] = await Promise.all([offered(account.alerts({ unreadOnly: true })), offered(account.signInRequests())]);
    return {
      alerts: (alerts ?? []).filter((a) => a.readAt === null).map(toAlertView),
      signInRequests: (requests ?? []).filter((r) => r.status === 'pending').map(toRequestView),
    };
  }

  async renameDevice(args: BridgeArgs<'renameDevice'>): Promise<BridgeValue<'renameDevice'>> {
    return this.#done(toDeviceView(await this.#account().renameDevice(args.id, args.name)));
  }

  /** Not this computer: that is what signing out is for, and revoking it would wipe it mid-use. */
  async revokeDevice(args: BridgeArgs<'revokeDevice'>): Promise<null> {
    const account = this.#account();
    if ((await account.devices()).some((d) => d.id === args.id && d.current)) {
      throw new ConsoleError('bad_request', 'This is the computer you are using. Sign out instead.');
    }
    await account.revokeDevice(args.id);
    return this.#done(null);
  }

  async revokeSession(args: BridgeArgs<'revokeSession'>): Promise<null> {
    const account = this.#account();
    if ((await account.sessions()).some((s) => s.id === args.id && s.current)) {
      throw new ConsoleError('bad_request', 'This is the session you are using. Sign out instead.');
    }
    await account.revokeSession(args.id);
    return this.#done(null);
  }

  async markAlertRead(args: BridgeArgs<'markAlertRead'>): Promise<null> {
    await this.#account().markAlertRead(args.id);
    return this.#done(null);
  }

  async decideSignIn(args: BridgeArgs<'decideSignIn'>): Promise<SignInRequestView> {
    return this.#done(toRequestView(await this.#account().decideSignIn(args.id, args.approve)));
  }

  /** A depot's sign-in alerts and held sign-ins, for those who hold `security.read` there. */
  async locationSecurity(args: BridgeArgs<'locationSecurity'>): Promise<LocationSecurityView> {
    await this.#require(args.locationId, 'security.read');
    const account = this.#account();
    const [alerts, requests] = await Promise.all([account.locationAlerts(args.locationId), account.locationSignInRequests(args.locationId)]);
    // Both lists come newest first; beyond the contract's bounds the oldest are left off.
    return {
      alerts: alerts.slice(0, MaxAdminAlerts).map(toUserAlertView),
      signInRequests: requests.filter((r) => r.status === 'pending').slice(0, MaxAdminRequests).map(toUserRequestView),
    };
  }

  /**
   * An admin's decision on a user's held sign-in. The server allows it only to whoever holds
   * `session.revokeAny` at every depot of that user, and answers anyone else with the same 404
   * as for a request that does not exist (so a depot's admin learns nothing of other depots).
   * A request just listed and then decided or expired answers 409, so a 404 here is, in
   * practice, that missing authority: the admin is told so, not "no longer exists".
   */
  async decideUserSignIn(args: BridgeArgs<'decideUserSignIn'>): Promise<UserSignInRequestView> {
    await this.#require(args.locationId, 'session.revokeAny');
    try {
      return this.#done(toUserRequestView(await this.#account().decideSignIn(args.id, args.approve)));
    } catch (err) {
      if (err instanceof ServerRequestError && err.code === 'not_found') {
        throw new ConsoleError('forbidden', 'The server did not let you decide this sign-in: that user also works at a depot where you may not end sessions. An administrator of all their depots has to decide it.');
      }
      throw err;
    }
  }

  /**
   * The permission, at that depot, as this computer last synced it: the screen shows these
   * parts only to holders, and main refuses the call too rather than trust the page (the
   * server checks again).
   */
  async #require(locationId: string, permission: Permission): Promise<void> {
    const location = (await this.#o.session().store.locations()).find((l) => l.id === locationId);
    if (!location || !permissionsOf(location).has(permission)) throw new ConsoleError('forbidden', 'Your access at this depot does not allow that.');
  }

  /** The codes pass through once, to be shown once; nothing here keeps them. */
  async regenerateRecoveryCodes(args: BridgeArgs<'regenerateRecoveryCodes'>): Promise<BridgeValue<'regenerateRecoveryCodes'>> {
    const set = await this.#account().regenerateRecoveryCodes(proofOf(args));
    return this.#done({ codes: set.codes, createdAt: set.createdAt });
  }

  /**
   * The server first; then the unlock verifier on this computer follows the new password, so
   * unlocking and signing in offline take the new one, never the old.
   */
  async changePassword(args: BridgeArgs<'changePassword'>): Promise<BridgeValue<'changePassword'>> {
    const session = this.#o.session();
    const result = await session.client.account.changePassword({
      currentPassword: args.currentPassword, newPassword: args.newPassword,
      ...(args.keepOtherSessions !== undefined ? { keepOtherSessions: args.keepOtherSessions } : {}),
    });
    const verifier = await makeVerifier(args.newPassword, session.user);
    session.verifier = verifier;
    await this.#o.verifiers.set(session.profileId, verifier);
    return this.#done({ sessionsEnded: result.sessionsEnded });
  }

  async renameSecurityKey(args: BridgeArgs<'renameSecurityKey'>): Promise<BridgeValue<'renameSecurityKey'>> {
    return this.#done(toKeyView(await this.#account().renameSecurityKey(args.id, args.name)));
  }

  async removeSecurityKey(args: BridgeArgs<'removeSecurityKey'>): Promise<null> {
    await this.#account().removeSecurityKey(args.id, proofOf(args));
    return this.#done(null);
  }

  /**
   * Starts a key registration and opens the server's ceremony page in the system browser, only
   * if the page is on the configured server's origin (server-page.ts).
   */
  async registerSecurityKey(args: BridgeArgs<'registerSecurityKey'>): Promise<BridgeValue<'registerSecurityKey'>> {
    const open = this.#o.openExternal;
    if (!open || !this.#o.serverOrigin) throw new ConsoleError('forbidden', 'This console cannot open a browser. Add security keys from a computer that can.');
    const started = await this.#account().startKeyRegistration({ name: args.name, ...proofOf(args) });
    if (!isServerPage(started.ceremonyUrl, this.#o.serverOrigin)) {
      throw new ConsoleError('forbidden', `The server asked to open a page outside ${this.#o.serverOrigin}, so it was not opened. Ask IT to check the server's address settings.`);
    }
    await open(started.ceremonyUrl);
    return this.#done({ expiresAt: started.expiresAt });
  }

  #done<T>(value: T): T {
    this.#o.activity();
    return value;
  }
}

function proofOf(args: { password: string; totp?: string | undefined }): { password: string; totp?: string } {
  return { password: args.password, ...(args.totp ? { totp: args.totp } : {}) };
}

/** A part of the screen this server does not offer (its endpoint answers `not_found`) is null. */
async function offered<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof ServerRequestError && err.code === 'not_found') return null;
    throw err;
  }
}
