import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushRefusalDigests, refusalDigestWindowMs } from '../audit/refusal-digest';
import { auditRows, type CredentialWorld, credentialWorld, dayMs, readPath } from '../../test/credential-fixtures';
import { backends } from '../../test/harness';
import { mintSecret, randomBase62 } from './credential-format';

/**
 * Refused machine credentials and refused token requests, as a flood from one network: the first
 * refusal of a kind is audited at once, the rest of its minute as one entry with a count, so
 * unauthenticated requests cannot grow the append-only audit log by a row each.
 */
describe.each(backends)('refusals audited as a digest per network and minute (%s)', (backend) => {
  let w: CredentialWorld;
  beforeAll(async () => {
    w = await credentialWorld(backend);
  }, 60_000);
  afterAll(async () => {
    await w?.dispose();
  });

  const denied = async (action: string, reason: string) =>
    (await auditRows(w.ctx, action)).filter((r) => r.outcome === 'denied' && r.details.reason === reason);

  it('a flood of unknown API keys writes the first refusal at once and one digest with the count', async () => {
    w.clock.advance(refusalDigestWindowMs);
    const before = (await denied('integration.authenticate', 'unknown')).length;
    const secrets: string[] = [];
    for (let i = 0; i < 25; i++) {
      const forged = mintSecret('apiKey').text;
      secrets.push(forged);
      const res = await w.machine(readPath(w.A), forged);
      expect(res.status).toBe(401);
      // The first one is visible at once.
      if (i === 0) expect(await denied('integration.authenticate', 'unknown')).toHaveLength(before + 1);
    }
    expect(await denied('integration.authenticate', 'unknown')).toHaveLength(before + 1);
    await flushRefusalDigests(w.ctx);
    const rows = (await denied('integration.authenticate', 'unknown')).slice(before);
    expect(rows).toHaveLength(2);
    expect(rows[1]!.details).toMatchObject({ reason: 'unknown', repeated: 24 });
    expect(rows[1]!.actor).toBe('anonymous');
    const audited = JSON.stringify(rows);
    for (const s of secrets) expect(audited).not.toContain(s.slice(-20));
    // The next minute starts again with an entry at once.
    w.clock.advance(refusalDigestWindowMs);
    expect((await w.machine(readPath(w.A), mintSecret('apiKey').text)).status).toBe(401);
    expect(await denied('integration.authenticate', 'unknown')).toHaveLength(before + 3);
  });

  it('a flood of wrong secrets for a real OAuth client: one entry at once, one digest; other kinds of refusal are their own', async () => {
    w.clock.advance(refusalDigestWindowMs);
    const made = await w.asAdmin('POST', `/integrations/${w.shopId}/oauth-clients`, { name: 'partner', scopes: ['orders.read'], expiresAt: w.clock.now() + 30 * dayMs });
    const clientId = (made.body!.client as { id: string }).id;
    const before = (await denied('integration.oauth.token', 'secret')).length;
    const token = async (form: Record<string, string>) => (await fetch(`${w.server.url}/api/v1/oauth/token`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(),
    })).status;
    for (let i = 0; i < 10; i++) expect(await token({ grant_type: 'client_credentials', client_id: clientId, client_secret: `guess-${i}` })).toBe(401);
    // An unknown client id in the same minute is another kind: audited at once.
    const unknownBefore = (await denied('integration.oauth.token', 'unknown')).length;
    expect(await token({ grant_type: 'client_credentials', client_id: `dlc_${randomBase62(16)}`, client_secret: 'x' })).toBe(401);
    expect(await denied('integration.oauth.token', 'unknown')).toHaveLength(unknownBefore + 1);
    expect(await denied('integration.oauth.token', 'secret')).toHaveLength(before + 1);
    await flushRefusalDigests(w.ctx);
    const rows = (await denied('integration.oauth.token', 'secret')).slice(before);
    expect(rows.map((r) => [r.target_id, r.details.repeated])).toEqual([[clientId, undefined], [clientId, 9]]);
    expect(JSON.stringify(rows)).not.toContain('guess-');
  });
});
