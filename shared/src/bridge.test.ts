import { describe, expect, it } from 'vitest';
import {
  BridgeError, bridgeCallNames, bridgeCalls, bridgeEvents, ConsoleNotice, ConsoleState, PositionView, StopDetailView, SignInArgs,
  StopStatus, SyncStatusView,
  type BridgeArgs, type BridgeCallName, type BridgeEventName, type BridgeEventPayload,
} from './index';

/** Arguments each call accepts; the type makes sure no call is left out. */
const validArgs: { [K in BridgeCallName]: BridgeArgs<K> } = {
  getState: {},
  signIn: { username: 'dora', password: 'pw' },
  signInWithSecurityKey: { username: 'dora', password: 'a long enough password' },
  confirmMfaEnrollment: { code: '123456' },
  backToSignIn: {},
  startOver: {},
  lock: {},
  unlock: { password: 'pw' },
  signOut: {},
  reportActivity: {},
  listLocations: {},
  queryBoard: { locationId: 'depot-north' },
  listStops: { locationId: 'depot-north', routeId: null },
  boardSummary: { locationId: 'depot-north', date: '2026-03-29' },
  stopDetail: { stopId: 's1' },
  setStopStatus: { stopId: 's1', to: 'delivered' },
  editStopNotes: { stopId: 's1', notes: 'back door' },
  revealStopPhone: { stopId: 's1' },
  listPositions: { locationId: 'depot-north' },
  routeMap: { locationId: 'depot-north', routeIds: ['route-1'] },
  syncStatus: {},
  syncNow: {},
  listRejected: {},
  dismissRejected: { id: '9b2f1c3e-4a5b-4c6d-8e7f-0123456789ab' },
  completePasswordChange: { newPassword: 'a new long password' },
  securityOverview: {},
  securityNotices: {},
  renameDevice: { id: 'd1', name: 'Front desk' },
  revokeDevice: { id: 'd1' },
  revokeSession: { id: 's1' },
  markAlertRead: { id: 'a1' },
  decideSignIn: { id: 'r1', approve: true },
  locationSecurity: { locationId: 'depot-north' },
  decideUserSignIn: { locationId: 'depot-north', id: 'r1', approve: false },
  regenerateRecoveryCodes: { password: 'pw', totp: '123456' },
  changePassword: { currentPassword: 'pw', newPassword: 'a new long password' },
  renameSecurityKey: { id: 'AAAA', name: 'Blue key' },
  removeSecurityKey: { id: 'AAAA', password: 'pw' },
  registerSecurityKey: { name: 'Blue key', password: 'pw', totp: '123456' },
  listGroups: { locationId: 'depot-north' },
  createGroup: {
    locationId: 'depot-north',
    group: { name: 'night-dispatch', description: '', permissions: ['location.read'], denials: ['stop.readPhone'], locationIds: ['depot-north'], mfaRequired: true, mustExpire: false },
  },
  updateGroup: {
    locationId: 'depot-north', id: 'g1', expectedVersion: 2, reason: 'night shift needs it',
    group: { name: 'night-dispatch', description: '', permissions: ['location.read'], denials: [], locationIds: ['depot-north'], mfaRequired: true, mustExpire: false },
  },
  retireGroup: { locationId: 'depot-north', id: 'g1' },
  locationAccess: { locationId: 'depot-north' },
  approvals: {},
  approvalNotices: {},
  decideApproval: { id: 'a1', approve: false, note: 'not this month' },
  withdrawApproval: { id: 'a1' },
  exportPreview: { locationId: 'depot-north', from: '2026-03-01', to: '2026-03-31', classes: ['operational'] },
  exportStops: { locationId: 'depot-north', from: '2026-03-01', to: '2026-03-31', classes: ['operational', 'customer'], format: 'xlsx' },
  downloadApprovedExport: { id: 'a1' },
  planDay: { locationId: 'depot-north', date: '2026-12-01' },
  routePlan: { routeId: 'r1' },
  createRoute: { locationId: 'depot-north', name: 'North 3', date: '2026-12-01' },
  updateRoute: { routeId: 'r1', name: 'North 3 (late)', date: '2026-12-02' },
  assignRoutes: { routeIds: ['r1', 'r2'], driverId: 'drv-1' },
  cancelRoute: { routeId: 'r1', reason: 'van broke down' },
  reorderStops: { routeId: 'r1', stopIds: ['s2', 's1'] },
  moveStops: { stopIds: ['s1'], toRouteId: 'r2' },
  cancelStops: { stopIds: ['s1', 's2'], reason: 'customer called' },
  stopOrder: { stopId: 's1' },
  createStop: { routeId: 'r1', order: { customerName: 'Ada', address: '1 Quay', window: { start: 1, end: 2 }, orderRef: 'ORD-1', parcelCount: 2 } },
  updateStop: { stopId: 's1', changes: { barcodes: ['PX-1'], minimumAge: 18 } },
  listFleet: { locationId: 'depot-north' },
  createDriver: { locationId: 'depot-north', name: 'Dana' },
  updateDriver: { driverId: 'drv-1', name: 'Dana W.' },
  retireDriver: { driverId: 'drv-1' },
  createVehicle: { locationId: 'depot-north', label: 'Van 7', plate: 'AB12 CDE' },
  updateVehicle: { vehicleId: 'veh-1', label: 'Van 7', plate: '' },
  retireVehicle: { vehicleId: 'veh-1' },
  importChooseFile: { locationId: 'depot-north' },
  importPreview: { locationId: 'depot-north', mapping: { orderRef: 'Order' }, date: '2026-12-01', currency: null, offset: 0, limit: 100 },
  importApply: { locationId: 'depot-north', mapping: { orderRef: 'Order' }, date: '2026-12-01', currency: 'EUR' },
  importProgress: {},
  importDiscard: {},
  listIntegrations: { locationId: 'depot-north' },
  createIntegration: {
    locationId: 'depot-north', name: 'acme-shop',
    integration: { kind: 'shop', contact: 'ops@acme.example', scopes: [{ locationId: 'depot-north', scopes: ['orders.write'] }], ipAllowlist: ['203.0.113.0/24'], autoSuspend: false },
  },
  updateIntegration: {
    locationId: 'depot-north', integrationId: 'i1', expectedVersion: 1,
    integration: { kind: 'courier', contact: 'Kim', scopes: [{ locationId: 'depot-north', scopes: ['status.read'] }], ipAllowlist: [], autoSuspend: true },
  },
  setIntegrationProfile: { locationId: 'depot-north', integrationId: 'i1', expectedVersion: 1, profile: ['orderRef', 'phone'], reason: 'SMS partner' },
  setIntegrationSuspended: { locationId: 'depot-north', integrationId: 'i1', suspended: true, reason: 'leaked key' },
  integrationKeys: { locationId: 'depot-north', integrationId: 'i1' },
  createIntegrationKey: { locationId: 'depot-north', integrationId: 'i1', name: 'prod', scopes: ['orders.write'], expiresAt: 2 },
  rotateIntegrationKey: { locationId: 'depot-north', integrationId: 'i1', keyId: 'k1', oldEndsAt: 1, expiresAt: 2 },
  revokeIntegrationKey: { locationId: 'depot-north', integrationId: 'i1', keyId: 'k1' },
  integrationOAuthClients: { locationId: 'depot-north', integrationId: 'i1' },
  createOAuthClient: { locationId: 'depot-north', integrationId: 'i1', name: 'erp', scopes: ['status.read'], expiresAt: 2 },
  rotateOAuthClientSecret: { locationId: 'depot-north', integrationId: 'i1', clientId: 'dlc_AbCdEfGh12345678', oldEndsAt: 1 },
  revokeOAuthClient: { locationId: 'depot-north', integrationId: 'i1', clientId: 'dlc_AbCdEfGh12345678' },
  integrationWebhooks: { locationId: 'depot-north', integrationId: 'i1' },
  createWebhook: { locationId: 'depot-north', integrationId: 'i1', url: 'https://hooks.acme.example/depotline', events: ['stop.delivered'] },
  setWebhookPaused: { locationId: 'depot-north', integrationId: 'i1', webhookId: 'w1', paused: true },
  updateWebhookEvents: { locationId: 'depot-north', integrationId: 'i1', webhookId: 'w1', events: ['stop.failed'] },
  rotateWebhookSecret: { locationId: 'depot-north', integrationId: 'i1', webhookId: 'w1' },
  deleteWebhook: { locationId: 'depot-north', integrationId: 'i1', webhookId: 'w1' },
  integrationActivity: { locationId: 'depot-north', integrationId: 'i1' },
  stopTrackingLinks: { stopId: 's1' },
  createTrackingLink: { stopId: 's1' },
  revokeTrackingLink: { linkId: '0b5e4f3c-8c1a-4d2e-9f3a-2b1c0d9e8f7a' },
  stopProofs: { stopId: 's1' },
  proofFile: { stopId: 's1', proofId: 'p1' },
  exportProofBundle: { stopId: 's1' },
  requestProofDeletion: { proofId: 'p1', reason: 'customer asked for erasure' },
  privacyRequests: { locationId: 'depot-north' },
  createPrivacyRequest: { locationId: 'depot-north', request: { kind: 'erasure', law: 'gdpr', subject: { phone: '+44 7700 900123' } } },
  closePrivacyRequest: { locationId: 'depot-north', requestId: 'pr1', reason: 'completed' },
  exportPrivacyAccess: { locationId: 'depot-north', requestId: 'pr1' },
  erasePrivacyRequest: { locationId: 'depot-north', requestId: 'pr1', confirm: true },
  rectifyPrivacyRequest: { locationId: 'depot-north', requestId: 'pr1', changes: { address: '1 New Street' } },
  searchCustomer: { locationId: 'depot-north', customer: { email: 'kim@example.com' } },
  recordCustomerConsent: { locationId: 'depot-north', customer: { email: 'kim@example.com' }, purpose: 'trackingSms', granted: false, source: 'phone' },
  setCustomerSharing: { locationId: 'depot-north', customer: { email: 'kim@example.com' }, doNotSell: true },
  depotRetention: { locationId: 'depot-north' },
  setDepotRetention: { locationId: 'depot-north', class: 'contact', days: 60 },
  legalHolds: { locationId: 'depot-north' },
  placeLegalHold: { locationId: 'depot-north', target: { scope: 'location' }, reason: 'claim pending', owner: 'Legal' },
  releaseLegalHold: { locationId: 'depot-north', holdId: 'h1', reason: 'claim settled' },
};

/** A payload of each pushed event; the type makes sure no event is left out. */
const validPayloads: { [E in BridgeEventName]: BridgeEventPayload<E> } = {
  state: { screen: 'locked', user: { id: 'u1', username: 'dora', displayName: 'Dora' }, reason: 'idle' },
  syncStatus: { connection: 'live', pendingCount: 2, lastSyncAt: 1, lastError: { name: 'ServerUnreachableError', message: 'down' } },
  dataChanged: { locationIds: ['depot-north'], data: true, outbox: false, rejected: false, locations: false },
  notice: { kind: 'location_removed', locationId: 'depot-north', locationName: null, reason: 'grant_revoked', discardedEdits: 0 },
};

describe('bridge contract', () => {
  it('every call takes its valid arguments, and refuses them with one undeclared field more', () => {
    for (const name of bridgeCallNames) {
      const args = bridgeCalls[name].args;
      expect(args.safeParse(validArgs[name]).success, name).toBe(true);
      expect(args.safeParse({ ...validArgs[name], isAdmin: true }).success, name).toBe(false);
    }
  });

  it('arguments are strict: unknown fields are refused, not ignored', () => {
    expect(SignInArgs.safeParse({ username: 'dora', password: 'pw' }).success).toBe(true);
    expect(SignInArgs.safeParse({ username: 'dora', password: 'pw', isAdmin: true }).success).toBe(false);
    expect(SignInArgs.safeParse({ username: 'dora', password: 'pw', totp: '12345' }).success).toBe(false);
    expect(bridgeCalls.lock.args.safeParse({ force: true }).success).toBe(false);
    expect(bridgeCalls.listStops.args.safeParse({ locationId: '../etc', routeId: null }).success).toBe(false);
  });

  it('arguments outside their bounds are refused before any handler runs', () => {
    const refused: [BridgeCallName, unknown][] = [
      ['signIn', { username: '   ', password: 'pw' }],
      ['signIn', { username: 'd'.repeat(257), password: 'pw' }],
      ['signIn', { username: 'dora', password: '' }],
      ['signIn', { username: 'dora', password: 'p'.repeat(257) }],
      ['confirmMfaEnrollment', { code: '12345a' }],
      ['unlock', {}],
      ['queryBoard', { locationId: 'depot-north', limit: 0 }],
      ['queryBoard', { locationId: 'depot-north', limit: 5001 }],
      ['queryBoard', { locationId: 'depot-north', statuses: ['planned', 'lost'] }],
      ['queryBoard', { locationId: 'depot-north', statuses: [...StopStatus.options, 'planned'] }],
      ['queryBoard', { locationId: 'depot-north', date: '2024-1-5' }],
      ['listStops', { locationId: 'depot-north' }],
      ['stopDetail', { stopId: 'a/b' }],
      ['setStopStatus', { stopId: 's1', to: 'teleported' }],
      ['setStopStatus', { stopId: 's1', to: 'delivered', reason: 'r'.repeat(501) }],
      ['editStopNotes', { stopId: 's1', notes: 'n'.repeat(2001) }],
      ['dismissRejected', { id: 'not-a-uuid' }],
    ];
    for (const [name, args] of refused) {
      expect(bridgeCalls[name].args.safeParse(args).success, `${name} ${JSON.stringify(args).slice(0, 80)}`).toBe(false);
    }
  });

  it('a username reaches the handler trimmed', () => {
    expect(SignInArgs.parse({ username: '  dora ', password: 'pw' }).username).toBe('dora');
  });

  it('results carry only declared fields: anything else is dropped on the way out', () => {
    const state = ConsoleState.parse({ screen: 'console', user: { id: 'u1', username: 'dora', displayName: 'Dora', refreshToken: 'x' }, idleLockMs: 1, accessToken: 'y' });
    expect(JSON.stringify(state)).not.toMatch(/refreshToken|accessToken/);
    const detail = StopDetailView.parse({
      stop: { id: 's1', locationId: 'a', routeId: 'r', sequence: 0, window: { start: 1, end: 2 }, status: 'planned', eta: null, updatedAt: 1, updatedBy: null, secret: 'k', phone: '+49 30 1234567',
        orderRef: null, parcelCount: 1, barcodes: [], minimumAge: null, idCheck: false, failureReason: null, email: 'a@example.com' },
      routeName: null, driverName: null, allowedTransitions: [], notesVisible: false, canEditNotes: false, pendingEdits: 0,
      pseudonymised: false, held: false,
    });
    expect('secret' in detail.stop).toBe(false);
    expect('phone' in detail.stop).toBe(false); // a phone number crosses only through revealStopPhone
    expect('email' in detail.stop).toBe(false); // and so does an email address
    expect(ConsoleState.safeParse({ screen: 'debug' }).success).toBe(false);
  });

  it('the Security screen\'s answers drop what the server sends beyond them (poll tokens, device secrets, user ids)', () => {
    const overview = bridgeCalls.securityOverview.result.parse({
      devices: [{ id: 'd1', userId: 'u1', deviceId: 'dev-1', secretHash: 'h', name: null, platform: 'linux', firstSeenAt: 1, lastSeenAt: 2, lastIp: null, trusted: true, revokedAt: null, current: true }],
      sessions: [{ id: 's1', userId: 'u1', deviceId: 'dev-1', deviceName: null, ip: null, createdAt: 1, lastSeenAt: 2, expiresAt: 3, current: true, refreshToken: 'r' }],
      keys: null, recoveryCodes: { remaining: 10, createdAt: 1 }, alerts: [],
      signInRequests: [{ id: 'r1', userId: 'u1', username: 'dora', pollToken: 'p', deviceName: null, platform: null, ip: null, requestedAt: 1, expiresAt: 2, status: 'pending' }],
      canRegisterKeys: false,
    });
    expect(JSON.stringify(overview)).not.toMatch(/secretHash|refreshToken|pollToken|userId|dev-1/);
    expect(bridgeCalls.regenerateRecoveryCodes.result.safeParse({ codes: ['abcd-efgh-jkmn'], createdAt: 1 }).success).toBe(false);
  });

  it('an error in the sync status crosses as name and message only, never its stack', () => {
    const status = SyncStatusView.parse({
      connection: 'offline', pendingCount: 0, lastSyncAt: null,
      lastError: { name: 'ServerRequestError', message: 'refused', stack: 'at /home/dora/.config/depotline/…', cause: { token: 't' } },
    });
    expect(status.lastError).toEqual({ name: 'ServerRequestError', message: 'refused' });
  });

  it('every pushed event drops undeclared fields of its payload', () => {
    for (const event of Object.keys(bridgeEvents) as BridgeEventName[]) {
      const parsed: unknown = bridgeEvents[event].parse({ ...validPayloads[event], accessToken: 'y' });
      expect(JSON.stringify(parsed), event).not.toContain('accessToken');
    }
  });

  it('results outside the contract are refused, so main answers an error instead of passing them on', () => {
    expect(BridgeError.safeParse({ code: 'stack_trace', message: 'x' }).success).toBe(false);
    expect(BridgeError.safeParse({ code: 'internal', message: 'm'.repeat(2001) }).success).toBe(false);
    expect(BridgeError.safeParse({ code: 'rate_limited', message: 'wait', retryAfterS: -1 }).success).toBe(false);
    expect(ConsoleState.safeParse({ screen: 'console', user: { id: 'u1', username: 'dora', displayName: 'Dora' }, idleLockMs: 0 }).success).toBe(false);
    expect(ConsoleState.safeParse({ screen: 'wiped', reason: 'bored', complete: true }).success).toBe(false);
    expect(SyncStatusView.safeParse({ ...validPayloads.syncStatus, connection: 'hacked' }).success).toBe(false);
    expect(SyncStatusView.safeParse({ ...validPayloads.syncStatus, pendingCount: -1 }).success).toBe(false);
    expect(ConsoleNotice.safeParse({ ...validPayloads.notice, reason: 'because' }).success).toBe(false);
    expect(PositionView.safeParse({
      driverId: 'd1', driverName: null, lat: 91, lng: 0, headingDeg: null, speedKmh: null, recordedAt: 1,
    }).success).toBe(false);
  });
});
