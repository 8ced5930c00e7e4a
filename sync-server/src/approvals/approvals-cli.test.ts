import type { ApprovalRequest } from '@depotline/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAdmin, runAdminJson } from '../../test/admin-cli';
import { buildLocation, buildUser, restCall } from '../../test/factories';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { openSession } from '../../test/world';

/** The operator at the server host decides pending requests as a trusted second person, audited as the OS account. */
describe.each(backends)('depotline-admin approval (%s)', (backend) => {
  let server: TestServer;
  let A: string;
  beforeAll(async () => {
    server = await startTestServer(backend);
    A = (await buildLocation(server.ctx)).id;
  });
  afterAll(async () => {
    await server?.dispose();
  });

  async function ask(): Promise<{ approval: ApprovalRequest; targetId: string }> {
    const asker = await buildUser(server.ctx, { role: 'admin', locationIds: [A] });
    const target = await buildUser(server.ctx);
    const { token } = await openSession(server.ctx, asker.id);
    const res = await restCall(server.url, 'POST', '/grants', { token, body: { userId: target.id, role: 'manager', locationIds: [A], reason: 'new depot lead' } });
    expect(res.status).toBe(202);
    return { approval: (res.body as { approval: ApprovalRequest }).approval, targetId: target.id };
  }
  const rolesOf = async (userId: string) => (await server.ctx.db.selectFrom('grants').select('role').where('user_id', '=', userId).execute()).map((g) => g.role);

  it('lists and shows pending requests, approves one (applied at once) and denies another', async () => {
    const first = await ask();
    const second = await ask();
    const list = await runAdminJson<{ approvals: ApprovalRequest[] }>(server.env, ['approval', 'list']);
    expect(list.json.approvals.map((a) => a.id)).toEqual(expect.arrayContaining([first.approval.id, second.approval.id]));
    const show = await runAdmin(server.env, ['approval', 'show', '--id', first.approval.id]);
    expect(show.stdout).toContain('new depot lead');

    const approved = await runAdminJson<{ approval: ApprovalRequest }>(server.env, ['approval', 'approve', '--id', first.approval.id, '--note', 'phoned the requester']);
    expect(approved.code).toBe(0);
    expect(approved.json.approval).toMatchObject({ status: 'approved', decidedBy: { userId: null, label: expect.stringMatching(/^cli:/) as unknown } });
    expect(await rolesOf(first.targetId)).toEqual(['manager']);

    const denied = await runAdminJson<{ approval: ApprovalRequest }>(server.env, ['approval', 'deny', '--id', second.approval.id]);
    expect(denied.json.approval.status).toBe('denied');
    expect(await rolesOf(second.targetId)).toEqual([]);

    // Deciding again: a typed refusal (exit 1), audited, nothing changed.
    const again = await runAdminJson<{ error: { code: string } }>(server.env, ['approval', 'approve', '--id', second.approval.id]);
    expect(again.code).toBe(1);
    expect(again.json.error.code).toBe('approval_closed');
    expect(await rolesOf(second.targetId)).toEqual([]);
    const refused = await server.ctx.db.selectFrom('audit_log').select(['outcome', 'actor']).where('action', '=', 'approval.approve')
      .where('target_id', '=', second.approval.id).execute();
    expect(refused).toEqual([{ outcome: 'denied', actor: expect.stringMatching(/^cli:/) as unknown }]);
  });
});
