import {
  type ApprovalRequest, type Permission, type SensitiveActionKind, sensitiveActions,
} from '@depotline/shared';
import type { Selectable } from 'kysely';
import type { AccessProfile } from '../access/access-profile';
import { checkPermission } from '../access/authorize';
import type { AuditActor } from '../audit/audit-log';
import type { Database } from '../db/schema';
import type { SensitiveActionHandler } from './action';
import { approvalHandlers } from './registry';

export type ApprovalRow = Selectable<Database['approval_requests']>;

/**
 * Who decides: a signed-in user, checked against their grants, or the operator at the server
 * host's command line, a trusted second person (docs/security-model.md, "Four-eyes approvals").
 */
export type Decider =
  | { kind: 'user'; userId: string; actor: AuditActor; profile: AccessProfile }
  | { kind: 'operator'; actor: AuditActor };

/** Who is looking at a request: a user (with their access), or the operator. */
export type ApprovalViewer = Decider;

/**
 * The handler of a kind, seen over every kind: TypeScript cannot tie `approvalHandlers[kind]` to
 * the change's kind (microsoft/TypeScript#30581), so callers parse the change with the same
 * kind's schema first (`parseSensitiveChange`).
 */
export function handlerOf(kind: SensitiveActionKind): SensitiveActionHandler<SensitiveActionKind> {
  return approvalHandlers[kind];
}

export const isSensitiveActionKind = (kind: string): kind is SensitiveActionKind => Object.hasOwn(sensitiveActions, kind);

/**
 * The first permission a user lacks to decide a change touching `locationIds` and handing out
 * `handsOut`: `approval.decide` and every handed-out permission, at every touched location. A
 * change that touches no location (a user with no grant) needs them together at one location.
 */
export function missingAuthority(profile: AccessProfile, locationIds: readonly string[], handsOut: readonly Permission[], now: number): { permission: Permission; locationId: string | null } | null {
  const needed: Permission[] = ['approval.decide', ...handsOut.filter((p) => p !== 'approval.decide')];
  if (locationIds.length === 0) {
    const somewhere = [...profile.byLocation.keys()].some((locationId) => needed.every((permission) => checkPermission(profile, { permission, locationId }, now)));
    return somewhere ? null : { permission: 'approval.decide', locationId: null };
  }
  for (const locationId of locationIds) {
    for (const permission of needed) {
      if (!checkPermission(profile, { permission, locationId }, now)) return { permission, locationId };
    }
  }
  return null;
}

export const parseJsonList = <T extends string>(text: string): T[] => JSON.parse(text) as T[];

/** The user the stored change is about, or null (its change no longer parsing counts as none). */
export function subjectOf(row: ApprovalRow): string | null {
  if (!isSensitiveActionKind(row.kind)) return null;
  const change = sensitiveActions[row.kind].change.safeParse(JSON.parse(row.change));
  return change.success ? handlerOf(row.kind).subjectUserId(change.data) : null;
}

/** Whether the viewer may see the request at all: their own, or one they hold `approval.decide` for everywhere it touches. */
export function mayView(viewer: ApprovalViewer, row: ApprovalRow, now: number): boolean {
  if (viewer.kind === 'operator' || row.requested_by === viewer.userId) return true;
  return missingAuthority(viewer.profile, parseJsonList(row.location_ids), [], now) === null;
}

/** Whether the viewer may decide it now, judged on what was recorded (the decision checks again, on the database as it is). */
export function mayDecideNow(viewer: ApprovalViewer, row: ApprovalRow, now: number): boolean {
  if (row.status !== 'pending' || row.expires_at <= now) return false;
  if (viewer.kind === 'operator') return true;
  if (row.requested_by === viewer.userId || subjectOf(row) === viewer.userId) return false;
  return missingAuthority(viewer.profile, parseJsonList(row.location_ids), parseJsonList<Permission>(row.hands_out), now) === null;
}

export function presentApproval(row: ApprovalRow, viewer: ApprovalViewer, now: number): ApprovalRequest {
  const kind = row.kind as SensitiveActionKind;
  return {
    id: row.id,
    kind,
    title: sensitiveActions[kind]?.title ?? row.kind,
    summary: row.summary,
    change: JSON.parse(row.change) as Record<string, unknown>,
    reason: row.reason,
    locationIds: parseJsonList(row.location_ids),
    handsOut: parseJsonList<Permission>(row.hands_out),
    requestedBy: { userId: row.requested_by, label: row.requested_by_label },
    requestedAt: Number(row.requested_at),
    expiresAt: Number(row.expires_at),
    status: row.status,
    decidedBy: row.decided_by_label === null ? null : { userId: row.decided_by, label: row.decided_by_label },
    decidedAt: row.decided_at === null ? null : Number(row.decided_at),
    decisionNote: row.decision_note,
    staleReason: row.stale_reason,
    usedAt: row.used_at === null ? null : Number(row.used_at),
    mine: viewer.kind === 'user' && row.requested_by === viewer.userId,
    mayDecide: mayDecideNow(viewer, row, now),
  };
}
