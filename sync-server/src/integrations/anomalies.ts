import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { ipRateKey } from '../ratelimit/keys';
import { addHourlyCounts, callsInHour, hourlyCountsOf, hourlyP95, hourMs, noteNetworks, refusedStatuses } from './call-baselines';
import type { IntegrationCallEntry } from './call-entry';
import { type AlertRecipients, alertWindowMs, type AnomalyRule, type Finding, raiseIntegrationAlert, subjectOf } from './integration-alerts';
import { credentialsNearExpiry } from './credential-lookup';

/**
 * The unusual-activity rules (docs/security-model.md, "Integration logs and unusual activity"),
 * evaluated with each written batch of the call log, so they cost a few statements per batch:
 *
 * (a) volume_spike: a credential's calls this hour exceed both `volumeFloorPerHour` and
 *     `volumeFactor` times its own usual busiest hour (the 95th percentile of its hourly calls over
 *     the last 7 days), once it has a day of history;
 * (b) new_network: a call from a network (IPv4 /24, IPv6 /48) the credential never called from,
 *     once it has called from another network for an hour at least;
 * (c) refused_burst: `refusedBurst` calls answered 401, 403 or 404 within a minute, from one
 *     credential; or refused requests naming no credential the server knows, from one network
 *     (IPv4 address, IPv6 /64), counted in this process (enumeration: `recordUnknownCredentialRefusal`);
 * (d) key_expiring: a call with a credential that expires within `expiryWarningMs`.
 *
 * Each is raised once per credential per hour, a key's expiry once per day; probes naming no known
 * credential raise one alert per hour for the whole server, with the networks seen probing.
 * Only (a), and (c) when `refusedBurst` of the answers were 401 or 403, can suspend an
 * integration (`Finding.indicatesCompromise`).
 */
/** Answers that say the credential was used where it may not go (not 404: asking for what is not there). */
const deniedStatuses = [401, 403];

export const anomalyPolicy = {
  volumeFactor: 5,
  volumeFloorPerHour: 300,
  baselineDays: 7,
  volumeMinHistoryMs: 24 * hourMs,
  networkHistoryMs: hourMs,
  refusedBurst: 20,
  refusedWindowMs: 60_000,
  expiryWarningMs: 7 * 24 * hourMs,
} as const;

interface Detector {
  /** `subject|rule` -> when this process last raised or saw it raised: spares the database a claim. */
  recent: Map<string, number>;
  /** Refusals naming no known credential, by network (`ipRateKey`): their times within the window. */
  refusalsByNetwork: Map<string, number[]>;
  /** Networks that reached a burst since the last probe alert this process raised. */
  probingNetworks: Set<string>;
  inFlight: Set<Promise<unknown>>;
}

const detectors = new WeakMap<ServerContext, Detector>();
const maxRemembered = 10_000;

function detectorOf(ctx: ServerContext): Detector {
  let d = detectors.get(ctx);
  if (!d) {
    d = { recent: new Map(), refusalsByNetwork: new Map(), probingNetworks: new Set(), inFlight: new Set() };
    detectors.set(ctx, d);
  }
  return d;
}

function silencedHere(d: Detector, f: Pick<Finding, 'rule' | 'credentialId' | 'integrationId' | 'ip'>, now: number): boolean {
  const last = d.recent.get(`${subjectOf(f as Finding)}|${f.rule}`);
  return last !== undefined && now - last < alertWindowMs[f.rule];
}

async function raise(ctx: ServerContext, d: Detector, f: Finding, now: number, recipients?: AlertRecipients): Promise<boolean> {
  if (silencedHere(d, f, now)) return false;
  if (d.recent.size >= maxRemembered) d.recent.clear();
  d.recent.set(`${subjectOf(f)}|${f.rule}`, now);
  return (await raiseIntegrationAlert(ctx, f, now, recipients)).raised;
}

async function volumeFindings(db: Db, d: Detector, batch: readonly IntegrationCallEntry[], now: number): Promise<Finding[]> {
  const counts = hourlyCountsOf(batch);
  await addHourlyCounts(db, counts);
  const out: Finding[] = [];
  for (const c of counts) {
    const f = { rule: 'volume_spike' as AnomalyRule, integrationId: c.integrationId, credentialId: c.credentialId, ip: null };
    if (silencedHere(d, f, now)) continue;
    const calls = await callsInHour(db, c.credentialId, c.hour);
    if (calls <= anomalyPolicy.volumeFloorPerHour) continue;
    const p95 = await hourlyP95(db, c.credentialId, c.hour, anomalyPolicy.baselineDays, anomalyPolicy.volumeMinHistoryMs);
    if (p95 === null) continue;
    const threshold = Math.max(anomalyPolicy.volumeFloorPerHour, anomalyPolicy.volumeFactor * p95);
    if (calls > threshold) out.push({ ...f, facts: { callsThisHour: calls, usualBusiestHour: p95, threshold }, indicatesCompromise: true });
  }
  return out;
}

async function refusedFindings(db: Db, batch: readonly IntegrationCallEntry[]): Promise<Finding[]> {
  const groups = new Map<string, { integrationId: string; credentialId: string | null; ip: string | null; latest: number }>();
  for (const e of batch) {
    if (!refusedStatuses.includes(e.status)) continue;
    const key = e.credentialId !== null ? `c|${e.credentialId}` : `a|${e.integrationId}|${e.ip ?? ''}`;
    const g = groups.get(key);
    if (!g) groups.set(key, { integrationId: e.integrationId, credentialId: e.credentialId, ip: e.credentialId === null ? e.ip : null, latest: e.at });
    else g.latest = Math.max(g.latest, e.at);
  }
  const out: Finding[] = [];
  for (const g of groups.values()) {
    let q = db.selectFrom('integration_calls').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('integration_id', '=', g.integrationId).where('at', '>', g.latest - anomalyPolicy.refusedWindowMs).where('at', '<=', g.latest)
      .where('status', 'in', [...refusedStatuses]);
    q = g.credentialId !== null ? q.where('credential_id', '=', g.credentialId)
      : q.where('credential_id', 'is', null).where('ip', g.ip === null ? 'is' : '=', g.ip);
    const n = Number((await q.executeTakeFirst())?.n ?? 0);
    if (n < anomalyPolicy.refusedBurst) continue;
    // 404s alone are a partner asking for what is not there (yet); 401/403 to the credential are someone using it where it may not go.
    const denied = g.credentialId === null ? 0
      : Number((await q.where('status', 'in', deniedStatuses).executeTakeFirst())?.n ?? 0);
    out.push({
      rule: 'refused_burst', integrationId: g.integrationId, credentialId: g.credentialId, ip: g.ip, facts: { refusedWithinMinute: n, deniedWithinMinute: denied },
      indicatesCompromise: denied >= anomalyPolicy.refusedBurst,
    });
  }
  return out;
}

/** Runs every rule over a batch just written to the call log. Never throws. */
export async function observeCallBatch(ctx: ServerContext, batch: readonly IntegrationCallEntry[]): Promise<void> {
  const d = detectorOf(ctx);
  const now = ctx.now();
  const findings: Finding[] = [];
  const step = async (name: string, work: () => Promise<Finding[]>) => {
    try {
      findings.push(...await work());
    } catch (err) {
      ctx.log.error('integration activity check failed', { check: name, err: err instanceof Error ? err.message : String(err) });
    }
  };
  await step('volume', () => volumeFindings(ctx.db, d, batch, now));
  await step('network', async () => (await noteNetworks(ctx.db, batch, anomalyPolicy.networkHistoryMs)).map((s) => ({
    rule: 'new_network' as const, integrationId: s.integrationId, credentialId: s.credentialId, ip: s.ip, facts: { network: s.network },
  })));
  await step('refused', () => refusedFindings(ctx.db, batch));
  await step('expiry', async () => {
    const byCredential = new Map(batch.filter((e) => e.credentialId !== null).map((e) => [e.credentialId!, e]));
    const unsilenced = [...byCredential.values()].filter((e) => !silencedHere(d, { rule: 'key_expiring', integrationId: e.integrationId, credentialId: e.credentialId, ip: null }, now));
    const expiring = await credentialsNearExpiry(ctx.db, unsilenced.map((e) => e.credentialId!), now, anomalyPolicy.expiryWarningMs);
    return expiring.map((x) => ({
      rule: 'key_expiring' as const, integrationId: byCredential.get(x.credentialId)!.integrationId, credentialId: x.credentialId, ip: null,
      facts: { credentialKind: x.kind, expiresAt: x.expiresAt, daysLeft: Math.max(0, Math.floor((x.expiresAt - now) / (24 * hourMs))) },
    }));
  });
  // Who is told is looked up once for the batch, not once per alert.
  const recipients: AlertRecipients = new Map();
  for (const f of findings) {
    try {
      await raise(ctx, d, f, now, recipients);
    } catch (err) {
      d.recent.delete(`${subjectOf(f)}|${f.rule}`);
      ctx.log.error('could not raise an integration activity alert', { rule: f.rule, err: err instanceof Error ? err.message : String(err) });
    }
  }
}

/**
 * A refused call that named no credential the server knows (so no integration to log it under):
 * counted per network (IPv4 address, IPv6 /64: one host holds a whole /64) in this process. A
 * network reaching the burst is noted once per hour; the server raises one `refused_burst` alert
 * per hour for all of them (subject `api-probe`, claimed across processes), to every holder of
 * `integration.manage`, counting the networks noted since this process's last one. Networks
 * noted while the hour's alert is already out are in the next one. The per-address rate limit
 * answers the flood itself.
 */
export function recordUnknownCredentialRefusal(ctx: ServerContext, ip: string | null, at: number): void {
  if (ip === null) return;
  const d = detectorOf(ctx);
  const network = ipRateKey(ip);
  let times = d.refusalsByNetwork.get(network);
  if (!times) {
    if (d.refusalsByNetwork.size >= maxRemembered) d.refusalsByNetwork.clear();
    times = [];
    d.refusalsByNetwork.set(network, times);
  }
  times.push(at);
  while (times.length > 0 && times[0]! <= at - anomalyPolicy.refusedWindowMs) times.shift();
  if (times.length > anomalyPolicy.refusedBurst) times.shift();
  if (times.length < anomalyPolicy.refusedBurst) return;
  const noted = `network:${network}|refused_burst`;
  const last = d.recent.get(noted);
  if (last !== undefined && at - last < alertWindowMs.refused_burst) return;
  if (d.recent.size >= maxRemembered) d.recent.clear();
  d.recent.set(noted, at);
  if (d.probingNetworks.size < maxRemembered) d.probingNetworks.add(network);
  ctx.log.info('integration API probed with unknown credentials', { network, refusedWithinMinute: times.length });
  const networks = [...d.probingNetworks];
  const f: Finding = {
    rule: 'refused_burst', integrationId: null, credentialId: null, ip,
    facts: { refusedWithinMinute: times.length, credential: 'unknown', network, networksProbing: networks.length, networks: networks.slice(0, 20) },
  };
  if (silencedHere(d, f, at)) return;
  const done = raise(ctx, d, f, at)
    .then((raised) => {
      if (raised) for (const n of networks) d.probingNetworks.delete(n);
    })
    .catch((err: unknown) => ctx.log.error('could not raise an integration activity alert', { rule: f.rule, err: err instanceof Error ? err.message : String(err) }))
    .finally(() => d.inFlight.delete(done));
  d.inFlight.add(done);
}

/** Resolves once alerts started outside a batch are written (tests, shutdown). */
export async function integrationAlertsSettled(ctx: ServerContext): Promise<void> {
  const d = detectors.get(ctx);
  while (d && d.inFlight.size > 0) await Promise.all([...d.inFlight]);
}
