import type { integrationAlertRules, Permission } from '@depotline/shared';
import { loadAccessProfile } from '../access/access-profile';
import { checkPermission, usersAtLocation } from '../access/authorize';
import { appendAudit, type AuditActor } from '../audit/audit-log';
import { insertAlertNotice } from '../auth/security-alerts';
import type { ServerContext } from '../context';
import type { Db } from '../db/database';
import { enqueueWebhookEvents } from '../webhooks/outbox';
import { hourMs } from './call-baselines';

/**
 * Raising an unusual-activity alert (docs/security-model.md, "Integration logs and unusual
 * activity"): claimed once per subject, rule and window across every server process; then, in
 * one transaction, a `security.alert` audit entry at each of the integration's locations, an
 * `integration_activity` notice to every admin holding `integration.manage` there, a
 * `security.alert` webhook event for the integration's own subscriptions to it (for an alert about
 * no integration: `notifications` integrations subscribed to it), and, when the integration
 * is set to, its suspension (audited). Alerts carry ids, counts, networks and addresses; never a
 * body, a key or customer data.
 */

export type AnomalyRule = (typeof integrationAlertRules)[number];

/** How long one alert of a rule silences the next for the same subject. */
export const alertWindowMs: Readonly<Record<AnomalyRule, number>> = {
  volume_spike: hourMs,
  new_network: hourMs,
  refused_burst: hourMs,
  // A reminder, not an attack: once a day is enough.
  key_expiring: 24 * hourMs,
};


export interface Finding {
  rule: AnomalyRule;
  /** Null for refused calls that named no credential the server knows (then `ip` is the subject). */
  integrationId: string | null;
  credentialId: string | null;
  ip: string | null;
  /** What the admin needs to judge it: counts, thresholds, the network. */
  facts: Record<string, unknown>;
  /**
   * Whether it points at a compromised credential, so an integration set to `auto_suspend_on_alert`
   * is suspended for it: only what the credential's holder does and an outsider cannot cause (the
   * detector sets it for a volume far above the credential's baseline and for a burst of 401/403
   * answers to the credential). A new network, a burst of 404s (a partner polling refs that do not
   * exist yet) or a key near its expiry alert and never suspend.
   */
  indicatesCompromise?: boolean;
}

export const anomalyActor: AuditActor = { userId: null, label: 'system:integration-monitor', deviceId: null, ip: null };

export function subjectOf(f: Finding): string {
  if (f.credentialId !== null) return `credential:${f.credentialId}`;
  if (f.integrationId !== null) return `integration:${f.integrationId}|address:${f.ip ?? '-'}`;
  // Probes naming no known credential: one subject for the whole server, so one alert per window however many networks probe.
  return 'api-probe';
}

/** Claims the alert of `rule` for `subject`: true when none was raised within the rule's window. */
async function claimAlert(db: Db, f: Finding, now: number): Promise<boolean> {
  const claimed = await db.insertInto('integration_alert_claims')
    .values({ subject: subjectOf(f), kind: f.rule, integration_id: f.integrationId, alerted_at: now })
    .onConflict((oc) => oc.columns(['subject', 'kind']).doUpdateSet({ alerted_at: now, integration_id: f.integrationId })
      .where('integration_alert_claims.alerted_at', '<=', now - alertWindowMs[f.rule]))
    .returning('subject')
    .executeTakeFirst();
  return claimed !== undefined;
}

/** The locations an integration holds scopes at. */
export async function scopedLocationIds(db: Db, integrationId: string): Promise<string[]> {
  const rows = await db.selectFrom('integration_scopes').select('location_id').distinct().where('integration_id', '=', integrationId).execute();
  return rows.map((r) => r.location_id).sort();
}

/** Who receives the alerts raised together (one batch of the call log): looked up once per set of locations. */
export type AlertRecipients = Map<string, string[]>;

/** Users holding `permission` at any of `locationIds`. */
async function holdersAt(db: Db, locationIds: readonly string[], permission: Permission, now: number): Promise<string[]> {
  const candidates = new Set<string>();
  for (const locationId of locationIds) for (const userId of await usersAtLocation(db, locationId, now)) candidates.add(userId);
  const holders: string[] = [];
  for (const userId of [...candidates].sort()) {
    const profile = await loadAccessProfile(db, userId, now);
    if (locationIds.some((locationId) => checkPermission(profile, { permission, locationId }, now))) holders.push(userId);
  }
  return holders;
}

/**
 * Raises `f` unless an alert of its rule was raised for its subject within the window. Returns
 * whether it was raised (and whether the integration was suspended by it).
 */
export async function raiseIntegrationAlert(ctx: ServerContext, f: Finding, now: number, recipients: AlertRecipients = new Map()): Promise<{ raised: boolean; suspended: boolean }> {
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    if (!(await claimAlert(trx, f, now))) return { raised: false, suspended: false };
    const integration = f.integrationId === null ? undefined
      : await trx.selectFrom('integrations').select(['id', 'name', 'auto_suspend_on_alert', 'suspended_at']).where('id', '=', f.integrationId).executeTakeFirst();
    // Refusals naming no known credential concern every integration admin: the API itself is probed.
    const locationIds = integration ? await scopedLocationIds(trx, integration.id)
      : (await trx.selectFrom('locations').select('id').orderBy('id').execute()).map((l) => l.id);
    // Suspension first, so the alert's entry says whether it suspended the integration.
    let suspended = false;
    if (integration && Number(integration.auto_suspend_on_alert) === 1 && integration.suspended_at === null && f.indicatesCompromise === true) {
      const r = await trx.updateTable('integrations')
        .set((eb) => ({
          suspended_at: now, suspended_reason: `unusual activity: ${f.rule}`, suspended_by: anomalyActor.label, updated_at: now, updated_by: anomalyActor.label,
          version: eb('version', '+', 1),
        }))
        .where('id', '=', integration.id).where('suspended_at', 'is', null).executeTakeFirst();
      suspended = Number(r.numUpdatedRows) > 0;
    }
    const details = {
      kind: 'integration_activity', rule: f.rule, integrationId: f.integrationId, integrationName: integration?.name ?? null,
      credentialId: f.credentialId, ip: f.ip, ...f.facts, suspendedIntegration: suspended,
    };
    const targetType = integration ? 'integration' : 'address';
    const targetId = integration ? integration.id : f.ip;
    // One entry per location of the integration: each location's audit readers see it.
    const auditAt = integration && locationIds.length > 0 ? locationIds : [null];
    for (const locationId of auditAt) {
      await appendAudit(trx, anomalyActor, { action: 'security.alert', outcome: 'ok', targetType, targetId, locationId, details }, now);
      if (suspended) {
        await appendAudit(trx, anomalyActor, {
          action: 'integration.suspend', outcome: 'ok', targetType: 'integration', targetId, locationId,
          details: { reason: 'unusual_activity', rule: f.rule, credentialId: f.credentialId, automatic: true },
        }, now);
      }
    }
    const noticeActor: AuditActor = { ...anomalyActor, ip: f.ip };
    const recipientsKey = locationIds.join(',');
    const holders = recipients.get(recipientsKey) ?? await holdersAt(trx, locationIds, 'integration.manage', now);
    recipients.set(recipientsKey, holders);
    for (const userId of holders) {
      await insertAlertNotice(trx, { userId, kind: 'integration_activity', details, actor: noticeActor }, now);
    }
    // About an integration: to its own subscriptions only; about no integration (the API probed): to `notifications` integrations (webhooks/outbox.ts alertReaches).
    await enqueueWebhookEvents(trx, ctx, locationIds.map((locationId) => ({
      type: 'security.alert' as const, locationId, stopId: null, occurredAt: now,
      data: integration
        ? { kind: 'integration_activity', rule: f.rule, integrationId: integration.id, credentialId: f.credentialId, suspendedIntegration: suspended }
        : { kind: 'integration_activity', rule: f.rule },
    })));
    return { raised: true, suspended };
  });
  if (outcome.raised) {
    ctx.log.error('integration unusual activity', { rule: f.rule, integrationId: f.integrationId, credentialId: f.credentialId, ip: f.ip, suspended: outcome.suspended });
  }
  return outcome;
}
