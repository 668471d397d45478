/**
 * The OpenAPI entry of GET /api/v1/pilots/{pilot}/live: the one of /api/v1/live (api/openapi.ts)
 * with the pilot in the path instead of the query, so that the two never describe different feeds.
 */
type Operation = { parameters?: { name: string; in: string }[] } & Record<string, unknown>;

export function withPilotLivePath<T extends Record<string, unknown>>(document: T): T {
  const paths = document['paths'] as Record<string, { get: Operation }> | undefined;
  const live = paths?.['/api/v1/live'];
  if (!paths || !live) return document;
  const parameters = (live.get.parameters ?? []).map((p) =>
    p.name === 'pilot' && p.in === 'query' ? { ...p, in: 'path', required: true } : p,
  );
  paths['/api/v1/pilots/{pilot}/live'] = { get: { ...live.get, summary: 'Live feed of one pilot (WebSocket)', parameters } };
  return document;
}
