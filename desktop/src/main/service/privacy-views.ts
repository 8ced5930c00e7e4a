import {
  StopStatus,
  type ConsoleCustomerView, type ConsoleHoldNotice, type ConsolePrivacyRequestView, type ConsolePrivacyStep, type CustomerSearchResult,
  type Permission, type PrivacyHoldNotice, type PrivacyRequest,
} from '@depotline/shared';
import type { PrivacyClient } from '../../core';
import { ConsoleError } from './console-error';
import type { ActiveSession } from './console-session';
import { permissionsOf } from './console-views';
import type { DepotNames } from './governance-views';
import { translatorFor } from './server-refusal';

/** What a Privacy screen call needs: the client, the depot names, and the user's permissions at each depot. */
export interface PrivacyAccess {
  client: PrivacyClient;
  names: DepotNames;
  /** Depots where the user holds `privacy.manage`. */
  managed: ReadonlySet<string>;
  /** The user's permissions at the depot asked about. */
  held: ReadonlySet<Permission>;
}

const screenPermissions = ['privacy.manage', 'retention.manage', 'legalHold.manage'] as const satisfies readonly Permission[];

/**
 * The client and the depot names, once one of `need` is held at the depot as this computer last
 * synced it: the hidden screen is refused here too, before the server is asked (it decides again).
 */
export async function privacyAccess(session: ActiveSession, locationId: string, need: readonly Permission[]): Promise<PrivacyAccess> {
  const locations = await session.store.locations();
  const location = locations.find((l) => l.id === locationId);
  const held = location ? permissionsOf(location) : new Set<Permission>();
  if (!location || !need.some((p) => held.has(p))) throw new ConsoleError('forbidden', refusedWords(need));
  return {
    client: session.client.privacy,
    names: new Map(locations.map((l) => [l.id, l.name])),
    managed: new Set(locations.filter((l) => permissionsOf(l).has('privacy.manage')).map((l) => l.id)),
    held,
  };
}

/** Anyone who sees the Privacy screen may read the depot's periods and holds. */
export const readRetention: readonly Permission[] = screenPermissions;

function refusedWords(need: readonly Permission[]): string {
  if (need.length === 1 && need[0] === 'retention.manage') return 'Your access at this depot does not include setting how long data is kept.';
  if (need.length === 1 && need[0] === 'legalHold.manage') return 'Your access at this depot does not include placing or releasing legal holds.';
  if (need.length === 1) return 'Your access at this depot does not include handling customers\u2019 privacy requests.';
  return 'Your access at this depot does not include privacy or retention.';
}

const ref = (id: string, names: DepotNames) => ({ id, name: names.get(id) ?? null });
/** At most `n` characters, an ellipsis marking a cut (the bridge's limits). */
export const clip = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}\u2026` : s);

export function toHoldNotice(h: PrivacyHoldNotice, names: DepotNames): ConsoleHoldNotice {
  return { scope: h.scope, location: ref(h.locationId, names), reason: clip(h.reason, 1000), owner: clip(h.owner, 200) };
}

const countWords: Readonly<Record<string, [string, string]>> = {
  stops: ['stop', 'stops'], stopsFound: ['stop found', 'stops found'], stopsErased: ['stop erased', 'stops erased'], stopsUpdated: ['stop corrected', 'stops corrected'],
  proofs: ['proof', 'proofs'], proofsDestroyed: ['proof destroyed', 'proofs destroyed'], trackingLinksDeleted: ['tracking link deleted', 'tracking links deleted'],
  webhookDeliveriesDropped: ['webhook delivery dropped', 'webhook deliveries dropped'], consentsRemoved: ['consent removed', 'consents removed'],
  sharingFlagsRemoved: ['sharing flag removed', 'sharing flags removed'], stopsHeld: ['stop kept by a hold', 'stops kept by a hold'],
  stopsChanged: ['stop corrected', 'stops corrected'], stopsSkipped: ['stop left as it was', 'stops left as they were'],
};

/** "12 stops erased, 3 proofs destroyed": the counts the server keeps for a step, in words. */
export function countsText(counts: Readonly<Record<string, number>> | undefined): string {
  if (!counts) return '';
  return clip(Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => {
    const words = countWords[k];
    return words ? `${n} ${n === 1 ? words[0] : words[1]}` : `${k.replace(/([A-Z])/g, ' $1').toLowerCase()}: ${n}`;
  }).join(', '), 500);
}

export function toRequestView(r: PrivacyRequest, names: DepotNames, managed: ReadonlySet<string>): ConsolePrivacyRequestView {
  const steps: ConsolePrivacyStep[] = r.actions.slice(-100).map((a) => ({
    action: a.action, at: a.at, by: clip(a.by, 256), counts: countsText(a.counts), holds: (a.holds ?? []).slice(0, 50).map((h) => toHoldNotice(h, names)),
  }));
  return {
    id: r.id, kind: r.kind, law: r.law, status: r.status, locations: r.locationIds.slice(0, 50).map((id) => ref(id, names)),
    receivedAt: r.receivedAt, dueAt: r.dueAt, overdue: r.overdue, reference: r.reference,
    subject: r.subject && {
      customerName: r.subject.customerName && clip(r.subject.customerName, 200), phone: r.subject.phone && clip(r.subject.phone, 64), email: r.subject.email && clip(r.subject.email, 320),
    },
    subjectErasedAt: r.subjectErasedAt, createdBy: clip(r.createdBy, 256), handledBy: r.handledBy && clip(r.handledBy, 256),
    closedAt: r.closedAt, closeReason: r.closeReason, steps,
    editable: r.locationIds.every((id) => managed.has(id)),
  };
}

/** Open requests first, soonest due first; closed ones after, newest closed first. */
export function registerOrder(a: ConsolePrivacyRequestView, b: ConsolePrivacyRequestView): number {
  if (a.status !== b.status) return a.status === 'open' ? -1 : 1;
  return a.status === 'open' ? a.dueAt - b.dueAt : (b.closedAt ?? 0) - (a.closedAt ?? 0);
}

/** The customer at one depot: their stops there, the consent in force per purpose, the sharing flag. */
export function toCustomerView(found: CustomerSearchResult, locationId: string, names: DepotNames, max: number): ConsoleCustomerView {
  const stops = found.stops.filter((s) => s.locationId === locationId).flatMap((s) => {
    const status = StopStatus.safeParse(s.status);
    if (!status.success) return [];
    return [{
      stopId: s.stopId, location: ref(s.locationId, names), window: { start: Math.max(0, s.window.start), end: Math.max(0, s.window.end) }, status: status.data,
      orderRef: s.orderRef && clip(s.orderRef, 100), customerName: s.customerName && clip(s.customerName, 200), address: s.address && clip(s.address, 500),
      phone: s.phone && clip(s.phone, 64), email: s.email && clip(s.email, 320), matched: [...new Set(s.matched)], pseudonymised: s.pseudonymised,
    }];
  }).sort((a, b) => b.window.end - a.window.end);
  // Newest first from the server: the first record per purpose here is the one in force.
  const consents = new Map<string, ConsoleCustomerView['consents'][number]>();
  for (const c of found.consents) {
    if (c.locationId !== locationId || consents.has(c.purpose)) continue;
    consents.set(c.purpose, { purpose: c.purpose, granted: c.granted, source: c.source, recordedAt: c.recordedAt, recordedBy: clip(c.recordedBy, 256) });
  }
  return {
    stops: stops.slice(0, max), truncated: found.truncated || stops.length > max, consents: [...consents.values()],
    doNotSell: found.sharing.some((s) => s.locationId === locationId && s.doNotSell),
  };
}

/**
 * The server's refusals on this screen, in words for the admin; its own words are kept where they
 * name a rule (a period above the most allowed, a hold on a stop that does not exist).
 */
export const translate = translatorFor({
  forbidden: ['forbidden', 'The server did not let you do that: it needs the permission at every depot the request or hold covers.'],
  not_found: ['not_found', 'That request, stop or hold is not there (or not at a depot you handle). Refresh and try again.'],
  approval_required: ['approval_required', 'Keeping data longer needs a second admin\u2019s approval. Say why, and send it as a request.'],
});
