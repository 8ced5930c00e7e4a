import type { AuditEntry } from '@depotline/shared';
import { z } from 'zod';
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
      handle: async ({ ctx, input: { params, query } }) => {
        const rows = await ctx.db.selectFrom('audit_log').selectAll()
          .where('location_id', '=', params.locationId).where('seq', '>', query.after).orderBy('seq').limit(query.limit).execute();
        return rows.map((r): AuditEntry => ({
          seq: r.seq, at: r.at, actorUserId: r.actor_user_id, actor: r.actor, action: r.action,
          outcome: r.outcome as AuditEntry['outcome'], targetType: r.target_type, targetId: r.target_id,
          locationId: r.location_id, details: JSON.parse(r.details) as Record<string, unknown>,
          deviceId: r.device_id, ip: r.ip, prevHash: r.prev_hash, hash: r.hash,
        }));
      },
      present: (entries) => ({ entries }),
    }),
  ];
}
