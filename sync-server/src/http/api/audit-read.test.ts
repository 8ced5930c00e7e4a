/**
 * Reading the audit log is itself audited: who read which location's trail, with which filters,
 * and how many entries came back. A refused read is audited as denied. SQLite and PostgreSQL.
 */
import type { AuditEntry } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../../../test/harness';
import { buildWorld, rest, type World } from '../../../test/world';

describe.each(backends)('audit reads are audited (%s)', (backend) => {
  let w: World;
  beforeAll(async () => {
    w = await buildWorld(backend, 1);
  });
  afterAll(async () => {
    await w?.dispose();
  });

  const lastEntry = () => w.ctx.db.selectFrom('audit_log').selectAll().orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();

  it('records who read, where, the filters and how many entries were returned', async () => {
    const page = await rest(w, 'GET', `/locations/${w.A}/audit?after=1&limit=3`, w.users.manager.token);
    expect(page.status).toBe(200);
    const entries = page.body!.entries as AuditEntry[];
    expect(entries).toHaveLength(3);

    const read = await lastEntry();
    expect(read).toMatchObject({
      action: 'audit.read', outcome: 'ok', actor: w.users.manager.username, actor_user_id: w.users.manager.id,
      target_type: 'audit_log', location_id: w.A,
    });
    expect(JSON.parse(read.details)).toEqual({ via: 'api', filters: { locationId: w.A, after: 1, limit: 3 }, returned: 3 });
    // It is written after the page it describes: the page does not contain it, the next one starts with it.
    expect(entries.every((e) => e.seq < Number(read.seq))).toBe(true);
    const next = await rest(w, 'GET', `/locations/${w.A}/audit?after=${entries.at(-1)!.seq}&limit=1000`, w.users.manager.token);
    const later = next.body!.entries as AuditEntry[];
    expect(later.at(-1)).toMatchObject({ seq: Number(read.seq), action: 'audit.read', details: { returned: 3 } });
    expect(JSON.parse((await lastEntry()).details)).toMatchObject({ returned: later.length });
  });

  it('an empty page is recorded too, and a refused read is audited as denied with nothing returned', async () => {
    const head = await lastEntry();
    const empty = await rest(w, 'GET', `/locations/${w.A}/audit?after=${Number(head.seq) + 100}`, w.users.admin.token);
    expect(empty.body).toEqual({ entries: [] });
    expect(await lastEntry()).toMatchObject({ action: 'audit.read', outcome: 'ok', actor_user_id: w.users.admin.id });
    expect(JSON.parse((await lastEntry()).details)).toMatchObject({ returned: 0 });

    for (const [token, userId, locationId] of [
      [w.users.dispatcher.token, w.users.dispatcher.id, w.A], // no audit.read
      [w.users.manager.token, w.users.manager.id, w.B], // audit.read, but not at B
    ] as const) {
      const refused = await rest(w, 'GET', `/locations/${locationId}/audit`, token);
      expect(refused.status).toBe(403);
      expect(JSON.stringify(refused.body)).not.toContain('"entries"');
      const denied = await lastEntry();
      expect(denied).toMatchObject({ action: 'audit.read', outcome: 'denied', actor_user_id: userId, location_id: locationId });
      expect(JSON.parse(denied.details)).toEqual({ permission: 'audit.read' });
    }
  });
});
