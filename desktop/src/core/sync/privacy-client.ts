import {
  ApprovalRequired, ConsentRecorded, CustomerSearchResult, LegalHold, LegalHoldList, LocationRetentionView, PrivacyEraseResult, PrivacyRectifyResult,
  PrivacyRequest, PrivacyRequestList, RetentionSettingsView, SharingRecorded, privacyExportProofCountHeader, privacyExportStopCountHeader,
  type ApprovalRequest, type ConsentRecordInput, type CustomerIdentity, type LegalHoldCreate, type LocationRetentionUpdate, type PrivacyCloseBody,
  type PrivacyEraseBody, type PrivacyRectifyBody, type PrivacyRequestCreate, type SharingInput,
} from '@depotline/shared';
import { z } from 'zod';
import { ServerDataRejectedError } from '../errors';
import { authorizedCall, type AccessTokens } from './authorized';
import type { Held } from './governance-client';
import { RestTransport, segment, type RestMethod, type RestOptions } from './rest';

const HoldBody = z.object({ hold: LegalHold });
const RetentionBody = z.object({ retention: LocationRetentionView });
const RetentionOrApproval = z.union([ApprovalRequired, RetentionBody]);
const EraseOrApproval = z.union([ApprovalRequired, PrivacyEraseResult]);

/** The largest access export the console takes (a customer's stops and proof photos). */
export const maxAccessExportBytes = 512 * 1024 * 1024;

/** An access export as the server sent it: bytes in memory until main writes them where the admin chose. */
export interface AccessExportFile {
  bytes: Uint8Array;
  stops: number | null;
  proofs: number | null;
}

/**
 * Customer privacy and retention over REST for the console's Privacy screen (docs/api.md
 * "Retention and legal holds", "Customer privacy", "Privacy requests"), with the session's token.
 * A customer's phone or email travels only in POST bodies, never in a URL; answers are parsed with
 * their shared schemas and handed up. This client keeps nothing: no answer, no body, no log line.
 */
export class PrivacyClient {
  readonly #rest: RestTransport;
  readonly #tokens: AccessTokens;

  constructor(serverUrl: URL, tokens: AccessTokens, options: RestOptions = {}) {
    this.#rest = new RestTransport(serverUrl, { ...options, timeoutMs: options.timeoutMs ?? 60_000 });
    this.#tokens = tokens;
  }

  /* the register of requests */

  async requests(query: { status?: 'open' | 'closed'; limit: number }): Promise<PrivacyRequest[]> {
    const params = new URLSearchParams({ limit: String(query.limit), ...(query.status ? { status: query.status } : {}) });
    return (await this.#json('GET', `/privacy/requests?${params.toString()}`, PrivacyRequestList)).requests;
  }

  request(id: string): Promise<PrivacyRequest> {
    return this.#json('GET', `/privacy/requests/${segment(id)}`, PrivacyRequest);
  }

  createRequest(body: PrivacyRequestCreate): Promise<PrivacyRequest> {
    return this.#json('POST', '/privacy/requests', PrivacyRequest, body);
  }

  closeRequest(id: string, body: PrivacyCloseBody): Promise<PrivacyRequest> {
    return this.#json('POST', `/privacy/requests/${segment(id)}/close`, PrivacyRequest, body);
  }

  /** Erased, or (202) waiting for a second admin because it deletes stops or destroys proofs. */
  async erase(id: string, body: Partial<PrivacyEraseBody>): Promise<Held<PrivacyEraseResult>> {
    const answer = await this.#json('POST', `/privacy/requests/${segment(id)}/erase`, EraseOrApproval, body);
    return 'approvalRequired' in answer ? { approval: answer.approval } : { applied: answer };
  }

  rectify(id: string, body: PrivacyRectifyBody): Promise<PrivacyRectifyResult> {
    return this.#json('POST', `/privacy/requests/${segment(id)}/rectify`, PrivacyRectifyResult, body);
  }

  /** The ZIP itself; the server audits the export before it answers. */
  async accessExport(id: string): Promise<AccessExportFile> {
    const got = await authorizedCall(this.#tokens, (accessToken) =>
      this.#rest.fileOrJson('POST', `/api/v1/privacy/requests/${segment(id)}/access-export`, z.never(), { accessToken, maxBytes: maxAccessExportBytes }));
    if (got.kind !== 'file') throw new ServerDataRejectedError('the server answered an access export with JSON');
    return { bytes: got.bytes, stops: countOf(got.headers.get(privacyExportStopCountHeader)), proofs: countOf(got.headers.get(privacyExportProofCountHeader)) };
  }

  /* customers */

  search(customer: CustomerIdentity, locationIds: readonly string[]): Promise<CustomerSearchResult> {
    return this.#json('POST', '/privacy/customers/search', CustomerSearchResult, { customer, locationIds });
  }

  recordConsent(body: ConsentRecordInput): Promise<ConsentRecorded> {
    return this.#json('POST', '/privacy/customers/consents', ConsentRecorded, body);
  }

  setSharing(body: SharingInput): Promise<SharingRecorded> {
    return this.#json('POST', '/privacy/customers/sharing', SharingRecorded, body);
  }

  /* retention and legal holds */

  retentionSettings(): Promise<RetentionSettingsView> {
    return this.#json('GET', '/retention', RetentionSettingsView);
  }

  locationRetention(locationId: string): Promise<LocationRetentionView> {
    return this.#json('GET', `/locations/${segment(locationId)}/retention`, LocationRetentionView);
  }

  async setLocationRetention(locationId: string, body: LocationRetentionUpdate): Promise<Held<LocationRetentionView>> {
    const answer = await this.#json('PUT', `/locations/${segment(locationId)}/retention`, RetentionOrApproval, body);
    return 'approvalRequired' in answer ? { approval: answer.approval } : { applied: answer.retention };
  }

  async legalHolds(locationId: string, activeOnly: boolean): Promise<LegalHold[]> {
    return (await this.#json('GET', `/locations/${segment(locationId)}/legal-holds${activeOnly ? '?active=true' : ''}`, LegalHoldList)).holds;
  }

  async placeLegalHold(locationId: string, body: LegalHoldCreate): Promise<LegalHold> {
    return (await this.#json('POST', `/locations/${segment(locationId)}/legal-holds`, HoldBody, body)).hold;
  }

  async releaseLegalHold(holdId: string, reason: string): Promise<ApprovalRequest> {
    return (await this.#json('POST', `/legal-holds/${segment(holdId)}/release`, ApprovalRequired, { reason })).approval;
  }

  #json<S extends z.ZodType>(method: RestMethod, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    return authorizedCall(this.#tokens, (accessToken) =>
      this.#rest.json(method, `/api/v1${path}`, schema, { accessToken, ...(body !== undefined ? { body } : {}) }));
  }
}

function countOf(header: string | null): number | null {
  const n = header === null ? Number.NaN : Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : null;
}
