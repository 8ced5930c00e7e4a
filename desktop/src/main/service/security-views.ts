import type {
  AlertView, DeviceView, SecurityAlert, SecurityKey, SecurityKeyView, SessionInfo, SessionView, SignInRequest, SignInRequestView, UserAlertView,
  UserDevice, UserSignInRequestView,
} from '@depotline/shared';

/*
 * The Security screen's views of what the server answers. Each picks the fields the screen
 * draws, by name: the bridge's result schemas would drop the rest anyway, and picking here
 * keeps a user id or device id out of the answer even before that.
 */

export const toDeviceView = (d: UserDevice): DeviceView => ({
  id: d.id, name: d.name, platform: d.platform, firstSeenAt: d.firstSeenAt, lastSeenAt: d.lastSeenAt, lastIp: d.lastIp,
  trusted: d.trusted, revokedAt: d.revokedAt, current: d.current,
});

export const toSessionView = (s: SessionInfo): SessionView => ({
  id: s.id, deviceName: s.deviceName, ip: s.ip, createdAt: s.createdAt, lastSeenAt: s.lastSeenAt, expiresAt: s.expiresAt, current: s.current,
});

export const toKeyView = (k: SecurityKey): SecurityKeyView => ({
  id: k.id, name: k.name, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt, backedUp: k.backedUp,
});

/** Alert details are free-form on the server; only the one number the screen words is taken. */
export function toAlertView(a: SecurityAlert): AlertView {
  const remaining = a.details['remaining'];
  return {
    id: a.id, kind: a.kind, at: a.at, readAt: a.readAt, ip: a.ip,
    remainingCodes: typeof remaining === 'number' && Number.isInteger(remaining) && remaining >= 0 ? remaining : null,
  };
}

export const toRequestView = (r: SignInRequest): SignInRequestView => ({
  id: r.id, deviceName: r.deviceName, platform: r.platform, ip: r.ip, requestedAt: r.requestedAt, expiresAt: r.expiresAt, status: r.status,
});

/** For a depot's admin: whose alert, and no alert id (an admin cannot act on another user's alert). */
export function toUserAlertView(a: SecurityAlert): UserAlertView {
  const view = toAlertView(a);
  return { kind: view.kind, at: view.at, readAt: view.readAt, ip: view.ip, remainingCodes: view.remainingCodes, username: a.username };
}

/** For a depot's admin: whose sign-in; the request id stays, since deciding needs it, the user id does not. */
export const toUserRequestView = (r: SignInRequest): UserSignInRequestView => ({ ...toRequestView(r), username: r.username });

/** Newest first, the current one on top: the order the screen lists sessions and devices. */
export function currentFirst<T extends { current: boolean; lastSeenAt: number }>(list: T[]): T[] {
  return [...list].sort((a, b) => Number(b.current) - Number(a.current) || b.lastSeenAt - a.lastSeenAt);
}
