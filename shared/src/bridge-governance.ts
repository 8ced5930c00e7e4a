import { z } from 'zod';
import { EntityId, Timestamp } from './domain';
import { ApprovalReason, ApprovalStatus, SensitiveActionKindName } from './approvals';
import { CalendarDate, ExportDataClass, ExportFormat, exportDataClasses } from './exports';
import { GroupId, GroupName } from './groups';
import { allPermissions, roleNames, type Permission } from './permissions';

/*
 * The governance screens' part of the bridge (bridge.ts lists the calls): permission groups and
 * who holds what at a depot, the approvals inbox and the user's own requests, and exports.
 * Only what the screens draw is declared: no user ids, no tokens, nothing the server adds later.
 * The main process asks the server (docs/api.md) with the session's token; the page never does.
 */

const RecordId = z.string().min(1).max(128);
const Permissions = z.array(z.enum(allPermissions as [Permission, ...Permission[]])).max(allPermissions.length);
const Name = z.string().max(256);

/** A depot named by id, with its name when this computer knows it (null: a depot the user has no access to). */
export const DepotRef = z.object({ id: EntityId, name: z.string().max(200).nullable() });
export type DepotRef = z.infer<typeof DepotRef>;

/* ------------------------------------------------------------------------------ groups */

export const GroupView = z.object({
  id: GroupId,
  name: z.string().max(64),
  description: z.string().max(500),
  permissions: Permissions,
  denials: Permissions,
  /** Where the group may be granted. */
  locations: z.array(DepotRef).max(500),
  mfaRequired: z.boolean(),
  mustExpire: z.boolean(),
  version: z.number().int().positive(),
  holders: z.number().int().nonnegative(),
  updatedAt: Timestamp,
  retiredAt: Timestamp.nullable(),
});
export type GroupView = z.infer<typeof GroupView>;

/** One grant a user holds at the depot: a role template or a group. */
export const HeldGrantView = z.object({
  role: z.enum(roleNames).nullable(),
  groupName: z.string().max(64).nullable(),
  locations: z.array(DepotRef).max(500),
  expiresAt: Timestamp.nullable(),
});
export type HeldGrantView = z.infer<typeof HeldGrantView>;

/** "Who holds what": a user with access at the depot, and what that access comes to. */
export const AccessHolderView = z.object({
  username: Name,
  displayName: z.string().max(200),
  grants: z.array(HeldGrantView).max(100),
  /** Effective at the depot, denials applied. */
  permissions: Permissions,
  /** Extra on routes assigned to them as a driver. */
  assignedPermissions: Permissions,
  denials: Permissions,
  mfaRequired: z.boolean(),
  expiresAt: Timestamp.nullable(),
});
export type AccessHolderView = z.infer<typeof AccessHolderView>;

export const MaxAccessHolders = 2000;
export const MaxGroups = 1000;

/** The fields of a group the form edits. */
export const GroupFields = z.object({
  name: GroupName,
  description: z.string().trim().max(500),
  permissions: Permissions,
  denials: Permissions,
  locationIds: z.array(EntityId).min(1).max(500),
  mfaRequired: z.boolean(),
  mustExpire: z.boolean(),
}).strict();
export type GroupFields = z.infer<typeof GroupFields>;

/* --------------------------------------------------------------------------- approvals */

/** One line of a change as the approver reads it: the field and its value, in words. */
export const ChangeLine = z.object({ field: z.string().max(100), value: z.string().max(2000) });
export type ChangeLine = z.infer<typeof ChangeLine>;

export const ApprovalView = z.object({
  id: RecordId,
  kind: SensitiveActionKindName,
  title: z.string().max(200),
  /** What approving it will do, as the server wrote it when it was asked. */
  summary: z.string().max(2000),
  /** The exact change, field by field. */
  change: z.array(ChangeLine).max(100),
  reason: z.string().max(1000),
  locations: z.array(DepotRef).max(500),
  handsOut: Permissions,
  requestedBy: z.string().max(256),
  requestedAt: Timestamp,
  expiresAt: Timestamp,
  status: ApprovalStatus,
  decidedBy: z.string().max(256).nullable(),
  decidedAt: Timestamp.nullable(),
  decisionNote: z.string().max(1000).nullable(),
  staleReason: z.string().max(1000).nullable(),
  usedAt: Timestamp.nullable(),
  mine: z.boolean(),
  mayDecide: z.boolean(),
  /** An approved bulk export of mine not yet downloaded: the console can fetch it once. */
  canDownload: z.boolean(),
});
export type ApprovalView = z.infer<typeof ApprovalView>;

export const MaxApprovals = 500;

export const ApprovalsView = z.object({
  /** Pending requests of other people this user may decide now, soonest to expire first. */
  toDecide: z.array(ApprovalView).max(MaxApprovals),
  /** The user's own requests, newest first. */
  mine: z.array(ApprovalView).max(MaxApprovals),
});
export type ApprovalsView = z.infer<typeof ApprovalsView>;

/** A change that needed a second person: it was not made; it waits in `approval`. */
const Pending = z.object({ outcome: z.literal('pending_approval'), approval: ApprovalView });

export const GroupChangeResult = z.discriminatedUnion('outcome', [
  z.object({ outcome: z.literal('applied'), group: GroupView }),
  Pending,
]);
export type GroupChangeResult = z.infer<typeof GroupChangeResult>;

/* ----------------------------------------------------------------------------- exports */

export const ExportPreviewView = z.object({
  rowCount: z.number().int().nonnegative(),
  columns: z.array(z.string().max(64)).max(100),
  maxRangeDays: z.number().int().positive(),
  bulkRows: z.number().int().nonnegative(),
  needsApproval: z.boolean(),
});
export type ExportPreviewView = z.infer<typeof ExportPreviewView>;

export const ExportResult = z.discriminatedUnion('outcome', [
  /** Written where the user chose. */
  z.object({ outcome: z.literal('saved'), path: z.string().max(4096), rows: z.number().int().nonnegative().nullable() }),
  /** The user closed the save dialog: nothing was written (an approved export can still be downloaded). */
  z.object({ outcome: z.literal('cancelled') }),
  Pending,
]);
export type ExportResult = z.infer<typeof ExportResult>;

const ExportArgs = z.object({
  locationId: EntityId,
  from: CalendarDate,
  to: CalendarDate,
  classes: z.array(ExportDataClass).min(1).max(exportDataClasses.length),
});

/* ------------------------------------------------------------------------------- calls */

const WithReason = { reason: ApprovalReason.optional() };

export const governanceBridgeCalls = {
  /** Groups whose scope includes the depot; needs `group.manage` there. */
  listGroups: { args: z.object({ locationId: EntityId, includeRetired: z.boolean().optional() }).strict(), result: z.array(GroupView).max(MaxGroups) },
  /** `reason` is asked for when the change needs a second person's approval. */
  createGroup: { args: z.object({ locationId: EntityId, group: GroupFields, ...WithReason }).strict(), result: GroupChangeResult },
  updateGroup: {
    args: z.object({ locationId: EntityId, id: GroupId, expectedVersion: z.number().int().positive(), group: GroupFields, ...WithReason }).strict(),
    result: GroupChangeResult,
  },
  /** Its grants end at once. Retiring only narrows, so it never needs approval. */
  retireGroup: { args: z.object({ locationId: EntityId, id: GroupId }).strict(), result: GroupChangeResult },
  /** Every user with access at the depot; needs `group.manage` there. */
  locationAccess: { args: z.object({ locationId: EntityId }).strict(), result: z.array(AccessHolderView).max(MaxAccessHolders) },

  approvals: { args: z.object({}).strict(), result: ApprovalsView },
  /** How many requests wait for this user's decision: the console's notice, asked every little while. */
  approvalNotices: { args: z.object({}).strict(), result: z.object({ awaitingDecision: z.number().int().nonnegative() }) },
  /** A note is optional to approve, required to deny (the requester reads it). */
  decideApproval: {
    args: z.object({ id: RecordId, approve: z.boolean(), note: z.string().trim().max(1000).optional() }).strict()
      .refine((a) => a.approve || (a.note?.length ?? 0) >= 3, { message: 'say why you deny it', path: ['note'] }),
    result: ApprovalView,
  },
  withdrawApproval: { args: z.object({ id: RecordId }).strict(), result: ApprovalView },

  /** How many rows an export would have, and whether it needs approval; needs `export.operational`. */
  exportPreview: { args: ExportArgs.strict(), result: ExportPreviewView },
  /** Downloads the file in main and saves it where the user picks; a bulk export becomes a request instead. */
  exportStops: { args: ExportArgs.extend({ format: ExportFormat, ...WithReason }).strict(), result: ExportResult },
  /** An approved bulk export of mine, fetched once and saved where the user picks. */
  downloadApprovedExport: { args: z.object({ id: RecordId }).strict(), result: ExportResult },
} as const satisfies Record<string, { args: z.ZodType; result: z.ZodType }>;
