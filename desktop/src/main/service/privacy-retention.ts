import {
  locationRetentionClasses, MaxLegalHolds, retentionDaysField, retentionDaysOf,
  type ApprovalView, type BridgeArgs, type ConsoleLegalHold, type ConsoleRetentionView, type LegalHold, type LegalHoldCreate,
  type LocationRetentionView, type Permission, type RetentionChangeResult, type RetentionSettingsView,
} from '@depotline/shared';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { toApprovalView, type DepotNames } from './governance-views';
import { clip, privacyAccess, readRetention, translate, type PrivacyAccess } from './privacy-views';

export interface PrivacyRetentionOptions {
  session: () => ActiveSession;
  activity: () => void;
}

export const widenNeedsApproval = 'Keeping data longer needs a second admin\u2019s approval. Say why the depot needs it, and send it as a request.';

/**
 * The depot's retention periods and legal holds on the Privacy screen. Reading needs any of
 * `privacy.manage`, `retention.manage` or `legalHold.manage` at the depot; a period is set with
 * `retention.manage` (lower at once, higher only through a second admin's approval, asked with a
 * reason), a hold placed or its release asked with `legalHold.manage` (on a customer, with
 * `privacy.manage` as well). Main checks these as last
 * synced before it asks the server, which decides again.
 */
export class PrivacyRetention {
  readonly #o: PrivacyRetentionOptions;

  constructor(options: PrivacyRetentionOptions) {
    this.#o = options;
  }

  #access(locationId: string, need: readonly Permission[]): Promise<PrivacyAccess> {
    return privacyAccess(this.#o.session(), locationId, need);
  }

  async depotRetention(args: BridgeArgs<'depotRetention'>): Promise<ConsoleRetentionView> {
    const access = await this.#access(args.locationId, readRetention);
    const [settings, current] = await Promise.all([translate(access.client.retentionSettings()), translate(access.client.locationRetention(args.locationId))]);
    return toRetentionView(current, settings, access);
  }

  async setDepotRetention(args: BridgeArgs<'setDepotRetention'>): Promise<RetentionChangeResult> {
    const access = await this.#access(args.locationId, ['retention.manage']);
    const current = await translate(access.client.locationRetention(args.locationId));
    const max = retentionDaysOf(current.maxDays, args.class);
    if (args.days > max) throw new ConsoleError('bad_request', `At most ${max} days may be set here for this kind of data (the server\u2019s limit).`);
    const widening = args.days > retentionDaysOf(current.effective, args.class);
    if (widening && !args.reason) throw new ConsoleError('approval_required', widenNeedsApproval);
    const held = await translate(access.client.setLocationRetention(args.locationId, {
      [retentionDaysField[args.class]]: args.days, ...(widening && args.reason ? { reason: args.reason } : {}),
    }));
    if ('approval' in held) return this.#done({ outcome: 'pending_approval', approval: toApprovalView(held.approval, access.names) });
    const settings = await translate(access.client.retentionSettings());
    return this.#done({ outcome: 'applied', retention: toRetentionView(held.applied, settings, access) });
  }

  async legalHolds(args: BridgeArgs<'legalHolds'>): Promise<ConsoleLegalHold[]> {
    const access = await this.#access(args.locationId, ['legalHold.manage']);
    const holds = await translate(access.client.legalHolds(args.locationId, !args.includeReleased));
    const views = await Promise.all(holds.slice(0, MaxLegalHolds).map((h) => this.#holdView(h, access.names)));
    return views.sort((a, b) => Number(a.releasedAt !== null) - Number(b.releasedAt !== null) || b.placedAt - a.placedAt);
  }

  async placeLegalHold(args: BridgeArgs<'placeLegalHold'>): Promise<ConsoleLegalHold> {
    const access = await this.#access(args.locationId, ['legalHold.manage']);
    const t = args.target;
    // Finding a customer by phone or email is a privacy search: the server asks for privacy.manage too.
    if (t.scope === 'customer' && !access.held.has('privacy.manage')) {
      throw new ConsoleError('forbidden', 'Your access at this depot does not include finding customers, which a hold on a customer needs.');
    }
    const body: LegalHoldCreate = t.scope === 'location' ? { scope: 'location', reason: args.reason, owner: args.owner }
      : t.scope === 'stop' ? { scope: 'stop', stopId: t.stopId, reason: args.reason, owner: args.owner }
        : { scope: 'customer', ...(t.customer.phone ? { phone: t.customer.phone } : { email: t.customer.email }), reason: args.reason, owner: args.owner };
    const placed = await translate(access.client.placeLegalHold(args.locationId, body));
    return this.#done(await this.#holdView(placed, access.names));
  }

  async releaseLegalHold(args: BridgeArgs<'releaseLegalHold'>): Promise<ApprovalView> {
    const access = await this.#access(args.locationId, ['legalHold.manage']);
    const approval = await translate(access.client.releaseLegalHold(args.holdId, args.reason));
    return this.#done(toApprovalView(approval, access.names));
  }

  /** What a hold covers, in words: a stop by its order reference when this computer has it. */
  async #holdView(h: LegalHold, names: DepotNames): Promise<ConsoleLegalHold> {
    let covers: string;
    if (h.scope === 'location') covers = `everything at ${names.get(h.locationId) ?? 'the depot'}`;
    else if (h.scope === 'customer') covers = 'one customer\u2019s stops (by phone or email)';
    else {
      const stop = h.stopId ? await this.#o.session().store.stop(h.stopId).catch(() => null) : null;
      covers = stop?.orderRef ? `the stop of order ${stop.orderRef}` : `stop ${h.stopId ?? ''}`.trim();
    }
    return {
      id: h.id, scope: h.scope, covers: clip(covers, 300), reason: clip(h.reason, 1000), owner: clip(h.owner, 200), placedBy: clip(h.placedBy, 256), placedAt: h.placedAt,
      releasedAt: h.releasedAt, releasedBy: h.releasedBy && clip(h.releasedBy, 256), releaseReason: h.releaseReason && clip(h.releaseReason, 1000),
    };
  }

  #done<T>(value: T): T {
    this.#o.activity();
    return value;
  }
}

function toRetentionView(current: LocationRetentionView, settings: RetentionSettingsView, access: PrivacyAccess): ConsoleRetentionView {
  const byClass = new Map(settings.classes.map((c) => [c.class, c]));
  return {
    location: { id: current.locationId, name: access.names.get(current.locationId) ?? null },
    classes: locationRetentionClasses.map((c) => ({
      class: c, days: retentionDaysOf(current.effective, c), defaultDays: byClass.get(c)?.defaultDays ?? retentionDaysOf(current.effective, c),
      overridden: current.overrides[retentionDaysField[c]] !== undefined, maxDays: retentionDaysOf(current.maxDays, c),
    })),
    global: settings.classes.filter((c) => !c.perLocation && c.defaultDays > 0).map((c) => ({ class: c.class, days: c.defaultDays })),
    canEdit: access.held.has('retention.manage'),
    canHold: access.held.has('legalHold.manage'),
  };
}
