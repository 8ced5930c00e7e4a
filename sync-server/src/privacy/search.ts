import { type CustomerSearch, type CustomerSearchResult, customerStopLimit } from '@depotline/shared';
import { forbidden, notFound } from '../errors';
import { requiredCustomerKeys, customerRecords } from './consents';
import { findCustomerStops } from './customers';
import type { PrivacyCall } from './requests';

/**
 * The locations a privacy call covers: those asked for, each of which the caller must manage
 * (one it does not is answered like one that does not exist, and the attempt is audited), or
 * every location it manages when none are named.
 */
export async function privacyLocations(call: PrivacyCall, requested: readonly string[] | undefined, action: string): Promise<string[]> {
  const manages = call.manages;
  if (requested !== undefined) {
    const unknown = requested.filter((l) => manages !== null && !manages(l));
    const existing = unknown.length === 0 ? [] : await call.db.selectFrom('locations').select('id').where('id', 'in', unknown).execute();
    for (const l of existing) {
      call.audit({ action, outcome: 'denied', targetType: 'location', targetId: l.id, locationId: l.id, details: { permission: 'privacy.manage' } });
    }
    if (unknown.length > 0) throw notFound('The location');
    const found = await call.db.selectFrom('locations').select('id').where('id', 'in', [...requested]).execute();
    if (found.length !== new Set(requested).size) throw notFound('The location');
    return [...new Set(requested)];
  }
  const all = (await call.db.selectFrom('locations').select('id').orderBy('id').execute()).map((l) => l.id);
  const managed = manages === null ? all : all.filter((l) => manages(l));
  if (managed.length === 0 && manages !== null) {
    call.audit({ action, outcome: 'denied', details: { permission: 'privacy.manage' } });
    throw forbidden('Customer privacy needs privacy.manage at a location.');
  }
  return managed;
}

/**
 * Every stop, consent and sharing record of a customer at the caller's locations, decrypted
 * for the admin. Audited (a read of customer data) with which identifiers and how many stops,
 * never the values.
 */
export async function searchCustomer(call: PrivacyCall, body: CustomerSearch): Promise<CustomerSearchResult> {
  const { ctx } = call;
  const keys = requiredCustomerKeys(ctx, body.customer);
  const locationIds = await privacyLocations(call, body.locationIds, 'privacy.search');
  const found = await findCustomerStops(ctx, body.customer, locationIds, { db: call.db, limit: customerStopLimit + 1 });
  const truncated = found.length > customerStopLimit;
  const stops = found.slice(0, customerStopLimit).map(({ row, pii, matched }) => ({
    stopId: row.id, locationId: row.location_id, routeId: row.route_id, orderRef: row.order_ref, status: row.status,
    window: { start: Number(row.window_start), end: Number(row.window_end) },
    customerName: pii.customerName ?? null, address: pii.address ?? null, phone: pii.phone ?? null, email: pii.email ?? null,
    matched, pseudonymised: row.pseudonymised_at !== null,
  }));
  const records = await customerRecords(call.db, keys, locationIds);
  call.audit({
    action: 'privacy.search', outcome: 'ok', targetType: 'customer',
    details: { identifiers: keys.map((k) => k.kind), locations: locationIds.length, stops: stops.length, truncated },
  });
  return { stops, ...records, truncated };
}
