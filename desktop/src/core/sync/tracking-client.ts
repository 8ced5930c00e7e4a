import { TrackingLinkCreated, TrackingLinkInfo } from '@depotline/shared';
import { z } from 'zod';
import { authorizedCall, type AccessTokens } from './authorized';
import { RestTransport, segment, type RestOptions } from './rest';

const LinkList = z.object({ links: z.array(TrackingLinkInfo).max(100) });
const OneLink = z.object({ link: TrackingLinkInfo });

/**
 * A stop's customer tracking links over REST (docs/api.md "Customer tracking links",
 * `tracking.manage`): list, create (the address comes back this once) and revoke. Only the
 * session's access token is sent; every answer is parsed with its shared schema.
 */
export class TrackingClient {
  readonly #rest: RestTransport;
  readonly #tokens: AccessTokens;

  constructor(serverUrl: URL, tokens: AccessTokens, options: RestOptions = {}) {
    this.#rest = new RestTransport(serverUrl, options);
    this.#tokens = tokens;
  }

  async list(stopId: string): Promise<TrackingLinkInfo[]> {
    return (await this.#json('GET', `/stops/${segment(stopId)}/tracking-links`, LinkList)).links;
  }

  create(stopId: string): Promise<TrackingLinkCreated> {
    return this.#json('POST', `/stops/${segment(stopId)}/tracking-links`, TrackingLinkCreated, {});
  }

  async revoke(linkId: string): Promise<TrackingLinkInfo> {
    return (await this.#json('POST', `/tracking-links/${segment(linkId)}/revoke`, OneLink, {})).link;
  }

  #json<S extends z.ZodType>(method: 'GET' | 'POST', path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    return authorizedCall(this.#tokens, (accessToken) =>
      this.#rest.json(method, `/api/v1${path}`, schema, { accessToken, ...(body !== undefined ? { body } : {}) }));
  }
}
