import { z } from 'zod';
import { EntityId, Timestamp } from './domain';
import { ApprovalReason } from './approvals';
import { ApprovalView, DepotRef } from './bridge-governance';
import { parseCidr } from './cidr';
import { IntegrationName, integrationKinds, OrderVisibility, profileFields, webhookEventTypes } from './integrations';
import { machinePermissions } from './permissions';

/*
 * The Integrations screen's part of the bridge (bridge.ts lists the calls): the integrations
 * registered at a depot, their data profile, their API keys, webhook subscriptions, and what
 * they did lately (calls, webhook attempts, unusual-activity alerts). Only what the screen draws
 * is declared: no key hashes, no webhook secrets at rest, no request bodies. A new API key's or
 * webhook secret's plaintext crosses exactly once, in the answer of the call that made it
 * (`NewSecret`); main keeps it nowhere, and no other answer has a field that could carry it.
 * The main process asks the server (docs/api.md) with the session's token; the page never does.
 */

const RecordId = z.string().min(1).max(128);
const Kind = z.enum(integrationKinds);
const ProfileFieldName = z.enum(profileFields);
const Profile = z.array(ProfileFieldName).max(profileFields.length);
const Scope = z.enum(machinePermissions);
const Scopes = z.array(Scope).max(machinePermissions.length);
const EventType = z.enum(webhookEventTypes);
const Address = z.string().max(64);

export const MaxIntegrations = 500;
export const MaxIntegrationKeys = 200;
export const MaxWebhooks = 100;
export const MaxActivityRows = 200;
export const MaxAllowlistEntries = 100;

/** One allowlist line as the admin typed it; refused with the server's own words (shared cidr.ts). */
export const AllowlistEntry = z.string().trim().min(1).max(64).superRefine((entry, ctx) => {
  const parsed = parseCidr(entry);
  if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.message });
});

/* ------------------------------------------------------------------------ integrations */

/** What the integration may do at one depot: machine scopes, checked like a user's grant there. */
export const ConsoleIntegrationScope = z.object({ location: DepotRef, scopes: Scopes });
export type ConsoleIntegrationScope = z.infer<typeof ConsoleIntegrationScope>;

export const ConsoleIntegrationView = z.object({
  id: RecordId,
  name: z.string().max(64),
  kind: Kind,
  contact: z.string().max(200),
  /** Suspended: every credential of it is refused until an admin resumes it. */
  suspended: z.object({ at: Timestamp, reason: z.string().max(500).nullable() }).nullable(),
  /** Per depot, what it may do there. */
  scopes: z.array(ConsoleIntegrationScope).max(500),
  /** The fields it receives, in REST answers and webhook payloads alike. */
  profile: Profile,
  ipAllowlist: z.array(z.string().max(64)).max(MaxAllowlistEntries),
  /** Credentials suspend themselves on an unusual-activity alert. */
  autoSuspend: z.boolean(),
  /** Which orders it reads and hears of: only those it created (`own`), or every order at its depots (`location`). */
  orderVisibility: OrderVisibility,
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /** Sent back with a change, so one made meanwhile by someone else is not overwritten. */
  version: z.number().int().positive(),
  /** What an admin should know, in words (no address allowlist, ...). */
  warnings: z.array(z.string().max(500)).max(20),
  /** False when part of it is at depots where this user does not manage integrations: read-only here. */
  editable: z.boolean(),
});
export type ConsoleIntegrationView = z.infer<typeof ConsoleIntegrationView>;

/** The fields of an integration the form edits (the name is chosen once, when it is registered). */
export const ConsoleIntegrationFields = z.object({
  kind: Kind,
  contact: z.string().trim().min(1, 'say whom to call at the partner').max(200),
  scopes: z.array(z.object({ locationId: EntityId, scopes: Scopes.min(1, 'choose at least one scope') }).strict()).min(1, 'choose at least one depot').max(500),
  ipAllowlist: z.array(AllowlistEntry).max(MaxAllowlistEntries),
  autoSuspend: z.boolean(),
  /** Absent: unchanged (own for a new integration). */
  orderVisibility: OrderVisibility.optional(),
}).strict();
export type ConsoleIntegrationFields = z.infer<typeof ConsoleIntegrationFields>;

/** A change that needed a second admin: it was not made; it waits in `approval`. */
const Pending = z.object({ outcome: z.literal('pending_approval'), approval: ApprovalView });

export const IntegrationProfileResult = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('applied'), integration: ConsoleIntegrationView }),
  Pending,
]);
export type IntegrationProfileResult = z.infer<typeof IntegrationProfileResult>;

/* ------------------------------------------------------------------------- credentials */

export const ConsoleKeyView = z.object({
  /** The key's public beginning (`dlk_…`): the key starts with it, so an admin can match a key to its row. */
  id: RecordId,
  name: z.string().max(100),
  scopes: Scopes,
  /** `ending`: rotated, working until `endsAt`; `expired`: past its expiry or its rotation end. */
  status: z.enum(['active', 'ending', 'expired', 'revoked']),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  endsAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
  lastUsedIp: Address.nullable(),
});
export type ConsoleKeyView = z.infer<typeof ConsoleKeyView>;

/**
 * A secret made just now: shown once in the screen, then forgotten. Not kept in main, not in the
 * console's database, not in any log; the server holds only its hash and cannot show it again.
 */
export const NewSecret = z.object({ secret: z.string().min(16).max(512) });

export const NewConsoleKey = NewSecret.extend({ key: ConsoleKeyView });
export type NewConsoleKey = z.infer<typeof NewConsoleKey>;

export const ConsoleOAuthClientView = z.object({
  /** The `client_id` (not a secret). */
  id: RecordId,
  name: z.string().max(100),
  scopes: Scopes,
  status: z.enum(['active', 'ending', 'expired', 'revoked']),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  revokedAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
  lastUsedIp: Address.nullable(),
  /** During a secret rotation the previous secret works until then. */
  previousSecretEndsAt: Timestamp.nullable(),
});
export type ConsoleOAuthClientView = z.infer<typeof ConsoleOAuthClientView>;

export const NewConsoleOAuthSecret = NewSecret.extend({ client: ConsoleOAuthClientView });
export type NewConsoleOAuthSecret = z.infer<typeof NewConsoleOAuthSecret>;

/* ----------------------------------------------------------------------------- webhooks */

export const ConsoleWebhookView = z.object({
  id: RecordId,
  url: z.string().max(2048),
  events: z.array(EventType).max(webhookEventTypes.length),
  status: z.enum(['active', 'paused']),
  /** Paused by an admin, or by the server after a day of failed deliveries or a 410 Gone answer (admins were alerted). */
  pauseReason: z.enum(['admin', 'failing', 'gone']).nullable(),
  pausedAt: Timestamp.nullable(),
  /** The first failed attempt since the last success; null while deliveries succeed. */
  failingSince: Timestamp.nullable(),
  lastSuccessAt: Timestamp.nullable(),
  createdAt: Timestamp,
  /** During a secret rotation both signatures are sent until then. */
  previousSecretEndsAt: Timestamp.nullable(),
});
export type ConsoleWebhookView = z.infer<typeof ConsoleWebhookView>;

export const NewConsoleWebhookSecret = NewSecret.extend({ webhook: ConsoleWebhookView });
export type NewConsoleWebhookSecret = z.infer<typeof NewConsoleWebhookSecret>;

/** https only, no credentials in it; the server checks where it resolves at every delivery. */
export const ConsoleWebhookUrl = z.string().trim().max(2048)
  .regex(/^https:\/\/[^\s/?#@]+(?:[/?#]\S*)?$/i, 'an https:// address without a user name or password in it')
  .pipe(z.url({ protocol: /^https$/ }));

/* ----------------------------------------------------------------------------- activity */

export const ConsoleCallView = z.object({
  at: Timestamp,
  method: z.string().max(10),
  /** The path template (`/api/v1/orders/:id`), never the path with its ids or a query. */
  route: z.string().max(200),
  status: z.number().int().min(100).max(599),
  latencyMs: z.number().nonnegative(),
  ip: Address.nullable(),
  /** Which credential, by its prefix or client id; null when none was recognised. */
  credential: z.string().max(80).nullable(),
});
export type ConsoleCallView = z.infer<typeof ConsoleCallView>;

export const ConsoleWebhookAttemptView = z.object({
  at: Timestamp,
  event: z.string().max(64),
  url: z.string().max(2048),
  attempt: z.number().int().positive(),
  /** The receiver's HTTP status; null when none came (refused, timed out, unreachable). */
  status: z.number().int().min(100).max(599).nullable(),
  outcome: z.enum(['delivered', 'failed', 'retrying', 'gave_up']),
  /** In words, without the receiver's body: "timed out", "address not allowed". */
  error: z.string().max(300).nullable(),
  latencyMs: z.number().nonnegative().nullable(),
  nextRetryAt: Timestamp.nullable(),
});
export type ConsoleWebhookAttemptView = z.infer<typeof ConsoleWebhookAttemptView>;

export const ConsoleIntegrationAlert = z.object({
  id: RecordId,
  at: Timestamp,
  kind: z.string().max(64),
  /** What was noticed, in words. */
  summary: z.string().max(1000),
  /** The credential was suspended because of it. */
  suspended: z.boolean(),
});
export type ConsoleIntegrationAlert = z.infer<typeof ConsoleIntegrationAlert>;

export const ConsoleIntegrationActivity = z.object({
  calls: z.array(ConsoleCallView).max(MaxActivityRows),
  attempts: z.array(ConsoleWebhookAttemptView).max(MaxActivityRows),
  alerts: z.array(ConsoleIntegrationAlert).max(MaxActivityRows),
});
export type ConsoleIntegrationActivity = z.infer<typeof ConsoleIntegrationActivity>;

/* ------------------------------------------------------------------------------- calls */

const At = z.object({ locationId: EntityId, integrationId: RecordId });
const WithReason = { reason: ApprovalReason.optional() };

export const integrationBridgeCalls = {
  /** The integrations holding a scope at the depot; needs `integration.manage` there. */
  listIntegrations: { args: z.object({ locationId: EntityId }).strict(), result: z.array(ConsoleIntegrationView).max(MaxIntegrations) },
  /** A new integration gets the default data profile (the minimum a courier partner needs). */
  createIntegration: {
    args: z.object({ locationId: EntityId, name: IntegrationName, integration: ConsoleIntegrationFields }).strict(),
    result: ConsoleIntegrationView,
  },
  updateIntegration: {
    args: At.extend({ expectedVersion: z.number().int().positive(), integration: ConsoleIntegrationFields }).strict(),
    result: ConsoleIntegrationView,
  },
  /**
   * The data profile. Turning on a contact or billing field needs a second admin: without
   * `reason` that answers `approval_required`; with it, the change waits as a request.
   */
  setIntegrationProfile: {
    args: At.extend({ expectedVersion: z.number().int().positive(), profile: Profile, ...WithReason }).strict(),
    result: IntegrationProfileResult,
  },
  /** Suspending says why (the audit log and the other admins read it); resuming does not. */
  setIntegrationSuspended: {
    args: z.discriminatedUnion('suspended', [
      At.extend({ suspended: z.literal(true), reason: z.string().trim().min(3, 'say why, in a few words').max(500) }).strict(),
      At.extend({ suspended: z.literal(false) }).strict(),
    ]),
    result: ConsoleIntegrationView,
  },

  integrationKeys: { args: At.strict(), result: z.array(ConsoleKeyView).max(MaxIntegrationKeys) },
  /** The key's secret is in the answer, once. `scopes` no wider than the integration's. */
  createIntegrationKey: {
    args: At.extend({ name: z.string().trim().min(1, 'name the key').max(100), scopes: Scopes.min(1, 'choose at least one scope'), expiresAt: Timestamp }).strict(),
    result: NewConsoleKey,
  },
  /** A successor key with the same scopes (its secret in the answer, once); the old one works until `oldEndsAt`. */
  rotateIntegrationKey: {
    args: At.extend({ keyId: RecordId, oldEndsAt: Timestamp, expiresAt: Timestamp.optional() }).strict(),
    result: NewConsoleKey,
  },
  /** At once: the next call with it is refused. */
  revokeIntegrationKey: { args: At.extend({ keyId: RecordId }).strict(), result: ConsoleKeyView },

  /** OAuth 2.0 clients (client credentials grant, RFC 6749 section 4.4) of the integration. */
  integrationOAuthClients: { args: At.strict(), result: z.array(ConsoleOAuthClientView).max(MaxIntegrationKeys) },
  /** The client secret is in the answer, once. */
  createOAuthClient: {
    args: At.extend({ name: z.string().trim().min(1, 'name the client').max(100), scopes: Scopes.min(1, 'choose at least one scope'), expiresAt: Timestamp }).strict(),
    result: NewConsoleOAuthSecret,
  },
  /** A new client secret (in the answer, once); the old one works until `oldEndsAt`. */
  rotateOAuthClientSecret: {
    args: At.extend({ clientId: RecordId, oldEndsAt: Timestamp, expiresAt: Timestamp.optional() }).strict(),
    result: NewConsoleOAuthSecret,
  },
  /** At once, with every token it holds. */
  revokeOAuthClient: { args: At.extend({ clientId: RecordId }).strict(), result: ConsoleOAuthClientView },

  integrationWebhooks: { args: At.strict(), result: z.array(ConsoleWebhookView).max(MaxWebhooks) },
  /** The signing secret (`whsec_…`) is in the answer, once. */
  createWebhook: {
    args: At.extend({ url: ConsoleWebhookUrl, events: z.array(EventType).min(1, 'choose at least one event').max(webhookEventTypes.length) }).strict(),
    result: NewConsoleWebhookSecret,
  },
  /** Paused subscriptions keep their events queued; resuming sends them. */
  setWebhookPaused: { args: At.extend({ webhookId: RecordId, paused: z.boolean() }).strict(), result: ConsoleWebhookView },
  updateWebhookEvents: {
    args: At.extend({ webhookId: RecordId, events: z.array(EventType).min(1, 'choose at least one event').max(webhookEventTypes.length) }).strict(),
    result: ConsoleWebhookView,
  },
  /** A new signing secret, in the answer once; deliveries carry both signatures until `previousSecretEndsAt` (absent: the old one ends at once). */
  rotateWebhookSecret: { args: At.extend({ webhookId: RecordId, previousSecretEndsAt: Timestamp.optional() }).strict(), result: NewConsoleWebhookSecret },
  deleteWebhook: { args: At.extend({ webhookId: RecordId }).strict(), result: z.null() },

  /** Recent calls, webhook attempts and alerts: status, latency, time; never bodies or customer data. */
  integrationActivity: { args: At.strict(), result: ConsoleIntegrationActivity },
} as const satisfies Record<string, { args: z.ZodType; result: z.ZodType }>;
