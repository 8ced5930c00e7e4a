import { IntegrationLogQuery, type IntegrationAlertView, type IntegrationCallView, type WebhookAttemptView } from '@depotline/shared';
import { appendAudit } from '../../audit/audit-log';
import type { ServerContext } from '../../context';
import { notFound } from '../../errors';
import { listIntegrationAlerts, listIntegrationCalls, listWebhookAttempts } from '../../integrations/integration-log-read';
import { operatorActor } from '../../provisioning/operator';
import { type CliCommand, isoTime, optionalInteger, optionalString, parseCliInput, parseExpiry, requiredString } from '../command';

/*
 * `depotline-admin integration logs`: an integration's API calls (default), webhook attempts
 * (`--webhooks`) or unusual-activity alerts (`--alerts`), newest first (docs/operations.md,
 * "Integration logs"). Operational values only: what the logs hold and nothing more. Each read
 * is audited like a read over REST.
 */

async function findIntegrationByNameOrId(ctx: ServerContext, nameOrId: string): Promise<{ id: string; name: string }> {
  const row = await ctx.db.selectFrom('integrations').select(['id', 'name'])
    .where((eb) => eb.or([eb('id', '=', nameOrId), eb('name', '=', nameOrId.toLowerCase())])).executeTakeFirst();
  if (!row) throw notFound(`The integration "${nameOrId}"`);
  return row;
}

const callLine = (c: IntegrationCallView) =>
  `${isoTime(c.at)}\t${c.status}\t${c.method} ${c.route}\t${c.latencyMs} ms\t${c.ip ?? '-'}\t${c.credentialId ?? '-'}`;
const attemptLine = (a: WebhookAttemptView) =>
  `${isoTime(a.at)}\t${a.event}\t#${a.attempt}\t${a.outcome}\t${a.status ?? a.error ?? '-'}\t${a.latencyMs ?? '-'} ms\tnext ${a.nextRetryAt === null ? '-' : isoTime(a.nextRetryAt)}\t${a.url}`;
const alertLine = (a: IntegrationAlertView) => `${isoTime(a.at)}\t${a.kind}\t${a.summary}${a.suspended ? '\t(suspended the integration)' : ''}`;

const integrationLogs: CliCommand = {
  group: 'integration',
  name: 'logs',
  summary: 'Show an integration\u2019s API calls, webhook attempts or unusual-activity alerts (newest first)',
  options: {
    integration: { type: 'string', value: '<name|id>', description: 'The integration', required: true },
    since: { type: 'string', value: '<date|time>', description: 'Only entries from then on (2026-12-31, or 2026-12-31T18:00:00Z)' },
    status: { type: 'string', value: '<code|class>', description: 'Only this status (404) or class (4xx)' },
    limit: { type: 'string', value: '<n>', description: 'At most this many entries (default 100, at most 500)' },
    webhooks: { type: 'boolean', description: 'Webhook delivery attempts instead of API calls' },
    alerts: { type: 'boolean', description: 'Unusual-activity alerts instead of API calls' },
  },
  notes: ['Example: depotline-admin integration logs --integration acme-shop --since 2026-12-01 --status 4xx'],
  prepare(values) {
    const nameOrId = requiredString(values, 'integration');
    const sinceText = optionalString(values, 'since');
    // A date alone means from the start of that day (UTC), not its end as an expiry would.
    const since = sinceText === undefined ? undefined
      : /^\d{4}-\d{2}-\d{2}$/.test(sinceText.trim()) ? parseExpiry(sinceText, 'since') + 1 - 86_400_000 : parseExpiry(sinceText, 'since');
    const query = parseCliInput(IntegrationLogQuery, { since, status: optionalString(values, 'status'), limit: optionalInteger(values, 'limit') });
    const kind = values.alerts === true ? 'alerts' : values.webhooks === true ? 'webhooks' : 'calls';
    return async (ctx) => {
      const integration = await findIntegrationByNameOrId(ctx, nameOrId);
      let json: unknown;
      let lines: string[];
      let returned: number;
      if (kind === 'webhooks') {
        const page = await listWebhookAttempts(ctx.db, integration.id, query);
        json = { integration, ...page };
        lines = page.attempts.map(attemptLine);
        returned = page.attempts.length;
      } else if (kind === 'alerts') {
        const alerts = (await listIntegrationAlerts(ctx.db, integration.id, query.limit)).filter((a) => since === undefined || a.at >= since);
        json = { integration, alerts };
        lines = alerts.map(alertLine);
        returned = alerts.length;
      } else {
        const page = await listIntegrationCalls(ctx.db, integration.id, query);
        json = { integration, ...page };
        lines = page.calls.map(callLine);
        returned = page.calls.length;
      }
      await ctx.db.transaction().execute((trx) => appendAudit(trx, operatorActor(), {
        action: 'integration.logs.read', outcome: 'ok', targetType: 'integration', targetId: integration.id,
        details: { via: 'cli', log: kind, filters: { since: since ?? null, status: query.status ?? null, limit: query.limit }, returned },
      }, ctx.now()));
      const title = { calls: 'API calls', webhooks: 'webhook attempts', alerts: 'unusual-activity alerts' }[kind];
      const text = lines.length === 0 ? `No ${title} of ${integration.name}.` : [`${title} of ${integration.name}, newest first:`, ...lines].join('\n');
      return { json, text };
    };
  },
};

export const integrationLogCommands: readonly CliCommand[] = [integrationLogs];
