import type {
  IntegrationAlertView, IntegrationCallPage, IntegrationLogQuery, WebhookAttemptPage, WebhookAttemptView,
} from '@depotline/shared';
import type { Db } from '../db/database';

/**
 * Reading an integration's logs, newest first, in pages (REST and CLI alike). The cursor is the
 * last entry's `at:id`: the next page starts just older than it, so entries written meanwhile
 * never shift a page.
 */

type Page = Pick<IntegrationLogQuery, 'since' | 'until' | 'status' | 'limit' | 'cursor'>;

function statusRange(status: string | undefined): [number, number] | null {
  if (status === undefined) return null;
  if (status.endsWith('xx')) {
    const cls = Number(status[0]) * 100;
    return [cls, cls + 99];
  }
  return [Number(status), Number(status)];
}

function cursorOf(rows: readonly { at: number; id: string }[], limit: number): string | null {
  const last = rows.at(-1);
  return rows.length === limit && last ? `${Number(last.at)}:${last.id}` : null;
}

function parseCursor(cursor: string | undefined): { at: number; id: string } | null {
  if (cursor === undefined) return null;
  const [at = '', id = ''] = cursor.split(':');
  return { at: Number(at), id };
}

export async function listIntegrationCalls(db: Db, integrationId: string, page: Page): Promise<IntegrationCallPage> {
  let q = db.selectFrom('integration_calls').selectAll().where('integration_id', '=', integrationId);
  if (page.since !== undefined) q = q.where('at', '>=', page.since);
  if (page.until !== undefined) q = q.where('at', '<', page.until);
  const range = statusRange(page.status);
  if (range) q = q.where('status', '>=', range[0]).where('status', '<=', range[1]);
  const after = parseCursor(page.cursor);
  if (after) q = q.where((eb) => eb.or([eb('at', '<', after.at), eb.and([eb('at', '=', after.at), eb('id', '<', after.id)])]));
  const rows = await q.orderBy('at', 'desc').orderBy('id', 'desc').limit(page.limit).execute();
  return {
    calls: rows.map((r) => ({
      id: r.id, at: Number(r.at), credentialId: r.credential_id, method: r.method, route: r.route, status: Number(r.status),
      latencyMs: Number(r.latency_ms), ip: r.ip,
    })),
    nextCursor: cursorOf(rows, page.limit),
  };
}

function outcomeOf(r: { error: string | null; next_retry_at: number | null; delivery_status: string | null }): WebhookAttemptView['outcome'] {
  if (r.error === null) return 'delivered';
  if (r.next_retry_at !== null) return 'retrying';
  return r.delivery_status === 'dead' ? 'gave_up' : 'failed';
}

export async function listWebhookAttempts(db: Db, integrationId: string, page: Page): Promise<WebhookAttemptPage> {
  let q = db.selectFrom('webhook_attempts')
    .leftJoin('webhook_subscriptions', 'webhook_subscriptions.id', 'webhook_attempts.subscription_id')
    .leftJoin('webhook_deliveries', 'webhook_deliveries.id', 'webhook_attempts.delivery_id')
    .select([
      'webhook_attempts.id', 'webhook_attempts.at', 'webhook_attempts.delivery_id', 'webhook_attempts.subscription_id', 'webhook_attempts.event_type',
      'webhook_attempts.attempt', 'webhook_attempts.status_code', 'webhook_attempts.error', 'webhook_attempts.latency_ms', 'webhook_attempts.next_retry_at',
      'webhook_subscriptions.url', 'webhook_deliveries.status as delivery_status',
    ])
    .where('webhook_attempts.integration_id', '=', integrationId);
  if (page.since !== undefined) q = q.where('webhook_attempts.at', '>=', page.since);
  if (page.until !== undefined) q = q.where('webhook_attempts.at', '<', page.until);
  const range = statusRange(page.status);
  if (range) q = q.where('webhook_attempts.status_code', '>=', range[0]).where('webhook_attempts.status_code', '<=', range[1]);
  const after = parseCursor(page.cursor);
  if (after) {
    q = q.where((eb) => eb.or([
      eb('webhook_attempts.at', '<', after.at), eb.and([eb('webhook_attempts.at', '=', after.at), eb('webhook_attempts.id', '<', after.id)]),
    ]));
  }
  const rows = await q.orderBy('webhook_attempts.at', 'desc').orderBy('webhook_attempts.id', 'desc').limit(page.limit).execute();
  return {
    attempts: rows.map((r) => ({
      id: r.id, at: Number(r.at), deliveryId: r.delivery_id, subscriptionId: r.subscription_id, event: r.event_type, url: r.url ?? '',
      attempt: Number(r.attempt), status: r.status_code === null ? null : Number(r.status_code),
      outcome: outcomeOf({ error: r.error, next_retry_at: r.next_retry_at === null ? null : Number(r.next_retry_at), delivery_status: r.delivery_status }),
      error: r.error, latencyMs: Number(r.latency_ms), nextRetryAt: r.next_retry_at === null ? null : Number(r.next_retry_at),
    })),
    nextCursor: cursorOf(rows, page.limit),
  };
}

const ruleSummary: Readonly<Record<string, (d: Record<string, unknown>) => string>> = {
  volume_spike: (d) => `${String(d.callsThisHour)} calls this hour, above ${String(d.threshold)} (usual busiest hour ${String(d.usualBusiestHour)})`,
  new_network: (d) => `a call from a new network ${String(d.network)}`,
  refused_burst: (d) => `${String(d.refusedWithinMinute)} refused calls (401/403/404) within a minute`,
  key_expiring: (d) => `a credential ending in ${String(d.daysLeft)} day(s) is still in use: rotate it`,
};

/**
 * The integration's unusual-activity alerts, newest first, from the audit log (the alert is
 * written once per location of the integration; each appears once here).
 */
export async function listIntegrationAlerts(db: Db, integrationId: string, limit: number): Promise<IntegrationAlertView[]> {
  const rows = await db.selectFrom('audit_log').select(['seq', 'at', 'details'])
    .where('action', '=', 'security.alert').where('target_type', '=', 'integration').where('target_id', '=', integrationId)
    .orderBy('seq', 'desc').limit(limit * 4).execute();
  const seen = new Set<string>();
  const out: IntegrationAlertView[] = [];
  for (const r of rows) {
    const d = JSON.parse(r.details) as Record<string, unknown>;
    const rule = typeof d.rule === 'string' ? d.rule : 'unknown';
    const credentialId = typeof d.credentialId === 'string' ? d.credentialId : null;
    const key = `${Number(r.at)}|${rule}|${credentialId ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const summary = ruleSummary[rule]?.(d) ?? rule;
    out.push({ id: String(r.seq), at: Number(r.at), kind: rule, summary, credentialId, suspended: d.suspendedIntegration === true });
    if (out.length === limit) break;
  }
  return out;
}
