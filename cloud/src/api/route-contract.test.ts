// Responses are checked against their contract before they are sent: one that does not match is a
// 500, never a body with the undeclared parts silently dropped or a mistyped value coerced (what
// Fastify's default fast-json-stringify serializer does). And an /api/ route without a contract
// cannot be registered, so the OpenAPI document cannot miss one.
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '@michi/proto';
import { ApiDocument } from './openapi-document.js';
import { contractOptions } from './route-contract.js';

async function serve(body: unknown): Promise<{ status: number; text: string }> {
  const app = Fastify();
  app.get(API_ROUTES.me.url, contractOptions(API_ROUTES.me), async () => body);
  try {
    const res = await app.inject({ method: 'GET', url: API_ROUTES.me.url });
    return { status: res.statusCode, text: res.body };
  } finally {
    await app.close();
  }
}

describe('contractOptions', () => {
  it('sends a matching response as it is', async () => {
    const me = { id: 'ops', role: 'operator', pilots: ['*'] };
    expect(await serve(me)).toEqual({ status: 200, text: JSON.stringify(me) });
  });

  it('answers 500 for a property the contract does not declare, and never sends the rest without it', async () => {
    const res = await serve({ id: 'ops', role: 'operator', pilots: ['*'], secretRef: 'env:X' });
    expect(res.status).toBe(500);
    expect(res.text).toContain('does not match its contract');
    expect(res.text).not.toContain('"pilots"');
  });

  it('answers 500 for a mistyped or missing value instead of coercing it', async () => {
    expect((await serve({ id: 'ops', role: 'operator', pilots: null })).status).toBe(500);
    expect((await serve({ id: 7, role: 'operator', pilots: [] })).status).toBe(500);
    expect((await serve({ id: 'ops', role: 'admin', pilots: [] })).status).toBe(500);
    expect((await serve({ id: 'ops', pilots: [] })).status).toBe(500);
  });
});

describe('ApiDocument', () => {
  it('refuses an /api/ route registered without a contract', async () => {
    const app = Fastify();
    new ApiDocument(app);
    expect(() => app.get('/api/v1/undocumented', async () => ({}))).toThrow(/has no contract/);
    await app.close();
  });

  it('documents each registered route under its OpenAPI path and operationId', async () => {
    const app = Fastify();
    const document = new ApiDocument(app);
    app.get(API_ROUTES.pilot.url, contractOptions(API_ROUTES.pilot), async () => ({}));
    await app.ready();
    const paths = document.document()['paths'] as Record<
      string,
      Record<string, { operationId: string; parameters: { name: string; in: string }[] }>
    >;
    expect(Object.keys(paths)).toEqual(['/api/v1/pilots/{pilot}']);
    expect(paths['/api/v1/pilots/{pilot}']!['get']!.operationId).toBe('getPilot');
    expect(paths['/api/v1/pilots/{pilot}']!['get']!.parameters).toEqual([expect.objectContaining({ name: 'pilot', in: 'path' })]);
    await app.close();
  });
});
