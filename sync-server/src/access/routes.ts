import { type AuditEntry, GrantCreate } from '@depotline/shared';
import { z } from 'zod';
import type { RouteModule } from '../http/app';
import { actorOf, parseWith, requirePrincipal } from '../http/pipeline';
import { requireAuth } from '../auth/require-auth';
import { loadAccessProfile } from './access-profile';
import { authorize } from './authorize';
import { createGrant, revokeGrant } from './grants';

const AuditQuery = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** Grants and the per-location audit trail, for managers and admins. */
export const accessRoutes: RouteModule = (router, ctx) => {
  const auth = requireAuth(ctx);

  router.post('/grants', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const input = parseWith(GrantCreate, req.body);
    const profile = await loadAccessProfile(ctx.db, principal.userId, ctx.now());
    const grant = await createGrant(ctx, { kind: 'user', actor: actorOf(req, principal), profile }, input);
    res.status(201).json({ grant });
  });

  router.delete('/grants/:grantId', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const grantId = parseWith(z.string().min(1).max(64), req.params.grantId);
    const profile = await loadAccessProfile(ctx.db, principal.userId, ctx.now());
    await revokeGrant(ctx, { kind: 'user', actor: actorOf(req, principal), profile }, grantId);
    res.status(204).end();
  });

  router.get('/locations/:locationId/audit', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const locationId = parseWith(z.string().min(1).max(64), req.params.locationId);
    const q = parseWith(AuditQuery, req.query);
    const profile = await loadAccessProfile(ctx.db, principal.userId, ctx.now());
    await authorize(ctx, actorOf(req, principal), profile, { permission: 'audit.read', locationId, action: 'audit.read' });
    const rows = await ctx.db.selectFrom('audit_log').selectAll().where('location_id', '=', locationId).where('seq', '>', q.after).orderBy('seq').limit(q.limit).execute();
    const entries: AuditEntry[] = rows.map((r) => ({
      seq: r.seq, at: r.at, actorUserId: r.actor_user_id, actor: r.actor, action: r.action,
      outcome: r.outcome as AuditEntry['outcome'], targetType: r.target_type, targetId: r.target_id,
      locationId: r.location_id, details: JSON.parse(r.details) as Record<string, unknown>,
      deviceId: r.device_id, ip: r.ip, prevHash: r.prev_hash, hash: r.hash,
    }));
    res.json({ entries });
  });
};
