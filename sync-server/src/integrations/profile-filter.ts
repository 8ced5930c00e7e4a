import type { EncryptedStopField, IntegrationStopView, ProfileField, Stop } from '@depotline/shared';

/*
 * THE one place that decides what an integration receives about a stop (docs/security-model.md,
 * "Integrations"): the integration API's answers and every webhook payload are built here from
 * the stop as the server presents it (`presentStop`, decrypted, a value that does not decrypt
 * already withheld). The view is built up from the profile, field by field, never by deleting
 * from a full copy: a stop field added later reaches no integration until it is given a profile
 * field here. A field outside the profile is absent, not null.
 */

type Part = (stop: Stop) => Partial<IntegrationStopView>;

/** What each profile field puts into the view. */
const parts: Readonly<Record<ProfileField, Part>> = {
  orderRef: (s) => ({ orderRef: s.orderRef, parcelCount: s.parcelCount, barcodes: s.barcodes, minimumAge: s.minimumAge, idCheck: s.idCheck, pinRequired: s.pinRequired ?? false }),
  status: (s) => ({ status: s.status }),
  timeWindow: (s) => ({ timeWindow: { start: s.window.start, end: s.window.end } }),
  address: (s) => ({
    ...(s.address !== undefined ? { address: s.address } : {}),
    ...(s.coordinates !== undefined ? { coordinates: s.coordinates } : {}),
  }),
  eta: (s) => ({ eta: s.eta }),
  failureReason: (s) => ({ failureReason: s.failureReason }),
  customerName: (s) => (s.customerName !== undefined ? { customerName: s.customerName } : {}),
  phone: (s) => (s.phone !== undefined ? { phone: s.phone } : {}),
  email: (s) => (s.email !== undefined ? { email: s.email } : {}),
  notes: (s) => ({
    ...(s.notes !== undefined ? { notes: s.notes } : {}),
    ...(s.failureNote !== undefined ? { failureNote: s.failureNote } : {}),
  }),
  billing: (s) => (s.paymentRef === undefined ? {} : {
    billing: { paymentRef: s.paymentRef ?? null, codAmount: s.codAmount ?? null, deliveryFee: s.deliveryFee ?? null, currency: s.currency ?? null },
  }),
};

/** Which profile field an encrypted stop field belongs to, to name a withheld value only to those allowed it. */
const withheldField: Readonly<Record<EncryptedStopField, ProfileField>> = {
  customerName: 'customerName', address: 'address', coordinates: 'address', phone: 'phone', email: 'email',
  notes: 'notes', failureNote: 'notes', paymentRef: 'billing',
};

/**
 * The customer's sharing choice for one stop, and whether the integration receiving it is
 * needed to deliver it (the one that created the order, or a courier): integrations/sharing.ts.
 */
export interface StopSharing {
  doNotSell: boolean;
  deliversStop: boolean;
}

/** For an answer to the integration that just wrote the order: it is the one that needs it. */
export const orderWriterSharing: StopSharing = { doNotSell: false, deliversStop: true };

/** Profile fields that identify or reach the customer (CCPA personal information about them). */
const customerDataFields: ReadonlySet<ProfileField> = new Set(['customerName', 'address', 'phone', 'email', 'notes']);

/**
 * The profile fields an integration receives for one stop: its data profile, less the customer's
 * identity and contact details when the customer asked that their data is not sold or shared
 * (CCPA "Do Not Sell or Share") and this integration is not needed to deliver the stop.
 */
export function sharedProfile(profile: readonly ProfileField[], sharing: StopSharing): ProfileField[] {
  return sharing.doNotSell && !sharing.deliversStop ? profile.filter((f) => !customerDataFields.has(f)) : [...profile];
}

/**
 * The stop as an integration with `profile` may receive it. `stop` is the server's presented
 * stop (`presentStop`): decrypted, never redacted for a person.
 */
export function presentStopForIntegration(profile: readonly ProfileField[], stop: Stop, sharing: StopSharing): IntegrationStopView {
  const allowed = new Set(sharedProfile(profile, sharing));
  let view: IntegrationStopView = { id: stop.id, locationId: stop.locationId, updatedAt: stop.updatedAt };
  for (const field of allowed) view = { ...view, ...parts[field](stop) };
  const withheld = [...new Set((stop.withheld ?? []).map((f) => withheldField[f]))].filter((f) => allowed.has(f));
  if (withheld.length > 0) view.withheld = withheld;
  return view;
}
