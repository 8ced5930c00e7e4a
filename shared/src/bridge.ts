import { z } from 'zod';
import { Coordinates, DeliveryNotes, EntityId, Latitude, Longitude, Phone, RouteDate, StopStatus, TimeWindow, Timestamp, WithheldStopFields } from './domain';
import {
  Barcodes, CurrencyCode, Email, FailureNote, FailureReason, MinimumAge, MinorAmount, OrderRef, ParcelCount, PaymentRef,
} from './orders';
import { NewPassword, Password, TotpCode } from './api';
import { EnrollmentToken } from './device-enrollment';
import { StopHandover } from './delivery-checks';
import { AttentionCounts, EtaSource, StopAttention } from './attention';
import { boardBridgeCalls } from './bridge-board';
import { governanceBridgeCalls } from './bridge-governance';
import { planningBridgeCalls } from './bridge-planning';
import { mapBridgeCalls } from './bridge-map';
import { importBridgeCalls } from './bridge-import';
import { integrationBridgeCalls } from './bridge-integrations';
import { trackingBridgeCalls } from './bridge-tracking';
import { proofBridgeCalls } from './bridge-proofs';
import { privacyBridgeCalls } from './bridge-privacy';
import { securityBridgeCalls } from './bridge-security';
import { permissionCatalogue, type Permission } from './permissions';
import { mutationTargetKinds, mutationTypes, type MutationType } from './mutations';

/**
 * The typed bridge between the console's renderer and its main process (desktop/README.md:
 * every IPC call has one zod schema here). One map, `bridgeCalls`: the preload exposes one
 * method per entry and nothing else; the main process parses `args` with the entry's schema
 * before anything runs, and parses what it answers with `result`, so a field that is not
 * declared here (a token, a key, a field the viewer may not see) never reaches the renderer.
 *
 * Every call answers a `BridgeResult`: errors cross as a stable code, never as a thrown
 * exception whose text Electron would mangle.
 */

/* ------------------------------------------------------------------------------ errors */

export const bridgeErrorCodes = [
  'bad_request',          // the arguments failed their schema
  'untrusted_sender',     // the call did not come from the console's own page
  'locked',               // the console is locked (or signed out): no data until the user re-authenticates
  'not_signed_in',
  'invalid_credentials',
  'mfa_required',         // the account has an authenticator: enter its code
  'mfa_invalid',
  'mfa_replayed',
  'webauthn_required',    // policy: this account signs in with a security key, not an authenticator code
  'account_locked',       // too many failures; see retryAfterS
  'rate_limited',
  'forbidden',            // the user's grant at the location does not allow this
  'device_not_enrolled',  // the server takes sign-ins only from enrolled computers: type the enrollment token IT gave you
  'approval_required',    // a second person must approve this: say why, and it is sent as a request
  'not_found',
  'invalid_transition',   // the stop state machine does not allow this status change
  'server_unreachable',
  'server_error',
  'keychain_unavailable',
  'database_unavailable',
  'internal',
] as const;
export const BridgeErrorCode = z.enum(bridgeErrorCodes);
export type BridgeErrorCode = z.infer<typeof BridgeErrorCode>;

export const BridgeError = z.object({
  code: BridgeErrorCode,
  /** For people: what happened and what to do. Never carries secrets or another user's data. */
  message: z.string().max(2000),
  retryAfterS: z.number().int().nonnegative().optional(),
});
export type BridgeError = z.infer<typeof BridgeError>;

export type BridgeResult<T> = { ok: true; value: T } | { ok: false; error: BridgeError };

/* ------------------------------------------------------------------------------- views */

const permissionNames = Object.keys(permissionCatalogue) as [Permission, ...Permission[]];
export const PermissionName = z.enum(permissionNames);

export const UserView = z.object({
  id: EntityId,
  username: z.string().max(256),
  displayName: z.string().max(200),
});
export type UserView = z.infer<typeof UserView>;

/** Problems that stop the console before it can show data; each has its own screen. */
export const ConsoleProblem = z.enum([
  'keychain_unavailable',  // no OS keychain: no database key, so no database (never a plaintext fallback)
  'database_unavailable',  // the encrypted database cannot be opened (key lost, file damaged, too new)
  'server_unreachable',    // first sign-in on this device needs the server
  'profile_mismatch',      // the local profile belongs to another user or server
  'insecure_server',       // the configured server is plain http:// beyond loopback
  'offline_locked',        // offline longer than the managed policy's offlineDays: an online sign-in unlocks
]);
export type ConsoleProblem = z.infer<typeof ConsoleProblem>;

/** Which screen the console shows. Main decides; the renderer only draws it. */
export const ConsoleState = z.discriminatedUnion('screen', [
  z.object({ screen: z.literal('starting') }),
  z.object({
    screen: z.literal('sign_in'),
    serverUrl: z.string().max(2048),
    /** Why the user is here again, when it is not a first start. */
    notice: z.enum(['signed_out', 'session_expired', 'approval_denied', 'approval_expired', 'security_key_failed', 'security_key_expired']).nullable(),
  }),
  /** The role requires MFA and none is enrolled: show the key as a QR code and ask for a code. */
  z.object({
    screen: z.literal('enroll_mfa'),
    username: z.string().max(256),
    /** RFC 6238 key URI for the QR code; shown only on this screen, never stored by the renderer. */
    otpauthUri: z.string().max(2048),
    secretBase32: z.string().max(256),
  }),
  /** A sign-in from a device this user never used, held until one of their trusted devices approves. */
  z.object({ screen: z.literal('awaiting_approval'), username: z.string().max(256), expiresAt: Timestamp }),
  /** Sign-in with a security key: the server's page is open in the browser; main waits for the key there. */
  z.object({ screen: z.literal('awaiting_security_key'), username: z.string().max(256), expiresAt: Timestamp }),
  /** An administrator reset the password: the sign-in completes once a new one is set. */
  z.object({ screen: z.literal('password_change_required'), username: z.string().max(256), expiresAt: Timestamp }),
  z.object({ screen: z.literal('console'), user: UserView, idleLockMs: z.number().int().positive() }),
  /** All data is hidden; only the user's name and a password field are shown. */
  z.object({ screen: z.literal('locked'), user: UserView, reason: z.enum(['idle', 'manual', 'system']) }),
  /** The session was revoked: the local database and its key were deleted. */
  z.object({
    screen: z.literal('wiped'),
    reason: z.enum(['revoked', 'refresh_reused', 'user_disabled', 'expired']),
    /** False when some step of the wipe failed (the key goes first, so what is left is unreadable). */
    complete: z.boolean(),
  }),
  z.object({
    screen: z.literal('error'),
    problem: ConsoleProblem,
    message: z.string().max(2000),
    /** The database cannot be opened: the user may set it aside and start this device over. */
    canStartOver: z.boolean(),
  }),
]);
export type ConsoleState = z.infer<typeof ConsoleState>;
export type ConsoleScreen = ConsoleState['screen'];

export const LocationView = z.object({
  id: EntityId,
  name: z.string().max(200),
  timezone: z.string().max(64),
  /** The user's permissions here; the UI hides what is not listed (the server enforces it). */
  permissions: z.array(PermissionName),
  roles: z.array(z.string().max(64)),
  expiresAt: Timestamp.nullable(),
});
export type LocationView = z.infer<typeof LocationView>;

/** `attention`: routes needing most attention first (attention.ts), then by name. */
export const RouteSortKey = z.enum(['name', 'date', 'driver', 'progress', 'updated', 'attention']);

export const StatusCounts = z.object(
  Object.fromEntries(StopStatus.options.map((s) => [s, z.number().int().nonnegative()])) as Record<StopStatus, z.ZodNumber>,
);

export const RouteRowView = z.object({
  id: EntityId,
  name: z.string().max(200),
  date: RouteDate,
  driverName: z.string().max(200).nullable(),
  vehicleLabel: z.string().max(100).nullable(),
  stopCount: z.number().int().nonnegative(),
  /** Stops that reached a final or failed state: delivered, failed, cancelled. */
  doneCount: z.number().int().nonnegative(),
  byStatus: StatusCounts,
  pendingEdits: z.number().int().nonnegative(),
  updatedAt: Timestamp,
  /** What needs attention on the route (attention.ts), as of the board's clock. */
  attention: AttentionCounts.optional(),
});
export type RouteRowView = z.infer<typeof RouteRowView>;

/** A stop in a list: no notes or phone number (the detail view has what the viewer may see). */
export const StopRowView = z.object({
  id: EntityId,
  routeId: EntityId,
  sequence: z.number().int().nonnegative(),
  /** Absent when the viewer may not see customers. */
  customerName: z.string().max(200).optional(),
  address: z.string().max(500).optional(),
  window: TimeWindow,
  status: StopStatus,
  eta: Timestamp.nullable(),
  orderRef: OrderRef.nullable(),
  /** Absent when the viewer may not see customers (where the stop is, like its address). */
  coordinates: Coordinates.nullable().optional(),
  failureReason: FailureReason.nullable(),
  /** A local edit of this stop waits for the server. */
  pending: z.boolean(),
  /** Where `eta` comes from on the board: the console's estimate or the value recorded on the stop; null: unknown. */
  etaSource: EtaSource.nullable().optional(),
  /** Late or at risk (attention.ts); null: neither. */
  attention: StopAttention.nullable().optional(),
  /** The stop's customer details were erased (retention period or privacy request); absent: not erased. */
  pseudonymised: z.literal(true).optional(),
});
export type StopRowView = z.infer<typeof StopRowView>;

export const StopDetailView = z.object({
  stop: z.object({
    id: EntityId,
    locationId: EntityId,
    routeId: EntityId,
    sequence: z.number().int().nonnegative(),
    customerName: z.string().max(200).optional(),
    address: z.string().max(500).optional(),
    notes: DeliveryNotes.optional(),
    /** Fields the server withheld because their stored value could not be verified (shown as such). */
    withheld: WithheldStopFields.optional(),
    window: TimeWindow,
    status: StopStatus,
    eta: Timestamp.nullable(),
    updatedAt: Timestamp,
    updatedBy: z.string().max(200).nullable(),
    orderRef: OrderRef.nullable(),
    parcelCount: ParcelCount,
    barcodes: Barcodes,
    /** Absent when the viewer may not see customers. */
    coordinates: Coordinates.nullable().optional(),
    minimumAge: MinimumAge.nullable(),
    idCheck: z.boolean(),
    /** The delivery PIN requirement and what was done at the door (never the PIN); absent while not known. */
    pinRequired: z.boolean().optional(),
    handover: StopHandover.optional(),
    failureReason: FailureReason.nullable(),
    /** Absent when the viewer may not see notes. */
    failureNote: FailureNote.nullable().optional(),
  }),
  /** The stop's billing data; absent for viewers without `stop.readBilling`. Amounts in minor units of `currency`. */
  billing: z.object({
    paymentRef: PaymentRef.nullable(),
    codAmount: MinorAmount.nullable(),
    deliveryFee: MinorAmount.nullable(),
    currency: CurrencyCode.nullable(),
  }).optional(),
  /** Like `phone`: the email is revealed with the phone number (same permission, same audited read). */
  email: z.enum(['masked', 'none']).optional(),
  routeName: z.string().max(200).nullable(),
  driverName: z.string().max(200).nullable(),
  /** Status changes the state machine allows from here and the user may make. */
  allowedTransitions: z.array(StopStatus),
  /**
   * The customer's phone number never comes with the detail: revealing it is an audited read
   * (`revealStopPhone`). `masked`: there is one to reveal; `none`: the stop has none. Absent for
   * viewers who may not read phone numbers.
   */
  phone: z.enum(['masked', 'none']).optional(),
  /** Whether the notes section exists at all for this viewer. */
  notesVisible: z.boolean(),
  canEditNotes: z.boolean(),
  pendingEdits: z.number().int().nonnegative(),
  /**
   * The stop's customer details were erased, for every viewer and for good: its contact period
   * ended (the retention purge, or the console's own sweep) or the customer's data was erased on
   * a privacy request. The delivery record (status, times, order, parcels) stays.
   */
  pseudonymised: z.boolean(),
  /** A legal hold covers the stop, so nothing of it is purged or erased; the hold itself (reason, owner) stays with the depot's admins. */
  held: z.boolean(),
});
export type StopDetailView = z.infer<typeof StopDetailView>;

export const PositionView = z.object({
  driverId: EntityId,
  driverName: z.string().max(200).nullable(),
  lat: Latitude,
  lng: Longitude,
  headingDeg: z.number().min(0).max(360).nullable(),
  speedKmh: z.number().min(0).max(300).nullable(),
  recordedAt: Timestamp,
});
export type PositionView = z.infer<typeof PositionView>;

/* The desktop core's sync status types (ConnectionState, SyncStatus) are these. */

export const ConnectionStateView = z.enum(['signed_out', 'connecting', 'syncing', 'live', 'offline', 'ended']);
export type ConnectionStateView = z.infer<typeof ConnectionStateView>;

export const SyncStatusView = z.object({
  connection: ConnectionStateView,
  /** Local edits the server has not answered yet. */
  pendingCount: z.number().int().nonnegative(),
  /** When the last full pull finished. */
  lastSyncAt: Timestamp.nullable(),
  lastError: z.object({ name: z.string().max(100), message: z.string().max(2000) }).nullable(),
});
export type SyncStatusView = z.infer<typeof SyncStatusView>;

const mutationTypeNames = mutationTypes as [MutationType, ...MutationType[]];

/** An edit the server refused: rolled back locally and shown until the user dismisses it. */
export const RejectedNotice = z.object({
  id: z.uuid(),
  locationId: EntityId,
  type: z.enum(mutationTypeNames),
  target: z.object({ kind: z.enum(mutationTargetKinds), id: EntityId, label: z.string().max(300).nullable() }),
  /** What the user tried, e.g. "status: delivered". */
  attempted: z.string().max(2500),
  code: z.string().max(64),
  /** The server's reason, as it gave it. */
  reason: z.string().max(2000),
  /** The server's current value of what the edit targeted, e.g. "status: cancelled"; null when it sent none. */
  serverValue: z.string().max(2500).nullable(),
  rejectedAt: Timestamp,
});
export type RejectedNotice = z.infer<typeof RejectedNotice>;

/* ------------------------------------------------------------------------------- calls */

const NoArgs = z.object({}).strict();

export const SignInArgs = z.object({
  username: z.string().trim().min(1).max(256),
  password: Password,
  /** Empty when the account has no authenticator yet. */
  totp: TotpCode.optional(),
  /**
   * Typed in after a `device_not_enrolled` refusal: the one-time token from IT, spent to enroll
   * this computer before the sign-in (a policy token, where set, goes first). Never logged or kept.
   */
  enrollmentToken: EnrollmentToken.optional(),
}).strict();

export const BoardQueryArgs = z.object({
  locationId: EntityId,
  search: z.string().max(200).optional(),
  statuses: z.array(StopStatus).max(StopStatus.options.length).optional(),
  date: RouteDate.optional(),
  sort: RouteSortKey.optional(),
  descending: z.boolean().optional(),
  limit: z.number().int().min(1).max(5000).optional(),
}).strict();

export const ListStopsArgs = z.object({
  locationId: EntityId,
  /** null: the stops of every route on the board. */
  routeId: EntityId.nullable(),
  /** The depot's calendar day: with `routeId` null, the stops of that day's routes only. */
  date: RouteDate.optional(),
  search: z.string().max(200).optional(),
  statuses: z.array(StopStatus).max(StopStatus.options.length).optional(),
}).strict();

export const bridgeCalls = {
  getState: { args: NoArgs, result: ConsoleState },
  signIn: { args: SignInArgs, result: ConsoleState },
  /**
   * The password, then the key on the server's page, which main opens in the browser (only on
   * the configured server's origin); the answer is the waiting screen, the sign-in follows.
   */
  signInWithSecurityKey: { args: SignInArgs.omit({ totp: true }), result: ConsoleState },
  confirmMfaEnrollment: { args: z.object({ code: TotpCode }).strict(), result: ConsoleState },
  /** After an administrator's reset: the new password completes the sign-in. */
  completePasswordChange: { args: z.object({ newPassword: NewPassword }).strict(), result: ConsoleState },
  /** Leave an enrollment, a held sign-in, a security-key sign-in, a password change, an error or wiped screen for a fresh sign-in form. */
  backToSignIn: { args: NoArgs, result: ConsoleState },
  /** After a database error: set the unreadable file aside and start this device over. */
  startOver: { args: NoArgs, result: ConsoleState },
  lock: { args: NoArgs, result: ConsoleState },
  unlock: { args: z.object({ password: Password }).strict(), result: ConsoleState },
  signOut: { args: NoArgs, result: ConsoleState },
  /** The user did something (throttled by the renderer); postpones the idle lock. */
  reportActivity: { args: NoArgs, result: z.null() },

  listLocations: { args: NoArgs, result: z.array(LocationView) },
  queryBoard: { args: BoardQueryArgs, result: z.array(RouteRowView) },
  listStops: { args: ListStopsArgs, result: z.array(StopRowView) },
  stopDetail: { args: z.object({ stopId: EntityId }).strict(), result: StopDetailView },
  setStopStatus: {
    args: z.object({ stopId: EntityId, to: StopStatus, failureReason: FailureReason.optional(), reason: z.string().max(500).optional() }).strict(),
    result: StopDetailView,
  },
  editStopNotes: { args: z.object({ stopId: EntityId, notes: DeliveryNotes }).strict(), result: StopDetailView },
  /** Shows the stop's phone number: queued as an audited `stop.revealPhone` (offline too), then answered. */
  revealStopPhone: { args: z.object({ stopId: EntityId }).strict(), result: z.object({ phone: Phone.nullable(), email: Email.nullable().optional() }) },
  listPositions: { args: z.object({ locationId: EntityId }).strict(), result: z.array(PositionView) },

  syncStatus: { args: NoArgs, result: SyncStatusView },
  syncNow: { args: NoArgs, result: SyncStatusView },
  listRejected: { args: NoArgs, result: z.array(RejectedNotice) },
  dismissRejected: { args: z.object({ id: z.uuid() }).strict(), result: z.null() },

  ...securityBridgeCalls,
  ...governanceBridgeCalls,
  ...planningBridgeCalls,
  ...mapBridgeCalls,
  ...boardBridgeCalls,
  ...importBridgeCalls,
  ...integrationBridgeCalls,
  ...trackingBridgeCalls,
  ...proofBridgeCalls,
  ...privacyBridgeCalls,
} as const satisfies Record<string, { args: z.ZodType; result: z.ZodType }>;

export type BridgeCallName = keyof typeof bridgeCalls;
export const bridgeCallNames = Object.keys(bridgeCalls) as BridgeCallName[];
export type BridgeArgs<K extends BridgeCallName> = z.input<(typeof bridgeCalls)[K]['args']>;
export type BridgeValue<K extends BridgeCallName> = z.output<(typeof bridgeCalls)[K]['result']>;

/** The IPC channel of a call. */
export function bridgeChannel<K extends BridgeCallName>(name: K): `depotline:${K}` {
  return `depotline:${name}`;
}

/* ------------------------------------------------------------------------------ events */

/** What one committed write to the local store changed (the core's StoreChange is this). */
export const DataChanged = z.object({
  locationIds: z.array(EntityId),
  data: z.boolean(),
  outbox: z.boolean(),
  rejected: z.boolean(),
  locations: z.boolean(),
});
export type DataChanged = z.infer<typeof DataChanged>;

export const ConsoleNotice = z.object({
  kind: z.literal('location_removed'),
  locationId: EntityId,
  locationName: z.string().max(200).nullable(),
  reason: z.enum(['grant_revoked', 'grant_expired', 'not_listed']),
  discardedEdits: z.number().int().nonnegative(),
});
export type ConsoleNotice = z.infer<typeof ConsoleNotice>;

/** What main pushes to the renderer, on the one event channel. */
export const bridgeEvents = {
  state: ConsoleState,
  syncStatus: SyncStatusView,
  /** Not sent while the console is locked. */
  dataChanged: DataChanged,
  notice: ConsoleNotice,
} as const satisfies Record<string, z.ZodType>;

export type BridgeEventName = keyof typeof bridgeEvents;
export type BridgeEventPayload<E extends BridgeEventName> = z.output<(typeof bridgeEvents)[E]>;
export const bridgeEventChannel = 'depotline:event';
export type BridgeEventMessage = { [E in BridgeEventName]: { event: E; payload: BridgeEventPayload<E> } }[BridgeEventName];

/* ---------------------------------------------------------------------- the bridge type */

type BridgeMethod<K extends BridgeCallName> = Record<string, never> extends BridgeArgs<K>
  ? (args?: BridgeArgs<K>) => Promise<BridgeResult<BridgeValue<K>>>
  : (args: BridgeArgs<K>) => Promise<BridgeResult<BridgeValue<K>>>;

/** `window.depotline`: what the preload exposes, and all the renderer can reach. */
export type DepotlineBridge = { readonly [K in BridgeCallName]: BridgeMethod<K> } & {
  /** Subscribes to a pushed event; returns the unsubscribe function. */
  readonly on: <E extends BridgeEventName>(event: E, listener: (payload: BridgeEventPayload<E>) => void) => () => void;
};
