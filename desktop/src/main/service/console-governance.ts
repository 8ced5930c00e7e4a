import {
  ExportStopsRequest, groupChangeNeedsApproval, MaxAccessHolders, MaxApprovals, MaxGroups,
  type ApprovalsView, type ApprovalView, type BridgeArgs, type BridgeValue, type ExportPreviewView, type ExportResult,
  type GroupChangeResult, type GroupView, type Permission, sensitivePermissionsInWords,
} from '@depotline/shared';
import { ServerRequestError, type ExportFile, type GovernanceClient, type Held } from '../../core';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { permissionsOf } from './console-views';
import { exportFileName, writeExport, type ChooseSavePath } from './export-save';
import { toApprovalView, toGroupView, toHolderView, type DepotNames } from './governance-views';

export interface ConsoleGovernanceOptions {
  /** The unlocked session; throws ConsoleError `locked` or `not_signed_in` otherwise. */
  session: () => ActiveSession;
  /** The native save dialog (Electron); absent where there is none, and then nothing can be exported. */
  chooseSavePath: ChooseSavePath | undefined;
  /** A change on these screens counts as activity for the idle lock. */
  activity: () => void;
}

/**
 * The governance screens' calls: permission groups and who holds what at a depot, approval
 * requests, and exports, asked of the server with this session's token
 * (core/sync/governance-client.ts). Each call first checks the permission at the depot as this
 * computer last synced it, so the screens' hidden buttons are refused here too (the server
 * decides again). Export files pass through main to the place the user picks; nothing is kept.
 */
export class ConsoleGovernance {
  readonly #o: ConsoleGovernanceOptions;

  constructor(options: ConsoleGovernanceOptions) {
    this.#o = options;
  }

  #client(): GovernanceClient {
    return this.#o.session().client.governance;
  }

  /* ------------------------------------------------------------------ groups and access */

  async listGroups(args: BridgeArgs<'listGroups'>): Promise<GroupView[]> {
    const names = await this.#require(args.locationId, ['group.manage']);
    const groups = await this.#client().groups(args.locationId, { includeRetired: args.includeRetired ?? false });
    return groups.slice(0, MaxGroups).map((g) => toGroupView(g, names)).sort((a, b) => Number(a.retiredAt !== null) - Number(b.retiredAt !== null) || a.name.localeCompare(b.name));
  }

  async createGroup(args: BridgeArgs<'createGroup'>): Promise<GroupChangeResult> {
    const names = await this.#require(args.locationId, ['group.manage']);
    if (!args.reason && groupChangeNeedsApproval(null, args.group)) throw new ConsoleError('approval_required', groupNeedsApproval);
    return this.#done(groupResult(await translate(this.#client().createGroup({ ...args.group, ...reasonOf(args) })), names));
  }

  async updateGroup(args: BridgeArgs<'updateGroup'>): Promise<GroupChangeResult> {
    const names = await this.#require(args.locationId, ['group.manage']);
    const held = await translate(this.#client().updateGroup(args.id, { ...args.group, expectedVersion: args.expectedVersion, ...reasonOf(args) }));
    return this.#done(groupResult(held, names));
  }

  async retireGroup(args: BridgeArgs<'retireGroup'>): Promise<GroupChangeResult> {
    const names = await this.#require(args.locationId, ['group.manage']);
    return this.#done(groupResult(await translate(this.#client().retireGroup(args.id)), names));
  }

  /** Who holds what: for whoever manages groups or grants at the depot, as the server allows. */
  async locationAccess(args: BridgeArgs<'locationAccess'>): Promise<BridgeValue<'locationAccess'>> {
    const names = await this.#require(args.locationId, ['group.manage', 'grant.manage'], 'any');
    const holders = await this.#client().locationAccess(args.locationId);
    return holders.slice(0, MaxAccessHolders).map((h) => toHolderView(h, names)).sort((a, b) => a.displayName.localeCompare(b.displayName));
  }

  /* ------------------------------------------------------------------------- approvals */

  /** Every request the server lists for this user: theirs, and others' they may decide. */
  async approvals(): Promise<ApprovalsView> {
    const names = await this.#names();
    const all = await offered(this.#client().approvals({ limit: MaxApprovals }));
    if (all === null) return { toDecide: [], mine: [] };
    const views = all.map((a) => toApprovalView(a, names));
    return {
      toDecide: views.filter((a) => a.mayDecide).sort((a, b) => a.expiresAt - b.expiresAt),
      mine: views.filter((a) => a.mine).sort((a, b) => b.requestedAt - a.requestedAt),
    };
  }

  /** Asked every little while for the console's notice; a server without approvals has none. */
  async approvalNotices(): Promise<BridgeValue<'approvalNotices'>> {
    const pending = await offered(this.#client().approvals({ status: 'pending', limit: MaxApprovals }));
    return { awaitingDecision: (pending ?? []).filter((a) => a.mayDecide && !a.mine).length };
  }

  async decideApproval(args: BridgeArgs<'decideApproval'>): Promise<ApprovalView> {
    const names = await this.#names();
    const decided = await translate(this.#client().decide(args.id, args.approve, args.note ? { note: args.note } : {}));
    return this.#done(toApprovalView(decided, names));
  }

  async withdrawApproval(args: BridgeArgs<'withdrawApproval'>): Promise<ApprovalView> {
    const names = await this.#names();
    return this.#done(toApprovalView(await translate(this.#client().withdraw(args.id)), names));
  }

  /* --------------------------------------------------------------------------- exports */

  async exportPreview(args: BridgeArgs<'exportPreview'>): Promise<ExportPreviewView> {
    await this.#require(args.locationId, exportPermissions(args.classes));
    const p = await translate(this.#client().exportPreview(args));
    return { rowCount: p.rowCount, columns: p.columns.slice(0, 100), maxRangeDays: p.maxRangeDays, bulkRows: p.bulkRows, needsApproval: p.needsApproval };
  }

  /**
   * An export the policy lets through is downloaded after the user picked where it goes (closing
   * the dialog fetches nothing, so nothing is exported or audited for it). A bulk export is sent
   * as an approval request with the user's reason instead; once approved, it is downloaded from
   * "My requests" (`downloadApprovedExport`).
   */
  async exportStops(args: BridgeArgs<'exportStops'>): Promise<ExportResult> {
    const names = await this.#require(args.locationId, exportPermissions(args.classes));
    const client = this.#client();
    const request = { locationId: args.locationId, from: args.from, to: args.to, format: args.format, classes: args.classes };
    const preview = await translate(client.exportPreview(request));
    if (preview.needsApproval) {
      if (!args.reason) {
        throw new ConsoleError('approval_required', `This export has ${preview.rowCount} rows, more than ${preview.bulkRows}: a second person has to approve it. Say why you need it, and send the request.`);
      }
      const approval = await translate(client.requestApproval({ kind: 'export.bulk', change: request, reason: args.reason }));
      return this.#done({ outcome: 'pending_approval', approval: toApprovalView(approval, names) });
    }
    const target = await this.#savePath(exportFileName(names.get(args.locationId) ?? null, args.from, args.to, args.format), args.format);
    if (target === null) return { outcome: 'cancelled' };
    const held = await translate(client.exportStops(request), 'export');
    if ('approval' in held) return this.#done({ outcome: 'pending_approval', approval: toApprovalView(held.approval, names) });
    return this.#done(await saved(target, held.applied));
  }

  async downloadApprovedExport(args: BridgeArgs<'downloadApprovedExport'>): Promise<ExportResult> {
    const names = await this.#names();
    const client = this.#client();
    const request = (await client.approvals({ mine: true, limit: MaxApprovals })).find((a) => a.id === args.id);
    if (!request || request.kind !== 'export.bulk' || request.status !== 'approved') {
      throw new ConsoleError('not_found', 'There is no approved export of yours with that request. Refresh "My requests".');
    }
    if (request.usedAt !== null) throw new ConsoleError('bad_request', 'This approved export was downloaded already; each approval gives one download. Ask again for another.');
    const change = ExportStopsRequest.safeParse(request.change);
    if (!change.success) throw new ConsoleError('server_error', 'The server sent an export request this console does not understand. Try again later.');
    const { locationId, from, to, format } = change.data;
    const target = await this.#savePath(exportFileName(names.get(locationId) ?? null, from, to, format), format);
    if (target === null) return { outcome: 'cancelled' };
    return this.#done(await saved(target, await translate(client.approvedExport(args.id), 'export')));
  }

  async #savePath(fileName: string, format: 'csv' | 'xlsx'): Promise<string | null> {
    const choose = this.#o.chooseSavePath;
    if (!choose) throw new ConsoleError('forbidden', 'This console cannot save files. Export from a Depotline console on a computer.');
    return choose({ fileName, format });
  }

  /* ------------------------------------------------------------------------- plumbing */

  /**
   * Every permission listed, at that depot, as this computer last synced it; answers the names of
   * the user's depots (for the views). The screens show these parts only to holders.
   */
  /** The depot names, once `permissions` (every one, or with `'any'` one of them) are held at the depot. */
  async #require(locationId: string, permissions: readonly Permission[], need: 'every' | 'any' = 'every'): Promise<DepotNames> {
    const locations = await this.#o.session().store.locations();
    const location = locations.find((l) => l.id === locationId);
    const held = location ? permissionsOf(location) : new Set<Permission>();
    const holds = need === 'every' ? permissions.every((p) => held.has(p)) : permissions.some((p) => held.has(p));
    if (!location || !holds) throw new ConsoleError('forbidden', 'Your access at this depot does not allow that.');
    return new Map(locations.map((l) => [l.id, l.name]));
  }

  async #names(): Promise<DepotNames> {
    return new Map((await this.#o.session().store.locations()).map((l) => [l.id, l.name]));
  }

  #done<T>(value: T): T {
    this.#o.activity();
    return value;
  }
}

const exportPermissions = (classes: readonly string[]): Permission[] =>
  classes.includes('customer') ? ['export.operational', 'export.customer'] : ['export.operational'];

const reasonOf = (args: { reason?: string | undefined }): { reason?: string } => (args.reason ? { reason: args.reason } : {});

function groupResult(held: Held<Parameters<typeof toGroupView>[0]>, names: DepotNames): GroupChangeResult {
  return 'approval' in held
    ? { outcome: 'pending_approval', approval: toApprovalView(held.approval, names) }
    : { outcome: 'applied', group: toGroupView(held.applied, names) };
}

async function saved(target: string, file: ExportFile): Promise<ExportResult> {
  await writeExport(target, file.bytes);
  return { outcome: 'saved', path: target, rows: file.rows };
}

/** A part this server does not offer (its endpoint answers `not_found`) is null. */
async function offered<T>(request: Promise<T>): Promise<T | null> {
  try {
    return await request;
  } catch (err) {
    if (err instanceof ServerRequestError && err.code === 'not_found') return null;
    throw err;
  }
}

/**
 * The server's governance refusals, in words for the person at the screen. Anything else goes to
 * the console's common translation (console-error.ts).
 */
async function translate<T>(request: Promise<T>, what: 'change' | 'export' = 'change'): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (!(err instanceof ServerRequestError)) throw err;
    const text = governanceMessages[err.code as keyof typeof governanceMessages];
    if (text) throw new ConsoleError(text[0], what === 'export' && err.code === 'approval_required' ? exportNeedsApproval : text[1]);
    // A change sent without a reason that the server judged to need a second person (for example a
    // denial of a sensitive permission one of the group's holders has): ask for the reason.
    if (err.code === 'bad_request' && err.message.includes('needs a second person')) throw new ConsoleError('approval_required', governanceMessages.approval_required[1]);
    if (err.code === 'bad_request' || err.code === 'conflict') throw new ConsoleError('bad_request', `The server refused it: ${err.message.slice(0, 500)}`);
    throw err;
  }
}

const groupNeedsApproval = `A group that lets its holders ${sensitivePermissionsInWords()} needs a second person\u2019s approval. Say why you want it, and send it as a request.`;

const exportNeedsApproval = 'This export now needs a second person\u2019s approval (it grew past the limit). Export again and say why you need it.';

const governanceMessages = {
  approval_required: ['approval_required', 'This change needs a second person\u2019s approval. Say why you want it, and send it again as a request.'],
  approval_own_request: ['forbidden', 'You asked for this change, so someone else has to decide it.'],
  approval_closed: ['bad_request', 'This request was already decided, withdrawn or used. Refresh the list.'],
  approval_expired: ['bad_request', 'This request expired before anyone decided it. Ask again if the change is still needed.'],
  approval_stale: ['bad_request', 'Things changed since this was asked, so it no longer applies and nothing was changed. Ask again if it is still needed.'],
  forbidden: ['forbidden', 'The server did not let you do that: your access does not cover every depot or permission this touches.'],
} as const satisfies Record<string, readonly [ConsoleError['code'], string]>;

