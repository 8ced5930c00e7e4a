import {
  ApprovalList, ApprovalRequest, ApprovalRequired, ExportPreview, exportRowCountHeader, GroupListResponse, GroupResponse, LocationAccessList,
  type AccessHolder, type ApprovalCreate, type ApprovalDecision, type ExportStopsRequest, type Group, type GroupCreate, type GroupUpdate,
} from '@depotline/shared';
import { z } from 'zod';
import { ServerDataRejectedError } from '../errors';
import type { AccessTokens } from './authorized';
import { authorizedCall } from './authorized';
import { RestTransport, segment, type RestMethod, type RestOptions } from './rest';

/** A change made at once, or held for a second person's approval (the server answered 202). */
export type Held<T> = { applied: T } | { approval: ApprovalRequest };

/** An export file as the server sent it. */
export interface ExportFile {
  bytes: Uint8Array;
  contentType: string;
  fileName: string | null;
  /** The row count the server reports in its header, when it does. */
  rows: number | null;
}

/** The largest export file the console takes (a bulk export of a big depot's month stays well below). */
export const maxExportBytes = 256 * 1024 * 1024;

const GroupOrApproval = z.union([GroupResponse, ApprovalRequired]);
const ApprovalBody = z.object({ approval: ApprovalRequest });

/**
 * Governance over REST (docs/api.md): permission groups and who holds what at a location,
 * four-eyes approval requests, and exports. Like the account client, every call carries only the
 * session's access token, and every JSON answer is parsed with its shared schema. Changes that
 * need a second person come back as the approval request that now waits (HTTP 202).
 */
export class GovernanceClient {
  readonly #rest: RestTransport;
  readonly #tokens: AccessTokens;

  constructor(serverUrl: URL, tokens: AccessTokens, options: RestOptions = {}) {
    this.#rest = new RestTransport(serverUrl, options);
    this.#tokens = tokens;
  }

  /* groups and access */

  async groups(locationId: string, options: { includeRetired?: boolean } = {}): Promise<Group[]> {
    const query = new URLSearchParams({ locationId, ...(options.includeRetired ? { includeRetired: 'true' } : {}) });
    return (await this.#json('GET', `/groups?${query.toString()}`, GroupListResponse)).groups;
  }

  async createGroup(body: GroupCreate & { reason?: string }): Promise<Held<Group>> {
    return heldGroup(await this.#json('POST', '/groups', GroupOrApproval, body));
  }

  async updateGroup(id: string, body: GroupUpdate & { reason?: string }): Promise<Held<Group>> {
    return heldGroup(await this.#json('PATCH', `/groups/${segment(id)}`, GroupOrApproval, body));
  }

  async retireGroup(id: string): Promise<Held<Group>> {
    return heldGroup(await this.#json('POST', `/groups/${segment(id)}/retire`, GroupOrApproval, {}));
  }

  async locationAccess(locationId: string): Promise<AccessHolder[]> {
    return (await this.#json('GET', `/locations/${segment(locationId)}/access`, LocationAccessList)).holders;
  }

  /* approvals */

  async approvals(query: { status?: ApprovalRequest['status']; mine?: boolean; limit?: number } = {}): Promise<ApprovalRequest[]> {
    const params = new URLSearchParams({
      ...(query.status ? { status: query.status } : {}),
      ...(query.mine !== undefined ? { mine: String(query.mine) } : {}),
      ...(query.limit !== undefined ? { limit: String(query.limit) } : {}),
    });
    const qs = params.size > 0 ? `?${params.toString()}` : '';
    return (await this.#json('GET', `/approvals${qs}`, ApprovalList)).approvals;
  }

  async requestApproval(body: ApprovalCreate): Promise<ApprovalRequest> {
    return (await this.#json('POST', '/approvals', ApprovalBody, body)).approval;
  }

  async decide(id: string, approve: boolean, body: ApprovalDecision): Promise<ApprovalRequest> {
    return (await this.#json('POST', `/approvals/${segment(id)}/${approve ? 'approve' : 'deny'}`, ApprovalBody, body)).approval;
  }

  async withdraw(id: string): Promise<ApprovalRequest> {
    return (await this.#json('POST', `/approvals/${segment(id)}/withdraw`, ApprovalBody, {})).approval;
  }

  /* exports */

  exportPreview(request: Omit<ExportStopsRequest, 'format'>): Promise<ExportPreview> {
    const query = new URLSearchParams({ from: request.from, to: request.to, classes: request.classes.join(',') });
    return this.#json('GET', `/locations/${segment(request.locationId)}/exports/stops/preview?${query.toString()}`, ExportPreview);
  }

  /** The file, or the approval request a bulk export became. */
  exportStops(request: ExportStopsRequest): Promise<Held<ExportFile>> {
    const query = new URLSearchParams({ from: request.from, to: request.to, format: request.format, classes: request.classes.join(',') });
    return this.#file(`/locations/${segment(request.locationId)}/exports/stops?${query.toString()}`);
  }

  /** An approved bulk export, once. */
  async approvedExport(approvalId: string): Promise<ExportFile> {
    const held = await this.#file(`/approvals/${segment(approvalId)}/export`);
    if ('approval' in held) throw new ServerDataRejectedError('the server answered an approved export with another approval request');
    return held.applied;
  }

  /* transport */

  async #file(path: string): Promise<Held<ExportFile>> {
    const answer = await authorizedCall(this.#tokens, (accessToken) =>
      this.#rest.fileOrJson('GET', `/api/v1${path}`, ApprovalRequired, { accessToken, maxBytes: maxExportBytes }));
    if (answer.kind === 'json') return { approval: answer.body.approval };
    const rows = Number(answer.headers.get(exportRowCountHeader) ?? Number.NaN);
    return {
      applied: {
        bytes: answer.bytes, contentType: answer.contentType, fileName: answer.fileName,
        rows: Number.isInteger(rows) && rows >= 0 ? rows : null,
      },
    };
  }

  #json<S extends z.ZodType>(method: RestMethod, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    return authorizedCall(this.#tokens, (accessToken) =>
      this.#rest.json(method, `/api/v1${path}`, schema, { accessToken, ...(body !== undefined ? { body } : {}) }));
  }
}

function heldGroup(answer: z.infer<typeof GroupOrApproval>): Held<Group> {
  return 'approvalRequired' in answer ? { approval: answer.approval } : { applied: answer.group };
}
