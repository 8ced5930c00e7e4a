import { z } from 'zod';
import { EntityId, Timestamp } from './domain';
import { ExportStopsRequest } from './exports';
import { GroupCreate, GroupId, type GroupShape, GroupUpdate, groupChangeWidens } from './groups';
import { IntegrationProfileChange } from './integrations';
import { allPermissions, type Permission } from './permissions';
import { ProofDeleteChange } from './proof-governance';
import { PrivacyEraseChange } from './privacy-requests';
import { LegalHoldReleaseChange, RetentionWidenChange } from './retention';

/* ----------------------------------------------------------------------------------------
 * Four-eyes approvals (docs/security-model.md, "Four-eyes approvals").
 *
 * A sensitive action is declared here once: its kind, the schema of the change it makes and
 * a title, as one line of `sensitiveActions`. The server handles it in one module of
 * `sync-server/src/approvals/actions/`, listed in a registry typed over `SensitiveActionKind`,
 * so a kind declared here without a server handler does not compile (docs/architecture.md,
 * "A new sensitive action").
 * -------------------------------------------------------------------------------------- */

const PermissionNameOf = z.enum(allPermissions as [Permission, ...Permission[]]);

/** Why the change is wanted: shown to the approver and kept in the audit log. */
export const ApprovalReason = z.string().trim().min(3, 'say why, in a few words').max(1000);

const grantedAt = {
  locationIds: z.array(EntityId).min(1).max(500),
  expiresAt: Timestamp.nullable().optional(),
};

/**
 * A privileged grant (`GrantCreate` in api.ts, for what needs a second person): the admin or
 * manager role, which can grant, read the audit log and export; or a group holding a sensitive
 * permission (`groupGrantNeedsApproval`), named with the group's `version` when it was asked
 * for: if the group changed since, the request is stale.
 */
export const PrivilegedGrantChange = z.union([
  z.object({ userId: EntityId, role: z.enum(['admin', 'manager']), ...grantedAt }).strict(),
  z.object({ userId: EntityId, groupId: GroupId, groupVersion: z.number().int().positive(), ...grantedAt }).strict(),
]);
export type PrivilegedGrantChange = z.infer<typeof PrivilegedGrantChange>;

/** Removing a user's authenticator app (TOTP): their next sign-in enrolls a new one if policy asks. */
export const MfaDisableChange = z.object({ userId: EntityId }).strict();
export type MfaDisableChange = z.infer<typeof MfaDisableChange>;

export const signInFactors = ['totp', 'recoveryCodes', 'securityKeys'] as const;
export const SignInFactor = z.enum(signInFactors);
export type SignInFactor = z.infer<typeof SignInFactor>;

/** Removing some or all of a user's second factors: authenticator, recovery codes, security keys. */
export const FactorResetChange = z.object({
  userId: EntityId,
  factors: z.array(SignInFactor).min(1).max(signInFactors.length)
    .refine((f) => new Set(f).size === f.length, 'each factor once'),
}).strict();
export type FactorResetChange = z.infer<typeof FactorResetChange>;

/**
 * The sensitive permissions: what lets a holder hand out access (grant.manage, group.manage, and
 * integration.manage, which gives outside systems access),
 * decide other people's sensitive changes (approval.decide), read the audit log (audit.read),
 * take data out (any export.*, and pod.export), destroy proof of delivery (pod.delete) or govern
 * how long customer data lives and who it is handed to (retention.manage, legalHold.manage,
 * privacy.manage). One
 * definition for both rules below: a group holding one is created, widened and granted only with
 * a second person's approval.
 */
export function isSensitivePermission(p: string): boolean {
  return sensitivePermissionKinds.some((k) => k.covers(p));
}

/** The kinds of sensitive permission, each with what it lets its holder do, in words for screens. */
export const sensitivePermissionKinds: readonly { covers: (p: string) => boolean; does: string }[] = [
  { covers: (p) => p === 'grant.manage' || p === 'group.manage' || p === 'integration.manage', does: 'hand out access' },
  { covers: (p) => p === 'approval.decide', does: 'decide approvals' },
  { covers: (p) => p === 'audit.read', does: 'read the audit log' },
  { covers: (p) => p.startsWith('export.') || p === 'pod.export', does: 'export data' },
  { covers: (p) => p === 'pod.delete', does: 'delete proof of delivery' },
  { covers: (p) => p === 'retention.manage' || p === 'legalHold.manage' || p === 'privacy.manage', does: 'govern retention and customer privacy' },
];

/** "hand out access, decide approvals, ..., or govern retention and customer privacy": the sensitive set in words. */
export function sensitivePermissionsInWords(): string {
  const words = sensitivePermissionKinds.map((k) => k.does);
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}` : (words[0] ?? '');
}

/**
 * Whether a group change needs approval: it creates or widens a group (shared/src/groups.ts,
 * `groupChangeWidens`) that, after the change, allows a sensitive permission
 * (`isSensitivePermission`). Narrowing, renaming and retiring never do.
 */
export function groupChangeNeedsApproval(before: GroupShape | null, after: GroupShape): boolean {
  return groupChangeWidens(before, after).widens && after.permissions.some(isSensitivePermission);
}

/** Whether granting the group needs approval (`grant.privileged`): it allows a sensitive permission. */
export function groupGrantNeedsApproval(group: { permissions: readonly string[] }): boolean {
  return group.permissions.some(isSensitivePermission);
}

/**
 * Creating a sensitive group, or widening one: for an update, `version` is the group's version
 * when it was asked for; if the group changed since, the request is stale.
 */
export const SensitiveGroupChange = z.discriminatedUnion('op', [
  z.object({ op: z.literal('create'), group: GroupCreate }).strict(),
  z.object({ op: z.literal('update'), groupId: GroupId, version: z.number().int().positive(), update: GroupUpdate }).strict(),
]);
export type SensitiveGroupChange = z.infer<typeof SensitiveGroupChange>;

export interface SensitiveActionSpec {
  /** The change's payload, parsed on arrival and again before it is applied. */
  readonly change: z.ZodType<Record<string, unknown>>;
  /** What kind of change this is, for lists and notices (the request's summary says exactly what). */
  readonly title: string;
}

/**
 * The catalogue of sensitive actions: each needs a second person holding `approval.decide` (and
 * every permission the change hands out) at every location it touches. One line per action.
 */
export const sensitiveActions = {
  'grant.privileged': { change: PrivilegedGrantChange, title: 'Grant the admin or manager role, or a group that gives or takes away sensitive permissions' },
  'user.mfaDisable': { change: MfaDisableChange, title: 'Remove a user\u2019s authenticator app' },
  'user.factorsReset': { change: FactorResetChange, title: 'Reset a user\u2019s second factors' },
  'export.bulk': { change: ExportStopsRequest, title: 'Export more rows than policy allows without a second person' },
  'group.sensitive': { change: SensitiveGroupChange, title: 'Create or widen a group with sensitive permissions, or deny them to its holders' },
  'integration.profile': { change: IntegrationProfileChange, title: 'Let an integration receive customer contact or billing fields, or receive them from more locations or orders' },
  'pod.delete': { change: ProofDeleteChange, title: 'Delete a proof of delivery for good (its key is destroyed)' },
  'retention.widen': { change: RetentionWidenChange, title: 'Keep a location\u2019s customer or delivery data longer than it does now' },
  'legalHold.release': { change: LegalHoldReleaseChange, title: 'Release a legal hold, so purge and erasure reach what it kept' },
  'privacy.erase': { change: PrivacyEraseChange, title: 'Erase a customer under a privacy request, deleting delivery records or destroying proofs of delivery' },
} as const satisfies Record<string, SensitiveActionSpec>;

export type SensitiveActionKind = keyof typeof sensitiveActions;
export const sensitiveActionKinds = Object.keys(sensitiveActions) as [SensitiveActionKind, ...SensitiveActionKind[]];
export const SensitiveActionKindName = z.enum(sensitiveActionKinds);
/** The parsed change of one kind of sensitive action. */
export type SensitiveChange<K extends SensitiveActionKind> = z.output<(typeof sensitiveActions)[K]['change']>;

/**
 * Parses a change of the named kind (a request's body, or a stored change before it is applied).
 * The catalogue is a mapped object: TypeScript cannot tie `sensitiveActions[kind]` to `kind`
 * by itself (microsoft/TypeScript#30581), so the entry is widened once here.
 */
export function parseSensitiveChange<K extends SensitiveActionKind>(kind: K, change: unknown): z.ZodSafeParseResult<SensitiveChange<K>> {
  return (sensitiveActions[kind].change as unknown as z.ZodType<SensitiveChange<K>>).safeParse(change);
}

export const approvalStatuses = [
  'pending',   // waiting for a second person
  'approved',  // approved, and the change was applied in the same transaction
  'denied',
  'withdrawn', // the requester took it back
  'expired',   // nobody decided in time
  'stale',     // at approval, the change was no longer valid (see `staleReason`); nothing was applied
] as const;
export const ApprovalStatus = z.enum(approvalStatuses);
export type ApprovalStatus = z.infer<typeof ApprovalStatus>;

/** A person in an approval: a user, or the server's operator at the command line (`userId` null). */
export const ApprovalParty = z.object({ userId: z.string().nullable(), label: z.string() });
export type ApprovalParty = z.infer<typeof ApprovalParty>;

export const ApprovalRequest = z.object({
  id: z.string(),
  kind: SensitiveActionKindName,
  /** The catalogue title of the kind. */
  title: z.string(),
  /** Exactly what approving it will do, in words, written when it was requested. */
  summary: z.string(),
  /** The full change, as it will be applied. */
  change: z.record(z.string(), z.unknown()),
  reason: z.string(),
  /** Every location the change touches: an approver needs `approval.decide` at each. */
  locationIds: z.array(EntityId),
  /** The permissions the change hands out: an approver must hold each at every touched location. */
  handsOut: z.array(PermissionNameOf),
  requestedBy: ApprovalParty,
  requestedAt: Timestamp,
  expiresAt: Timestamp,
  status: ApprovalStatus,
  decidedBy: ApprovalParty.nullable(),
  decidedAt: Timestamp.nullable(),
  /** The approver's or denier's note, if they left one. */
  decisionNote: z.string().nullable(),
  /** Why the change was refused as stale at approval time. */
  staleReason: z.string().nullable(),
  /** For a change used once after approval (a bulk export's download): when it was used. */
  usedAt: Timestamp.nullable(),
  /** True when the caller asked for it. */
  mine: z.boolean(),
  /** True when the caller may approve or deny it now (pending, not theirs, authorised everywhere it touches). */
  mayDecide: z.boolean(),
});
export type ApprovalRequest = z.infer<typeof ApprovalRequest>;

/** `POST /approvals`: ask for a sensitive change directly (its own endpoint answers 202 the same way). */
export const ApprovalCreate = z.object({
  kind: SensitiveActionKindName,
  change: z.record(z.string(), z.unknown()),
  reason: ApprovalReason,
});
export type ApprovalCreate = z.infer<typeof ApprovalCreate>;

/** `POST /approvals/:id/approve` and `/deny`. */
export const ApprovalDecision = z.object({ note: z.string().trim().max(1000).optional() }).strict();
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

/**
 * `GET /approvals`: the requests the caller may decide plus their own. `status` filters
 * (default: every status); `mine` keeps only their own.
 */
export const ApprovalListQuery = z.object({
  status: ApprovalStatus.optional(),
  mine: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});
export type ApprovalListQuery = z.infer<typeof ApprovalListQuery>;

export const ApprovalList = z.object({ approvals: z.array(ApprovalRequest) });
export type ApprovalList = z.infer<typeof ApprovalList>;

/**
 * The body of a 202 from an endpoint whose change needs a second person: nothing was changed
 * yet; the change waits in `approval` (docs/api.md, "Changes that need approval").
 */
export const ApprovalRequired = z.object({ approvalRequired: z.literal(true), approval: ApprovalRequest });
export type ApprovalRequired = z.infer<typeof ApprovalRequired>;

/**
 * The reason field an endpoint whose change may need approval accepts beside its own body
 * (`POST /grants`): required when the change needs approval, ignored otherwise.
 */
export const WithApprovalReason = z.object({ reason: ApprovalReason.optional() });

/** `POST /users/:userId/mfa/disable`: remove the user's authenticator app (always through approval). */
export const MfaDisableRequest = z.object({ reason: ApprovalReason }).strict();
/** `POST /users/:userId/factors/reset`: remove the named second factors (always through approval). */
export const FactorResetRequest = z.object({ factors: FactorResetChange.shape.factors, reason: ApprovalReason }).strict();
