import { compileErrors, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restCall } from '../../test/factories';
import { backends, startTestServer, type TestServer } from '../../test/harness';
import { apiEndpoints } from './api';
import { integrationCredentialEndpoints } from './api/integration-credentials';
import { integrationLogEndpoints } from './api/integration-logs';
import { integrationEndpoints } from './api/integrations';
import { webhookEndpoints } from './api/webhooks';
import { openApiPathOf } from './openapi';

/**
 * The OpenAPI document as a partner's tooling reads it: served without a credential, valid
 * OpenAPI 3.1 to a maintained parser, and complete: every route an integration credential can
 * call (found by asking each endpoint of the server without one, as a scanner would), the OAuth
 * token endpoint and the integrations admin API are in it.
 */
describe.each(backends)('OpenAPI document (%s)', (backend) => {
  let server: TestServer;
  let doc: { openapi: string; paths: Record<string, Record<string, { operationId: string; security?: unknown[] }>> };
  beforeAll(async () => {
    server = await startTestServer(backend);
    const res = await restCall(server.url, 'GET', '/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body as typeof doc;
  }, 60_000);
  afterAll(async () => {
    await server?.dispose();
  });

  it('is public, OpenAPI 3.1, and valid to @readme/openapi-parser', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('describes every route an integration credential reaches, the token endpoint and the admin API', async () => {
    const endpoints = apiEndpoints({ live: { publish: () => Promise.resolve() } });
    const machineRoutes: string[] = [];
    for (const e of endpoints) {
      // An integration endpoint refuses a call without a credential with the RFC 6750 challenge.
      const path = e.path.replace(/:([A-Za-z0-9_]+)/g, 'probe');
      const res = await restCall(server.url, e.method.toUpperCase(), path, e.method === 'get' ? {} : { body: {} });
      if (res.headers.get('www-authenticate')?.includes('invalid_token')) machineRoutes.push(`${e.method} ${e.path}`);
    }
    expect(machineRoutes).toEqual(expect.arrayContaining(['post /locations/:locationId/orders', 'get /locations/:locationId/order-changes']));
    for (const route of machineRoutes) {
      const [method, path] = route.split(' ') as [string, string];
      expect(doc.paths[openApiPathOf(path)]?.[method], route).toBeDefined();
      expect(doc.paths[openApiPathOf(path)]![method]!.security).toEqual([{ integrationApiKey: [] }, { integrationOAuth: [] }]);
    }
    expect(doc.paths['/oauth/token']?.['post'], 'the token endpoint').toBeDefined();
    // The integrations admin API: registering, changing and suspending integrations, and their credentials.
    // ... their webhook subscriptions and their logs.
    for (const e of [...integrationEndpoints(), ...integrationCredentialEndpoints(), ...webhookEndpoints(), ...integrationLogEndpoints()]) {
      const op = doc.paths[openApiPathOf(e.path)]?.[e.method];
      expect(op, `${e.method} ${e.path}`).toBeDefined();
      expect(op!.security).toEqual([{ userAccessToken: [] }]);
    }
  });

  it('names what an order create takes, with the idempotency header and its refusal', () => {
    const create = doc.paths['/locations/{locationId}/orders']!['post'] as unknown as {
      parameters: { name: string; in: string }[]; requestBody: unknown; responses: Record<string, unknown>;
    };
    expect(create.parameters.map((p) => `${p.in}:${p.name}`)).toEqual(expect.arrayContaining(['path:locationId', 'header:idempotency-key']));
    expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '409', '413', '422', '429']));
    expect(JSON.stringify(create.requestBody)).toContain('OrderCreate');
  });
});
