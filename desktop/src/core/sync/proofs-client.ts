import { ApprovalRequired, MaxProofFileBytes, proofSha256Header, StopProofs, type ApprovalRequest } from '@depotline/shared';
import { z } from 'zod';
import { ServerDataRejectedError } from '../errors';
import { authorizedCall, type AccessTokens } from './authorized';
import { RestTransport, segment, type RestOptions } from './rest';

const SummaryBody = z.object({ stopId: z.string(), summary: StopProofs.shape.summary });

/** A proof's image as the server sent it: bytes in memory, never written anywhere by this client. */
export interface FetchedProofFile {
  contentType: string;
  sha256: string;
  bytes: Uint8Array;
}

/**
 * Proof of delivery over REST for the console (docs/api.md "Proof of delivery"): a stop's proofs
 * (`pod.view`) or its summary (anyone who sees the stop), a proof's file (each view audited on
 * the server), the sealed dispute bundle (`pod.export`) and a deletion request (`pod.delete`,
 * answered with the approval request that now waits). Only the session's access token is sent;
 * every JSON answer is parsed with its shared schema, a file is bounded in size.
 */
export class ProofsClient {
  readonly #rest: RestTransport;
  readonly #tokens: AccessTokens;

  constructor(serverUrl: URL, tokens: AccessTokens, options: RestOptions = {}) {
    this.#rest = new RestTransport(serverUrl, { ...options, timeoutMs: options.timeoutMs ?? 60_000 });
    this.#tokens = tokens;
  }

  stopProofs(stopId: string): Promise<StopProofs> {
    return this.#json('GET', `/stops/${segment(stopId)}/proofs`, StopProofs);
  }

  summary(stopId: string): Promise<z.infer<typeof SummaryBody>> {
    return this.#json('GET', `/stops/${segment(stopId)}/proof-summary`, SummaryBody);
  }

  async file(proofId: string): Promise<FetchedProofFile> {
    const got = await this.#file(`/proofs/${segment(proofId)}/file`);
    return { contentType: got.contentType, sha256: got.headers.get(proofSha256Header) ?? '', bytes: got.bytes };
  }

  /** The ZIP itself (the server audits the export before it answers). */
  async bundle(stopId: string): Promise<{ bytes: Uint8Array; fileName: string | null }> {
    const got = await this.#file(`/stops/${segment(stopId)}/proof-bundle`);
    return { bytes: got.bytes, fileName: got.fileName };
  }

  async requestDeletion(proofId: string, reason: string): Promise<ApprovalRequest> {
    return (await this.#json('POST', `/proofs/${segment(proofId)}/delete`, ApprovalRequired, { reason })).approval;
  }

  async #file(path: string) {
    const got = await authorizedCall(this.#tokens, (accessToken) =>
      this.#rest.fileOrJson('GET', `/api/v1${path}`, z.never(), { accessToken, maxBytes: MaxProofFileBytes }));
    if (got.kind !== 'file') throw new ServerDataRejectedError('the server answered a file request with JSON');
    return got;
  }

  #json<S extends z.ZodType>(method: 'GET' | 'POST', path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    return authorizedCall(this.#tokens, (accessToken) =>
      this.#rest.json(method, `/api/v1${path}`, schema, { accessToken, ...(body !== undefined ? { body } : {}) }));
  }
}
