import type { Permission, SensitiveActionKind, SensitiveChange } from '@depotline/shared';
import type { AccessProfile } from '../access/access-profile';
import type { AuditActor } from '../audit/audit-log';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import type { LiveFeed } from '../sync/mutations/handler';

/** The request a handler sees: who asked (their access as it is now) and when. */
export interface ApprovalRequester {
  userId: string;
  actor: AuditActor;
  /** The requester's access at the time of the check (at request time, or reloaded at approval). */
  profile: AccessProfile;
}

/** What an apply function receives besides the change: everything runs in `trx`, the decision's transaction. */
export interface ApplyCall {
  ctx: ServerContext;
  trx: Db;
  /** The actor the applied change is audited as: the requester, who asked for it. */
  requester: AuditActor;
  /** The requester's access as it is now (already checked with `mayRequest`). */
  requesterProfile: AccessProfile;
  /** The request's id, named in the audit entries of the change. */
  approvalId: string;
  now: number;
  /**
   * Work that must wait until the decision has committed (files to remove, desktops to tell);
   * run in order after the commit, best effort (a failure is logged, the change stays applied).
   */
  afterCommit: (work: () => Promise<void> | void) => void;
  /** The server's live feed when the decision came over REST; null at the command line (desktops learn at their next pull). */
  live: LiveFeed | null;
}

/**
 * How the server handles one kind of sensitive action. Everything is a function of the change
 * and the database *now*: it runs when the change is requested, and again inside the decision's
 * transaction, where a change that no longer holds is refused as stale.
 */
export interface SensitiveActionHandler<K extends SensitiveActionKind> {
  /** Every location the change touches: an approver needs `approval.decide` at each. */
  touches(db: Db, change: SensitiveChange<K>, now: number): Promise<string[]>;
  /** The permissions the change hands out: an approver must hold each at every touched location. */
  handsOut(db: Db, change: SensitiveChange<K>, now: number): Promise<Permission[]>;
  /** The user the change is about (a grantee, a user whose factors go), who may never decide it. */
  subjectUserId(change: SensitiveChange<K>): string | null;
  /**
   * Null when the requester may ask for the change, else why not. At request time a refusal
   * is `forbidden`; at approval it makes the request stale (the requester lost the right to ask).
   */
  mayRequest(db: Db, requester: ApprovalRequester, change: SensitiveChange<K>, now: number): Promise<string | null>;
  /** Null when the change can still be applied, else why not (the target was disabled, the group changed...). */
  check(db: Db, change: SensitiveChange<K>, now: number): Promise<string | null>;
  /** Exactly what approving will do, in words, for the approver. */
  summary(db: Db, change: SensitiveChange<K>): Promise<string>;
  /**
   * Applies the change in the decision's transaction, with its own audit entries; returns
   * details for the `approval.approve` entry. Not given for a change that is used once after
   * approval instead (a bulk export: the requester downloads it).
   */
  apply?(call: ApplyCall, change: SensitiveChange<K>): Promise<Record<string, unknown>>;
}

/** Every kind's handler. A mapped type: a kind declared in shared/ without a handler does not compile. */
export type SensitiveActionRegistry = { readonly [K in SensitiveActionKind]: SensitiveActionHandler<K> };
