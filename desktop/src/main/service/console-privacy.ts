import {
  MaxCustomerStops, MaxPrivacyRequests, privacyAccessExportFileName,
  type BridgeArgs, type ConsoleCustomerView, type ConsolePrivacyOutcome, type ConsolePrivacyRequestView, type CustomerIdentity,
  type PrivacyRequest, type SavedFileResult,
} from '@depotline/shared';
import { toApprovalView } from './governance-views';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { writeExport, type ChooseSavePath } from './export-save';
import { PrivacyRetention } from './privacy-retention';
import { privacyAccess, registerOrder, toCustomerView, toHoldNotice, toRequestView, translate, type PrivacyAccess } from './privacy-views';

export interface ConsolePrivacyOptions {
  /** The unlocked session; throws ConsoleError `locked` or `not_signed_in` otherwise. */
  session: () => ActiveSession;
  /** A change on this screen counts as activity for the idle lock. */
  activity: () => void;
  /** Where the admin saves an access export; absent: this console cannot save files. */
  chooseSavePath: ChooseSavePath | undefined;
}

/**
 * The Privacy screen's calls (admins): the register of data subject requests at a depot, the
 * access export, erasure, rectification, finding a customer, consent and the sharing flag, asked
 * of the server with this session's token (core/sync/privacy-client.ts); the depot's retention
 * periods and legal holds are in privacy-retention.ts. Each call first checks `privacy.manage` at
 * the depot as this computer last synced it, so the hidden screen is refused here too (the server
 * decides again). A customer's details pass from the server's answer to the bridge's, or from the
 * admin's arguments to the server: this object keeps none of them, the console's database never
 * sees them, and nothing here logs.
 */
export class ConsolePrivacy {
  readonly #o: ConsolePrivacyOptions;
  /** Retention periods and legal holds. */
  readonly retention: PrivacyRetention;

  constructor(options: ConsolePrivacyOptions) {
    this.#o = options;
    this.retention = new PrivacyRetention({ session: options.session, activity: options.activity });
  }

  #access(locationId: string): Promise<PrivacyAccess> {
    return privacyAccess(this.#o.session(), locationId, ['privacy.manage']);
  }

  /* ------------------------------------------------------------------------- the register */

  async privacyRequests(args: BridgeArgs<'privacyRequests'>): Promise<ConsolePrivacyRequestView[]> {
    const { client, names, managed } = await this.#access(args.locationId);
    const lists = await Promise.all((args.includeClosed ? ['open', 'closed'] as const : ['open'] as const).map((status) =>
      translate(client.requests({ status, limit: MaxPrivacyRequests }))));
    return lists.flat().filter((r) => r.locationIds.includes(args.locationId))
      .map((r) => toRequestView(r, names, managed)).sort(registerOrder).slice(0, MaxPrivacyRequests);
  }

  async createPrivacyRequest(args: BridgeArgs<'createPrivacyRequest'>): Promise<ConsolePrivacyRequestView> {
    const { client, names, managed } = await this.#access(args.locationId);
    const r = args.request;
    const made = await translate(client.createRequest({
      kind: r.kind, law: r.law, locationIds: [args.locationId], subject: r.subject,
      ...(r.receivedAt !== undefined ? { receivedAt: r.receivedAt } : {}), ...(r.reference ? { reference: r.reference } : {}),
    }));
    return this.#done(toRequestView(made, names, managed));
  }

  async closePrivacyRequest(args: BridgeArgs<'closePrivacyRequest'>): Promise<ConsolePrivacyRequestView> {
    const { access } = await this.#request(args);
    const closed = await translate(access.client.closeRequest(args.requestId, { reason: args.reason }));
    return this.#done(toRequestView(closed, access.names, access.managed));
  }

  /** The server audits the export when it builds the ZIP, so it is asked for only once a place is chosen. */
  async exportPrivacyAccess(args: BridgeArgs<'exportPrivacyAccess'>): Promise<SavedFileResult> {
    const { access, request } = await this.#request(args);
    if (request.kind !== 'access') throw new ConsoleError('bad_request', 'Only a request for access is answered with an export of the customer\u2019s data.');
    const choose = this.#o.chooseSavePath;
    if (!choose) throw new ConsoleError('forbidden', 'This console cannot save files. Export from a Depotline console on a computer.');
    const target = await choose({ fileName: privacyAccessExportFileName(request.id), format: 'zip' });
    if (target === null) return { outcome: 'cancelled' };
    const file = await translate(access.client.accessExport(request.id));
    await writeExport(target, file.bytes);
    return this.#done({ outcome: 'saved', path: target, bytes: file.bytes.byteLength, stops: file.stops, proofs: file.proofs });
  }

  async erasePrivacyRequest(args: BridgeArgs<'erasePrivacyRequest'>): Promise<ConsolePrivacyOutcome> {
    const { access, request } = await this.#request(args);
    if (request.kind !== 'erasure') throw new ConsoleError('bad_request', 'Only a request for erasure erases the customer\u2019s data. Register one for this customer first.');
    const held = await translate(access.client.erase(request.id, args.mode ? { mode: args.mode } : {}));
    if ('approval' in held) {
      return this.#done({
        request: toRequestView(request, access.names, access.managed), stopsFound: 0, stopsChanged: 0, heldStops: 0, holds: [],
        summary: 'Nothing is erased yet: this erasure deletes delivery records or destroys proofs of delivery, so a second admin must approve it. It runs when they do.',
        approval: toApprovalView(held.approval, access.names),
      });
    }
    const done = held.applied;
    return this.#done({
      request: toRequestView(done.request, access.names, access.managed), stopsFound: done.stopsFound, stopsChanged: done.stopsErased,
      heldStops: done.held.stops, holds: done.held.holds.slice(0, 50).map((h) => toHoldNotice(h, access.names)), summary: done.summary.slice(0, 2000),
    });
  }

  async rectifyPrivacyRequest(args: BridgeArgs<'rectifyPrivacyRequest'>): Promise<ConsolePrivacyOutcome> {
    const { access, request } = await this.#request(args);
    if (request.kind !== 'rectification') throw new ConsoleError('bad_request', 'Only a request for rectification corrects the customer\u2019s details. Register one for this customer first.');
    const done = await translate(access.client.rectify(request.id, args.changes));
    return this.#done({
      request: toRequestView(done.request, access.names, access.managed), stopsFound: done.stopsFound, stopsChanged: done.stopsChanged,
      heldStops: 0, holds: [], summary: done.summary.slice(0, 2000),
    });
  }

  /* -------------------------------------------------------------------------- customers */

  async searchCustomer(args: BridgeArgs<'searchCustomer'>): Promise<ConsoleCustomerView> {
    const { client, names } = await this.#access(args.locationId);
    const found = await translate(client.search(args.customer, [args.locationId]));
    return toCustomerView(found, args.locationId, names, MaxCustomerStops);
  }

  async recordCustomerConsent(args: BridgeArgs<'recordCustomerConsent'>): Promise<ConsoleCustomerView> {
    const { client } = await this.#access(args.locationId);
    await translate(client.recordConsent({ customer: args.customer, locationId: args.locationId, purpose: args.purpose, granted: args.granted, source: args.source }));
    return this.#done(await this.#customer(args.locationId, args.customer));
  }

  async setCustomerSharing(args: BridgeArgs<'setCustomerSharing'>): Promise<ConsoleCustomerView> {
    const { client } = await this.#access(args.locationId);
    await translate(client.setSharing({ customer: args.customer, locationId: args.locationId, doNotSell: args.doNotSell }));
    return this.#done(await this.#customer(args.locationId, args.customer));
  }

  /* --------------------------------------------------------------------------- plumbing */

  async #customer(locationId: string, customer: CustomerIdentity): Promise<ConsoleCustomerView> {
    return this.searchCustomer({ locationId, customer });
  }

  /**
   * The request, once it names the depot and every depot it names is one where this user handles
   * privacy: the server would refuse the rest, and main says so first.
   */
  async #request(args: { locationId: string; requestId: string }): Promise<{ access: PrivacyAccess; request: PrivacyRequest }> {
    const access = await this.#access(args.locationId);
    const request = await translate(access.client.request(args.requestId));
    if (!request.locationIds.includes(args.locationId)) throw new ConsoleError('not_found', 'That request is not in this depot\u2019s register. Refresh the register.');
    if (!request.locationIds.every((id) => access.managed.has(id))) {
      throw new ConsoleError('forbidden', 'That request also covers depots where you do not handle privacy requests: an admin there acts on it.');
    }
    return { access, request };
  }

  #done<T>(value: T): T {
    this.#o.activity();
    return value;
  }
}
