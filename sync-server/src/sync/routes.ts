import { PullRequest, PushRequest } from '@depotline/shared';
import { z } from 'zod';
import { loadAccessProfile, listLocationAccess } from '../access/access-profile';
import { authorize } from '../access/authorize';
import type { RouteModule } from '../http/app';
import { actorOf, parseWith, requirePrincipal } from '../http/pipeline';
import { requireAuth } from '../auth/require-auth';
import { pushMutations } from './mutations';
import { pullChanges } from './pull';
import { loadViewerScope } from './visibility';

const PullQuery = z.object({
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().positive().optional(),
});

/**
 * The sync protocol over REST, for integrations and clients without a socket. Same checks,
 * same answers as the socket events (docs/api.md).
 */
export const syncRoutes: RouteModule = (router, ctx) => {
  const auth = requireAuth(ctx);

  router.get('/locations', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const profile = await loadAccessProfile(ctx.db, principal.userId, ctx.now());
    res.json({ locations: await listLocationAccess(ctx.db, profile, ctx.now()) });
  });

  router.get('/locations/:locationId/changes', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const query = parseWith(PullQuery, req.query);
    const pull = parseWith(PullRequest, { locationId: req.params.locationId, after: query.after, limit: query.limit });
    const now = ctx.now();
    const profile = await loadAccessProfile(ctx.db, principal.userId, now);
    await authorize(ctx, actorOf(req, principal), profile, { permission: 'location.read', locationId: pull.locationId, action: 'sync.pull', assignedToCaller: true });
    res.json(await pullChanges(ctx, await loadViewerScope(ctx.db, profile, pull.locationId, now), pull));
  });

  router.post('/sync/push', auth, async (req, res) => {
    const principal = requirePrincipal(req);
    const push = parseWith(PushRequest, req.body);
    const profile = await loadAccessProfile(ctx.db, principal.userId, ctx.now());
    res.json(await pushMutations(ctx, principal, actorOf(req, principal), profile, push.mutations));
  });
};
