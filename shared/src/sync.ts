import { z } from 'zod';
import { Driver, DriverPosition, EntityId, Location, Route, Stop, Timestamp, Vehicle } from './domain';
import { ErrorBody, ErrorCode } from './errors';
import { Mutation, MutationId } from './mutations';
import { LocationRetention } from './retention';

/** At most this many mutations in one push. */
export const maxPushBatch = 200;

export const PushRequest = z.object({ mutations: z.array(Mutation).min(1).max(maxPushBatch) });
export type PushRequest = z.infer<typeof PushRequest>;

/* ----------------------------------------------------------------------------------------
 * Changes: what the server sends. A change carries the entity's state after it, already
 * redacted for the receiver, and the location version it was written at.
 * -------------------------------------------------------------------------------------- */

export const Change = z.discriminatedUnion('entity', [
  z.object({ entity: z.literal('stop'), locationId: EntityId, version: z.number().int().positive(), data: Stop }),
  z.object({ entity: z.literal('route'), locationId: EntityId, version: z.number().int().positive(), data: Route }),
  z.object({ entity: z.literal('driver'), locationId: EntityId, version: z.number().int().positive(), data: Driver }),
  z.object({ entity: z.literal('vehicle'), locationId: EntityId, version: z.number().int().positive(), data: Vehicle }),
  z.object({ entity: z.literal('position'), locationId: EntityId, version: z.number().int().positive(), data: DriverPosition }),
  /** The entity is gone for this viewer (deleted, or a route no longer assigned to a driver). */
  z.object({
    entity: z.literal('removed'),
    locationId: EntityId,
    version: z.number().int().positive(),
    data: z.object({ kind: z.enum(['stop', 'route', 'driver', 'vehicle']), id: EntityId }),
  }),
]);
export type Change = z.infer<typeof Change>;

export const MutationResult = z.discriminatedUnion('status', [
  z.object({ id: MutationId, status: z.literal('applied'), version: z.number().int().positive() }),
  z.object({ id: MutationId, status: z.literal('duplicate'), version: z.number().int().nonnegative() }),
  z.object({
    id: MutationId,
    status: z.literal('rejected'),
    code: ErrorCode,
    reason: z.string(),
    /** The server's current value of what the mutation targeted, redacted for the caller. */
    current: Change.nullable(),
  }),
]);
export type MutationResult = z.infer<typeof MutationResult>;

export const PushResponse = z.object({ results: z.array(MutationResult) });
export type PushResponse = z.infer<typeof PushResponse>;

export const maxPullLimit = 1000;

export const PullRequest = z.object({
  locationId: EntityId,
  /** The last location version this client has applied; 0 for everything. */
  after: z.number().int().nonnegative(),
  limit: z.number().int().min(1).max(maxPullLimit).optional(),
});
export type PullRequest = z.infer<typeof PullRequest>;

export const PullResponse = z.object({
  locationId: EntityId,
  changes: z.array(Change),
  /** The cursor to send next: the highest version covered by this page. */
  cursor: z.number().int().nonnegative(),
  hasMore: z.boolean(),
});
export type PullResponse = z.infer<typeof PullResponse>;

export const LocationAccess = z.object({
  location: Location,
  permissions: z.array(z.string()),
  roles: z.array(z.string()),
  expiresAt: Timestamp.nullable(),
  /** The location's effective retention periods: the desktop applies them locally, offline too. */
  retention: LocationRetention.optional(),
});
export type LocationAccess = z.infer<typeof LocationAccess>;

export const DropLocation = z.object({
  locationId: EntityId,
  reason: z.enum(['grant_revoked', 'grant_expired']),
});
export type DropLocation = z.infer<typeof DropLocation>;

export const SessionEnded = z.object({
  reason: z.enum(['revoked', 'expired', 'refresh_reused', 'user_disabled']),
  /** True when the device must delete its local database and key (revocation, not expiry). */
  wipe: z.boolean(),
});
export type SessionEnded = z.infer<typeof SessionEnded>;

export const RenewToken = z.object({ accessToken: z.string().min(1).max(4096) });

/* ----------------------------------------------------------------------------------------
 * Socket.IO event maps. Client-to-server events take a payload and an acknowledgement
 * callback that receives either `{ ok: true, data }` or an ErrorBody.
 * -------------------------------------------------------------------------------------- */

export type Ack<T> = ({ ok: true; data: T }) | ({ ok: false } & ErrorBody);

export const AckError = ErrorBody.extend({ ok: z.literal(false) });

export function ackSchema<T extends z.ZodType>(data: T) {
  return z.union([z.object({ ok: z.literal(true), data }), AckError]);
}

export interface ClientToServerEvents {
  'sync:locations': (payload: Record<string, never>, ack: (res: Ack<LocationAccess[]>) => void) => void;
  'sync:pull': (payload: PullRequest, ack: (res: Ack<PullResponse>) => void) => void;
  'sync:push': (payload: PushRequest, ack: (res: Ack<PushResponse>) => void) => void;
  /** Swap in a fresh access token so an open socket outlives the token it connected with. */
  'auth:renew': (payload: { accessToken: string }, ack: (res: Ack<{ expiresAt: number }>) => void) => void;
}

export interface ServerToClientEvents {
  'sync:change': (change: Change) => void;
  'sync:dropLocation': (payload: DropLocation) => void;
  'session:ended': (payload: SessionEnded) => void;
}

/** Payload schemas for each client event, used by the server to parse on arrival. */
export const clientEventSchemas = {
  'sync:locations': z.object({}).strict(),
  'sync:pull': PullRequest,
  'sync:push': PushRequest,
  'auth:renew': RenewToken,
} as const satisfies Record<keyof ClientToServerEvents, z.ZodType>;

/** Schemas the desktop uses to parse each server event before it touches the store. */
export const serverEventSchemas = {
  'sync:change': Change,
  'sync:dropLocation': DropLocation,
  'session:ended': SessionEnded,
} as const satisfies Record<keyof ServerToClientEvents, z.ZodType>;
