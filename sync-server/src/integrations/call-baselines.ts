import { networkOf } from '../auth/devices';
import type { Db } from '../db/database';
import type { IntegrationCallEntry } from './call-entry';

/**
 * What the unusual-activity rules compare a call with (integrations/anomalies.ts): each
 * credential's calls per hour, and the networks it has called from. Both are kept up to date from
 * each written batch of the call log, a few statements per batch rather than per call.
 */

export const hourMs = 3_600_000;

/** Statuses that count as refused: the enumeration signals (unknown key, out of scope, not found). */
export const refusedStatuses: readonly number[] = [401, 403, 404];

export const hourOf = (at: number): number => Math.floor(at / hourMs) * hourMs;

export interface HourCount {
  credentialId: string;
  integrationId: string;
  hour: number;
  calls: number;
  refused: number;
}

/** The batch's calls per credential and hour (calls with no credential have no baseline). */
export function hourlyCountsOf(batch: readonly IntegrationCallEntry[]): HourCount[] {
  const counts = new Map<string, HourCount>();
  for (const e of batch) {
    if (e.credentialId === null) continue;
    const hour = hourOf(e.at);
    const key = `${e.credentialId}|${hour}`;
    let c = counts.get(key);
    if (!c) {
      c = { credentialId: e.credentialId, integrationId: e.integrationId, hour, calls: 0, refused: 0 };
      counts.set(key, c);
    }
    c.calls += 1;
    if (refusedStatuses.includes(e.status)) c.refused += 1;
  }
  return [...counts.values()];
}

/** Adds the batch's counts to the hourly table. */
export async function addHourlyCounts(db: Db, counts: readonly HourCount[]): Promise<void> {
  if (counts.length === 0) return;
  await db.insertInto('integration_call_counts')
    .values(counts.map((c) => ({ credential_id: c.credentialId, integration_id: c.integrationId, hour: c.hour, calls: c.calls, refused: c.refused })))
    .onConflict((oc) => oc.columns(['credential_id', 'hour']).doUpdateSet((eb) => ({
      calls: eb('integration_call_counts.calls', '+', eb.ref('excluded.calls')),
      refused: eb('integration_call_counts.refused', '+', eb.ref('excluded.refused')),
    })))
    .execute();
}

/** A credential's calls in one hour, as stored (the batch included once it is added). */
export async function callsInHour(db: Db, credentialId: string, hour: number): Promise<number> {
  const row = await db.selectFrom('integration_call_counts').select('calls').where('credential_id', '=', credentialId).where('hour', '=', hour).executeTakeFirst();
  return row ? Number(row.calls) : 0;
}

/**
 * The credential's usual busiest hour: the 95th percentile of its calls per hour over the
 * `days` before `hour` (hours without calls count as zero), or null when its history is shorter
 * than `minHistoryMs` (a new credential has no usual yet).
 */
export async function hourlyP95(db: Db, credentialId: string, hour: number, days: number, minHistoryMs: number): Promise<number | null> {
  const first = await db.selectFrom('integration_call_counts').select((eb) => eb.fn.min('hour').as('first'))
    .where('credential_id', '=', credentialId).executeTakeFirst();
  const firstHour = first?.first === null || first?.first === undefined ? null : Number(first.first);
  if (firstHour === null || firstHour > hour - minHistoryMs) return null;
  const slots = days * 24;
  const rows = await db.selectFrom('integration_call_counts').select('calls')
    .where('credential_id', '=', credentialId).where('hour', '>=', hour - slots * hourMs).where('hour', '<', hour).execute();
  const values = rows.map((r) => Number(r.calls));
  while (values.length < slots) values.push(0);
  values.sort((a, b) => a - b);
  return values[Math.ceil(0.95 * slots) - 1] ?? 0;
}

export interface NetworkSighting {
  credentialId: string;
  integrationId: string;
  network: string;
  ip: string;
  at: number;
}

/**
 * Records the networks the batch's credentials called from and returns the sightings of networks
 * new to a credential that already had a history: a network first seen at least `historyMs`
 * before the call. Refused calls count too: a stolen key tried from elsewhere is the point.
 */
export async function noteNetworks(db: Db, batch: readonly IntegrationCallEntry[], historyMs: number): Promise<NetworkSighting[]> {
  const seen = new Map<string, NetworkSighting>();
  for (const e of batch) {
    const network = networkOf(e.ip);
    if (e.credentialId === null || network === null || e.ip === null) continue;
    const key = `${e.credentialId}|${network}`;
    const earlier = seen.get(key);
    if (!earlier || earlier.at > e.at) seen.set(key, { credentialId: e.credentialId, integrationId: e.integrationId, network, ip: e.ip, at: e.at });
  }
  if (seen.size === 0) return [];
  const credentialIds = [...new Set([...seen.values()].map((s) => s.credentialId))];
  const known = await db.selectFrom('integration_networks').select(['credential_id', 'network', 'first_seen_at'])
    .where('credential_id', 'in', credentialIds).execute();
  const knownKeys = new Set(known.map((k) => `${k.credential_id}|${k.network}`));
  const fresh: NetworkSighting[] = [];
  for (const [key, s] of seen) {
    if (knownKeys.has(key)) continue;
    const hasHistory = known.some((k) => k.credential_id === s.credentialId && Number(k.first_seen_at) <= s.at - historyMs);
    if (hasHistory) fresh.push(s);
  }
  const lastSeen = new Map<string, number>();
  for (const e of batch) {
    const network = networkOf(e.ip);
    if (e.credentialId === null || network === null) continue;
    const key = `${e.credentialId}|${network}`;
    lastSeen.set(key, Math.max(lastSeen.get(key) ?? 0, e.at));
  }
  await db.insertInto('integration_networks')
    .values([...seen.entries()].map(([key, s]) => ({ credential_id: s.credentialId, network: s.network, first_seen_at: s.at, last_seen_at: lastSeen.get(key) ?? s.at })))
    .onConflict((oc) => oc.columns(['credential_id', 'network']).doUpdateSet((eb) => ({ last_seen_at: eb.ref('excluded.last_seen_at') })))
    .execute();
  return fresh;
}
