import type { BridgeArgs, StopTrackingLinks, TrackingLinkCreated, TrackingLinkInfo } from '@depotline/shared';
import { ServerRequestError } from '../../core';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { permissionsOf } from './console-views';

export interface ConsoleTrackingOptions {
  /** The unlocked session; throws ConsoleError `locked` or `not_signed_in` otherwise. */
  session: () => ActiveSession;
  /** Making or revoking a link counts as activity for the idle lock. */
  activity: () => void;
}

/**
 * The stop detail's customer tracking links (`tracking.manage` at the stop's depot), asked of
 * the server with this session's token (core/sync/tracking-client.ts). A new link's address is
 * handed to the page in the create answer and kept nowhere here.
 */
export class ConsoleTracking {
  readonly #o: ConsoleTrackingOptions;

  constructor(options: ConsoleTrackingOptions) {
    this.#o = options;
  }

  async stopTrackingLinks(args: BridgeArgs<'stopTrackingLinks'>): Promise<StopTrackingLinks> {
    const session = this.#o.session();
    if (!(await this.#mayManage(session, args.stopId))) return { canManage: false, links: [] };
    return { canManage: true, links: (await translate(session.client.tracking.list(args.stopId))).slice(0, 100) };
  }

  async createTrackingLink(args: BridgeArgs<'createTrackingLink'>): Promise<TrackingLinkCreated> {
    const session = this.#o.session();
    if (!(await this.#mayManage(session, args.stopId))) throw new ConsoleError('forbidden', 'Your access at this depot does not include tracking links.');
    const made = await translate(session.client.tracking.create(args.stopId));
    this.#o.activity();
    return made;
  }

  async revokeTrackingLink(args: BridgeArgs<'revokeTrackingLink'>): Promise<TrackingLinkInfo> {
    const revoked = await translate(this.#o.session().client.tracking.revoke(args.linkId));
    this.#o.activity();
    return revoked;
  }

  async #mayManage(session: ActiveSession, stopId: string): Promise<boolean> {
    const stop = await session.store.stop(stopId);
    if (!stop) throw new ConsoleError('not_found', 'That stop is not on this device any more.');
    const location = (await session.store.locations()).find((l) => l.id === stop.locationId);
    return location !== undefined && permissionsOf(location).has('tracking.manage');
  }
}

/** The server's refusals here, in words; anything else goes to the console's common translation. */
async function translate<T>(request: Promise<T>): Promise<T> {
  try {
    return await request;
  } catch (err) {
    if (!(err instanceof ServerRequestError)) throw err;
    if (err.code === 'forbidden' || err.code === 'not_found') {
      throw new ConsoleError(err.code, 'The server did not find that stop or link within your access. Refresh the stop.');
    }
    if (err.code === 'conflict' || err.code === 'bad_request') throw new ConsoleError('bad_request', `The server refused it: ${err.message.slice(0, 500)}`);
    throw err;
  }
}
