import { ConsentRecordInput, CustomerRectify, CustomerSearch, SharingInput } from '@depotline/shared';
import { recordConsent, setDoNotSell } from '../../privacy/consents';
import { rectifyCustomer } from '../../privacy/rectification';
import { managesFor, type PrivacyCall } from '../../privacy/requests';
import { privacyLocations, searchCustomer } from '../../privacy/search';
import type { LiveFeed } from '../../sync/mutations/handler';
import { type Endpoint, type EndpointCall, endpoint } from '../endpoint';

/**
 * Customer privacy for admins (`privacy.manage` at each location concerned; docs/api.md
 * "Customer privacy"): search by phone or email, rectification, consent per purpose and the
 * do-not-sell-or-share flag. Every one is a POST because the body carries the customer's
 * contact details, which never go into a URL.
 */

const privacyCall = (c: EndpointCall<unknown, unknown, unknown>): PrivacyCall => ({
  ctx: c.ctx, db: c.db, actor: c.caller.actor, now: c.now, audit: (e) => c.audit(e), manages: managesFor(c.caller, c.now),
});

export function customerPrivacyEndpoints(live: LiveFeed): Endpoint[] {
  return [
    endpoint({
      method: 'post',
      path: '/privacy/customers/search',
      body: CustomerSearch,
      handle: (c) => searchCustomer(privacyCall(c), c.input.body),
    }),
    endpoint({
      method: 'post',
      path: '/privacy/customers/rectify',
      body: CustomerRectify,
      // Its own transaction (privacy/rectification.ts); the desktops hear of it once committed.
      handle: async (c) => {
        const { customer, changes } = c.input.body;
        const locationIds = await privacyLocations(privacyCall(c), c.input.body.locationIds, 'privacy.rectify');
        const { result, touched } = await rectifyCustomer(c.ctx, c.caller.actor, { customer, locationIds, changes });
        live.publish(touched).catch((err: unknown) => c.ctx.log.error('live feed failed after a rectification', { err: String(err) }));
        return result;
      },
    }),
    endpoint({
      method: 'post',
      path: '/privacy/customers/consents',
      body: ConsentRecordInput,
      status: 201,
      transaction: true,
      handle: async (c) => {
        await privacyLocations(privacyCall(c), [c.input.body.locationId], 'privacy.consent');
        const { consents, audit } = await recordConsent(c.ctx, c.db, c.input.body, c.caller.actor.label, c.now);
        c.audit(audit);
        return { consents };
      },
    }),
    endpoint({
      method: 'post',
      path: '/privacy/customers/sharing',
      body: SharingInput,
      transaction: true,
      handle: async (c) => {
        await privacyLocations(privacyCall(c), [c.input.body.locationId], 'privacy.sharing');
        const { sharing, audit } = await setDoNotSell(c.ctx, c.db, c.input.body, c.caller.actor.label, c.now);
        c.audit(audit);
        return { sharing };
      },
    }),
  ];
}
