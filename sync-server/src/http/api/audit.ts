import { z } from 'zod';
import { presentAuditEntry } from '../../audit/export';
import { type Endpoint, endpoint } from '../endpoint';

const AuditQuery = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** A location's audit trail, for holders of `audit.read` there. */
export function auditEndpoints(): Endpoint[] {
  return [
    endpoint({
      method: 'get',
      path: '/locations/:locationId/audit',
      params: z.object({ locationId: z.string().min(1).max(64) }),
      query: AuditQuery,
      authorize: ({ params }) => ({ permission: 'audit.read', locationId: params.locationId, action: 'audit.read' }),
      transaction: true,
      handle: async ({ db, input: { params, query }, audit }) => {
        const rows = await db.selectFrom('audit_log').selectAll()
          .where('location_id', '=', params.locationId).where('seq', '>', query.after).orderBy('seq').limit(query.limit).execute();
        // Reading the log is a sensitive read itself: who read which part, and how much of it.
        // The entry lands after the page it describes, so the next page starts with it.
        audit({
          action: 'audit.read', outcome: 'ok', targetType: 'audit_log', locationId: params.locationId,
          details: { via: 'api', filters: { locationId: params.locationId, after: query.after, limit: query.limit }, returned: rows.length },
        });
        return rows.map(presentAuditEntry);
      },
      present: (entries) => ({ entries }),
    }),
  ];
}
